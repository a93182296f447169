// Where PJRT plugins come from, per device kind, and which devices this machine has.
//   cpu: an explicit path, else env GRPO_XLA_CPU_PLUGIN (XLA's own CPU plugin), else ours (npm run build:native)
//   tpu: an explicit path, else TPU_LIBRARY_PATH (when the file exists), else the `libtpu` Python package, else
//        libtpu.so on the loader path; a TPU is available only on a host with a TPU chip (plugin_env.ts)
//   gpu: an explicit path, else GRPO_XLA_GPU_PLUGIN, else the jax-cuda12/13-pjrt Python package
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { addonBuilt, nativeBuildDir } from "./native.js";
import { findLibtpu, isFile, libtpuNotFoundMessage, listDirectory, tpuChips } from "./plugin_env.js";

export type PjrtDeviceKind = "cpu" | "gpu" | "tpu";
export type AvailableDevice = "reference" | PjrtDeviceKind;

export interface PluginLocation {
  path: string;
  /** How it was found, for messages: "option", "GRPO_XLA_CPU_PLUGIN", "site-packages", ... */
  source: string;
  /** Something the user should know about how it was found (a TPU_LIBRARY_PATH naming a missing file). */
  warning?: string;
}

export const OUR_CPU_PLUGIN = "grpo_xla_cpu_plugin.so";

let pythonPathCache: string[] | undefined;

/** Python's sys.path from python3 on PATH (without pip), or [] when there is no python3. */
function pythonSysPath(): string[] {
  if (pythonPathCache !== undefined) return pythonPathCache;
  pythonPathCache = [];
  try {
    const output = execFileSync("python3", ["-c", "import json, sys; print(json.dumps(sys.path))"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    const parsed: unknown = JSON.parse(output);
    if (Array.isArray(parsed)) pythonPathCache = parsed.filter((entry): entry is string => typeof entry === "string" && entry !== "");
  } catch {
    // no python3, or it failed: the globbed locations below still apply
  }
  return pythonPathCache;
}

/** site-packages / dist-packages directories where a pip-installed wheel may live. */
export function sitePackagesDirs(): string[] {
  const prefixes = [
    process.env.VIRTUAL_ENV,
    process.env.CONDA_PREFIX,
    join(homedir(), ".local"),
    "/usr/local",
    "/usr",
    "/opt/conda",
  ].filter((prefix): prefix is string => prefix !== undefined && prefix !== "");
  const found = new Set<string>();
  for (const prefix of prefixes) {
    const lib = join(prefix, "lib");
    for (const entry of listDirectory(lib)) {
      if (!/^python3(\.\d+)?$/.test(entry)) continue;
      for (const kind of ["site-packages", "dist-packages"]) {
        const candidate = join(lib, entry, kind);
        if (existsSync(candidate)) found.add(candidate);
      }
    }
  }
  for (const entry of pythonSysPath()) {
    if (/(site|dist)-packages$/.test(entry) && existsSync(entry)) found.add(entry);
  }
  return [...found];
}

function findInSitePackages(relativePaths: string[]): PluginLocation | undefined {
  for (const directory of sitePackagesDirs()) {
    for (const relative of relativePaths) {
      const path = join(directory, relative);
      if (isFile(path)) return { path, source: `site-packages (${directory})` };
    }
  }
  return undefined;
}

/** The dynamic loader's directories: LD_LIBRARY_PATH, then the usual system directories. */
export function loaderDirectories(): string[] {
  return [
    ...(process.env.LD_LIBRARY_PATH ?? "").split(delimiter).filter((entry) => entry !== ""),
    "/usr/local/lib",
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
    "/lib",
  ];
}

function fromEnv(variable: string): PluginLocation | undefined {
  const value = process.env[variable];
  return value !== undefined && value !== "" ? { path: value, source: variable } : undefined;
}

/** Our CPU plugin as built by npm run build:native. */
export function ourCpuPluginPath(): string {
  return join(nativeBuildDir(), OUR_CPU_PLUGIN);
}

/**
 * Finds the plugin for `kind`. An explicit `path` or an environment variable wins even when the file is
 * missing, so that loading it then fails with a message naming that path.
 */
export function findPlugin(kind: PjrtDeviceKind, path?: string): PluginLocation | undefined {
  if (path !== undefined) return { path, source: "option" };
  switch (kind) {
    case "cpu": {
      const fromUser = fromEnv("GRPO_XLA_CPU_PLUGIN");
      if (fromUser) return fromUser;
      const ours = ourCpuPluginPath();
      return isFile(ours) ? { path: ours, source: "grpo-xla CPU plugin" } : undefined;
    }
    case "tpu": {
      const search = findLibtpu(sitePackagesDirs(), loaderDirectories());
      if (search.path === undefined || search.source === undefined) return undefined;
      return { path: search.path, source: search.source, warning: search.envProblem };
    }
    case "gpu":
      return (
        fromEnv("GRPO_XLA_GPU_PLUGIN") ??
        findInSitePackages(["jax_plugins/xla_cuda12/xla_cuda_plugin.so", "jax_plugins/xla_cuda13/xla_cuda_plugin.so"])
      );
  }
}

/** What to do when no plugin is found for `kind`. */
export function pluginNotFoundMessage(kind: PjrtDeviceKind): string {
  switch (kind) {
    case "cpu":
      return `no CPU plugin found (${ourCpuPluginPath()} is missing): run npm run build:native (or set GRPO_XLA_CPU_PLUGIN to XLA's pjrt_c_api_cpu_plugin.so)`;
    case "tpu":
      return libtpuNotFoundMessage(findLibtpu(sitePackagesDirs(), loaderDirectories()));
    case "gpu":
      return (
        'no GPU plugin found: install XLA\'s CUDA plugin with its CUDA libraries, pip install -U "jax[cuda12]" ' +
        "(the jax-cuda12-pjrt wheel alone brings no CUDA libraries), or set GRPO_XLA_GPU_PLUGIN to xla_cuda_plugin.so"
      );
  }
}

/**
 * The devices usable here: reference always; cpu/gpu/tpu when the addon is built and their plugin file exists,
 * and tpu only on a host with a TPU chip (an installed libtpu alone is no TPU).
 */
export function availableDevices(): AvailableDevice[] {
  const devices: AvailableDevice[] = ["reference"];
  if (!addonBuilt()) return devices;
  for (const kind of ["cpu", "tpu", "gpu"] as const) {
    if (kind === "tpu" && tpuChips().length === 0) continue;
    const location = findPlugin(kind);
    if (location !== undefined && isFile(location.path)) devices.push(kind);
  }
  return devices;
}
