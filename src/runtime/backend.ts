// The contract between the array/jit layer and an executor that runs compiled StableHLO (a PJRT plugin).
// The reference device does not use it: it interprets Programs directly (src/runtime/reference.ts).
import type { DType } from "../core/dtype.js";
import type { StablehloVersions } from "./stablehlo_version.js";

/** Host data for one array: Float32Array (f32), Uint16Array (bf16 bit patterns), Int32Array (i32),
 * Uint32Array (u32), Uint8Array (bool, 0 or 1). */
export type HostData = Float32Array | Uint16Array | Int32Array | Uint32Array | Uint8Array;

/** One buffer living on a backend's device. */
export interface BackendBuffer {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Copies the buffer to host memory, once the computation producing it finished. */
  toHost(): Promise<HostData>;
  /** Settles when the computation producing the buffer finished; rejects with its error. */
  ready(): Promise<void>;
  /** Frees the device memory. Idempotent. */
  dispose(): void;
  readonly disposed: boolean;
}

export interface BackendExecutable {
  readonly numOutputs: number;
  /** Launches one run and resolves with its outputs as soon as they exist, before the device computed them
   * (their ready() says when it did); a launch that is refused rejects. `donate[i]` marks argument i as given up
   * (its buffer may become an output and is then invalid); the caller declared the aliasing in the module with
   * `tf.aliasing_output`. */
  execute(args: readonly BackendBuffer[], donate: readonly boolean[]): Promise<BackendBuffer[]>;
  dispose(): void;
}

export interface MemoryStats {
  bytesInUse: number;
  peakBytesInUse?: number;
}

export interface Backend {
  /** "cpu", "gpu" or "tpu": the device kind this backend serves. */
  readonly kind: "cpu" | "gpu" | "tpu";
  /** The plugin's platform name ("cpu", "cuda", "tpu", ...). */
  readonly platformName: string;
  /** Human-readable description (plugin path, PJRT API version, device kind). */
  readonly description: string;
  /** The StableHLO versions the plugin reports; undefined when it reports none (then it is assumed to read what
   * the emitter writes). */
  readonly stablehloVersion?: StablehloVersions | undefined;
  compile(mlirText: string): Promise<BackendExecutable>;
  fromHost(data: HostData, dtype: DType, shape: readonly number[]): Promise<BackendBuffer>;
  memoryStats(): MemoryStats | undefined;
  dispose(): void;
}
