// A partition writer's transaction state (Kafka's ProducerStateManager's transaction half plus
// the segments' TransactionIndex): the open transactions (transactions.ts: first offsets, the
// first unstable offset, which bounds read_committed fetches and the cleaner), and the aborted
// transactions written to each segment's .txnindex (txn_index.ts) when their ABORT marker is
// appended, for Fetch's aborted_transactions.
//
// Durable without a write per batch, as the producer state: transaction-state.json beside the
// segments at every clean close, {"logEndOffset": N, "txns": TransactionsJSON}; read back at open
// when it describes exactly the log end; otherwise rebuilt from the batch headers of the log
// (control batches read whole), which also rewrites every segment's .txnindex from the ABORT
// markers found (an index entry may be missing after a crash: it is written after its marker,
// unsynced). A partition whose producers are all unknown (no idempotent batch in its log, so no
// transactional one either) skips the rebuild.

import * as fs from "node:fs";
import { join } from "node:path";
import type { BatchCheck } from "../protocol/record_batch.ts";
import { logFile } from "./segment_files.ts";
import {
  type CompletedTxn,
  PartitionTransactions,
  segmentTxnHeaders,
  type TransactionsJSON,
  type TxnBatchHeader,
} from "./transactions.ts";
import { type AbortedTxn, TransactionIndex, txnIndexFile } from "./txn_index.ts";

export const TXN_SNAPSHOT_FILE = "transaction-state.json";

export class PartitionTxnState {
  txns: PartitionTransactions;
  /** The .txnindex of each segment that has (or had) one, by segment base. */
  private readonly indexes = new Map<number, TransactionIndex>();

  private constructor(
    private readonly dir: string,
    txns: PartitionTransactions,
  ) {
    this.txns = txns;
  }

  /**
   * The state at open: the snapshot when it matches `logEndOffset`; otherwise, when `rebuild`
   * (the log may hold transactional batches), rebuilt from `segmentBases` (ascending) and every
   * .txnindex rewritten from the markers found.
   */
  static open(
    dir: string,
    logEndOffset: number,
    segmentBases: readonly number[],
    rebuild: boolean,
  ): PartitionTxnState {
    const loaded = PartitionTxnState.readSnapshot(dir, logEndOffset);
    if (loaded !== null) return new PartitionTxnState(dir, loaded);
    if (!rebuild) return new PartitionTxnState(dir, new PartitionTransactions());
    const s = new PartitionTxnState(dir, new PartitionTransactions());
    s.rebuildFrom(segmentBases);
    return s;
  }

  private static readSnapshot(dir: string, logEndOffset: number): PartitionTransactions | null {
    let text: string;
    try {
      text = fs.readFileSync(join(dir, TXN_SNAPSHOT_FILE), "utf8");
    } catch {
      return null;
    }
    try {
      const j = JSON.parse(text) as { logEndOffset: number; txns: TransactionsJSON };
      if (j.logEndOffset !== logEndOffset) return null;
      return PartitionTransactions.fromJSON(j.txns);
    } catch {
      return null;
    }
  }

  /** The state and every .txnindex from the log's batch headers (a crash, a truncation). */
  rebuildFrom(segmentBases: readonly number[]): void {
    const aborted = new Map<number, AbortedTxn[]>();
    let segment = -1;
    const headers = function* (dir: string): Generator<TxnBatchHeader> {
      for (const base of segmentBases) {
        segment = base;
        yield* segmentTxnHeaders(logFile(dir, base));
      }
    };
    this.txns = PartitionTransactions.rebuild(headers(this.dir), {
      onCompleted: (c) => {
        if (!c.aborted) return;
        let list = aborted.get(segment);
        if (list === undefined) aborted.set(segment, (list = []));
        list.push(entryOf(c));
      },
    });
    for (const base of segmentBases) {
      const index = this.index(base);
      index.reset();
      for (const e of aborted.get(base) ?? []) index.append(e);
    }
  }

  /** NONE, or why the leader must refuse this batch (transactions.ts check). */
  check(h: TxnBatchHeader): BatchCheck {
    return this.txns.check(h);
  }

  /**
   * A batch appended to the segment at `segmentBase` (produced, a marker, a replica's): its
   * transaction opened or completed; an ABORT's transaction goes to the segment's .txnindex.
   */
  onBatch(h: TxnBatchHeader, segmentBase: number): CompletedTxn | null {
    const c = this.txns.onBatch(h);
    if (c?.aborted) this.index(segmentBase).append(entryOf(c));
    return c;
  }

  /** The first offset of the earliest open transaction, -1 when none is open. */
  get firstUnstableOffset(): number {
    return this.txns.firstUndecidedOffset() ?? -1;
  }

  /** Every aborted transaction of the log, ascending. */
  aborted(segmentBases: readonly number[]): AbortedTxn[] {
    const out: AbortedTxn[] = [];
    for (const base of segmentBases) {
      if (!this.indexes.has(base) && !fs.existsSync(txnIndexFile(this.dir, base))) continue;
      out.push(...this.index(base).entries());
    }
    return out;
  }

  /** The log was cut at `offset`: entries from there on go (deleted segments: dropSegment). */
  truncateTo(offset: number, segmentBases: readonly number[]): void {
    for (const base of segmentBases) {
      if (!this.indexes.has(base) && !fs.existsSync(txnIndexFile(this.dir, base))) continue;
      this.index(base).truncateTo(offset);
    }
  }

  /** A segment was deleted (retention, truncation): its .txnindex goes with it. */
  dropSegment(base: number): void {
    const i = this.indexes.get(base);
    this.indexes.delete(base);
    if (i !== undefined) i.delete();
    else fs.rmSync(txnIndexFile(this.dir, base), { force: true });
  }

  /** The aborted transactions in the .txnindex of each of `bases` (before a swap replaces them). */
  entriesOf(bases: readonly number[]): AbortedTxn[] {
    const entries: AbortedTxn[] = [];
    for (const b of bases)
      if (this.indexes.has(b) || fs.existsSync(txnIndexFile(this.dir, b)))
        entries.push(...this.index(b).entries());
    return entries;
  }

  /**
   * Cleaned segments replaced `replaces` by one at `base`: their entries (entriesOf, read before
   * the swap; the cleaner keeps the markers) become the new segment's .txnindex.
   */
  replaceSegments(replaces: readonly number[], base: number, entries: readonly AbortedTxn[]): void {
    for (const b of replaces) this.dropSegment(b);
    if (entries.length === 0) return;
    const merged = this.index(base);
    merged.reset();
    for (const e of entries) merged.append(e);
  }

  flush(): void {
    for (const i of this.indexes.values()) i.flush();
  }

  /** Write the snapshot (clean close) and close the index files. */
  save(logEndOffset: number): void {
    const path = join(this.dir, TXN_SNAPSHOT_FILE);
    fs.writeFileSync(`${path}.tmp`, JSON.stringify({ logEndOffset, txns: this.txns.toJSON() }));
    fs.renameSync(`${path}.tmp`, path);
  }

  close(): void {
    for (const i of this.indexes.values()) i.close();
  }

  /** Forget everything (the log was emptied): indexes of `segmentBases` deleted. */
  clear(segmentBases: readonly number[]): void {
    for (const b of segmentBases) this.dropSegment(b);
    this.txns = new PartitionTransactions();
    fs.rmSync(join(this.dir, TXN_SNAPSHOT_FILE), { force: true });
  }

  private index(base: number): TransactionIndex {
    let i = this.indexes.get(base);
    if (i === undefined) {
      i = TransactionIndex.open(this.dir, base);
      this.indexes.set(base, i);
    }
    return i;
  }
}

function entryOf(c: CompletedTxn): AbortedTxn {
  return {
    producerId: c.producerId,
    firstOffset: c.firstOffset,
    lastOffset: c.lastOffset,
    lastStableOffset: c.lastStableOffset,
  };
}
