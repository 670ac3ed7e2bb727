// The sparse indexes of one segment, kept in memory by both sides: the writer worker appends
// entries and persists them; the acceptor mirrors them from completions to position fetches.
// One class, so both sides add the same entry for the same batch.
//
// An entry is added for a batch when more than index.interval.bytes (4096) of batches were
// appended since the previous entry (Kafka's LogSegment rule); the first batch of a segment
// needs none (position 0).
//
// .index file, one 8-byte entry per indexed batch, big-endian (as Kafka):
//   0  uint32  relativeOffset   batch baseOffset - segment baseOffset
//   4  uint32  position         byte position of the batch in the .log
//
// .timeindex file, one 12-byte entry when the segment's max timestamp grew, big-endian:
//   0  int64   timestamp        largest timestamp so far in the segment
//   8  uint32  relativeOffset   baseOffset of the batch holding it - segment baseOffset
//
// Both are derivable from the .log: a missing or inconsistent index is rebuilt at startup.

import { writeInt64 } from "../protocol/int64.ts";

export const INDEX_ENTRY_BYTES = 8;
export const TIME_INDEX_ENTRY_BYTES = 12;

export interface IndexEntryAdded {
  index: boolean;
  time: boolean;
}

export class SegmentIndex {
  /** Offset index: relative offsets and positions, ascending. */
  relOffsets = new Uint32Array(16);
  positions = new Uint32Array(16);
  count = 0;
  /** Time index: timestamps (ascending) and the relative offset of the batch holding each. */
  timestamps = new Float64Array(4);
  timeRelOffsets = new Uint32Array(4);
  timeCount = 0;
  /** Largest timestamp in the segment, -1 if none. */
  maxTimestamp = -1;
  bytesSinceEntry = 0;

  constructor(
    readonly baseOffset: number,
    readonly intervalBytes: number,
  ) {}

  /** Account for a batch appended at `position`. Reports which entries it added. */
  onBatch(
    batchBaseOffset: number,
    position: number,
    size: number,
    batchMaxTimestamp: number,
  ): IndexEntryAdded {
    const rel = batchBaseOffset - this.baseOffset;
    let index = false;
    let time = false;
    if (position > 0 && this.bytesSinceEntry > this.intervalBytes) {
      this.pushIndex(rel, position);
      this.bytesSinceEntry = 0;
      index = true;
    }
    this.bytesSinceEntry += size;
    if (batchMaxTimestamp > this.maxTimestamp) {
      this.maxTimestamp = batchMaxTimestamp;
      this.pushTime(batchMaxTimestamp, rel);
      time = true;
    }
    return { index, time };
  }

  pushIndex(rel: number, position: number): void {
    if (this.count === this.relOffsets.length) {
      this.relOffsets = grow32(this.relOffsets);
      this.positions = grow32(this.positions);
    }
    this.relOffsets[this.count] = rel;
    this.positions[this.count] = position;
    this.count++;
  }

  pushTime(timestamp: number, rel: number): void {
    if (this.timeCount === this.timestamps.length) {
      const t = new Float64Array(this.timestamps.length * 2);
      t.set(this.timestamps);
      this.timestamps = t;
      this.timeRelOffsets = grow32(this.timeRelOffsets);
    }
    this.timestamps[this.timeCount] = timestamp;
    this.timeRelOffsets[this.timeCount] = rel;
    this.timeCount++;
  }

  /** Position to start scanning for `offset`: the last indexed batch at or before it, else 0. */
  lookup(offset: number): number {
    const rel = offset - this.baseOffset;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.relOffsets[mid] <= rel) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? 0 : this.positions[found];
  }

  /**
   * Offset from which to scan for the first record with timestamp >= ts: the batch before the
   * first time entry reaching ts (entries record maxima, so earlier batches are all < ts).
   * Returns -1 when no record of the segment reaches ts.
   */
  lookupTime(ts: number): number {
    if (this.maxTimestamp < ts) return -1;
    let lo = 0;
    let hi = this.timeCount - 1;
    let first = this.timeCount;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.timestamps[mid] >= ts) {
        first = mid;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    if (first === 0) return this.baseOffset;
    return this.baseOffset + this.timeRelOffsets[first - 1];
  }

  /** Encode the offset index entries [from, count) in the .index format. */
  encodeIndex(from = 0): Buffer {
    const out = Buffer.allocUnsafe((this.count - from) * INDEX_ENTRY_BYTES);
    for (let i = from; i < this.count; i++) {
      out.writeUInt32BE(this.relOffsets[i], (i - from) * INDEX_ENTRY_BYTES);
      out.writeUInt32BE(this.positions[i], (i - from) * INDEX_ENTRY_BYTES + 4);
    }
    return out;
  }

  /** Encode the time index entries [from, timeCount) in the .timeindex format. */
  encodeTimeIndex(from = 0): Buffer {
    const out = Buffer.allocUnsafe((this.timeCount - from) * TIME_INDEX_ENTRY_BYTES);
    for (let i = from; i < this.timeCount; i++) {
      const at = (i - from) * TIME_INDEX_ENTRY_BYTES;
      writeInt64(out, at, this.timestamps[i]);
      out.writeUInt32BE(this.timeRelOffsets[i], at + 8);
    }
    return out;
  }

  /** Plain-data form for postMessage / piscina results. */
  toJSON(): SegmentIndexData {
    return {
      baseOffset: this.baseOffset,
      intervalBytes: this.intervalBytes,
      relOffsets: this.relOffsets.slice(0, this.count),
      positions: this.positions.slice(0, this.count),
      timestamps: this.timestamps.slice(0, this.timeCount),
      timeRelOffsets: this.timeRelOffsets.slice(0, this.timeCount),
      maxTimestamp: this.maxTimestamp,
      bytesSinceEntry: this.bytesSinceEntry,
    };
  }

  static from(d: SegmentIndexData): SegmentIndex {
    const s = new SegmentIndex(d.baseOffset, d.intervalBytes);
    for (let i = 0; i < d.relOffsets.length; i++) s.pushIndex(d.relOffsets[i], d.positions[i]);
    for (let i = 0; i < d.timestamps.length; i++) s.pushTime(d.timestamps[i], d.timeRelOffsets[i]);
    s.maxTimestamp = d.maxTimestamp;
    s.bytesSinceEntry = d.bytesSinceEntry;
    return s;
  }
}

export interface SegmentIndexData {
  baseOffset: number;
  intervalBytes: number;
  relOffsets: Uint32Array;
  positions: Uint32Array;
  timestamps: Float64Array;
  timeRelOffsets: Uint32Array;
  maxTimestamp: number;
  bytesSinceEntry: number;
}

function grow32(a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}
