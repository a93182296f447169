// JSON Lines: one JSON object per line. The reader works on bytes so it can name the line of any problem
// (invalid UTF-8, invalid JSON, a value that is not an object, a bad field) and apply the bad-row policy.
import { readFileSync } from "node:fs";
import { DataError, type DataLocation, type ReadOptions, type ReadReport, RowCollector, isRecord } from "./errors.js";

export interface Rows<T> {
  items: T[];
  report: ReadReport;
}

/** Reads a whole file, turning I/O failures into a DataError naming it. */
export function readSourceFile(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new DataError({ file }, `cannot read the file: ${(error as Error).message}`);
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses JSONL bytes; `map` turns each object into a record, throwing FieldError for bad fields. Blank lines
 * are ignored; a leading UTF-8 byte-order mark and CRLF line ends are accepted. */
export function parseJsonl<T>(bytes: Uint8Array, file: string, map: (row: Record<string, unknown>, where: DataLocation) => T, options: ReadOptions = {}): Rows<T> {
  const rows = new RowCollector<T>(options);
  let start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let line = 0;
  while (start < bytes.length) {
    line++;
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    const stop = end > start && bytes[end - 1] === 0x0d ? end - 1 : end;
    const where = { file, line };
    const chunk = bytes.subarray(start, stop);
    start = end + 1;
    let text: string;
    try {
      text = utf8.decode(chunk);
    } catch {
      rows.bad(new DataError(where, "invalid UTF-8"));
      continue;
    }
    if (text.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      rows.bad(new DataError(where, `invalid JSON: ${(error as Error).message}`));
      continue;
    }
    if (!isRecord(value)) {
      rows.bad(new DataError(where, `expected a JSON object, got ${Array.isArray(value) ? "an array" : JSON.stringify(value)?.slice(0, 40)}`));
      continue;
    }
    const record = value;
    rows.add(where, () => map(record, where));
  }
  return { items: rows.items, report: rows.report };
}

export function readJsonl<T>(file: string, map: (row: Record<string, unknown>, where: DataLocation) => T, options: ReadOptions = {}): Rows<T> {
  return parseJsonl(readSourceFile(file), file, map, options);
}
