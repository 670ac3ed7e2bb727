// The idempotent producer's state of one partition, kept by its writer: per producer id, its
// epoch and the sequence numbers and offsets of its last five batches (Kafka's
// ProducerStateManager), so a retried batch is answered with the offset it got the first time
// instead of being stored twice, and a gap or a stale epoch is refused.
//
// Checks, for a batch of producer id P, epoch E, sequences [first, last] (Kafka's order):
//   P known, E older than P's        INVALID_PRODUCER_EPOCH
//   P known, same E, [first, last] one of the cached five     duplicate: the original base offset
//   P known, newer E, first != 0     OUT_OF_ORDER_SEQUENCE_NUMBER
//   P unknown, first != 0            UNKNOWN_PRODUCER_ID (the client resets, KIP-360)
//   P known, same E, first != the last batch's last + 1 (mod 2^31)  OUT_OF_ORDER_SEQUENCE_NUMBER
//
// Durable without a write per batch: at every clean close the state goes to producer-state.json
// beside the segments (empty ones too, so a clean start never scans), with the log end offset
// it describes; at open it is read back when that offset is the log's end and the file parses,
// and otherwise rebuilt from the batch headers of the log (after a crash). No fsync: a snapshot
// lost, torn or left from before is either refused (it does not parse, or describes another log
// end) or describes exactly this log. Producers whose last batch is older than producer.id.expiration.ms are dropped at
// open and at close; at most MAX_PRODUCERS are kept (the least recently written goes first), so
// made-up producer ids cannot grow a writer's memory.
//
// producer-state.json: {"logEndOffset": N, "producers": [[id, epoch, lastTimestamp,
//   [[firstSeq, lastSeq, baseOffset], ...]], ...]}   (oldest batch first)

import * as fs from "node:fs";
import { join } from "node:path";
import { ErrorCode } from "../protocol/error_codes.ts";
import {
  ATTR_CONTROL,
  ATTRIBUTES,
  BASE_OFFSET,
  BASE_SEQUENCE,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAX_TIMESTAMP,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  readInt64,
} from "../protocol/record_batch.ts";
import { logFile } from "./segment_files.ts";

/** Batches remembered per producer (Kafka's ProducerStateEntry.NUM_BATCHES_TO_RETAIN). */
export const BATCHES_KEPT = 5;
/** Producers remembered per partition. */
export const MAX_PRODUCERS = 10_000;
export const SNAPSHOT_FILE = "producer-state.json";

interface Entry {
  epoch: number;
  lastTimestamp: number;
  /** [firstSeq, lastSeq, baseOffset], oldest first. */
  batches: [number, number, number][];
}

export type SequenceCheck =
  | { kind: "append" }
  | { kind: "duplicate"; baseOffset: number }
  | { kind: "refuse"; error: number; message: string };

const APPEND: SequenceCheck = { kind: "append" };

/** One producer as DescribeProducers shows it. */
export interface ActiveProducer {
  producerId: number;
  producerEpoch: number;
  /** The last sequence of its newest batch, -1 when none is remembered. */
  lastSequence: number;
  /** Its newest batch's max timestamp. */
  lastTimestamp: number;
  /** The first offset of its open transaction here (set by the writer), absent or -1 when none. */
  currentTxnStartOffset?: number;
}

/** The last sequence of a batch: first + lastOffsetDelta, wrapping past int32's largest. */
function lastSequence(first: number, delta: number): number {
  const last = first + delta;
  return last > 0x7fffffff ? last - 0x80000000 : last;
}

function inSequence(last: number, next: number): boolean {
  return next === last + 1 || (next === 0 && last === 0x7fffffff);
}

export class ProducerStates {
  private readonly entries = new Map<number, Entry>();

  get size(): number {
    return this.entries.size;
  }

  /** The producers remembered (least recently written first), read only (DescribeProducers). */
  active(): ActiveProducer[] {
    const out: ActiveProducer[] = [];
    for (const [producerId, e] of this.entries) {
      const last = e.batches[e.batches.length - 1];
      out.push({
        producerId,
        producerEpoch: e.epoch,
        lastSequence: last === undefined ? -1 : last[1],
        lastTimestamp: e.lastTimestamp,
      });
    }
    return out;
  }

  /**
   * Per producer id (as a decimal string): the last offset of its newest batch, which the log
   * cleaner keeps so that this state can be rebuilt from a cleaned log (Kafka's
   * lastRecordsOfActiveProducers).
   */
  lastBatchOffsets(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, e] of this.entries) {
      const b = e.batches[e.batches.length - 1];
      if (b === undefined) continue;
      const delta = b[1] >= b[0] ? b[1] - b[0] : b[1] + 0x80000000 - b[0];
      out[String(id)] = b[2] + delta;
    }
    return out;
  }

  /** Whether an idempotent batch (producer id >= 0) may be appended, is a retry, or is refused. */
  check(batch: Buffer): SequenceCheck {
    const id = readInt64(batch, PRODUCER_ID);
    const epoch = batch.readInt16BE(PRODUCER_EPOCH);
    const first = batch.readInt32BE(BASE_SEQUENCE);
    if (first < 0 || epoch < 0) {
      return {
        kind: "refuse",
        error: ErrorCode.INVALID_RECORD,
        message: `producer id ${id} with epoch ${epoch} and base sequence ${first}`,
      };
    }
    const last = lastSequence(first, batch.readInt32BE(LAST_OFFSET_DELTA));
    const e = this.entries.get(id);
    if (e === undefined) {
      if (first === 0) return APPEND;
      return {
        kind: "refuse",
        error: ErrorCode.UNKNOWN_PRODUCER_ID,
        message: `no state for producer id ${id}, and its batch starts at sequence ${first}`,
      };
    }
    if (epoch < e.epoch) {
      return {
        kind: "refuse",
        error: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer id ${id}: epoch ${epoch} is older than ${e.epoch}`,
      };
    }
    if (epoch > e.epoch) {
      if (first === 0) return APPEND;
      return {
        kind: "refuse",
        error: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer id ${id}: a new epoch ${epoch} starts at sequence ${first}, not 0`,
      };
    }
    for (const [f, l, base] of e.batches)
      if (f === first && l === last) return { kind: "duplicate", baseOffset: base };
    const prev = e.batches.length > 0 ? e.batches[e.batches.length - 1][1] : -1;
    if (prev >= 0 && !inSequence(prev, first)) {
      return {
        kind: "refuse",
        error: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
        message: `producer id ${id}: sequence ${first} after ${prev}`,
      };
    }
    return APPEND;
  }

  /**
   * Whether a transaction marker of (producer id, epoch) may be appended: an epoch older than
   * the producer's is INVALID_PRODUCER_EPOCH (its coordinator fenced it since), else null.
   */
  checkMarker(producerId: number, epoch: number): SequenceCheck | null {
    const e = this.entries.get(producerId);
    if (e !== undefined && epoch < e.epoch)
      return {
        kind: "refuse",
        error: ErrorCode.INVALID_PRODUCER_EPOCH,
        message: `producer id ${producerId}: marker epoch ${epoch} is older than ${e.epoch}`,
      };
    return null;
  }

  /** Remember a batch that was appended (or read back from the log) at `baseOffset`. */
  record(batch: Buffer, baseOffset: number): void {
    const id = readInt64(batch, PRODUCER_ID);
    if (id < 0) return;
    const epoch = batch.readInt16BE(PRODUCER_EPOCH);
    if ((batch.readInt16BE(ATTRIBUTES) & ATTR_CONTROL) !== 0) {
      // A transaction marker (Kafka's appendEndTxnMarker): a newer epoch replaces the producer's
      // (its sequences start again at 0); no batch to remember.
      const had = this.entries.get(id);
      if (had !== undefined && epoch <= had.epoch) return;
      if (had !== undefined) this.entries.delete(id);
      this.entries.set(id, { epoch, lastTimestamp: readInt64(batch, MAX_TIMESTAMP), batches: [] });
      if (this.entries.size > MAX_PRODUCERS) this.entries.delete(this.entries.keys().next().value as number);
      return;
    }
    const first = batch.readInt32BE(BASE_SEQUENCE);
    const last = lastSequence(first, batch.readInt32BE(LAST_OFFSET_DELTA));
    let e = this.entries.get(id);
    if (e !== undefined) this.entries.delete(id); // re-inserted last: the map is in LRU order
    if (e === undefined || epoch !== e.epoch) e = { epoch, lastTimestamp: 0, batches: [] };
    e.lastTimestamp = readInt64(batch, MAX_TIMESTAMP);
    e.batches.push([first, last, baseOffset]);
    if (e.batches.length > BATCHES_KEPT) e.batches.shift();
    this.entries.set(id, e);
    if (this.entries.size > MAX_PRODUCERS) this.entries.delete(this.entries.keys().next().value as number);
  }

  /** Drop producers whose last batch is older than `expirationMs` before `nowMs`. */
  expire(nowMs: number, expirationMs: number): void {
    for (const [id, e] of this.entries) if (nowMs - e.lastTimestamp > expirationMs) this.entries.delete(id);
  }

  toJSON(logEndOffset: number): string {
    const producers = [...this.entries].map(([id, e]) => [id, e.epoch, e.lastTimestamp, e.batches]);
    return JSON.stringify({ logEndOffset, producers });
  }

  /** Write the snapshot (at a clean close): a temporary file renamed over the old one. */
  save(dir: string, logEndOffset: number): void {
    const path = join(dir, SNAPSHOT_FILE);
    fs.writeFileSync(`${path}.tmp`, this.toJSON(logEndOffset));
    fs.renameSync(`${path}.tmp`, path);
  }

  /**
   * The state at open: the snapshot when it describes exactly this log end, else rebuilt from
   * the batch headers of the segments (`segmentBases`, ascending). The snapshot stays: one left
   * behind by later appends no longer matches the log end (and a log cut back to it by a crash
   * is again the log it describes).
   */
  static open(dir: string, logEndOffset: number, segmentBases: readonly number[]): ProducerStates {
    let text: string | null = null;
    try {
      text = fs.readFileSync(join(dir, SNAPSHOT_FILE), "utf8");
    } catch {}
    if (text !== null) {
      const loaded = ProducerStates.parse(text, logEndOffset);
      if (loaded !== null) return loaded;
    }
    const s = new ProducerStates();
    for (const base of segmentBases) s.scanSegment(logFile(dir, base));
    return s;
  }

  private static parse(text: string, logEndOffset: number): ProducerStates | null {
    try {
      const j = JSON.parse(text) as {
        logEndOffset: number;
        producers: [number, number, number, Entry["batches"]][];
      };
      if (j.logEndOffset !== logEndOffset || !Array.isArray(j.producers)) return null;
      const s = new ProducerStates();
      for (const [id, epoch, lastTimestamp, batches] of j.producers)
        s.entries.set(id, { epoch, lastTimestamp, batches: batches.slice(-BATCHES_KEPT) });
      return s;
    } catch {
      return null;
    }
  }

  /** Remember every idempotent batch of one segment, reading only batch headers. */
  private scanSegment(path: string): void {
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
        if (length < BATCH_HEADER_BYTES) break; // recovery has cut the log at its last whole batch
        this.record(header, readInt64(header, BASE_OFFSET));
        pos += length;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
}
