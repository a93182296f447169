import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { crc32c, maskCrc } from "../../src/train/crc32c.js";
import { readMetricsJsonl, RunLog } from "../../src/train/metrics.js";
import { EventFileError, EventFileWriter, decodeEvents, frameRecord } from "../../src/train/tensorboard.js";
import { mutate } from "../data/mutate.js";

const bytesOf = (text: string) => new TextEncoder().encode(text);

describe("CRC-32C", () => {
  it("matches the known-answer vectors (RFC 3720 B.4 and the check value)", () => {
    expect(crc32c(bytesOf("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(0))).toBe(0);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it("masks as ((crc >>> 15) | (crc << 17)) + 0xa282ead8 modulo 2^32", () => {
    for (const crc of [0, 1, 0xe3069283, 0xffffffff, 0x80000000]) {
      const c = BigInt(crc);
      const rotated = ((c >> 15n) | (c << 17n)) & 0xffffffffn;
      expect(maskCrc(crc)).toBe(Number((rotated + 0xa282ead8n) & 0xffffffffn));
    }
  });
});

/** Reads TFRecord framing by hand (independent of readRecords). */
function records(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    const length = Number(view.getBigUint64(at, true));
    expect(view.getUint32(at + 8, true)).toBe(maskCrc(crc32c(bytes.subarray(at, at + 8))));
    const data = bytes.subarray(at + 12, at + 12 + length);
    expect(view.getUint32(at + 12 + length, true)).toBe(maskCrc(crc32c(data)));
    out.push(data);
    at += 16 + length;
  }
  expect(at).toBe(bytes.length);
  return out;
}

/** Field number and wire type of each top-level field of a protobuf message. */
function fields(data: Uint8Array): [number, number][] {
  const reader = protobuf.Reader.create(data);
  const out: [number, number][] = [];
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    out.push([tag >>> 3, tag & 7]);
    reader.skipType(tag & 7);
  }
  return out;
}

describe("TensorBoard event files", () => {
  it("frames each Event with masked CRCs and uses tensorboard's field numbers", () => {
    const dir = mkdtempSync(join(tmpdir(), "grpo-tb-"));
    const writer = new EventFileWriter(dir, () => 1_700_000_000_500);
    writer.scalars(3, { loss: 0.25, "reward/mean": -1.5 }, 1_700_000_001);
    writer.text(3, "samples/0", "<reasoning>2 + 2 = 4</reasoning><answer>4</answer>", 1_700_000_002);
    writer.close();
    expect(writer.path).toMatch(/events\.out\.tfevents\.1700000000\./);
    const raw = records(readFileSync(writer.path));
    expect(raw).toHaveLength(3);
    // Event: wall_time = 1 (double), step = 2 (varint), file_version = 3 (bytes), summary = 5 (bytes).
    expect(fields(raw[0]!)).toEqual([[1, 1], [3, 2]]);
    expect(fields(raw[1]!)).toEqual([[1, 1], [2, 0], [5, 2]]);
    const events = decodeEvents(readFileSync(writer.path), writer.path);
    expect(events[0]).toMatchObject({ wall_time: 1_700_000_000.5, file_version: "brain.Event:2" });
    expect(events[1]!.step).toBe(3);
    expect(events[1]!.summary!.value.map((v) => [v.tag, v.simple_value])).toEqual([["loss", 0.25], ["reward/mean", -1.5]]);
    const text = events[2]!.summary!.value[0]!;
    expect(text.metadata!.plugin_data!.plugin_name).toBe("text");
    expect(text.tensor!.dtype).toBe(7);
    expect(new TextDecoder().decode(text.tensor!.string_val[0])).toBe("<reasoning>2 + 2 = 4</reasoning><answer>4</answer>");
  });

  it("rejects corrupted event files with an EventFileError (2000 mutated files)", () => {
    const dir = mkdtempSync(join(tmpdir(), "grpo-tb-"));
    const writer = new EventFileWriter(dir);
    for (let step = 1; step <= 5; step++) writer.scalars(step, { loss: 1 / step });
    writer.text(5, "sample", "text");
    writer.close();
    const original = readFileSync(writer.path);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      try {
        decodeEvents(mutate(original, 3, i), "fuzz.tfevents");
      } catch (error) {
        if (!(error instanceof EventFileError)) throw new Error(`case ${i}: ${String(error)}`);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1900);
    expect(frameRecord(new Uint8Array(0))).toHaveLength(16);
  });
});

describe("RunLog", () => {
  it("writes metrics.jsonl (non-finite values kept), samples.jsonl and TensorBoard files", () => {
    const dir = mkdtempSync(join(tmpdir(), "grpo-run-"));
    let clock = 1_000_000;
    const log = new RunLog(dir, { now: () => clock });
    log.scalars(1, { loss: 0.5, kl: 0.01 });
    clock += 1000;
    log.scalars(2, { loss: Number.NaN, kl: Number.POSITIVE_INFINITY });
    log.text(2, "completion", "hello");
    log.close();
    expect(readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n")[1]).toBe('{"step":2,"time":1001,"loss":"NaN","kl":"Infinity"}');
    const back = readMetricsJsonl(join(dir, "metrics.jsonl"));
    expect(back[1]!.values.loss).toBeNaN();
    expect(back[1]!.values.kl).toBe(Number.POSITIVE_INFINITY);
    expect(JSON.parse(readFileSync(join(dir, "samples.jsonl"), "utf8"))).toEqual({ step: 2, time: 1001, tag: "completion", text: "hello" });
    const eventsFile = readdirSync(dir).find((f) => f.startsWith("events.out.tfevents."))!;
    expect(decodeEvents(readFileSync(join(dir, eventsFile)), eventsFile)).toHaveLength(4);
  });

  it("resuming at a saved pointer drops later records and restores the history", () => {
    const dir = mkdtempSync(join(tmpdir(), "grpo-run-"));
    const log = new RunLog(dir, { tensorboard: false });
    log.scalars(1, { loss: 3 });
    log.scalars(2, { loss: 2 });
    log.text(2, "sample", "kept");
    const pointer = log.pointer();
    log.scalars(3, { loss: 1 });
    log.text(3, "sample", "dropped on resume");
    log.close();
    const resumed = new RunLog(dir, { tensorboard: false, resumeAt: pointer });
    expect(resumed.history.get("loss")).toEqual([[1, 3], [2, 2]]);
    resumed.scalars(3, { loss: 1.5 });
    resumed.close();
    expect(readMetricsJsonl(join(dir, "metrics.jsonl")).map((r) => [r.step, r.values.loss])).toEqual([[1, 3], [2, 2], [3, 1.5]]);
    expect(readFileSync(join(dir, "samples.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l).text)).toEqual(["kept"]);
    expect(() => new RunLog(dir, { tensorboard: false, resumeAt: { file: "metrics.jsonl", bytes: 1e9 } })).toThrow(/cannot resume at byte/);
  });
});
