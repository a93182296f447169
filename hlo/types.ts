// MLIR types as the emitter prints them. Only ranked tensors of the element types the project uses.

export type ElementType = "f32" | "bf16" | "i1" | "i32" | "i64" | "ui32";

export interface TensorType {
  readonly element: ElementType;
  readonly shape: readonly number[];
}

export function tensorType(element: ElementType, shape: readonly number[]): TensorType {
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0) {
      throw new Error(`invalid tensor dimension ${dim} in shape [${shape.join(", ")}]`);
    }
  }
  return { element, shape: [...shape] };
}

export function printType(type: TensorType): string {
  return type.shape.length === 0 ? `tensor<${type.element}>` : `tensor<${type.shape.join("x")}x${type.element}>`;
}

export function sameType(a: TensorType, b: TensorType): boolean {
  return a.element === b.element && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

export function elementByteSize(element: ElementType): number {
  switch (element) {
    case "f32":
    case "i32":
    case "ui32":
      return 4;
    case "bf16":
      return 2;
    case "i1":
      return 1;
    case "i64":
      return 8;
  }
}
