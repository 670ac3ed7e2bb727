// The writer side of one partition: the only code that appends to its log. Lives in a partition
// writer worker (workers/partition_writer.ts); holds the active segment open, assigns offsets,
// appends batches as they are, keeps the sparse indexes, rolls, flushes, and publishes the tail
// in the partition state table for the acceptor.
//
// Replication (Kafka's UnifiedLog, as a follower and a leader see it):
//   leader epochs   every appended batch carries the partition's leader epoch in its
//                   partitionLeaderEpoch field (outside the CRC): the epoch becomeLeader gave, or,
//                   for a partition never told, the latest epoch of its cache or 0 (a single
//                   broker writes 0, as before). The cache (leader_epochs.ts) gets an entry
//                   before the first batch of a new epoch is written.
//   appendReplica   a follower's copy of its leader's batches: appended unchanged (offsets and
//                   epochs as the leader stored them), from the log end on (offsets grow; a
//                   compacted leader's log has gaps, kept as they are).
//   truncateTo      Kafka's truncateTo: cut the log back (a follower whose log diverged);
//                   truncateFullyAndStartAt: empty it and restart it at an offset.
//
// Invariant, checked where it moves: logStartOffset <= flushedOffset <= logEndOffset.

import * as fs from "node:fs";
import { join } from "node:path";
import { encodeMarkerBatch } from "../protocol/control_records.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  PARTITION_LEADER_EPOCH,
  PRODUCER_ID,
  readInt64,
  storedBatchIntact,
  writeInt64,
} from "../protocol/record_batch.ts";
import type { CleanedGroup } from "./cleaner.ts";
import { discardCleaned, swapCleanedGroup } from "./cleaner_swap.ts";
import { LEADER_EPOCH_CHECKPOINT, LeaderEpochFileCache } from "./leader_epochs.ts";
import { type FileHolder, OpenFiles } from "./open_files.ts";
import {
  F_FIRST_UNSTABLE_OFFSET,
  F_FLUSHED_OFFSET,
  F_LOG_START_OFFSET,
  F_STATUS,
  type PartitionState,
  STATUS_OFFLINE,
  STATUS_ONLINE,
} from "./partition_state.ts";
import { PartitionTxnState, TXN_SNAPSHOT_FILE } from "./partition_txn_state.ts";
import { ProducerStates, SNAPSHOT_FILE } from "./producer_state.ts";
import { loadIndexes, type ScannedSegment } from "./recovery.ts";
import { type ClosedSegment, segmentsBelowStart, segmentsToDelete } from "./retention.ts";
import { indexFile, logFile, timeIndexFile } from "./segment_files.ts";
import { INDEX_ENTRY_BYTES, SegmentIndex } from "./segment_index.ts";
import { type CompletedTxn, txnBatchHeader } from "./transactions.ts";
import type { AbortedTxn } from "./txn_index.ts";
import type {
  AppendMarkerResult,
  BecomeLeaderResult,
  CleanableResult,
  DeleteRecordsResult,
  EpochEndOffsetResult,
  SwapCleanedResult,
  TruncateResult,
} from "./writer_protocol.ts";

export interface PartitionLogConfig {
  /** cleanup.policy has compact: the log cleaner keeps the last record per key; keys required. */
  compact: boolean;
  /** cleanup.policy has delete: retention by time and size applies. */
  deleteByRetention: boolean;
  /** min.cleanable.dirty.ratio, min.compaction.lag.ms, max.compaction.lag.ms, delete.retention.ms. */
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  deleteRetentionMs: number;
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

/** One batch a replica append wrote: where it went (for the reader's index mirror). */
export interface ReplicaBatchAppended extends AppendResult {
  /** Batch bytes. */
  size: number;
  /** The log end offset right after this batch. */
  logEndOffset: number;
}

/** What appendReplica did with one record set. */
export interface ReplicaAppendResult {
  /** NONE, OFFSET_OUT_OF_RANGE (an offset before the log end or the batch before), CORRUPT_MESSAGE, KAFKA_STORAGE_ERROR. */
  errorCode: number;
  /** Why, with an error. */
  message: string;
  /** The first appended batch's baseOffset; -1 when nothing was appended. */
  baseOffset: number;
  /** The log end offset afterwards. */
  logEndOffset: number;
  /** Every batch appended, in order (several segments when the append rolled). */
  appended: ReplicaBatchAppended[];
  /** Bytes appended. */
  bytes: number;
}

export class StorageError extends Error {
  override name = "StorageError";
}

/** Index entries buffered before one write (they are derivable, so buffering risks nothing). */
const INDEX_FLUSH_ENTRIES = 256;

/** Bytes read at once when walking batch headers (a header walk never reads whole batches). */
const HEADER_CHUNK = 16 * 1024;

/** A batch header that is not where the index or the previous batch said (see rebuildLeaderEpochs). */
class LogMismatch extends Error {}

/**
 * Batch headers of one segment file, through a small read buffer: probes and walks that read
 * BATCH_HEADER_BYTES per batch, never the records.
 */
class HeaderReader {
  private readonly buf = Buffer.allocUnsafe(HEADER_CHUNK);
  private start = 0;
  private len = 0;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = fs.openSync(path, "r");
  }

  /** The header of the batch at `pos` (a view, valid until the next call), null past the end. */
  at(pos: number): Buffer | null {
    if (pos < this.start || pos + BATCH_HEADER_BYTES > this.start + this.len) {
      this.start = pos;
      this.len = fs.readSync(this.fd, this.buf, 0, HEADER_CHUNK, pos);
      if (this.len < BATCH_HEADER_BYTES) return null;
    }
    return this.buf.subarray(pos - this.start, pos - this.start + BATCH_HEADER_BYTES);
  }

  /**
   * The header at `pos`, checked: magic 2, a length that ends inside `bytes`, and (when given)
   * a base offset at least `minBase` (the offset after the previous batch: a compacted log has
   * gaps, so a batch may start past it, never before). Throws LogMismatch otherwise.
   */
  checked(pos: number, bytes: number, minBase: number | null): Buffer {
    const h = this.at(pos);
    if (h === null || h[MAGIC] !== 2) throw new LogMismatch(`no batch header at byte ${pos}`);
    const size = h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
    if (size < BATCH_HEADER_BYTES || pos + size > bytes)
      throw new LogMismatch(`batch at byte ${pos} of ${size} bytes runs past ${bytes}`);
    if (minBase !== null && readInt64(h, BASE_OFFSET) < minBase)
      throw new LogMismatch(`batch at byte ${pos} has offset ${readInt64(h, BASE_OFFSET)}, below ${minBase}`);
    return h;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** A segment as the epoch rebuild sees it: its extent, and its index when held in memory. */
export interface LogSegmentExtent {
  baseOffset: number;
  /** Valid bytes of its .log. */
  bytes: number;
  /** The in-memory index (the active segment's), or null: the .index file is read when needed. */
  index: SegmentIndex | null;
}

/** A batch start known in advance: position 0 of a segment, or an offset index entry. */
interface SamplePoint {
  pos: number;
  base: number;
}

/** Batch starts of a segment from its in-memory index or its .index file; null when unusable. */
function samplePoints(dir: string, s: LogSegmentExtent): SamplePoint[] | null {
  const pts: SamplePoint[] = [{ pos: 0, base: s.baseOffset }];
  if (s.index !== null) {
    for (let i = 0; i < s.index.count; i++) {
      if (s.index.positions[i] >= s.bytes) break;
      pts.push({ pos: s.index.positions[i], base: s.baseOffset + s.index.relOffsets[i] });
    }
    return pts;
  }
  let buf: Buffer;
  try {
    buf = fs.readFileSync(indexFile(dir, s.baseOffset));
  } catch {
    return null;
  }
  if (buf.length % INDEX_ENTRY_BYTES !== 0) return null;
  let prevRel = 0;
  let prevPos = 0;
  for (let at = 0; at < buf.length; at += INDEX_ENTRY_BYTES) {
    const rel = buf.readUInt32BE(at);
    const pos = buf.readUInt32BE(at + 4);
    if (rel <= prevRel || pos <= prevPos || pos >= s.bytes) return null;
    pts.push({ pos, base: s.baseOffset + rel });
    prevRel = rel;
    prevPos = pos;
  }
  return pts;
}

/**
 * The leader epoch cache a log's batches give: an entry (partitionLeaderEpoch, baseOffset) for
 * every batch whose epoch differs from the one before (epochs < 0, "none", are skipped), as
 * Kafka's follower assigns them while appending.
 *
 * Cheap, reading batch headers only where the epoch changes: epochs never decrease along a log
 * (Kafka's invariant, kept by truncation before a follower appends), so when two known batch
 * starts (position 0 of each segment, then the offset index entries inside one) carry the same
 * epoch, every batch between them does too. A bisection over the segments' first batches
 * finds the segments where the epoch changes, one over their index entries the stretch (about
 * index.interval.bytes) that is then walked batch by batch; the last segment is walked from its
 * last index entry to its end. A log of one epoch costs two probes and that tail walk.
 *
 * An index that does not match the log (an entry not at a batch of its offset) falls back to
 * walking every header of every segment; `sampled` false forces that walk (tests compare).
 * A header walk stops at the first batch that does not follow on (recovery has cut the log
 * there already).
 */
export function rebuildLeaderEpochs(
  dir: string,
  segments: readonly LogSegmentExtent[],
  sampled = true,
): LeaderEpochFileCache {
  const cache = new LeaderEpochFileCache();
  const segs = segments.filter((s) => s.bytes > 0);
  if (segs.length === 0) return cache;
  const files = new Map<number, HeaderReader>();
  const reader = (s: LogSegmentExtent): HeaderReader => {
    let r = files.get(s.baseOffset);
    if (r === undefined) {
      r = new HeaderReader(logFile(dir, s.baseOffset));
      files.set(s.baseOffset, r);
    }
    return r;
  };
  const emit = (epoch: number, base: number): void => {
    if (epoch >= 0) cache.assign(epoch, base);
  };
  /** Emit every batch of `s` in [from, to), from the batch at `from` of offset `base`. */
  const walk = (s: LogSegmentExtent, from: number, base: number, to: number): void => {
    const r = reader(s);
    let pos = from;
    let expected = base;
    while (pos < to) {
      const h = r.checked(pos, s.bytes, expected);
      const at = readInt64(h, BASE_OFFSET);
      emit(h.readInt32BE(PARTITION_LEADER_EPOCH), at);
      expected = at + h.readInt32BE(LAST_OFFSET_DELTA) + 1;
      pos += h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
    }
    if (pos !== to) throw new LogMismatch(`batches end at byte ${pos}, not ${to}`);
  };
  const probe = (s: LogSegmentExtent, p: SamplePoint): number =>
    reader(s).checked(p.pos, s.bytes, p.base).readInt32BE(PARTITION_LEADER_EPOCH);

  /** Every epoch change inside `s`; `endEpoch`: the epoch of the batch after it (null: none). */
  const within = (s: LogSegmentExtent, endEpoch: number | null): void => {
    const pts = samplePoints(dir, s);
    if (pts === null) {
      walk(s, 0, s.baseOffset, s.bytes);
      return;
    }
    const k = pts.length;
    const epochs: number[] = [];
    // Point k (when endEpoch is known) stands for the batch after the segment.
    const epochAt = (j: number): number => {
      if (j === k) return endEpoch as number;
      if (epochs[j] === undefined) epochs[j] = probe(s, pts[j]);
      return epochs[j];
    };
    const end = (j: number): number => (j + 1 < k ? pts[j + 1].pos : s.bytes);
    const inner = (lo: number, hi: number): void => {
      if (epochAt(lo) === epochAt(hi)) return;
      if (hi === lo + 1) {
        walk(s, pts[lo].pos, pts[lo].base, end(lo));
        if (hi < k) emit(epochAt(hi), pts[hi].base);
        return;
      }
      const mid = (lo + hi) >>> 1;
      inner(lo, mid);
      inner(mid, hi);
    };
    if (endEpoch === null) {
      if (k > 1) inner(0, k - 1);
      walk(s, pts[k - 1].pos, pts[k - 1].base, s.bytes);
    } else inner(0, k);
  };

  try {
    if (!sampled) throw new LogMismatch("full walk asked for");
    const firsts: number[] = [];
    const first = (i: number): number => {
      if (firsts[i] === undefined) firsts[i] = probe(segs[i], { pos: 0, base: segs[i].baseOffset });
      return firsts[i];
    };
    const across = (lo: number, hi: number): void => {
      if (first(lo) === first(hi)) return;
      if (hi === lo + 1) {
        within(segs[lo], first(hi));
        emit(first(hi), segs[hi].baseOffset);
        return;
      }
      const mid = (lo + hi) >>> 1;
      across(lo, mid);
      across(mid, hi);
    };
    emit(first(0), segs[0].baseOffset);
    if (segs.length > 1) across(0, segs.length - 1);
    within(segs[segs.length - 1], null);
  } catch (e) {
    if (!(e instanceof LogMismatch)) throw e;
    cache.clear();
    try {
      for (const s of segs) walk(s, 0, s.baseOffset, s.bytes);
    } catch (e2) {
      if (!(e2 instanceof LogMismatch)) throw e2;
    }
  } finally {
    for (const r of files.values()) r.close();
  }
  return cache;
}

/**
 * Cut a segment's index back to a log cut at byte `position`, where the batch of offset
 * `offset` started: entries for that batch and later go, the time index's maximum and the
 * bytes since the last entry are what a scan of the kept batches gives (SegmentIndex.onBatch).
 * Both sides use it: the writer for its index, the reader (partition_reader.ts) for its mirror.
 */
export function truncateSegmentIndex(index: SegmentIndex, offset: number, position: number): void {
  const rel = offset - index.baseOffset;
  while (
    index.count > 0 &&
    (index.relOffsets[index.count - 1] >= rel || index.positions[index.count - 1] >= position)
  )
    index.count--;
  while (index.timeCount > 0 && index.timeRelOffsets[index.timeCount - 1] >= rel) index.timeCount--;
  index.maxTimestamp = index.timeCount > 0 ? index.timestamps[index.timeCount - 1] : -1;
  index.bytesSinceEntry = position - (index.count > 0 ? index.positions[index.count - 1] : 0);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function removeSegmentFiles(dir: string, base: number): void {
  for (const f of [logFile(dir, base), indexFile(dir, base), timeIndexFile(dir, base)])
    fs.rmSync(f, { force: true });
}

function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** One per writer thread unless given: every open partition's active segment files. */
const UNBOUNDED = new OpenFiles<PartitionWriter>(Number.MAX_SAFE_INTEGER);

/**
 * Observes each group-commit fsync of an active segment (flush(), seconds): the writer worker
 * records them in its row of the fsync histogram (/metrics); null (the default) measures nothing.
 */
export const fsyncTimer: { observe: ((seconds: number) => void) | null } = { observe: null };

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
  private closed: ClosedSegment[];
  private lastRetentionCheckMs = 0;
  /** Idempotent producers' sequences (producer_state.ts); rebuilt when the log is truncated. */
  producers: ProducerStates;
  /** Open and aborted transactions (partition_txn_state.ts); rebuilt with the producers. */
  txn: PartitionTxnState;
  /** The first unstable offset last published (F_FIRST_UNSTABLE_OFFSET). */
  private publishedUnstable = -1;
  /** The leader epoch cache, loaded at its first use (see `epochs`). */
  private epochCache: LeaderEpochFileCache | null = null;
  /** The epoch becomeLeader gave; -1 while never told (see stampEpoch). */
  private toldEpoch = -1;

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
    // Before expiry: an expired producer's aborted transactions still need their .txnindex.
    this.txn = PartitionTxnState.open(
      this.dir,
      this.logEndOffset,
      this.segmentBases(),
      this.producers.size > 0,
    );
    this.producers.expire(Date.now(), this.config.producerIdExpirationMs);
    this.state.set(this.slot, F_LOG_START_OFFSET, this.logStartOffset);
    this.state.set(this.slot, F_FLUSHED_OFFSET, this.flushedOffset);
    this.state.set(this.slot, F_FIRST_UNSTABLE_OFFSET, -1);
    this.publishTxns();
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

  /** Every segment's base offset, oldest first. */
  private segmentBases(): number[] {
    return [...this.closed.map((c) => c.baseOffset), this.segmentBase];
  }

  /** Publish the first unstable offset when it changed (read_committed fetches stop there). */
  private publishTxns(): void {
    const first = this.txn.firstUnstableOffset;
    if (first === this.publishedUnstable) return;
    this.publishedUnstable = first;
    this.state.set(this.slot, F_FIRST_UNSTABLE_OFFSET, first);
  }

  /**
   * Account for an appended batch of a producer (producer id >= 0) in the transaction state:
   * a transactional batch opens its producer's transaction, a marker closes it (an ABORT goes
   * to the segment's .txnindex). The epoch and open-transaction rules are checked before the
   * append (checkTxn).
   */
  txnAppended(batch: Buffer, baseOffset: number, segmentBase: number): void {
    const attrs = batch.readInt16BE(ATTRIBUTES);
    if ((attrs & (ATTR_TRANSACTIONAL | ATTR_CONTROL)) === 0 && this.txn.txns.openCount === 0) return;
    try {
      this.txn.onBatch(txnBatchHeader(batch, baseOffset), segmentBase);
    } catch (e) {
      this.fail(e, -1);
    }
    this.publishTxns();
  }

  /** Whether a produced batch of a producer may be appended (transactions.ts check). */
  checkTxn(batch: Buffer): { error: number; message: string } {
    return this.txn.check(txnBatchHeader(batch, 0));
  }

  /**
   * Append a transaction marker (WriteTxnMarkers; Kafka's appendAsLeader of an end-transaction
   * control batch): refused when the producer's epoch is newer (INVALID_PRODUCER_EPOCH) or the
   * coordinator epoch older than the last marker's (TRANSACTION_COORDINATOR_FENCED); written,
   * recorded (the producer's epoch advances), the transaction completed, and fsynced before it
   * answers (the coordinator then writes CompleteCommit / CompleteAbort).
   */
  appendMarker(
    m: {
      producerId: number;
      producerEpoch: number;
      commit: boolean;
      coordinatorEpoch: number;
    },
    nowMs: number,
  ): AppendMarkerResult {
    if (this.offline)
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, message: "offline", offset: -1, completed: null };
    const batch = encodeMarkerBatch({ ...m, timestampMs: nowMs });
    const seq = this.producers.checkMarker(m.producerId, m.producerEpoch);
    if (seq !== null && seq.kind === "refuse")
      return { errorCode: seq.error, message: seq.message, offset: -1, completed: null };
    const check = this.txn.check(txnBatchHeader(batch, 0));
    if (check.error !== ErrorCode.NONE)
      return { errorCode: check.error, message: check.message, offset: -1, completed: null };
    const r = this.append(batch, nowMs);
    this.producers.record(batch, r.baseOffset);
    let completed: CompletedTxn | null = null;
    try {
      completed = this.txn.onBatch(txnBatchHeader(batch, r.baseOffset), r.segmentBase);
    } catch (e) {
      this.fail(e, -1);
    }
    this.publishTxns();
    this.flush();
    return {
      errorCode: ErrorCode.NONE,
      message: "",
      offset: r.baseOffset,
      completed,
      append: r,
      size: batch.length,
    };
  }

  /** The aborted transactions of the log (its .txnindex files), ascending. */
  abortedTxns(): AbortedTxn[] {
    return this.txn.aborted(this.segmentBases());
  }

  /**
   * The leader epoch cache (leader_epochs.ts), loaded at its first use: a single broker's
   * partition that is only opened and read never touches it. From leader-epoch-checkpoint when
   * it is there, parses, and matches the log (entries past the log end or before its start
   * cut, as Kafka's loader does; the last batch's epoch must be the one the cache gives its
   * offset); otherwise rebuilt from the batch headers (rebuildLeaderEpochs) and saved when it
   * wants a file. Never fails: a log that cannot be read gives an empty cache.
   */
  get epochs(): LeaderEpochFileCache {
    if (this.epochCache === null) this.epochCache = this.loadEpochs();
    return this.epochCache;
  }

  private loadEpochs(): LeaderEpochFileCache {
    let cache = LeaderEpochFileCache.load(this.dir);
    let changed = false;
    if (cache !== null) {
      changed = cache.truncateFromEnd(this.logEndOffset);
      changed = cache.truncateFromStart(this.logStartOffset) || changed;
      if (!this.epochsMatchLog(cache)) cache = null;
    }
    if (cache === null) {
      const fileExists = fs.existsSync(join(this.dir, LEADER_EPOCH_CHECKPOINT));
      try {
        cache = rebuildLeaderEpochs(this.dir, this.extents());
      } catch (e) {
        process.stderr.write(
          `[milena writer] cannot rebuild the leader epochs of ${this.dir}: ${(e as Error).message}\n`,
        );
        cache = new LeaderEpochFileCache();
      }
      cache.truncateFromStart(this.logStartOffset);
      cache.fileExists = fileExists;
      changed = cache.wantsFile;
    }
    if (changed) {
      try {
        cache.save(this.dir, true);
      } catch (e) {
        // Derivable: the next load rebuilds it (a file left as it was has entries too many at
        // most, which that load cuts).
        process.stderr.write(
          `[milena writer] cannot save the leader epochs of ${this.dir}: ${(e as Error).message}\n`,
        );
      }
    }
    return cache;
  }

  /**
   * Whether the log's last batch has the epoch `cache` gives its offset: a cheap check (a walk
   * from the last index entry) that a file left by something else is not trusted. A log that
   * cannot be walked there is not a match either (the rebuild copes with what it finds).
   */
  private epochsMatchLog(cache: LeaderEpochFileCache): boolean {
    try {
      const last = this.lastBatchHeader();
      return last === null || last.epoch < 0 || cache.epochForOffset(last.baseOffset) === last.epoch;
    } catch {
      return false;
    }
  }

  /** The log's last batch (walked from the last index entry of the last non-empty segment). */
  private lastBatchHeader(): { baseOffset: number; epoch: number } | null {
    const segs = this.extents().filter((s) => s.bytes > 0);
    const s = segs[segs.length - 1];
    if (s === undefined) return null;
    const pts = samplePoints(this.dir, s) ?? [{ pos: 0, base: s.baseOffset }];
    const r = new HeaderReader(logFile(this.dir, s.baseOffset));
    try {
      let { pos, base } = pts[pts.length - 1];
      let last = { baseOffset: -1, epoch: -1 };
      while (pos < s.bytes) {
        const h = r.checked(pos, s.bytes, base);
        const at = readInt64(h, BASE_OFFSET);
        last = { baseOffset: at, epoch: h.readInt32BE(PARTITION_LEADER_EPOCH) };
        base = at + h.readInt32BE(LAST_OFFSET_DELTA) + 1;
        pos += h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
      }
      return last;
    } finally {
      r.close();
    }
  }

  /** The log's segments, oldest first, for header walks. */
  private extents(): LogSegmentExtent[] {
    return [
      ...this.closed.map((c) => ({ baseOffset: c.baseOffset, bytes: c.bytes, index: null })),
      { baseOffset: this.segmentBase, bytes: this.segmentBytes, index: this.index },
    ];
  }

  /**
   * The epoch stamped into produced batches: becomeLeader's, or for a partition never told the
   * latest epoch of its cache, or 0.
   */
  get leaderEpoch(): number {
    if (this.toldEpoch >= 0) return this.toldEpoch;
    return Math.max(this.epochs.latestEpoch, 0);
  }

  /**
   * Kafka's maybeAssignEpochStartOffset: a cache entry for `epoch` from `startOffset`, saved
   * (fsynced) before anything is written under it. A full disk refuses (StorageError, nothing
   * changed, the partition stays online); any other failure takes the partition offline.
   */
  private assignEpoch(epoch: number, startOffset: number): void {
    const cache = this.epochs;
    const latest = cache.latestEntry();
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return;
    const before = cache.snapshot();
    if (!cache.assign(epoch, startOffset)) return;
    try {
      cache.save(this.dir, true);
    } catch (e) {
      cache.restore(before);
      if (isNoSpace(e))
        throw new StorageError(`no space left for the leader epoch checkpoint in ${this.dir}: refused`);
      this.fail(e, -1);
    }
  }

  /** Save the cache after a truncation changed it (durable); a failure takes the partition offline. */
  private saveEpochs(changed: boolean): void {
    if (!changed) return;
    try {
      this.epochs.save(this.dir, true);
    } catch (e) {
      this.fail(e, -1);
    }
  }

  /** The log start moved (retention, DeleteRecords): Kafka's truncateFromStart, saved lazily. */
  private epochsFromStart(): void {
    // Not loaded yet: the load applies the log start itself.
    if (this.epochCache === null || !this.epochCache.truncateFromStart(this.logStartOffset)) return;
    try {
      this.epochCache.save(this.dir, false);
    } catch {
      // a file left with entries before the start is cut again at the next load
    }
  }

  /**
   * becomeLeader (Kafka's Partition.makeLeader -> maybeAssignEpochStartOffset(leaderEpoch,
   * logEndOffset)): the cache gets (leaderEpoch, log end), saved before this returns, and every
   * produced batch from now on carries leaderEpoch. An epoch older than the cache's latest is
   * refused with FENCED_LEADER_EPOCH (assigning it would drop the newer epochs' entries while
   * their batches stay in the log). Throws StorageError when the save fails.
   */
  becomeLeader(leaderEpoch: number): BecomeLeaderResult {
    if (this.offline)
      return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, leaderEpoch: -1, logEndOffset: this.logEndOffset };
    if (!Number.isInteger(leaderEpoch) || leaderEpoch < 0 || leaderEpoch > 0x7fffffff)
      return { errorCode: ErrorCode.INVALID_REQUEST, leaderEpoch: -1, logEndOffset: this.logEndOffset };
    const latest = this.epochs.latestEpoch;
    if (leaderEpoch < latest)
      return {
        errorCode: ErrorCode.FENCED_LEADER_EPOCH,
        leaderEpoch: latest,
        logEndOffset: this.logEndOffset,
      };
    this.assignEpoch(leaderEpoch, this.logEndOffset);
    this.toldEpoch = leaderEpoch;
    return { errorCode: ErrorCode.NONE, leaderEpoch, logEndOffset: this.logEndOffset };
  }

  /** OffsetForLeaderEpoch from this log: the cache's endOffsetFor at the current log end. */
  epochEndOffset(leaderEpoch: number): EpochEndOffsetResult {
    if (this.offline) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, leaderEpoch: -1, endOffset: -1 };
    return { errorCode: ErrorCode.NONE, ...this.epochs.endOffsetFor(leaderEpoch, this.logEndOffset) };
  }

  /** What the log cleaner needs to choose and clean this log (the cleanable control). */
  cleanable(): CleanableResult {
    return {
      errorCode: this.offline ? ErrorCode.KAFKA_STORAGE_ERROR : ErrorCode.NONE,
      logStartOffset: this.logStartOffset,
      logEndOffset: this.logEndOffset,
      activeSegmentBase: this.segmentBase,
      closed: this.closed.map((c) => ({ ...c })),
      lastBatchOfProducer: this.producers.lastBatchOffsets(),
      firstUnstableOffset: this.txn.firstUnstableOffset,
      aborted: this.txn.txns.openCount === 0 && this.producers.size === 0 ? [] : this.abortedTxns(),
    };
  }

  /**
   * Swap the cleaner's groups in (cleaner_swap.ts, crash-safe), each only when every segment it
   * replaces is still a closed segment of this log with the size the cleaner read (retention,
   * DeleteRecords or a truncation may have changed the log meanwhile): such a group's .cleaned
   * files are deleted instead. The closed list then holds one segment per group (its largest
   * timestamp and mtime those of the segments it replaces, for retention). Throws StorageError
   * when a swap fails halfway (offline: a restart completes it, recoverCleanerFiles).
   */
  swapCleaned(groups: readonly CleanedGroup[], expected: ReadonlyMap<number, number>): SwapCleanedResult {
    const result: SwapCleanedResult = { errorCode: ErrorCode.NONE, swapped: [] };
    if (this.offline) return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, swapped: [] };
    for (const g of groups) {
      const at = this.closed.findIndex((c) => c.baseOffset === g.replaces[0]);
      const still =
        at >= 0 &&
        g.replaces.every(
          (base, i) =>
            this.closed[at + i]?.baseOffset === base && this.closed[at + i].bytes === expected.get(base),
        );
      if (!still) {
        discardCleaned(this.dir, g);
        continue;
      }
      try {
        const aborted = this.txn.entriesOf(g.replaces);
        swapCleanedGroup(this.dir, g);
        this.txn.replaceSegments(g.replaces, g.baseOffset, aborted);
      } catch (e) {
        this.fail(e, -1);
      }
      const replaced = this.closed.slice(at, at + g.replaces.length);
      this.closed.splice(at, g.replaces.length, {
        baseOffset: g.baseOffset,
        bytes: g.bytes,
        maxTimestamp: Math.max(...replaced.map((c) => c.maxTimestamp)),
        mtimeMs: Math.max(...replaced.map((c) => c.mtimeMs)),
      });
      result.swapped.push({
        replaces: g.replaces,
        baseOffset: g.baseOffset,
        bytes: g.bytes,
        index: loadIndexes(this.dir, g.baseOffset, g.bytes, this.config.indexIntervalBytes)?.toJSON() ?? null,
      });
    }
    return result;
  }

  /** Roll first when the batch would not fit the active segment, or it is old enough. */
  private maybeRoll(size: number, nowMs: number): void {
    if (
      this.segmentBytes > 0 &&
      (this.segmentBytes + size > this.config.segmentBytes ||
        (this.config.segmentMs > 0 && nowMs - this.segmentCreatedMs >= this.config.segmentMs))
    ) {
      this.roll();
    }
  }

  /**
   * Append one validated batch: assign offsets by rewriting baseOffset in place (outside the
   * CRC), stamp the leader epoch (outside it too), write the bytes as they are, index, publish.
   * Throws StorageError on an I/O failure, after which the partition is offline.
   */
  append(batch: Buffer, nowMs: number): AppendResult {
    if (this.offline) throw new StorageError(`partition in ${this.dir} is offline after a storage error`);
    const epoch = this.leaderEpoch;
    this.maybeRoll(batch.length, nowMs);
    const baseOffset = this.logEndOffset;
    if (epoch !== this.epochs.latestEpoch) this.assignEpoch(epoch, baseOffset);
    writeInt64(batch, BASE_OFFSET, baseOffset);
    batch.writeInt32BE(epoch, PARTITION_LEADER_EPOCH);
    return this.writeBatch(batch, baseOffset, nowMs);
  }

  /**
   * A follower's append of its leader's record set (Kafka's appendAsFollower): one or more whole
   * RecordBatch v2 back to back, as a fetch response carries them, appended unchanged (their
   * offsets and leader epochs are the leader's). All or nothing for what is checked first:
   *   - a trailing partial batch (a fetch response may end with one) is ignored;
   *   - every whole batch must be intact (magic 2, sizes, CRC-32C: storedBatchIntact), else
   *     CORRUPT_MESSAGE; no size bound (Kafka's follower skips it: the leader accepted them);
   *   - the first batch must start at or after the log end and each next one at or after where
   *     the previous ended (a compacted log has gaps), else OFFSET_OUT_OF_RANGE.
   * Then each batch in turn: a cache entry when its epoch is new (Kafka's assign), saved before
   * it is written; written, indexed, rolled as usual; its idempotent producer remembered
   * without sequence checks (Kafka's follower). A storage error stops there
   * (KAFKA_STORAGE_ERROR, what was written stays, listed in `appended`).
   *
   * A log that is empty (log end = log start) facing a first batch that starts before the log
   * end and holds it (the leader's log start is inside a batch, after DeleteRecords) is refused
   * like any other: Kafka's fetcher then restarts the log at the batch (truncateFullyAndStartAt
   * the batch's base offset) and appends again.
   */
  appendReplica(records: Buffer, nowMs: number): ReplicaAppendResult {
    const result: ReplicaAppendResult = {
      errorCode: ErrorCode.NONE,
      message: "",
      baseOffset: -1,
      logEndOffset: this.logEndOffset,
      appended: [],
      bytes: 0,
    };
    const refuse = (errorCode: number, message: string): ReplicaAppendResult => {
      result.errorCode = errorCode;
      result.message = message;
      return result;
    };
    if (this.offline)
      return refuse(
        ErrorCode.KAFKA_STORAGE_ERROR,
        `partition in ${this.dir} is offline after a storage error`,
      );
    const batches: Buffer[] = [];
    let at = 0;
    let next = this.logEndOffset;
    while (at + LOG_OVERHEAD <= records.length) {
      const size = records.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < BATCH_HEADER_BYTES)
        return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at} has a length of ${size} bytes`);
      if (at + size > records.length) break; // the trailing partial batch
      const batch = records.subarray(at, at + size);
      if (!storedBatchIntact(batch))
        return refuse(ErrorCode.CORRUPT_MESSAGE, `batch at byte ${at}: bad magic, length or CRC-32C`);
      const base = readInt64(batch, BASE_OFFSET);
      // Offsets only grow; a compacted leader log has gaps, which the copy keeps.
      if (base < next)
        return refuse(
          ErrorCode.OFFSET_OUT_OF_RANGE,
          batches.length === 0
            ? `first batch starts at offset ${base}, the log ends at ${next}`
            : `batch at byte ${at} starts at offset ${base}, the one before ended at ${next}`,
        );
      next = base + batch.readInt32BE(LAST_OFFSET_DELTA) + 1;
      batches.push(batch);
      at += size;
    }
    for (const batch of batches) {
      try {
        const epoch = batch.readInt32BE(PARTITION_LEADER_EPOCH);
        const base = readInt64(batch, BASE_OFFSET);
        this.maybeRoll(batch.length, nowMs);
        if (epoch >= 0) this.assignEpoch(epoch, base);
        const r = this.writeBatch(batch, base, nowMs);
        if (readInt64(batch, PRODUCER_ID) >= 0) {
          this.producers.record(batch, base);
          this.txnAppended(batch, base, r.segmentBase);
        }
        result.appended.push({ ...r, size: batch.length, logEndOffset: this.logEndOffset });
        if (result.baseOffset < 0) result.baseOffset = base;
        result.bytes += batch.length;
      } catch (e) {
        if (!(e instanceof StorageError)) throw e;
        result.logEndOffset = this.logEndOffset;
        return refuse(ErrorCode.KAFKA_STORAGE_ERROR, e.message);
      }
    }
    result.logEndOffset = this.logEndOffset;
    return result;
  }

  /** Write one batch whose offsets are set at the log end: write, index, publish. */
  private writeBatch(batch: Buffer, baseOffset: number, nowMs: number): AppendResult {
    const size = batch.length;
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
      const timer = fsyncTimer.observe;
      const t0 = timer === null ? 0 : performance.now();
      fs.fdatasyncSync(this.fd);
      if (timer !== null) timer((performance.now() - t0) / 1000);
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
    // cleanup.policy=compact alone: old segments are compacted (log_cleaner.ts), never expired.
    if (!c.deleteByRetention || (c.retentionMs < 0 && c.retentionBytes < 0)) return deleted;
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
      this.epochsFromStart();
    }
    for (const s of doomed) {
      removeSegmentFiles(this.dir, s.baseOffset);
      this.txn.dropSegment(s.baseOffset);
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
      this.epochsFromStart();
      segmentsDeleted = this.deleteSegments(
        segmentsBelowStart(this.closed, this.segmentBase, this.logStartOffset),
      );
    }
    return { errorCode: ErrorCode.NONE, lowWatermark: this.logStartOffset, segmentsDeleted };
  }

  private truncateResult(full: boolean): TruncateResult {
    return {
      errorCode: ErrorCode.NONE,
      logEndOffset: this.logEndOffset,
      logStartOffset: this.logStartOffset,
      activeSegmentBase: this.segmentBase,
      activeSegmentBytes: this.segmentBytes,
      full,
    };
  }

  private static truncateError(errorCode: number): TruncateResult {
    return {
      errorCode,
      logEndOffset: -1,
      logStartOffset: -1,
      activeSegmentBase: -1,
      activeSegmentBytes: -1,
      full: false,
    };
  }

  /**
   * Kafka's UnifiedLog.truncateTo(offset): a follower drops what its log holds from `offset` on.
   *   offset >= log end      the log stays; the epoch cache is still cut at the log end (an entry
   *                          this broker assigned as leader and never wrote under goes)
   *   offset < log start     truncateFullyAndStartAt(offset)
   *   otherwise              LogSegment.truncateTo: the segment holding `offset` is cut at the
   *                          first batch whose last offset is >= offset (a batch is never split:
   *                          inside one, the log end becomes that batch's base offset), every
   *                          later segment is deleted with its indexes, the cut segment's index
   *                          and time index are trimmed to what is left and it becomes the
   *                          active one; the cut is fsynced (flushedOffset = the new log end),
   *                          then the epoch cache is cut from the end there (saved), the
   *                          producer state is rebuilt for the new end (its snapshot deleted),
   *                          and the new tail is published.
   * Kafka keeps `offset` itself as its in-memory log end when it falls inside a batch (and
   * reads the batch's base back after a restart); this log end is the base at once, so a reopen
   * gives the same log. When that batch also holds the log start (DeleteRecords inside it), the
   * log is emptied at the log start instead (truncateFullyAndStartAt(logStartOffset)).
   * A negative offset is OFFSET_OUT_OF_RANGE. Throws StorageError on an I/O failure (offline).
   */
  truncateTo(offset: number): TruncateResult {
    if (this.offline) return PartitionWriter.truncateError(ErrorCode.KAFKA_STORAGE_ERROR);
    if (!Number.isSafeInteger(offset) || offset < 0)
      return PartitionWriter.truncateError(ErrorCode.OFFSET_OUT_OF_RANGE);
    if (offset >= this.logEndOffset) {
      this.saveEpochs(this.epochs.truncateFromEnd(this.logEndOffset));
      return this.truncateResult(false);
    }
    if (offset < this.logStartOffset) return this.truncateFullyAndStartAt(offset);
    let cut: ReturnType<PartitionWriter["findCut"]>;
    try {
      cut = this.findCut(offset);
    } catch (e) {
      if (e instanceof StorageError) throw e;
      this.fail(e, -1);
    }
    if (cut.batchBase < this.logStartOffset) return this.truncateFullyAndStartAt(this.logStartOffset);
    try {
      this.closeFiles();
      const doomed = this.closed.filter((c) => c.baseOffset > cut.segmentBase).map((c) => c.baseOffset);
      if (this.segmentBase > cut.segmentBase) doomed.push(this.segmentBase);
      this.closed = this.closed.filter((c) => c.baseOffset < cut.segmentBase);
      for (const base of doomed) {
        removeSegmentFiles(this.dir, base);
        this.txn.dropSegment(base);
      }
      truncateSegmentIndex(cut.index, cut.batchBase, cut.position);
      fs.writeFileSync(indexFile(this.dir, cut.segmentBase), cut.index.encodeIndex());
      fs.writeFileSync(timeIndexFile(this.dir, cut.segmentBase), cut.index.encodeTimeIndex());
      this.openSegment(cut.segmentBase, cut.position, cut.index);
      fs.ftruncateSync(this.fd, cut.position);
      fs.fdatasyncSync(this.fd);
      if (doomed.length > 0) fsyncDir(this.dir);
      fs.rmSync(join(this.dir, SNAPSHOT_FILE), { force: true });
    } catch (e) {
      if (e instanceof StorageError) throw e;
      this.fail(e, -1);
    }
    this.logEndOffset = cut.batchBase;
    this.flushedOffset = cut.batchBase;
    this.unflushedMessages = 0;
    this.state.set(this.slot, F_FLUSHED_OFFSET, this.flushedOffset);
    // The cut is durable: the cache may lose its entries from the new end on.
    this.saveEpochs(this.epochs.truncateFromEnd(this.logEndOffset));
    this.rebuildProducers();
    this.publish();
    return this.truncateResult(false);
  }

  /**
   * The producer state for a log just cut back (Kafka's rebuildProducerState): rebuilt from the
   * batch headers, its snapshot (describing a longer log) deleted by the caller. A partition
   * with no producer remembered has none to rebuild (the log's would have expired).
   */
  private rebuildProducers(): void {
    const had = this.producers.size > 0;
    try {
      this.producers = had
        ? ProducerStates.open(this.dir, this.logEndOffset, [
            ...this.closed.map((c) => c.baseOffset),
            this.segmentBase,
          ])
        : new ProducerStates();
      // The transactions of the log as it is now, and its .txnindex files with them.
      fs.rmSync(join(this.dir, TXN_SNAPSHOT_FILE), { force: true });
      if (had || this.txn.txns.openCount > 0) this.txn.rebuildFrom(this.segmentBases());
      else this.txn.truncateTo(this.logEndOffset, this.segmentBases());
    } catch (e) {
      this.fail(e, -1);
    }
    this.publishTxns();
    this.producers.expire(Date.now(), this.config.producerIdExpirationMs);
  }

  /** The segment holding `offset` (< log end), and where in it the first batch reaching it starts. */
  private findCut(offset: number): {
    segmentBase: number;
    position: number;
    batchBase: number;
    index: SegmentIndex;
  } {
    let segmentBase = this.segmentBase;
    let bytes = this.segmentBytes;
    for (let i = this.closed.length - 1; i >= 0 && segmentBase > offset; i--) {
      segmentBase = this.closed[i].baseOffset;
      bytes = this.closed[i].bytes;
    }
    const interval = this.config.indexIntervalBytes;
    let index: SegmentIndex | null =
      segmentBase === this.segmentBase ? this.index : loadIndexes(this.dir, segmentBase, bytes, interval);
    const r = new HeaderReader(logFile(this.dir, segmentBase));
    try {
      /** The first batch from `pos` (offset `base`) whose last offset reaches `offset`. */
      const find = (pos: number, base: number): { position: number; batchBase: number } | null => {
        try {
          while (pos < bytes) {
            const h = r.checked(pos, bytes, base);
            base = readInt64(h, BASE_OFFSET);
            const next = base + h.readInt32BE(LAST_OFFSET_DELTA) + 1;
            if (next > offset) return { position: pos, batchBase: base };
            base = next;
            pos += h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
          }
        } catch (e) {
          if (!(e instanceof LogMismatch)) throw e;
        }
        return null;
      };
      let found: { position: number; batchBase: number } | null = null;
      if (index !== null) {
        let j = -1;
        for (let lo = 0, hi = index.count - 1; lo <= hi; ) {
          const mid = (lo + hi) >>> 1;
          if (segmentBase + index.relOffsets[mid] <= offset) {
            j = mid;
            lo = mid + 1;
          } else hi = mid - 1;
        }
        found = j < 0 ? find(0, segmentBase) : find(index.positions[j], segmentBase + index.relOffsets[j]);
        if (found === null) index = null; // the index misled: walk the segment from its start
      }
      if (found === null) found = find(0, segmentBase);
      if (found === null)
        throw new StorageError(`no batch of ${logFile(this.dir, segmentBase)} holds offset ${offset}`);
      if (index === null) {
        // Index files that do not match the log: rebuilt from the headers before the cut.
        index = new SegmentIndex(segmentBase, interval);
        let pos = 0;
        let base = segmentBase;
        while (pos < found.position) {
          const h = r.checked(pos, bytes, base);
          const size = h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
          base = readInt64(h, BASE_OFFSET);
          index.onBatch(base, pos, size, readInt64(h, MAX_TIMESTAMP));
          base += h.readInt32BE(LAST_OFFSET_DELTA) + 1;
          pos += size;
        }
      }
      return { segmentBase, ...found, index };
    } finally {
      r.close();
    }
  }

  /**
   * Kafka's truncateFullyAndStartAt(offset): every segment deleted, the log restarted empty at
   * `offset` (log start = log end = flushed = offset, a new empty active segment), the epoch
   * cache cleared (Kafka's clearAndFlush: the file, when there is one, is saved empty), the
   * producer state emptied (its snapshot deleted). For a follower whose leader's log starts past
   * its end, or whose offset to truncate to is below its log start. Throws StorageError on an
   * I/O failure (offline).
   */
  truncateFullyAndStartAt(offset: number): TruncateResult {
    if (this.offline) return PartitionWriter.truncateError(ErrorCode.KAFKA_STORAGE_ERROR);
    if (!Number.isSafeInteger(offset) || offset < 0)
      return PartitionWriter.truncateError(ErrorCode.OFFSET_OUT_OF_RANGE);
    // Loaded (or rebuilt) before the files go, so `fileExists` says whether a file must be emptied.
    const epochs = this.epochs;
    try {
      this.closeFiles();
      const doomed = [...this.closed.map((c) => c.baseOffset), this.segmentBase];
      this.closed = [];
      for (const base of doomed) removeSegmentFiles(this.dir, base);
      this.txn.clear(doomed);
      fs.rmSync(join(this.dir, SNAPSHOT_FILE), { force: true });
      this.openSegment(offset, 0, new SegmentIndex(offset, this.config.indexIntervalBytes));
      fsyncDir(this.dir);
    } catch (e) {
      if (e instanceof StorageError) throw e;
      this.fail(e, -1);
    }
    this.logStartOffset = offset;
    this.logEndOffset = offset;
    this.flushedOffset = offset;
    this.unflushedMessages = 0;
    this.producers = new ProducerStates();
    this.publishTxns();
    this.saveEpochs(epochs.clear() || epochs.fileExists);
    this.state.set(this.slot, F_LOG_START_OFFSET, this.logStartOffset);
    this.state.set(this.slot, F_FLUSHED_OFFSET, this.flushedOffset);
    this.publish();
    return this.truncateResult(true);
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
        this.txn.save(this.logEndOffset);
      } catch {
        // offline now (or no snapshot): the files close below all the same
      }
    }
    this.txn.close();
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
