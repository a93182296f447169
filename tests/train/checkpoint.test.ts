import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mutate } from "../data/mutate.js";
import { CheckpointError, type CheckpointState, checkpointsDir, latestCheckpoint, loadCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";

function state(step: number): CheckpointState {
  const lora = new Float32Array(24).map((_, i) => step * 100 + i);
  return {
    step,
    rngKey: new Uint32Array([step, 0xdeadbeef]),
    dataPosition: { epoch: 1, index: step, shuffleSeed: 5, shuffle: true, size: 100 },
    config: { stage: "grpo", grpo: { G: 4 } },
    metrics: { file: "metrics.jsonl", bytes: step * 10 },
    tensors: {
      "lora.q.a": { dtype: "f32", shape: [4, 6], bytes: new Uint8Array(lora.buffer) },
      "adam.count": { dtype: "i32", shape: [], bytes: new Uint8Array(new Int32Array([step]).buffer) },
    },
    extra: { stage: "grpo" },
  };
}

function expectStep(path: string | undefined, step: number): void {
  expect(path).toBeDefined();
  const { manifest, tensors } = loadCheckpoint(path!);
  expect(manifest.step).toBe(step);
  expect(manifest.rngKey).toEqual([step, 0xdeadbeef]);
  expect(manifest.dataPosition).toEqual(state(step).dataPosition);
  expect(manifest.metrics).toEqual({ file: "metrics.jsonl", bytes: step * 10 });
  expect(Array.from(new Float32Array(tensors["lora.q.a"]!.bytes.slice().buffer))).toEqual(Array.from({ length: 24 }, (_, i) => step * 100 + i));
  expect(tensors["lora.q.a"]!.shape).toEqual([4, 6]);
  expect(new Int32Array(tensors["adam.count"]!.bytes.slice().buffer)[0]).toBe(step);
}

describe("checkpoints", () => {
  it("round-trips the training state and keeps the newest K", () => {
    const run = mkdtempSync(join(tmpdir(), "grpo-ckpt-"));
    expect(latestCheckpoint(run)).toBeUndefined();
    for (const step of [10, 20, 30, 40]) saveCheckpoint(run, state(step), { keep: 2 });
    expect(readdirSync(checkpointsDir(run)).sort()).toEqual(["step-000000030", "step-000000040"]);
    expectStep(latestCheckpoint(run), 40);
    expectStep(loadCheckpoint(run).path, 40);
    // Saving a step again replaces it.
    saveCheckpoint(run, { ...state(40), extra: { again: true } }, { keep: 2 });
    expect(loadCheckpoint(run).manifest.extra).toEqual({ again: true });
  });

  it("a crash at any point of a save leaves the previous checkpoint latest and loadable (or the new one complete)", () => {
    // Count the crash points of one save, then crash at each in turn.
    const probe = mkdtempSync(join(tmpdir(), "grpo-ckpt-"));
    saveCheckpoint(probe, state(1), { keep: 1 });
    const points: string[] = [];
    saveCheckpoint(probe, state(2), { keep: 1, onProgress: (p) => points.push(p) });
    expect(points).toEqual(["mkdir", "file:tensors.bin", "file:tensors.json", "file:manifest.json", "before-rename", "renamed", "pruned"]);
    const replacing: string[] = [];
    saveCheckpoint(probe, state(2), { keep: 1, onProgress: (p) => replacing.push(p) });
    expect(replacing).toContain("moved-old");

    for (const [resave, list] of [[false, points], [true, replacing]] as const) {
      for (const crashAt of list) {
        const run = mkdtempSync(join(tmpdir(), "grpo-ckpt-"));
        saveCheckpoint(run, state(1), { keep: 1 });
        if (resave) saveCheckpoint(run, state(2), { keep: 1 });
        const crash = new Error(`crash at ${crashAt}`);
        expect(() =>
          saveCheckpoint(run, state(2), {
            keep: 1,
            onProgress: (p) => {
              if (p === crashAt) throw crash;
            },
          }),
        ).toThrow(crash);
        const landed = crashAt === "renamed" || crashAt === "pruned";
        expectStep(latestCheckpoint(run), landed || resave ? 2 : 1);
        // The next save cleans up and succeeds.
        saveCheckpoint(run, state(3), { keep: 1 });
        expectStep(latestCheckpoint(run), 3);
        expect(readdirSync(checkpointsDir(run))).toEqual(["step-000000003"]);
      }
    }
  });

  it("detects corrupted tensors and manifests with a CheckpointError", () => {
    const run = mkdtempSync(join(tmpdir(), "grpo-ckpt-"));
    const path = saveCheckpoint(run, state(7));
    const bin = join(path, "tensors.bin");
    const good = readFileSync(bin);
    const flipped = Buffer.from(good);
    flipped[5] = flipped[5]! ^ 1;
    writeFileSync(bin, flipped);
    expect(() => loadCheckpoint(path)).toThrow(/tensors\.bin: tensor "lora\.q\.a": SHA-256 mismatch/);
    writeFileSync(bin, good.subarray(0, 50));
    expect(() => loadCheckpoint(path)).toThrow(/does not fit/);
    writeFileSync(bin, good);
    writeFileSync(join(path, "manifest.json"), "{\"format\": \"grpo-xla-checkpoint\", \"version\": 1, \"step\": 7, \"rngKey\": [-1]");
    expect(() => loadCheckpoint(path)).toThrow(CheckpointError);
    expect(latestCheckpoint(run)).toBeUndefined();
    expect(() => saveCheckpoint(run, { ...state(8), rngKey: [2 ** 32] })).toThrow(/u32/);
    expect(() => saveCheckpoint(run, { ...state(8), tensors: { x: { dtype: "f32", shape: [3], bytes: new Uint8Array(8) } } })).toThrow(/needs 12 bytes, got 8/);
  });

  it("fuzz: mutated manifest.json and tensors.json load or fail with a CheckpointError (1000 cases)", () => {
    const run = mkdtempSync(join(tmpdir(), "grpo-ckpt-"));
    const path = saveCheckpoint(run, state(5));
    for (const file of ["manifest.json", "tensors.json"]) {
      const original = readFileSync(join(path, file));
      for (let i = 0; i < 500; i++) {
        writeFileSync(join(path, file), mutate(original, file === "manifest.json" ? 5 : 6, i));
        try {
          loadCheckpoint(path);
        } catch (error) {
          if (!(error instanceof CheckpointError)) throw new Error(`${file} case ${i}: ${String(error)}`);
        }
      }
      writeFileSync(join(path, file), original);
    }
    expectStep(path, 5);
  });

  it("SIGKILL during saves never leaves a corrupt latest checkpoint", async () => {
    const run = mkdtempSync(join(tmpdir(), "grpo-ckpt-kill-"));
    const child = new URL("fixtures/checkpoint_writer.ts", import.meta.url).pathname;
    let lastSaved = 0;
    let killedMidSave = 0;
    for (const [round, delayMs] of [[0, 0], [1, 7], [2, 23]] as const) {
      const proc = spawn(process.execPath, ["--import", "tsx", child, run], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise<void>((resolve) => proc.on("exit", () => resolve()));
      await new Promise<void>((resolve, reject) => {
        let saves = 0;
        proc.stdout.on("data", (chunk: Buffer) => {
          const steps = chunk.toString().trim().split("\n").map(Number);
          lastSaved = Math.max(lastSaved, ...steps);
          saves += steps.length;
          // Kill in the middle of a later save: after 2 + round saves, plus a small delay into the next.
          if (saves >= 2 + round) setTimeout(() => { proc.kill("SIGKILL"); resolve(); }, delayMs);
        });
        proc.on("exit", (code, signal) => { if (signal !== "SIGKILL") reject(new Error(`writer exited early: ${code}`)); });
      });
      await exited;
      if (readdirSync(checkpointsDir(run)).some((name) => name.startsWith(".tmp-"))) killedMidSave++;
      const latest = latestCheckpoint(run)!;
      const { manifest, tensors } = loadCheckpoint(latest);
      expect(manifest.step).toBeGreaterThanOrEqual(lastSaved);
      expect(tensors.weights!.bytes.every((b) => b === (manifest.step & 0xff))).toBe(true);
      expect(new Float32Array(tensors.moments!.bytes.slice().buffer).every((v) => v === manifest.step)).toBe(true);
      expect(manifest.rngKey).toEqual([manifest.step, 0xffffffff - manifest.step]);
    }
    // The kills did land inside saves (a temporary folder was left), not only between them.
    expect(killedMidSave).toBeGreaterThan(0);
  });
});
