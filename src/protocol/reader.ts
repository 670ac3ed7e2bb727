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

export class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Throws on bytes that are not UTF-8 (a browser has it too: this module is shared). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes [at, at + n) of buf as a string; ProtocolError when they are not UTF-8. */
function utf8(buf: Buffer, at: number, n: number): string {
  // Names and ids are short and ASCII: checked and decoded without leaving JS.
  if (n <= 64) {
    let ascii = true;
    for (let i = at; i < at + n; i++) {
      if (buf[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return buf.toString("latin1", at, at + n);
  }
  try {
    return strictUtf8.decode(buf.subarray(at, at + n));
  } catch {
    throw new ProtocolError(`string of ${n} bytes at ${at} is not valid UTF-8`);
  }
}

export class Reader {
  offset: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    end = buf.length,
  ) {
    this.offset = offset;
    this.end = end;
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
    return this.buf.readInt8(this.need(1));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  /** int64 as a JS number: offsets and timestamps stay below 2^53. */
  int64(): number {
    const at = this.need(8);
    return this.buf.readInt32BE(at) * 4294967296 + this.buf.readUInt32BE(at + 4);
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
  nullableBytes(): Buffer | null {
    const n = this.int32();
    if (n < 0) return null;
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  bytes(): Buffer {
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
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.need(this.uvarint());
    }
  }
  skip(n: number): void {
    this.need(n);
  }
}
