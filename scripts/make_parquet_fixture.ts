// Writes tests/data/fixtures/gsm8k_sample.parquet from gsm8k_sample.jsonl with hyparquet-writer (snappy pages,
// like the Hugging Face dataset files), so the Parquet tests read a file made by an independent writer.
// Run: npx tsx scripts/make_parquet_fixture.ts
import { readFileSync } from "node:fs";
import { parquetWriteFile } from "hyparquet-writer";

const dir = new URL("../tests/data/fixtures/", import.meta.url);
const rows = readFileSync(new URL("gsm8k_sample.jsonl", dir), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line) as { question: string; answer: string });

parquetWriteFile({
  filename: new URL("gsm8k_sample.parquet", dir).pathname,
  columnData: [
    { name: "question", data: rows.map((r) => r.question), type: "STRING" },
    { name: "answer", data: rows.map((r) => r.answer), type: "STRING" },
  ],
  codec: "SNAPPY",
});
