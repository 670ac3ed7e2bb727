// The aborted-transaction index (src/log/txn_index.ts): the 34-byte entry as Kafka's AbortedTxn
// writes it, the file name, append order, the fetch-range query and its stop condition (one
// segment and across segments), truncation, reset and delete, and loading a file with a torn or
// garbled tail.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  type AbortedTxn,
  collectAbortedTxns,
  encodeAbortedTxn,
  TransactionIndex,
  TXN_INDEX_ENTRY_BYTES,
  txnIndexFile,
} from "../../src/log/txn_index.ts";

// Own temp dirs (not fixtures/log_helpers.ts, which loads the whole partition writer).
const makeTemp = (prefix: string): string => fs.mkdtempSync(join(tmpdir(), `milena-${prefix}-`));
const rmTemp = (d: string): void => fs.rmSync(d, { recursive: true, force: true });

let dir: string;
beforeEach(() => {
  dir = makeTemp("txnindex");
});
afterEach(() => rmTemp(dir));

const txn = (
  producerId: number,
  firstOffset: number,
  lastOffset: number,
  lastStableOffset: number,
): AbortedTxn => ({
  producerId,
  firstOffset,
  lastOffset,
  lastStableOffset,
});

describe("entry format and file name", () => {
  it("writes version 0 then four int64s, 34 bytes", () => {
    const b = encodeAbortedTxn(txn(0x0102030405, 10, 2 ** 40, 2 ** 40 + 1));
    assert.equal(b.length, TXN_INDEX_ENTRY_BYTES);
    assert.equal(
      b.toString("hex"),
      "0000" + // version
        "0000000102030405" + // producerId
        "000000000000000a" + // firstOffset 10
        "0000010000000000" + // lastOffset 2^40
        "0000010000000001", // lastStableOffset 2^40 + 1
    );
  });

  it("names the file after the segment's base offset, 20 digits", () => {
    assert.equal(txnIndexFile("/d", 0), join("/d", "00000000000000000000.txnindex"));
    assert.equal(txnIndexFile("/d", 1234), join("/d", "00000000000000001234.txnindex"));
  });
});

describe("TransactionIndex", () => {
  it("creates its file on the first append only, and reads back what it wrote", () => {
    const idx = TransactionIndex.open(dir, 100);
    assert.deepEqual(idx.entries(), []);
    assert.equal(idx.lastOffset, null);
    assert.equal(fs.existsSync(txnIndexFile(dir, 100)), false);
    idx.append(txn(1, 100, 105, 106));
    idx.append(txn(2, 101, 110, 111), true);
    idx.close();
    assert.equal(fs.statSync(txnIndexFile(dir, 100)).size, 2 * TXN_INDEX_ENTRY_BYTES);
    const again = TransactionIndex.open(dir, 100);
    assert.deepEqual(again.entries(), [txn(1, 100, 105, 106), txn(2, 101, 110, 111)]);
    assert.equal(again.lastOffset, 110);
    assert.equal(again.size, 2);
  });

  it("refuses an entry that does not end after the last one", () => {
    const idx = TransactionIndex.open(dir, 0);
    idx.append(txn(1, 0, 5, 6));
    assert.throws(() => idx.append(txn(2, 1, 5, 6)), RangeError);
    assert.throws(() => idx.append(txn(2, 1, 4, 6)), RangeError);
    idx.append(txn(2, 1, 6, 7));
    idx.close();
  });

  it("collects the aborted transactions overlapping a fetch range", () => {
    const idx = TransactionIndex.open(dir, 0);
    idx.append(txn(1, 0, 10, 3)); // [0, 10], another txn open from 3
    idx.append(txn(2, 3, 20, 15)); // [3, 20]
    idx.append(txn(3, 15, 30, 31)); // [15, 30]
    idx.append(txn(4, 40, 50, 51)); // [40, 50]
    const pids = (from: number, to: number): number[] =>
      idx.collectAbortedTxns(from, to).map((e) => e.producerId);
    assert.deepEqual(pids(0, 100), [1, 2, 3, 4]);
    assert.deepEqual(pids(11, 16), [2, 3]); // 1 ends before 11; 4 starts after 16
    assert.deepEqual(pids(10, 11), [1, 2]); // lastOffset 10 >= 10 is in; firstOffset 15 < 11 is not
    assert.deepEqual(pids(31, 40), []); // 4 starts at the upper bound, exclusive
    assert.deepEqual(pids(51, 60), []);
    idx.close();
  });

  it("says when the search is complete: an entry's LSO reached the upper bound", () => {
    const idx = TransactionIndex.open(dir, 0);
    idx.append(txn(1, 0, 10, 3));
    idx.append(txn(2, 3, 20, 21));
    assert.deepEqual(idx.search(0, 5), { aborted: [txn(1, 0, 10, 3), txn(2, 3, 20, 21)], complete: true });
    assert.equal(idx.search(0, 22).complete, false);
    assert.equal(idx.search(0, 21).complete, true); // LSO 21 >= upper bound 21
    // Completed at the first entry: the second is not looked at.
    const early = TransactionIndex.open(dir, 50);
    early.append(txn(7, 50, 60, 61));
    early.append(txn(8, 52, 70, 71));
    assert.deepEqual(early.search(55, 58), { aborted: [txn(7, 50, 60, 61)], complete: true });
    idx.close();
    early.close();
  });

  it("collects across segments and stops at the first complete one", () => {
    const a = TransactionIndex.open(dir, 0);
    const b = TransactionIndex.open(dir, 100);
    const c = TransactionIndex.open(dir, 200);
    a.append(txn(1, 5, 50, 40)); // txn 2 open since 40
    b.append(txn(2, 40, 150, 151));
    c.append(txn(3, 160, 250, 251));
    let searchedAfterB = false;
    const spy = {
      search: (from: number, to: number) => {
        searchedAfterB = true;
        return c.search(from, to);
      },
    } as unknown as TransactionIndex;
    // b's LSO 151 >= 130: nothing aborted later can overlap [0, 130), the spy is not asked.
    assert.deepEqual(
      collectAbortedTxns([a, b, spy], 0, 130).map((e) => e.producerId),
      [1, 2],
    );
    assert.equal(searchedAfterB, false);
    assert.deepEqual(
      collectAbortedTxns([a, b, spy], 0, 300).map((e) => e.producerId),
      [1, 2, 3],
    );
    assert.equal(searchedAfterB, true);
    for (const i of [a, b, c]) i.close();
  });

  it("truncates to an offset: entries whose marker is at or past it go, in memory and on disk", () => {
    const idx = TransactionIndex.open(dir, 0);
    idx.append(txn(1, 0, 10, 11));
    idx.append(txn(2, 11, 20, 21));
    idx.append(txn(3, 21, 30, 31));
    idx.truncateTo(20);
    assert.deepEqual(
      idx.entries().map((e) => e.producerId),
      [1],
    );
    idx.append(txn(4, 12, 25, 26)); // appends go on after the cut
    idx.close();
    assert.deepEqual(
      TransactionIndex.open(dir, 0)
        .entries()
        .map((e) => e.producerId),
      [1, 4],
    );
    const other = TransactionIndex.open(dir, 0);
    other.truncateTo(11);
    assert.equal(other.size, 1);
    other.truncateTo(0);
    assert.equal(other.size, 0);
    assert.equal(fs.statSync(txnIndexFile(dir, 0)).size, 0);
  });

  it("reset empties it; delete removes the file", () => {
    const idx = TransactionIndex.open(dir, 0);
    idx.append(txn(1, 0, 10, 11));
    idx.reset();
    assert.equal(idx.size, 0);
    assert.equal(fs.statSync(idx.path).size, 0);
    idx.append(txn(1, 0, 10, 11));
    idx.delete();
    assert.equal(fs.existsSync(idx.path), false);
    assert.equal(idx.size, 0);
  });

  it("drops a torn last entry at load and cuts it from the file", () => {
    const path = txnIndexFile(dir, 0);
    fs.writeFileSync(
      path,
      Buffer.concat([
        encodeAbortedTxn(txn(1, 0, 10, 11)),
        encodeAbortedTxn(txn(2, 11, 20, 21)).subarray(0, 20),
      ]),
    );
    const idx = TransactionIndex.open(dir, 0);
    assert.deepEqual(idx.entries(), [txn(1, 0, 10, 11)]);
    assert.equal(fs.statSync(path).size, TXN_INDEX_ENTRY_BYTES);
    idx.append(txn(3, 11, 20, 21)); // lands on an entry boundary
    idx.close();
    assert.deepEqual(
      TransactionIndex.open(dir, 0)
        .entries()
        .map((e) => e.producerId),
      [1, 3],
    );
  });

  it("stops at an entry of another version or out of order (garbage after a crash)", () => {
    const path = txnIndexFile(dir, 0);
    const unknown = encodeAbortedTxn(txn(2, 11, 20, 21));
    unknown.writeInt16BE(1, 0);
    fs.writeFileSync(
      path,
      Buffer.concat([encodeAbortedTxn(txn(1, 0, 10, 11)), unknown, encodeAbortedTxn(txn(3, 21, 30, 31))]),
    );
    assert.deepEqual(
      TransactionIndex.open(dir, 0)
        .entries()
        .map((e) => e.producerId),
      [1],
    );
    fs.writeFileSync(
      path,
      Buffer.concat([encodeAbortedTxn(txn(1, 0, 10, 11)), Buffer.alloc(TXN_INDEX_ENTRY_BYTES)]),
    );
    assert.equal(TransactionIndex.open(dir, 0).size, 1);
  });
});
