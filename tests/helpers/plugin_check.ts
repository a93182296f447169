// The semantic check of emitted modules: the cpu plugin's parser and type checker (compile, never run). mlir-opt
// runs with --allow-unregistered-dialect and sees stablehlo ops as opaque, so only this check notices an op whose
// operand and result types disagree. Each distinct module is compiled once, all of them concurrently on one
// client (the addon compiles on its own thread), and every executable is freed before returning.
import { type PjrtBackend, openBackend } from "../../src/runtime/pjrt.js";
import type { ModuleFailure, ModuleText } from "./mlir.js";

/** Compiles each distinct module text on a fresh cpu client; returns one failure per rejected module (the first
 * name a text was dumped under). */
export async function compileModules(modules: readonly ModuleText[]): Promise<ModuleFailure[]> {
  const distinct = new Map<string, string>();
  for (const m of modules) if (!distinct.has(m.text)) distinct.set(m.text, m.name);
  if (distinct.size === 0) return [];
  const backend: PjrtBackend = openBackend("cpu");
  try {
    const results = await Promise.allSettled([...distinct.keys()].map((text) => backend.compile(text)));
    const failures: ModuleFailure[] = [];
    const names = [...distinct.values()];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") r.value.dispose();
      else failures.push({ name: names[i]!, message: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    });
    return failures;
  } finally {
    backend.dispose();
  }
}

/** Throws naming every module the cpu plugin rejects, with its message and the start of the module's text. */
export async function expectModulesCompile(modules: readonly ModuleText[]): Promise<void> {
  const failures = await compileModules(modules);
  if (failures.length === 0) return;
  const byName = new Map(modules.map((m) => [m.name, m.text]));
  const report = failures
    .map((f) => `--- ${f.name}\n${f.message}\n${(byName.get(f.name) ?? "").split("\n").slice(0, 40).join("\n")}`)
    .join("\n");
  throw new Error(`${failures.length} of ${new Set(modules.map((m) => m.text)).size} distinct module(s) are rejected by the cpu plugin:\n${report}`);
}
