// What a real plugin needs from its surroundings before its client is created:
//   tpu: whether this host has TPU chips (PCI vendor 0x1ae0 in sysfs), where libtpu is (and every place looked),
//        TPU_SKIP_MDS_QUERY on hosts without a chip (libtpu otherwise waits on the cloud metadata server), and the
//        framework name/version libtpu takes as client create options.
//   gpu: the CUDA libraries of the nvidia-* wheels, loaded globally before XLA's CUDA plugin (it dlopens them by
//        soname and finds none of them on a plain loader path), and ptxas for its PTX compilation.
//   all: the oldest PJRT C API minor version each plugin kind is used with.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";

/** PCI vendor id of Google's TPU chips, as sysfs writes it. */
export const TPU_PCI_VENDOR = "0x1ae0";

export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function listDirectory(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The sysfs root: GRPO_XLA_SYSFS_ROOT lets tests and containers point elsewhere. */
export function sysfsRoot(): string {
  const fromEnv = process.env.GRPO_XLA_SYSFS_ROOT;
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : "/sys";
}

/** The PCI devices of TPU chips on this host (their sysfs directory names, e.g. "0000:00:04.0"). */
export function tpuChips(root: string = sysfsRoot()): string[] {
  const devices = join(root, "bus", "pci", "devices");
  return listDirectory(devices).sort().filter((device) => {
    try {
      return readFileSync(join(devices, device, "vendor"), "utf8").trim().toLowerCase() === TPU_PCI_VENDOR;
    } catch {
      return false;
    }
  });
}

export interface LibtpuSearch {
  /** The library to load, when one was found. */
  path?: string;
  /** How it was found: "TPU_LIBRARY_PATH", "site-packages (DIR)", "loader path", "option". */
  source?: string;
  /** Every file looked at, in order. */
  looked: string[];
  /** Set when TPU_LIBRARY_PATH names a file that does not exist: said in every message about the search. */
  envProblem?: string;
}

/**
 * Finds libtpu: TPU_LIBRARY_PATH when it names an existing file, else the `libtpu` Python package, else
 * libtpu.so on the loader path. A TPU_LIBRARY_PATH naming a missing file does not stop the search (as in JAX),
 * but the result carries a message saying so, which callers show.
 */
export function findLibtpu(sitePackages: readonly string[], loaderDirectories: readonly string[]): LibtpuSearch {
  const looked: string[] = [];
  let envProblem: string | undefined;
  const fromEnv = process.env.TPU_LIBRARY_PATH;
  if (fromEnv !== undefined && fromEnv !== "") {
    looked.push(fromEnv);
    if (isFile(fromEnv)) return { path: fromEnv, source: "TPU_LIBRARY_PATH", looked };
    envProblem = `TPU_LIBRARY_PATH=${fromEnv} names a file that does not exist; looking in the libtpu Python package and on the loader path instead`;
  }
  for (const directory of sitePackages) {
    const path = join(directory, "libtpu", "libtpu.so");
    looked.push(path);
    if (isFile(path)) return { path, source: `site-packages (${directory})`, looked, envProblem };
  }
  for (const directory of loaderDirectories) {
    const path = join(directory, "libtpu.so");
    looked.push(path);
    if (isFile(path)) return { path, source: "loader path", looked, envProblem };
  }
  return { looked, envProblem };
}

export function libtpuNotFoundMessage(search: LibtpuSearch): string {
  return [
    "no TPU plugin found: libtpu was not found.",
    ...(search.envProblem !== undefined ? [search.envProblem + "."] : []),
    `Looked at: ${search.looked.length > 0 ? search.looked.join(", ") : "(nowhere: no site-packages or loader directories)"}.`,
    'Install it with pip install -U "jax[tpu]" (or pip install libtpu), or set TPU_LIBRARY_PATH to libtpu.so.',
  ].join(" ");
}

/**
 * Environment libtpu reads at load time, given the chips present. Without a chip libtpu would query the GCE
 * metadata server and wait for its timeout, so TPU_SKIP_MDS_QUERY=1 (a value the user set wins).
 */
export function libtpuEnvironment(chipCount: number, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const settings: Record<string, string> = {};
  if (chipCount === 0 && env.TPU_SKIP_MDS_QUERY === undefined) settings.TPU_SKIP_MDS_QUERY = "1";
  return settings;
}

/** Client create options libtpu takes (names as JAX's and torch_xla's clients pass them). */
export function libtpuCreateOptions(frameworkVersion: string): Record<string, string> {
  return { ml_framework_name: "grpo-xla", ml_framework_version: frameworkVersion };
}

// ------------------------------------------------------------------------------------------------ CUDA

/**
 * The nvidia-* wheel directories whose libraries XLA's CUDA plugin needs, in load order: each library's
 * dependencies come before it (cublasLt before cublas, nvjitlink before cusparse and cusolver, cudnn after cublas).
 */
const NVIDIA_PACKAGES = [
  "cuda_runtime",
  "cuda_cupti",
  "cuda_nvrtc",
  "nvjitlink",
  "cublas",
  "cufft",
  "cusparse",
  "cusolver",
  "cudnn",
  "nccl",
] as const;

// Within cublas the Lt library is a dependency of the main one; elsewhere load order within a package is by name.
function libraryOrder(a: string, b: string): number {
  const rank = (name: string): number => (name.startsWith("libcublasLt") ? 0 : 1);
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The shared libraries of the nvidia-* wheels to load before XLA's CUDA plugin, from the first site-packages
 * directory holding an `nvidia` package, in dependency order. Only versioned or plain `.so` files count.
 */
export function nvidiaPreloadList(sitePackages: readonly string[]): string[] {
  for (const directory of sitePackages) {
    const root = join(directory, "nvidia");
    if (listDirectory(root).length === 0) continue;
    const libraries: string[] = [];
    for (const name of NVIDIA_PACKAGES) {
      const lib = join(root, name, "lib");
      const files = listDirectory(lib).filter((file) => /^lib.+\.so(\.\d+)*$/.test(file) && isFile(join(lib, file)));
      libraries.push(...files.sort(libraryOrder).map((file) => join(lib, file)));
    }
    return libraries;
  }
  return [];
}

/**
 * Where ptxas is: the nvidia-cuda-nvcc wheel's bin (where XLA looks first for pip installs), then CUDA_DIR/bin,
 * then PATH, then /usr/local/cuda/bin.
 */
export function findPtxas(sitePackages: readonly string[], env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    ...sitePackages.map((directory) => join(directory, "nvidia", "cuda_nvcc", "bin")),
    ...(env.CUDA_DIR !== undefined && env.CUDA_DIR !== "" ? [join(env.CUDA_DIR, "bin")] : []),
    ...(env.PATH ?? "").split(delimiter).filter((entry) => entry !== ""),
    "/usr/local/cuda/bin",
  ];
  for (const directory of candidates) {
    const path = join(directory, "ptxas");
    if (isFile(path)) return path;
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------------ versions

/**
 * The oldest PJRT C API minor version (major 0) used per plugin kind. The addon calls table slots up to 94
 * (PJRT_Executable_Fingerprint) and declares its args structs from native/pjrt/pjrt_c_api.h (0.90); the slot order
 * up to about slot 100 has held since 0.54, and nothing older was checked. A plugin older than this may lack a
 * slot the addon calls or read a shorter args struct, so it is refused before a client exists.
 */
export const MIN_PJRT_MINOR: Record<"cpu" | "gpu" | "tpu", number> = { cpu: 54, gpu: 54, tpu: 54 };

/** Throws a message naming the plugin, its version and the oldest supported one when `minor` is too old. */
export function checkPjrtVersion(kind: "cpu" | "gpu" | "tpu", path: string, version: { major: number; minor: number }): void {
  const minimum = MIN_PJRT_MINOR[kind];
  if (version.major === 0 && version.minor >= minimum) return;
  if (version.major !== 0) {
    throw new Error(`${kind}: ${path} implements PJRT C API ${version.major}.${version.minor}, but grpo-xla speaks 0.x (0.${minimum} or newer)`);
  }
  const upgrade =
    kind === "tpu" ? 'pip install -U "jax[tpu]"' : kind === "gpu" ? 'pip install -U "jax[cuda12]"' : "a newer XLA CPU plugin";
  throw new Error(
    `${kind}: ${path} implements PJRT C API 0.${version.minor}, older than the oldest grpo-xla supports (0.${minimum}): ` +
      `upgrade the plugin (${upgrade})`,
  );
}
