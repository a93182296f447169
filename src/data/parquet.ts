// Parquet files as Hugging Face datasets publishes them (snappy by default; gzip, brotli, zstd and lz4 through
// hyparquet-compressors), read with hyparquet. Any failure inside the decoder becomes a DataError naming the file;
// a bad value in a row becomes a DataError naming the file, row and column.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Example } from "./example.js";
import { DataError, type DataLocation, type ReadOptions, RowCollector } from "./errors.js";
import { type Gsm8kOptions, gsm8kRow } from "./gsm8k.js";
import type { Rows } from "./jsonl.js";
import { readSourceFile } from "./jsonl.js";

// The decoder runs in a worker thread with a time limit: on some malformed inputs hyparquet spends minutes in
// a run-length loop (a corrupted run count of ~2^31), and a reader of outside files must not hang its caller.
// The worker is plain JavaScript evaluated from this string so it loads the same way from sources and from dist.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const { pathToFileURL } = require("node:url");
// A decode can fail in two places at once (two column chunks, say): the first failure is reported below and a
// second, unawaited rejection must not end the thread with an error nobody is waiting for.
process.on("unhandledRejection", () => {});
const modules = Promise.all([
  import(pathToFileURL(workerData.hyparquet).href),
  import(pathToFileURL(workerData.compressors).href),
]);
parentPort.on("message", async ({ id, buffer, columns }) => {
  let stage = "footer";
  let schema;
  try {
    const [hyparquet, extra] = await modules;
    const metadata = hyparquet.parquetMetadata(buffer);
    schema = metadata.schema.map((e) => ({ name: String(e.name), children: Number(e.num_children ?? 0) }));
    stage = "data pages";
    const rows = await hyparquet.parquetReadObjects({ file: buffer, metadata, compressors: extra.compressors, columns });
    parentPort.postMessage({ id, schema, rows });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    parentPort.postMessage({ id, schema, error: { stage, message } });
  }
});
`;

interface SchemaEntry {
  name: string;
  children: number;
}

interface DecodeResponse {
  id: number;
  schema?: SchemaEntry[];
  rows?: Record<string, unknown>[];
  error?: { stage: string; message: string };
}

/** The top-level column names of a flattened Parquet schema (depth-first, root first). */
function topLevelColumns(schema: readonly SchemaEntry[]): string[] {
  const names: string[] = [];
  let i = 1;
  for (let field = 0; field < (schema[0]?.children ?? 0) && i < schema.length; field++) {
    names.push(schema[i]!.name);
    let pending = schema[i]!.children;
    i++;
    while (pending > 0 && i < schema.length) {
      pending += schema[i]!.children - 1;
      i++;
    }
  }
  return names;
}

/** One decoder worker, reused across files and replaced when it times out or dies. */
class ParquetDecoder {
  private worker: Worker | undefined;
  private nextId = 0;

  private start(): Worker {
    const require = createRequire(import.meta.url);
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { hyparquet: require.resolve("hyparquet"), compressors: require.resolve("hyparquet-compressors") },
    });
    // An error or exit after its request has been answered (or timed out) has no per-request listener left: without
    // these, an 'error' event would be thrown in the caller's thread. The worker is then replaced on next use.
    const retire = () => {
      if (this.worker === worker) this.worker = undefined;
    };
    worker.on("error", retire);
    worker.on("exit", retire);
    worker.unref();
    return worker;
  }

  decode(bytes: Uint8Array, columns: readonly string[] | undefined, timeoutMs: number): Promise<DecodeResponse> {
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    const buffer = new Uint8Array(bytes).buffer;
    return new Promise((resolve) => {
      const finish = (response: DecodeResponse, restart: boolean) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        if (restart && this.worker === worker) {
          this.worker = undefined;
          void worker.terminate();
        }
        resolve(response);
      };
      const onMessage = (response: DecodeResponse) => {
        if (response.id === id) finish(response, false);
      };
      const onError = (error: Error) => finish({ id, error: { stage: "decoder", message: error.message } }, true);
      const onExit = (code: number) => finish({ id, error: { stage: "decoder", message: `the decoder stopped (exit code ${code})` } }, true);
      const timer = setTimeout(() => finish({ id, error: { stage: "decoder", message: `no result within ${timeoutMs} ms` } }, true), timeoutMs);
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      worker.postMessage({ id, buffer, columns: columns ? [...columns] : undefined }, [buffer]);
    });
  }

  close(): Promise<number> | undefined {
    const worker = this.worker;
    this.worker = undefined;
    return worker?.terminate();
  }
}

const decoder = new ParquetDecoder();

/** Stops the Parquet decoder thread (it is idle-safe and unref'd; this only frees it early). */
export async function closeParquetDecoder(): Promise<void> {
  await decoder.close();
}

export interface ParquetOptions {
  /** Give up on a file whose decoding takes longer (a malformed file can make the decoder loop). Default 120 s. */
  timeoutMs?: number;
}

/** Reads Parquet bytes into plain row objects (only `columns`, when given; each must exist). */
export async function parseParquetRows(bytes: Uint8Array, file: string, columns?: readonly string[], options: ParquetOptions = {}): Promise<Record<string, unknown>[]> {
  const response = await decoder.decode(bytes, columns, options.timeoutMs ?? 120_000);
  if (response.schema && columns) {
    const present = topLevelColumns(response.schema);
    for (const column of columns) {
      if (!present.includes(column)) throw new DataError({ file, field: column }, `no such column; the file has: ${present.join(", ") || "(none)"}`);
    }
  }
  if (response.error) throw new DataError({ file }, `not a readable Parquet file (${response.error.stage}): ${response.error.message}`);
  return response.rows ?? [];
}

/** Reads a Parquet file and maps each row; bad rows follow the bad-row policy with the row number. */
export async function readParquet<T>(
  file: string,
  map: (row: Record<string, unknown>, where: DataLocation) => T,
  options: ReadOptions & ParquetOptions & { columns?: readonly string[] } = {},
): Promise<Rows<T>> {
  const rows = await parseParquetRows(readSourceFile(file), file, options.columns, options);
  const collector = new RowCollector<T>(options);
  rows.forEach((row, index) => {
    const where = { file, row: index };
    collector.add(where, () => map(row, where));
  });
  return { items: collector.items, report: collector.report };
}

/** GSM8K rows from a Parquet file (the Hugging Face `openai/gsm8k` layout: question, answer). */
export function readGsm8kParquet(file: string, options: Gsm8kOptions & ParquetOptions = {}): Promise<Rows<Example>> {
  const columns = [options.questionField ?? "question", options.answerField ?? "answer"];
  return readParquet(file, (row, where) => gsm8kRow(row, `${file}#${where.row}`, options), { ...options, columns });
}
