// Running a Program on a device: the reference device interprets it; PJRT devices compile its StableHLO once
// (cached by module text) and execute it. Results come back at once as pending DeviceArrays, whose payloads
// arrive when the execution is launched (before the device computed them), so a chain of calls queues on the
// device without a host round trip per call.
import type { Program } from "../core/program.js";
import { DeviceArray, type Payload } from "../runtime/array.js";
import type { BackendBuffer, BackendExecutable } from "../runtime/backend.js";
import type { Device } from "../runtime/device.js";
import type { HostTensor } from "../runtime/host.js";
import { interpret } from "./interpret.js";
import { dumpsRequested, lowerProgram } from "./lower.js";
import { type Precision, getDefaultPrecision } from "./precision.js";

/** A program prepared for one device: lowered and compiling (PJRT) or ready to interpret (reference). */
export class PreparedProgram {
  readonly aliases: number[];
  readonly text: string | undefined;
  private readonly executable: Promise<BackendExecutable> | undefined;

  constructor(
    readonly program: Program,
    readonly device: Device,
    readonly donate: readonly boolean[],
    name: string,
    eager = false,
    /** Dot precision of the module; fixed when the program is prepared, so later global changes do not alter it. */
    readonly precision: Precision = getDefaultPrecision(),
  ) {
    if (device.backend === undefined) {
      this.aliases = program.inputs.map(() => -1);
      this.text = undefined;
      this.executable = undefined;
      // With dumps requested, a jitted program interpreted here is lowered too, so the dump holds the module a
      // compiling device would run (one-op eager programs are left out: they would flood the folder).
      if (dumpsRequested() && !eager) lowerProgram(program, { donate, name, precision });
      return;
    }
    const lowered = lowerProgram(program, { donate, name, precision });
    this.aliases = lowered.aliases;
    this.text = lowered.text;
    this.executable = device.compile(lowered.text, lowered.requires);
  }

  /** Runs on `args` (already checked against the program's input avals). Donated args are consumed now.
   * Results are committed to the device when `committed` (see DeviceArray). */
  run(args: readonly DeviceArray[], committed: boolean, owned: readonly boolean[] = []): DeviceArray[] {
    const device = this.device;
    const payloads = args.map((a, i) =>
      this.donate[i] && a.device === device ? a.consume("donated argument") : device.transfer(a, `argument ${i}`),
    );
    // Copies made to bring arguments from other devices are freed once the computation is done, and so are
    // arguments handed over by the caller and donated arrays from other devices (they cannot lend memory here).
    const copies = args.map((a) => a.device !== device);
    // A consumed (donated) argument's buffer belongs to this call from now on: when the execution took it, it
    // is already gone; when it did not (a failed or rejected launch, or no output to alias), it is freed here,
    // since the array that owned it is consumed either way.
    const consumed = args.map((a, i) => this.donate[i] === true && a.device === device);
    const disposeAfter = args.filter((a, i) => !a.isDisposed && (owned[i] === true || (this.donate[i] && a.device !== device)));
    const outAvals = this.program.outputAvals;
    let results: Promise<Payload[]>;
    if (this.executable === undefined) {
      results = Promise.all(payloads).then((ps) => {
        const inputs = ps.map((p) => hostOf(p));
        return interpret(this.program, inputs).map((tensor) => ({ kind: "host", tensor }) as Payload);
      });
    } else {
      const executable = this.executable;
      const donate = this.donate.map((d, i) => d && this.aliases[i]! >= 0);
      results = Promise.all([executable, Promise.all(payloads)]).then(async ([exe, ps]) => {
        const buffers = ps.map((p) => bufferOf(p));
        const outs = await exe.execute(buffers, donate);
        return outs.map((buffer) => ({ kind: "buffer", buffer }) as Payload);
      });
    }
    // Tracked until the device finished computing (not only launching), so that devicesIdle() and closing the
    // device wait for the execution, and for the frees that follow it.
    device.track(results.then((outs) => Promise.all(outs.map((p) => (p.kind === "buffer" ? p.buffer.ready() : undefined)))));
    for (const a of args) if (!a.isDisposed) a.retainUntil(results);
    void device.track(
      results.finally(() => {
        for (const a of disposeAfter) a.dispose();
        return Promise.all(payloads.map((p, i) => (copies[i] || consumed[i] ? p.then(releasePayload) : undefined)));
      }),
    );
    return outAvals.map((aval, i) => new DeviceArray(aval, device, results.then((r) => r[i]!), committed));
  }
}

function releasePayload(payload: Payload): void {
  if (payload.kind === "buffer") payload.buffer.dispose();
}

function hostOf(payload: Payload): HostTensor {
  if (payload.kind !== "host") throw new Error("internal: a device buffer reached the reference interpreter");
  return payload.tensor;
}

function bufferOf(payload: Payload): BackendBuffer {
  if (payload.kind !== "buffer") throw new Error("internal: a host tensor reached a PJRT executable");
  return payload.buffer;
}
