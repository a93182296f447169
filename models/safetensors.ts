// The safetensors format: an 8-byte little-endian header length N, N bytes of a UTF-8 JSON object (one entry per
// tensor: dtype, shape, data_offsets [begin, end) into the data section; plus an optional `__metadata__` map of
// strings), then the data section, which the tensors must cover exactly, without holes or overlaps.
//
// Reading is streamed: opening reads only the header, and each tensor is read on request into a buffer of its own
// size, so a multi-gigabyte checkpoint never sits in memory whole. Writing is streamed the same way: the header is
// computed from the shapes, then each tensor's bytes are asked for, written and dropped in turn.
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { endianness } from "node:os";
import { f32ToBf16Bits } from "../src/core/dtype.js";
import type { HostTensor } from "../src/runtime/host.js";

/** Element types of the format and their sizes in bytes. */
const DTYPE_BYTES = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E5M2: 1,
  F8_E4M3: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
} as const;

export type SafetensorsDType = keyof typeof DTYPE_BYTES;

/** The floating-point types this project reads into arrays and writes. */
export type FloatDType = "F32" | "BF16" | "F16";

/** Headers above this size are refused before any allocation (the format's reference reader uses the same cap). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes read per call: one read of a whole gigabyte-sized tensor is refused by the OS on some systems. */
const READ_CHUNK = 64 << 20;

if (endianness() !== "LE") {
  throw new Error("safetensors: tensor data is little-endian and this machine is not; big-endian hosts are not supported");
}

/** An error about a file and, where there is one, a tensor in it; the message names both. */
export class TensorFileError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    detail: string,
  ) {
    super(`${file}${tensor === undefined ? "" : `: tensor ${JSON.stringify(tensor)}`}: ${detail}`);
    this.name = new.target.name;
  }
}

/** Any problem with a safetensors file (its layout, or reading it). */
export class SafetensorsError extends TensorFileError {}

export interface TensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range [begin, end) within the data section. */
  begin: number;
  end: number;
}

/** Where a reader's bytes come from: a file, or memory (tests, fuzzing). */
export interface ByteSource {
  readonly size: number;
  /** Fills `target` from `position` on; returns how many bytes were read (fewer only at the end of the source). */
  read(target: Uint8Array, position: number): Promise<number>;
  close(): Promise<void>;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (target, position) => {
      const count = Math.max(0, Math.min(target.length, bytes.length - position));
      target.set(bytes.subarray(position, position + count));
      return count;
    },
    close: async () => {},
  };
}

export async function fileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new SafetensorsError(path, undefined, `cannot open: ${(error as Error).message}`);
  }
  try {
    const { size } = await handle.stat();
    return {
      size,
      read: async (target, position) => {
        let filled = 0;
        while (filled < target.length) {
          const length = Math.min(READ_CHUNK, target.length - filled);
          const { bytesRead } = await handle.read(target, filled, length, position + filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
        return filled;
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw new SafetensorsError(path, undefined, `cannot stat: ${(error as Error).message}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Sets an own property even for names like "__proto__", which plain assignment would treat specially. */
function defineField(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a parsed header against the format and the data section's length; returns the tensors in file order and
 * the metadata. Throws a SafetensorsError naming the tensor for the first problem found.
 */
export function parseHeader(
  header: unknown,
  dataBytes: number,
  file: string,
): { tensors: TensorInfo[]; metadata: Record<string, string> } {
  if (!isPlainObject(header)) throw new SafetensorsError(file, undefined, "header is not a JSON object");
  const metadata: Record<string, string> = {};
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (!isPlainObject(entry)) throw new SafetensorsError(file, undefined, "__metadata__ is not an object");
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== "string") {
          throw new SafetensorsError(file, undefined, `__metadata__.${key} is not a string (${typeof value})`);
        }
        defineField(metadata, key, value);
      }
      continue;
    }
    const fail = (detail: string): never => {
      throw new SafetensorsError(file, name, detail);
    };
    if (!isPlainObject(entry)) fail("entry is not an object");
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== "string" || !Object.prototype.hasOwnProperty.call(DTYPE_BYTES, dtype)) {
      fail(`unknown dtype ${JSON.stringify(dtype)} (expected one of ${Object.keys(DTYPE_BYTES).join(", ")})`);
    }
    if (!Array.isArray(shape)) fail(`shape is not an array: ${JSON.stringify(shape)}`);
    const dims = shape as unknown[];
    dims.forEach((dim, axis) => {
      if (!isCount(dim)) fail(`shape[${axis}] is not a non-negative integer: ${JSON.stringify(dim)}`);
    });
    if (!Array.isArray(offsets) || offsets.length !== 2 || !isCount(offsets[0]) || !isCount(offsets[1])) {
      fail(`data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataBytes) fail(`data_offsets [${begin}, ${end}] run past the data section (${dataBytes} bytes: truncated file?)`);
    const elementBytes = DTYPE_BYTES[dtype as SafetensorsDType];
    let expected = (dims as number[]).includes(0) ? 0 : elementBytes;
    for (const dim of expected === 0 ? [] : (dims as number[])) {
      expected *= dim;
      // Stop before the product leaves the exact integer range; no file can hold that many bytes anyway.
      if (expected > Number.MAX_SAFE_INTEGER) break;
    }
    if (expected !== end - begin) {
      const needs = expected > Number.MAX_SAFE_INTEGER ? `more than ${Number.MAX_SAFE_INTEGER}` : String(expected);
      fail(`shape [${(dims as number[]).join(", ")}] of ${dtype} needs ${needs} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    tensors.push({ name, dtype: dtype as SafetensorsDType, shape: dims as number[], begin, end });
  }
  // The tensors must tile the data section exactly: sorted by offset, each starts where the previous ended.
  const sorted = [...tensors].sort((x, y) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  for (const t of sorted) {
    if (t.begin < cursor) {
      throw new SafetensorsError(file, t.name, `data_offsets [${t.begin}, ${t.end}] overlap another tensor's bytes (which end at ${cursor})`);
    }
    if (t.begin > cursor) {
      throw new SafetensorsError(file, t.name, `data_offsets [${t.begin}, ${t.end}] leave a hole: bytes ${cursor}..${t.begin} belong to no tensor`);
    }
    cursor = t.end;
  }
  if (cursor !== dataBytes) {
    throw new SafetensorsError(file, undefined, `tensors cover ${cursor} bytes but the data section holds ${dataBytes} (truncated, or trailing bytes)`);
  }
  return { tensors, metadata };
}

/** How a tensor's elements come back: floats keep bf16 as bf16 unless f32 is asked for; f16 always becomes f32. */
export type ReadAs = "f32" | "bf16" | "keep";

/** A file opened for reading: its header is parsed and checked, tensors are read one at a time. */
export class SafetensorsReader {
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly source: ByteSource,
    private readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static async open(path: string): Promise<SafetensorsReader> {
    return SafetensorsReader.fromSource(await fileSource(path), path);
  }

  /** Reads and checks the header of `source`; `file` names it in errors. Closes the source on failure. */
  static async fromSource(source: ByteSource, file: string): Promise<SafetensorsReader> {
    try {
      if (source.size < 8) throw new SafetensorsError(file, undefined, `file has ${source.size} bytes, fewer than the 8-byte header length`);
      const lengthBytes = new Uint8Array(8);
      await readExactly(source, lengthBytes, 0, file, undefined);
      const declared = new DataView(lengthBytes.buffer).getBigUint64(0, true);
      const available = source.size - 8;
      if (declared > BigInt(available)) {
        throw new SafetensorsError(file, undefined, `header length ${declared} is larger than the ${available} bytes after it (truncated file?)`);
      }
      if (declared > BigInt(MAX_HEADER_BYTES)) {
        throw new SafetensorsError(file, undefined, `header length ${declared} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
      }
      const headerLength = Number(declared);
      if (headerLength < 2) throw new SafetensorsError(file, undefined, `header length ${headerLength} is too short for a JSON object`);
      const headerBytes = new Uint8Array(headerLength);
      await readExactly(source, headerBytes, 8, file, undefined);
      if (headerBytes[0] !== 0x7b) throw new SafetensorsError(file, undefined, "header does not start with '{'");
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes);
      } catch {
        throw new SafetensorsError(file, undefined, "header is not valid UTF-8");
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new SafetensorsError(file, undefined, `header is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
      const { tensors, metadata } = parseHeader(json, available - headerLength, file);
      return new SafetensorsReader(file, source, 8 + headerLength, new Map(tensors.map((t) => [t.name, t])), metadata);
    } catch (error) {
      await source.close();
      throw error;
    }
  }

  /** Tensor names in the order of the header. */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info === undefined) throw new SafetensorsError(this.file, name, "no such tensor in this file");
    return info;
  }

  /** A tensor's raw little-endian bytes, in a buffer of their own (aligned for any typed-array view). */
  async readBytes(name: string): Promise<Uint8Array> {
    const info = this.info(name);
    return this.readByteRange(name, 0, info.end - info.begin);
  }

  /** Bytes [start, end) of a tensor's data, for comparing or copying large tensors piece by piece. */
  async readByteRange(name: string, start: number, end: number): Promise<Uint8Array> {
    if (this.closed) throw new SafetensorsError(this.file, name, "reader is closed");
    const info = this.info(name);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > info.end - info.begin) {
      throw new SafetensorsError(this.file, name, `byte range [${start}, ${end}) is outside the tensor's ${info.end - info.begin} bytes`);
    }
    const bytes = new Uint8Array(end - start);
    await readExactly(this.source, bytes, this.dataStart + info.begin + start, this.file, name);
    return bytes;
  }

  /** A float tensor as a host tensor: f32 or bf16 (`keep` keeps bf16 and turns f16 into f32). */
  async read(name: string, as: ReadAs = "keep"): Promise<HostTensor> {
    const info = this.info(name);
    if (info.dtype !== "F32" && info.dtype !== "BF16" && info.dtype !== "F16") {
      throw new SafetensorsError(this.file, name, `dtype ${info.dtype} is not supported (F32, BF16 and F16 are)`);
    }
    const bytes = await this.readBytes(name);
    const shape = [...info.shape];
    const count = (info.end - info.begin) / DTYPE_BYTES[info.dtype];
    if (info.dtype === "F32") {
      const values = new Float32Array(bytes.buffer, 0, count);
      return as === "bf16" ? { dtype: "bf16", shape, data: f32ToBf16(values) } : { dtype: "f32", shape, data: values };
    }
    const bits = new Uint16Array(bytes.buffer, 0, count);
    if (info.dtype === "BF16") {
      return as === "f32" ? { dtype: "f32", shape, data: bf16ToF32(bits) } : { dtype: "bf16", shape, data: bits };
    }
    const values = f16ToF32(bits);
    return as === "bf16" ? { dtype: "bf16", shape, data: f32ToBf16(values) } : { dtype: "f32", shape, data: values };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}

async function readExactly(source: ByteSource, target: Uint8Array, position: number, file: string, tensor: string | undefined): Promise<void> {
  const got = await source.read(target, position);
  if (got !== target.length) {
    throw new SafetensorsError(file, tensor, `file ended after ${got} of ${target.length} bytes at offset ${position} (truncated?)`);
  }
}

export function bf16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const outBits = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) outBits[i] = bits[i]! << 16;
  return out;
}

export function f32ToBf16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = f32ToBf16Bits(values[i]!);
  return out;
}

/** IEEE half precision to single: exact for every value, subnormals, infinities and NaN included. */
export function f16ToF32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) out[i] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) out[i] = mantissa === 0 ? sign * Infinity : NaN;
    else out[i] = sign * (1024 + mantissa) * 2 ** (exponent - 25);
  }
  return out;
}

/** One tensor to write: its bytes are asked for only when its turn comes. */
export interface TensorToWrite {
  name: string;
  dtype: FloatDType;
  shape: readonly number[];
  /** The tensor's elements: Float32Array for F32, 16-bit patterns for BF16 and F16. */
  data: () => Promise<Float32Array | Uint16Array> | Float32Array | Uint16Array;
}

/** The header bytes for `tensors` laid out in order, padded with spaces to a multiple of 8 (data stays aligned). */
export function encodeHeader(
  tensors: readonly Pick<TensorToWrite, "name" | "dtype" | "shape">[],
  metadata: Record<string, string> | undefined,
  file: string,
): { header: Uint8Array; sizes: number[] } {
  const json: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  const sizes: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (t.name === "__metadata__" || Object.prototype.hasOwnProperty.call(json, t.name)) {
      throw new SafetensorsError(file, t.name, "tensor name is reserved or used twice");
    }
    if (!t.shape.every((dim) => isCount(dim))) throw new SafetensorsError(file, t.name, `shape [${t.shape.join(", ")}] is not a list of non-negative integers`);
    const size = t.shape.reduce((a, b) => a * b, DTYPE_BYTES[t.dtype]);
    defineField(json, t.name, { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + size] });
    sizes.push(size);
    offset += size;
  }
  const text = Buffer.from(JSON.stringify(json), "utf8");
  const padded = Math.ceil((8 + text.length) / 8) * 8 - 8;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, sizes };
}

/**
 * Writes a safetensors file, one tensor at a time. The file appears under `path` only when complete (it is
 * written beside it and renamed), so a failure never leaves a truncated checkpoint behind.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Record<string, string>,
): Promise<void> {
  const { header, sizes } = encodeHeader(tensors, metadata, path);
  const partial = `${path}.partial`;
  const handle = await open(partial, "w");
  try {
    let position = 0;
    const write = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, done, Math.min(READ_CHUNK, bytes.length - done), position + done);
        done += bytesWritten;
      }
      position += bytes.length;
    };
    await write(header);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i]!;
      const data = await t.data();
      const wanted = t.dtype === "F32" ? Float32Array : Uint16Array;
      if (!(data instanceof wanted)) {
        throw new SafetensorsError(path, t.name, `${t.dtype} data must be a ${wanted.name}, got ${data.constructor.name}`);
      }
      if (data.byteLength !== sizes[i]) {
        throw new SafetensorsError(path, t.name, `shape [${t.shape.join(", ")}] of ${t.dtype} needs ${sizes[i]} bytes, got ${data.byteLength}`);
      }
      await write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, path);
}
