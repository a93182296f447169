// rl.completionMask (Tunix and TRL EOS conventions, masking truncated completions), completionTerminated and
// completionLengths on completions written out by hand, eager and under jit on cpu.
import { describe, expect, it } from "vitest";
import { type ArrayBase, jit, np, rl } from "../../src/index.js";
import { readTidy } from "../helpers/arrays.js";

// Each value is built inside tidy and disposed once read, so no array outlives its test.
const read = async (fn: () => ArrayBase): Promise<number[]> => (await readTidy(fn)).data;

// EOS = 1, pad = 0. Row 0 ends at position 2; row 1 has two EOS (the first, at 1, counts); row 2 never ends
// (truncated); row 3 is EOS at once; row 4 ends with EOS in the last position.
const completions = [
  [5, 7, 1, 0, 0],
  [5, 1, 7, 1, 0],
  [5, 5, 5, 5, 5],
  [1, 0, 0, 0, 0],
  [9, 9, 9, 9, 1],
];

describe("completionMask", () => {
  const c = () => np.array(completions, { dtype: "i32" });

  it("Tunix: tokens before the first EOS, not the EOS itself", async () => {
    expect(await read(() => rl.completionMask(c(), { eosIds: [1] }))).toEqual([
      ...[1, 1, 0, 0, 0],
      ...[1, 0, 0, 0, 0],
      ...[1, 1, 1, 1, 1],
      ...[0, 0, 0, 0, 0],
      ...[1, 1, 1, 1, 0],
    ]);
  });

  it("TRL: the first EOS is trained on too", async () => {
    expect(await read(() => rl.completionMask(c(), { eosIds: [1], trainOnEos: true }))).toEqual([
      ...[1, 1, 1, 0, 0],
      ...[1, 1, 0, 0, 0],
      ...[1, 1, 1, 1, 1],
      ...[1, 0, 0, 0, 0],
      ...[1, 1, 1, 1, 1],
    ]);
  });

  it("maskTruncated zeroes rows that never emitted EOS", async () => {
    const m = await read(() => rl.completionMask(c(), { eosIds: [1], trainOnEos: true, maskTruncated: true }));
    expect(m.slice(10, 15)).toEqual([0, 0, 0, 0, 0]);
    expect(m.slice(0, 10)).toEqual([1, 1, 1, 0, 0, 1, 1, 0, 0, 0]);
    expect(m.slice(20)).toEqual([1, 1, 1, 1, 1]);
  });

  it("any of several EOS ids ends a completion", async () => {
    // 7 also ends: row 0 at 1, row 1 at 1 (EOS 1 comes first), row 2 still never.
    const m = await read(() => rl.completionMask(c(), { eosIds: [1, 7] }));
    expect(m.slice(0, 15)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it("terminated rows and lengths", async () => {
    expect(await read(() => rl.completionTerminated(c(), { eosIds: [1] }))).toEqual([1, 1, 0, 1, 1]);
    expect(await read(() => rl.completionLengths(c(), { eosIds: [1] }))).toEqual([2, 1, 5, 0, 4]);
  });

  it("gives the same mask under jit on cpu", async () => {
    const f = jit((x: ArrayBase) => rl.completionMask(x, { eosIds: [1, 7], trainOnEos: true, maskTruncated: true }), { device: "cpu" });
    const eager = await read(() => rl.completionMask(c(), { eosIds: [1, 7], trainOnEos: true, maskTruncated: true }));
    expect(await read(() => f(np.array(completions, { dtype: "i32", device: "cpu" })))).toEqual(eager);
  });

  it("rejects bad inputs", async () => {
    // The inputs have arrived before the calls fail, so dispose() frees them at once, not when their uploads land.
    const floats = await np.array(completions).ready();
    const ints = await c().ready();
    expect(() => rl.completionMask(floats, { eosIds: [1] })).toThrow(/completions must be i32 \[S, T\]/);
    expect(() => rl.completionMask(ints, { eosIds: [] })).toThrow(/eosIds must list at least one token id/);
    expect(() => rl.completionMask(ints, { eosIds: [-1] })).toThrow(/non-negative integers/);
    floats.dispose();
    ints.dispose();
  });
});
