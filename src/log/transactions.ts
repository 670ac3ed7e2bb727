// The transactions of one partition, kept by its writer beside the idempotent producer state
// (producer_state.ts): which producers have a transaction open here and from which offset, and
// so the partition's last stable offset (LSO), the offset read_committed consumers read up to.
// Kafka keeps these in its ProducerStateManager (ongoingTxns, unreplicatedTxns) and
// ProducerAppendInfo; this is that part of it, fed with batch headers, nothing else.
//
//   transactional data batch of P, P has none open    P's transaction opens at its baseOffset
//   COMMIT / ABORT marker of P, P has one open         it completes: CompletedTxn {first, marker
//                                                      offset, aborted, lastStableOffset}; the
//                                                      writer appends an ABORT's to the segment's
//                                                      .txnindex (txn_index.ts)
//   a marker of P with none open                       nothing (Kafka: an empty transaction)
//   other control batches, non-transactional batches   nothing
//
//   firstUnstableOffset   the first offset of the earliest transaction open, or completed with
//                         its marker not yet below the high watermark (Kafka's unreplicatedTxns:
//                         a marker a new leader may not have is not a decision yet)
//   lastStableOffset(hw)  min(firstUnstableOffset, hw)
//
// The LSO an ABORT's index entry records (Kafka's ProducerStateManager.lastStableOffset(
// completedTxn)) is the LSO right after that completion, ignoring replication: the first offset
// of the earliest transaction of another producer still open, else the marker's offset + 1. It is
// the stop condition of the index search (txn_index.ts): every transaction aborted later started
// at or after it.
//
// Checks before an append (check(); Kafka's ProducerAppendInfo): a non-transactional batch of a
// producer with a transaction open is INVALID_TXN_STATE; a marker with an older producer epoch
// than its transaction's batches is INVALID_PRODUCER_EPOCH; a marker from an older coordinator
// epoch than this partition last saw for the producer is TRANSACTION_COORDINATOR_FENCED.
//
// Bounded: at most maxOpen (default MAX_OPEN_TRANSACTIONS) open transactions. Dropping one would
// let the LSO pass records that may yet be aborted, so the bound is not kept by eviction: check()
// refuses (INVALID_TXN_STATE) a transactional batch that would open one more; onBatch (replicas,
// rebuilds) never refuses. Completed transactions waiting for the high watermark and
// coordinator epochs are capped as well (the oldest go first).
//
// Durable through the writer's snapshot (toJSON / fromJSON), else rebuilt from the log's batch
// headers (rebuild, segmentTxnHeaders):
//   {"version": 1, "open": [[producerId, firstOffset, producerEpoch], ...],
//    "completed": [[producerId, firstOffset, markerOffset, producerEpoch], ...],
//    "coordinatorEpochs": [[producerId, coordinatorEpoch], ...]}

import * as fs from "node:fs";
import { type ControlKind, parseControlBatch } from "../protocol/control_records.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BASE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  type BatchCheck,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  readInt64,
} from "../protocol/record_batch.ts";
import { MAX_PRODUCERS } from "./producer_state.ts";

/** Open transactions kept per partition (as producer_state.ts bounds producers). */
export const MAX_OPEN_TRANSACTIONS = 10_000;
/** Kafka's TRANSACTION_COORDINATOR_FENCED (Errors.java); not in error_codes.ts yet. */
const TRANSACTION_COORDINATOR_FENCED = 52;
/** Largest control batch segmentTxnHeaders reads whole (a marker is 78 bytes). */
const MAX_CONTROL_BATCH_READ = 1 << 20;

/** What the transaction state needs of a batch (txnBatchHeader reads it from the bytes). */
export interface TxnBatchHeader {
  producerId: number;
  producerEpoch: number;
  baseOffset: number;
  lastOffset: number;
  transactional: boolean;
  control: boolean;
  /** For a control batch: what parseControlBatch says of it. */
  marker?: ControlKind;
  /** For a COMMIT / ABORT marker: its coordinator epoch. */
  coordinatorEpoch?: number;
}

/** A transaction a marker completed (Kafka's CompletedTxn). */
export interface CompletedTxn {
  producerId: number;
  firstOffset: number;
  /** The offset of the COMMIT / ABORT marker. */
  lastOffset: number;
  aborted: boolean;
  /** For the .txnindex entry of an ABORT: the LSO right after it completed (see the header). */
  lastStableOffset: number;
}

/** An open transaction (DescribeProducers' currentTxnStartOffset). */
export interface OngoingTxn {
  producerId: number;
  firstOffset: number;
}

export interface TransactionsOptions {
  /** Most open transactions (default MAX_OPEN_TRANSACTIONS). */
  maxOpen?: number;
}

export interface TransactionsJSON {
  version: 1;
  open: [number, number, number][];
  completed: [number, number, number, number][];
  coordinatorEpochs: [number, number][];
}

interface Open {
  firstOffset: number;
  /** The newest producer epoch among its batches. */
  epoch: number;
}

interface Completed {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  epoch: number;
}

const OK: BatchCheck = { error: ErrorCode.NONE, message: "" };

const isMarker = (h: TxnBatchHeader): boolean => h.control && (h.marker === "commit" || h.marker === "abort");

export class PartitionTransactions {
  /** Open transactions by producer id, in ascending firstOffset order (first = earliest). */
  private open = new Map<number, Open>();
  /** Completed transactions whose marker the high watermark has not passed, marker order. */
  private completed: Completed[] = [];
  /** The coordinator epoch of each producer's last marker here (LRU order, oldest first). */
  private readonly coordinatorEpochs = new Map<number, number>();
  readonly maxOpen: number;

  constructor(options: TransactionsOptions = {}) {
    this.maxOpen = options.maxOpen ?? MAX_OPEN_TRANSACTIONS;
  }

  /** Open transactions. */
  get openCount(): number {
    return this.open.size;
  }

  /**
   * Whether the leader may append this batch (before producer_state.ts's sequence check or
   * after it; both must pass). NONE, or the error to answer the produce (or WriteTxnMarkers).
   */
  check(h: TxnBatchHeader): BatchCheck {
    if (h.producerId < 0) return OK;
    const open = this.open.get(h.producerId);
    if (h.control) {
      if (!isMarker(h)) return OK;
      if (open !== undefined && h.producerEpoch < open.epoch) {
        return {
          error: ErrorCode.INVALID_PRODUCER_EPOCH,
          message: `producer id ${h.producerId}: marker epoch ${h.producerEpoch} is older than its transaction's ${open.epoch}`,
        };
      }
      const known = this.coordinatorEpochs.get(h.producerId);
      if (known !== undefined && h.coordinatorEpoch !== undefined && h.coordinatorEpoch < known) {
        return {
          error: TRANSACTION_COORDINATOR_FENCED,
          message: `producer id ${h.producerId}: coordinator epoch ${h.coordinatorEpoch} is older than ${known}`,
        };
      }
      return OK;
    }
    if (!h.transactional) {
      if (open === undefined) return OK;
      return {
        error: ErrorCode.INVALID_TXN_STATE,
        message: `producer id ${h.producerId} has a transaction open since offset ${open.firstOffset}: expected a transactional batch`,
      };
    }
    if (open === undefined && this.open.size >= this.maxOpen) {
      return {
        error: ErrorCode.INVALID_TXN_STATE,
        message: `the partition has ${this.open.size} open transactions, the most it keeps`,
      };
    }
    return OK;
  }

  /**
   * Account for a batch appended (or read back from the log) at h.baseOffset. A COMMIT / ABORT
   * marker closing a transaction returns it; otherwise null.
   */
  onBatch(h: TxnBatchHeader): CompletedTxn | null {
    if (h.producerId < 0) return null;
    const open = this.open.get(h.producerId);
    if (h.control) {
      if (!isMarker(h)) return null;
      if (h.coordinatorEpoch !== undefined && h.coordinatorEpoch >= 0) this.noteCoordinatorEpoch(h);
      if (open === undefined) return null;
      this.open.delete(h.producerId);
      const c: CompletedTxn = {
        producerId: h.producerId,
        firstOffset: open.firstOffset,
        lastOffset: h.baseOffset,
        aborted: h.marker === "abort",
        lastStableOffset: this.completedLastStable({ producerId: h.producerId, lastOffset: h.baseOffset }),
      };
      this.completed.push({
        producerId: c.producerId,
        firstOffset: c.firstOffset,
        lastOffset: c.lastOffset,
        epoch: Math.max(open.epoch, h.producerEpoch),
      });
      if (this.completed.length > this.maxOpen) this.completed.shift();
      return c;
    }
    if (!h.transactional) return null;
    if (open === undefined)
      this.open.set(h.producerId, { firstOffset: h.baseOffset, epoch: h.producerEpoch });
    else if (h.producerEpoch > open.epoch) open.epoch = h.producerEpoch;
    return null;
  }

  /**
   * The first offset of the earliest transaction open, or completed with its marker not yet
   * below the high watermark told to onHighWatermark; null when there is none.
   */
  firstUnstableOffset(): number | null {
    let first = this.firstUndecidedOffset();
    for (const c of this.completed) if (first === null || c.firstOffset < first) first = c.firstOffset;
    return first;
  }

  /** The first offset of the earliest open transaction (Kafka's firstUndecidedOffset), or null. */
  firstUndecidedOffset(): number | null {
    for (const o of this.open.values()) return o.firstOffset;
    return null;
  }

  /**
   * The partition's LSO: the high watermark, or the first offset of an earlier transaction open
   * or completed by a marker at or above the high watermark.
   */
  lastStableOffset(highWatermark: number): number {
    let lso = highWatermark;
    const undecided = this.firstUndecidedOffset();
    if (undecided !== null && undecided < lso) lso = undecided;
    for (const c of this.completed)
      if (c.lastOffset >= highWatermark && c.firstOffset < lso) lso = c.firstOffset;
    return lso;
  }

  /** The high watermark moved: forget completed transactions whose marker is below it. */
  onHighWatermark(highWatermark: number): void {
    if (this.completed.length > 0 && this.completed[0].lastOffset < highWatermark)
      this.completed = this.completed.filter((c) => c.lastOffset >= highWatermark);
  }

  /** The open transactions, earliest first. */
  ongoing(): OngoingTxn[] {
    return [...this.open].map(([producerId, o]) => ({ producerId, firstOffset: o.firstOffset }));
  }

  /** The first offset of the producer's open transaction (currentTxnStartOffset), or null (-1). */
  openTxnFirstOffset(producerId: number): number | null {
    return this.open.get(producerId)?.firstOffset ?? null;
  }

  /**
   * The lastStableOffset of an AbortedTxn entry (Kafka's ProducerStateManager.lastStableOffset(
   * CompletedTxn)): the first offset of the earliest open transaction of another producer, else
   * the marker's offset + 1. onBatch fills CompletedTxn.lastStableOffset with it.
   */
  completedLastStable(completed: { producerId: number; lastOffset: number }): number {
    for (const [producerId, o] of this.open) if (producerId !== completed.producerId) return o.firstOffset;
    return completed.lastOffset + 1;
  }

  /**
   * The log was cut at `offset` (offsets >= offset are gone): transactions opened at or past it
   * go; one whose marker went (it completed at or past `offset`) is open again. Exact when the
   * cut is at or above the high watermark (Kafka's rule for truncation); below it, rebuild from
   * the log instead. Coordinator epochs stay (they only fence).
   */
  truncateTo(offset: number): void {
    const open: [number, Open][] = [...this.open].filter(([, o]) => o.firstOffset < offset);
    const kept: Completed[] = [];
    for (const c of this.completed) {
      if (c.lastOffset < offset) kept.push(c);
      else if (c.firstOffset < offset)
        open.push([c.producerId, { firstOffset: c.firstOffset, epoch: c.epoch }]);
    }
    this.completed = kept;
    this.setOpen(open);
  }

  toJSON(): TransactionsJSON {
    return {
      version: 1,
      open: [...this.open].map(([id, o]) => [id, o.firstOffset, o.epoch]),
      completed: this.completed.map((c) => [c.producerId, c.firstOffset, c.lastOffset, c.epoch]),
      coordinatorEpochs: [...this.coordinatorEpochs],
    };
  }

  /** The state toJSON saved; null when `j` is not one (then rebuild from the log). */
  static fromJSON(j: unknown, options: TransactionsOptions = {}): PartitionTransactions | null {
    if (typeof j !== "object" || j === null) return null;
    const o = j as Partial<TransactionsJSON>;
    if (o.version !== 1 || !tuples(o.open, 3) || !tuples(o.completed, 4) || !tuples(o.coordinatorEpochs, 2))
      return null;
    const t = new PartitionTransactions(options);
    t.setOpen(o.open.map(([id, firstOffset, epoch]) => [id, { firstOffset, epoch }]));
    t.completed = o.completed.map(([producerId, firstOffset, lastOffset, epoch]) => ({
      producerId,
      firstOffset,
      lastOffset,
      epoch,
    }));
    for (const [id, e] of o.coordinatorEpochs) t.coordinatorEpochs.set(id, e);
    return t;
  }

  /**
   * The state after replaying batch headers in log order (after a crash, or for a replica);
   * `onCompleted` sees every completed transaction (to rebuild .txnindex files). Call
   * onHighWatermark afterwards: every completion is kept as not yet replicated until then.
   */
  static rebuild(
    headers: Iterable<TxnBatchHeader>,
    options: TransactionsOptions & { onCompleted?: (c: CompletedTxn) => void } = {},
  ): PartitionTransactions {
    const t = new PartitionTransactions(options);
    for (const h of headers) {
      const c = t.onBatch(h);
      if (c !== null) options.onCompleted?.(c);
    }
    return t;
  }

  private setOpen(entries: [number, Open][]): void {
    entries.sort((a, b) => a[1].firstOffset - b[1].firstOffset);
    this.open = new Map(entries);
  }

  /** As Kafka's ProducerStateEntry.update: the marker's epoch, even an older one (a replica's). */
  private noteCoordinatorEpoch(h: TxnBatchHeader): void {
    this.coordinatorEpochs.delete(h.producerId); // re-inserted last: LRU order
    this.coordinatorEpochs.set(h.producerId, h.coordinatorEpoch!);
    if (this.coordinatorEpochs.size > MAX_PRODUCERS)
      this.coordinatorEpochs.delete(this.coordinatorEpochs.keys().next().value as number);
  }
}

function tuples(v: unknown, n: number): v is number[][] {
  return (
    Array.isArray(v) &&
    v.every(
      (t) =>
        Array.isArray(t) &&
        t.length === n &&
        t.every((x) => typeof x === "number" && Number.isSafeInteger(x)),
    )
  );
}

/**
 * The header of a stored batch as PartitionTransactions wants it: baseOffset as stored unless
 * given. A control batch must be whole (its record says COMMIT or ABORT); a data batch may be
 * just its 61-byte header.
 */
export function txnBatchHeader(batch: Buffer, baseOffset = readInt64(batch, BASE_OFFSET)): TxnBatchHeader {
  const attributes = batch.readInt16BE(ATTRIBUTES);
  const h: TxnBatchHeader = {
    producerId: readInt64(batch, PRODUCER_ID),
    producerEpoch: batch.readInt16BE(PRODUCER_EPOCH),
    baseOffset,
    lastOffset: baseOffset + batch.readInt32BE(LAST_OFFSET_DELTA),
    transactional: (attributes & ATTR_TRANSACTIONAL) !== 0,
    control: (attributes & ATTR_CONTROL) !== 0,
  };
  if (h.control) {
    const info = parseControlBatch(batch);
    h.marker = info?.type ?? "other";
    if (info !== null && info.type !== "other") h.coordinatorEpoch = info.coordinatorEpoch;
  }
  return h;
}

/**
 * The headers of one segment file's batches with a producer id, in order, reading 61 bytes a
 * batch (the whole batch for control batches). Stops at a torn batch, as recovery cuts there.
 */
export function* segmentTxnHeaders(path: string): Generator<TxnBatchHeader> {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch {
    return;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const header = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
    let pos = 0;
    while (pos + BATCH_HEADER_BYTES <= size) {
      if (fs.readSync(fd, header, 0, BATCH_HEADER_BYTES, pos) < BATCH_HEADER_BYTES) break;
      const length = header.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
      if (length < BATCH_HEADER_BYTES || pos + length > size) break;
      if (readInt64(header, PRODUCER_ID) >= 0) {
        let batch = header;
        if ((header.readInt16BE(ATTRIBUTES) & ATTR_CONTROL) !== 0 && length <= MAX_CONTROL_BATCH_READ) {
          batch = Buffer.allocUnsafe(length);
          if (fs.readSync(fd, batch, 0, length, pos) < length) break;
        }
        yield txnBatchHeader(batch);
      }
      pos += length;
    }
  } finally {
    fs.closeSync(fd);
  }
}
