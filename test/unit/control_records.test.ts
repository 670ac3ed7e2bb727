// End-transaction marker batches (src/protocol/control_records.ts): the 78 bytes of a marker
// batch checked byte by byte against Kafka's layout (drawn in the source), its CRC-32C, what
// decodeBatch and the stored-batch check make of it, and parseControlBatch on markers, data
// batches, other control types, empty and malformed control batches.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crc32c } from "@node-rs/crc32";
import {
  encodeMarkerBatch,
  isControlBatch,
  MARKER_BATCH_BYTES,
  parseControlBatch,
} from "../../src/protocol/control_records.ts";
import {
  ATTRIBUTES,
  CRC,
  RECORD_COUNT,
  readInt64,
  storedBatchIntact,
} from "../../src/protocol/record_batch.ts";
import { decodeBatch, encodeBatch } from "../../src/protocol/records.ts";
import { idempotentBatch } from "../helpers/idempotent_batch.ts";

const T = 1_700_000_000_123; // 0x0000018BCFE5687B

/** Hex of a buffer without spaces, for comparing with a drawn layout. */
const hex = (b: Buffer): string => b.toString("hex");

function fixCrc(b: Buffer): Buffer {
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}

describe("encodeMarkerBatch", () => {
  it("writes Kafka's marker batch byte for byte", () => {
    const b = encodeMarkerBatch({
      producerId: 4000,
      producerEpoch: 3,
      commit: true,
      coordinatorEpoch: 7,
      timestampMs: T,
    });
    assert.equal(b.length, MARKER_BATCH_BYTES);
    // Derived by hand from DefaultRecordBatch / DefaultRecord / ControlRecordType /
    // EndTransactionMarker; the CRC (bytes 17-20) is checked separately below.
    const expected = [
      "0000000000000000", // baseOffset 0
      "00000042", // batchLength 66
      "ffffffff", // partitionLeaderEpoch -1
      "02", // magic
      "________", // crc
      "0030", // attributes: transactional | control
      "00000000", // lastOffsetDelta 0
      "0000018bcfe5687b", // baseTimestamp
      "0000018bcfe5687b", // maxTimestamp
      "0000000000000fa0", // producerId 4000
      "0003", // producerEpoch 3
      "ffffffff", // baseSequence -1
      "00000001", // recordCount 1
      "20", // record length 16 (zigzag 32)
      "00", // record attributes
      "00", // timestampDelta 0
      "00", // offsetDelta 0
      "08", // keyLength 4
      "0000", // key version 0
      "0001", // type COMMIT
      "0c", // valueLength 6
      "0000", // value version 0
      "00000007", // coordinatorEpoch 7
      "00", // headerCount 0
    ].join("");
    const got = hex(b);
    assert.equal(`${got.slice(0, 34)}________${got.slice(42)}`, expected);
    assert.equal(b.readUInt32BE(CRC), crc32c(b.subarray(21)));
    assert.ok(storedBatchIntact(b));
  });

  it("ABORT is type 0, and the partition leader epoch is written when given", () => {
    const b = encodeMarkerBatch({
      producerId: 1,
      producerEpoch: 0,
      commit: false,
      coordinatorEpoch: 0,
      timestampMs: 0,
      partitionLeaderEpoch: 9,
    });
    assert.equal(b.readInt16BE(66 + 2), 0);
    assert.equal(b.readInt32BE(12), 9);
    assert.ok(storedBatchIntact(b));
  });

  it("decodes with decodeBatch as one record with the control key and marker value", () => {
    const b = encodeMarkerBatch({
      producerId: 12,
      producerEpoch: 1,
      commit: false,
      coordinatorEpoch: 0x01020304,
      timestampMs: T,
    });
    const recs = decodeBatch(b);
    assert.equal(recs.length, 1);
    assert.equal(recs[0].offset, 0);
    assert.equal(recs[0].timestamp, T);
    assert.equal(hex(recs[0].key!), "00000000");
    assert.equal(hex(recs[0].value!), "000001020304");
    assert.deepEqual(recs[0].headers, []);
    assert.equal(readInt64(b, 43), 12);
  });
});

describe("parseControlBatch", () => {
  it("reads back commit and abort with the coordinator epoch", () => {
    for (const commit of [true, false]) {
      const b = encodeMarkerBatch({
        producerId: 5,
        producerEpoch: 2,
        commit,
        coordinatorEpoch: 42,
        timestampMs: T,
      });
      assert.deepEqual(parseControlBatch(b), { type: commit ? "commit" : "abort", coordinatorEpoch: 42 });
      assert.ok(isControlBatch(b));
    }
  });

  it("is null for data batches, transactional ones included", () => {
    assert.equal(parseControlBatch(encodeBatch([{ value: "x" }])), null);
    const txn = idempotentBatch(2, 9, 0, 0, { transactional: true });
    assert.equal(parseControlBatch(txn), null);
    assert.equal(isControlBatch(txn), false);
    assert.equal(parseControlBatch(Buffer.alloc(10)), null);
  });

  it("reports other control types, empty control batches and malformed markers as other", () => {
    const leaderChange = encodeMarkerBatch({
      producerId: 5,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 1,
      timestampMs: T,
    });
    leaderChange.writeInt16BE(2, 68); // LEADER_CHANGE
    assert.deepEqual(parseControlBatch(fixCrc(leaderChange)), { type: "other", coordinatorEpoch: -1 });

    const empty = encodeMarkerBatch({
      producerId: 5,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 1,
      timestampMs: T,
    });
    empty.writeInt32BE(0, RECORD_COUNT);
    assert.equal(parseControlBatch(fixCrc(empty))?.type, "other");

    const badVersion = encodeMarkerBatch({
      producerId: 5,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 1,
      timestampMs: T,
    });
    badVersion.writeInt16BE(-1, 66); // negative key version: corruption
    assert.equal(parseControlBatch(badVersion)?.type, "other");

    const torn = encodeMarkerBatch({
      producerId: 5,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 1,
      timestampMs: T,
    });
    assert.equal(parseControlBatch(torn.subarray(0, 72))?.type, "other");
  });

  it("reads a later key or value version as version 0, as Kafka does", () => {
    const b = encodeMarkerBatch({
      producerId: 5,
      producerEpoch: 2,
      commit: true,
      coordinatorEpoch: 8,
      timestampMs: T,
    });
    b.writeInt16BE(1, 66);
    b.writeInt16BE(3, 71);
    assert.deepEqual(parseControlBatch(b), { type: "commit", coordinatorEpoch: 8 });
  });
});
