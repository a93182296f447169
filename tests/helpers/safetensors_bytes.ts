// Safetensors files laid out byte by byte, independently of the writer under test.

/** u64 little-endian header length, the header text as given, then the data bytes. */
export function safetensorsBytes(header: string, data: ArrayLike<number>): Uint8Array {
  const text = Buffer.from(header, "utf8");
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}
