// StableHLO versions of what the emitter writes. A PJRT plugin parses our text with its own StableHLO (the version
// it reports as `stablehlo_current_version`), so every op and attribute the builder prints has an entry here: the
// first StableHLO version whose text parser reads it in the form we print. The builder refuses an op or attribute
// missing from these tables, so a new lowering cannot skip them.
//
// Sources (openxla/stablehlo):
// - Ops: `stablehlo/dialect/VhloOps.td`, the `VHLO_Op<"name_vN", min, max>` entry of the op's first version. 0.9.0
//   is VHLO's first version (`Version::getMinimumVersion()`), so "0.9.0" means "older than versioning itself".
//   Later op versions (exponential_v2 at 1.9.0, log/sqrt/... _v2 at 1.10.0 for `result_accuracy`, dot_general_v2
//   at 1.6.0 for `algorithm`, gather_v2/scatter_v2 at 1.1.0 for batching dims) only add attributes we do not print.
// - Enum and struct attributes: `VhloEnums.td` / `VhloAttrs.td` (comparison_direction_v1, comparison_type_v1,
//   precision_v1, tensor_v1, integer_v1, boolean_v1: all "0.9.0"); the dot/gather/scatter dimension structs are
//   plain fields of dot_general_v1 / gather_v1 / scatter_v1 (0.9.0).
// - Types: every element type we print (f32, bf16, i1, i32, i64, ui32) and ranked tensors are in VhloTypes.td at
//   0.9.0, so types need no entries (newer ones such as i2/ui2 at 1.2.0 or the f8/f4 families are never printed).
// - `array<i64: ...>` integer lists: no VHLO version marks them (VHLO stores both spellings alike), but the text
//   parser took them op by op when StableHLO moved from `dense<[..]> : tensor<Nxi64>` to DenseI64ArrayAttr. The
//   version given is the first one bumped after the change merged (`stablehlo/dialect/Version.h` history), the first
//   whose every build reads it:
//     b046f114 (#1872, 2023-12-06, during 0.16.1): slice, dynamic_slice, pad, transpose, reverse  -> 0.16.2
//     00a30800 (#1887, 2023-12-15, during 0.16.2): broadcast_in_dim (either spelling)              -> 0.16.3
//     ff9fd7b8 (#1902, 2024-01-05, during 0.17.1): reduce (either spelling)                        -> 0.17.2
//     c472822d (#1905, 2024-01-08, during 0.17.1): gather slice_sizes (either spelling)            -> 0.17.2

export type StablehloVersion = readonly [major: number, minor: number, patch: number];

/** Something the emitter printed and the StableHLO version that reads it. */
export interface Feature {
  version: StablehloVersion;
  /** What needs that version, e.g. `stablehlo.reduce attribute dimensions written as array<i64: ...>`. */
  what: string;
}

const V0_9_0: StablehloVersion = [0, 9, 0];

/** The version before which no op has a recorded history (VHLO's minimum). */
export const OLDEST_STABLEHLO_VERSION = V0_9_0;

/** Ops: first StableHLO version with the op (VhloOps.td). The cpu engine's extra ops (reverse,
 * shift_right_arithmetic, optimization_barrier) are here too, for hand-written modules. */
export const OP_VERSIONS: Readonly<Record<string, StablehloVersion>> = Object.fromEntries(
  [
    "abs", "add", "and", "bitcast_convert", "broadcast_in_dim", "clamp", "compare", "concatenate", "constant",
    "convert", "cosine", "divide", "dot_general", "dynamic_slice", "dynamic_update_slice", "exponential", "floor",
    "gather", "iota", "log", "log_plus_one", "logistic", "maximum", "minimum", "multiply", "negate", "not",
    "optimization_barrier", "or", "pad", "power", "reduce", "remainder", "reshape", "return", "reverse", "rsqrt",
    "scatter", "select", "shift_left", "shift_right_arithmetic", "shift_right_logical", "sign", "sine", "slice",
    "sqrt", "subtract", "tanh", "transpose", "while", "xor",
  ].map((op) => [`stablehlo.${op}`, V0_9_0]),
);

/** Attributes, keyed `op:attribute`: first StableHLO version that reads the attribute as the builder prints it. */
export const ATTRIBUTE_VERSIONS: Readonly<Record<string, StablehloVersion>> = {
  // DenseI64ArrayAttr spellings (see the history above).
  "stablehlo.slice:start_indices": [0, 16, 2],
  "stablehlo.slice:limit_indices": [0, 16, 2],
  "stablehlo.slice:strides": [0, 16, 2],
  "stablehlo.dynamic_slice:slice_sizes": [0, 16, 2],
  "stablehlo.pad:edge_padding_low": [0, 16, 2],
  "stablehlo.pad:edge_padding_high": [0, 16, 2],
  "stablehlo.pad:interior_padding": [0, 16, 2],
  "stablehlo.transpose:permutation": [0, 16, 2],
  "stablehlo.reverse:dimensions": [0, 16, 2],
  "stablehlo.broadcast_in_dim:broadcast_dimensions": [0, 16, 3],
  "stablehlo.reduce:dimensions": [0, 17, 2],
  "stablehlo.gather:slice_sizes": [0, 17, 2],
  // Attributes unchanged since VHLO's first version (VhloOps.td v1 fields, VhloEnums.td / VhloAttrs.td at 0.9.0).
  "stablehlo.compare:comparison_direction": V0_9_0,
  "stablehlo.compare:compare_type": V0_9_0,
  "stablehlo.dot_general:dot_dimension_numbers": V0_9_0,
  "stablehlo.dot_general:precision_config": V0_9_0,
  "stablehlo.gather:dimension_numbers": V0_9_0,
  "stablehlo.gather:indices_are_sorted": V0_9_0,
  "stablehlo.scatter:scatter_dimension_numbers": V0_9_0,
  "stablehlo.scatter:indices_are_sorted": V0_9_0,
  "stablehlo.scatter:unique_indices": V0_9_0,
  "stablehlo.constant:value": V0_9_0,
  "stablehlo.iota:iota_dimension": V0_9_0,
  "stablehlo.concatenate:dimension": V0_9_0,
};

/** -1, 0 or 1 as `a` is older than, equal to or newer than `b`. */
export function compareVersions(a: StablehloVersion, b: StablehloVersion): number {
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! < b[i]! ? -1 : 1;
  }
  return 0;
}

export function formatVersion(version: StablehloVersion): string {
  return version.join(".");
}

/** Parses "1.13.0" (three non-negative integers); undefined for anything else. */
export function parseVersion(text: string): StablehloVersion | undefined {
  const match = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(text.trim());
  if (match === null) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** The feature of one op (and, when given, one of its attributes; `i64List` when it is printed as
 * `array<i64: ...>`). Throws for anything the tables lack. */
export function featureOf(op: string, attribute?: string, i64List = false): Feature {
  if (attribute === undefined) {
    const version = OP_VERSIONS[op];
    if (version === undefined) throw new Error(`no StableHLO version is known for op ${op}: add it to hlo/versions.ts`);
    return { version, what: op };
  }
  const version = ATTRIBUTE_VERSIONS[`${op}:${attribute}`];
  if (version === undefined) {
    throw new Error(`no StableHLO version is known for attribute ${attribute} of ${op}: add it to hlo/versions.ts`);
  }
  return { version, what: `${op} attribute ${attribute}${i64List ? " written as array<i64: ...>" : ""}` };
}

/** The newest of two features (the first on a tie, so a module names the first op that needed its version). */
export function newerFeature(a: Feature, b: Feature): Feature {
  return compareVersions(b.version, a.version) > 0 ? b : a;
}

/** The error text for a module that needs a newer StableHLO than a plugin has; undefined when it fits. */
export function versionMismatch(needs: Feature, plugin: StablehloVersion, pluginName: string): string | undefined {
  if (compareVersions(needs.version, plugin) <= 0) return undefined;
  return (
    `the module needs StableHLO ${formatVersion(needs.version)} for ${needs.what}, but ${pluginName} reports ` +
    `StableHLO ${formatVersion(plugin)} (its stablehlo_current_version): update the plugin`
  );
}
