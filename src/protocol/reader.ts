// Reader: a cursor over a Kafka request or response body. Big-endian fixed-width integers,
// Kafka's (nullable) strings and bytes with int16/int32 lengths, arrays with int32 counts, and the
// unsigned/zigzag varints of flexible versions and RecordBatch v2. Every read is bounds-checked:
// a short or malformed frame throws ProtocolError, which the connection turns into Kafka's
// behaviour (close the connection), never a crash.
//
// Strings must be valid UTF-8: a string decodes to exactly the characters whose UTF-8 encoding is
// its bytes, so whatever the broker echoes back (a topic name in an error answer) is never larger
// than what the client sent. (Invalid bytes would decode to U+FFFD, three bytes each: a 12,000-byte
// name of 0xFF would come back as 36,000 bytes, past the int16 length of a Kafka string.)
//
// Plain Uint8Array + DataView, no Node API: the broker, Milena's client (in Node and in browsers),
// the tests and the bench share this one.

import { utf8DecodeStrict } from "./utf8.ts";

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** The bytes [at, at + n) of buf as a string; ProtocolError when they are not UTF-8. */
function utf8(buf: Uint8Array, at: number, n: number): string {
  try {
    return utf8DecodeStrict(buf, at, at + n);
  } catch {
    throw new ProtocolError(`string of ${n} bytes at ${at} is not valid UTF-8`);
  }
}

export class Reader {
  offset: number;
  readonly end: number;
  private readonly dv: DataView;

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
    end = buf.length,
  ) {
    this.offset = offset;
    this.end = end;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): number {
    const at = this.offset;
    if (n < 0 || at + n > this.end)
      throw new ProtocolError(`need ${n} bytes at ${at}, frame ends at ${this.end}`);
    this.offset = at + n;
    return at;
  }

  int8(): number {
    return this.dv.getInt8(this.need(1));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  int16(): number {
    return this.dv.getInt16(this.need(2));
  }
  uint16(): number {
    return this.dv.getUint16(this.need(2));
  }
  int32(): number {
    return this.dv.getInt32(this.need(4));
  }
  uint32(): number {
    return this.dv.getUint32(this.need(4));
  }
  float64(): number {
    return this.dv.getFloat64(this.need(8));
  }
  /** 16 bytes (a Kafka UUID), as a view into the frame. */
  uuid(): Uint8Array {
    const at = this.need(16);
    return this.buf.subarray(at, at + 16);
  }
  /** int64 as a JS number: offsets and timestamps stay below 2^53. */
  int64(): number {
    const at = this.need(8);
    return this.dv.getInt32(at) * 4294967296 + this.dv.getUint32(at + 4);
  }

  string(): string {
    const n = this.int16();
    if (n < 0) throw new ProtocolError("null where a string is required");
    const at = this.need(n);
    return utf8(this.buf, at, n);
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const at = this.need(n);
    return utf8(this.buf, at, n);
  }
  /** Bytes as a view into the frame (no copy). */
  nullableBytes(): Uint8Array | null {
    const n = this.int32();
    if (n < 0) return null;
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  bytes(): Uint8Array {
    const b = this.nullableBytes();
    if (b === null) throw new ProtocolError("null where bytes are required");
    return b;
  }
  /** An int32-counted array; null (-1) returns null. */
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    // Each element takes at least one byte: a count beyond the frame is malformed, not an allocation.
    if (n > this.remaining) throw new ProtocolError(`array count ${n} exceeds the frame`);
    const out: T[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = item(this);
    return out;
  }
  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }

  // ---- flexible versions (KIP-482) ----
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.need(1)];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
      if (shift > 28) throw new ProtocolError("varint longer than 5 bytes");
    }
  }
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }
  /** zigzag varlong (RecordBatch records); exact up to 2^53. */
  varlong(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const b = this.buf[this.need(1)];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
      if (shift > 63) throw new ProtocolError("varlong longer than 10 bytes");
    }
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }
  compactNullableString(): string | null {
    const n = this.uvarint() - 1;
    if (n < 0) return null;
    if (n > 32767) throw new ProtocolError(`compact string of ${n} bytes exceeds 32767`);
    const at = this.need(n);
    return utf8(this.buf, at, n);
  }
  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new ProtocolError("null where a compact string is required");
    return s;
  }
  /** Skip a tagged-field section: uvarint count, then (tag uvarint, size uvarint, bytes). */
  skipTaggedFields(): void {
    const count = this.uvarint();
    if (count > this.remaining) throw new ProtocolError(`${count} tagged fields exceed the frame`);
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.need(this.uvarint());
    }
  }
  skip(n: number): void {
    this.need(n);
  }
  /**
   * An array's count: int32, or (flexible versions) uvarint N+1; null (-1) is refused, and so is
   * a count beyond the frame (each element takes at least a byte).
   */
  count(flexible: boolean): number {
    const n = flexible ? this.uvarint() - 1 : this.int32();
    if (n < 0) throw new ProtocolError("null array where one is required");
    if (n > this.remaining) throw new ProtocolError(`array count ${n} exceeds the frame`);
    return n;
  }
  /** A Reader of the next n bytes (a tagged field's), which this one skips. */
  sub(n: number): Reader {
    const at = this.need(n);
    return new Reader(this.buf, at, at + n);
  }
}
