// DeviceArray: a concrete array living on one device. Operations dispatch asynchronously: an array may be
// pending (its producing computation still running); `await x.data()` waits and copies to host. Memory is freed
// deterministically with dispose() / `using`; the garbage collector only backs that up.
import { ArrayBase } from "../core/array_base.js";
import { Aval, showShape } from "../core/aval.js";
import type { AnyTypedArray } from "../core/dtype.js";
import type { BackendBuffer, HostData } from "./backend.js";
import type { Device } from "./device.js";
import type { HostTensor } from "./host.js";

export type Payload = { kind: "host"; tensor: HostTensor } | { kind: "buffer"; buffer: BackendBuffer };

let live = 0;
const settled = new WeakSet<Promise<unknown>>();

/** Open tidy scopes, innermost last: each collects the arrays created while it is open. */
const scopes: DeviceArray[][] = [];

/** What freeing an array's memory needs: its payload, and the computations that still read it. Kept apart from
 * the array so that the collector can free an unreachable array's memory without reviving the array. */
interface Held {
  payload: Promise<Payload>;
  readers: Promise<unknown>[];
}

/** Disposes device buffers of arrays the program dropped without dispose(), once nothing reads them: an
 * intermediate is unreachable as soon as the computations reading it are dispatched, usually before they run. */
const finalizer = new FinalizationRegistry<Held>((held) => {
  void Promise.allSettled(held.readers).then(() =>
    held.payload.then(
      (p) => {
        if (p.kind === "buffer") p.buffer.dispose();
      },
      () => {},
    ),
  );
});

export class DeviceArray extends ArrayBase {
  private payloadPromise: Promise<Payload> | undefined;
  /** The payload once it has arrived, so dispose() can free at once when nothing still reads it. */
  private resolved: Payload | undefined;
  private state: "live" | "disposed" | "consumed" = "live";
  /** The payload and the computations reading this array that may not have started yet: freeing waits for them. */
  private readonly held: Held;
  readonly aval: Aval;

  /**
   * @param committed whether the array is bound to its device: arrays made with an explicit device, and results
   * of computations with committed inputs, are; others (made on the default device) move to the device of the
   * committed operands they meet.
   */
  constructor(
    aval: Aval,
    readonly device: Device,
    payload: Promise<Payload>,
    readonly committed = true,
  ) {
    super();
    this.aval = aval;
    // A failure is reported when the array is read; until then it must not count as an unhandled rejection.
    payload.catch(() => {});
    this.payloadPromise = payload;
    payload.then(
      (p) => (this.resolved = p),
      () => {},
    );
    live++;
    this.held = { payload, readers: [] };
    finalizer.register(this, this.held, this);
    scopes[scopes.length - 1]?.push(this);
  }

  static fromHost(tensor: HostTensor, device: Device, committed = true): DeviceArray {
    return new DeviceArray(new Aval(tensor.shape, tensor.dtype), device, device.upload(tensor), committed);
  }

  get isDisposed(): boolean {
    return this.state !== "live";
  }

  /** True when this array was donated to a computation that reused its memory. */
  get isConsumed(): boolean {
    return this.state === "consumed";
  }

  private check(where: string): Promise<Payload> {
    // Consumed first: a donated array has no payload either, and its message says what happened.
    if (this.state === "consumed") {
      throw new Error(
        `${where}: array ${this.aval.dtype}${showShape(this.shape)} on ${this.device} was donated to a computation, ` +
          `which took its memory (also when the computation failed); use that computation's output instead`,
      );
    }
    if (this.state === "disposed" || this.payloadPromise === undefined) {
      throw new Error(`${where}: array ${this.aval.dtype}${showShape(this.shape)} on ${this.device} was disposed`);
    }
    return this.payloadPromise;
  }

  /** The payload, for executors. Throws if disposed or donated. */
  payload(where = "use"): Promise<Payload> {
    return this.check(where);
  }

  /** Keeps the memory alive until `computation` settles (called by executors for each argument they read). */
  retainUntil(computation: Promise<unknown>): void {
    this.held.readers = this.held.readers.filter((p) => !settled.has(p));
    this.held.readers.push(computation);
    computation.then(
      () => settled.add(computation),
      () => settled.add(computation),
    );
  }

  /** Gives up this array's memory to a computation (donation). The array is unusable afterwards. */
  consume(where: string): Promise<Payload> {
    const p = this.check(where);
    this.state = "consumed";
    this.payloadPromise = undefined;
    this.resolved = undefined;
    live--;
    finalizer.unregister(this);
    return p;
  }

  /** Waits for the value and copies it to host: Float32Array (f32), Uint16Array (bf16 bits), Int32Array,
   * Uint32Array, Uint8Array (bool). */
  async data(): Promise<AnyTypedArray> {
    return (await this.tensor()).data;
  }

  /** Waits for the value and returns it as a host tensor (a copy). */
  tensor(): Promise<HostTensor> {
    let pending: Promise<Payload>;
    try {
      pending = this.check("data()");
    } catch (error) {
      return Promise.reject(error);
    }
    const reading = pending.then(async (payload): Promise<HostTensor> => {
      if (payload.kind === "host") {
        const t = payload.tensor;
        return { dtype: t.dtype, shape: t.shape, data: t.data.slice() };
      }
      const data: HostData = await payload.buffer.toHost();
      return { dtype: this.aval.dtype, shape: this.aval.shape, data };
    });
    // A dispose() during the copy waits for it.
    this.retainUntil(reading);
    return this.device.track(reading);
  }

  /** Waits until the computation producing this array finished (rethrowing its error). */
  async ready(): Promise<this> {
    const payload = await this.check("ready()");
    if (payload.kind === "buffer") await payload.buffer.ready();
    return this;
  }

  dispose(): void {
    if (this.state !== "live") {
      this.state = this.state === "consumed" ? "consumed" : "disposed";
      return;
    }
    const p = this.payloadPromise;
    this.state = "disposed";
    this.payloadPromise = undefined;
    live--;
    finalizer.unregister(this);
    const readers = this.held.readers.filter((r) => !settled.has(r));
    this.held.readers = [];
    const resolved = this.resolved;
    this.resolved = undefined;
    if (readers.length === 0 && resolved !== undefined) {
      if (resolved.kind === "buffer") resolved.buffer.dispose();
      return;
    }
    void this.device.track(
      Promise.allSettled(readers).then(() =>
        p?.then(
          (payload) => {
            if (payload.kind === "buffer") payload.buffer.dispose();
          },
          () => {},
        ),
      ),
    );
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  override toString(): string {
    return `DeviceArray<${this.aval} on ${this.device}${this.state === "live" ? "" : `, ${this.state}`}>`;
  }
}

/** Number of DeviceArrays neither disposed nor donated. */
export function liveArrays(): number {
  return live;
}

/**
 * Runs `fn` and disposes every DeviceArray created meanwhile except those in its result (any pytree of arrays):
 * deterministic freeing for eager code, whose intermediates the caller never sees. `fn` must be synchronous
 * (computations it starts may still be running; disposal waits for them).
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== "function") throw new TypeError("tidy: expects a function");
  const scope: DeviceArray[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new TypeError("tidy: the function must be synchronous (it returned a Promise)");
  } catch (error) {
    scopes.pop();
    for (const a of scope) a.dispose();
    throw error;
  }
  scopes.pop();
  const kept = new Set<unknown>();
  const collect = (value: unknown): void => {
    if (value instanceof DeviceArray) kept.add(value);
    else if (Array.isArray(value)) value.forEach(collect);
    else if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
      Object.values(value).forEach(collect);
    }
  };
  collect(result);
  const outer = scopes[scopes.length - 1];
  for (const a of scope) {
    if (kept.has(a)) outer?.push(a);
    else a.dispose();
  }
  return result;
}
