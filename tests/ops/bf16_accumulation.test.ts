// How bf16 sums accumulate (issue 6.12), on cpu and reference alike, against values computed by hand (the rules
// are in docs/DECISIONS.md): scatter-add applies updates in order and rounds each sum to bf16 (XLA's scatter);
// reduce-sum and dot_general accumulate in f32 in order and round to bf16 once. Each input is chosen so the
// other rules give a different answer; every value is exactly representable in bf16.
import { afterAll, describe, expect, it } from "vitest";
import { type ArrayBase, DeviceArray, closeDevices, jit, lax, liveBuffers, liveExecutables } from "../../src/index.js";
import type { DeviceKind } from "../../src/runtime/device.js";
import { type HostValue, hv, readHost, toDevice } from "../helpers/arrays.js";

const DEVICES: DeviceKind[] = ["cpu", "reference"];

async function runOn(device: DeviceKind, fn: (...xs: ArrayBase[]) => ArrayBase, inputs: HostValue[]): Promise<number[]> {
  const args = inputs.map((x) => toDevice(x, device));
  try {
    const out = jit(fn, { device })(...args) as DeviceArray;
    try {
      return (await readHost(out)).data;
    } finally {
      out.dispose();
    }
  } finally {
    for (const a of args) a.dispose();
  }
}

async function expectOnEveryDevice(fn: (...xs: ArrayBase[]) => ArrayBase, inputs: HostValue[], expected: number[]) {
  for (const device of DEVICES) {
    expect({ device, values: await runOn(device, fn, inputs) }).toEqual({ device, values: expected });
  }
}

const p = (e: number) => 2 ** e;

afterAll(async () => {
  expect(liveBuffers()).toBe(0);
  await closeDevices();
  expect(liveExecutables()).toBe(0);
});

describe("bf16 scatter-add rounds after every update, in order (issue 6.12)", () => {
  const rows = { updateWindowDims: [1], insertedWindowDims: [0], scatterDimsToOperandDims: [0], indexVectorDim: 1 };
  const scatter = (x: ArrayBase, idx: ArrayBase, upd: ArrayBase) => lax.scatterAdd(x, idx, upd, rows);

  it("1 + 2^-8 + 2^-8 into one element is 1 (each half-ulp sum ties to even), not 1 + 2^-7", async () => {
    // Column 0 collects 1, 2^-8, 2^-8 at row 0: 1 + 2^-8 ties to 1, and again. Rounding once would give
    // 1.0078125. Column 1 collects 2^-8, 2^-8, 1 at row 0: 2^-7 + 1 = 1.0078125 is exact.
    const inputs = [
      hv("bf16", [2, 2], [0, 0, 5, 5]),
      hv("i32", [3, 1], [0, 0, 0]),
      hv("bf16", [3, 2], [1, p(-8), p(-8), p(-8), p(-8), 1]),
    ];
    await expectOnEveryDevice(scatter, inputs, [1, 1 + p(-7), 5, 5]);
  });

  it("order matters: large first loses the small updates, small first keeps them", async () => {
    const inputs = [hv("bf16", [1, 2], [256, 0]), hv("i32", [2, 1], [0, 0]), hv("bf16", [2, 2], [1, 1, 1, 256])];
    // 256 + 1 = 257 rounds to 256 (ulp 2, tie to even); again: 256. Column 1: 0 + 1 + 256 = 257 -> 256 too,
    // while adding both updates first (1 + 1 = 2) and then 256 would give 258.
    await expectOnEveryDevice(scatter, inputs, [256, 256]);
  });
});

describe("bf16 reduce-sum accumulates in f32 in order and rounds once (issue 6.12)", () => {
  const sum = (x: ArrayBase) => lax.reduce(x, "sum", [0]);

  it("2^24 + 2^16 + 1 + 1: f32 drops each 1, so the bf16 tie rounds down to 2^24", async () => {
    // In f32, 2^24 + 2^16 + 1 is a tie between neighbours 2 apart and rounds to even, 2^24 + 2^16, twice; that
    // is a bf16 tie (ulp 2^17) and rounds to 2^24. Summing in f64 (or in pairs: 1 + 1 = 2 kept) gives
    // 2^24 + 2^16 + 2, which rounds up to 2^24 + 2^17. 16 elements reach the engine's long-row path.
    const data = [p(24), p(16), 1, 1, ...new Array<number>(12).fill(0)];
    await expectOnEveryDevice(sum, [hv("bf16", [16], data)], [p(24)]);
    await expectOnEveryDevice(sum, [hv("bf16", [4], data.slice(0, 4))], [p(24)]);
  });

  it("1 + 2^-8 + 2^-8 is 1 + 2^-7: no rounding to bf16 between steps", async () => {
    await expectOnEveryDevice(sum, [hv("bf16", [3], [1, p(-8), p(-8)])], [1 + p(-7)]);
  });

  it("columns (a reduced leading axis) follow the same rule", async () => {
    const x = hv("bf16", [4, 2], [p(24), 1, p(16), p(-8), 1, p(-8), 1, 0]);
    await expectOnEveryDevice(sum, [x], [p(24), 1 + p(-7)]);
  });
});

describe("bf16 dot_general accumulates in f32 and rounds once (issue 6.12)", () => {
  const dot = (a: ArrayBase, b: ArrayBase) =>
    lax.dotGeneral(a, b, { lhsContracting: [1], rhsContracting: [0], lhsBatch: [], rhsBatch: [] });

  it("non-integer products sum without intermediate bf16 rounding", async () => {
    // Row 0 x column 0: 1 + 2^-8 + 2^-8 = 1 + 2^-7; x column 1 (all 0.5): 0.5 + 2^-9 + 2^-9 = 0.5 + 2^-8. Rounding
    // to bf16 after each product would tie back to 1 and 0.5. Row 1 = [1.5, -0.375, 2^-9]: 1.125 + 2^-9 rounds
    // once to 1.125 (a quarter ulp), and 0.75 - 0.1875 + 2^-10 rounds to 0.5625.
    const a = hv("bf16", [2, 3], [1, p(-8), p(-8), 1.5, -0.375, p(-9)]);
    const b = hv("bf16", [3, 2], [1, 0.5, 1, 0.5, 1, 0.5]);
    await expectOnEveryDevice(dot, [a, b], [1 + p(-7), 0.5 + p(-8), 1.125, 0.5625]);
  });
});
