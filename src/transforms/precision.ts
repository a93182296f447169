// How exactly dot_general multiplies f32 operands. Devices read StableHLO's per-dot `precision_config`: on TPU,
// DEFAULT is a single bf16 pass, HIGH three bf16 passes (about f32 accuracy for well-scaled data) and HIGHEST
// full f32 accuracy; on recent NVIDIA GPUs DEFAULT and HIGH use TF32 tensor cores. Our CPU plugin and the
// reference device always compute in f32, which is HIGHEST. Every module states its precision explicitly on every
// dot, so a dump says what the device was asked for.
import type { DotPrecision } from "../../hlo/index.js";

export type Precision = "default" | "high" | "highest";

const LEVELS: Record<Precision, DotPrecision> = { default: "DEFAULT", high: "HIGH", highest: "HIGHEST" };

let globalPrecision: Precision = "default";

/** Checks a user-given precision, naming where it came from. */
export function checkPrecision(value: unknown, where: string): Precision {
  if (typeof value === "string" && Object.hasOwn(LEVELS, value)) return value as Precision;
  throw new TypeError(`${where}: precision must be "default", "high" or "highest", got ${JSON.stringify(value)}`);
}

/** Sets the dot precision of every module lowered from now on that does not choose its own (jit's `precision`). */
export function setDefaultPrecision(precision: Precision): void {
  globalPrecision = checkPrecision(precision, "setDefaultPrecision");
}

export function getDefaultPrecision(): Precision {
  return globalPrecision;
}

/** The StableHLO enum value a precision lowers to. */
export function hloPrecision(precision: Precision): DotPrecision {
  return LEVELS[precision];
}
