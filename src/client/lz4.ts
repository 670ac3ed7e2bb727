// LZ4 in plain TypeScript for the browser path: the LZ4 frame format (what Kafka's RecordBatch v2
// uses for codec 3, lz4_Frame_format.md) around LZ4 blocks, plus the xxHash32 the frame header
// checksum needs. The Node entry uses lz4-napi instead; both read each other's frames (checked
// in test/integration/client_browser.test.ts).
//
// Frame: magic 0x184D2204 (LE) | FLG | BD | [content size u64] | [dict id u32] | HC |
//        blocks: size u32 LE (bit 31 = stored uncompressed, 0 = end mark) | data | [checksum u32]
//        | [content checksum u32]
// Written here: FLG 0x60 (version 01, independent blocks, no checksums), BD 0x40 (64 KiB
// blocks), HC = (xxh32(FLG BD) >> 8) & 0xff. Read: every flag combination, linked blocks too
// (the output is one contiguous array, so a match may reach into an earlier block).
//
// The compressor is the greedy single-hash-table kind (LZ4's "fast" level): good enough for
// record batches, not a match for lz4-napi's speed.

import { read32le, xxh32 } from "../protocol/xxh32.ts";

export { xxh32 };

const BLOCK_MAX = 64 * 1024;
const MIN_MATCH = 4;
const MF_LIMIT = 12;
const LAST_LITERALS = 5;
const HASH_LOG = 14;

function hash4(seq: number): number {
  return Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
}

/** Room needed to compress n bytes in the worst case (LZ4_compressBound). */
function bound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function writeLength(dst: Uint8Array, op: number, n: number): number {
  while (n >= 255) {
    dst[op++] = 255;
    n -= 255;
  }
  dst[op++] = n;
  return op;
}

/**
 * Compress src[start, end) as one independent LZ4 block into dst at op; returns the new op.
 * `table` holds positions + 1 (0 = empty) and may carry entries of earlier blocks: a match is
 * only taken within [start, end).
 */
function compressBlock(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  op: number,
  table: Int32Array,
): number {
  let anchor = start;
  if (end - start >= MF_LIMIT + 1) {
    const mfLimit = end - MF_LIMIT;
    const matchLimit = end - LAST_LITERALS;
    let ip = start;
    let searches = 0;
    while (ip < mfLimit) {
      const seq = read32le(src, ip);
      const h = hash4(seq);
      let ref = table[h] - 1;
      table[h] = ip + 1;
      if (ref < start || ip - ref > 65535 || read32le(src, ref) !== seq) {
        ip += 1 + (searches++ >> 6);
        continue;
      }
      searches = 0;
      // extend backwards over literals already pending
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let len = MIN_MATCH;
      while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
      const litLen = ip - anchor;
      const tokenAt = op++;
      const ml = len - MIN_MATCH;
      dst[tokenAt] = (Math.min(litLen, 15) << 4) | Math.min(ml, 15);
      if (litLen >= 15) op = writeLength(dst, op, litLen - 15);
      dst.set(src.subarray(anchor, ip), op);
      op += litLen;
      const offset = ip - ref;
      dst[op++] = offset & 0xff;
      dst[op++] = offset >>> 8;
      if (ml >= 15) op = writeLength(dst, op, ml - 15);
      ip += len;
      anchor = ip;
      if (ip < mfLimit) table[hash4(read32le(src, ip - 2))] = ip - 2 + 1;
    }
  }
  const litLen = end - anchor;
  dst[op++] = Math.min(litLen, 15) << 4;
  if (litLen >= 15) op = writeLength(dst, op, litLen - 15);
  dst.set(src.subarray(anchor, end), op);
  return op + litLen;
}

/** Compress into one LZ4 frame (64 KiB independent blocks, no checksums). */
export function lz4CompressFrame(src: Uint8Array): Uint8Array {
  const blocks = Math.ceil(src.length / BLOCK_MAX);
  const dst = new Uint8Array(7 + blocks * (4 + bound(BLOCK_MAX)) + 4);
  dst[0] = 0x04;
  dst[1] = 0x22;
  dst[2] = 0x4d;
  dst[3] = 0x18;
  dst[4] = 0x60; // FLG: version 01, block independence
  dst[5] = 0x40; // BD: 64 KiB max block size
  dst[6] = (xxh32(dst, 4, 6) >>> 8) & 0xff;
  let op = 7;
  const table = new Int32Array(1 << HASH_LOG);
  for (let at = 0; at < src.length; at += BLOCK_MAX) {
    const end = Math.min(src.length, at + BLOCK_MAX);
    const sizeAt = op;
    const dataAt = op + 4;
    const after = compressBlock(src, at, end, dst, dataAt, table);
    let size = after - dataAt;
    if (size >= end - at) {
      // incompressible: store it
      size = end - at;
      dst.set(src.subarray(at, end), dataAt);
      writeLE32(dst, sizeAt, (size | 0x80000000) >>> 0);
    } else writeLE32(dst, sizeAt, size);
    op = dataAt + size;
  }
  writeLE32(dst, op, 0); // end mark
  return dst.subarray(0, op + 4);
}

function writeLE32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = v >>> 24;
}

class Out {
  buf: Uint8Array;
  n = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(capacity, 64));
  }
  ensure(extra: number): Uint8Array {
    if (this.n + extra > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.n + extra));
      next.set(this.buf.subarray(0, this.n));
      this.buf = next;
    }
    return this.buf;
  }
}

function decompressBlock(src: Uint8Array, ip: number, end: number, out: Out): void {
  while (ip < end) {
    const token = src[ip++];
    let litLen = token >>> 4;
    if (litLen === 15) {
      let b: number;
      do {
        b = src[ip++];
        litLen += b;
      } while (b === 255 && ip < end);
    }
    if (ip + litLen > end) throw new Error("lz4: literals run past the block");
    const buf = out.ensure(litLen);
    buf.set(src.subarray(ip, ip + litLen), out.n);
    out.n += litLen;
    ip += litLen;
    if (ip >= end) break; // the last sequence has literals only
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        b = src[ip++];
        len += b;
      } while (b === 255 && ip < end);
    }
    len += MIN_MATCH;
    if (offset === 0 || offset > out.n) throw new Error("lz4: match offset out of range");
    const o = out.ensure(len);
    let from = out.n - offset;
    let to = out.n;
    out.n += len;
    if (offset < 8) {
      for (const stop = to + len; to < stop; ) o[to++] = o[from++];
      continue;
    }
    // An overlapping match repeats the last `offset` bytes: copy in steps of at most `offset`.
    while (len > 0) {
      const n = Math.min(len, offset);
      o.copyWithin(to, from, from + n);
      to += n;
      from += n;
      len -= n;
    }
  }
}

/** Decompress one or more concatenated LZ4 frames (skippable frames are skipped). */
export function lz4DecompressFrame(src: Uint8Array): Uint8Array {
  const out = new Out(src.length * 3);
  let ip = 0;
  while (ip + 4 <= src.length) {
    const magic = read32le(src, ip) >>> 0;
    ip += 4;
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      ip += 4 + (read32le(src, ip) >>> 0); // skippable frame
      continue;
    }
    if (magic !== 0x184d2204) throw new Error(`lz4: bad frame magic 0x${magic.toString(16)}`);
    const flg = src[ip];
    if (flg >>> 6 !== 1) throw new Error(`lz4: unsupported frame version ${flg >>> 6}`);
    const blockChecksum = (flg & 0x10) !== 0;
    const contentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    const dictId = (flg & 0x01) !== 0;
    ip += 2; // FLG, BD
    if (contentSize) {
      const size = (read32le(src, ip) >>> 0) + (read32le(src, ip + 4) >>> 0) * 4294967296;
      out.ensure(size);
      ip += 8;
    }
    if (dictId) ip += 4;
    ip += 1; // HC (not checked: Kafka's old framing computed it wrongly)
    for (;;) {
      if (ip + 4 > src.length) throw new Error("lz4: truncated frame");
      const word = read32le(src, ip) >>> 0;
      ip += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (ip + size > src.length) throw new Error("lz4: block runs past the frame");
      if (word & 0x80000000) {
        const buf = out.ensure(size);
        buf.set(src.subarray(ip, ip + size), out.n);
        out.n += size;
      } else decompressBlock(src, ip, ip + size, out);
      ip += size + (blockChecksum ? 4 : 0);
    }
    if (contentChecksum) ip += 4;
  }
  return out.buf.subarray(0, out.n);
}
