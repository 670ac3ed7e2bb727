// The partition state table: one SharedArrayBuffer the writers publish into and the acceptor
// reads without a message. A slot per partition, 8 float64 fields (64 bytes, one cache line):
//
//   0 logEndOffset        next offset to assign
//   1 logStartOffset      first offset still stored
//   2 activeSegmentBase   base offset of the segment being appended to
//   3 activeSegmentBytes  bytes of it written (readable up to here)
//   4 flushedOffset       offsets below this are fsynced
//   5 status              0 online, 1 offline (storage error: KAFKA_STORAGE_ERROR)
//   6 firstUnstableOffset first offset of the earliest open transaction, -1 none (the last
//                         stable offset is the high watermark or this, the lower)
//   7                     reserved
//
// and a separate Int32Array of per-slot versions. The writer stores the fields, then
// Atomics.add()s the version; the reader Atomics.load()s the version first. The atomic pair
// orders the plain float64 stores before the reads (and each aligned float64 store is one
// machine store on x64). The writer publishes activeSegmentBytes before logEndOffset, so a reader
// that saw an offset can read its bytes.

export const FIELDS_PER_SLOT = 8;
export const F_LOG_END_OFFSET = 0;
export const F_LOG_START_OFFSET = 1;
export const F_ACTIVE_SEGMENT_BASE = 2;
export const F_ACTIVE_SEGMENT_BYTES = 3;
export const F_FLUSHED_OFFSET = 4;
export const F_STATUS = 5;
export const F_FIRST_UNSTABLE_OFFSET = 6;

export const STATUS_ONLINE = 0;
export const STATUS_OFFLINE = 1;

/** Slots in the table: the most partitions one broker holds. */
export const MAX_PARTITION_SLOTS = 1 << 16;

export interface PartitionStateBuffers {
  fields: SharedArrayBuffer;
  versions: SharedArrayBuffer;
}

export function createPartitionState(slots = MAX_PARTITION_SLOTS): PartitionStateBuffers {
  return {
    fields: new SharedArrayBuffer(slots * FIELDS_PER_SLOT * 8),
    versions: new SharedArrayBuffer(slots * 4),
  };
}

export class PartitionState {
  readonly f: Float64Array;
  readonly v: Int32Array;

  constructor(b: PartitionStateBuffers) {
    this.f = new Float64Array(b.fields);
    this.v = new Int32Array(b.versions);
  }

  /** Writer side: publish after an append (bytes first, then the offset, then the version). */
  publishAppend(
    slot: number,
    activeSegmentBase: number,
    activeSegmentBytes: number,
    logEndOffset: number,
  ): void {
    const at = slot * FIELDS_PER_SLOT;
    this.f[at + F_ACTIVE_SEGMENT_BASE] = activeSegmentBase;
    this.f[at + F_ACTIVE_SEGMENT_BYTES] = activeSegmentBytes;
    this.f[at + F_LOG_END_OFFSET] = logEndOffset;
    Atomics.add(this.v, slot, 1);
  }

  set(slot: number, field: number, value: number): void {
    this.f[slot * FIELDS_PER_SLOT + field] = value;
    Atomics.add(this.v, slot, 1);
  }

  get(slot: number, field: number): number {
    Atomics.load(this.v, slot);
    return this.f[slot * FIELDS_PER_SLOT + field];
  }

  /** Read logEndOffset, then the active segment it lives in (see the ordering note above). */
  readTail(slot: number): { logEndOffset: number; activeSegmentBase: number; activeSegmentBytes: number } {
    Atomics.load(this.v, slot);
    const at = slot * FIELDS_PER_SLOT;
    const logEndOffset = this.f[at + F_LOG_END_OFFSET];
    return {
      logEndOffset,
      activeSegmentBase: this.f[at + F_ACTIVE_SEGMENT_BASE],
      activeSegmentBytes: this.f[at + F_ACTIVE_SEGMENT_BYTES],
    };
  }
}
