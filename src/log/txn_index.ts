// The aborted-transaction index of one segment, Kafka's TransactionIndex: a file beside the
// segment, <20-digit base offset>.txnindex, listing the transactions aborted by an ABORT marker
// written in that segment (a transaction may start in an earlier segment). A read_committed
// fetch asks it which aborted transactions overlap the range it returns, and sends them in the
// response (FetchResponse.aborted_transactions) so the consumer drops their records.
//
// The file is a plain sequence of 34-byte entries (Kafka's AbortedTxn), big-endian, in the order
// the markers were appended (so lastOffset strictly increases):
//
//    0  version           int16  0
//    2  producerId        int64
//   10  firstOffset       int64  the transaction's first offset in this partition
//   18  lastOffset        int64  the offset of its ABORT marker
//   26  lastStableOffset  int64  the partition's LSO once it completed: the first offset of the
//                                earliest transaction still open then, or lastOffset + 1
//
// Nothing else: no header, no preallocation (Kafka creates the file on the first append). The
// entries are read into memory (a Buffer of the file's own bytes, 34 per entry) on first use.
// A torn tail (a crash in the middle of an append) is dropped at load and cut from the file; so
// is everything from the first entry that is not version 0 or breaks the order (garbage after a
// crash: recovery rebuilds a segment's index from its log, as Kafka's LogSegment.recover does).

import * as fs from "node:fs";
import { join } from "node:path";
import { readInt64, writeInt64 } from "../protocol/int64.ts";

export const TXN_INDEX_VERSION = 0;
export const TXN_INDEX_ENTRY_BYTES = 34;
const PRODUCER_ID_AT = 2;
const FIRST_OFFSET_AT = 10;
const LAST_OFFSET_AT = 18;
const LAST_STABLE_OFFSET_AT = 26;

/** One entry (Kafka's AbortedTxn). */
export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  lastStableOffset: number;
}

/** "<dir>/<20-digit base offset>.txnindex", named as segment_files.ts names .log and .index. */
export function txnIndexFile(dir: string, baseOffset: number): string {
  return join(dir, `${String(baseOffset).padStart(20, "0")}.txnindex`);
}

/** The 34 bytes of one entry. */
export function encodeAbortedTxn(e: AbortedTxn): Buffer {
  const b = Buffer.alloc(TXN_INDEX_ENTRY_BYTES);
  b.writeInt16BE(TXN_INDEX_VERSION, 0);
  writeInt64(b, PRODUCER_ID_AT, e.producerId);
  writeInt64(b, FIRST_OFFSET_AT, e.firstOffset);
  writeInt64(b, LAST_OFFSET_AT, e.lastOffset);
  writeInt64(b, LAST_STABLE_OFFSET_AT, e.lastStableOffset);
  return b;
}

function entryAt(b: Uint8Array, at: number): AbortedTxn {
  return {
    producerId: readInt64(b, at + PRODUCER_ID_AT),
    firstOffset: readInt64(b, at + FIRST_OFFSET_AT),
    lastOffset: readInt64(b, at + LAST_OFFSET_AT),
    lastStableOffset: readInt64(b, at + LAST_STABLE_OFFSET_AT),
  };
}

/** What one index says of a fetch range (Kafka's TxnIndexSearchResult). */
export interface TxnIndexSearch {
  aborted: AbortedTxn[];
  /**
   * An entry's lastStableOffset reached the range's upper bound: every transaction aborted in a
   * later segment started at or after it, outside the range, so the search may stop here.
   */
  complete: boolean;
}

export class TransactionIndex {
  /** The file's entries; only [0, count * 34) is meaningful. null until loaded. */
  private data: Buffer | null = null;
  private count = 0;
  private fd: number | null = null;

  constructor(
    readonly path: string,
    readonly baseOffset: number,
  ) {}

  /** The index of the segment at `baseOffset` in `dir` (the file need not exist). */
  static open(dir: string, baseOffset: number): TransactionIndex {
    return new TransactionIndex(txnIndexFile(dir, baseOffset), baseOffset);
  }

  get size(): number {
    this.load();
    return this.count;
  }

  /** The last entry's lastOffset, null when there is none. */
  get lastOffset(): number | null {
    this.load();
    return this.count === 0
      ? null
      : readInt64(this.data!, (this.count - 1) * TXN_INDEX_ENTRY_BYTES + LAST_OFFSET_AT);
  }

  /**
   * Append one aborted transaction (after its ABORT marker is in the segment). Its lastOffset
   * must be above the last entry's, as Kafka requires. `fsync` forces it to disk before
   * returning (otherwise it goes with the segment's next flush, or is rebuilt by recovery).
   */
  append(e: AbortedTxn, fsync = false): void {
    const last = this.lastOffset;
    if (last !== null && e.lastOffset <= last) {
      throw new RangeError(
        `${this.path}: aborted transaction ending at ${e.lastOffset} is not after the last entry's ${last}`,
      );
    }
    const bytes = encodeAbortedTxn(e);
    if (this.fd === null) this.fd = fs.openSync(this.path, "a");
    fs.writeSync(this.fd, bytes, 0, bytes.length);
    if (fsync) fs.fsyncSync(this.fd);
    this.put(bytes);
  }

  /** fsync the file (when it was appended to). */
  flush(): void {
    if (this.fd !== null) fs.fsyncSync(this.fd);
  }

  /** Every entry, in file order. */
  entries(): AbortedTxn[] {
    this.load();
    const out: AbortedTxn[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = entryAt(this.data!, i * TXN_INDEX_ENTRY_BYTES);
    return out;
  }

  /**
   * The aborted transactions overlapping [fetchOffset, upperBoundOffset): lastOffset >=
   * fetchOffset and firstOffset < upperBoundOffset (Kafka's TransactionIndex.collectAbortedTxns).
   */
  collectAbortedTxns(fetchOffset: number, upperBoundOffset: number): AbortedTxn[] {
    return this.search(fetchOffset, upperBoundOffset).aborted;
  }

  /** collectAbortedTxns with Kafka's "search complete" flag (see TxnIndexSearch). */
  search(fetchOffset: number, upperBoundOffset: number): TxnIndexSearch {
    this.load();
    const aborted: AbortedTxn[] = [];
    const data = this.data!;
    // Entries before the first one whose lastOffset >= fetchOffset cannot overlap (lastOffset
    // increases), and their lastStableOffset is at most their lastOffset + 1 <= fetchOffset <
    // upperBoundOffset, so they could not have ended the search either.
    for (let i = this.firstEndingAtOrAfter(fetchOffset); i < this.count; i++) {
      const at = i * TXN_INDEX_ENTRY_BYTES;
      if (readInt64(data, at + FIRST_OFFSET_AT) < upperBoundOffset) aborted.push(entryAt(data, at));
      if (readInt64(data, at + LAST_STABLE_OFFSET_AT) >= upperBoundOffset) return { aborted, complete: true };
    }
    return { aborted, complete: false };
  }

  /** Drop the entries with lastOffset >= offset (the log is cut at `offset`). */
  truncateTo(offset: number): void {
    this.load();
    const keep = this.firstEndingAtOrAfter(offset);
    if (keep === this.count) return;
    this.count = keep;
    this.cutFile(keep * TXN_INDEX_ENTRY_BYTES);
  }

  /** Remove every entry (Kafka's reset: the segment's index is to be rebuilt). */
  reset(): void {
    this.load();
    this.count = 0;
    this.cutFile(0);
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  /** Close and delete the file (the segment is deleted). */
  delete(): void {
    this.close();
    fs.rmSync(this.path, { force: true });
    this.data = Buffer.alloc(0);
    this.count = 0;
  }

  /** The first entry whose lastOffset >= offset (count when none): lastOffset increases. */
  private firstEndingAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (readInt64(this.data!, mid * TXN_INDEX_ENTRY_BYTES + LAST_OFFSET_AT) < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private put(bytes: Buffer): void {
    const need = (this.count + 1) * TXN_INDEX_ENTRY_BYTES;
    if (this.data!.length < need) {
      const next = Buffer.alloc(Math.max(need, this.data!.length * 2, 16 * TXN_INDEX_ENTRY_BYTES));
      this.data!.copy(next, 0, 0, this.count * TXN_INDEX_ENTRY_BYTES);
      this.data = next;
    }
    bytes.copy(this.data!, this.count * TXN_INDEX_ENTRY_BYTES);
    this.count++;
  }

  private cutFile(bytes: number): void {
    if (this.fd !== null) fs.ftruncateSync(this.fd, bytes);
    else if (fs.existsSync(this.path)) fs.truncateSync(this.path, bytes);
  }

  /** Read the file once: whole, well-ordered version-0 entries; anything after them is cut off. */
  private load(): void {
    if (this.data !== null) return;
    let file: Buffer;
    try {
      file = fs.readFileSync(this.path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      this.data = Buffer.alloc(0);
      this.count = 0;
      return;
    }
    const whole = Math.floor(file.length / TXN_INDEX_ENTRY_BYTES);
    let good = 0;
    let prevLast = -Infinity;
    for (; good < whole; good++) {
      const at = good * TXN_INDEX_ENTRY_BYTES;
      if (file.readInt16BE(at) !== TXN_INDEX_VERSION) break;
      const first = readInt64(file, at + FIRST_OFFSET_AT);
      const last = readInt64(file, at + LAST_OFFSET_AT);
      if (last <= prevLast || first > last) break;
      prevLast = last;
    }
    this.data = file;
    this.count = good;
    if (good * TXN_INDEX_ENTRY_BYTES !== file.length)
      fs.truncateSync(this.path, good * TXN_INDEX_ENTRY_BYTES);
  }
}

/**
 * The aborted transactions overlapping [fetchOffset, upperBoundOffset) across a partition's
 * segments (Kafka's UnifiedLog.collectAbortedTransactions): `indexes` are those of the segment
 * holding fetchOffset and every later one, ascending; the search stops at the first index whose
 * answer is complete.
 */
export function collectAbortedTxns(
  indexes: Iterable<TransactionIndex>,
  fetchOffset: number,
  upperBoundOffset: number,
): AbortedTxn[] {
  const out: AbortedTxn[] = [];
  for (const index of indexes) {
    const r = index.search(fetchOffset, upperBoundOffset);
    for (const e of r.aborted) out.push(e);
    if (r.complete) break;
  }
  return out;
}
