// TensorBoard event files: TFRecord-framed `tensorboard.Event` protos, written with protobufjs. Only the messages
// and fields this writer uses are declared; field numbers follow tensorboard/compat/proto/{event,summary,tensor,
// tensor_shape,types}.proto. Framing per record: u64 LE length, masked CRC-32C of those 8 bytes, the data, masked
// CRC-32C of the data.
import { closeSync, fsyncSync, openSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import protobuf from "protobufjs";
import { crc32c, maskCrc } from "./crc32c.js";

const PROTO = `
syntax = "proto3";
package tensorboard;

enum DataType {
  DT_INVALID = 0;
  DT_FLOAT = 1;
  DT_STRING = 7;
}

message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}

message TensorProto {
  DataType dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5;
  repeated bytes string_val = 8;
}

message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  int32 data_class = 4;
}

message Summary {
  message Value {
    string node_name = 7;
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}

message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
`;

const root = protobuf.parse(PROTO, { keepCase: true }).root;
export const EventMessage = root.lookupType("tensorboard.Event");

/** The DataType enum values used here (types.proto). */
const DT_STRING = 7;
/** SummaryMetadata.DataClass: DATA_CLASS_TENSOR = 2 (text summaries are string tensors). */
const DATA_CLASS_TENSOR = 2;

export class EventFileError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${file}: record at byte ${offset}: ${detail}`);
    this.name = "EventFileError";
  }
}

/** One TFRecord: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(0, 8))), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskCrc(crc32c(data)), true);
  return out;
}

/** Splits TFRecord bytes into records, checking both CRCs of each; `file` names the source in errors. */
export function readRecords(bytes: Uint8Array, file: string): Uint8Array[] {
  const records: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 12) throw new EventFileError(file, at, `truncated header (${bytes.length - at} bytes left)`);
    const length = view.getBigUint64(at, true);
    if (view.getUint32(at + 8, true) !== maskCrc(crc32c(bytes.subarray(at, at + 8)))) throw new EventFileError(file, at, "length CRC mismatch");
    const remaining = BigInt(bytes.length - at - 16);
    if (length > remaining) throw new EventFileError(file, at, `length ${length} runs past the end of the file`);
    const start = at + 12;
    const end = start + Number(length);
    const data = bytes.subarray(start, end);
    if (view.getUint32(end, true) !== maskCrc(crc32c(data))) throw new EventFileError(file, at, "data CRC mismatch");
    records.push(data);
    at = end + 4;
  }
  return records;
}

export interface DecodedEvent {
  wall_time: number;
  step: number;
  file_version?: string;
  summary?: { value: { tag: string; simple_value?: number; tensor?: { dtype: number; string_val: Uint8Array[] }; metadata?: { plugin_data?: { plugin_name: string } } }[] };
}

/** Decodes an event file's records (used by tests and tools that read runs back). */
export function decodeEvents(bytes: Uint8Array, file: string): DecodedEvent[] {
  return readRecords(bytes, file).map((record, index) => {
    try {
      return EventMessage.toObject(EventMessage.decode(record), { longs: Number, defaults: true }) as DecodedEvent;
    } catch (error) {
      throw new EventFileError(file, index, `record ${index} is not an Event: ${(error as Error).message}`);
    }
  });
}

/** Appends events to `events.out.tfevents.<seconds>.<host>` in a log directory. */
export class EventFileWriter {
  readonly path: string;
  private fd: number | undefined;

  constructor(logDir: string, now: () => number = Date.now) {
    const seconds = Math.floor(now() / 1000);
    this.path = join(logDir, `events.out.tfevents.${seconds}.${hostname()}`);
    this.fd = openSync(this.path, "a");
    this.write({ wall_time: now() / 1000, step: 0, file_version: "brain.Event:2" });
  }

  private write(event: Record<string, unknown>): void {
    if (this.fd === undefined) throw new Error(`${this.path}: the event file is closed`);
    const message = EventMessage.fromObject(event);
    writeSync(this.fd, frameRecord(EventMessage.encode(message).finish()));
  }

  scalars(step: number, values: Record<string, number>, wallTime = Date.now() / 1000): void {
    const value = Object.entries(values).map(([tag, v]) => ({ tag, simple_value: v }));
    if (value.length > 0) this.write({ wall_time: wallTime, step, summary: { value } });
  }

  /** A text summary (TensorBoard's Text tab): a string tensor tagged with the "text" plugin. */
  text(step: number, tag: string, text: string, wallTime = Date.now() / 1000): void {
    this.write({
      wall_time: wallTime,
      step,
      summary: {
        value: [
          {
            tag,
            metadata: { plugin_data: { plugin_name: "text" }, data_class: DATA_CLASS_TENSOR },
            tensor: { dtype: DT_STRING, tensor_shape: {}, string_val: [new TextEncoder().encode(text)] },
          },
        ],
      },
    });
  }

  flush(): void {
    if (this.fd !== undefined) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === undefined) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
  }
}
