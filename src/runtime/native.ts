// Loads the N-API addon (build/Release/grpo_xla.node) and declares the shape of what it exports. The addon
// is a generic PJRT client: it knows nothing of devices kinds or dtypes; src/runtime/pjrt.ts builds the
// Backend on top of it.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** A JS Error from the addon: `code` is the PJRT error code's name, `pjrtCode` its number. */
export interface NativeError extends Error {
  code?: string;
  pjrtCode?: number;
}

export type NamedValue = string | number | boolean | number[];
export type CreateOption = [name: string, type: "string" | "int64" | "int64list" | "float" | "bool", value: NamedValue];

export interface NativePlugin {
  readonly path: string;
  readonly apiVersion: { major: number; minor: number };
  attributes(): Record<string, NamedValue>;
  createClient(options?: CreateOption[]): NativeClient;
}

export interface NativeClient {
  readonly platformName: string;
  readonly platformVersion: string;
  readonly processIndex: number;
  readonly disposed: boolean;
  /** True once the PJRT client itself was destroyed: after dispose() and the last of its buffers and
   * executables, or at process exit. */
  readonly destroyed: boolean;
  devices(): NativeDevice[];
  addressableDevices(): NativeDevice[];
  compile(mlirText: string, compileOptions: Uint8Array): Promise<NativeExecutable>;
  /** `type` is a PJRT_Buffer_Type value; the typed array's bytes must be exactly the dense array. */
  bufferFromHost(data: ArrayBufferView, type: number, dims: readonly number[], device: NativeDevice): Promise<NativeBuffer>;
  dispose(): void;
}

export interface NativeDevice {
  readonly id: number;
  readonly kind: string;
  readonly debugString: string;
  readonly isAddressable: boolean;
  readonly localHardwareId: number;
  toString(): string;
  memoryStats(): { bytesInUse: number; peakBytesInUse?: number; bytesLimit?: number };
}

export interface NativeExecutable {
  readonly name: string;
  readonly numOutputs: number;
  /** PJRT_Buffer_Type per output, when the plugin reports them. */
  readonly outputTypes: number[] | undefined;
  readonly outputDims: number[][] | undefined;
  readonly fingerprint: string | undefined;
  readonly generatedCodeSize: number | undefined;
  /** Ids of the devices the executable was compiled for (its device assignment), as the plugin reports them. */
  readonly addressableDeviceIds: number[];
  readonly disposed: boolean;
  /** Launches on the device the executable was compiled for and returns at once: the outputs may still be
   * computing. `donate[i]` gives argument i up: its Buffer turns "donated" at once. Throws when the launch is
   * refused. */
  execute(args: readonly NativeBuffer[], donate: readonly boolean[]): NativeExecution;
  dispose(): void;
}

export interface NativeExecution {
  outputs: NativeBuffer[];
  /** Settles when the device finished the execution; rejects with the error of a run that failed there. */
  done: Promise<void>;
}

export interface NativeBuffer {
  readonly type: number;
  readonly dims: number[];
  readonly state: "live" | "disposed" | "donated";
  onDeviceSizeInBytes(): number;
  isDeleted(): boolean;
  /** With `rowMajorHostLayout`, asks the plugin for an explicit row-major host layout (needed on TPU). */
  toHost(rowMajorHostLayout?: boolean): Promise<ArrayBufferView>;
  dispose(): void;
}

export interface NativeAddon {
  Plugin: new (path: string) => NativePlugin;
  liveBuffers(): number;
  liveExecutables(): number;
  /** dlopen(path, RTLD_NOW | RTLD_GLOBAL), kept open for the process; throws with the loader's reason. */
  preloadLibrary(path: string): void;
  /** Destroys every client still alive (after the execution running and the compiles in flight finish); the
   * process-exit path. Idempotent; clients, buffers and executables are unusable afterwards. */
  shutdown(): void;
}

/** The package root: the nearest directory above this file with a package.json (works from src/ and dist/src/). */
export function packageRoot(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "grpo-xla") return directory;
    const parent = dirname(directory);
    if (parent === directory) throw new Error("cannot find the grpo-xla package root (no package.json above " + import.meta.url + ")");
    directory = parent;
  }
}

/** Where the native build puts its products. */
export function nativeBuildDir(): string {
  return join(packageRoot(), "build", "Release");
}

let addon: NativeAddon | undefined;

/** The addon, loaded once. Throws with build instructions when it has not been built. */
export function loadAddon(): NativeAddon {
  if (addon !== undefined) return addon;
  const path = join(nativeBuildDir(), "grpo_xla.node");
  if (!existsSync(path)) {
    throw new Error(`the native addon is not built (${path} is missing): run npm run build:native`);
  }
  const require = createRequire(import.meta.url);
  const loaded = require(path) as NativeAddon;
  // Plugins may hang or crash in their own static destructors when a client outlives the process (libtpu), so
  // every client is destroyed on the way out, as JAX does at interpreter exit. "exit" comes for a natural end,
  // process.exit() and an uncaught exception; the addon's environment cleanup hook covers worker threads.
  process.once("exit", () => loaded.shutdown());
  addon = loaded;
  return addon;
}

/** True when the addon file exists (without loading it). */
export function addonBuilt(): boolean {
  return existsSync(join(nativeBuildDir(), "grpo_xla.node"));
}
