// Training-state checkpoints: <runDir>/checkpoints/step-<n>/ holding manifest.json (step, RNG key, data position,
// config, metrics pointer) and the tensors (LoRA parameters, optimizer state) through a TensorStore.
//
// A checkpoint is written into a temporary folder, every file and the folder are fsynced, and only then is the
// folder renamed to its final name (one atomic rename), so a crash at any moment leaves either the complete new
// checkpoint or none, and the previous one is untouched until the new one is in place. Names that are not
// `step-<digits>` (temporary, replaced and pruned folders) are never read as checkpoints and are cleaned up by
// the next save.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { DataPosition } from "../data/iterator.js";
import type { MetricsPointer } from "./metrics.js";

export class CheckpointError extends Error {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = "CheckpointError";
  }
}

// --- tensor storage ------------------------------------------------------------------------------------------

export interface TensorRecord {
  dtype: string;
  shape: number[];
  bytes: Uint8Array;
}

/** How tensors are laid out inside a checkpoint folder. `write` must fsync every file it writes and call
 * `afterFile` after each (crash tests hook it); `read` verifies what it reads. */
export interface TensorStore {
  readonly name: string;
  write(dir: string, tensors: Record<string, TensorRecord>, afterFile?: (file: string) => void): void;
  read(dir: string): Record<string, TensorRecord>;
}

const DTYPE_BYTES: Record<string, number> = { f32: 4, bf16: 2, f16: 2, i32: 4, u32: 4, i64: 8, u8: 1, i8: 1, bool: 1 };

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Writes a file and fsyncs it before returning. */
export function writeFileDurably(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data) : data;
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function fsyncDirectory(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface RawEntry {
  dtype: string;
  shape: number[];
  offset: number;
  length: number;
  sha256: string;
}

function expectedLength(name: string, dtype: string, shape: unknown, where: string): number {
  const size = DTYPE_BYTES[dtype];
  if (size === undefined) throw new CheckpointError(where, `tensor "${name}": unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new CheckpointError(where, `tensor "${name}": bad shape ${JSON.stringify(shape)}`);
  return shape.reduce((n: number, d: number) => n * d, 1) * size;
}

/** The default store: all tensors back to back in tensors.bin, and tensors.json giving each one's dtype, shape,
 * byte range and SHA-256. A safetensors-based store can replace it behind the same interface. */
export const rawTensorStore: TensorStore = {
  name: "raw-v1",
  write(dir, tensors, afterFile) {
    const index: Record<string, RawEntry> = {};
    let offset = 0;
    for (const [name, t] of Object.entries(tensors)) {
      const length = expectedLength(name, t.dtype, t.shape, dir);
      if (length !== t.bytes.length) throw new CheckpointError(dir, `tensor "${name}": ${t.dtype}[${t.shape.join(", ")}] needs ${length} bytes, got ${t.bytes.length}`);
      index[name] = { dtype: t.dtype, shape: [...t.shape], offset, length, sha256: sha256(t.bytes) };
      offset += length;
    }
    const blob = new Uint8Array(offset);
    for (const [name, t] of Object.entries(tensors)) blob.set(t.bytes, index[name]!.offset);
    writeFileDurably(join(dir, "tensors.bin"), blob);
    afterFile?.("tensors.bin");
    writeFileDurably(join(dir, "tensors.json"), JSON.stringify(index, null, 1));
    afterFile?.("tensors.json");
  },
  read(dir) {
    const indexPath = join(dir, "tensors.json");
    const index = readJson(indexPath);
    if (typeof index !== "object" || index === null || Array.isArray(index)) throw new CheckpointError(indexPath, "expected an object of tensors");
    const blob = readBytes(join(dir, "tensors.bin"));
    const out: Record<string, TensorRecord> = {};
    for (const [name, raw] of Object.entries(index as Record<string, Partial<RawEntry>>)) {
      const { dtype, shape, offset, length } = raw ?? {};
      if (typeof dtype !== "string") throw new CheckpointError(indexPath, `tensor "${name}": missing dtype`);
      const expected = expectedLength(name, dtype, shape, indexPath);
      if (length !== expected || !Number.isSafeInteger(offset) || offset! < 0 || offset! + expected > blob.length) {
        throw new CheckpointError(indexPath, `tensor "${name}": byte range ${offset}+${length} does not fit ${dtype}[${String(shape)}] in a ${blob.length}-byte tensors.bin`);
      }
      const bytes = blob.slice(offset!, offset! + expected);
      if (sha256(bytes) !== raw.sha256) throw new CheckpointError(join(dir, "tensors.bin"), `tensor "${name}": SHA-256 mismatch (corrupt file)`);
      out[name] = { dtype, shape: [...(shape as number[])], bytes };
    }
    return out;
  },
};

function readBytes(path: string): Uint8Array {
  try {
    // A plain Uint8Array view: Buffer.prototype.slice shares memory, Uint8Array.prototype.slice copies.
    const buffer = readFileSync(path);
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } catch (error) {
    throw new CheckpointError(path, `cannot read: ${(error as Error).message}`);
  }
}

function readJson(path: string): unknown {
  const bytes = readBytes(path);
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new CheckpointError(path, `not valid JSON: ${(error as Error).message}`);
  }
}

// --- manifest ------------------------------------------------------------------------------------------------

export const CHECKPOINT_FORMAT = "grpo-xla-checkpoint";

export interface CheckpointManifest {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  step: number;
  createdAt: string;
  /** The threefry key to continue sampling from, as u32 words. */
  rngKey: number[];
  dataPosition: DataPosition | null;
  config: unknown;
  /** Where metrics.jsonl stood; resuming truncates it there. */
  metrics: MetricsPointer | null;
  tensorStore: string;
  /** Anything else the trainer wants back (stage, best eval score, ...). */
  extra: Record<string, unknown>;
}

export interface CheckpointState {
  step: number;
  rngKey: ArrayLike<number>;
  dataPosition?: DataPosition | null;
  config?: unknown;
  metrics?: MetricsPointer | null;
  tensors: Record<string, TensorRecord>;
  extra?: Record<string, unknown>;
}

function checkManifest(value: unknown, path: string): CheckpointManifest {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CheckpointError(path, "the manifest is not an object");
  const m = value as Partial<CheckpointManifest>;
  if (m.format !== CHECKPOINT_FORMAT) throw new CheckpointError(path, `format is ${JSON.stringify(m.format)}, expected "${CHECKPOINT_FORMAT}"`);
  if (m.version !== 1) throw new CheckpointError(path, `unsupported version ${JSON.stringify(m.version)}`);
  if (!Number.isSafeInteger(m.step) || m.step! < 0) throw new CheckpointError(path, `step must be a non-negative integer, got ${JSON.stringify(m.step)}`);
  if (!Array.isArray(m.rngKey) || m.rngKey.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) throw new CheckpointError(path, "rngKey must be a list of u32 words");
  if (typeof m.tensorStore !== "string") throw new CheckpointError(path, "tensorStore is missing");
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const position = m.dataPosition as Partial<DataPosition> | null | undefined;
  if (position != null && !(isCount(position.epoch) && isCount(position.index) && isCount(position.shuffleSeed) && isCount(position.size) && typeof position.shuffle === "boolean")) {
    throw new CheckpointError(path, `dataPosition must be {epoch, index, shuffleSeed, shuffle, size}, got ${JSON.stringify(position)}`);
  }
  const metrics = m.metrics as Partial<MetricsPointer> | null | undefined;
  if (metrics != null && !(typeof metrics.file === "string" && isCount(metrics.bytes) && (metrics.samplesBytes === undefined || isCount(metrics.samplesBytes)))) {
    throw new CheckpointError(path, `metrics must be {file, bytes, samplesBytes?}, got ${JSON.stringify(metrics)}`);
  }
  if (m.extra != null && (typeof m.extra !== "object" || Array.isArray(m.extra))) throw new CheckpointError(path, "extra must be an object");
  return { dataPosition: null, metrics: null, extra: {}, config: null, createdAt: "", ...m } as CheckpointManifest;
}

// --- layout --------------------------------------------------------------------------------------------------

const STEP_DIR = /^step-(\d+)$/;

export function checkpointsDir(runDir: string): string {
  return join(runDir, "checkpoints");
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(9, "0")}`;
}

const REPLACED_DIR = /^\.old-step-(\d+)-/;

/** Complete checkpoints, newest first. A copy moved aside for a re-save of its step counts while the new copy
 * has not arrived (a crash between the two renames). */
function completeSteps(root: string, includeReplaced = false): { step: number; path: string }[] {
  if (!existsSync(root)) return [];
  const names = readdirSync(root);
  const found = names
    .map((name) => ({ match: STEP_DIR.exec(name), name }))
    .filter((e) => e.match !== null)
    .map((e) => ({ step: Number(e.match![1]), path: join(root, e.name) }));
  if (includeReplaced) {
    for (const name of names) {
      const match = REPLACED_DIR.exec(name);
      if (match && !found.some((e) => e.step === Number(match[1]))) found.push({ step: Number(match[1]), path: join(root, name) });
    }
  }
  return found.sort((a, b) => b.step - a.step);
}

/** The newest checkpoint of a run whose manifest reads back, or undefined. Temporary folders are ignored. */
export function latestCheckpoint(runDir: string): string | undefined {
  for (const { path } of completeSteps(checkpointsDir(runDir), true)) {
    try {
      checkManifest(readJson(join(path, "manifest.json")), path);
      return path;
    } catch {
      // An unreadable manifest (a damaged disk, a hand-edited folder): fall back to the previous checkpoint.
    }
  }
  return undefined;
}

export interface SaveOptions {
  /** Checkpoints to keep, newest first (default 3). */
  keep?: number;
  store?: TensorStore;
  /** Called at each point where a crash could happen (tests throw from it). */
  onProgress?: (point: string) => void;
}

/** Writes a checkpoint atomically and prunes old ones; returns its folder. */
export function saveCheckpoint(runDir: string, state: CheckpointState, options: SaveOptions = {}): string {
  const store = options.store ?? rawTensorStore;
  const keep = options.keep ?? 3;
  const progress = options.onProgress ?? (() => {});
  if (!Number.isSafeInteger(state.step) || state.step < 0) throw new CheckpointError(runDir, `step must be a non-negative integer, got ${state.step}`);
  if (!Number.isInteger(keep) || keep < 1) throw new CheckpointError(runDir, `keep must be at least 1, got ${keep}`);
  const rngKey = Array.from(state.rngKey, Number);
  if (rngKey.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) throw new CheckpointError(runDir, "rngKey must hold u32 words");
  const root = checkpointsDir(runDir);
  mkdirSync(root, { recursive: true });
  // Leftovers of interrupted saves: a replaced copy whose replacement never arrived goes back in place; temporary
  // and half-pruned folders are removed.
  for (const name of readdirSync(root)) {
    const replaced = REPLACED_DIR.exec(name);
    const home = replaced ? stepDirName(Number(replaced[1])) : "";
    if (replaced && !existsSync(join(root, home))) renameSync(join(root, name), join(root, home));
    else if (name.startsWith(".")) rmSync(join(root, name), { recursive: true, force: true });
  }

  const unique = `${process.pid}-${randomBytes(4).toString("hex")}`;
  const temp = join(root, `.tmp-${stepDirName(state.step)}-${unique}`);
  mkdirSync(temp);
  progress("mkdir");
  store.write(temp, state.tensors, (file) => progress(`file:${file}`));
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: 1,
    step: state.step,
    createdAt: new Date().toISOString(),
    rngKey,
    dataPosition: state.dataPosition ?? null,
    config: state.config ?? null,
    metrics: state.metrics ?? null,
    tensorStore: store.name,
    extra: state.extra ?? {},
  };
  writeFileDurably(join(temp, "manifest.json"), JSON.stringify(manifest, null, 1));
  progress("file:manifest.json");
  fsyncDirectory(temp);
  progress("before-rename");

  const final = join(root, stepDirName(state.step));
  if (existsSync(final)) {
    // Saving the same step again (after a resume): move the old copy aside first; until the new one is renamed
    // in, the previous step's checkpoint is the latest.
    renameSync(final, join(root, `.old-${stepDirName(state.step)}-${unique}`));
    progress("moved-old");
  }
  renameSync(temp, final);
  fsyncDirectory(root);
  progress("renamed");

  for (const { path } of completeSteps(root).slice(keep)) {
    const trash = join(root, `.trash-${unique}-${path.slice(root.length + 1)}`);
    renameSync(path, trash);
    fsyncDirectory(root);
    rmSync(trash, { recursive: true, force: true });
    progress("pruned");
  }
  for (const name of readdirSync(root)) if (name.startsWith(".old-")) rmSync(join(root, name), { recursive: true, force: true });
  return final;
}

/** Reads a checkpoint folder (or a run folder: its latest checkpoint), verifying every tensor. */
export function loadCheckpoint(path: string, store: TensorStore = rawTensorStore): { path: string; manifest: CheckpointManifest; tensors: Record<string, TensorRecord> } {
  let dir = path;
  if (!existsSync(join(dir, "manifest.json")) && existsSync(checkpointsDir(dir))) {
    const latest = latestCheckpoint(dir);
    if (!latest) throw new CheckpointError(path, "the run has no complete checkpoint");
    dir = latest;
  }
  const manifest = checkManifest(readJson(join(dir, "manifest.json")), join(dir, "manifest.json"));
  if (manifest.tensorStore !== store.name) throw new CheckpointError(dir, `tensors were written by store "${manifest.tensorStore}", reading with "${store.name}"`);
  return { path: dir, manifest, tensors: store.read(dir) };
}
