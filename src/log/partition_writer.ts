// The writer side of one partition: the only code that appends to its log. Lives in a partition
// writer worker (workers/partition_writer.ts); holds the active segment open, assigns offsets,
// appends batches as they are, keeps the sparse indexes, rolls, flushes, and publishes the tail
// in the partition state table for the acceptor.
//
// Invariant, checked where it moves: logStartOffset <= flushedOffset <= logEndOffset.

import * as fs from "node:fs";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  BASE_OFFSET,
  LAST_OFFSET_DELTA,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  readInt64,
  writeInt64,
} from "../protocol/record_batch.ts";
import { type FileHolder, OpenFiles } from "./open_files.ts";
import {
  F_FLUSHED_OFFSET,
  F_LOG_START_OFFSET,
  F_STATUS,
  type PartitionState,
  STATUS_OFFLINE,
  STATUS_ONLINE,
} from "./partition_state.ts";
import { ProducerStates } from "./producer_state.ts";
import type { ScannedSegment } from "./recovery.ts";
import { type ClosedSegment, segmentsBelowStart, segmentsToDelete } from "./retention.ts";
import { indexFile, logFile, timeIndexFile } from "./segment_files.ts";
import { SegmentIndex } from "./segment_index.ts";
import type { DeleteRecordsResult } from "./writer_protocol.ts";

export interface PartitionLogConfig {
  segmentBytes: number;
  /** Roll the active segment once it is this old (ms); 0 = never. */
  segmentMs: number;
  indexIntervalBytes: number;
  /** fsync after this many messages (Kafka's flush.messages); 0 = never by count. */
  flushMessages: number;
  /** fsync when the oldest unflushed append is this old (ms); 0 = never by time. */
  flushMs: number;
  maxMessageBytes: number;
  /** Delete closed segments whose newest record is older than this (ms); -1 = never. */
  retentionMs: number;
  /** Delete the oldest closed segments while the partition is above this size; -1 = no limit. */
  retentionBytes: number;
  /** How often retention is checked (log.retention.check.interval.ms). */
  retentionCheckIntervalMs: number;
  /** Forget an idempotent producer this long after its last batch (producer.id.expiration.ms). */
  producerIdExpirationMs: number;
}

export interface PartitionOpen {
  slot: number;
  dir: string;
  config: PartitionLogConfig;
  logStartOffset: number;
  logEndOffset: number;
  /** The last segment on disk (the active one), or null for a new partition. */
  active: ScannedSegment | null;
  /** The segments before it, oldest first. */
  closed: ClosedSegment[];
}

export interface AppendResult {
  baseOffset: number;
  position: number;
  segmentBase: number;
  maxTimestamp: number;
}

export class StorageError extends Error {
  override name = "StorageError";
}

/** Index entries buffered before one write (they are derivable, so buffering risks nothing). */
const INDEX_FLUSH_ENTRIES = 256;

/** One per writer thread unless given: every open partition's active segment files. */
const UNBOUNDED = new OpenFiles<PartitionWriter>(Number.MAX_SAFE_INTEGER);

export class PartitionWriter implements FileHolder {
  readonly slot: number;
  readonly dir: string;
  config: PartitionLogConfig;
  logStartOffset: number;
  logEndOffset: number;
  flushedOffset: number;
  offline = false;

  private fd = -1;
  private indexFd = -1;
  private timeIndexFd = -1;
  private segmentBase = 0;
  private segmentBytes = 0;
  private segmentCreatedMs = 0;
  private index!: SegmentIndex;
  private indexWritten = 0;
  private timeIndexWritten = 0;
  private unflushedMessages = 0;
  private firstUnflushedMs = 0;
  private readonly closed: ClosedSegment[];
  private lastRetentionCheckMs = 0;
  /** Idempotent producers' sequences (producer_state.ts). */
  readonly producers: ProducerStates;

  /**
   * `files` bounds the active segments this thread keeps open (log.max.open.files): a partition
   * not appended to for a while closes its three files and reopens them at its next append.
   */
  constructor(
    open: PartitionOpen,
    private readonly state: PartitionState,
    private readonly files: OpenFiles<PartitionWriter> = UNBOUNDED,
  ) {
    this.slot = open.slot;
    this.dir = open.dir;
    this.config = open.config;
    this.logStartOffset = open.logStartOffset;
    this.logEndOffset = open.logEndOffset;
    this.flushedOffset = open.logEndOffset;
    this.closed = open.closed.map((c) => ({ ...c }));
    fs.mkdirSync(this.dir, { recursive: true });
    if (open.active) {
      this.openSegment(open.active.baseOffset, open.active.bytes, SegmentIndex.from(open.active.index));
    } else {
      this.openSegment(
        open.logEndOffset,
        0,
        new SegmentIndex(open.logEndOffset, this.config.indexIntervalBytes),
      );
    }
    this.producers = ProducerStates.open(this.dir, this.logEndOffset, [
      ...this.closed.map((c) => c.baseOffset),
      this.segmentBase,
    ]);
    this.producers.expire(Date.now(), this.config.producerIdExpirationMs);
    this.state.set(this.slot, F_LOG_START_OFFSET, this.logStartOffset);
    this.state.set(this.slot, F_FLUSHED_OFFSET, this.flushedOffset);
    this.state.set(this.slot, F_STATUS, STATUS_ONLINE);
    this.publish();
  }

  /** Start a segment (its .log, .index and .timeindex exist once this returns). */
  private openSegment(base: number, bytes: number, index: SegmentIndex): void {
    this.segmentBase = base;
    this.segmentBytes = bytes;
    this.index = index;
    this.indexWritten = index.count;
    this.timeIndexWritten = index.timeCount;
    this.segmentCreatedMs = Date.now();
    this.open();
  }

  /** The active segment's files, open (reopened after the bound closed them). */
  private open(): void {
    if (this.fd >= 0) {
      this.files.touch(this);
      return;
    }
    const opened: number[] = [];
    try {
      opened.push(
        fs.openSync(logFile(this.dir, this.segmentBase), fs.constants.O_WRONLY | fs.constants.O_CREAT),
      );
      opened.push(fs.openSync(indexFile(this.dir, this.segmentBase), "a"));
      opened.push(fs.openSync(timeIndexFile(this.dir, this.segmentBase), "a"));
    } catch (e) {
      for (const fd of opened) fs.closeSync(fd);
      this.offline = true;
      this.state.set(this.slot, F_STATUS, STATUS_OFFLINE);
      throw new StorageError(`cannot open the active segment in ${this.dir}: ${(e as Error).message}`);
    }
    [this.fd, this.indexFd, this.timeIndexFd] = opened;
    this.files.touch(this);
  }

  /** FileHolder: write pending index entries and close the active segment's files. */
  closeFiles(): void {
    if (this.fd < 0) return;
    this.files.forget(this);
    if (!this.offline) this.writeIndexes();
    for (const fd of [this.fd, this.indexFd, this.timeIndexFd]) {
      try {
        fs.closeSync(fd);
      } catch {
        // closing after a failure: nothing more to lose
      }
    }
    this.fd = this.indexFd = this.timeIndexFd = -1;
  }

  private publish(): void {
    this.state.publishAppend(this.slot, this.segmentBase, this.segmentBytes, this.logEndOffset);
  }

  /**
   * Append one validated batch: assign offsets by rewriting baseOffset in place (outside the
   * CRC), write the bytes as they are, index, publish. Throws StorageError on an I/O failure,
   * after which the partition is offline.
   */
  append(batch: Buffer, nowMs: number): AppendResult {
    if (this.offline) throw new StorageError(`partition in ${this.dir} is offline after a storage error`);
    const size = batch.length;
    if (
      this.segmentBytes > 0 &&
      (this.segmentBytes + size > this.config.segmentBytes ||
        (this.config.segmentMs > 0 && nowMs - this.segmentCreatedMs >= this.config.segmentMs))
    ) {
      this.roll();
    }
    const baseOffset = this.logEndOffset;
    writeInt64(batch, BASE_OFFSET, baseOffset);
    batch.writeInt32BE(0, PARTITION_LEADER_EPOCH);
    const position = this.segmentBytes;
    this.open();
    try {
      let done = 0;
      while (done < size) done += fs.writeSync(this.fd, batch, done, size - done, position + done);
    } catch (e) {
      this.refuseOrFail(e, position);
    }
    const lastOffset = baseOffset + batch.readInt32BE(LAST_OFFSET_DELTA);
    const maxTimestamp = readInt64(batch, MAX_TIMESTAMP);
    this.segmentBytes = position + size;
    this.logEndOffset = lastOffset + 1;
    this.index.onBatch(baseOffset, position, size, maxTimestamp);
    if (this.index.count - this.indexWritten >= INDEX_FLUSH_ENTRIES) this.writeIndexes();
    if (this.unflushedMessages === 0) this.firstUnflushedMs = nowMs;
    this.unflushedMessages += lastOffset - baseOffset + 1;
    this.publish();
    return { baseOffset, position, segmentBase: this.segmentBase, maxTimestamp };
  }

  /** Whether the flush policy (flush.messages / flush.ms) asks for an fsync now. */
  flushDue(nowMs: number): boolean {
    if (this.unflushedMessages === 0) return false;
    const c = this.config;
    return (
      (c.flushMessages > 0 && this.unflushedMessages >= c.flushMessages) ||
      (c.flushMs > 0 && nowMs - this.firstUnflushedMs >= c.flushMs)
    );
  }

  get dirty(): boolean {
    return this.flushedOffset < this.logEndOffset;
  }

  /** fsync the active segment; everything appended so far becomes durable. */
  flush(): void {
    if (this.offline || !this.dirty) return;
    this.open();
    try {
      fs.fdatasyncSync(this.fd);
    } catch (e) {
      this.fail(e, -1);
    }
    if (this.flushedOffset > this.logEndOffset || this.logStartOffset > this.logEndOffset) {
      throw new Error(
        `invariant: logStartOffset ${this.logStartOffset} <= flushedOffset <= logEndOffset ${this.logEndOffset}`,
      );
    }
    this.flushedOffset = this.logEndOffset;
    this.unflushedMessages = 0;
    this.state.set(this.slot, F_FLUSHED_OFFSET, this.flushedOffset);
  }

  /** Segment is old enough to roll by time even though idle (retention of idle partitions). */
  rollDue(nowMs: number): boolean {
    return (
      this.config.segmentMs > 0 &&
      this.segmentBytes > 0 &&
      nowMs - this.segmentCreatedMs >= this.config.segmentMs
    );
  }

  roll(): void {
    this.flush();
    this.closed.push({
      baseOffset: this.segmentBase,
      bytes: this.segmentBytes,
      maxTimestamp: this.index.maxTimestamp,
      mtimeMs: Date.now(),
    });
    this.closeSegment();
    this.openSegment(
      this.logEndOffset,
      0,
      new SegmentIndex(this.logEndOffset, this.config.indexIntervalBytes),
    );
    this.publish();
  }

  /**
   * Retention (every retention.check.interval.ms): delete the closed segments wholly below the
   * log start offset (DeleteRecords moved it; normally gone already), then the oldest closed
   * segments that expired by time or size, and advance the log start offset to the first one
   * kept. Readers still holding a deleted file keep reading it until they notice the new log
   * start. Returns the number of segments deleted.
   */
  applyRetention(nowMs: number): number {
    const c = this.config;
    if (this.offline || nowMs - this.lastRetentionCheckMs < c.retentionCheckIntervalMs) return 0;
    this.lastRetentionCheckMs = nowMs;
    let deleted = this.deleteSegments(segmentsBelowStart(this.closed, this.segmentBase, this.logStartOffset));
    if (c.retentionMs < 0 && c.retentionBytes < 0) return deleted;
    for (const s of this.closed) {
      if (s.maxTimestamp < 0) {
        try {
          s.mtimeMs = fs.statSync(logFile(this.dir, s.baseOffset)).mtimeMs;
        } catch {
          // gone already: its time does not matter
        }
      }
    }
    const n = segmentsToDelete(
      this.closed,
      this.segmentBytes,
      { retentionMs: c.retentionMs, retentionBytes: c.retentionBytes },
      nowMs,
    );
    deleted += this.deleteSegments(n);
    return deleted;
  }

  /**
   * Delete the oldest `n` closed segments: the log start offset moves to the first segment kept
   * (never back: DeleteRecords may have put it inside that segment), published before the files
   * go, so a reader sees the new start before it misses a file.
   */
  private deleteSegments(n: number): number {
    if (n === 0) return 0;
    const doomed = this.closed.splice(0, n);
    const firstKept = this.closed.length > 0 ? this.closed[0].baseOffset : this.segmentBase;
    if (firstKept > this.logStartOffset) {
      this.logStartOffset = firstKept;
      this.state.set(this.slot, F_LOG_START_OFFSET, this.logStartOffset);
    }
    for (const s of doomed) {
      for (const f of [
        logFile(this.dir, s.baseOffset),
        indexFile(this.dir, s.baseOffset),
        timeIndexFile(this.dir, s.baseOffset),
      ]) {
        fs.rmSync(f, { force: true });
      }
    }
    return n;
  }

  /**
   * DeleteRecords (Kafka's UnifiedLog.maybeIncrementLogStartOffset): advance the log start
   * offset to `offset`, -1 meaning the high watermark (the log end: one replica). Past the log
   * end (or negative) OFFSET_OUT_OF_RANGE; at or below the current start nothing changes. The
   * partition is fsynced first when the new start passes what is flushed (the invariant above),
   * the start is published (fetches below it answer OFFSET_OUT_OF_RANGE from now on), and the
   * closed segments wholly below it are deleted; the one holding it stays. Throws StorageError
   * when the fsync fails (the partition is offline then). Appends sent before this op are in
   * the log already: the ring orders them.
   */
  deleteRecords(offset: number): DeleteRecordsResult {
    if (this.offline)
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, lowWatermark: -1, segmentsDeleted: 0 };
    const to = offset === -1 ? this.logEndOffset : offset;
    if (to < 0 || to > this.logEndOffset)
      return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, lowWatermark: -1, segmentsDeleted: 0 };
    let segmentsDeleted = 0;
    if (to > this.logStartOffset) {
      if (to > this.flushedOffset) this.flush();
      this.logStartOffset = to;
      this.state.set(this.slot, F_LOG_START_OFFSET, this.logStartOffset);
      segmentsDeleted = this.deleteSegments(
        segmentsBelowStart(this.closed, this.segmentBase, this.logStartOffset),
      );
    }
    return { errorCode: ErrorCode.NONE, lowWatermark: this.logStartOffset, segmentsDeleted };
  }

  private writeIndexes(): void {
    try {
      if (this.index.count > this.indexWritten) {
        fs.writeSync(this.indexFd, this.index.encodeIndex(this.indexWritten));
        this.indexWritten = this.index.count;
      }
      if (this.index.timeCount > this.timeIndexWritten) {
        fs.writeSync(this.timeIndexFd, this.index.encodeTimeIndex(this.timeIndexWritten));
        this.timeIndexWritten = this.index.timeCount;
      }
    } catch (e) {
      // Indexes are derivable: a full disk leaves the entries pending for the next try (a torn
      // entry is caught and rebuilt at start); any other error takes the partition offline.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOSPC" && code !== "EDQUOT") this.fail(e, -1);
    }
  }

  private closeSegment(): void {
    this.closeFiles();
  }

  /** Flush and close for a clean shutdown (or the partition's deletion), with the producer snapshot. */
  close(): void {
    if (!this.offline) {
      try {
        this.flush();
        this.producers.expire(Date.now(), this.config.producerIdExpirationMs);
        // Derivable from the log: when it cannot be written, the next open rebuilds it.
        this.producers.save(this.dir, this.logEndOffset);
      } catch {
        // offline now (or no snapshot): the files close below all the same
      }
    }
    this.closeFiles();
  }

  /**
   * A write failed. A full disk (ENOSPC, EDQUOT) refuses just this batch: the partial write is
   * cut back, nothing acknowledged is touched, and the next append tries again, so writes resume
   * by themselves once space returns. Any other error, or a cut that fails, takes the partition
   * offline.
   */
  private refuseOrFail(e: unknown, position: number): never {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      try {
        fs.ftruncateSync(this.fd, position);
      } catch {
        this.fail(e, -1);
      }
      throw new StorageError(`no space left for a batch in ${this.dir}: refused, nothing written`);
    }
    this.fail(e, position);
  }

  /**
   * A write or fsync failed: cut any partial write back, mark the partition offline (the acceptor
   * answers KAFKA_STORAGE_ERROR), and throw.
   */
  private fail(e: unknown, cutAt: number): never {
    if (cutAt >= 0) {
      try {
        fs.ftruncateSync(this.fd, cutAt);
      } catch {
        // the state is unknown; offline below keeps it from being served as good
      }
    }
    this.offline = true;
    this.state.set(this.slot, F_STATUS, STATUS_OFFLINE);
    throw new StorageError(`storage error in ${this.dir}: ${(e as Error).message}`);
  }
}
