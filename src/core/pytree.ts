// Pytrees: nested plain objects and arrays whose leaves are arrays, numbers or booleans.
import { ArrayBase } from "./array_base.js";

export type Leaf = ArrayBase | number | boolean;
export type PyTree<L = Leaf> = L | null | undefined | readonly PyTree<L>[] | { readonly [key: string]: PyTree<L> };

export type TreeDef =
  | { kind: "leaf" }
  | { kind: "none"; value: null | undefined }
  | { kind: "array"; children: TreeDef[] }
  | { kind: "object"; keys: string[]; children: TreeDef[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function isLeaf(value: unknown): value is Leaf {
  return value instanceof ArrayBase || typeof value === "number" || typeof value === "boolean";
}

export function flatten<L = Leaf>(tree: PyTree<L>, leafTest: (x: unknown) => boolean = isLeaf): { leaves: L[]; treedef: TreeDef } {
  const leaves: L[] = [];
  const walk = (node: unknown, path: string): TreeDef => {
    if (leafTest(node)) {
      leaves.push(node as L);
      return { kind: "leaf" };
    }
    if (node === null || node === undefined) return { kind: "none", value: node };
    if (Array.isArray(node)) return { kind: "array", children: node.map((c, i) => walk(c, `${path}[${i}]`)) };
    if (isPlainObject(node)) {
      const keys = Object.keys(node).sort();
      return { kind: "object", keys, children: keys.map((k) => walk(node[k], `${path}.${k}`)) };
    }
    const what = node === null ? "null" : typeof node === "object" ? (node.constructor?.name ?? "object") : typeof node;
    throw new TypeError(`pytree${path}: a ${what} is not an array, number, boolean, plain object or list`);
  };
  const treedef = walk(tree, "");
  return { leaves, treedef };
}

export function unflatten<L = Leaf>(treedef: TreeDef, leaves: readonly L[]): PyTree<L> {
  let index = 0;
  const build = (def: TreeDef): PyTree<L> => {
    switch (def.kind) {
      case "leaf":
        if (index >= leaves.length) throw new Error("unflatten: too few leaves for the tree structure");
        return leaves[index++]!;
      case "none":
        return def.value;
      case "array":
        return def.children.map(build);
      case "object": {
        const out: Record<string, PyTree<L>> = {};
        def.keys.forEach((k, i) => (out[k] = build(def.children[i]!)));
        return out;
      }
    }
  };
  const result = build(treedef);
  if (index !== leaves.length) throw new Error(`unflatten: ${leaves.length} leaves given, the structure takes ${index}`);
  return result;
}

export function treedefKey(def: TreeDef): string {
  switch (def.kind) {
    case "leaf":
      return "*";
    case "none":
      return def.value === null ? "null" : "undef";
    case "array":
      return `[${def.children.map(treedefKey).join(",")}]`;
    case "object":
      return `{${def.keys.map((k, i) => `${JSON.stringify(k)}:${treedefKey(def.children[i]!)}`).join(",")}}`;
  }
}

export function countLeaves(def: TreeDef): number {
  switch (def.kind) {
    case "leaf":
      return 1;
    case "none":
      return 0;
    case "array":
    case "object":
      return def.children.reduce((n, c) => n + countLeaves(c), 0);
  }
}

/** Applies `fn` to every leaf, keeping the structure. */
export function treeMap<A, B>(tree: PyTree<A>, fn: (leaf: A, index: number) => B, leafTest: (x: unknown) => boolean = isLeaf): PyTree<B> {
  const { leaves, treedef } = flatten<A>(tree, leafTest);
  return unflatten<B>(treedef, leaves.map(fn));
}
