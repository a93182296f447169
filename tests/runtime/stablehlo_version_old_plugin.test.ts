// The cpu plugin made to report StableHLO 0.17.1 (issue 10.2), one minor step older than `array<i64>` on
// stablehlo.reduce (0.17.2): a module that reduces is refused twice over, by our check before the plugin sees the
// text and by the plugin itself at the attribute's line and column; a module whose features are older compiles and
// runs. The variable must be set before the plugin first loads in this process (vitest gives each file its own).
import { describe, expect, it, vi } from "vitest";
import { type ArrayBase, StablehloVersionError, getDevice, jit, np } from "../../src/index.js";
import { readAndDispose } from "../helpers/arrays.js";
import { mainModule } from "./helpers.js";

// Nothing above opens the plugin, so setting the variable here is early enough.
process.env.GRPO_XLA_CPU_STABLEHLO_VERSION = "0.17.1";
// These modules are meant to be refused by this plugin, so they stay out of the suite's dump-and-compile check.
delete process.env.GRPO_XLA_DUMP_DIR;

const REDUCE = mainModule("(%a: tensor<2x3xf32>, %z: tensor<f32>) -> tensor<2xf32>", [
  '%0 = "stablehlo.reduce"(%a, %z) ({',
  "^bb0(%x: tensor<f32>, %y: tensor<f32>):",
  '  %s = "stablehlo.add"(%x, %y) : (tensor<f32>, tensor<f32>) -> tensor<f32>',
  '  "stablehlo.return"(%s) : (tensor<f32>) -> ()',
  "}) {dimensions = array<i64: 1>} : (tensor<2x3xf32>, tensor<f32>) -> tensor<2xf32>",
  '"func.return"(%0) : (tensor<2xf32>) -> ()',
]);

describe("a cpu plugin reporting StableHLO 0.17.1", () => {
  it("reports the overridden version", () => {
    const cpu = getDevice("cpu");
    expect(cpu.stablehloVersion).toEqual({ current: [0, 17, 1], minimum: [0, 9, 0] });
    expect(cpu.backend!.description).toContain("StableHLO 0.17.1");
  });

  it("a jitted reduction is refused before the plugin sees it, naming the op, attribute and versions", () => {
    const cpu = getDevice("cpu");
    const compile = vi.spyOn(cpu.backend!, "compile");
    const total = jit((a: ArrayBase) => np.sum(a, { axis: 1 }), { device: "cpu" });
    using x = np.array([[1, 2, 3], [4, 5, 6]], { device: "cpu" });
    let caught: unknown;
    try {
      total(x);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StablehloVersionError);
    expect((caught as Error).message).toBe(
      "cpu compile: the module needs StableHLO 0.17.2 for stablehlo.reduce attribute dimensions written as " +
        "array<i64: ...>, but the cpu plugin reports StableHLO 0.17.1 (its stablehlo_current_version): update the plugin",
    );
    expect(compile).not.toHaveBeenCalled();
    compile.mockRestore();
  });

  it("the plugin itself refuses the same module at the attribute's line and column", async () => {
    const backend = getDevice("cpu").backend!;
    await expect(backend.compile(REDUCE)).rejects.toThrow(
      "line 7, column 22: stablehlo.reduce attribute dimensions written as array<i64: ...> needs StableHLO 0.17.2, " +
        "but this plugin reads StableHLO 0.17.1 (its stablehlo_current_version)",
    );
  });

  it("a module whose newest feature is older (broadcast_in_dim's array<i64>, 0.16.3) compiles and runs", async () => {
    const scale = jit((a: ArrayBase, row: ArrayBase) => np.multiply(a, row), { device: "cpu" });
    using a = np.array([[1, 2, 3], [4, 5, 6]], { device: "cpu" });
    using row = np.array([10, 100, 1000], { device: "cpu" });
    expect(scale.lower(a, row).stablehloRequires().version).toEqual([0, 16, 3]);
    const [product] = await readAndDispose([scale(a, row)]);
    expect(product).toEqual({ dtype: "f32", shape: [2, 3], data: [10, 200, 3000, 40, 500, 6000] });
  });
});
