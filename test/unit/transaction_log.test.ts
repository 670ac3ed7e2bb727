// __transaction_state records (src/broker/txn/transaction_log.ts): key and value bytes checked
// against vectors derived by hand from Kafka's TransactionLogKey / TransactionLogValue specs
// (version 0 as Kafka 3.x writes it; version 1 flexible with tagged fields), round trips,
// tombstones, unknown versions, and the partition of a transactional id (Java's String.hashCode).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeTxnKey,
  decodeTxnRecord,
  decodeTxnValue,
  encodeTxnKey,
  encodeTxnValue,
  type TxnLogValue,
  transactionPartitionFor,
} from "../../src/broker/txn/transaction_log.ts";

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");

const ongoing: TxnLogValue = {
  producerId: 1000,
  producerEpoch: 5,
  transactionTimeoutMs: 60000,
  status: 1, // Ongoing
  partitions: [
    { topic: "a", partitionIds: [0, 3] },
    { topic: "bc", partitionIds: [7] },
  ],
  lastUpdateTimestampMs: 1_700_000_000_123,
  startTimestampMs: 1_700_000_000_000,
  previousProducerId: -1,
  nextProducerId: -1,
  clientTransactionVersion: 0,
};

// Version 0, field by field (STRING: int16 length + bytes; arrays: int32 count).
const ONGOING_V0 = `
  0000                 version 0
  00000000000003e8     producer_id 1000
  0005                 producer_epoch 5
  0000ea60             transaction_timeout_ms 60000
  01                   transaction_status Ongoing
  00000002             transaction_partitions: 2 topics
    0001 61              topic "a"
    00000002             partition_ids: 2
      00000000 00000003
    0002 6263            topic "bc"
    00000001             partition_ids: 1
      00000007
  0000018bcfe5687b     transaction_last_update_timestamp_ms 1700000000123
  0000018bcfe56800     transaction_start_timestamp_ms 1700000000000
`.replace(/(?<=[0-9a-f])[ \t]{3,}.*$/gm, "");

describe("key", () => {
  it("is version 0 and the transactional id as a STRING", () => {
    assert.deepEqual(encodeTxnKey("txn-1"), hex("0000 0005 74786e2d31"));
    assert.equal(decodeTxnKey(hex("0000 0005 74786e2d31")), "txn-1");
  });

  it("an unknown key version is null (skipped)", () => {
    assert.equal(decodeTxnKey(hex("0001 0005 74786e2d31")), null);
    assert.equal(decodeTxnRecord(hex("0001 0001 61"), null), null);
  });
});

describe("value version 0", () => {
  it("matches the hand-derived bytes", () => {
    assert.deepEqual(encodeTxnValue(ongoing).toString("hex"), hex(ONGOING_V0).toString("hex"));
    assert.deepEqual(decodeTxnValue(hex(ONGOING_V0)), ongoing);
  });

  it("writes null partitions as -1 (state Empty) and an empty array as 0", () => {
    const empty: TxnLogValue = { ...ongoing, status: 0, partitions: null, startTimestampMs: -1 };
    const b = encodeTxnValue(empty);
    assert.equal(b.subarray(17, 21).toString("hex"), "ffffffff");
    assert.equal(b.subarray(29).toString("hex"), "ffffffffffffffff"); // start -1
    assert.deepEqual(decodeTxnValue(b), empty);
    const complete: TxnLogValue = { ...ongoing, status: 4, partitions: [] };
    const c = encodeTxnValue(complete);
    assert.equal(c.subarray(17, 21).toString("hex"), "00000000");
    assert.deepEqual(decodeTxnValue(c), complete);
  });

  it("version 0 drops the version 1 tagged fields", () => {
    const v: TxnLogValue = {
      ...ongoing,
      previousProducerId: 9,
      nextProducerId: 10,
      clientTransactionVersion: 2,
    };
    assert.deepEqual(encodeTxnValue(v), encodeTxnValue(ongoing));
  });
});

describe("value version 1 (flexible)", () => {
  const V1 = `
    0001                 version 1
    00000000000003e8     producer_id 1000
    0005                 producer_epoch 5
    0000ea60             transaction_timeout_ms
    01                   transaction_status Ongoing
    02                   compact array: 1 topic
      02 61                compact string "a"
      02                   compact array: 1 partition
        00000000
      00                   no tagged fields
    0000018bcfe5687b     last update
    0000018bcfe56800     start
    01                   one tagged field
      00 08 00000000000003e7   tag 0 previous_producer_id 999, 8 bytes
  `.replace(/(?<=[0-9a-f])[ \t]{3,}.*$/gm, "");

  it("matches the hand-derived bytes, tagged field included", () => {
    const v: TxnLogValue = {
      ...ongoing,
      partitions: [{ topic: "a", partitionIds: [0] }],
      previousProducerId: 999,
    };
    assert.equal(encodeTxnValue(v, 1).toString("hex"), hex(V1).toString("hex"));
    assert.deepEqual(decodeTxnValue(hex(V1)), v);
  });

  it("reads null partitions, all three tags, and skips unknown ones", () => {
    const v: TxnLogValue = {
      ...ongoing,
      status: 0,
      partitions: null,
      previousProducerId: 1,
      nextProducerId: 2,
      clientTransactionVersion: 2,
    };
    const b = encodeTxnValue(v, 1);
    assert.equal(b[17], 0); // null compact array
    assert.deepEqual(decodeTxnValue(b), v);
    // Kafka 3.x's version 1 (no tags at all) and an unknown tag 9 appended.
    const plain = encodeTxnValue(ongoing, 1);
    assert.equal(plain[plain.length - 1], 0);
    const withUnknown = Buffer.concat([plain.subarray(0, plain.length - 1), hex("01 09 02 abcd")]);
    assert.deepEqual(decodeTxnValue(withUnknown), ongoing);
  });
});

describe("records", () => {
  it("a record with a value, and a tombstone", () => {
    assert.deepEqual(decodeTxnRecord(encodeTxnKey("t"), encodeTxnValue(ongoing)), {
      transactionalId: "t",
      value: ongoing,
    });
    assert.deepEqual(decodeTxnRecord(encodeTxnKey("t"), null), { transactionalId: "t", value: null });
  });

  it("an unknown value version throws, as Kafka's readTxnRecordValue does", () => {
    assert.throws(() => decodeTxnValue(hex("0002 00000000000003e8")), /version 2/);
    assert.throws(() => decodeTxnValue(hex(ONGOING_V0).subarray(0, 20)));
  });
});

describe("transactionPartitionFor", () => {
  it("is abs(Java String.hashCode) % n", () => {
    assert.equal(transactionPartitionFor("hello", 50), 22); // "hello".hashCode() = 99162322
    assert.equal(transactionPartitionFor("polygenelubricants", 50), 0); // hashCode() = Integer.MIN_VALUE
    assert.equal(transactionPartitionFor("", 50), 0);
    assert.equal(transactionPartitionFor("Aa", 7), transactionPartitionFor("BB", 7)); // equal hashCodes
  });
});
