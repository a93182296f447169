// Devices: where arrays live and programs run. `reference` interprets Programs on tfjs (the test oracle);
// `cpu`, `gpu` and `tpu` run compiled StableHLO through a PJRT plugin (a Backend). Unless set, the default device
// is the best one present: tpu, then gpu, then cpu; `reference` only when asked for (or when nothing else opens).
import type { Feature } from "../../hlo/index.js";
import type { Backend, BackendExecutable, HostData } from "./backend.js";
import { type BackendOptions, openBackend } from "./pjrt.js";
import type { DeviceArray, Payload } from "./array.js";
import type { HostTensor } from "./host.js";
import { availableDevices } from "./plugins.js";
import { type StablehloVersions, checkStablehloVersion } from "./stablehlo_version.js";

export type DeviceKind = "reference" | "cpu" | "gpu" | "tpu";
export const DEVICE_KINDS: readonly DeviceKind[] = ["reference", "cpu", "gpu", "tpu"];

let devicesOpened = 0;

export class Device {
  /** Distinguishes this device from one of the same kind opened after closeDevices(): caches of compiled
   * programs key on it, since a closed device's executables are gone. */
  readonly serial = ++devicesOpened;
  /** Compiled executables by module text, shared by every jit and eager call on this device. */
  private readonly executables = new Map<string, Promise<BackendExecutable>>();
  /** Work started on this device that has not settled: uploads, compiles, executions, reads, deferred frees. */
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    readonly kind: DeviceKind,
    readonly backend: Backend | undefined,
  ) {}

  /** The StableHLO versions this device's plugin reports; undefined for `reference` and for plugins that report
   * none. */
  get stablehloVersion(): StablehloVersions | undefined {
    return this.backend?.stablehloVersion;
  }

  /** The executable of a StableHLO module, compiling it on first request. With `requires` (the newest feature the
   * emitter used, see hlo/versions.ts), a plugin whose StableHLO is older throws a StablehloVersionError here,
   * before the plugin sees the text. */
  compile(mlirText: string, requires?: Feature): Promise<BackendExecutable> {
    if (this.backend === undefined) throw new Error(`device ${this.kind} does not compile StableHLO`);
    if (this.closed) throw new Error(`device ${this.kind} was closed`);
    if (requires !== undefined) checkStablehloVersion(requires, this.backend.stablehloVersion, this.kind);
    let compiled = this.executables.get(mlirText);
    if (compiled === undefined) {
      compiled = this.track(this.backend.compile(mlirText));
      this.executables.set(mlirText, compiled);
    }
    return compiled;
  }

  /** @internal Counts `work` as in flight on this device until it settles (closing waits for it). Returns `work`,
   * whose failure no longer counts as unhandled: whoever reads its result sees the error. */
  track<T>(work: Promise<T>): Promise<T> {
    const entry: Promise<void> = work.then(
      () => void this.inFlight.delete(entry),
      () => void this.inFlight.delete(entry),
    );
    this.inFlight.add(entry);
    return work;
  }

  /** True when no work started on this device is still running. */
  get idle(): boolean {
    return this.inFlight.size === 0;
  }

  /** Resolves once no work is in flight here, including work started by work that was. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /** How many compiled executables this device holds (compiles still running are waited for). */
  async heldExecutables(): Promise<number> {
    const settled = await Promise.allSettled([...this.executables.values()]);
    return settled.filter((r) => r.status === "fulfilled").length;
  }

  /** Frees every compiled executable and the backend. Arrays on this device become unusable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Executions in flight still use their executables, and frees waiting on them still need the backend.
    await this.whenIdle();
    const pending = [...this.executables.values()];
    this.executables.clear();
    // Executables compile asynchronously: wait for each, free it, then free the backend.
    const settled = await Promise.allSettled(pending);
    for (const result of settled) if (result.status === "fulfilled") result.value.dispose();
    this.backend?.dispose();
  }

  toString(): string {
    return this.kind;
  }

  /** Places a host tensor on this device. */
  upload(tensor: HostTensor): Promise<Payload> {
    if (this.backend === undefined) return Promise.resolve({ kind: "host", tensor });
    if (tensor.data instanceof BigInt64Array) {
      return Promise.reject(new TypeError(`${this.kind}: i64 arrays cannot be transferred`));
    }
    const backend = this.backend;
    return this.track(backend.fromHost(tensor.data as HostData, tensor.dtype, tensor.shape).then((buffer) => ({ kind: "buffer", buffer })));
  }

  /** The payload of `array` on this device, copying it across devices when it lives elsewhere. */
  async transfer(array: DeviceArray, where: string): Promise<Payload> {
    if (array.device === this) return array.payload(where);
    const tensor = await array.tensor();
    return this.upload(tensor);
  }
}

const opened = new Map<DeviceKind, Device>();
/** Set by setDefaultDevice, or chosen on first use by bestDevice(). */
let defaultKind: DeviceKind | undefined;

/** The order in which a default device is chosen. */
export const DEFAULT_DEVICE_PREFERENCE: readonly DeviceKind[] = ["tpu", "gpu", "cpu"];

const backendOptions = new Map<DeviceKind, BackendOptions>();

/** Options for a PJRT device (plugin path, client and compile options), taken when it is first opened. */
export function configureDevice(kind: "cpu" | "gpu" | "tpu", options: BackendOptions): void {
  if (opened.has(kind)) throw new Error(`device '${kind}' is already open; configure it before first use`);
  backendOptions.set(kind, options);
}

/** The device of a kind, opening its backend on first use. Throws with instructions when it is absent. */
export function getDevice(kind?: DeviceKind | Device): Device {
  if (kind === undefined) return defaultDevice();
  if (kind instanceof Device) return kind;
  const existing = opened.get(kind);
  if (existing) return existing;
  if (!DEVICE_KINDS.includes(kind)) {
    throw new RangeError(`unknown device '${String(kind)}': use one of ${DEVICE_KINDS.join(", ")}`);
  }
  let device: Device;
  if (kind === "reference") device = new Device("reference", undefined);
  else device = new Device(kind, openBackend(kind, backendOptions.get(kind)));
  opened.set(kind, device);
  return device;
}

/**
 * The best device present: the first of tpu, gpu, cpu whose plugin is found and opens; `reference` when none does.
 * A plugin that is found but fails to open is reported once as a process warning, and the next kind is tried.
 */
export function bestDevice(): Device {
  const present = availableDevices();
  for (const kind of DEFAULT_DEVICE_PREFERENCE) {
    if (!present.includes(kind)) continue;
    try {
      return getDevice(kind);
    } catch (error) {
      process.emitWarning(`grpo-xla: the ${kind} device was found but did not open (${(error as Error).message}); trying the next device`);
    }
  }
  return getDevice("reference");
}

export function defaultDevice(): Device {
  if (defaultKind === undefined) defaultKind = bestDevice().kind;
  return getDevice(defaultKind);
}

/** Sets the device that new arrays and eager operations use when none is given. */
export function setDefaultDevice(kind: DeviceKind): void {
  getDevice(kind);
  defaultKind = kind;
}

/**
 * Runs `fn` with `kind` as the default device and restores the previous default afterwards (also when `fn`
 * throws). Operations without array operands (iota, constants, np.array without a device) run there. `fn` must be
 * synchronous: work after an await would run under whatever default is current by then.
 */
export function withDefaultDevice<T>(kind: DeviceKind | Device, fn: () => T): T {
  const previous = defaultKind;
  setDefaultDevice(kind instanceof Device ? kind.kind : kind);
  let result: T;
  try {
    result = fn();
  } finally {
    defaultKind = previous;
  }
  if (result instanceof Promise) {
    result.catch(() => {});
    throw new TypeError("withDefaultDevice: the function must be synchronous (it returned a Promise)");
  }
  return result;
}

/** Compiled executables held by the open devices' caches: they live until closeDevices(), so a leak check
 * compares liveExecutables() with this number before closing. */
export async function heldExecutables(): Promise<number> {
  const counts = await Promise.all([...opened.values()].map((d) => d.heldExecutables()));
  return counts.reduce((a, b) => a + b, 0);
}

/** Resolves once no work is in flight on any open device (uploads, compiles, executions, reads, and the frees of
 * disposed arrays that waited for them), so that liveBuffers() and liveExecutables() count only what is kept. */
export async function devicesIdle(): Promise<void> {
  while ([...opened.values()].some((device) => !device.idle)) {
    await Promise.all([...opened.values()].map((device) => device.whenIdle()));
  }
}

/** Closes every opened device: waits for the work in flight on it, then frees its compiled executables and its
 * backend (tests call this at the end). A device opened while closing (by work that was in flight) is closed
 * too. Resolves once everything is freed. */
export async function closeDevices(): Promise<void> {
  while (opened.size > 0) {
    await devicesIdle();
    // Nothing runs between taking the devices out and marking them closed: work cannot start on a closing device.
    const devices = [...opened.values()];
    opened.clear();
    await Promise.all(devices.map((device) => device.close()));
  }
}
