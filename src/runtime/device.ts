// Devices: where arrays live and programs run. `reference` interprets Programs on tfjs (the test oracle);
// `cpu`, `gpu` and `tpu` run compiled StableHLO through a PJRT plugin (a Backend). Unless set, the default device
// is the best one present: tpu, then gpu, then cpu; `reference` only when asked for (or when nothing else opens).
import type { Backend, BackendExecutable, HostData } from "./backend.js";
import { type BackendOptions, openBackend } from "./pjrt.js";
import type { DeviceArray, Payload } from "./array.js";
import type { HostTensor } from "./host.js";
import { availableDevices } from "./plugins.js";

export type DeviceKind = "reference" | "cpu" | "gpu" | "tpu";
export const DEVICE_KINDS: readonly DeviceKind[] = ["reference", "cpu", "gpu", "tpu"];

export class Device {
  /** Compiled executables by module text, shared by every jit and eager call on this device. */
  private readonly executables = new Map<string, Promise<BackendExecutable>>();
  private closed = false;

  constructor(
    readonly kind: DeviceKind,
    readonly backend: Backend | undefined,
  ) {}

  /** The executable of a StableHLO module, compiling it on first request. */
  compile(mlirText: string): Promise<BackendExecutable> {
    if (this.backend === undefined) throw new Error(`device ${this.kind} does not compile StableHLO`);
    if (this.closed) throw new Error(`device ${this.kind} was closed`);
    let compiled = this.executables.get(mlirText);
    if (compiled === undefined) {
      compiled = this.backend.compile(mlirText);
      compiled.catch(() => {});
      this.executables.set(mlirText, compiled);
    }
    return compiled;
  }

  /** Frees every compiled executable and the backend. Arrays on this device become unusable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
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
    return backend.fromHost(tensor.data as HostData, tensor.dtype, tensor.shape).then((buffer) => ({ kind: "buffer", buffer }));
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

/** Closes every opened device: frees compiled executables and backends (tests call this at the end). Resolves
 * once everything is freed. */
export async function closeDevices(): Promise<void> {
  const devices = [...opened.values()];
  opened.clear();
  await Promise.all(devices.map((device) => device.close()));
}
