// Wall-clock durations as people write them: "8h30m", "90m", "1d2h", "45s", "1.5h", or plain seconds.

const UNIT_SECONDS: Record<string, number> = { d: 86400, h: 3600, m: 60, s: 1 };

/** Seconds in a duration string; a RangeError says what is wrong. */
export function parseDuration(text: string | number): number {
  if (typeof text === "number") {
    if (!(Number.isFinite(text) && text > 0)) throw new RangeError(`a duration must be a positive number of seconds, got ${text}`);
    return text;
  }
  const compact = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(compact)) return parseDuration(Number(compact));
  const parts = [...compact.matchAll(/(\d+(?:\.\d+)?)([dhms])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== compact) {
    throw new RangeError(`"${text}" is not a duration: write it like 8h30m, 90m, 1d2h, 45s or a number of seconds`);
  }
  const seen = new Set<string>();
  let seconds = 0;
  for (const [, amount, unit] of parts) {
    if (seen.has(unit!)) throw new RangeError(`"${text}": the unit "${unit}" appears twice`);
    seen.add(unit!);
    seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  }
  if (!(seconds > 0)) throw new RangeError(`"${text}": a duration must be longer than zero`);
  return seconds;
}

/** 30600 -> "8h30m00s", 59.4 -> "59s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--";
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h${pad(m)}m${pad(s)}s`;
  if (m > 0) return `${m}m${pad(s)}s`;
  return `${s}s`;
}
