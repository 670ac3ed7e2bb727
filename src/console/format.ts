// How the console shows bytes from the broker: keys, values and header values as text (UTF-8),
// JSON (pretty-printed when they parse), or a hex dump; sizes, counts and times. Pure functions
// returning strings: the views put them in the page as text nodes, never as HTML.

export type ViewMode = "text" | "json" | "hex";

const decoder = new TextDecoder("utf-8", { fatal: false });

/** UTF-8 text (invalid sequences become U+FFFD); "(null)" for a null key/value. */
export function asText(bytes: Uint8Array | null): string {
  return bytes === null ? "(null)" : decoder.decode(bytes);
}

/** Pretty JSON (two-space indent) when the bytes are JSON text, else null. */
export function asJson(bytes: Uint8Array | null): string | null {
  if (bytes === null) return null;
  const text = decoder.decode(bytes).trim();
  if (text === "") return null;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return null;
  }
}

/**
 * A hex dump, 16 bytes a line: the offset (8 hex digits), the bytes, and the printable ASCII
 * ("." for the rest), as `hexdump -C` shows them. "" for no bytes, "(null)" for null.
 */
export function asHex(bytes: Uint8Array | null): string {
  if (bytes === null) return "(null)";
  const lines: string[] = [];
  for (let at = 0; at < bytes.length; at += 16) {
    const row = bytes.subarray(at, Math.min(at + 16, bytes.length));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const left = hex.slice(0, 8).join(" ");
    const right = hex.slice(8).join(" ");
    const ascii = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${at.toString(16).padStart(8, "0")}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join("\n");
}

/** Bytes shown in a mode; JSON falls back to text (with `fallback` set) when they do not parse. */
export function formatBytes(bytes: Uint8Array | null, mode: ViewMode): { text: string; fallback: boolean } {
  if (mode === "hex") return { text: asHex(bytes), fallback: false };
  if (mode === "json") {
    const json = asJson(bytes);
    if (json !== null) return { text: json, fallback: false };
    return { text: asText(bytes), fallback: bytes !== null };
  }
  return { text: asText(bytes), fallback: false };
}

/** A byte count as people read it: "0 B", "999 B", "1.5 KiB", "12.0 MiB"; "-" when unknown (< 0). */
export function formatSize(n: number): string {
  if (!Number.isFinite(n) || n < 0) return "-";
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** A retention.ms value: "forever" for -1, else days/hours/minutes/seconds/ms, the largest exact unit. */
export function formatDurationMs(value: string | null): string {
  if (value === null) return "-";
  const ms = Number(value);
  if (!Number.isFinite(ms)) return value;
  if (ms < 0) return "forever";
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
  ];
  for (const [size, name] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${name}`;
  return `${ms} ms`;
}

/** A record timestamp (ms since the epoch) as ISO-8601 UTC; "-" for none (-1). */
export function formatTimestamp(ms: number): string {
  return ms < 0 || !Number.isFinite(ms) ? "-" : new Date(ms).toISOString();
}

/**
 * Headers typed into the produce form, one "name: value" (or "name=value") a line; blank lines
 * are skipped. A line without a separator is an error naming it.
 */
export function parseHeaderLines(text: string): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const at = line.search(/[:=]/);
    if (at <= 0) throw new Error(`header line ${i + 1}: expected "name: value"`);
    out.push({ key: line.slice(0, at).trim(), value: line.slice(at + 1).trim() });
  }
  return out;
}

/** Topic configs typed into the create form, one "name=value" a line; blank lines are skipped. */
export function parseConfigLines(text: string): { name: string; value: string }[] {
  const out: { name: string; value: string }[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const at = line.indexOf("=");
    if (at <= 0) throw new Error(`config line ${i + 1}: expected name=value`);
    out.push({ name: line.slice(0, at).trim(), value: line.slice(at + 1).trim() });
  }
  return out;
}
