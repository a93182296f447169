// Loading plugins through the addon: our CPU plugin, and files that are not PJRT plugins.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAddon, nativeBuildDir } from "../../src/runtime/native.js";
import { openBackend } from "../../src/runtime/pjrt.js";
import { availableDevices, ourCpuPluginPath } from "../../src/runtime/plugins.js";
import { useCpuBackend } from "./helpers.js";

const cpu = useCpuBackend();

function findLibm(): string {
  const candidates = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6", "/usr/lib64/libm.so.6", "/lib64/libm.so.6"];
  const found = candidates.find((path) => existsSync(path));
  if (found === undefined) throw new Error("no libm.so.6 found for the not-a-plugin test");
  return found;
}

describe("the CPU plugin", () => {
  it("opens as the cpu device with one addressable device", () => {
    const backend = cpu();
    expect(backend.kind).toBe("cpu");
    expect(backend.platformName).toBe("cpu");
    expect(backend.client.addressableDevices()).toHaveLength(1);
    expect(backend.client.devices()).toHaveLength(1);
    expect(backend.device.kind).toBe("cpu");
    expect(backend.device.id).toBe(0);
    expect(backend.description).toContain(ourCpuPluginPath());
  });

  it("reports its PJRT version and attributes", () => {
    const backend = cpu();
    expect(backend.plugin.apiVersion.major).toBe(0);
    expect(backend.plugin.apiVersion.minor).toBeGreaterThanOrEqual(54);
    const attributes = backend.attributes();
    expect(attributes.plugin_name).toBe("grpo-xla-cpu");
    expect(attributes.stablehlo_current_version).toEqual([1, 13, 0]);
    expect(typeof attributes.blas).toBe("string");
    expect(backend.client.platformVersion).toContain("grpo-xla-cpu");
  });

  it("reports memory statistics", () => {
    const stats = cpu().memoryStats();
    expect(stats).toBeDefined();
    expect(stats!.bytesInUse).toBeGreaterThanOrEqual(0);
  });

  it("is listed among the available devices", () => {
    const devices = availableDevices();
    expect(devices[0]).toBe("reference");
    expect(devices).toContain("cpu");
  });

  it("loads a plugin once per path", () => {
    const addon = loadAddon();
    const again = new addon.Plugin(ourCpuPluginPath());
    expect(again.path).toBe(cpu().plugin.path);
  });
});

describe("the CPU plugin's PJRT_Api table", () => {
  // cpu_plugin_slot_check calls every slot with a bare args struct (struct_size 16) and prints one JSON line each.
  const slots = execFileSync(join(nativeBuildDir(), "cpu_plugin_slot_check"), [ourCpuPluginPath()], { encoding: "utf8" })
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { slot: number; name: string; code?: number; message?: string; null?: true });

  it("fills every slot, and every call answers instead of crashing", () => {
    expect(slots).toHaveLength(126); // slots 2..127; 0 and 1 (Error_Destroy/Message) are used by the check itself
    expect(slots.filter((slot) => slot.null)).toEqual([]);
  });

  it("answers UNIMPLEMENTED naming the function for what it lacks", () => {
    const unimplemented = slots.filter((slot) => slot.code === 12);
    expect(unimplemented.length).toBeGreaterThan(50);
    for (const slot of unimplemented) {
      expect(slot.message).toBe(`${slot.name} is not implemented by the grpo-xla CPU plugin (PJRT_Api slot ${slot.slot})`);
    }
  });

  it("implements the slots the client uses, and checks their struct_size", () => {
    const implemented = new Map(slots.filter((slot) => slot.code !== 12).map((slot) => [slot.name, slot]));
    for (const name of [
      "PJRT_Client_Create", "PJRT_Client_Compile", "PJRT_Client_BufferFromHostBuffer", "PJRT_LoadedExecutable_Execute",
      "PJRT_Buffer_ToHostBuffer", "PJRT_Device_MemoryStats", "PJRT_Event_OnReady", "PJRT_Executable_OutputDimensions",
    ]) {
      expect(implemented.get(name)?.message).toMatch(new RegExp(`^${name}: args struct_size 16 is smaller than the \\d+ bytes`));
    }
    expect(implemented.get("PJRT_Plugin_Initialize")?.code).toBe(0); // its args are just the 16-byte header
  });
});

describe("files that are not PJRT plugins", () => {
  it("rejects a missing file", () => {
    expect(() => openBackend("cpu", { pluginPath: "/nonexistent/plugin.so" })).toThrow(
      /cannot load PJRT plugin \/nonexistent\/plugin\.so: no such file/,
    );
  });

  it("rejects an executable that is not a shared library", () => {
    expect(() => openBackend("cpu", { pluginPath: "/bin/ls" })).toThrow(/cannot load PJRT plugin \/bin\/ls: it is not a loadable shared library/);
  });

  it("rejects a shared library without GetPjrtApi", () => {
    const libm = findLibm();
    expect(() => openBackend("cpu", { pluginPath: libm })).toThrow(/is not a PJRT plugin \(it does not export GetPjrtApi\)/);
  });

  it("rejects a directory", () => {
    expect(() => openBackend("cpu", { pluginPath: "/tmp" })).toThrow(/not a regular file/);
  });

  it("says how to get an absent TPU or GPU", () => {
    const saved = { tpu: process.env.TPU_LIBRARY_PATH, gpu: process.env.GRPO_XLA_GPU_PLUGIN };
    delete process.env.TPU_LIBRARY_PATH;
    delete process.env.GRPO_XLA_GPU_PLUGIN;
    try {
      if (!availableDevices().includes("tpu")) {
        expect(() => openBackend("tpu")).toThrow(/no TPU plugin found: libtpu was not found\. Looked at: .*pip install -U "jax\[tpu\]"/);
      }
      if (!availableDevices().includes("gpu")) {
        expect(() => openBackend("gpu")).toThrow(/no GPU plugin found: .*pip install -U "jax\[cuda12\]".*GRPO_XLA_GPU_PLUGIN/);
      }
    } finally {
      if (saved.tpu !== undefined) process.env.TPU_LIBRARY_PATH = saved.tpu;
      if (saved.gpu !== undefined) process.env.GRPO_XLA_GPU_PLUGIN = saved.gpu;
    }
  });

  it("names the variable a wrong GRPO_XLA_CPU_PLUGIN came from", () => {
    process.env.GRPO_XLA_CPU_PLUGIN = "/bin/ls";
    try {
      expect(() => openBackend("cpu")).toThrow(/found via GRPO_XLA_CPU_PLUGIN/);
    } finally {
      delete process.env.GRPO_XLA_CPU_PLUGIN;
    }
  });
});
