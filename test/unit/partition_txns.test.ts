// A partition writer's transactions (partition_txn_state.ts through PartitionWriter), on real
// files: transactional batches open a producer's transaction (the first unstable offset is
// published in the state table), markers close it, an ABORT's range goes to the segment's
// .txnindex; a plain batch from a producer with a transaction open and a marker of an older
// epoch are refused; the state survives a clean close (transaction-state.json) and is rebuilt
// from the log after a crash and after a truncation, with the same .txnindex.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { crc32c } from "@node-rs/crc32";
import { F_FIRST_UNSTABLE_OFFSET } from "../../src/log/partition_state.ts";
import { TXN_SNAPSHOT_FILE } from "../../src/log/partition_txn_state.ts";
import { txnIndexFile } from "../../src/log/txn_index.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { ATTRIBUTES, BASE_SEQUENCE, CRC } from "../../src/protocol/record_batch.ts";
import { markTransactional } from "../../src/protocol/records.ts";
import { config, makeBatch, makeTemp, Partition, rmTemp } from "./fixtures/log_helpers.ts";

let dir: string;
beforeEach(() => {
  dir = makeTemp("txns");
});
afterEach(() => rmTemp(dir));

/** A transactional batch of producer `pid`, epoch `epoch`, first sequence `seq`, `n` records. */
function txnBatch(pid: number, epoch: number, seq: number, n: number): Buffer {
  const b = markTransactional(makeBatch(n), pid, epoch);
  b.writeInt32BE(seq, BASE_SEQUENCE);
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}

/** What the partition writer worker does with a produced batch of a producer. */
function produce(p: Partition, batch: Buffer): number {
  const copy = Buffer.from(batch);
  const txn = p.writer.checkTxn(copy);
  if (txn.error !== ErrorCode.NONE) return txn.error;
  const seq = p.writer.producers.check(copy);
  if (seq.kind === "refuse") return seq.error;
  const r = p.writer.append(copy, Date.now());
  p.writer.producers.record(copy, r.baseOffset);
  p.writer.txnAppended(copy, r.baseOffset, r.segmentBase);
  return ErrorCode.NONE;
}

const firstUnstable = (p: Partition) => p.state.get(p.slot, F_FIRST_UNSTABLE_OFFSET);

describe("a partition's transactions", () => {
  test("open, commit, abort: the first unstable offset, the .txnindex, the refusals", () => {
    const p = new Partition(dir, config()).create();
    assert.equal(firstUnstable(p), -1);
    assert.equal(produce(p, txnBatch(7, 0, 0, 3)), ErrorCode.NONE); // offsets 0-2, txn of 7 opens at 0
    assert.equal(produce(p, txnBatch(8, 0, 0, 2)), ErrorCode.NONE); // 3-4, txn of 8 opens at 3
    assert.equal(firstUnstable(p), 0);
    // A plain (non-transactional) idempotent batch of 7 while its transaction is open.
    const plain = makeBatch(1);
    plain.writeBigInt64BE(7n, 43);
    assert.equal(p.writer.checkTxn(plain).error, ErrorCode.INVALID_TXN_STATE);
    const commit = p.writer.appendMarker(
      { producerId: 7, producerEpoch: 0, commit: true, coordinatorEpoch: 0 },
      Date.now(),
    );
    assert.equal(commit.errorCode, ErrorCode.NONE);
    assert.equal(commit.offset, 5);
    assert.equal(commit.completed?.aborted, false);
    assert.equal(firstUnstable(p), 3, "8's transaction is still open");
    const abort = p.writer.appendMarker(
      { producerId: 8, producerEpoch: 0, commit: false, coordinatorEpoch: 0 },
      Date.now(),
    );
    assert.equal(abort.errorCode, ErrorCode.NONE);
    assert.equal(abort.offset, 6);
    assert.equal(firstUnstable(p), -1);
    assert.deepEqual(
      p.writer.abortedTxns().map((a) => [a.producerId, a.firstOffset, a.lastOffset]),
      [[8, 3, 6]],
    );
    assert.equal(fs.statSync(txnIndexFile(dir, 0)).size, 34, "one 34-byte entry");
    // The producer's epoch moved on: a marker of an older epoch is fenced.
    assert.equal(produce(p, txnBatch(8, 2, 0, 1)), ErrorCode.NONE); // epoch 2 opens a txn at 7
    const stale = p.writer.appendMarker(
      { producerId: 8, producerEpoch: 1, commit: true, coordinatorEpoch: 0 },
      Date.now(),
    );
    assert.equal(stale.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
    assert.equal(firstUnstable(p), 7);
    p.close();
  });

  test("a clean close keeps it in transaction-state.json; a crash rebuilds it from the log", () => {
    const p = new Partition(dir, config({ segmentBytes: 400 })).create();
    for (let i = 0; i < 6; i++) assert.equal(produce(p, txnBatch(1, 0, i * 2, 2)), ErrorCode.NONE);
    p.writer.appendMarker(
      { producerId: 1, producerEpoch: 0, commit: false, coordinatorEpoch: 3 },
      Date.now(),
    );
    assert.equal(produce(p, txnBatch(2, 0, 0, 2)), ErrorCode.NONE); // open at the end
    const open = firstUnstable(p);
    const aborted = p.writer.abortedTxns();
    assert.equal(aborted.length, 1);
    p.close();
    assert.ok(fs.existsSync(join(dir, TXN_SNAPSHOT_FILE)));
    const clean = new Partition(dir, config({ segmentBytes: 400 }));
    clean.open({ clean: true });
    assert.equal(firstUnstable(clean), open);
    assert.deepEqual(clean.writer.abortedTxns(), aborted);
    clean.writer.appendMarker(
      { producerId: 2, producerEpoch: 0, commit: false, coordinatorEpoch: 3 },
      Date.now(),
    );
    const twoAborted = clean.writer.abortedTxns();
    assert.equal(twoAborted.length, 2);
    // A crash: no close, so no snapshot of this log end; the .txnindex files lose their last entry.
    fs.rmSync(join(dir, TXN_SNAPSHOT_FILE), { force: true });
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith(".txnindex")))
      fs.writeFileSync(join(dir, f), "");
    const crashed = new Partition(dir, config({ segmentBytes: 400 }));
    crashed.open({ clean: false });
    assert.equal(firstUnstable(crashed), -1);
    assert.deepEqual(crashed.writer.abortedTxns(), twoAborted, "rebuilt from the markers in the log");
    crashed.close();
  });

  test("a truncation below a marker reopens its transaction", () => {
    const p = new Partition(dir, config()).create();
    assert.equal(produce(p, txnBatch(5, 0, 0, 2)), ErrorCode.NONE); // 0-1
    const m = p.writer.appendMarker(
      { producerId: 5, producerEpoch: 0, commit: false, coordinatorEpoch: 0 },
      Date.now(),
    );
    assert.equal(m.offset, 2);
    assert.equal(p.writer.abortedTxns().length, 1);
    p.writer.truncateTo(2);
    assert.equal(firstUnstable(p), 0, "the marker is gone: the transaction is open again");
    assert.deepEqual(p.writer.abortedTxns(), []);
    p.close();
  });
});
