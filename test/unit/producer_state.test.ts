// Idempotent producer state of a partition (src/log/producer_state.ts): Kafka's sequence rules,
// the five remembered batches, the bound on producers, and durability: the snapshot of a clean
// close, and the rebuild from a log's batch headers when the snapshot is missing or stale.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MAX_PRODUCERS, ProducerStates, SNAPSHOT_FILE } from "../../src/log/producer_state.ts";
import { errorName } from "../../src/protocol/error_codes.ts";
import { BASE_OFFSET, writeInt64 } from "../../src/protocol/record_batch.ts";
import { idempotentBatch } from "../helpers/idempotent_batch.ts";
import { makeBatch, Partition, T0 } from "./fixtures/log_helpers.ts";

function verdict(s: ProducerStates, b: Buffer): string {
  const c = s.check(b);
  return c.kind === "refuse"
    ? errorName(c.error)
    : c.kind === "duplicate"
      ? `duplicate@${c.baseOffset}`
      : "append";
}

/** Check and, when it may be appended, record at `offset`. */
function append(s: ProducerStates, b: Buffer, offset: number): string {
  const v = verdict(s, b);
  if (v === "append") s.record(b, offset);
  return v;
}

describe("sequence rules", () => {
  it("in order appends, a retry of any of the last five is a duplicate with its first offset", () => {
    const s = new ProducerStates();
    let offset = 0;
    const sent: Buffer[] = [];
    for (let i = 0; i < 7; i++) {
      const b = idempotentBatch(3, 42, 0, i * 3);
      sent.push(b);
      assert.equal(append(s, b, offset), "append");
      offset += 3;
    }
    assert.equal(verdict(s, sent[6]), "duplicate@18");
    assert.equal(verdict(s, sent[2]), "duplicate@6");
    // Older than the five kept: not a duplicate any more, and out of order.
    assert.equal(verdict(s, sent[1]), "OUT_OF_ORDER_SEQUENCE_NUMBER");
  });

  it("a gap, an unknown producer past sequence 0, an older epoch, a new epoch not at 0", () => {
    const s = new ProducerStates();
    assert.equal(append(s, idempotentBatch(2, 7, 3, 0), 0), "append");
    assert.equal(verdict(s, idempotentBatch(1, 7, 3, 5)), "OUT_OF_ORDER_SEQUENCE_NUMBER");
    assert.equal(verdict(s, idempotentBatch(1, 8, 0, 5)), "UNKNOWN_PRODUCER_ID");
    assert.equal(verdict(s, idempotentBatch(1, 7, 2, 2)), "INVALID_PRODUCER_EPOCH");
    assert.equal(verdict(s, idempotentBatch(1, 7, 4, 2)), "OUT_OF_ORDER_SEQUENCE_NUMBER");
    assert.equal(append(s, idempotentBatch(1, 7, 4, 0), 2), "append");
    // The old epoch is gone: its batches are no longer duplicates but stale.
    assert.equal(verdict(s, idempotentBatch(2, 7, 3, 0)), "INVALID_PRODUCER_EPOCH");
  });

  it("sequences wrap from 2^31-1 to 0", () => {
    const s = new ProducerStates();
    // Recorded as read back from a log: the first batch seen may start anywhere.
    s.record(idempotentBatch(2, 9, 0, 0x7ffffffe), 0);
    assert.equal(append(s, idempotentBatch(2, 9, 0, 0), 2), "append");
  });

  it("made-up producer ids cannot grow the state past MAX_PRODUCERS", () => {
    const s = new ProducerStates();
    for (let id = 0; id < MAX_PRODUCERS + 500; id++) s.record(idempotentBatch(1, id, 0, 0), id);
    assert.equal(s.size, MAX_PRODUCERS);
    // The least recently written went first.
    assert.equal(verdict(s, idempotentBatch(1, 0, 0, 1)), "UNKNOWN_PRODUCER_ID");
    assert.equal(verdict(s, idempotentBatch(1, MAX_PRODUCERS + 499, 0, 1)), "append");
  });

  it("producers idle past the expiration are forgotten", () => {
    const s = new ProducerStates();
    s.record(idempotentBatch(1, 1, 0, 0, { now: 1_000 }), 0);
    s.record(idempotentBatch(1, 2, 0, 0, { now: 90_000 }), 1);
    s.expire(100_000, 50_000);
    assert.equal(verdict(s, idempotentBatch(1, 1, 0, 1)), "UNKNOWN_PRODUCER_ID");
    assert.equal(verdict(s, idempotentBatch(1, 2, 0, 1)), "append");
  });
});

describe("durability", () => {
  const dir = () => fs.mkdtempSync(join(tmpdir(), "milena-producers-"));

  /** A segment file of these batches, offsets assigned as the writer does. */
  function segment(d: string, base: number, batches: Buffer[]): number {
    const parts: Buffer[] = [];
    let offset = base;
    for (const b of batches) {
      const copy = Buffer.from(b);
      writeInt64(copy, BASE_OFFSET, offset);
      offset += copy.readInt32BE(57);
      parts.push(copy);
    }
    fs.writeFileSync(join(d, `${String(base).padStart(20, "0")}.log`), Buffer.concat(parts));
    return offset;
  }

  it("a snapshot describing the log end is read back; a torn one is not trusted", () => {
    const d = dir();
    const s = new ProducerStates();
    s.record(idempotentBatch(4, 5, 0, 0), 0);
    s.save(d, 4);
    const back = ProducerStates.open(d, 4, []);
    assert.equal(verdict(back, idempotentBatch(4, 5, 0, 0)), "duplicate@0");
    const text = fs.readFileSync(join(d, SNAPSHOT_FILE), "utf8");
    fs.writeFileSync(join(d, SNAPSHOT_FILE), text.slice(0, text.length - 3));
    assert.equal(ProducerStates.open(d, 4, []).size, 0);
  });

  it("a clean close leaves a snapshot even with no producers, so the next open need not scan", () => {
    const d = dir();
    const p = new Partition(d).create();
    p.writer.append(makeBatch(3), T0);
    p.writer.close();
    assert.deepEqual(JSON.parse(fs.readFileSync(join(d, SNAPSHOT_FILE), "utf8")), {
      logEndOffset: 3,
      producers: [],
    });
  });

  it("without a snapshot, or with one older than the log, the state is rebuilt from the segments", () => {
    const d = dir();
    const end1 = segment(d, 0, [idempotentBatch(2, 5, 0, 0), idempotentBatch(2, 6, 0, 0)]);
    const end2 = segment(d, end1, [idempotentBatch(2, 5, 0, 2), idempotentBatch(1, -1, -1, -1)]);
    const stale = new ProducerStates();
    stale.save(d, end1); // describes offset 4, the log ends at 7
    const s = ProducerStates.open(d, end2, [0, end1]);
    assert.equal(verdict(s, idempotentBatch(2, 5, 0, 2)), "duplicate@4");
    assert.equal(verdict(s, idempotentBatch(2, 6, 0, 0)), "duplicate@2");
    assert.equal(verdict(s, idempotentBatch(1, 5, 0, 4)), "append");
  });
});
