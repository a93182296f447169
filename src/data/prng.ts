// A small deterministic PRNG for data generation and shuffling. Only 32-bit integer arithmetic (Math.imul, >>>),
// so the same seed gives the same stream on every machine and Node version. This is host-side data randomness;
// model sampling uses the threefry keys of lib/random.ts.

/** The "lowbias32" integer finaliser (Chris Wellons' hash-prospector): a bijection on u32 with good avalanche. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Splits a non-negative safe integer into two u32 words, so seeds above 2^32 still matter. */
function words(value: number): [number, number] {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`a seed or index must be a non-negative safe integer, got ${value}`);
  return [value >>> 0, Math.floor(value / 2 ** 32) >>> 0];
}

/** Hashes a tuple of non-negative integers (seed, stream tag, index, ...) into one u32. */
export function hashInts(...values: number[]): number {
  let h = 0x243f6a88;
  for (const value of values) {
    for (const word of words(value)) h = mix32((h ^ word) + 0x9e3779b9);
  }
  return h;
}

/** FNV-1a over a string's UTF-16 code units: a stable u32 fingerprint of text. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

/** sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded from a tuple of integers. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: number[]) {
    const h = hashInts(...seed);
    this.a = mix32(h ^ 0x1);
    this.b = mix32(h ^ 0x2);
    this.c = mix32(h ^ 0x3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform integer in [lo, hi] (inclusive), without modulo bias. */
  int(lo: number, hi: number): number {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || hi < lo) throw new RangeError(`Rng.int: bad range [${lo}, ${hi}]`);
    const span = hi - lo + 1;
    if (span > 2 ** 32) throw new RangeError(`Rng.int: range [${lo}, ${hi}] is wider than 2^32`);
    const limit = 2 ** 32 - (2 ** 32 % span);
    let x = this.nextU32();
    while (x >= limit) x = this.nextU32();
    return lo + (x % span);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Rng.pick: empty list");
    return items[this.int(0, items.length - 1)]!;
  }
}

/** A permutation of 0..n-1 (Fisher-Yates) determined by the seed tuple. */
export function permutation(n: number, ...seed: number[]): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const rng = new Rng(...seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}
