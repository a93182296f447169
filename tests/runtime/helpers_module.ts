// Module text for the runtime tests, free of vitest so that child processes can use it too.

/** A module with one function @main, in the generic syntax hlo/ emits. */
export function mainModule(signature: string, body: string[]): string {
  return [
    "module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {",
    `  func.func @main${signature} {`,
    ...body.map((line) => `    ${line}`),
    "  }",
    "}",
    "",
  ].join("\n");
}
