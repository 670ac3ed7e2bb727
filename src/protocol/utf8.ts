// UTF-8 in plain TypeScript (browser-safe, shared by the broker and Milena's client): byte
// length, encode into a Uint8Array at an offset, decode a range (leniently, or strictly for what
// the broker reads from clients, reader.ts). Short strings (topic names, header keys, typical keys) are handled by plain
// loops, which beat TextEncoder/TextDecoder's per-call overhead; long ones go to TextEncoder's
// encodeInto and TextDecoder. Lone surrogates are written as U+FFFD, as TextEncoder does.

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** Throws on bytes that are not UTF-8. */
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** Bytes of `s` in UTF-8. */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // a pair: 2 UTF-16 units, 4 bytes
        bytes += 2;
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Write `s` as UTF-8 at `at` (room must be there: utf8Length(s) bytes); returns bytes written. */
export function utf8Write(buf: Uint8Array, at: number, s: string): number {
  const n = s.length;
  if (n > 64) return encoder.encodeInto(s, buf.subarray(at)).written;
  let p = at;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
      continue;
    }
    if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[p++] = 0xf0 | (c >> 18);
        buf[p++] = 0x80 | ((c >> 12) & 0x3f);
        buf[p++] = 0x80 | ((c >> 6) & 0x3f);
        buf[p++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd; // lone surrogate
    }
    buf[p++] = 0xe0 | (c >> 12);
    buf[p++] = 0x80 | ((c >> 6) & 0x3f);
    buf[p++] = 0x80 | (c & 0x3f);
  }
  return p - at;
}

/** A string as a new Uint8Array of UTF-8. */
export function utf8Encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decode bytes [start, end) of `buf` as UTF-8. */
export function utf8Decode(buf: Uint8Array, start = 0, end = buf.length): string {
  if (end - start <= 32) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(buf.subarray(start, end));
}

/** Decode bytes [start, end) of `buf` as UTF-8; throws TypeError when they are not UTF-8. */
export function utf8DecodeStrict(buf: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = "";
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return strictDecoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return strictDecoder.decode(buf.subarray(start, end));
}
