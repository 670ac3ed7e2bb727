// The acceptor's side of the partition writer workers: starts them, owns the producer end of
// each one's ring, assigns every partition slot to one writer, and routes completions back to
// whoever is waiting. When a ring is full the batch waits in a fastq queue here (never blocking
// the event loop; one worker per ring, so order is kept) and goes in after the writer's next
// completion report, which always means it made room. While more than BACKLOG_HIGH_BYTES wait,
// the broker stops reading requests (onBacklog), until the backlog is under BACKLOG_LOW_BYTES.

import { fileURLToPath } from "node:url";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import fastq from "fastq";
import type { CleanedGroup } from "../log/cleaner.ts";
import type { PartitionStateBuffers } from "../log/partition_state.ts";
import {
  type AbortedTxnsResult,
  type AppendMarkerResult,
  type BecomeLeaderResult,
  type CleanableResult,
  COMPLETION_FIELDS,
  type DeleteRecordsResult,
  type DescribeProducersResult,
  type EpochEndOffsetResult,
  type EpochsResult,
  encodeControl,
  FLAGS_ACKS_ALL,
  FLAGS_COORDINATOR_TXN,
  FLAGS_REPLICA,
  type SwapCleanedResult,
  type TruncateResult,
  type WriterControl,
  type WriterReport,
} from "../log/writer_protocol.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { createRingBuffer, Kind } from "../ring/layout.ts";
import { RingWriter } from "../ring/ring_writer.ts";
import { HistogramTable, LATENCY_BUCKETS_SECONDS } from "./metrics/histogram.ts";

export interface Completion {
  tag: number;
  slot: number;
  errorCode: number;
  baseOffset: number;
  logEndOffset: number;
  position: number;
  size: number;
  maxTimestamp: number;
  segmentBase: number;
}

export type CompletionHandler = (records: Float64Array, count: number) => void;

interface Pending {
  kind: number;
  flags: number;
  tag: number;
  slot: number;
  payload: Uint8Array;
  /** payload bytes (a LARGE payload is detached once transferred) */
  bytes: number;
  /** LARGE: the batch has been posted on the side port (it goes once, before its ring entry). */
  posted?: boolean;
}

const NO_PAYLOAD = new Uint8Array(0);

/** A partition op the writer refused (becomeLeader, truncate, truncateFully): its Kafka error code. */
export class WriterOpError extends Error {
  override name = "WriterOpError";
  constructor(
    readonly op: string,
    readonly slot: number,
    readonly errorCode: number,
  ) {
    super(`${op} of partition slot ${slot} failed with error code ${errorCode}`);
  }
}

interface WriterHandle {
  worker: Worker;
  ring: RingWriter;
  /** Batches larger than the ring takes (Kind.LARGE), in ring order. */
  side: MessagePort;
  /** Entries waiting for ring space, in order (concurrency 1). */
  backlog: fastq.queueAsPromised<Pending, void>;
  backlogBytes: number;
  /** Wakes the backlog's worker when the writer reports progress. */
  progress: (() => void) | null;
  /** Controls sent and not yet answered; resolved with the report's result (undefined for most). */
  controls: Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>;
  exited: boolean;
}

export const BACKLOG_HIGH_BYTES = 64 * 1024 * 1024;
export const BACKLOG_LOW_BYTES = 16 * 1024 * 1024;

/** Ring size per writer: room for many 1 MB batches while the writer is in an fsync. */
export const RING_BYTES = 32 * 1024 * 1024;

const WORKER_URL = new URL("../../workers/partition_writer.ts", import.meta.url);
const ENTRY_URL = new URL("../../workers/ts_entry.mjs", import.meta.url);

export class WriterPool {
  private readonly writers: WriterHandle[] = [];
  private nextControlTag = 1;
  onAppended: CompletionHandler = () => {};
  onFatal: (error: string) => void = () => {};
  /** Called with true when the backlog passes BACKLOG_HIGH_BYTES, false when it is back under LOW. */
  onBacklog: (high: boolean) => void = () => {};
  private backlogHigh = false;
  /** fsync times, a row per writer, each row written by its writer thread (/metrics reads them). */
  readonly fsyncs: HistogramTable;

  /**
   * maxOpenFiles: log.max.open.files, shared by the writers (each active segment is three
   * files: .log, .index, .timeindex).
   */
  constructor(
    count: number,
    state: PartitionStateBuffers,
    ringBytes = RING_BYTES,
    maxOpenFiles = 4096,
    validateRecords = true,
  ) {
    const maxOpenPartitions = Math.max(4, Math.floor(maxOpenFiles / (3 * count)));
    const fsyncStats = new SharedArrayBuffer(HistogramTable.bytes(LATENCY_BUCKETS_SECONDS, count));
    this.fsyncs = new HistogramTable(LATENCY_BUCKETS_SECONDS, count, fsyncStats);
    for (let i = 0; i < count; i++) {
      const sab = createRingBuffer(ringBytes);
      const side = new MessageChannel();
      const worker = new Worker(fileURLToPath(ENTRY_URL), {
        workerData: {
          entry: WORKER_URL.href,
          ring: sab,
          state,
          side: side.port2,
          maxOpenPartitions,
          validateRecords,
          fsyncStats,
          writers: count,
          index: i,
        },
        transferList: [side.port2],
        name: `partition-writer-${i}`,
      });
      const h: WriterHandle = {
        worker,
        ring: new RingWriter(sab),
        side: side.port1,
        backlog: fastq.promise((p: Pending) => this.enterRing(h, p), 1),
        backlogBytes: 0,
        progress: null,
        controls: new Map(),
        exited: false,
      };
      worker.on("message", (m: WriterReport) => this.onReport(h, m));
      worker.on("error", (e) => this.onFatal(`partition writer ${i} failed: ${e.stack ?? e}`));
      worker.on("exit", () => {
        h.exited = true;
        this.wake(h);
        for (const c of h.controls.values()) c.reject(new Error(`partition writer ${i} exited`));
        h.controls.clear();
      });
      this.writers.push(h);
    }
  }

  get size(): number {
    return this.writers.length;
  }

  /** Writer i's ring bytes in use and capacity, and the entries and bytes waiting for room (/metrics). */
  stats(i: number): { ringUsed: number; ringCapacity: number; backlogEntries: number; backlogBytes: number } {
    const h = this.writers[i];
    return {
      ringUsed: h.ring.used,
      ringCapacity: h.ring.capacity,
      backlogEntries: h.backlog.length(),
      backlogBytes: h.backlogBytes,
    };
  }

  /** The writer that owns a slot: fixed for the slot's life. */
  writerOf(slot: number): number {
    return slot % this.writers.length;
  }

  /** Bytes waiting outside the rings (the acceptor pauses reading its sockets above a bound). */
  get backlogBytes(): number {
    let n = 0;
    for (const w of this.writers) n += w.backlogBytes;
    return n;
  }

  /**
   * Hand one produced batch to the slot's writer: copied once into its ring, or, when larger
   * than the ring takes, copied once into memory of its own that is transferred to the writer
   * (Kind.LARGE). Every batch handed here is answered by a completion, whatever happens.
   */
  append(slot: number, tag: number, acks: number, batch: Uint8Array): void {
    this.enter(slot, tag, acks === -1 ? FLAGS_ACKS_ALL : acks, batch);
  }

  /** A coordinator's transactional batch (FLAGS_COORDINATOR_TXN): acks=all, no sequence check. */
  appendCoordinatorTxn(slot: number, tag: number, batch: Uint8Array): void {
    this.enter(slot, tag, FLAGS_COORDINATOR_TXN, batch);
  }

  /**
   * A follower's append of its leader's record set for one partition: one or more whole
   * RecordBatch v2 back to back (a fetch response's records, a trailing partial batch allowed),
   * appended with the leader's offsets and epochs (PartitionWriter.appendReplica). Through the
   * same ring as produced batches (flags FLAGS_REPLICA; a big one through the LARGE side path).
   * Reported to onAppended as writer_protocol.ts draws it: a record per appended batch with tag
   * COMPLETION_NO_TAG (for the reader's index mirror, like a produce completion), then the one
   * completion of `tag` (error code, first appended base offset or -1, log end after).
   */
  appendReplica(slot: number, tag: number, records: Uint8Array): void {
    this.enter(slot, tag, FLAGS_REPLICA, records);
  }

  private enter(slot: number, tag: number, flags: number, batch: Uint8Array): void {
    const h = this.writers[this.writerOf(slot)];
    if (h.exited) {
      this.lost(tag, slot);
      return;
    }
    if (batch.length > h.ring.maxPayload) {
      const own = new Uint8Array(batch.length);
      own.set(batch);
      const p: Pending = { kind: Kind.LARGE, flags, tag, slot, payload: own, bytes: own.length };
      if (!h.backlog.idle() || !this.tryEnter(h, p)) this.enqueue(h, p);
      return;
    }
    if (!h.backlog.idle() || !h.ring.tryWrite(Kind.APPEND, flags, tag, slot, batch)) {
      // Keep our own copy: the request frame's memory is not ours after this call returns.
      this.enqueue(h, {
        kind: Kind.APPEND,
        flags,
        tag,
        slot,
        payload: Buffer.from(batch),
        bytes: batch.length,
      });
    }
  }

  /** Put one entry into the ring now, if it fits. */
  private tryEnter(h: WriterHandle, p: Pending): boolean {
    if (p.kind !== Kind.LARGE && p.kind !== Kind.LARGE_CONTROL)
      return h.ring.tryWrite(p.kind, p.flags, p.tag, p.slot, p.payload);
    if (!p.posted) {
      // Posted first: the writer must find it when it reaches the entry. Only memory of its own
      // is transferred (never a slice of a shared pool).
      let own = p.payload;
      if (own.byteOffset !== 0 || own.byteLength !== own.buffer.byteLength) own = new Uint8Array(own);
      h.side.postMessage(own, [own.buffer as ArrayBuffer]);
      p.posted = true;
    }
    return h.ring.tryWrite(p.kind, p.flags, p.tag, p.slot, NO_PAYLOAD);
  }

  /** A batch that can no longer reach its writer (it exited): answered with a storage error. */
  private lost(tag: number, slot: number): void {
    const r = new Float64Array(COMPLETION_FIELDS);
    r[0] = tag;
    r[1] = slot;
    r[2] = ErrorCode.KAFKA_STORAGE_ERROR;
    r[3] = -1;
    this.onAppended(r, 1);
  }

  private enqueue(h: WriterHandle, p: Pending): void {
    h.backlogBytes += p.bytes;
    if (!this.backlogHigh && this.backlogBytes > BACKLOG_HIGH_BYTES) {
      this.backlogHigh = true;
      this.onBacklog(true);
    }
    // enterRing never rejects; the catch is for the impossible, so nothing goes unhandled.
    h.backlog.push(p).catch((e) => this.onFatal(`writer backlog failed: ${(e as Error).stack ?? e}`));
  }

  /**
   * The backlog's worker: put one entry into the ring, waiting for the writer's progress. An
   * entry that can never go in (its writer exited) is answered instead, and its bytes leave the
   * backlog count either way.
   */
  private async enterRing(h: WriterHandle, p: Pending): Promise<void> {
    try {
      while (!this.tryEnter(h, p)) {
        if (h.exited) {
          if (p.kind === Kind.APPEND || p.kind === Kind.LARGE) this.lost(p.tag, p.slot);
          return;
        }
        await new Promise<void>((resolve) => {
          h.progress = resolve;
        });
      }
    } finally {
      h.backlogBytes -= p.bytes;
      if (this.backlogHigh && this.backlogBytes < BACKLOG_LOW_BYTES) {
        this.backlogHigh = false;
        this.onBacklog(false);
      }
    }
  }

  private wake(h: WriterHandle): void {
    const w = h.progress;
    h.progress = null;
    w?.();
  }

  /** Largest batch a ring can take. */
  get maxBatchBytes(): number {
    return this.writers[0].ring.maxPayload;
  }

  /** Send a control message to the writer of `slot` (or to writer `slot` for "flush"/"shutdown"). */
  control(writerIndex: number, msg: WriterControl): Promise<void> {
    return this.send(writerIndex, msg) as Promise<void>;
  }

  /**
   * DeleteRecords of one partition, through its writer's ring (after every batch sent to it
   * before): the writer moves the log start and deletes the segments wholly below it.
   */
  deleteRecords(slot: number, offset: number): Promise<DeleteRecordsResult> {
    return this.send(this.writerOf(slot), {
      op: "deleteRecords",
      slot,
      offset,
    }) as Promise<DeleteRecordsResult>;
  }

  /** The idempotent producers the writer of `slot` remembers for it (DescribeProducers). */
  describeProducers(slot: number): Promise<DescribeProducersResult> {
    return this.send(this.writerOf(slot), {
      op: "describeProducers",
      slot,
    }) as Promise<DescribeProducersResult>;
  }

  /**
   * becomeLeader (Kafka's maybeAssignEpochStartOffset at the log end): the epoch cache gets
   * (leaderEpoch, log end), saved before this resolves, and every batch produced to the
   * partition from then on carries leaderEpoch. Rejects with WriterOpError on FENCED_LEADER_EPOCH
   * (older than the cache's latest epoch), KAFKA_STORAGE_ERROR, UNKNOWN_TOPIC_OR_PARTITION.
   */
  becomeLeader(slot: number, leaderEpoch: number): Promise<BecomeLeaderResult> {
    return this.checked("becomeLeader", slot, { op: "becomeLeader", slot, leaderEpoch });
  }

  /**
   * Kafka's truncateTo(offset): the log cut back (nothing when offset >= its end). Resolves with
   * the new tail; the caller then gives it to the partition's PartitionReader.truncated() at
   * once (before anything else from the writers is handled). Rejects with WriterOpError.
   */
  truncate(slot: number, offset: number): Promise<TruncateResult> {
    return this.checked("truncate", slot, { op: "truncate", slot, offset });
  }

  /** Kafka's truncateFullyAndStartAt(offset): as truncate, the log emptied and restarted at offset. */
  truncateFully(slot: number, offset: number): Promise<TruncateResult> {
    return this.checked("truncateFully", slot, { op: "truncateFully", slot, offset });
  }

  /** OffsetForLeaderEpoch from the partition's epoch cache (its error code in the result). */
  epochEndOffset(slot: number, leaderEpoch: number): Promise<EpochEndOffsetResult> {
    return this.send(this.writerOf(slot), {
      op: "epochEndOffset",
      slot,
      leaderEpoch,
    }) as Promise<EpochEndOffsetResult>;
  }

  /** The partition's epoch cache entries, oldest first, and its log end (tests, tooling). */
  epochs(slot: number): Promise<EpochsResult> {
    return this.send(this.writerOf(slot), { op: "epochs", slot }) as Promise<EpochsResult>;
  }

  /**
   * Append a transaction marker to a partition (after every batch sent to it before), fsynced
   * before this resolves; the answer's errorCode says whether it was refused.
   */
  appendMarker(
    slot: number,
    m: { producerId: number; producerEpoch: number; commit: boolean; coordinatorEpoch: number },
  ): Promise<AppendMarkerResult> {
    return this.send(this.writerOf(slot), { op: "appendMarker", slot, ...m }) as Promise<AppendMarkerResult>;
  }

  /** Every aborted transaction of a partition (its .txnindex files). */
  abortedTxns(slot: number): Promise<AbortedTxnsResult> {
    return this.checked("abortedTxns", slot, { op: "abortedTxns", slot });
  }

  /** What the log cleaner needs of a partition (its closed segments, producers' last batches). */
  cleanable(slot: number): Promise<CleanableResult> {
    return this.checked("cleanable", slot, { op: "cleanable", slot });
  }

  /**
   * Swap cleaned segment groups in (PartitionWriter.swapCleaned), after every append sent before;
   * resolves with the groups swapped (with their indexes). The caller gives the answer to the
   * partition's PartitionReader.segmentsReplaced() at once.
   */
  swapCleaned(
    slot: number,
    groups: CleanedGroup[],
    expected: [base: number, bytes: number][],
  ): Promise<SwapCleanedResult> {
    return this.checked("swapCleaned", slot, { op: "swapCleaned", slot, groups, expected });
  }

  /** A control whose result has an error code: resolved when it is NONE, else WriterOpError. */
  private async checked<T extends { errorCode: number }>(
    op: string,
    slot: number,
    msg: WriterControl,
  ): Promise<T> {
    const r = (await this.send(this.writerOf(slot), msg)) as T;
    if (r.errorCode !== ErrorCode.NONE) throw new WriterOpError(op, slot, r.errorCode);
    return r;
  }

  /** A control through the writer's ring; resolves with its report's result. */
  private send(writerIndex: number, msg: WriterControl): Promise<unknown> {
    const h = this.writers[writerIndex];
    if (h.exited) return Promise.reject(new Error(`partition writer ${writerIndex} has exited`));
    const tag = this.nextControlTag++;
    const payload = encodeControl(msg);
    // A control too big for the ring (the index of a huge recovered segment) takes the side path.
    const kind = payload.length > h.ring.maxPayload ? Kind.LARGE_CONTROL : Kind.CONTROL;
    const p: Pending = { kind, flags: 0, tag, slot: 0, payload, bytes: payload.length };
    return new Promise((resolve, reject) => {
      h.controls.set(tag, { resolve, reject });
      if (!h.backlog.idle() || !this.tryEnter(h, p)) this.enqueue(h, p);
    });
  }

  private onReport(h: WriterHandle, m: WriterReport): void {
    switch (m.type) {
      case "appended":
        this.wake(h);
        this.onAppended(m.records, m.records.length / COMPLETION_FIELDS);
        break;
      case "control": {
        this.wake(h);
        const c = h.controls.get(m.tag);
        h.controls.delete(m.tag);
        if (c) m.error === null ? c.resolve(m.result) : c.reject(new Error(m.error));
        break;
      }
      case "fatal":
        this.onFatal(m.error);
        break;
    }
  }

  async shutdown(): Promise<void> {
    await Promise.allSettled(this.writers.map((_, i) => this.control(i, { op: "shutdown" })));
    await Promise.all(this.writers.map((w) => (w.exited ? undefined : w.worker.terminate())));
  }
}
