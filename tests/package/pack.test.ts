// Issue 6.19: the published package works as a library. `npm pack` (its prepack compiles the TypeScript), then an
// offline `npm install` of the tarball into a fresh project, whose install step builds the addon and the CPU plugin
// from the shipped sources with cmake-js; then a TypeScript program, type-checked against the shipped
// declarations and compiled, runs a jitted gradient step there on `cpu`. The fresh project carries a lockfile with the versions this
// repository locks (as a consumer's lockfile would), so npm reads every dependency from its cache and never asks
// the registry.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/runtime/native.js";

const root = packageRoot();
const work = mkdtempSync(join(tmpdir(), "grpo-xla-pack-"));
const consumer = join(work, "consumer");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

afterAll(() => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_config_loglevel: "error" } });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${e.message}\n${e.stdout ?? ""}\n${(e.stderr ?? "").slice(-4000)}`);
  }
}

/** A consumer lockfile: the tarball, plus this repository's locked entry for every non-dev package. */
function consumerLock(tarball: string): object {
  const repoLock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8"));
  const integrity = `sha512-${createHash("sha512").update(readFileSync(join(consumer, tarball))).digest("base64")}`;
  const packages: Record<string, unknown> = {
    "": { name: "consumer", version: "1.0.0", dependencies: { "grpo-xla": `file:${tarball}` } },
    "node_modules/grpo-xla": {
      version: manifest.version,
      resolved: `file:${tarball}`,
      integrity,
      hasInstallScript: true,
      license: manifest.license,
      dependencies: manifest.dependencies,
      engines: manifest.engines,
      // npm links a locked package's commands from this field, as a lockfile npm wrote would carry it.
      bin: manifest.bin,
    },
  };
  for (const [path, entry] of Object.entries<Record<string, unknown>>(repoLock.packages)) {
    if (!path.startsWith("node_modules/") || entry.dev === true) continue;
    // Locked without a registry URL: name the registry tarball so npm can take it from its cache by integrity.
    const name = path.slice(path.lastIndexOf("node_modules/") + "node_modules/".length);
    const resolved = entry.resolved ?? `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${entry.version}.tgz`;
    packages[path] = { ...entry, resolved };
  }
  return { name: "consumer", version: "1.0.0", lockfileVersion: 3, requires: true, packages };
}

// A consumer's program, in TypeScript: one gradient step on cpu, and the module it runs.
const EXAMPLE = `import { type ArrayBase, closeDevices, grad, jit, np } from "grpo-xla";

const loss = (w: ArrayBase, x: ArrayBase) => np.mean(np.square(np.matmul(x, w)));
const step = jit((w: ArrayBase, x: ArrayBase) => np.subtract(w, np.multiply(grad(loss)(w, x) as ArrayBase, 0.1)), { device: "cpu" });
const w = np.array([[0.5], [-0.25]], { device: "cpu" });
const x = np.array([[1, 2], [3, 4]], { device: "cpu" });
const w2 = step(w, x);
console.log(JSON.stringify({ w2: Array.from((await w2.data()) as Float32Array), module: step.lower(w, x).stablehlo() }));
await closeDevices();
`;

describe("the npm package, packed and installed offline into a fresh project", () => {
  let files: string[] = [];
  let tarball = "";

  it("packs compiled JS, declarations and the native sources, without tests or benches", () => {
    mkdirSync(consumer);
    const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", consumer], root));
    tarball = packed[0].filename;
    files = packed[0].files.map((f: { path: string }) => f.path);
    for (const file of ["dist/src/index.js", "dist/src/index.d.ts", "dist/hlo/index.js", "CMakeLists.txt", "native/build.mjs",
      "native/cpu/plugin.cc", "native/addon/addon.cc", "native/pjrt/pjrt_c_api.h", "package.json", "README.md"]) {
      expect(files).toContain(file);
    }
    expect(files.some((f) => f.startsWith("native/cpu/engine/") && f.endsWith(".cc"))).toBe(true);
    expect(files.filter((f) => /^(tests|bench|scripts|dist\/tests|dist\/bench|native\/cpu\/tests|build)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
  }, 120_000);

  it("installs offline, building only the addon and the CPU plugin", () => {
    expect(tarball).not.toBe("");
    writeFileSync(join(consumer, "package.json"),
      JSON.stringify({ name: "consumer", version: "1.0.0", type: "module", dependencies: { "grpo-xla": `file:${tarball}` } }));
    writeFileSync(join(consumer, "package-lock.json"), JSON.stringify(consumerLock(tarball)));
    run("npm", ["install", "--offline", "--no-audit", "--no-fund"], consumer);
    const built = join(consumer, "node_modules", "grpo-xla", "build", "Release");
    const products = readdirSync(built).filter((f) => !f.startsWith(".") && !f.endsWith(".a"));
    expect(products.sort()).toEqual(["grpo_xla.node", "grpo_xla_cpu_plugin.so"]);
  }, 900_000);

  it("runs a jitted gradient step on cpu from a TypeScript program type-checked against the shipped declarations", () => {
    expect(existsSync(join(consumer, "node_modules", "grpo-xla", "build", "Release", "grpo_xla.node"))).toBe(true);
    writeFileSync(join(consumer, "example.ts"), EXAMPLE);
    // The repository's TypeScript compiles the program against node_modules/grpo-xla's .d.ts files (the consumer
    // has no @types/node); a type error fails here with tsc's message.
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    run(process.execPath, [tsc, "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
      "--lib", "es2023,esnext.disposable,dom", "--skipLibCheck", "--outDir", "out", "example.ts"], consumer);
    const result = JSON.parse(run(process.execPath, [join("out", "example.js")], consumer));
    // w - 0.1 * grad(mean((x w)^2)) = w - 0.1 * x^T (x w) with x w = [0, 0.5]: [0.5 - 0.15, -0.25 - 0.2].
    expect(result.w2[0]).toBeCloseTo(0.35, 6);
    expect(result.w2[1]).toBeCloseTo(-0.45, 6);
    expect(result.module).toContain("func.func @main(");
  }, 120_000);

  it("runs the installed command line: npx grpo-xla --help and a score on a tiny preset", () => {
    const help = run("npx", ["--offline", "grpo-xla", "--help"], consumer);
    for (const command of ["train", "generate", "score"]) expect(help).toContain(command);
    const scored = JSON.parse(run("npx", ["--offline", "grpo-xla", "score", "--preset", "tiny", "--tokens", "2,105,7", "--device", "cpu"], consumer));
    expect(scored.tokens).toEqual([2, 105, 7]);
    expect(scored.logprobs).toHaveLength(2);
    for (const value of scored.logprobs) expect(value).toBeLessThan(0);
  }, 120_000);
});
