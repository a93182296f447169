// Seeded mutations of real inputs for the fuzz tests: bit flips, byte overwrites with boundary values, deleted,
// duplicated, inserted and swapped ranges, truncation. Deterministic so a failing case can be replayed by index.
import { Rng } from "../../src/data/prng.js";

const INTERESTING = [0x00, 0xff, 0x7f, 0x80, 0x01, 0x0a, 0x22, 0x5c, 0x7b, 0x7d, 0x3a, 0x2c, 0x23];

function range(rng: Rng, length: number): [number, number] {
  const start = rng.int(0, Math.max(0, length - 1));
  const end = Math.min(length, start + rng.int(1, Math.max(1, Math.min(64, length))));
  return [start, end];
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One to four mutations of `input` chosen by (seed, caseIndex). The input is not modified. */
export function mutate(input: Uint8Array, seed: number, caseIndex: number): Uint8Array {
  const rng = new Rng(seed, caseIndex);
  let bytes: Uint8Array = new Uint8Array(input);
  const count = rng.int(1, 4);
  for (let m = 0; m < count; m++) {
    if (bytes.length === 0) {
      bytes = new Uint8Array([rng.pick(INTERESTING)]);
      continue;
    }
    const at = rng.int(0, bytes.length - 1);
    switch (rng.int(0, 7)) {
      case 0:
        bytes[at] = bytes[at]! ^ (1 << rng.int(0, 7));
        break;
      case 1:
        bytes[at] = rng.pick(INTERESTING);
        break;
      case 2:
        bytes[at] = rng.int(0, 255);
        break;
      case 3: {
        const [s, e] = range(rng, bytes.length);
        bytes = concat(bytes.subarray(0, s), bytes.subarray(e));
        break;
      }
      case 4: {
        const [s, e] = range(rng, bytes.length);
        bytes = concat(bytes.subarray(0, e), bytes.subarray(s, e), bytes.subarray(e));
        break;
      }
      case 5: {
        const noise = Uint8Array.from({ length: rng.int(1, 16) }, () => (rng.int(0, 1) ? rng.pick(INTERESTING) : rng.int(0, 255)));
        bytes = concat(bytes.subarray(0, at), noise, bytes.subarray(at));
        break;
      }
      case 6:
        bytes = bytes.slice(0, at);
        break;
      case 7: {
        const [s1, e1] = range(rng, bytes.length);
        const [s2, e2] = range(rng, bytes.length);
        if (e1 <= s2) bytes = concat(bytes.subarray(0, s1), bytes.subarray(s2, e2), bytes.subarray(e1, s2), bytes.subarray(s1, e1), bytes.subarray(e2));
        break;
      }
    }
  }
  return bytes;
}
