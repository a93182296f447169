// The Backend contract (backend.ts) over a PJRT plugin: PjrtBackend owns a client and its first addressable
// device, PjrtBuffer a device buffer, PjrtExecutable a compiled program. Everything is freed by dispose();
// a FinalizationRegistry only backs that up.
import { readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import type { DType } from "../core/dtype.js";
import type { Backend, BackendBuffer, BackendExecutable, HostData, MemoryStats } from "./backend.js";
import { type CompileOptions, encodeCompileOptions } from "./compile_options.js";
import {
  type CreateOption,
  type NativeBuffer,
  type NativeExecution,
  type NativeClient,
  type NativeDevice,
  type NativeError,
  type NativeExecutable,
  type NativePlugin,
  loadAddon,
  packageRoot,
} from "./native.js";
import { checkPjrtVersion, findPtxas, libtpuCreateOptions, libtpuEnvironment, nvidiaPreloadList, tpuChips } from "./plugin_env.js";
import { type PjrtDeviceKind, findPlugin, pluginNotFoundMessage, sitePackagesDirs } from "./plugins.js";
import { type StablehloVersions, describeVersions, readStablehloVersions } from "./stablehlo_version.js";

/** PJRT_Buffer_Type values of the dtypes the project uses. */
const PJRT_TYPE: Record<DType, number> = { bool: 1, i32: 4, i64: 5, u32: 8, f32: 11, bf16: 13 };
const DTYPE_OF_PJRT_TYPE = new Map<number, DType>(Object.entries(PJRT_TYPE).map(([dtype, type]) => [type, dtype as DType]));

const HOST_ARRAY: Record<DType, new (length: number) => ArrayBufferView & { length: number }> = {
  f32: Float32Array,
  bf16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  bool: Uint8Array,
  i64: BigInt64Array,
};

function showType(dtype: DType, shape: readonly number[]): string {
  return `${dtype}[${shape.join(",")}]`;
}

export type ClientOptionValue = string | number | boolean | number[] | { float: number };

export interface BackendOptions {
  /** Path of the PJRT plugin, overriding discovery (see plugins.ts). */
  pluginPath?: string;
  /** PJRT_Client_Create options, e.g. {preallocate: false, memory_fraction: 0.8} for XLA's CUDA plugin.
   * Integers go as int64, other numbers as float; wrap as {float: 1} to force a float. */
  clientOptions?: Record<string, ClientOptionValue>;
  /** Extra compile options (XLA flags as env_option_overrides). */
  compileOptions?: Omit<CompileOptions, "devices">;
}

// Options that XLA's plugins read as floats even when the value is whole.
const FLOAT_OPTIONS = new Set(["memory_fraction"]);

function toCreateOptions(options: Record<string, ClientOptionValue> = {}): CreateOption[] {
  return Object.entries(options).map(([name, value]): CreateOption => {
    if (typeof value === "string") return [name, "string", value];
    if (typeof value === "boolean") return [name, "bool", value];
    if (Array.isArray(value)) return [name, "int64list", value];
    if (typeof value === "object") return [name, "float", value.float];
    return Number.isInteger(value) && !FLOAT_OPTIONS.has(name) ? [name, "int64", value] : [name, "float", value];
  });
}

/** Frees what a GC'd wrapper still held; dispose() unregisters, so this only runs for forgotten objects. */
const finalizer = new FinalizationRegistry<{ dispose(): void }>((native) => native.dispose());

const READY: Promise<void> = Promise.resolve();

export class PjrtBuffer implements BackendBuffer {
  constructor(
    readonly backend: PjrtBackend,
    readonly native: NativeBuffer,
    readonly dtype: DType,
    readonly shape: readonly number[],
    /** Settles when the execution producing the buffer finished (uploads are done when the buffer exists). */
    private readonly computed: Promise<void> = READY,
  ) {
    finalizer.register(this, native, this);
  }

  ready(): Promise<void> {
    return this.computed;
  }

  get disposed(): boolean {
    return this.native.state !== "live";
  }

  /** True when an execution took this buffer (donation): its memory may now hold an output. */
  get consumed(): boolean {
    return this.native.state === "donated";
  }

  /** Throws when the buffer can no longer be used, naming why. */
  assertLive(what: string): void {
    const state = this.native.state;
    if (state === "donated") {
      throw new Error(`${what}: buffer ${showType(this.dtype, this.shape)} was donated to an execution and can no longer be used`);
    }
    if (state === "disposed") throw new Error(`${what}: buffer ${showType(this.dtype, this.shape)} was disposed`);
  }

  async toHost(): Promise<HostData> {
    this.assertLive("toHost");
    try {
      return (await this.native.toHost(this.backend.platformName === "tpu")) as HostData;
    } catch (error) {
      // A run that failed on the device says which program it was; the transfer's own error does not.
      const failure = await this.computed.then(
        () => undefined,
        (cause: unknown) => cause,
      );
      throw failure ?? this.backend.wrapError(error, "toHost");
    }
  }

  dispose(): void {
    finalizer.unregister(this);
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

export class PjrtExecutable implements BackendExecutable {
  constructor(
    readonly backend: PjrtBackend,
    readonly native: NativeExecutable,
    /** The program's name in errors: the module's leading `// name` comment (hlo/ writes one), else the plugin's. */
    readonly name: string = native.name,
  ) {
    finalizer.register(this, native, this);
  }

  get numOutputs(): number {
    return this.native.numOutputs;
  }

  get disposed(): boolean {
    return this.native.disposed;
  }

  async execute(args: readonly BackendBuffer[], donate: readonly boolean[] = []): Promise<PjrtBuffer[]> {
    if (this.native.disposed) throw new Error("execute: the executable was disposed");
    if (donate.length > args.length) throw new RangeError(`execute: ${donate.length} donate flags for ${args.length} arguments`);
    const natives = args.map((arg, index) => {
      if (!(arg instanceof PjrtBuffer) || arg.backend !== this.backend) {
        throw new TypeError(`execute: argument ${index} is not a buffer of this ${this.backend.kind} backend`);
      }
      arg.assertLive(`execute argument ${index}`);
      return arg.native;
    });
    const flags = args.map((_, index) => donate[index] === true);
    let execution: NativeExecution;
    try {
      execution = this.native.execute(natives, flags);
    } catch (error) {
      throw this.backend.wrapError(error, "execute");
    }
    const { outputs } = execution;
    const inputs = args as readonly PjrtBuffer[];
    const done = execution.done.catch(async (error: unknown) => {
      // A failed input failed this run too: name the program that failed first.
      for (const [index, input] of inputs.entries()) {
        const upstream = await input.ready().then(
          () => undefined,
          (cause: unknown) => cause,
        );
        if (upstream !== undefined) throw this.backend.wrapError(upstream, `execute ${this.name}: argument ${index} was not computed`);
      }
      throw this.backend.wrapError(error, `execute ${this.name}`);
    });
    done.catch(() => {});  // reported by the outputs' ready() and toHost()
    try {
      return outputs.map((output, index) => this.backend.wrapBuffer(output, `output ${index}`, done));
    } catch (error) {
      for (const output of outputs) output.dispose();  // idempotent; wrapped ones included
      throw error;
    }
  }

  dispose(): void {
    finalizer.unregister(this);
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

// libtpu allows one client per process (and one process per TPU host, through its lock file).
let openTpuBackend: PjrtBackend | undefined;
// The client of the last backend of each kind disposed. It lives on while arrays or executables made on it do;
// libtpu (and any plugin that allows one client per process) creates a new one only once it is destroyed.
const disposedClients = new Map<PjrtDeviceKind, NativeClient>();

function lingeringClient(kind: PjrtDeviceKind): string | undefined {
  const previous = disposedClients.get(kind);
  if (previous === undefined || previous.destroyed) return undefined;
  return `the previous ${kind} client is still alive: arrays or executables made on it were not disposed`;
}

export class PjrtBackend implements Backend {
  readonly platformName: string;
  readonly description: string;
  readonly device: NativeDevice;
  /** The StableHLO versions the plugin reports (undefined when it reports none). */
  readonly stablehloVersion: StablehloVersions | undefined;
  private readonly compileOptions: Uint8Array;
  private disposedFlag = false;

  constructor(
    readonly kind: PjrtDeviceKind,
    readonly plugin: NativePlugin,
    readonly client: NativeClient,
    options: BackendOptions = {},
  ) {
    const device = client.addressableDevices()[0];
    if (device === undefined) throw new Error(`${kind}: the PJRT plugin ${plugin.path} has no addressable device`);
    this.device = device;
    this.platformName = client.platformName;
    const { major, minor } = plugin.apiVersion;
    const read = readStablehloVersions(plugin.attributes());
    this.stablehloVersion = read.versions;
    if (read.problems.length > 0) {
      process.emitWarning(`grpo-xla: ${kind} plugin ${plugin.path}: ${read.problems.join("; ")}; assuming it reads what grpo-xla emits`);
    }
    this.description =
      `${kind}: ${plugin.path} (PJRT C API ${major}.${minor}; ${describeVersions(this.stablehloVersion)}; ` +
      `platform ${client.platformName} ${client.platformVersion}; device ${device.kind}, ` +
      `${client.addressableDevices().length} addressable)`;
    // Compiled for this device (a device assignment), so executions run there without execute_device.
    this.compileOptions = encodeCompileOptions({ ...options.compileOptions, devices: [device.id] });
  }

  get disposed(): boolean {
    return this.disposedFlag;
  }

  async compile(mlirText: string): Promise<PjrtExecutable> {
    this.assertOpen("compile");
    try {
      const name = /^\/\/ (.+)\n/.exec(mlirText)?.[1];
      return new PjrtExecutable(this, await this.client.compile(mlirText, this.compileOptions), name);
    } catch (error) {
      throw this.wrapError(error, "compile");
    }
  }

  async fromHost(data: HostData, dtype: DType, shape: readonly number[]): Promise<PjrtBuffer> {
    this.assertOpen("fromHost");
    const expectedArray = HOST_ARRAY[dtype];
    if (expectedArray === undefined) throw new TypeError(`fromHost: unknown dtype '${String(dtype)}'`);
    if (!(data instanceof expectedArray)) {
      throw new TypeError(`fromHost: ${dtype} data must be a ${expectedArray.name}, got ${data.constructor.name}`);
    }
    const size = shape.reduce((product, dim) => product * dim, 1);
    if (shape.some((dim) => !Number.isInteger(dim) || dim < 0)) throw new RangeError(`fromHost: bad shape [${shape.join(",")}]`);
    if (data.length !== size) {
      throw new RangeError(`fromHost: ${showType(dtype, shape)} needs ${size} elements, the data has ${data.length}`);
    }
    try {
      const native = await this.client.bufferFromHost(data, PJRT_TYPE[dtype], shape, this.device);
      return new PjrtBuffer(this, native, dtype, [...shape]);
    } catch (error) {
      throw this.wrapError(error, "fromHost");
    }
  }

  memoryStats(): MemoryStats | undefined {
    if (this.disposedFlag) return undefined;
    try {
      const stats = this.device.memoryStats();
      return stats.peakBytesInUse === undefined
        ? { bytesInUse: stats.bytesInUse }
        : { bytesInUse: stats.bytesInUse, peakBytesInUse: stats.peakBytesInUse };
    } catch {
      return undefined;  // the plugin does not report memory (UNIMPLEMENTED)
    }
  }

  /** Plugin attributes (versions, BLAS choice, ...). */
  attributes(): Record<string, unknown> {
    return this.plugin.attributes();
  }

  dispose(): void {
    if (this.disposedFlag) return;
    this.disposedFlag = true;
    if (openTpuBackend === this) openTpuBackend = undefined;
    disposedClients.set(this.kind, this.client);
    this.client.dispose();  // the native client lives on until its last buffer and executable are gone
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal */
  wrapBuffer(native: NativeBuffer, what: string, computed?: Promise<void>): PjrtBuffer {
    const dtype = DTYPE_OF_PJRT_TYPE.get(native.type);
    if (dtype === undefined) {
      native.dispose();
      throw new TypeError(`${what} has PJRT element type ${native.type}, which grpo-xla has no dtype for`);
    }
    return new PjrtBuffer(this, native, dtype, native.dims, computed);
  }

  /** @internal Adds the device kind to a native error, keeping its PJRT code. */
  wrapError(error: unknown, what: string): Error {
    if (!(error instanceof Error)) return new Error(`${this.kind} ${what}: ${String(error)}`);
    const native = error as NativeError;
    const wrapped: NativeError = new Error(`${this.kind} ${what}: ${native.message}`, { cause: error });
    if (native.code !== undefined) wrapped.code = native.code;
    if (native.pjrtCode !== undefined) wrapped.pjrtCode = native.pjrtCode;
    return wrapped;
  }

  private assertOpen(what: string): void {
    if (this.disposedFlag) throw new Error(`${this.kind} ${what}: the backend was disposed`);
  }
}

interface EnvironmentSetup {
  /** Client create options the plugin kind takes by default (the caller's options override them). */
  createOptions: Record<string, ClientOptionValue>;
  /** What could not be set up; said when creating the client fails. */
  problems: string[];
}

function frameworkVersion(): string {
  try {
    const manifest: unknown = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8"));
    const version = (manifest as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * What a real plugin needs before it is loaded. tpu: TPU_SKIP_MDS_QUERY on hosts without a chip, the framework
 * name/version options. gpu: the nvidia-* wheels' CUDA libraries loaded globally (XLA's CUDA plugin dlopens them
 * by soname), ptxas on PATH, platform_name "cuda".
 */
function prepareEnvironment(kind: PjrtDeviceKind, addon: ReturnType<typeof loadAddon>): EnvironmentSetup {
  const problems: string[] = [];
  if (kind === "tpu") {
    for (const [name, value] of Object.entries(libtpuEnvironment(tpuChips().length))) process.env[name] = value;
    return { createOptions: libtpuCreateOptions(frameworkVersion()), problems };
  }
  if (kind !== "gpu") return { createOptions: {}, problems };
  const sitePackages = sitePackagesDirs();
  const libraries = nvidiaPreloadList(sitePackages);
  if (libraries.length === 0) {
    problems.push('no nvidia-* CUDA libraries found in site-packages: pip install -U "jax[cuda12]", or put the CUDA libraries on LD_LIBRARY_PATH');
  }
  for (const library of libraries) {
    try {
      addon.preloadLibrary(library);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  const ptxas = findPtxas(sitePackages);
  if (ptxas === undefined) {
    problems.push("ptxas not found (nvidia-cuda-nvcc wheel, CUDA_DIR/bin, PATH, /usr/local/cuda/bin)");
  } else {
    const directory = dirname(ptxas);
    const path = process.env.PATH ?? "";
    if (!path.split(delimiter).includes(directory)) process.env.PATH = path === "" ? directory : `${directory}${delimiter}${path}`;
  }
  return { createOptions: { platform_name: "cuda" }, problems };
}

/**
 * Opens the PJRT backend of a device kind: finds its plugin (plugins.ts), loads it once per process and
 * creates a client. Throws with instructions when the plugin is absent.
 */
export function openBackend(kind: PjrtDeviceKind, options: BackendOptions = {}): PjrtBackend {
  const location = findPlugin(kind, options.pluginPath);
  if (location === undefined) throw new Error(pluginNotFoundMessage(kind));
  if (kind === "tpu" && openTpuBackend !== undefined) {
    throw new Error("a TPU backend is already open in this process: reuse it (libtpu allows one client per process, one process per TPU host)");
  }
  const lingering = lingeringClient(kind);
  if (kind === "tpu" && lingering !== undefined) {
    throw new Error(`${lingering}, and libtpu allows one client per process; dispose them (closeDevices() frees the compiled programs) before reopening the TPU`);
  }
  if (location.warning !== undefined) console.warn(`${kind}: ${location.warning}; using ${location.path} (${location.source})`);
  const addon = loadAddon();
  const setup = prepareEnvironment(kind, addon);
  let plugin: NativePlugin;
  try {
    plugin = new addon.Plugin(location.path);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const problems = setup.problems.length > 0 ? `; setting up its environment: ${setup.problems.join("; ")}` : "";
    throw new Error(`${kind}: ${message} (found via ${location.source})${problems}`, { cause: error });
  }
  checkPjrtVersion(kind, location.path, plugin.apiVersion);
  let client: NativeClient;
  try {
    client = plugin.createClient(toCreateOptions({ ...setup.createOptions, ...options.clientOptions }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint =
      lingering !== undefined
        ? ` (${lingering})`
        : kind === "tpu"
          ? " (is another process using the TPU? libtpu holds /tmp/libtpu_lockfile)"
          : setup.problems.length > 0
            ? ` (${setup.problems.join("; ")})`
            : "";
    throw new Error(`${kind}: creating the PJRT client failed: ${message}${hint}`, { cause: error });
  }
  let backend: PjrtBackend;
  try {
    backend = new PjrtBackend(kind, plugin, client, options);
  } catch (error) {
    client.dispose();  // libtpu allows one client per process: a leaked one would block the next attempt
    throw error;
  }
  if (kind === "tpu") openTpuBackend = backend;
  return backend;
}

/** Device buffers alive in this process (leak checks). Throws when the native addon cannot be loaded: a count of
 * 0 would let a leak check pass without looking. */
export function liveBuffers(): number {
  return loadAddon().liveBuffers();
}

/** Compiled executables alive in this process (leak checks). Throws when the native addon cannot be loaded. */
export function liveExecutables(): number {
  return loadAddon().liveExecutables();
}
