// Fuzzing the data readers with mutated real files: every outcome is rows or a DataError, never another exception,
// a crash or a hang.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/data/errors.js";
import { gsm8kRow } from "../../src/data/gsm8k.js";
import { parseJsonl } from "../../src/data/jsonl.js";
import { parseParquetRows } from "../../src/data/parquet.js";
import { mutate } from "./mutate.js";

const FIXTURES = new URL("fixtures/", import.meta.url);
const CASES = 3000;
const PARQUET_CASES = 2000;

describe("reader fuzzing", () => {
  it(`JSONL: ${CASES} mutated GSM8K files give rows or a DataError with a line`, () => {
    const original = readFileSync(new URL("gsm8k_sample.jsonl", FIXTURES));
    let errors = 0;
    for (let i = 0; i < CASES; i++) {
      const bytes = mutate(original, 1, i);
      const map = (row: Record<string, unknown>) => gsm8kRow(row, "x");
      try {
        parseJsonl(bytes, "fuzz.jsonl", map);
      } catch (error) {
        if (!(error instanceof DataError)) throw new Error(`case ${i}: ${String(error)}`);
        expect(error.where.line, `case ${i}`).toBeGreaterThan(0);
        errors++;
      }
      // Skipping never throws, and every row is either read or counted.
      const skipped = parseJsonl(bytes, "fuzz.jsonl", map, { onBadRow: "skip" });
      expect(skipped.items.length).toBe(skipped.report.rows);
    }
    expect(errors).toBeGreaterThan(CASES / 4);
  });

  it(`Parquet: ${PARQUET_CASES} mutated files give rows or a DataError`, async () => {
    const original = readFileSync(new URL("gsm8k_sample.parquet", FIXTURES));
    let errors = 0;
    let read = 0;
    for (let i = 0; i < PARQUET_CASES; i++) {
      const bytes = mutate(original, 2, i);
      try {
        const rows = await parseParquetRows(bytes, "fuzz.parquet", i % 2 === 0 ? ["question", "answer"] : undefined, { timeoutMs: 1500 });
        expect(Array.isArray(rows)).toBe(true);
        read++;
      } catch (error) {
        if (!(error instanceof DataError)) throw new Error(`case ${i}: ${String(error)}`);
        expect(error.message).toMatch(/^fuzz\.parquet/);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(PARQUET_CASES / 4);
    expect(read).toBeGreaterThan(0);
  });

  it("a second failure inside the decoder, after the first was answered, never reaches the caller", async () => {
    // This mutation makes the snappy decoder fail twice: one failure is the answer, the other used to arrive as an
    // 'error' event with no listener left and was thrown in the caller's thread.
    const original = readFileSync(new URL("gsm8k_sample.parquet", FIXTURES));
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on("uncaughtException", record);
    try {
      await expect(parseParquetRows(mutate(original, 2, 1838), "twice.parquet", undefined, { timeoutMs: 5000 })).rejects.toThrow(/^twice\.parquet: not a readable Parquet file/);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await parseParquetRows(original, "ok.parquet", ["answer"])).not.toHaveLength(0);
    } finally {
      process.off("uncaughtException", record);
    }
    expect(uncaught.map(String)).toEqual([]);
  });

  it("a file that makes the decoder loop times out with a DataError, and the next file decodes", async () => {
    // This mutation corrupts a run-length header into a ~2^31 run count; hyparquet 1.31 then loops for minutes.
    const original = readFileSync(new URL("gsm8k_sample.parquet", FIXTURES));
    const looping = mutate(original, 2, 1950);
    await expect(parseParquetRows(looping, "loop.parquet", undefined, { timeoutMs: 300 })).rejects.toThrow(/loop\.parquet: not a readable Parquet file \(decoder\): no result within 300 ms/);
    const rows = await parseParquetRows(original, "ok.parquet", ["answer"]);
    expect(rows).toHaveLength(8);
    expect(Object.keys(rows[0]!)).toEqual(["answer"]);
  });
});
