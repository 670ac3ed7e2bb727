// Writer: builds a Kafka response (or request) body in one growable buffer. The mirror of
// Reader. A response starts with a 4-byte size hole that finishFrame() fills in, so TCP sends
// the buffer as it is and WebSocket sends it from byte 4. Record batches (produce requests) and
// fetch record sets are spliced in by reference (splice, externalBytes, externalChunks), never
// copied: chunks() lists the message as arrays, which the transports send as they are. Anything
// that reads this.buf back (a CRC over what was written) must write with raw/bytes, which copy.
//
// Plain Uint8Array + DataView, no Node API: the broker, Milena's client (in Node and in browsers),
// the tests and the bench share this one. Every write takes its offset from room() first and
// only then goes through this.buf / this.dv (room() may replace both).

import { writeInt64 } from "./int64.ts";
import { utf8Length, utf8Write } from "./utf8.ts";

export class Writer {
  buf: Uint8Array;
  private dv: DataView;
  offset = 0;
  /** Arrays spliced in by reference (fetch record sets, batches), each placed at an offset of buf. */
  private externals: { at: number; data: Uint8Array }[] = [];
  private externalLength = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.dv = new DataView(this.buf.buffer);
  }

  /**
   * Reserve n bytes and return their offset. It may replace this.buf, so callers take the offset
   * first and only then write through this.buf (never `this.buf.write...(v, this.room(n))`, which
   * reads the old buffer before growing).
   */
  private room(n: number): number {
    const at = this.offset;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.dv = new DataView(next.buffer);
    }
    this.offset = at + n;
    return at;
  }

  int8(v: number): this {
    const at = this.room(1);
    this.dv.setInt8(at, v);
    return this;
  }
  bool(v: boolean): this {
    const at = this.room(1);
    this.buf[at] = v ? 1 : 0;
    return this;
  }
  int16(v: number): this {
    const at = this.room(2);
    this.dv.setInt16(at, v);
    return this;
  }
  uint16(v: number): this {
    const at = this.room(2);
    this.dv.setUint16(at, v);
    return this;
  }
  float64(v: number): this {
    const at = this.room(8);
    this.dv.setFloat64(at, v);
    return this;
  }
  int32(v: number): this {
    const at = this.room(4);
    this.dv.setInt32(at, v);
    return this;
  }
  uint32(v: number): this {
    const at = this.room(4);
    this.dv.setUint32(at, v >>> 0);
    return this;
  }
  int64(v: number): this {
    const at = this.room(8); // first: room() may replace this.buf
    writeInt64(this.buf, at, v);
    return this;
  }
  string(s: string): this {
    const n = utf8Length(s);
    if (n > 32767) throw new RangeError(`string of ${n} bytes exceeds a Kafka string's 32767`);
    this.int16(n);
    const at = this.room(n);
    utf8Write(this.buf, at, s);
    return this;
  }
  nullableString(s: string | null): this {
    return s === null ? this.int16(-1) : this.string(s);
  }
  bytes(b: Uint8Array | null): this {
    if (b === null) return this.int32(-1);
    this.int32(b.length);
    return this.raw(b);
  }
  /** The bytes of b, by reference: b must stay unchanged until the message is sent. */
  splice(b: Uint8Array): this {
    if (b.length > 0) {
      this.externals.push({ at: this.offset, data: b });
      this.externalLength += b.length;
    }
    return this;
  }
  raw(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }
  array<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  // ---- flexible versions and RecordBatch varints ----
  uvarint(v: number): this {
    while (v >= 0x80) {
      const at = this.room(1);
      this.buf[at] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    const at = this.room(1);
    this.buf[at] = v;
    return this;
  }
  varint(v: number): this {
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  varlong(v: number): this {
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  compactString(s: string | null): this {
    if (s === null) return this.uvarint(0);
    const n = utf8Length(s);
    this.uvarint(n + 1);
    const at = this.room(n);
    utf8Write(this.buf, at, s);
    return this;
  }
  /** An array's count (or -1, null): int32, or (flexible versions) uvarint N+1. */
  count(n: number, flexible: boolean): this {
    return flexible ? this.uvarint(n + 1) : this.int32(n);
  }
  emptyTaggedFields(): this {
    return this.uvarint(0);
  }

  /**
   * Kafka bytes (int32 length + data) where the data is not copied: it is sent by reference
   * after the bytes written so far (the sendfile-style path for fetch record sets).
   */
  externalBytes(data: Uint8Array): this {
    this.int32(data.length);
    if (data.length > 0) {
      this.externals.push({ at: this.offset, data });
      this.externalLength += data.length;
    }
    return this;
  }

  /**
   * Kafka bytes made of several chunks (a fetch record set read from segment files): one int32
   * length prefix for their total, then every chunk spliced in by reference, in order.
   */
  externalChunks(list: readonly Uint8Array[], compact = false): this {
    let total = 0;
    for (let i = 0; i < list.length; i++) total += list[i].length;
    // compact (flexible versions): uvarint length + 1
    if (compact) this.uvarint(total + 1);
    else this.int32(total);
    const at = this.offset;
    for (let i = 0; i < list.length; i++) {
      const data = list[i];
      if (data.length > 0) this.externals.push({ at, data });
    }
    this.externalLength += total;
    return this;
  }

  /** Total length of the message: written bytes plus external ones. */
  get length(): number {
    return this.offset + this.externalLength;
  }

  /** The message as a list of buffers, externals in place, nothing copied. */
  chunks(): Uint8Array[] {
    if (this.externals.length === 0) return [this.buf.subarray(0, this.offset)];
    const out: Uint8Array[] = [];
    let from = 0;
    for (const e of this.externals) {
      if (e.at > from) out.push(this.buf.subarray(from, e.at));
      out.push(e.data);
      from = e.at;
    }
    if (this.offset > from) out.push(this.buf.subarray(from, this.offset));
    return out;
  }

  /** Reserve 4 bytes for a later patch (frame size, array count). */
  hole32(): number {
    return this.room(4);
  }
  patch32(at: number, v: number): void {
    this.dv.setInt32(at, v);
  }

  /** The bytes written so far (a view, valid until the next write; a copy when some are spliced). */
  view(): Uint8Array {
    if (this.externals.length === 0) return this.buf.subarray(0, this.offset);
    return concatChunks(this.chunks(), this.length); // spliced arrays joined in: a copy
  }
}

/** One array holding every chunk, in order (no copy when there is one). */
export function concatChunks(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let n = total ?? 0;
  if (total === undefined) for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
