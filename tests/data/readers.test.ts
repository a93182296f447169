import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DataError } from "../../src/data/errors.js";
import { normalizeNumber, parseGsm8kAnswer, readGsm8kJsonl } from "../../src/data/gsm8k.js";
import { readGsm8kParquet, readParquet } from "../../src/data/parquet.js";
import { readSftJsonl, toSft, writeSftJsonl } from "../../src/data/sft.js";
import { loadDataSources } from "../../src/data/source.js";
import { generateTasks } from "../../src/data/tasks.js";

const FIXTURES = new URL("fixtures/", import.meta.url).pathname;
const GSM8K_JSONL = join(FIXTURES, "gsm8k_sample.jsonl");
const GSM8K_PARQUET = join(FIXTURES, "gsm8k_sample.parquet");
const dir = mkdtempSync(join(tmpdir(), "grpo-data-"));

function writeTemp(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

function thrown(fn: () => unknown): DataError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  }
  throw new Error("expected a DataError");
}

describe("GSM8K answers", () => {
  it("splits the worked solution from the final answer and drops calculator annotations", () => {
    const parsed = parseGsm8kAnswer("She bakes 4 * 18 = <<4*18=72>>72 rolls.\n#### 72");
    expect(parsed).toEqual({ reasoning: "She bakes 4 * 18 = 72 rolls.", answer: "72" });
    expect(parseGsm8kAnswer("x <<1+1=2>>2\n#### 2", "answer", true).reasoning).toBe("x <<1+1=2>>2");
    expect(normalizeNumber("2,230")).toBe("2230");
    expect(normalizeNumber("$1,200.50")).toBe("1200.50");
    expect(normalizeNumber("-4")).toBe("-4");
    expect(normalizeNumber("12,34")).toBe("12,34");
    expect(() => parseGsm8kAnswer("no marker")).toThrow(/no final answer/);
    expect(() => parseGsm8kAnswer("steps\n####  ")).toThrow(/empty/);
  });

  it("reads the JSONL fixture with ids naming file and line", () => {
    const { items, report } = readGsm8kJsonl(GSM8K_JSONL);
    expect(report).toEqual({ rows: 8, skipped: 0, errors: [] });
    expect(items[0]!.answer).toBe("2230");
    expect(items[0]!.id).toBe(`${GSM8K_JSONL}:1`);
    expect(items[7]!.answer).toBe("-4");
    expect(items[4]!.reasoning).toBe("At first there are 9 * 14 = 126 tulips.\nAfter the storm there are 126 - 17 = 109.\nWith the new ones there are 109 + 30 = 139 tulips.");
  });

  it("reads the Parquet fixture (written by hyparquet-writer, snappy) to the same examples as the JSONL", async () => {
    const fromParquet = await readGsm8kParquet(GSM8K_PARQUET);
    const fromJsonl = readGsm8kJsonl(GSM8K_JSONL);
    expect(fromParquet.report.rows).toBe(8);
    expect(fromParquet.items.map(({ id: _, ...rest }) => rest)).toEqual(fromJsonl.items.map(({ id: _, ...rest }) => rest));
    expect(fromParquet.items[3]!.id).toBe(`${GSM8K_PARQUET}#3`);
  });

  it("names a missing Parquet column and the file on a non-Parquet input", async () => {
    await expect(readGsm8kParquet(GSM8K_PARQUET, { questionField: "problem" })).rejects.toThrow(/field "problem": no such column; the file has: question, answer/);
    await expect(readParquet(GSM8K_JSONL, (row) => row)).rejects.toThrow(/gsm8k_sample.jsonl: not a readable Parquet file/);
    await expect(readParquet(join(dir, "missing.parquet"), (row) => row)).rejects.toThrow(/missing.parquet: cannot read the file/);
  });

  it("reports a bad Parquet row by row number, or skips and counts it", async () => {
    const { items } = await readParquet(GSM8K_PARQUET, (row, where) => {
      if (where.row === 2) throw new DataError(where, "rejected by the test");
      return row;
    }, { onBadRow: "skip" });
    expect(items).toHaveLength(7);
    await expect(readGsm8kParquet(GSM8K_PARQUET, { answerField: "question" })).rejects.toThrow(/gsm8k_sample.parquet row 0 field "question": has no final answer/);
  });
});

describe("malformed JSONL rows", () => {
  const good = readFileSync(GSM8K_JSONL, "utf8").split("\n");
  const cases: [string, string, RegExp][] = [
    ["invalid JSON", "{\"question\": \"q\", ", /:3: invalid JSON/],
    ["not an object", "[1, 2]", /:3: expected a JSON object, got an array/],
    ["missing field", JSON.stringify({ question: "q" }), /:3 field "answer": missing/],
    ["wrong type", JSON.stringify({ question: ["q"], answer: "#### 1" }), /:3 field "question": expected a string, got an array/],
    ["no final answer", JSON.stringify({ question: "q", answer: "just text" }), /:3 field "answer": has no final answer/],
  ];
  for (const [name, row, message] of cases) {
    it(`${name}: an error naming file and line, or skipped and counted`, () => {
      const file = writeTemp(`${name.replace(/ /g, "_")}.jsonl`, [good[0], good[1], row, good[2], ""].join("\n"));
      expect(thrown(() => readGsm8kJsonl(file)).message).toMatch(message);
      expect(thrown(() => readGsm8kJsonl(file)).where.line).toBe(3);
      const skipped = readGsm8kJsonl(file, { onBadRow: "skip" });
      expect(skipped.items).toHaveLength(3);
      expect(skipped.report.rows).toBe(3);
      expect(skipped.report.skipped).toBe(1);
      expect(skipped.report.errors[0]!.message).toMatch(message);
      expect(skipped.items[2]!.id).toBe(`${file}:4`);
    });
  }

  it("invalid UTF-8 is reported at its line; BOM, CRLF and blank lines are accepted", () => {
    const bytes = Buffer.concat([Buffer.from(`${good[0]}\n`), Buffer.from([0x7b, 0xc3, 0x28, 0x7d, 0x0a])]);
    const file = join(dir, "bad_utf8.jsonl");
    writeFileSync(file, bytes);
    expect(thrown(() => readGsm8kJsonl(file)).message).toMatch(/:2: invalid UTF-8/);
    const crlf = writeTemp("crlf.jsonl", `\ufeff${good[0]}\r\n\r\n${good[1]}\r\n`);
    const { items } = readGsm8kJsonl(crlf);
    expect(items.map((e) => e.id)).toEqual([`${crlf}:1`, `${crlf}:3`]);
  });

  it("a missing file is a DataError naming it", () => {
    expect(thrown(() => readGsm8kJsonl(join(dir, "nope.jsonl"))).message).toMatch(/nope.jsonl: cannot read the file/);
  });
});

describe("SFT data", () => {
  it("reads prompt/reasoning/answer JSONL, numeric answers as decimal text", () => {
    const { items } = readSftJsonl(join(FIXTURES, "sft_sample.jsonl"));
    expect(items).toHaveLength(3);
    expect(items[1]).toMatchObject({ prompt: "A box has 6 rows of 4 eggs. How many eggs?", reasoning: "6 * 4 = 24.", answer: "24" });
    const bad = writeTemp("sft_bad.jsonl", `${JSON.stringify({ prompt: "p", answer: "1" })}\n`);
    expect(thrown(() => readSftJsonl(bad)).message).toMatch(/sft_bad.jsonl:1 field "reasoning": missing/);
  });

  it("writes built-in worked solutions as SFT JSONL that reads back unchanged", () => {
    const sft = generateTasks({ seed: 1, split: "train", size: 50 }).map(toSft);
    const file = join(dir, "sft_out.jsonl");
    writeSftJsonl(file, sft);
    const back = readSftJsonl(file).items;
    expect(back.map(({ id: _, ...rest }) => rest)).toEqual(sft.map(({ id: _, ...rest }) => rest));
    expect(() => toSft({ id: "x", question: "q", answer: "1" })).toThrow(/no worked solution/);
  });
});

describe("data sources from the config's data section", () => {
  const base = { path: null, evalPath: null, levels: [1, 2] as const, trainSize: 30, evalSize: 12, heldOutFraction: 0.1, onBadRow: "error" as const, seed: 4 };

  it("built-in: training tasks and disjoint held-out tasks of the requested sizes", async () => {
    const { train, eval: held, reports } = await loadDataSources({ ...base, source: "builtin" });
    expect([train.size, held.size]).toEqual([30, 12]);
    expect(train.get(0).id).toBe("builtin:train:4:0");
    expect(held.get(0).id).toBe("builtin:heldout:4:0");
    expect(reports).toEqual({});
  });

  it("built-in: evalSeed draws the held-out tasks of that seed whatever the run's seed; training keeps the run's (issue 8)", async () => {
    const questions = (d: { size: number; get(i: number): { question: string } }) => Array.from({ length: d.size }, (_, i) => d.get(i).question);
    const [four, five, fixedFour, fixedFive] = await Promise.all([
      loadDataSources({ ...base, source: "builtin" }),
      loadDataSources({ ...base, source: "builtin", seed: 5 }),
      loadDataSources({ ...base, source: "builtin", evalSeed: 9 }),
      loadDataSources({ ...base, source: "builtin", seed: 5, evalSeed: 9 }),
    ]);
    expect(questions(four.eval)).not.toEqual(questions(five.eval));
    expect(questions(fixedFour.eval)).toEqual(questions(fixedFive.eval));
    expect(questions(fixedFour.eval)).toEqual(questions((await loadDataSources({ ...base, source: "builtin", seed: 9 })).eval));
    expect(questions(fixedFour.train)).toEqual(questions(four.train));
    expect(questions(fixedFive.train)).toEqual(questions(five.train));
    expect(questions((await loadDataSources({ ...base, source: "builtin", evalSeed: null })).eval)).toEqual(questions(four.eval));
  });

  it("files: GSM8K JSONL/Parquet and SFT JSONL, with a file or built-in held-out set", async () => {
    const jsonl = await loadDataSources({ ...base, source: "gsm8k-jsonl", path: GSM8K_JSONL, evalPath: GSM8K_JSONL, evalSize: 3 });
    expect([jsonl.train.size, jsonl.eval.size]).toEqual([8, 3]);
    expect(jsonl.reports.train!.rows).toBe(8);
    const parquet = await loadDataSources({ ...base, source: "gsm8k-parquet", path: GSM8K_PARQUET });
    expect(parquet.train.get(7).answer).toBe("-4");
    expect(parquet.eval.get(0).id).toMatch(/^builtin:heldout:/);
    const sft = await loadDataSources({ ...base, source: "sft-jsonl", path: join(FIXTURES, "sft_sample.jsonl") });
    expect(sft.train.get(1)).toMatchObject({ question: "A box has 6 rows of 4 eggs. How many eggs?", reasoning: "6 * 4 = 24.", answer: "24" });
    await expect(loadDataSources({ ...base, source: "gsm8k-jsonl" })).rejects.toThrow(/data.path is required/);
  });
});
