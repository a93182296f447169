// The surroundings real plugins need (issue 10 items 3, 4 and 8): TPU chip detection from a fake sysfs tree,
// the libtpu search and its messages, TPU_SKIP_MDS_QUERY, the nvidia-* preload list, ptxas, global preloading
// through the addon, and the minimum PJRT version check.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadAddon } from "../../src/runtime/native.js";
import { openBackend } from "../../src/runtime/pjrt.js";
import {
  MIN_PJRT_MINOR,
  checkPjrtVersion,
  findLibtpu,
  findPtxas,
  libtpuCreateOptions,
  libtpuEnvironment,
  libtpuNotFoundMessage,
  nvidiaPreloadList,
  tpuChips,
} from "../../src/runtime/plugin_env.js";
import { availableDevices, findPlugin, pluginNotFoundMessage } from "../../src/runtime/plugins.js";

const scratch = mkdtempSync(join(tmpdir(), "grpo-plugin-env-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let counter = 0;
function freshDir(name: string): string {
  const path = join(scratch, `${name}-${counter++}`);
  mkdirSync(path, { recursive: true });
  return path;
}

function writeFile(path: string, text = ""): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

/** A sysfs tree with PCI devices of the given vendor ids (as sysfs writes them, newline-terminated). */
function fakeSysfs(vendors: Record<string, string>): string {
  const root = freshDir("sys");
  for (const [device, vendor] of Object.entries(vendors)) writeFile(join(root, "bus", "pci", "devices", device, "vendor"), `${vendor}\n`);
  return root;
}

const savedEnv = { ...process.env };
beforeEach(() => {
  for (const name of ["TPU_LIBRARY_PATH", "TPU_SKIP_MDS_QUERY", "GRPO_XLA_SYSFS_ROOT", "CUDA_DIR", "GRPO_XLA_GPU_PLUGIN", "VIRTUAL_ENV"]) {
    delete process.env[name];
  }
});
afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in savedEnv)) delete process.env[name];
  Object.assign(process.env, savedEnv);
});

describe("TPU chip detection (issue 10.3)", () => {
  it("finds only devices with PCI vendor 0x1ae0", () => {
    const root = fakeSysfs({ "0000:00:04.0": "0x1ae0", "0000:00:05.0": "0x1AE0", "0000:00:01.0": "0x8086", "0000:00:03.0": "0x10de" });
    expect(tpuChips(root)).toEqual(["0000:00:04.0", "0000:00:05.0"]);
  });

  it("finds none in a tree without one, or without a PCI bus at all", () => {
    expect(tpuChips(fakeSysfs({ "0000:00:01.0": "0x8086" }))).toEqual([]);
    expect(tpuChips(freshDir("empty-sys"))).toEqual([]);
  });

  it("reads GRPO_XLA_SYSFS_ROOT", () => {
    process.env.GRPO_XLA_SYSFS_ROOT = fakeSysfs({ "0000:00:04.0": "0x1ae0" });
    expect(tpuChips()).toEqual(["0000:00:04.0"]);
  });

  it("availableDevices has no tpu without a chip, even with libtpu installed", () => {
    process.env.TPU_LIBRARY_PATH = writeFile(join(freshDir("lib"), "libtpu.so"), "not really a library");
    process.env.GRPO_XLA_SYSFS_ROOT = fakeSysfs({ "0000:00:01.0": "0x8086" });
    expect(findPlugin("tpu")?.path).toBe(process.env.TPU_LIBRARY_PATH);
    expect(availableDevices()).not.toContain("tpu");
    process.env.GRPO_XLA_SYSFS_ROOT = fakeSysfs({ "0000:00:04.0": "0x1ae0" });
    expect(availableDevices()).toContain("tpu");
  });

  it("availableDevices has no tpu with a chip but no libtpu", () => {
    process.env.GRPO_XLA_SYSFS_ROOT = fakeSysfs({ "0000:00:04.0": "0x1ae0" });
    process.env.TPU_LIBRARY_PATH = join(scratch, "absent", "libtpu.so");
    expect(findPlugin("tpu")).toBeUndefined();
    expect(availableDevices()).not.toContain("tpu");
  });
});

describe("the libtpu search (issue 10.3)", () => {
  it("takes TPU_LIBRARY_PATH when the file exists", () => {
    const path = writeFile(join(freshDir("lib"), "libtpu.so"));
    process.env.TPU_LIBRARY_PATH = path;
    const site = freshDir("site");
    writeFile(join(site, "libtpu", "libtpu.so"));
    expect(findLibtpu([site], [])).toEqual({ path, source: "TPU_LIBRARY_PATH", looked: [path] });
  });

  it("falls back from a missing TPU_LIBRARY_PATH to site-packages, saying so", () => {
    const missing = join(scratch, "nowhere", "libtpu.so");
    process.env.TPU_LIBRARY_PATH = missing;
    const empty = freshDir("site-empty");
    const site = freshDir("site");
    const installed = writeFile(join(site, "libtpu", "libtpu.so"));
    const search = findLibtpu([empty, site], []);
    expect(search.path).toBe(installed);
    expect(search.source).toBe(`site-packages (${site})`);
    expect(search.looked).toEqual([missing, join(empty, "libtpu", "libtpu.so"), installed]);
    expect(search.envProblem).toBe(
      `TPU_LIBRARY_PATH=${missing} names a file that does not exist; looking in the libtpu Python package and on the loader path instead`,
    );
  });

  it("finds libtpu.so on the loader path last", () => {
    const lib = freshDir("loader");
    const path = writeFile(join(lib, "libtpu.so"));
    expect(findLibtpu([freshDir("site")], [freshDir("other"), lib])).toMatchObject({ path, source: "loader path" });
  });

  it("names every place it looked when libtpu is nowhere", () => {
    const missing = join(scratch, "nowhere", "libtpu.so");
    process.env.TPU_LIBRARY_PATH = missing;
    const site = freshDir("site");
    const lib = freshDir("loader");
    const message = libtpuNotFoundMessage(findLibtpu([site], [lib]));
    expect(message).toContain("libtpu was not found");
    expect(message).toContain(`TPU_LIBRARY_PATH=${missing} names a file that does not exist`);
    expect(message).toContain(`Looked at: ${missing}, ${join(site, "libtpu", "libtpu.so")}, ${join(lib, "libtpu.so")}.`);
    expect(message).toContain('pip install -U "jax[tpu]"');
  });

  it("openBackend('tpu') with a missing TPU_LIBRARY_PATH and no libtpu gives that message", () => {
    const missing = join(scratch, "nowhere", "libtpu.so");
    process.env.TPU_LIBRARY_PATH = missing;
    if (findPlugin("tpu") !== undefined) throw new Error(`this host has a libtpu (${findPlugin("tpu")?.path}); the test expects none`);
    expect(() => openBackend("tpu")).toThrow(pluginNotFoundMessage("tpu"));
    expect(pluginNotFoundMessage("tpu")).toContain(`TPU_LIBRARY_PATH=${missing} names a file that does not exist`);
  });

  it("sets TPU_SKIP_MDS_QUERY=1 before loading libtpu on a host without a chip", () => {
    process.env.GRPO_XLA_SYSFS_ROOT = fakeSysfs({});
    const fake = writeFile(join(freshDir("lib"), "libtpu.so"), "not a library");
    process.env.TPU_LIBRARY_PATH = fake;
    expect(() => openBackend("tpu")).toThrow(/not a loadable shared library/);
    expect(process.env.TPU_SKIP_MDS_QUERY).toBe("1");
  });

  it("leaves TPU_SKIP_MDS_QUERY alone with a chip, or when the user set it", () => {
    expect(libtpuEnvironment(0, {})).toEqual({ TPU_SKIP_MDS_QUERY: "1" });
    expect(libtpuEnvironment(4, {})).toEqual({});
    expect(libtpuEnvironment(0, { TPU_SKIP_MDS_QUERY: "0" })).toEqual({});
  });

  it("names the framework in libtpu's create options", () => {
    expect(libtpuCreateOptions("1.2.3")).toEqual({ ml_framework_name: "grpo-xla", ml_framework_version: "1.2.3" });
  });
});

describe("CUDA plugin setup (issue 10.4)", () => {
  it("lists the nvidia-* wheels' libraries in dependency order", () => {
    const site = freshDir("site");
    const files = [
      "nccl/lib/libnccl.so.2",
      "cudnn/lib/libcudnn.so.9",
      "cudnn/lib/libcudnn_graph.so.9",
      "cusolver/lib/libcusolver.so.11",
      "cusparse/lib/libcusparse.so.12",
      "cufft/lib/libcufft.so.11",
      "cublas/lib/libcublas.so.12",
      "cublas/lib/libcublasLt.so.12",
      "nvjitlink/lib/libnvJitLink.so.12",
      "cuda_nvrtc/lib/libnvrtc.so.12",
      "cuda_cupti/lib/libcupti.so.12",
      "cuda_runtime/lib/libcudart.so.12",
      "cuda_runtime/lib/__init__.py",
      "cuda_runtime/lib/libcudart.so.12.bak",
      "cuda_nvcc/bin/ptxas",
    ];
    for (const file of files) writeFile(join(site, "nvidia", file));
    const expected = [
      "cuda_runtime/lib/libcudart.so.12",
      "cuda_cupti/lib/libcupti.so.12",
      "cuda_nvrtc/lib/libnvrtc.so.12",
      "nvjitlink/lib/libnvJitLink.so.12",
      "cublas/lib/libcublasLt.so.12",
      "cublas/lib/libcublas.so.12",
      "cufft/lib/libcufft.so.11",
      "cusparse/lib/libcusparse.so.12",
      "cusolver/lib/libcusolver.so.11",
      "cudnn/lib/libcudnn.so.9",
      "cudnn/lib/libcudnn_graph.so.9",
      "nccl/lib/libnccl.so.2",
    ].map((file) => join(site, "nvidia", file));
    expect(nvidiaPreloadList([freshDir("site-without-nvidia"), site])).toEqual(expected);
    expect(nvidiaPreloadList([freshDir("site-without-nvidia")])).toEqual([]);
  });

  it("finds ptxas in the nvidia-cuda-nvcc wheel first, then CUDA_DIR, then PATH", () => {
    const site = freshDir("site");
    const cuda = freshDir("cuda");
    const bin = freshDir("bin");
    const onPath = writeFile(join(bin, "ptxas"));
    expect(findPtxas([site], { PATH: bin })).toBe(onPath);
    const inCudaDir = writeFile(join(cuda, "bin", "ptxas"));
    expect(findPtxas([site], { PATH: bin, CUDA_DIR: cuda })).toBe(inCudaDir);
    const inWheel = writeFile(join(site, "nvidia", "cuda_nvcc", "bin", "ptxas"));
    expect(findPtxas([site], { PATH: bin, CUDA_DIR: cuda })).toBe(inWheel);
  });

  it("openBackend('gpu') preloads the site-packages libraries and puts ptxas on PATH before loading the plugin", () => {
    const venv = freshDir("venv");
    const site = join(venv, "lib", "python3.11", "site-packages");
    const cudart = writeFile(join(site, "nvidia", "cuda_runtime", "lib", "libcudart.so.12"), "not a library");
    const ptxas = writeFile(join(site, "nvidia", "cuda_nvcc", "bin", "ptxas"));
    process.env.VIRTUAL_ENV = venv;
    process.env.GRPO_XLA_GPU_PLUGIN = writeFile(join(freshDir("plugin"), "xla_cuda_plugin.so"), "not a library");
    let message = "";
    try {
      openBackend("gpu");
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
    expect(message).toContain("not a loadable shared library");
    expect(message).toContain(`preloadLibrary: cannot load ${cudart}`);
    expect(process.env.PATH?.split(":")[0]).toBe(join(ptxas, ".."));
  });

  it("names the install command that brings the CUDA libraries", () => {
    expect(pluginNotFoundMessage("gpu")).toContain('pip install -U "jax[cuda12]"');
  });
});

describe("preloadLibrary (issue 10.4)", () => {
  const mapped = (path: string): boolean => readFileSync("/proc/self/maps", "utf8").includes(path);

  it("maps a library into the process", () => {
    const candidates = ["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64"]
      .flatMap((directory) => ["libanl.so.1", "libz.so.1", "libresolv.so.2"].map((name) => join(directory, name)))
      .filter((path) => existsSync(path) && !mapped(path));
    const library = candidates[0];
    if (library === undefined) throw new Error("no unmapped system library (libanl, libz, libresolv) to preload");
    loadAddon().preloadLibrary(library);
    expect(mapped(library)).toBe(true);
  });

  it("rejects a missing file, a file that is not a library and a bare name, naming the path", () => {
    const addon = loadAddon();
    const missing = join(scratch, "absent.so");
    expect(() => addon.preloadLibrary(missing)).toThrow(`preloadLibrary: cannot load ${missing}`);
    const text = writeFile(join(freshDir("lib"), "libfake.so"), "text");
    expect(() => addon.preloadLibrary(text)).toThrow(`preloadLibrary: cannot load ${text}`);
    expect(() => addon.preloadLibrary("libz.so.1")).toThrow("is not a path");
  });
});

describe("minimum PJRT C API version (issue 10.8)", () => {
  it("accepts the minimum and newer", () => {
    for (const kind of ["cpu", "gpu", "tpu"] as const) {
      expect(() => checkPjrtVersion(kind, "/p.so", { major: 0, minor: MIN_PJRT_MINOR[kind] })).not.toThrow();
      expect(() => checkPjrtVersion(kind, "/p.so", { major: 0, minor: 105 })).not.toThrow();
    }
  });

  it("rejects an older minor version, naming the plugin, both versions and the upgrade", () => {
    expect(() => checkPjrtVersion("tpu", "/opt/libtpu.so", { major: 0, minor: MIN_PJRT_MINOR.tpu - 1 })).toThrow(
      `tpu: /opt/libtpu.so implements PJRT C API 0.${MIN_PJRT_MINOR.tpu - 1}, older than the oldest grpo-xla supports ` +
        `(0.${MIN_PJRT_MINOR.tpu}): upgrade the plugin (pip install -U "jax[tpu]")`,
    );
    expect(() => checkPjrtVersion("gpu", "/x/xla_cuda_plugin.so", { major: 0, minor: 30 })).toThrow(/0\.30, older .*jax\[cuda12\]/);
  });

  it("rejects another major version", () => {
    expect(() => checkPjrtVersion("cpu", "/p.so", { major: 1, minor: 0 })).toThrow("implements PJRT C API 1.0, but grpo-xla speaks 0.x");
  });

  it("our CPU plugin passes the check", () => {
    expect(() => openBackend("cpu").dispose()).not.toThrow();
  });
});
