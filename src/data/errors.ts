// Errors for bad input data. Every reader reports where a problem is (file and line for text formats, file and
// row for Parquet) and which field, so a user can find and fix the row.

/** Where in a source a problem was found. */
export interface DataLocation {
  file: string;
  /** 1-based line of a text file (JSONL). */
  line?: number;
  /** 0-based row of a columnar file (Parquet). */
  row?: number;
  field?: string;
}

export function formatLocation(where: DataLocation): string {
  let text = where.file;
  if (where.line !== undefined) text += `:${where.line}`;
  if (where.row !== undefined) text += ` row ${where.row}`;
  if (where.field !== undefined) text += ` field "${where.field}"`;
  return text;
}

export class DataError extends Error {
  constructor(
    readonly where: DataLocation,
    readonly detail: string,
  ) {
    super(`${formatLocation(where)}: ${detail}`);
    this.name = "DataError";
  }
}

/** A problem in one record found by a row mapper; the reader adds file and line. */
export class FieldError extends Error {
  constructor(
    readonly field: string | undefined,
    readonly detail: string,
  ) {
    super(field === undefined ? detail : `field "${field}": ${detail}`);
    this.name = "FieldError";
  }
}

/** What a reader does with a malformed row: stop with a DataError (default) or skip it and count it. */
export type BadRowPolicy = "error" | "skip";

export interface ReadOptions {
  onBadRow?: BadRowPolicy;
  /** How many skipped-row errors to keep in the report (all are counted). Default 20. */
  keepErrors?: number;
}

export interface ReadReport {
  /** Rows read successfully. */
  rows: number;
  /** Malformed rows skipped (only with onBadRow: "skip"). */
  skipped: number;
  /** The first skipped rows' errors. */
  errors: DataError[];
}

/** Collects rows and applies the bad-row policy in one place for every reader. */
export class RowCollector<T> {
  readonly items: T[] = [];
  readonly report: ReadReport = { rows: 0, skipped: 0, errors: [] };
  private readonly policy: BadRowPolicy;
  private readonly keep: number;

  constructor(options: ReadOptions = {}) {
    this.policy = options.onBadRow ?? "error";
    this.keep = options.keepErrors ?? 20;
  }

  /** Runs `map` on one row; a FieldError (or a DataError) becomes a DataError at `where`, then is thrown or
   * counted. Other exceptions are bugs and propagate. */
  add(where: DataLocation, map: () => T): void {
    try {
      this.items.push(map());
      this.report.rows++;
    } catch (error) {
      if (error instanceof FieldError) this.bad(new DataError({ ...where, field: error.field }, error.detail));
      else if (error instanceof DataError) this.bad(error);
      else throw error;
    }
  }

  bad(error: DataError): void {
    if (this.policy === "error") throw error;
    this.report.skipped++;
    if (this.report.errors.length < this.keep) this.report.errors.push(error);
  }
}

// --- field readers shared by the row mappers -----------------------------------------------------------------

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A required non-empty string field (numbers are accepted and written in decimal, since datasets mix them). */
export function stringField(row: Record<string, unknown>, name: string, options: { allowEmpty?: boolean } = {}): string {
  const value = row[name];
  if (value === undefined || value === null) throw new FieldError(name, "missing");
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else if (typeof value === "bigint") text = value.toString();
  else throw new FieldError(name, `expected a string, got ${describeValue(value)}`);
  if (!options.allowEmpty && text.trim() === "") throw new FieldError(name, "is empty");
  return text;
}

export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "binary bytes";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(String(value)).slice(0, 40)}`;
}
