// ByteWriter and ByteReader: the client's browser-safe counterparts of src/protocol/writer.ts and
// reader.ts (which are built on Node's Buffer). They have the same method surface, so the shared
// API codecs (src/protocol/<api>.ts, which only import the Writer/Reader *types*) encode requests
// into a ByteWriter and decode responses from a ByteReader: `asWriter(w)` / `asReader(r)` only
// change the static type. Plain Uint8Array + DataView, no Node API.
//
// Every write takes its offset from room() first and only then goes through this.buf / this.view
// (room() may replace both). One addition: bytes() of a large array (a record batch) splices it by reference instead of
// copying, and chunks() returns the message as a list of arrays (the transports send them as
// they are: TCP writes each, WebSocket joins them into one message).

import type { Reader } from "../protocol/reader.ts";
import { ProtocolError } from "../protocol/reader.ts";
import type { Writer } from "../protocol/writer.ts";
import { utf8Decode, utf8Length, utf8Write } from "./utf8.ts";

/** Arrays at least this long passed to bytes() are spliced by reference, not copied. */
const SPLICE_BYTES = 1024;

export class ByteWriter {
  buf: Uint8Array;
  private view: DataView;
  offset = 0;
  private externals: { at: number; data: Uint8Array }[] = [];
  private externalLength = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  private room(n: number): number {
    const at = this.offset;
    if (at + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, at + n));
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.offset = at + n;
    return at;
  }

  int8(v: number): this {
    const at = this.room(1);
    this.view.setInt8(at, v);
    return this;
  }
  bool(v: boolean): this {
    const at = this.room(1);
    this.buf[at] = v ? 1 : 0;
    return this;
  }
  int16(v: number): this {
    const at = this.room(2);
    this.view.setInt16(at, v);
    return this;
  }
  int32(v: number): this {
    const at = this.room(4);
    this.view.setInt32(at, v);
    return this;
  }
  uint32(v: number): this {
    const at = this.room(4);
    this.view.setUint32(at, v >>> 0);
    return this;
  }
  int64(v: number): this {
    const at = this.room(8);
    // At or past int64's ends (2^63 - 1 reads back as 2^63): that end, as src/protocol/int64.ts.
    if (v >= 2 ** 63 || v <= -(2 ** 63)) {
      this.view.setInt32(at, v > 0 ? 0x7fffffff : -0x80000000);
      this.view.setUint32(at + 4, v > 0 ? 0xffffffff : 0);
      return this;
    }
    const hi = Math.floor(v / 4294967296);
    this.view.setInt32(at, hi);
    this.view.setUint32(at + 4, v - hi * 4294967296);
    return this;
  }
  string(s: string): this {
    const n = utf8Length(s);
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
    if (b.length >= SPLICE_BYTES) {
      this.externals.push({ at: this.offset, data: b });
      this.externalLength += b.length;
      return this;
    }
    return this.raw(b);
  }
  raw(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }
  array<T>(items: readonly T[] | null, item: (w: Writer, v: T) => void): this {
    if (items === null) return this.int32(-1);
    this.int32(items.length);
    for (const v of items) item(this as unknown as Writer, v);
    return this;
  }
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
  emptyTaggedFields(): this {
    return this.uvarint(0);
  }
  hole32(): number {
    return this.room(4);
  }
  patch32(at: number, v: number): void {
    this.view.setInt32(at, v);
  }
  /** Total length: written bytes plus spliced ones. */
  get length(): number {
    return this.offset + this.externalLength;
  }
  /** The message as a list of arrays, spliced ones in place, nothing copied. */
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
}

export class ByteReader {
  offset: number;
  readonly end: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    offset = 0,
    end = buf.length,
  ) {
    this.offset = offset;
    this.end = end;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
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
    return this.view.getInt8(this.need(1));
  }
  bool(): boolean {
    return this.buf[this.need(1)] !== 0;
  }
  int16(): number {
    return this.view.getInt16(this.need(2));
  }
  int32(): number {
    return this.view.getInt32(this.need(4));
  }
  uint32(): number {
    return this.view.getUint32(this.need(4));
  }
  int64(): number {
    const at = this.need(8);
    return this.view.getInt32(at) * 4294967296 + this.view.getUint32(at + 4);
  }
  string(): string {
    const n = this.int16();
    if (n < 0) throw new ProtocolError("null where a string is required");
    const at = this.need(n);
    return utf8Decode(this.buf, at, at + n);
  }
  nullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const at = this.need(n);
    return utf8Decode(this.buf, at, at + n);
  }
  /** A view into the frame, no copy. */
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
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.int32();
    if (n < 0) return null;
    if (n > this.remaining) throw new ProtocolError(`array count ${n} exceeds the frame`);
    const out: T[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = item(this as unknown as Reader);
    return out;
  }
  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }
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
    const at = this.need(n);
    return utf8Decode(this.buf, at, at + n);
  }
  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new ProtocolError("null where a compact string is required");
    return s;
  }
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

/** A ByteWriter typed as the shared codecs' Writer (same methods; see the file comment). */
export function asWriter(w: ByteWriter): Writer {
  return w as unknown as Writer;
}

/** A ByteReader typed as the shared codecs' Reader (same methods; see the file comment). */
export function asReader(r: ByteReader): Reader {
  return r as unknown as Reader;
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
