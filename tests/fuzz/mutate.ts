// Seeded mutations of StableHLO module text for fuzzing the CPU plugin: line deletion, duplication and swaps,
// element type and number swaps, shape edits, op name swaps, truncation and junk bytes. The same seed always gives
// the same cases, so a failure in the suite reproduces.

/** A small, fast, seedable generator (mulberry32); quality is ample for choosing mutations. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const ELEMENT_TYPES = ["f32", "bf16", "i1", "i32", "i64", "ui32", "f64", "i8", "ui64", "f16", "complex<f32>"];
// Boundary values for integer parsing, sizes and indices, plus spellings the parser must reject clearly.
const NUMBERS = [
  "0", "1", "-1", "2", "3", "7", "64", "-2", "255", "65536", "2147483647", "2147483648", "-2147483649", "4294967296",
  "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
  "18446744073709551616", "99999999999999999999999", "007", "0x10", "1e400", "-0.0", "nan", "3.5", "",
];
const JUNK = ["\0", "\xff", "\x7f", "{", "}", "(", ")", "<", ">", "[", "]", "%", "@", "\"", "\\", ":", ",", "=", "\n", "#", "^", "x"];

export interface Mutant {
  text: string;
  /** What was done, for the crash report: "delete line 4; swap op add->dot_general". */
  description: string;
}

function lines(text: string): string[] {
  return text.split("\n");
}

function replaceNth(text: string, pattern: RegExp, rng: Rng, replacement: (match: string) => string): [string, string] | undefined {
  const matches = [...text.matchAll(pattern)];
  if (matches.length === 0) return undefined;
  const m = rng.pick(matches);
  const index = m.index!;
  const next = replacement(m[0]);
  return [text.slice(0, index) + next + text.slice(index + m[0].length), `${m[0]}->${next}`];
}

type Mutation = (text: string, rng: Rng, opNames: readonly string[]) => Mutant | undefined;

const MUTATIONS: Record<string, Mutation> = {
  "delete line": (text, rng) => {
    const ls = lines(text);
    const i = rng.int(ls.length);
    ls.splice(i, 1);
    return { text: ls.join("\n"), description: `delete line ${i + 1}` };
  },
  "duplicate line": (text, rng) => {
    const ls = lines(text);
    const i = rng.int(ls.length);
    ls.splice(i, 0, ls[i]!);
    return { text: ls.join("\n"), description: `duplicate line ${i + 1}` };
  },
  "swap lines": (text, rng) => {
    const ls = lines(text);
    const i = rng.int(ls.length);
    const j = rng.int(ls.length);
    [ls[i], ls[j]] = [ls[j]!, ls[i]!];
    return { text: ls.join("\n"), description: `swap lines ${i + 1} and ${j + 1}` };
  },
  "swap type": (text, rng) => {
    const r = replaceNth(text, /\b(f32|bf16|i1|i32|i64|ui32)\b/g, rng, () => rng.pick(ELEMENT_TYPES));
    return r && { text: r[0], description: `swap type ${r[1]}` };
  },
  "swap number": (text, rng) => {
    const r = replaceNth(text, /-?\b\d+(\.\d+)?(e[+-]?\d+)?\b/g, rng, () => rng.pick(NUMBERS));
    return r && { text: r[0], description: `swap number ${r[1]}` };
  },
  "edit shape": (text, rng) => {
    const r = replaceNth(text, /tensor<[^<>]*>/g, rng, (m) => {
      const body = m.slice(7, -1).split("x");
      const dims = body.slice(0, -1);
      const kind = rng.int(3);
      if (kind === 0 && dims.length > 0) dims.splice(rng.int(dims.length), 1);
      else if (kind === 1) dims.splice(rng.int(dims.length + 1), 0, rng.pick(["0", "1", "2", "3", "5"]));
      else if (dims.length > 0) dims[rng.int(dims.length)] = rng.pick(["0", "1", "4", "7", "?", "-1"]);
      return `tensor<${[...dims, body[body.length - 1]].join("x")}>`;
    });
    return r && { text: r[0], description: `edit shape ${r[1]}` };
  },
  "swap op": (text, rng, opNames) => {
    const r = replaceNth(text, /stablehlo\.[a-z_]+/g, rng, () => `stablehlo.${rng.pick(opNames)}`);
    return r && { text: r[0], description: `swap op ${r[1]}` };
  },
  "delete operand": (text, rng) => {
    const r = replaceNth(text, /%[\w#.$-]+(, )?/g, rng, () => "");
    return r && { text: r[0], description: `delete operand ${r[1]}` };
  },
  truncate: (text, rng) => {
    const at = rng.int(text.length);
    return { text: text.slice(0, at), description: `truncate at ${at}` };
  },
  junk: (text, rng) => {
    const at = rng.int(text.length + 1);
    let junk = "";
    for (let n = 1 + rng.int(4); n > 0; n--) junk += rng.next() < 0.5 ? rng.pick(JUNK) : String.fromCharCode(rng.int(256));
    return { text: text.slice(0, at) + junk + text.slice(at), description: `junk ${JSON.stringify(junk)} at ${at}` };
  },
  "delete span": (text, rng) => {
    const at = rng.int(text.length);
    const length = 1 + rng.int(12);
    return { text: text.slice(0, at) + text.slice(at + length), description: `delete ${length} chars at ${at}` };
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

/** Every op name (without "stablehlo.") that occurs in the seeds: the pool for op swaps. */
export function opNamesOf(seeds: readonly string[]): string[] {
  const names = new Set<string>();
  for (const seed of seeds) for (const m of seed.matchAll(/stablehlo\.([a-z_]+)/g)) names.add(m[1]!);
  return [...names].sort();
}

/** One to three mutations of `seed`, chosen by `rng`. */
export function mutate(seed: string, rng: Rng, opNames: readonly string[]): Mutant {
  let text = seed;
  const done: string[] = [];
  for (let n = 1 + rng.int(3); n > 0; n--) {
    const name = rng.pick(MUTATION_NAMES);
    const m = MUTATIONS[name]!(text, rng, opNames);
    if (m === undefined) continue;
    text = m.text;
    done.push(m.description);
  }
  return { text, description: done.join("; ") || "unchanged" };
}
