// The safetensors reader and writer against byte layouts written out by hand in this file (the format's known
// answers), and every kind of malformed file the reader must refuse with an error naming the file and tensor.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  MAX_HEADER_BYTES,
  SafetensorsError,
  SafetensorsReader,
  bufferSource,
  f16ToF32,
  writeSafetensors,
} from "../../models/safetensors.js";
import { safetensorsBytes as fileBytes } from "../helpers/safetensors_bytes.js";

const dir = mkdtempSync(join(tmpdir(), "safetensors-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const f32Bytes = (values: number[]): number[] => [...new Uint8Array(new Float32Array(values).buffer)];

async function openBytes(bytes: Uint8Array, name = "mem.safetensors"): Promise<SafetensorsReader> {
  return SafetensorsReader.fromSource(bufferSource(bytes), name);
}

async function openError(bytes: Uint8Array): Promise<SafetensorsError> {
  try {
    const reader = await openBytes(bytes, "bad.safetensors");
    for (const name of reader.names()) await reader.read(name);
  } catch (error) {
    expect(error).toBeInstanceOf(SafetensorsError);
    return error as SafetensorsError;
  }
  throw new Error("the file was accepted");
}

describe("reading known layouts", () => {
  it("reads f32, bf16 and f16 tensors and the metadata", async () => {
    // a: f32 [2] = [1.5, -2]; b: bf16 [2] = [1.0 (0x3f80), -0.5 (0xbf00)]; c: f16 [3] = [1, -2, 65504].
    const header =
      '{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[8,12]},"c":{"dtype":"F16","shape":[3],"data_offsets":[12,18]}}';
    const data = [...f32Bytes([1.5, -2]), 0x80, 0x3f, 0x00, 0xbf, 0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b];
    const reader = await openBytes(fileBytes(header, data));
    expect(reader.metadata).toEqual({ format: "pt" });
    expect(reader.names()).toEqual(["a", "b", "c"]);
    expect(reader.info("b")).toMatchObject({ dtype: "BF16", shape: [2, 1], begin: 8, end: 12 });
    const a = await reader.read("a");
    expect(a.dtype).toBe("f32");
    expect([...a.data]).toEqual([1.5, -2]);
    const b = await reader.read("b");
    expect(b.dtype).toBe("bf16");
    expect(b.shape).toEqual([2, 1]);
    expect([...b.data]).toEqual([0x3f80, 0xbf00]);
    expect([...(await reader.read("b", "f32")).data]).toEqual([1, -0.5]);
    const c = await reader.read("c");
    expect(c.dtype).toBe("f32");
    expect([...c.data]).toEqual([1, -2, 65504]);
    // f32 asked for as bf16 rounds to nearest even: 1.5 and -2 are exact in bf16.
    expect([...(await reader.read("a", "bf16")).data]).toEqual([0x3fc0, 0xc000]);
    await reader.close();
  });

  it("converts every class of f16 value exactly", () => {
    const bits = new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x0400, 0x3555, 0x7c00, 0xfc00, 0x7e00, 0xc400]);
    const values = [...f16ToF32(bits)];
    expect(values.slice(0, 6)).toEqual([0, -0, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, 0.333251953125]);
    expect(Object.is(values[1], -0)).toBe(true);
    expect(values.slice(6, 8)).toEqual([Infinity, -Infinity]);
    expect(values[8]).toBeNaN();
    expect(values[9]).toBe(-4);
  });

  it("accepts zero-sized tensors anywhere and header padding with spaces", async () => {
    const header = '{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}   ';
    const reader = await openBytes(fileBytes(header, f32Bytes([7])));
    expect((await reader.read("e")).shape).toEqual([0, 3]);
    expect([...(await reader.read("x")).data]).toEqual([7]);
  });

  it("accepts tensors listed out of data order, as long as they tile the data", async () => {
    const header = '{"late":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"early":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}';
    const reader = await openBytes(fileBytes(header, f32Bytes([1, 2])));
    expect([...(await reader.read("late")).data]).toEqual([2]);
  });
});

describe("writing", () => {
  it("writes the exact bytes of the format, header padded to a multiple of 8", async () => {
    const path = join(dir, "known.safetensors");
    await writeSafetensors(
      path,
      [
        { name: "w", dtype: "F32", shape: [2], data: () => new Float32Array([1, -1]) },
        { name: "h", dtype: "BF16", shape: [1], data: async () => new Uint16Array([0x3f80]) },
      ],
      { format: "pt" },
    );
    const header = '{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"h":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}';
    const paddedLength = Math.ceil((8 + header.length) / 8) * 8 - 8;
    const expected = fileBytes(header.padEnd(paddedLength, " "), [...f32Bytes([1, -1]), 0x80, 0x3f]);
    const { readFileSync } = await import("node:fs");
    expect(new Uint8Array(readFileSync(path))).toEqual(expected);
    const reader = await SafetensorsReader.open(path);
    expect([...(await reader.read("w")).data]).toEqual([1, -1]);
    await reader.close();
  });

  it("refuses data of the wrong size and leaves no file behind", async () => {
    const path = join(dir, "short.safetensors");
    await expect(
      writeSafetensors(path, [{ name: "w", dtype: "F32", shape: [3], data: () => new Float32Array(2) }]),
    ).rejects.toThrow(/short\.safetensors: tensor "w": shape \[3\] of F32 needs 12 bytes, got 8/);
    expect(readdirSync(dir).filter((f) => f.startsWith("short"))).toEqual([]);
  });

  it("refuses a duplicate or reserved tensor name, and the wrong array type", async () => {
    const path = join(dir, "dup.safetensors");
    const t = { name: "w", dtype: "F32" as const, shape: [1], data: () => new Float32Array(1) };
    await expect(writeSafetensors(path, [t, t])).rejects.toThrow(/tensor "w": tensor name is reserved or used twice/);
    await expect(writeSafetensors(path, [{ ...t, name: "__metadata__" }])).rejects.toThrow(/reserved/);
    await expect(writeSafetensors(path, [{ ...t, dtype: "BF16" }])).rejects.toThrow(/BF16 data must be a Uint16Array/);
  });

  it("round-trips a tensor named __proto__ and metadata keyed __proto__", async () => {
    const path = join(dir, "proto.safetensors");
    await writeSafetensors(path, [{ name: "__proto__", dtype: "F32", shape: [1], data: () => new Float32Array([3]) }], {
      ["__proto__"]: "x",
    });
    const reader = await SafetensorsReader.open(path);
    expect(reader.names()).toEqual(["__proto__"]);
    expect(Object.keys(reader.metadata)).toEqual(["__proto__"]);
    expect([...(await reader.read("__proto__")).data]).toEqual([3]);
    await reader.close();
  });
});

// Byte vectors from the format's reference implementation (its serializer's and deserializer's test cases).
describe("reference vectors", () => {
  const f32Le = (values: number[]): number[] => [...new Uint8Array(new Float32Array(values).buffer)];

  async function written(tensors: Parameters<typeof writeSafetensors>[1], metadata?: Record<string, string>): Promise<number[]> {
    const path = join(dir, `vector-${Math.random().toString(36).slice(2)}.safetensors`);
    await writeSafetensors(path, tensors, metadata);
    const { readFileSync } = await import("node:fs");
    return [...readFileSync(path)];
  }

  it("serializes one f32 tensor whose header needs no padding", async () => {
    const bytes = await written([{ name: "attn.0", dtype: "F32", shape: [1, 2, 3], data: () => new Float32Array([0, 1, 2, 3, 4, 5]) }]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect(bytes).toEqual([64, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...f32Le([0, 1, 2, 3, 4, 5])]);
    expect(bytes.slice(-8)).toEqual([0, 0, 128, 64, 0, 0, 160, 64]);
  });

  it("pads the header with spaces so the data starts 8-aligned", async () => {
    const bytes = await written([{ name: "attn0", dtype: "F32", shape: [1, 1, 2, 3], data: () => new Float32Array([0, 1, 2, 3, 4, 5]) }]);
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}' + " ".repeat(7);
    expect(bytes).toEqual([72, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from(header), ...f32Le([0, 1, 2, 3, 4, 5])]);
  });

  it("serializes no tensors, with and without metadata", async () => {
    expect(await written([])).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(await written([], { framework: "pt" })).toEqual([40, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{"__metadata__":{"framework":"pt"}}     ')]);
  });

  it("reads a scalar, a zero-sized tensor and a header padded with JSON whitespace", async () => {
    const scalar = await openBytes(fileBytes('{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}', [0, 0, 0, 0]));
    expect(scalar.info("test")).toMatchObject({ dtype: "I32", shape: [] });
    expect([...(await scalar.readBytes("test"))]).toEqual([0, 0, 0, 0]);
    const empty = await openBytes(fileBytes('{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}', []));
    expect(empty.info("test").shape).toEqual([2, 0]);
    const padded = await openBytes(fileBytes("{}\r \t\n", []));
    expect(padded.names()).toEqual([]);
  });

  it("refuses what the reference refuses", async () => {
    const good = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(0), /file has 0 bytes/],
      [new Uint8Array([60, 0, 0, 0, 0, 0, 0, 0]), /header length 60 is larger than the 0 bytes after it/],
      [new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 0xff]), /header length 1 is too short/],
      [fileBytes("{", []), /header length 1 is too short/],
      [fileBytes('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}', [0, 0, 0, 0]), /tensor "test": shape \[2, 2\] of I32 needs 16 bytes but data_offsets \[0, 4\] hold 4/],
      [fileBytes('{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}', new Uint8Array(16)), /tensor "test": shape\[1\] is not a non-negative integer/],
      [fileBytes('{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}', new Uint8Array(16)), /tensor "test": shape\[1\] is not a non-negative integer/],
      [fileBytes(good, [...new Uint8Array(16), ...Buffer.from("extra_bogus_data_for_polyglot_file")]), /cover 16 bytes but the data section holds 50/],
      [fileBytes(good, new Uint8Array(14)), /tensor "test": data_offsets \[0, 16\] run past the data section \(14 bytes/],
      [(() => {
        const bytes = fileBytes(good, new Uint8Array(16));
        bytes.set([0xff, 0xff, 0xff], 5);
        return bytes;
      })(), /header length \d+ is larger than/],
      [fileBytes(`{${Array.from({ length: 10 }, (_, i) => `"weight_${i}":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}`).join(",")}}`, new Uint8Array(16)), /overlap another tensor's bytes/],
    ];
    for (const [bytes, message] of cases) {
      const error = await openError(bytes);
      expect(error.message).toMatch(message);
    }
  });
});

describe("malformed files are refused with the file and tensor named", () => {
  const good = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
  const data = f32Bytes([1, 2, 3]);
  const withEntry = (a: string, b = '{"dtype":"F32","shape":[1],"data_offsets":[8,12]}'): Uint8Array =>
    fileBytes(`{"a":${a},"b":${b}}`, data);

  const cases: [string, () => Uint8Array, RegExp][] = [
    ["fewer than 8 bytes", () => new Uint8Array(5), /bad\.safetensors: file has 5 bytes/],
    ["a truncated data section", () => fileBytes(good, data).subarray(0, 8 + good.length + 10), /tensor "b": data_offsets \[8, 12\] run past the data section \(10 bytes: truncated file\?\)/],
    ["trailing bytes after the data", () => fileBytes(good, [...data, 0]), /cover 12 bytes but the data section holds 13/],
    ["a header longer than the file", () => {
      const bytes = fileBytes(good, data);
      new DataView(bytes.buffer).setBigUint64(0, 1n << 40n, true);
      return bytes;
    }, /header length 1099511627776 is larger than the \d+ bytes after it/],
    ["a header that is not JSON", () => fileBytes('{"a": nope}', []), /header is not valid JSON/],
    ["a header that is not an object", () => fileBytes("[1,2]", []), /header does not start with '\{'/],
    ["a header of invalid UTF-8", () => {
      const bytes = fileBytes('{"a\u00ff":1}', []);
      bytes[10] = 0xff;
      return bytes;
    }, /header is not valid UTF-8/],
    ["metadata that is not strings", () => fileBytes('{"__metadata__":{"n":3}}', []), /__metadata__\.n is not a string/],
    ["an entry that is not an object", () => withEntry("5"), /tensor "a": entry is not an object/],
    ["an unknown dtype", () => withEntry('{"dtype":"F12","shape":[2],"data_offsets":[0,8]}'), /tensor "a": unknown dtype "F12"/],
    ["a negative dimension", () => withEntry('{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}'), /tensor "a": shape\[0\] is not a non-negative integer: -2/],
    ["a fractional dimension", () => withEntry('{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}'), /tensor "a": shape\[0\] is not a non-negative integer/],
    ["a shape that is not an array", () => withEntry('{"dtype":"F32","shape":"2","data_offsets":[0,8]}'), /tensor "a": shape is not an array/],
    ["offsets that are not a pair", () => withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0]}'), /tensor "a": data_offsets must be two non-negative integers/],
    ["offsets ending before they begin", () => withEntry('{"dtype":"F32","shape":[2],"data_offsets":[8,0]}'), /tensor "a": data_offsets \[8, 0\] end before they begin/],
    ["offsets past the data", () => withEntry('{"dtype":"F32","shape":[2],"data_offsets":[8,16]}'), /tensor "a": data_offsets \[8, 16\] run past the data section/],
    ["a size that does not match the shape", () => withEntry('{"dtype":"F32","shape":[3],"data_offsets":[0,8]}'), /tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/],
    ["a huge shape", () => withEntry('{"dtype":"F32","shape":[9007199254740991,9007199254740991],"data_offsets":[0,8]}'), /tensor "a": shape .* needs more than 9007199254740991 bytes/],
    ["overlapping tensors", () => withEntry('{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', '{"dtype":"F32","shape":[1],"data_offsets":[4,8]}'), /tensor "b": data_offsets \[4, 8\] overlap another tensor's bytes/],
    ["a hole between tensors", () => withEntry('{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', '{"dtype":"F32","shape":[1],"data_offsets":[8,12]}'), /tensor "b": data_offsets \[8, 12\] leave a hole: bytes 4\.\.8/],
  ];

  for (const [what, make, message] of cases) {
    it(`refuses ${what}`, async () => {
      const error = await openError(make());
      expect(error.message).toMatch(/^bad\.safetensors/);
      expect(error.message).toMatch(message);
    });
  }

  it("refuses a header over the size limit before reading it", async () => {
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setBigUint64(0, BigInt(MAX_HEADER_BYTES + 1), true);
    // A source that claims to be large enough: only the 8-byte prefix may be read.
    const source = { ...bufferSource(prefix), size: MAX_HEADER_BYTES + 100 };
    await expect(SafetensorsReader.fromSource(source, "big.safetensors")).rejects.toThrow(/big\.safetensors: header length 100000001 exceeds the 100000000-byte limit/);
  });

  it("refuses a read of an unsupported dtype, naming the tensor", async () => {
    const reader = await openBytes(fileBytes('{"i":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', new Uint8Array(8)));
    await expect(reader.read("i")).rejects.toThrow(/mem\.safetensors: tensor "i": dtype I64 is not supported/);
    await expect(reader.read("nope")).rejects.toThrow(/tensor "nope": no such tensor/);
    expect([...(await reader.readByteRange("i", 2, 5))]).toEqual([0, 0, 0]);
    await expect(reader.readByteRange("i", 4, 9)).rejects.toThrow(/tensor "i": byte range \[4, 9\) is outside the tensor's 8 bytes/);
    await expect(reader.readByteRange("i", 3, 2)).rejects.toThrow(/byte range \[3, 2\)/);
  });

  it("refuses a file that does not exist and a file cut short while open", async () => {
    await expect(SafetensorsReader.open(join(dir, "missing.safetensors"))).rejects.toThrow(/missing\.safetensors: cannot open/);
    const path = join(dir, "shrinks.safetensors");
    writeFileSync(path, fileBytes(good, data));
    const reader = await SafetensorsReader.open(path);
    writeFileSync(path, fileBytes(good, data).subarray(0, 8 + good.length + 9));
    await expect(reader.read("b")).rejects.toThrow(/shrinks\.safetensors: tensor "b": file ended after 1 of 4 bytes/);
    await reader.close();
  });
});
