// Builds one MLIR module in StableHLO's generic op syntax and prints it. This is the only code in the project
// that writes MLIR text: lowerings describe ops (name, operands, result types, attributes, regions) and the
// builder assigns SSA names and prints.
import { type Attribute, printAttribute } from "./attributes.js";
import { type TensorType, printType } from "./types.js";
import { type Feature, OLDEST_STABLEHLO_VERSION, featureOf, newerFeature } from "./versions.js";

export class Value {
  constructor(
    readonly name: string,
    readonly type: TensorType,
  ) {}
}

interface OpRecord {
  kind: "op";
  name: string;
  results: Value[];
  resultGroup: string | undefined;
  operands: Value[];
  attributes: [string, Attribute][];
  regions: Block[];
}

interface ReturnRecord {
  kind: "return";
  opName: string;
  operands: Value[];
}

export type RegionBody = (block: Block, ...args: Value[]) => void;

/** What the blocks of one function share: SSA names, unique across the function (regions included, so nested
 * regions never shadow), and the newest StableHLO feature printed so far. */
class NameSource {
  private next = 0;
  private newest: Feature | undefined;

  fresh(): string {
    return `%${this.next++}`;
  }

  use(feature: Feature): void {
    this.newest = this.newest === undefined ? feature : newerFeature(this.newest, feature);
  }

  get needs(): Feature {
    return this.newest ?? { version: OLDEST_STABLEHLO_VERSION, what: "no StableHLO op" };
  }
}

export class Block {
  private readonly records: (OpRecord | ReturnRecord)[] = [];
  private terminated = false;

  constructor(
    readonly args: Value[],
    private readonly names: NameSource,
  ) {}

  /** Appends `"name"(operands) {attributes} : (operand types) -> (result types)` and returns its results. */
  op(
    name: string,
    operands: readonly Value[],
    resultTypes: readonly TensorType[],
    attributes: Record<string, Attribute> = {},
    regions: readonly { argTypes: readonly TensorType[]; body: RegionBody }[] = [],
  ): Value[] {
    if (this.terminated) throw new Error(`cannot add ${name} after the block's terminator`);
    this.names.use(featureOf(name));
    for (const [key, value] of Object.entries(attributes)) this.names.use(featureOf(name, key, value.kind === "i64_array"));
    const base = this.names.fresh();
    const results =
      resultTypes.length === 1
        ? [new Value(base, resultTypes[0]!)]
        : resultTypes.map((type, i) => new Value(`${base}#${i}`, type));
    const builtRegions = regions.map(({ argTypes, body }) => {
      const block = new Block(
        argTypes.map((type) => new Value(this.names.fresh(), type)),
        this.names,
      );
      body(block, ...block.args);
      if (!block.terminated) throw new Error(`region of ${name} has no terminator`);
      return block;
    });
    this.records.push({
      kind: "op",
      name,
      results,
      resultGroup: resultTypes.length > 1 ? `${base}:${resultTypes.length}` : undefined,
      operands: [...operands],
      attributes: Object.entries(attributes),
      regions: builtRegions,
    });
    return results;
  }

  /** A single-result op. */
  op1(
    name: string,
    operands: readonly Value[],
    resultType: TensorType,
    attributes: Record<string, Attribute> = {},
    regions: readonly { argTypes: readonly TensorType[]; body: RegionBody }[] = [],
  ): Value {
    return this.op(name, operands, [resultType], attributes, regions)[0]!;
  }

  /** Ends the block with `"stablehlo.return"` (regions) or `"func.return"` (the function body). */
  ret(operands: readonly Value[], opName = "stablehlo.return"): void {
    if (this.terminated) throw new Error("block already has a terminator");
    if (opName.startsWith("stablehlo.")) this.names.use(featureOf(opName));
    this.records.push({ kind: "return", opName, operands: [...operands] });
    this.terminated = true;
  }

  get isTerminated(): boolean {
    return this.terminated;
  }

  print(indent: string, lines: string[]): void {
    for (const record of this.records) {
      const operands = record.operands.map((v) => v.name).join(", ");
      const operandTypes = record.operands.map((v) => printType(v.type)).join(", ");
      if (record.kind === "return") {
        lines.push(`${indent}"${record.opName}"(${operands}) : (${operandTypes}) -> ()`);
        continue;
      }
      const lhs =
        record.results.length === 0 ? "" : `${record.resultGroup ?? record.results[0]!.name} = `;
      const resultTypes =
        record.results.length === 1
          ? printType(record.results[0]!.type)
          : `(${record.results.map((v) => printType(v.type)).join(", ")})`;
      let regionText = "";
      if (record.regions.length > 0) {
        const parts = record.regions.map((region) => {
          const inner: string[] = [];
          const header = region.args.map((a) => `${a.name}: ${printType(a.type)}`).join(", ");
          inner.push(`{`);
          inner.push(`${indent}^bb0(${header}):`);
          region.print(`${indent}  `, inner);
          inner.push(`${indent}}`);
          return inner.join("\n");
        });
        regionText = ` (${parts.join(", ")})`;
      }
      const attrText =
        record.attributes.length === 0
          ? ""
          : ` {${record.attributes.map(([key, value]) => `${key} = ${printAttribute(value)}`).join(", ")}}`;
      lines.push(`${indent}${lhs}"${record.name}"(${operands})${regionText}${attrText} : (${operandTypes}) -> ${resultTypes}`);
    }
  }
}

export interface ParameterSpec {
  type: TensorType;
  /** Index of the result that reuses this argument's buffer (`tf.aliasing_output`). */
  aliasOutput?: number;
}

/** One `func.func @main` inside a module. */
export class ModuleBuilder {
  private readonly names = new NameSource();
  readonly body: Block;
  private resultTypes: TensorType[] | undefined;

  constructor(
    private readonly parameters: readonly ParameterSpec[],
    private readonly moduleName = "main",
  ) {
    const args = parameters.map((p, i) => new Value(`%arg${i}`, p.type));
    this.body = new Block(args, this.names);
  }

  get args(): Value[] {
    return this.body.args;
  }

  /** The newest StableHLO feature the module uses so far: a plugin must report at least its version. */
  get requires(): Feature {
    return this.names.needs;
  }

  /** Ends main by returning these values. */
  finish(results: readonly Value[]): void {
    this.resultTypes = results.map((v) => v.type);
    this.body.ret(results, "func.return");
  }

  print(): string {
    if (this.resultTypes === undefined) throw new Error("module has no return; call finish()");
    const params = this.parameters
      .map((p, i) => {
        const alias = p.aliasOutput === undefined ? "" : ` {tf.aliasing_output = ${p.aliasOutput} : i32}`;
        return `%arg${i}: ${printType(p.type)}${alias}`;
      })
      .join(", ");
    const results =
      this.resultTypes.length === 1
        ? printType(this.resultTypes[0]!)
        : `(${this.resultTypes.map(printType).join(", ")})`;
    const lines: string[] = [];
    lines.push(`// ${this.moduleName.replace(/[\r\n]/g, " ")}`);
    lines.push(`module attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {`);
    lines.push(`  func.func @main(${params}) -> ${results} {`);
    this.body.print("    ", lines);
    lines.push(`  }`);
    lines.push(`}`);
    return `${lines.join("\n")}\n`;
  }
}
