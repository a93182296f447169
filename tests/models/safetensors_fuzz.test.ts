// Fuzzing the safetensors reader: thousands of mutations of real files (written by our writer) go through open
// and a read of every tensor. Each must either load or fail with a SafetensorsError; any other throw (a
// RangeError from a bad buffer view, a TypeError, a non-Error) or a hang is a crash.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SafetensorsError, SafetensorsReader, bufferSource, writeSafetensors } from "../../models/safetensors.js";
import { makeRng } from "../helpers/arrays.js";
import { safetensorsBytes } from "../helpers/safetensors_bytes.js";

const dir = mkdtempSync(join(tmpdir(), "safetensors-fuzz-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const seeds: Uint8Array[] = [];

beforeAll(async () => {
  const mixed = join(dir, "mixed.safetensors");
  await writeSafetensors(
    mixed,
    [
      { name: "model.embed_tokens.weight", dtype: "BF16", shape: [6, 4], data: () => new Uint16Array(24).map((_, i) => 0x3f80 + i) },
      { name: "model.norm.weight", dtype: "F32", shape: [4], data: () => new Float32Array([0.5, -1, 2, 0]) },
      { name: "empty", dtype: "F32", shape: [0, 4], data: () => new Float32Array(0) },
      { name: "half", dtype: "F16", shape: [2, 3], data: () => new Uint16Array([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000]) },
    ],
    { format: "pt", note: "fuzz seed" },
  );
  const single = join(dir, "single.safetensors");
  await writeSafetensors(single, [{ name: "w", dtype: "F32", shape: [3, 2], data: () => new Float32Array(6).fill(1.25) }]);
  seeds.push(new Uint8Array(readFileSync(mixed)), new Uint8Array(readFileSync(single)));
});

function headerRange(bytes: Uint8Array): [number, number] {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return [8, 8 + length];
}

const JUNK_VALUES: unknown[] = [
  -1, 0, 1, 2.5, 1e300, -0, 2 ** 53, 2 ** 64, "7", "", null, true, [], [1], [0, 1, 2], {}, { a: 1 }, "F32", "BF16",
  "F16", "I64", "X", [-1, 4], [4, 2], [0, 1e20], [[1]], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
];

/** Rewrites one field of the parsed header (a dtype, a shape entry, an offset, a key) and re-encodes it. */
function mutateJson(bytes: Uint8Array, random: () => number): Uint8Array {
  const [start, end] = headerRange(bytes);
  const header = JSON.parse(Buffer.from(bytes.subarray(start, end)).toString("utf8")) as Record<string, Record<string, unknown>>;
  const data = bytes.subarray(end);
  const names = Object.keys(header);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const name = pick(names);
  const entry = header[name]!;
  const junk = pick(JUNK_VALUES);
  switch (Math.floor(random() * 9)) {
    case 0:
      entry[pick(["dtype", "shape", "data_offsets", "extra"])] = junk;
      break;
    case 1:
      delete entry[pick(Object.keys(entry).concat("none"))];
      break;
    case 2: {
      const shape = entry.shape;
      if (Array.isArray(shape) && shape.length > 0) shape[Math.floor(random() * shape.length)] = junk;
      else entry.shape = [junk];
      break;
    }
    case 3: {
      const offsets = entry.data_offsets;
      if (Array.isArray(offsets)) offsets[Math.floor(random() * 2)] = Number(offsets[0] ?? 0) + Math.floor(random() * 17) - 8;
      break;
    }
    case 4:
      header[name] = junk as Record<string, unknown>;
      break;
    case 5:
      delete header[name];
      break;
    case 6:
      header[`${name}_copy`] = structuredClone(entry);
      break;
    case 7:
      header.__metadata__ = (random() < 0.5 ? { key: junk } : junk) as Record<string, unknown>;
      break;
    default: {
      const shape = entry.shape;
      if (Array.isArray(shape)) entry.shape = [...shape].reverse().concat(random() < 0.5 ? [] : [1]);
    }
  }
  return safetensorsBytes(JSON.stringify(header), data);
}

/** One random mutation of a seed file. */
function mutate(seed: Uint8Array, random: () => number): Uint8Array {
  const bytes = seed.slice();
  const [start, end] = headerRange(bytes);
  const at = (lo: number, hi: number): number => lo + Math.floor(random() * Math.max(1, hi - lo));
  switch (Math.floor(random() * 8)) {
    case 0: // flip bits in the header text
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) bytes[at(start, end)]! ^= 1 << Math.floor(random() * 8);
      return bytes;
    case 1: // overwrite header bytes with JSON punctuation, which moves structure around
      for (let n = 1 + Math.floor(random() * 3); n > 0; n--) bytes[at(start, end)] = "{}[]:,\"0-9e. "[Math.floor(random() * 13)]!.charCodeAt(0);
      return bytes;
    case 2: { // change the length prefix: nearby, huge, or random
      const view = new DataView(bytes.buffer);
      const choice = random();
      const length = choice < 0.5 ? BigInt(Math.max(0, end - start + Math.floor(random() * 33) - 16)) : choice < 0.75 ? 2n ** 63n + BigInt(Math.floor(random() * 1000)) : BigInt(Math.floor(random() * 2 ** 32));
      view.setBigUint64(0, length, true);
      return bytes;
    }
    case 3: // truncate anywhere
      return bytes.subarray(0, Math.floor(random() * bytes.length));
    case 4: { // append junk
      const extra = new Uint8Array(1 + Math.floor(random() * 16)).map(() => Math.floor(random() * 256));
      const out = new Uint8Array(bytes.length + extra.length);
      out.set(bytes);
      out.set(extra, bytes.length);
      return out;
    }
    case 5: { // splice random bytes into the header, keeping or fixing the length prefix
      const junk = new Uint8Array(1 + Math.floor(random() * 8)).map(() => Math.floor(random() * 256));
      const cut = at(start, end);
      const out = new Uint8Array(bytes.length + junk.length);
      out.set(bytes.subarray(0, cut));
      out.set(junk, cut);
      out.set(bytes.subarray(cut), cut + junk.length);
      if (random() < 0.5) new DataView(out.buffer).setBigUint64(0, BigInt(end - start + junk.length), true);
      return out;
    }
    case 6: // flip bytes anywhere, data included
      for (let n = 1 + Math.floor(random() * 4); n > 0; n--) bytes[at(0, bytes.length)] = Math.floor(random() * 256);
      return bytes;
    default:
      return mutateJson(bytes, random);
  }
}

async function readAll(bytes: Uint8Array): Promise<"loaded" | "refused"> {
  try {
    const reader = await SafetensorsReader.fromSource(bufferSource(bytes), "fuzz.safetensors");
    for (const name of reader.names()) {
      const info = reader.info(name);
      if (info.dtype !== "F32" && info.dtype !== "BF16" && info.dtype !== "F16") continue;
      for (const as of ["keep", "f32"] as const) {
        const tensor = await reader.read(name, as);
        const count = tensor.shape.reduce((a, b) => a * b, 1);
        if (tensor.data.length !== count) throw new Error(`crash: ${name} read ${tensor.data.length} elements for ${count}`);
      }
    }
    await reader.close();
    return "loaded";
  } catch (error) {
    if (error instanceof SafetensorsError && error.message.startsWith("fuzz.safetensors")) return "refused";
    throw error;
  }
}

describe("safetensors reader fuzz", () => {
  it("the unmutated seeds load", async () => {
    for (const seed of seeds) expect(await readAll(seed)).toBe("loaded");
  });

  it("survives 6000 mutated files with clear errors only", async () => {
    const random = makeRng(20261201);
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < 6000; i++) {
      const seed = seeds[i % seeds.length]!;
      const bytes = mutate(seed, random);
      try {
        outcomes[await readAll(bytes)]++;
      } catch (error) {
        const text = Buffer.from(bytes.subarray(0, 400)).toString("latin1");
        throw new Error(`mutation ${i} crashed the reader: ${String(error)}\n${(error as Error)?.stack}\nfile starts: ${JSON.stringify(text)}`);
      }
    }
    // Most mutations must be refused, and some (data-byte flips) must still load: both paths are exercised.
    expect(outcomes.refused).toBeGreaterThan(3000);
    expect(outcomes.loaded).toBeGreaterThan(100);
  });
});
