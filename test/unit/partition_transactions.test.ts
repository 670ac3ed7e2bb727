// A partition's transaction state (src/log/transactions.ts): transactions opened by
// transactional batches and completed by markers, the first unstable offset and the LSO (with
// completed transactions held back until the high watermark passes their marker), the LSO an
// aborted transaction's index entry records, the checks before an append, the bound on open
// transactions, follower truncation, the snapshot round trip, and the rebuild from batch headers
// (in memory and from a segment file).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  type CompletedTxn,
  PartitionTransactions,
  segmentTxnHeaders,
  type TxnBatchHeader,
  txnBatchHeader,
} from "../../src/log/transactions.ts";
import { encodeMarkerBatch } from "../../src/protocol/control_records.ts";
import { errorName } from "../../src/protocol/error_codes.ts";
import { writeInt64 } from "../../src/protocol/record_batch.ts";
import { idempotentBatch } from "../helpers/idempotent_batch.ts";

// Own temp dirs (not fixtures/log_helpers.ts, which loads the whole partition writer).
const makeTemp = (prefix: string): string => fs.mkdtempSync(join(tmpdir(), `milena-${prefix}-`));
const rmTemp = (d: string): void => fs.rmSync(d, { recursive: true, force: true });

/** A transactional data batch of `count` records at `at`. */
const data = (pid: number, at: number, count = 1, epoch = 0): TxnBatchHeader => ({
  producerId: pid,
  producerEpoch: epoch,
  baseOffset: at,
  lastOffset: at + count - 1,
  transactional: true,
  control: false,
});
const plain = (pid: number, at: number): TxnBatchHeader => ({ ...data(pid, at), transactional: false });
const marker = (
  pid: number,
  at: number,
  kind: "commit" | "abort" | "other",
  coordinatorEpoch = 0,
  epoch = 0,
): TxnBatchHeader => ({
  producerId: pid,
  producerEpoch: epoch,
  baseOffset: at,
  lastOffset: at,
  transactional: true,
  control: true,
  marker: kind,
  coordinatorEpoch,
});

const verdict = (t: PartitionTransactions, h: TxnBatchHeader): string => errorName(t.check(h).error);

describe("open and complete", () => {
  it("a transactional batch opens its producer's transaction, a marker completes it", () => {
    const t = new PartitionTransactions();
    assert.equal(t.firstUnstableOffset(), null);
    assert.equal(t.onBatch(data(1, 10, 3)), null);
    assert.equal(t.onBatch(data(1, 13, 2)), null); // still the same transaction
    assert.deepEqual(t.ongoing(), [{ producerId: 1, firstOffset: 10 }]);
    assert.equal(t.openTxnFirstOffset(1), 10);
    assert.equal(t.firstUnstableOffset(), 10);
    const c = t.onBatch(marker(1, 15, "commit"));
    assert.deepEqual(c, {
      producerId: 1,
      firstOffset: 10,
      lastOffset: 15,
      aborted: false,
      lastStableOffset: 16,
    });
    assert.deepEqual(t.ongoing(), []);
    assert.equal(t.openTxnFirstOffset(1), null);
    assert.equal(t.firstUndecidedOffset(), null);
    // The next transactional batch opens a new transaction.
    t.onBatch(data(1, 16));
    assert.equal(t.openTxnFirstOffset(1), 16);
  });

  it("an abort says so; a marker with nothing open, and other control batches, complete nothing", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(1, 0));
    assert.equal(t.onBatch(marker(1, 1, "abort"))?.aborted, true);
    assert.equal(t.onBatch(marker(1, 2, "abort")), null);
    t.onBatch(data(2, 3));
    assert.equal(t.onBatch(marker(2, 4, "other")), null);
    assert.equal(t.openTxnFirstOffset(2), 3);
    assert.equal(t.onBatch(plain(3, 5)), null);
    assert.equal(t.openTxnFirstOffset(3), null);
    assert.equal(t.onBatch({ ...data(-1, 6) }), null);
    assert.equal(t.openCount, 1);
  });

  it("an aborted entry's LSO is the next open transaction of another producer, else marker + 1", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(1, 0));
    t.onBatch(data(2, 1));
    t.onBatch(data(3, 2));
    assert.equal(t.onBatch(marker(2, 3, "abort"))?.lastStableOffset, 0); // 1 is still open from 0
    assert.equal(t.onBatch(marker(1, 4, "abort"))?.lastStableOffset, 2); // 3 from 2
    assert.equal(t.onBatch(marker(3, 5, "abort"))?.lastStableOffset, 6);
    t.onBatch(data(4, 6));
    assert.equal(t.completedLastStable({ producerId: 4, lastOffset: 9 }), 10);
    assert.equal(t.completedLastStable({ producerId: 5, lastOffset: 9 }), 6);
  });
});

describe("first unstable offset and LSO", () => {
  it("the LSO is the earliest open transaction's first offset, or the high watermark", () => {
    const t = new PartitionTransactions();
    assert.equal(t.lastStableOffset(7), 7);
    t.onBatch(data(1, 5));
    t.onBatch(data(2, 8));
    assert.equal(t.lastStableOffset(20), 5);
    assert.equal(t.lastStableOffset(3), 3);
    t.onBatch(marker(1, 9, "commit"));
    t.onHighWatermark(10);
    assert.equal(t.firstUnstableOffset(), 8);
    assert.equal(t.lastStableOffset(10), 8);
  });

  it("holds a completed transaction unstable until the high watermark passes its marker", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(1, 5, 3)); // 5..7
    t.onBatch(marker(1, 8, "commit"));
    assert.equal(t.firstUndecidedOffset(), null);
    assert.equal(t.firstUnstableOffset(), 5); // the marker is not below any high watermark yet
    assert.equal(t.lastStableOffset(7), 5); // marker 8 >= 7: not replicated
    assert.equal(t.lastStableOffset(8), 5);
    assert.equal(t.lastStableOffset(9), 9); // marker 8 < 9: stable
    t.onHighWatermark(8);
    assert.equal(t.firstUnstableOffset(), 5);
    t.onHighWatermark(9);
    assert.equal(t.firstUnstableOffset(), null);
    assert.equal(t.lastStableOffset(9), 9);
  });
});

describe("checks before an append", () => {
  it("refuses a non-transactional batch of a producer with a transaction open", () => {
    const t = new PartitionTransactions();
    assert.equal(verdict(t, plain(1, 0)), "NONE");
    t.onBatch(data(1, 0));
    assert.equal(verdict(t, plain(1, 1)), "INVALID_TXN_STATE");
    assert.equal(verdict(t, plain(2, 1)), "NONE");
    assert.equal(verdict(t, data(1, 1)), "NONE");
  });

  it("refuses a marker older than its transaction's epoch, or from an older coordinator", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(1, 0, 1, 4));
    assert.equal(verdict(t, marker(1, 1, "abort", 0, 3)), "INVALID_PRODUCER_EPOCH");
    assert.equal(verdict(t, marker(1, 1, "abort", 0, 5)), "NONE"); // a fencing abort bumps the epoch
    t.onBatch(marker(1, 1, "abort", 6, 5));
    assert.equal(t.check(marker(1, 2, "commit", 5, 5)).error, 52); // TRANSACTION_COORDINATOR_FENCED
    assert.equal(verdict(t, marker(1, 2, "commit", 6, 5)), "NONE");
    assert.equal(verdict(t, marker(2, 2, "commit", 0, 0)), "NONE"); // another producer
    assert.equal(verdict(t, marker(1, 2, "other", 0, 0)), "NONE");
  });

  it("bounds open transactions: check refuses the next one, onBatch never drops one", () => {
    const t = new PartitionTransactions({ maxOpen: 2 });
    t.onBatch(data(1, 0));
    t.onBatch(data(2, 1));
    assert.equal(verdict(t, data(3, 2)), "INVALID_TXN_STATE");
    assert.equal(verdict(t, data(1, 2)), "NONE"); // one already open goes on
    t.onBatch(data(3, 2)); // a replica's append is taken as it is
    assert.equal(t.openCount, 3);
    assert.equal(t.firstUnstableOffset(), 0);
    t.onBatch(marker(1, 3, "commit"));
    t.onBatch(marker(2, 4, "commit"));
    assert.equal(verdict(t, data(4, 5)), "NONE");
  });
});

describe("truncation", () => {
  it("drops transactions opened at or past the cut, reopens those whose marker was cut", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(1, 0));
    t.onBatch(data(2, 2));
    t.onBatch(marker(2, 4, "abort"));
    t.onBatch(data(3, 5));
    t.onBatch(data(4, 6));
    t.truncateTo(4); // the marker of 2 at 4 is gone, and 3 and 4 started after
    assert.deepEqual(t.ongoing(), [
      { producerId: 1, firstOffset: 0 },
      { producerId: 2, firstOffset: 2 },
    ]);
    assert.equal(t.onBatch(marker(2, 4, "commit"))?.aborted, false);
    t.truncateTo(1);
    assert.deepEqual(t.ongoing(), [{ producerId: 1, firstOffset: 0 }]);
    t.truncateTo(0);
    assert.equal(t.firstUnstableOffset(), null);
  });

  it("keeps the reopened transaction in first-offset order", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(1, 0));
    t.onBatch(data(2, 1));
    t.onBatch(marker(1, 2, "commit"));
    t.onBatch(data(3, 3));
    t.truncateTo(2); // 1 reopens from 0, before 2 (still open from 1); 3 goes
    assert.equal(t.firstUndecidedOffset(), 0);
    assert.deepEqual(
      t.ongoing().map((o) => o.producerId),
      [1, 2],
    );
  });
});

describe("snapshot", () => {
  it("round-trips through JSON text", () => {
    const t = new PartitionTransactions();
    t.onBatch(data(7, 100, 1, 2));
    t.onBatch(data(8, 101));
    t.onBatch(marker(8, 102, "commit", 3));
    const back = PartitionTransactions.fromJSON(JSON.parse(JSON.stringify(t.toJSON())))!;
    assert.deepEqual(back.toJSON(), t.toJSON());
    assert.deepEqual(back.ongoing(), [{ producerId: 7, firstOffset: 100 }]);
    assert.equal(back.lastStableOffset(102), 100);
    back.onBatch(marker(7, 103, "abort", 3, 2));
    back.onHighWatermark(104);
    assert.equal(back.lastStableOffset(104), 104);
    // What it remembered still fences and checks.
    assert.equal(back.check(marker(8, 104, "commit", 2)).error, 52);
  });

  it("refuses what is not its snapshot", () => {
    for (const j of [
      null,
      3,
      {},
      { version: 2, open: [], completed: [], coordinatorEpochs: [] },
      { version: 1, open: [[1, 2]], completed: [], coordinatorEpochs: [] },
      { version: 1, open: [[1, 2, "x"]], completed: [], coordinatorEpochs: [] },
      { version: 1, open: [], completed: [], coordinatorEpochs: null },
    ])
      assert.equal(PartitionTransactions.fromJSON(j), null, JSON.stringify(j));
    assert.notEqual(
      PartitionTransactions.fromJSON({ version: 1, open: [], completed: [], coordinatorEpochs: [] }),
      null,
    );
  });
});

describe("rebuild", () => {
  it("replays headers to the same state as the appends, reporting each completion", () => {
    const headers = [
      data(1, 0, 2),
      data(2, 2),
      plain(3, 3),
      marker(1, 4, "abort"),
      data(4, 5),
      marker(2, 6, "commit"),
      data(1, 7),
    ];
    const live = new PartitionTransactions();
    for (const h of headers) live.onBatch(h);
    const seen: CompletedTxn[] = [];
    const rebuilt = PartitionTransactions.rebuild(headers, { onCompleted: (c) => seen.push(c) });
    assert.deepEqual(rebuilt.toJSON(), live.toJSON());
    assert.deepEqual(seen, [
      { producerId: 1, firstOffset: 0, lastOffset: 4, aborted: true, lastStableOffset: 2 },
      { producerId: 2, firstOffset: 2, lastOffset: 6, aborted: false, lastStableOffset: 5 },
    ]);
    assert.deepEqual(rebuilt.ongoing(), [
      { producerId: 4, firstOffset: 5 },
      { producerId: 1, firstOffset: 7 },
    ]);
  });

  it("reads headers from real batches and from a segment file", () => {
    const dir = makeTemp("txns");
    try {
      const batches: Buffer[] = [];
      const at = (b: Buffer, offset: number): Buffer => {
        writeInt64(b, 0, offset); // baseOffset, outside the CRC
        batches.push(b);
        return b;
      };
      at(idempotentBatch(2, 11, 0, 0, { transactional: true }), 0); // 0..1
      at(idempotentBatch(1, 12, 0, 0), 2); // idempotent, not transactional
      at(
        encodeMarkerBatch({
          producerId: 11,
          producerEpoch: 0,
          commit: false,
          coordinatorEpoch: 4,
          timestampMs: 1,
        }),
        3,
      );
      at(idempotentBatch(1, 13, 1, 0, { transactional: true }), 4);
      const h = txnBatchHeader(batches[2]);
      assert.deepEqual(h, {
        producerId: 11,
        producerEpoch: 0,
        baseOffset: 3,
        lastOffset: 3,
        transactional: true,
        control: true,
        marker: "abort",
        coordinatorEpoch: 4,
      });
      assert.equal(txnBatchHeader(batches[0]).lastOffset, 1);
      const path = join(dir, "00000000000000000000.log");
      fs.writeFileSync(path, Buffer.concat([...batches, batches[3].subarray(0, 40)])); // torn tail
      const headers = [...segmentTxnHeaders(path)];
      assert.deepEqual(
        headers.map((x) => [x.producerId, x.baseOffset, x.marker ?? "-"]),
        [
          [11, 0, "-"],
          [12, 2, "-"],
          [11, 3, "abort"],
          [13, 4, "-"],
        ],
      );
      const seen: CompletedTxn[] = [];
      const t = PartitionTransactions.rebuild(headers, { onCompleted: (c) => seen.push(c) });
      assert.deepEqual(seen, [
        { producerId: 11, firstOffset: 0, lastOffset: 3, aborted: true, lastStableOffset: 4 },
      ]);
      assert.deepEqual(t.ongoing(), [{ producerId: 13, firstOffset: 4 }]);
      assert.deepEqual([...segmentTxnHeaders(join(dir, "missing.log"))], []);
    } finally {
      rmTemp(dir);
    }
  });
});
