// Issue 10 items 1 and 7: executables compiled for their device and run without execute_device; clients freed
// once nothing uses them, reopened in the same process, and destroyed on every way out of the process.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeCompileOptions, encodeCompileOptions } from "../../src/runtime/compile_options.js";
import { type DeviceArray, np } from "../../src/index.js";
import { closeDevices, getDevice } from "../../src/runtime/device.js";
import { openBackend } from "../../src/runtime/pjrt.js";
import { mutate } from "../data/mutate.js";
import { binaryModule } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ADD = binaryModule("add", "2");

let traceDir: string;
let trace: string;
const saved = { trace: process.env.GRPO_XLA_CPU_CLIENT_TRACE, exclusive: process.env.GRPO_XLA_CPU_EXCLUSIVE_CLIENT };

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

function traced(): string[] {
  try {
    return readFileSync(trace, "utf8").trim().split("\n").filter((line) => line !== "");
  } catch {
    return [];
  }
}

beforeEach(() => {
  traceDir = mkdtempSync(join(tmpdir(), "grpo-xla-lifecycle-"));
  trace = join(traceDir, "clients.txt");
  process.env.GRPO_XLA_CPU_CLIENT_TRACE = trace;
});

afterEach(() => {
  restore("GRPO_XLA_CPU_CLIENT_TRACE", saved.trace);
  restore("GRPO_XLA_CPU_EXCLUSIVE_CLIENT", saved.exclusive);
  rmSync(traceDir, { recursive: true, force: true });
});

describe("executables belong to the device they were compiled for (issue 10.1)", () => {
  it("compiles with a device assignment and runs without execute_device", async () => {
    const backend = openBackend("cpu");
    try {
      const executable = await backend.compile(ADD);
      expect(executable.native.addressableDeviceIds).toEqual([backend.device.id]);
      const a = await backend.fromHost(new Float32Array([1, 2]), "f32", [2]);
      // Our plugin refuses execute_device for an executable compiled with an assignment: this run would fail if
      // the addon still sent one.
      const [sum] = await executable.execute([a, a], [false, false]);
      expect(Array.from((await sum!.toHost()) as Float32Array)).toEqual([2, 4]);
      for (const x of [sum!, a, executable]) x.dispose();
    } finally {
      backend.dispose();
    }
  });

  it("a portable executable is refused when run without execute_device, naming it and the devices", async () => {
    const backend = openBackend("cpu");
    try {
      const portable = Uint8Array.from(Buffer.from("1a0f08ffffffffffffffffff01200128012001", "hex"));
      expect(decodeCompileOptions(portable).compile_portable_executable).toBe(true);
      const executable = await backend.client.compile(ADD, portable);
      const a = await backend.fromHost(new Float32Array([1, 2]), "f32", [2]);
      expect(() => executable.execute([a.native, a.native], [false, false])).toThrow(
        /executable 'main' was compiled portable .* execute_device is null \(this client's devices are \[0\]\)/,
      );
      a.dispose();
      executable.dispose();
    } finally {
      backend.dispose();
    }
  });

  it("each client compiles its own executable, which refuses another client's buffers", async () => {
    const first = openBackend("cpu");
    const second = openBackend("cpu");
    try {
      const [mine, theirs] = await Promise.all([first.compile(ADD), second.compile(ADD)]);
      const a = await second.fromHost(new Float32Array([1, 2]), "f32", [2]);
      expect(() => mine.native.execute([a.native, a.native], [false, false])).toThrow(
        /argument 0 is a buffer of another client than the one that compiled executable 'main'/,
      );
      const [sum] = await theirs.execute([a, a]);
      expect(Array.from((await sum!.toHost()) as Float32Array)).toEqual([2, 4]);
      for (const x of [sum!, a, mine, theirs]) x.dispose();
    } finally {
      first.dispose();
      second.dispose();
    }
  });

  it("the plugin reads mutated compile options without crashing: it compiles or names what is wrong", async () => {
    const backend = openBackend("cpu");
    const seeds = [encodeCompileOptions({ devices: [0] }), encodeCompileOptions({ devices: [0], overrides: { xla_flag: true } })];
    let compiled = 0;
    try {
      for (let i = 0; i < 400; i++) {
        const options = mutate(seeds[i % seeds.length]!, 0x10a7, i);
        try {
          (await backend.client.compile(ADD, options)).dispose();
          compiled++;
        } catch (error) {
          expect((error as Error).message, `case ${i}: ${Buffer.from(options).toString("hex")}`).toMatch(
            /^PJRT_Client_Compile: compile options (are|ask|give|assign)/,
          );
        }
      }
    } finally {
      backend.dispose();
    }
    expect(compiled).toBeGreaterThan(0);
    expect(compiled).toBeLessThan(400);
  });
});

// "create N" / "destroy N" lines of the trace, with N counted from the first client this test saw.
function events(): string[] {
  const lines = traced();
  const first = Number(lines[0]?.split(" ")[1] ?? 0);
  return lines.map((line) => {
    const [event, serial] = line.split(" ");
    return `${event} +${Number(serial) - first}`;
  });
}

describe("client lifecycle (issue 10.7)", () => {
  it("dispose frees the client once its last buffer and executable are gone, and the device reopens", async () => {
    process.env.GRPO_XLA_CPU_EXCLUSIVE_CLIENT = "1";  // one live client at a time, as libtpu
    const first = openBackend("cpu");
    const executable = await first.compile(ADD);
    const buffer = await first.fromHost(new Float32Array([1, 2]), "f32", [2]);
    first.dispose();
    expect([first.client.disposed, first.client.destroyed]).toEqual([true, false]);
    expect(() => openBackend("cpu")).toThrow(
      /1 client\(s\) of this plugin are still alive .*\(the previous cpu client is still alive: arrays or executables made on it were not disposed\)/,
    );
    buffer.dispose();
    expect(first.client.destroyed).toBe(false);  // the executable still uses it
    executable.dispose();
    // Device objects (the backend keeps one) do not hold the client: it goes with its last buffer or executable.
    expect(first.client.destroyed).toBe(true);
    expect(events()).toEqual(["create +0", "destroy +0"]);

    const second = openBackend("cpu");
    const again = await second.compile(ADD);
    const input = await second.fromHost(new Float32Array([3, 4]), "f32", [2]);
    const [sum] = await again.execute([input, input]);
    expect(Array.from((await sum!.toHost()) as Float32Array)).toEqual([6, 8]);
    for (const x of [sum!, input, again]) x.dispose();
    expect(second.client.destroyed).toBe(false);  // still open
    second.dispose();
    expect(second.client.destroyed).toBe(true);
    expect(events()).toEqual(["create +0", "destroy +0", "create +1", "destroy +1"]);
  });

  it("closeDevices() destroys the cpu client and getDevice reopens it in the same process", async () => {
    await closeDevices();
    process.env.GRPO_XLA_CPU_EXCLUSIVE_CLIENT = "1";
    for (const round of [1, 2]) {
      const x = np.array([1, 2, round], { device: "cpu" });
      const y = np.multiply(x, x) as DeviceArray;
      expect(Array.from((await y.data()) as Float32Array)).toEqual([1, 4, round * round]);
      x.dispose();
      y.dispose();
      expect(getDevice("cpu").backend).toBeDefined();
      await closeDevices();
    }
    expect(events()).toEqual(["create +0", "destroy +0", "create +1", "destroy +1"]);
  });
});

describe("the exit path destroys every client (issue 10.7)", () => {
  function runChild(mode: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", "tests/runtime/fixtures/exit_path.ts", mode],
        { cwd: ROOT, env: { ...process.env, GRPO_XLA_CPU_CLIENT_TRACE: trace }, timeout: 60_000 },
        (error, stdout, stderr) => resolve({ status: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr }),
      );
    });
  }

  it.each([
    ["natural", 0],
    ["exit", 3],
    ["throw", 1],
  ])("%s: the client is destroyed after the execution in flight, and the process exits with %i", async (mode, status) => {
    const child = await runChild(mode);
    expect(child.stdout, child.stderr).toContain(`started ${mode}`);
    expect(child.status, child.stderr).toBe(status);
    expect(events()).toEqual(["create +0", "destroy +0"]);
  });

  it("a worker thread terminated with an execution in flight destroys its client (environment cleanup hook)", async () => {
    const worker = new Worker(new URL("./fixtures/exit_worker.mjs", import.meta.url), { workerData: "natural", stdout: true });
    const said = await new Promise<string>((resolve, reject) => {
      worker.stdout.once("data", (data: Buffer) => resolve(String(data)));
      worker.once("error", reject);
    });
    expect(said).toContain("started natural");
    await worker.terminate();
    expect(events()).toEqual(["create +0", "destroy +0"]);
  });
});
