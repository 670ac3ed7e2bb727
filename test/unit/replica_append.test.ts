// A follower's side of replication on real files (src/log/partition_writer.ts): appendReplica
// copies a leader's log byte for byte (offsets, epochs, segments, indexes), refuses gaps and
// corrupt batches, ignores a trailing partial batch, keeps idempotent producer state without
// sequence checks; truncateTo / truncateFullyAndStartAt (Kafka's truncateTo and
// truncateFullyAndStartAt) cut inside a batch, at a boundary, across segments and below the log
// start, with the epoch cache, producer state and the acceptor's reader following, and a reopen
// (clean or not) finds the same log. The last part runs the same through a real WriterPool and
// its worker thread: ring entries, completion records, controls.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { WriterOpError, WriterPool } from "../../src/broker/writers.ts";
import { LEADER_EPOCH_CHECKPOINT } from "../../src/log/leader_epochs.ts";
import { PartitionReader } from "../../src/log/partition_reader.ts";
import { createPartitionState, F_LOG_START_OFFSET, PartitionState } from "../../src/log/partition_state.ts";
import type { PartitionLogConfig, ReplicaAppendResult } from "../../src/log/partition_writer.ts";
import { SNAPSHOT_FILE } from "../../src/log/producer_state.ts";
import { scanPartition } from "../../src/log/recovery.ts";
import { indexFile, logFile, segmentBases, timeIndexFile } from "../../src/log/segment_files.ts";
import { SegmentIndex } from "../../src/log/segment_index.ts";
import { COMPLETION_FIELDS, COMPLETION_NO_TAG, type TruncateResult } from "../../src/log/writer_protocol.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  PARTITION_LEADER_EPOCH,
  readInt64,
  writeInt64,
} from "../../src/protocol/record_batch.ts";
import { idempotentBatch } from "../helpers/idempotent_batch.ts";
import {
  type Appended,
  config,
  lastOffsetOf,
  makeBatch,
  makeTemp,
  Partition,
  rmTemp,
  splitWhole,
} from "./fixtures/log_helpers.ts";

let root: string;
const open: Partition[] = [];

beforeEach(() => {
  root = makeTemp("replica");
});
afterEach(() => {
  for (const p of open.splice(0)) {
    try {
      p.close();
    } catch {
      // already closed
    }
  }
  rmTemp(root);
});

const CFG = config({ segmentBytes: 2500, indexIntervalBytes: 300 });

function partition(name: string, cfg = CFG, slot = 3): Partition {
  const p = new Partition(join(root, name), cfg, slot);
  open.push(p);
  return p;
}

/**
 * A leader's log: runs of [epoch, batches], each after becomeLeader(epoch). Every third batch is
 * an idempotent producer's (producer 42, in sequence), recorded as the writer worker does.
 */
function writeLeaderLog(p: Partition, plan: [number, number][]): void {
  let n = 0;
  let seq = 0;
  for (const [epoch, batches] of plan) {
    assert.equal(p.writer.becomeLeader(epoch).errorCode, 0);
    for (let i = 0; i < batches; i++, n++) {
      const count = 1 + (n % 4);
      if (n % 3 === 2) {
        const b = idempotentBatch(count, 42, 0, seq);
        seq += count;
        const a = p.append(b);
        p.writer.producers.record(a.bytes, a.baseOffset);
      } else p.append(makeBatch(count, undefined, 40, 0x41 + (n % 20)));
    }
  }
}

/** The leader's stored log as one byte string, and where each batch starts in it. */
function storedLog(dir: string): { bytes: Buffer; at: Map<number, number> } {
  const bytes = Buffer.concat(segmentBases(fs.readdirSync(dir)).map((b) => fs.readFileSync(logFile(dir, b))));
  const at = new Map<number, number>();
  let pos = 0;
  while (pos < bytes.length) {
    at.set(readInt64(bytes, pos), pos);
    pos += bytes.readInt32BE(pos + BATCH_LENGTH) + 12;
  }
  return { bytes, at };
}

/** Hand a replica append's batches to the reader, as the acceptor's onAppended does. */
function mirror(p: Partition, r: ReplicaAppendResult): void {
  for (const a of r.appended)
    p.reader.onAppend(a.segmentBase, a.baseOffset, a.position, a.size, a.maxTimestamp);
}

/**
 * A follower's fetch loop: from its log end, `chunk` bytes of the leader's log at a time (so
 * most record sets end in a partial batch), until it has all of it.
 */
function replicate(f: Partition, leaderDir: string, chunk = 1000): number {
  const { bytes, at } = storedLog(leaderDir);
  let rounds = 0;
  for (;;) {
    const from = at.get(f.writer.logEndOffset);
    if (from === undefined) break;
    const r = f.writer.appendReplica(Buffer.from(bytes.subarray(from, from + chunk)), Date.now());
    assert.equal(r.errorCode, ErrorCode.NONE, r.message);
    assert.ok(r.appended.length > 0, "progress");
    assert.equal(r.baseOffset, readInt64(bytes, from));
    assert.equal(r.logEndOffset, f.writer.logEndOffset);
    mirror(f, r);
    rounds++;
  }
  return rounds;
}

/** The partition's files (segments, indexes, checkpoints) by name. */
function files(dir: string, except: string[] = []): Map<string, Buffer> {
  return new Map(
    fs
      .readdirSync(dir)
      .filter((n) => !except.includes(n))
      .sort()
      .map((n) => [n, fs.readFileSync(join(dir, n))]),
  );
}

function assertSameFiles(a: string, b: string, except: string[] = []): void {
  const fa = files(a, except);
  const fb = files(b, except);
  assert.deepEqual([...fb.keys()], [...fa.keys()], "same file names");
  for (const [n, bytes] of fa) assert.ok(fb.get(n)!.equals(bytes), `${n} differs`);
}

/** Every .index/.timeindex is what a scan of its .log derives (as a recovery would rebuild them). */
function assertIndexesMatchLog(dir: string, cfg = CFG): void {
  const scan = scanPartition(dir, {
    clean: false,
    recoveryPoint: 0,
    indexIntervalBytes: cfg.indexIntervalBytes,
  });
  assert.equal(scan.truncate, null, "nothing to cut");
  for (const s of scan.segments) {
    const idx = SegmentIndex.from(s.index);
    assert.ok(
      fs.readFileSync(indexFile(dir, s.baseOffset)).equals(idx.encodeIndex()),
      `${s.baseOffset}.index`,
    );
    assert.ok(
      fs.readFileSync(timeIndexFile(dir, s.baseOffset)).equals(idx.encodeTimeIndex()),
      `${s.baseOffset}.timeindex`,
    );
  }
}

/** Every stored batch from `from` through the reader. */
async function readBatches(p: Partition, from = 0): Promise<Buffer[]> {
  return p.readAll(from, 700);
}

const PLAN: [number, number][] = [
  [0, 14],
  [2, 1],
  [3, 20],
  [6, 18],
];

describe("appendReplica", () => {
  test("a follower's copy of its leader is byte for byte the leader's log, indexes and epochs", async () => {
    const leader = partition("leader").create();
    writeLeaderLog(leader, PLAN);
    const follower = partition("follower").create();
    const rounds = replicate(follower, leader.dir, 1000);
    assert.ok(rounds > 5, `${rounds} fetches`);
    assert.equal(follower.writer.logEndOffset, leader.writer.logEndOffset);
    assert.ok(segmentBases(fs.readdirSync(leader.dir)).length >= 4, "the log spans several segments");
    // offsets and epochs as the leader stored them
    assert.deepEqual(follower.writer.epochs.entries(), leader.writer.epochs.entries());
    assert.deepEqual(
      follower.writer.epochs.entries().map((e) => e.epoch),
      [0, 2, 3, 6],
    );
    // reads through the acceptor's reader, mirrored from the per-batch results, span the rolls
    const want = storedLog(leader.dir).bytes;
    assert.ok(Buffer.concat(await readBatches(follower)).equals(want));
    for (const o of [0, 7, 40, leader.writer.logEndOffset - 1]) {
      assert.ok(
        (await follower.reader.read(o, 2000))!.equals((await leader.reader.read(o, 2000))!),
        `read(${o})`,
      );
    }
    // idempotent producer state as the leader's
    assert.deepEqual(follower.writer.producers.active(), leader.writer.producers.active());
    leader.close();
    follower.close();
    // every file: .log, .index, .timeindex, leader-epoch-checkpoint, producer-state.json
    assertSameFiles(leader.dir, follower.dir, ["partition.metadata"]);
    assert.ok(fs.existsSync(join(follower.dir, LEADER_EPOCH_CHECKPOINT)));
  });

  test("batches must start at or after the log end and after each other (gaps kept: a compacted leader): else nothing is appended", () => {
    const leader = partition("leader").create();
    writeLeaderLog(leader, [[1, 6]]);
    const b = leader.appended.map((a) => a.bytes);
    const f = partition("follower").create();
    const overlap = f.writer.appendReplica(Buffer.concat([b[0], b[1], b[0]]), Date.now());
    assert.deepEqual(
      [overlap.errorCode, overlap.baseOffset, overlap.logEndOffset, overlap.appended.length],
      [ErrorCode.OFFSET_OUT_OF_RANGE, -1, 0, 0],
      "a batch before the one before: all or nothing",
    );
    assert.equal(f.writer.logEndOffset, 0);
    assert.equal(fs.statSync(logFile(f.dir, 0)).size, 0);
    assert.deepEqual(f.writer.epochs.entries(), [], "no epoch assigned either");
    const hole = f.writer.appendReplica(Buffer.concat([b[0], b[2]]), Date.now());
    assert.equal(hole.errorCode, ErrorCode.NONE, "a gap (compacted away on the leader) is kept");
    assert.equal(hole.logEndOffset, leader.appended[2].lastOffset + 1);
    const again = f.writer.appendReplica(b[2], Date.now());
    assert.equal(again.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, "already there: not appended twice");
    const before = f.writer.appendReplica(b[1], Date.now());
    assert.equal(before.errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, "below the log end");
    const ok = f.writer.appendReplica(Buffer.concat([b[3], b[5]]), Date.now());
    assert.equal(ok.errorCode, ErrorCode.NONE);
    assert.equal(ok.logEndOffset, leader.appended[5].lastOffset + 1);
  });

  test("a corrupt batch (CRC, length) refuses the whole record set", () => {
    const leader = partition("leader").create();
    writeLeaderLog(leader, [[1, 3]]);
    const b = leader.appended.map((a) => Buffer.from(a.bytes));
    const f = partition("follower").create();
    const bad = Buffer.from(b[1]);
    bad[bad.length - 1] ^= 0xff;
    const crc = f.writer.appendReplica(Buffer.concat([b[0], bad, b[2]]), Date.now());
    assert.equal(crc.errorCode, ErrorCode.CORRUPT_MESSAGE);
    assert.equal(f.writer.logEndOffset, 0);
    const short = Buffer.from(b[0]);
    short.writeInt32BE(20, BATCH_LENGTH);
    assert.equal(f.writer.appendReplica(short, Date.now()).errorCode, ErrorCode.CORRUPT_MESSAGE);
    const stamped = Buffer.from(b[0]);
    stamped.writeInt32BE(9, PARTITION_LEADER_EPOCH); // outside the CRC: a leader may stamp any epoch
    const r = f.writer.appendReplica(stamped, Date.now());
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(f.writer.epochs.entries(), [{ epoch: 9, startOffset: 0 }]);
  });

  test("a trailing partial batch is ignored, not an error; a set of only a partial batch appends nothing", () => {
    const leader = partition("leader").create();
    writeLeaderLog(leader, [[4, 4]]);
    const b = leader.appended.map((a) => a.bytes);
    const f = partition("follower", config({ maxMessageBytes: 64 })).create();
    const r = f.writer.appendReplica(Buffer.concat([b[0], b[1], b[2].subarray(0, 30)]), Date.now());
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.equal(r.appended.length, 2);
    assert.equal(r.baseOffset, 0);
    assert.equal(r.logEndOffset, leader.appended[1].lastOffset + 1);
    assert.equal(r.bytes, b[0].length + b[1].length);
    assert.equal(fs.statSync(logFile(f.dir, 0)).size, b[0].length + b[1].length);
    for (const tail of [b[2].subarray(0, 5), b[2].subarray(0, 20), b[2].subarray(0, b[2].length - 1)]) {
      const n = f.writer.appendReplica(Buffer.from(tail), Date.now());
      assert.deepEqual(
        [n.errorCode, n.baseOffset, n.appended.length],
        [ErrorCode.NONE, -1, 0],
        `${tail.length} bytes`,
      );
    }
    // max.message.bytes 64 is below every batch: a follower takes what its leader took
    const rest = f.writer.appendReplica(Buffer.concat([b[2], b[3]]), Date.now());
    assert.equal(rest.errorCode, ErrorCode.NONE);
    assert.equal(f.writer.logEndOffset, leader.writer.logEndOffset);
    assert.ok(fs.readFileSync(logFile(f.dir, 0)).equals(fs.readFileSync(logFile(leader.dir, 0))));
  });

  test("idempotent producer state is recorded without sequence checks (Kafka's follower)", () => {
    const f = partition("follower").create();
    // sequences 0..2, then a jump to 10 and a new epoch that does not start at 0: a leader's
    // business, not the follower's
    const sent = [idempotentBatch(3, 7, 0, 0), idempotentBatch(2, 7, 0, 10), idempotentBatch(1, 7, 2, 5)];
    let offset = 0;
    for (const b of sent) {
      writeInt64(b, 0, offset);
      offset += b.readInt32BE(LAST_OFFSET_DELTA) + 1;
    }
    const r = f.writer.appendReplica(Buffer.concat(sent), Date.now());
    assert.equal(r.errorCode, ErrorCode.NONE);
    assert.deepEqual(
      f.writer.producers.active().map((p) => [p.producerId, p.producerEpoch, p.lastSequence]),
      [[7, 2, 5]],
    );
  });
});

/** Truncate and hand the answer to the reader, as the acceptor does. */
function truncate(p: Partition, offset: number, fully = false): TruncateResult {
  const r = fully ? p.writer.truncateFullyAndStartAt(offset) : p.writer.truncateTo(offset);
  assert.equal(r.errorCode, ErrorCode.NONE);
  p.reader.truncated(r);
  return r;
}

/** The leader's batches a follower keeps after truncating to `offset` (Kafka's rule). */
function keptBefore(appended: Appended[], offset: number): Appended[] {
  const cut = appended.find((a) => a.lastOffset >= offset)!;
  return appended.filter((a) => a.baseOffset < cut.baseOffset);
}

describe("truncateTo", () => {
  /** A leader and its full copy. */
  function pair(plan = PLAN): { leader: Partition; follower: Partition } {
    const leader = partition("leader").create();
    writeLeaderLog(leader, plan);
    const follower = partition("follower").create();
    replicate(follower, leader.dir);
    return { leader, follower };
  }

  test("inside a batch: the whole batch goes, the log end is its base offset", async () => {
    const { leader, follower } = pair();
    const lastSeg = leader.appended.at(-1)!.segmentBase;
    // early in the segment: the reader has index entries for batches after it
    const b = leader.appended.filter(
      (a) => a.segmentBase === lastSeg && a.lastOffset > a.baseOffset && a.position > 0,
    )[0];
    assert.ok(b.position > 0);
    assert.ok(
      leader.appended.filter((a) => a.segmentBase === lastSeg && a.position > b.position).length >= 3,
    );
    const r = truncate(follower, b.baseOffset + 1);
    assert.deepEqual(
      [r.logEndOffset, r.activeSegmentBase, r.activeSegmentBytes, r.full],
      [b.baseOffset, lastSeg, b.position, false],
    );
    assert.equal(follower.writer.logEndOffset, b.baseOffset);
    assert.equal(follower.writer.flushedOffset, b.baseOffset, "the cut is fsynced");
    assert.equal(fs.statSync(logFile(follower.dir, lastSeg)).size, b.position);
    assert.equal(follower.state.readTail(3).logEndOffset, b.baseOffset, "published");
    assertIndexesMatchLog(follower.dir);
    const kept = keptBefore(leader.appended, b.baseOffset + 1);
    assert.ok(Buffer.concat(await readBatches(follower)).equals(Buffer.concat(kept.map((a) => a.bytes))));
    assert.equal(await follower.reader.read(b.baseOffset, 1000), null);
    // a few different batches where the cut ones were: each found by its offset (the reader's
    // index entries for the cut batches are gone, not pointing into the new ones)
    follower.writer.becomeLeader(9);
    const fresh = [1, 1, 2, 1, 3, 1].map((n, i) => follower.append(makeBatch(n, undefined, 8 + i * 3)));
    for (const a of [...fresh].reverse()) {
      const d = await follower.reader.read(a.lastOffset, 1);
      assert.ok(d !== null && splitWhole(d)[0].equals(a.bytes), `read(${a.lastOffset})`);
    }
    for (const a of [...kept].reverse().slice(0, 12)) {
      const d = await follower.reader.read(a.lastOffset, 1);
      assert.ok(d !== null && splitWhole(d)[0].equals(a.bytes), `read(${a.lastOffset})`);
    }
  });

  test("at a batch boundary: the batches from it on go", async () => {
    const { leader, follower } = pair();
    const b = leader.appended.at(-3)!;
    const r = truncate(follower, b.baseOffset);
    assert.equal(r.logEndOffset, b.baseOffset);
    assert.equal(fs.statSync(logFile(follower.dir, b.segmentBase)).size, b.position);
    assertIndexesMatchLog(follower.dir);
    assert.equal((await readBatches(follower)).length, leader.appended.length - 3);
    // at or past the log end: nothing happens
    const same = truncate(follower, b.baseOffset + 100);
    assert.deepEqual([same.logEndOffset, same.activeSegmentBytes], [b.baseOffset, b.position]);
  });

  test("across segment rolls: later segments deleted, the cut one active again; re-replicating gives the leader's files again", async () => {
    const { leader, follower } = pair();
    const bases = segmentBases(fs.readdirSync(leader.dir));
    const seg = bases[1];
    const inSeg = leader.appended.filter((a) => a.segmentBase === seg);
    const b = inSeg[Math.floor(inSeg.length / 2)];
    const r = truncate(follower, b.baseOffset + (b.lastOffset > b.baseOffset ? 1 : 0));
    assert.deepEqual(
      [r.logEndOffset, r.activeSegmentBase, r.activeSegmentBytes],
      [b.baseOffset, seg, b.position],
    );
    assert.deepEqual(segmentBases(fs.readdirSync(follower.dir)), bases.slice(0, 2), "later segments gone");
    for (const base of bases.slice(2)) {
      assert.ok(!fs.existsSync(indexFile(follower.dir, base)), "their .index");
      assert.ok(!fs.existsSync(timeIndexFile(follower.dir, base)), "their .timeindex");
    }
    assertIndexesMatchLog(follower.dir);
    assert.ok(
      !fs.existsSync(join(follower.dir, SNAPSHOT_FILE)),
      "the producer snapshot describes a longer log",
    );
    // the epoch cache lost what starts at or after the new end
    const epochs = follower.writer.epochs.entries();
    assert.deepEqual(
      epochs,
      leader.writer.epochs.entries().filter((e) => e.startOffset < b.baseOffset),
    );
    assert.equal(
      fs.readFileSync(join(follower.dir, LEADER_EPOCH_CHECKPOINT), "utf8"),
      `0\n${epochs.length}\n${epochs.map((e) => `${e.epoch} ${e.startOffset}\n`).join("")}`,
    );
    // producer state rebuilt for the new end: the producer's last kept batch
    const lastKept = keptBefore(leader.appended, b.baseOffset)
      .filter((a) => readInt64(a.bytes, 43) === 42)
      .at(-1)!;
    const lastSeq = lastKept.bytes.readInt32BE(53) + lastKept.bytes.readInt32BE(LAST_OFFSET_DELTA);
    assert.deepEqual(
      follower.writer.producers.active().map((p) => [p.producerId, p.lastSequence]),
      [[42, lastSeq]],
    );
    assert.ok(Buffer.concat(await readBatches(follower)).equals(storedLog(follower.dir).bytes));
    // fetching again from the new end rebuilds the leader's log exactly
    replicate(follower, leader.dir, 777);
    assert.ok(Buffer.concat(await readBatches(follower)).equals(storedLog(leader.dir).bytes), "reads after");
    leader.close();
    follower.close();
    assertSameFiles(leader.dir, follower.dir);
  });

  test("the reader serves the new log after a cut across rolls and different batches appended since", async () => {
    const { leader, follower } = pair();
    const bases = segmentBases(fs.readdirSync(leader.dir));
    const b = leader.appended.filter((a) => a.segmentBase === bases[1])[4];
    // the reader has looked at every segment (their final sizes are known), and a tailing
    // consumer's position past the cut is remembered
    assert.equal((await readBatches(follower)).length, leader.appended.length);
    await follower.reader.read(leader.appended.at(-2)!.baseOffset, 100);
    const oldSize = fs.statSync(logFile(follower.dir, bases[1])).size;
    truncate(follower, b.baseOffset);
    // a new leader's different history from the cut: small batches first (the cut segment ends
    // up longer than it was), then bigger ones, newer timestamps
    assert.equal(follower.writer.becomeLeader(9).errorCode, ErrorCode.NONE);
    const fresh: Appended[] = [];
    for (let i = 0; i < 40; i++) {
      const small = i < 25;
      fresh.push(
        follower.append(
          makeBatch(small ? 1 : 3, 1_800_000_000_000 + i * 10, small ? 8 : 90, 0x61 + (i % 20)),
        ),
      );
    }
    assert.ok(
      fs.statSync(logFile(follower.dir, bases[1])).size > oldSize,
      "the cut segment grew past its old size",
    );
    assert.notDeepEqual(segmentBases(fs.readdirSync(follower.dir)), bases, "rolled at other offsets");
    const want = Buffer.concat([
      ...keptBefore(leader.appended, b.baseOffset).map((a) => a.bytes),
      ...fresh.map((a) => a.bytes),
    ]);
    assert.ok(want.equals(storedLog(follower.dir).bytes));
    assert.ok(Buffer.concat(await readBatches(follower)).equals(want), "every read");
    for (const a of [...fresh].reverse()) {
      // backwards: every read looks its offset up in the index (no remembered position)
      const d = (await follower.reader.read(a.lastOffset, 1))!;
      assert.ok(splitWhole(d)[0].equals(a.bytes), `read(${a.lastOffset})`);
    }
    for (const ts of [1_800_000_000_000 + 201, 1_800_000_000_000 + 305]) {
      const byTime = await follower.reader.findBatchByTimestamp(ts);
      const first = fresh.find((a) => a.maxTimestamp >= ts)!;
      assert.ok(byTime?.batch.equals(first.bytes), `the time index of the new batches (${ts})`);
    }
    const max = await follower.reader.findMaxTimestampBatch();
    assert.ok(max?.batch.equals(fresh.at(-1)!.bytes));
  });

  test("to a segment's base offset: that segment is emptied and stays as the active one", () => {
    const { leader, follower } = pair();
    const bases = segmentBases(fs.readdirSync(leader.dir));
    const r = truncate(follower, bases[2]);
    assert.deepEqual([r.logEndOffset, r.activeSegmentBase, r.activeSegmentBytes], [bases[2], bases[2], 0]);
    assert.deepEqual(segmentBases(fs.readdirSync(follower.dir)), bases.slice(0, 3));
    assert.equal(fs.statSync(logFile(follower.dir, bases[2])).size, 0);
    assertIndexesMatchLog(follower.dir);
  });

  test("below the log start: everything goes and the log restarts at the offset (truncateFullyAndStartAt)", async () => {
    const { leader, follower } = pair();
    const start = leader.appended[30].baseOffset;
    assert.equal(follower.writer.deleteRecords(start).errorCode, ErrorCode.NONE);
    const r = truncate(follower, start - 3);
    assert.deepEqual(
      [r.logEndOffset, r.logStartOffset, r.activeSegmentBase, r.activeSegmentBytes, r.full],
      [start - 3, start - 3, start - 3, 0, true],
    );
    assert.deepEqual(segmentBases(fs.readdirSync(follower.dir)), [start - 3]);
    assert.equal(follower.state.get(3, F_LOG_START_OFFSET), start - 3);
    assert.deepEqual(follower.writer.epochs.entries(), [], "Kafka's clearAndFlush");
    assert.equal(fs.readFileSync(join(follower.dir, LEADER_EPOCH_CHECKPOINT), "utf8"), "0\n0\n");
    assert.equal(follower.writer.producers.size, 0);
    assert.equal(await follower.reader.read(start - 3, 1000), null);
  });

  test("truncateFully past the log end (the leader's log starts beyond ours) and appending from there", async () => {
    const leader = partition("leader").create();
    writeLeaderLog(leader, [[3, 30]]);
    const f = partition("follower").create();
    replicate(f, leader.dir);
    const start = leader.appended[20].baseOffset;
    const r = truncate(f, 500, true);
    assert.deepEqual([r.logEndOffset, r.logStartOffset, r.full], [500, 500, true]);
    assert.deepEqual(segmentBases(fs.readdirSync(f.dir)), [500]);
    // back to the leader's start
    const back = truncate(f, start, true);
    assert.equal(back.logEndOffset, start);
    replicate(f, leader.dir);
    assert.equal(f.writer.logEndOffset, leader.writer.logEndOffset);
    assert.ok(
      Buffer.concat(await readBatches(f, start)).equals(
        Buffer.concat(leader.appended.slice(20).map((a) => a.bytes)),
      ),
    );
    assert.deepEqual(f.writer.epochs.entries(), [{ epoch: 3, startOffset: start }]);
  });

  test("a cut inside the batch that holds the log start empties the log at the log start", () => {
    const { leader, follower } = pair([[1, 10]]);
    const b = leader.appended.find((a) => a.lastOffset - a.baseOffset >= 2)!;
    assert.equal(follower.writer.deleteRecords(b.baseOffset + 1).errorCode, ErrorCode.NONE);
    const r = truncate(follower, b.baseOffset + 2);
    assert.deepEqual([r.logEndOffset, r.logStartOffset, r.full], [b.baseOffset + 1, b.baseOffset + 1, true]);
  });

  test("at or past the log end: the log stays, an epoch entry at the log end (never written under) goes", () => {
    const { follower } = pair([[1, 5]]);
    const leo = follower.writer.logEndOffset;
    assert.equal(follower.writer.becomeLeader(4).errorCode, ErrorCode.NONE);
    assert.deepEqual(follower.writer.epochs.entries().at(-1), { epoch: 4, startOffset: leo });
    const before = files(follower.dir, [LEADER_EPOCH_CHECKPOINT]);
    const r = truncate(follower, leo);
    assert.equal(r.logEndOffset, leo);
    assert.deepEqual(follower.writer.epochs.entries(), [{ epoch: 1, startOffset: 0 }]);
    assert.equal(fs.readFileSync(join(follower.dir, LEADER_EPOCH_CHECKPOINT), "utf8"), "0\n1\n1 0\n");
    const after = files(follower.dir, [LEADER_EPOCH_CHECKPOINT]);
    for (const [n, bytes] of before) assert.ok(after.get(n)!.equals(bytes), `${n} unchanged`);
    assert.equal(follower.writer.truncateTo(-1).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
  });

  test("reopen after a truncation finds the same log: clean (nothing rebuilt) and after a crash (nothing cut)", async () => {
    const { leader, follower } = pair();
    const bases = segmentBases(fs.readdirSync(leader.dir));
    const b = leader.appended.filter((a) => a.segmentBase === bases[2])[3];
    truncate(follower, b.baseOffset + 1);
    const leo = follower.writer.logEndOffset;
    const epochs = follower.writer.epochs.entries();
    const producers = follower.writer.producers.active();
    const data = storedLog(follower.dir).bytes;
    follower.close();
    const onDisk = files(follower.dir);

    const clean = partition("follower");
    const scan = clean.open({ clean: true, recoveryPoint: leo });
    assert.equal(scan.truncate, null);
    assert.deepEqual(
      scan.segments.map((s) => s.rebuiltIndex),
      scan.segments.map(() => false),
      "the trimmed indexes load as they are",
    );
    assert.equal(scan.logEndOffset, leo);
    assert.deepEqual(clean.writer.epochs.entries(), epochs);
    assert.deepEqual(clean.writer.producers.active(), producers);
    assert.ok(Buffer.concat(await readBatches(clean)).equals(data));
    for (const [n, bytes] of onDisk)
      assert.ok(fs.readFileSync(join(clean.dir, n)).equals(bytes), `${n} as left`);

    // a crash right after a truncation (no close): the unclean scan cuts nothing and rebuilds
    // the same indexes
    truncate(clean, leader.appended[10].baseOffset);
    const leo2 = clean.writer.logEndOffset;
    const epochs2 = clean.writer.epochs.entries();
    const producers2 = clean.writer.producers.active();
    const left = files(clean.dir);
    open.splice(open.indexOf(clean), 1); // dropped, never closed
    clean.reader.close();
    const crashed = partition("follower");
    const scan2 = crashed.open({ clean: false, recoveryPoint: 0 });
    assert.equal(scan2.truncate, null);
    assert.equal(scan2.logEndOffset, leo2);
    assert.deepEqual(crashed.writer.epochs.entries(), epochs2);
    assert.deepEqual(crashed.writer.producers.active(), producers2);
    for (const [n, bytes] of left)
      assert.ok(fs.readFileSync(join(crashed.dir, n)).equals(bytes), `${n} after the crash`);
  });
});

describe("through a WriterPool and its worker thread", () => {
  interface Record {
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

  test("appendReplica via the ring (and the LARGE path), completions, becomeLeader, truncate, epochs", async () => {
    const leader = partition("leader").create();
    writeLeaderLog(leader, PLAN);
    const { bytes, at } = storedLog(leader.dir);
    const buffers = createPartitionState(16);
    const state = new PartitionState(buffers);
    // a 4 KiB ring: record sets above 2 KiB go through the side port (Kind.LARGE)
    const pool = new WriterPool(1, buffers, 1 << 12);
    const dir = join(root, "pooled");
    const slot = 5;
    const cfg: PartitionLogConfig = CFG;
    const reader = new PartitionReader(dir, slot, state, [], cfg.indexIntervalBytes);
    const records: Record[] = [];
    const waiting = new Map<number, (r: Record) => void>();
    let fatal: string | null = null;
    pool.onFatal = (e) => {
      fatal = e;
    };
    pool.onAppended = (r, count) => {
      for (let i = 0; i < count; i++) {
        const f = r.subarray(i * COMPLETION_FIELDS, (i + 1) * COMPLETION_FIELDS);
        const rec: Record = {
          tag: f[0],
          slot: f[1],
          errorCode: f[2],
          baseOffset: f[3],
          logEndOffset: f[4],
          position: f[5],
          size: f[6],
          maxTimestamp: f[7],
          segmentBase: f[8],
        };
        records.push(rec);
        // what the broker's onAppended does
        if (rec.errorCode === 0)
          reader.onAppend(rec.segmentBase, rec.baseOffset, rec.position, rec.size, rec.maxTimestamp);
        if (rec.tag !== COMPLETION_NO_TAG) waiting.get(rec.tag)?.(rec);
      }
    };
    let nextTag = 1;
    const appendReplica = (data: Uint8Array): Promise<Record> =>
      new Promise((resolve) => {
        const tag = nextTag++;
        waiting.set(tag, resolve);
        pool.appendReplica(slot, tag, data);
      });
    try {
      await pool.control(0, {
        op: "open",
        open: { slot, dir, config: cfg, logStartOffset: 0, logEndOffset: 0, active: null, closed: [] },
      });
      // the first half in small record sets (ring), the rest in one big one (side port)
      const half = at.get(leader.appended[30].baseOffset)!;
      let leo = 0;
      while (leo < leader.appended[30].baseOffset) {
        const from = at.get(leo)!;
        const before = records.length;
        const done = await appendReplica(bytes.subarray(from, Math.min(half, from + 900)));
        assert.equal(done.errorCode, 0);
        assert.equal(done.baseOffset, leo);
        // one record per appended batch, tag COMPLETION_NO_TAG, then the completion
        const mine = records.slice(before);
        const perBatch = mine.slice(0, -1);
        assert.ok(
          perBatch.length > 0 && perBatch.every((r) => r.tag === COMPLETION_NO_TAG && r.errorCode === 0),
        );
        assert.equal(perBatch[0].baseOffset, leo);
        assert.equal(mine.at(-1), done);
        assert.deepEqual([done.position, done.segmentBase, done.maxTimestamp], [-1, -1, -1]);
        assert.equal(
          done.size,
          perBatch.reduce((n, r) => n + r.size, 0),
        );
        assert.equal(done.logEndOffset, perBatch.at(-1)!.logEndOffset);
        leo = done.logEndOffset;
      }
      const rest = bytes.subarray(at.get(leo)!);
      assert.ok(rest.length > pool.maxBatchBytes, `${rest.length} bytes: the LARGE path`);
      const big = await appendReplica(rest);
      assert.equal(big.errorCode, 0);
      assert.equal(big.logEndOffset, leader.writer.logEndOffset);
      assert.equal(state.readTail(slot).logEndOffset, leader.writer.logEndOffset);
      const all: Buffer[] = [];
      for (let o = 0; o < leader.writer.logEndOffset; ) {
        const d = await reader.read(o, 1500);
        assert.ok(d !== null, `read(${o})`);
        const batches = splitWhole(d);
        all.push(...batches);
        o = lastOffsetOf(batches.at(-1)!) + 1;
      }
      assert.ok(Buffer.concat(all).equals(bytes), "the reader mirrored every batch, across rolls");
      const epochs = await pool.epochs(slot);
      assert.deepEqual(epochs.entries, leader.writer.epochs.entries());
      assert.deepEqual([epochs.latestEpoch, epochs.logEndOffset], [6, leader.writer.logEndOffset]);
      assert.deepEqual(await pool.epochEndOffset(slot, 3), {
        errorCode: 0,
        leaderEpoch: 3,
        endOffset: epochs.entries[3].startOffset,
      });

      // truncate across a roll, then the reader follows
      const bases = segmentBases(fs.readdirSync(dir));
      const cutAt = leader.appended.filter((a) => a.segmentBase === bases[1])[2];
      const t = await pool.truncate(slot, cutAt.baseOffset);
      reader.truncated(t);
      assert.deepEqual(
        [t.logEndOffset, t.activeSegmentBase, t.activeSegmentBytes],
        [cutAt.baseOffset, bases[1], cutAt.position],
      );
      assert.equal(await reader.read(cutAt.baseOffset, 1000), null);
      const kept = await reader.read(leader.appended[0].baseOffset, 1 << 20);
      assert.ok(kept !== null);

      // becomeLeader: produced batches now carry epoch 9
      const bl = await pool.becomeLeader(slot, 9);
      assert.deepEqual(bl, { errorCode: 0, leaderEpoch: 9, logEndOffset: cutAt.baseOffset });
      const produced = await new Promise<Record>((resolve) => {
        const tag = nextTag++;
        waiting.set(tag, resolve);
        pool.append(slot, tag, 1, makeBatch(2));
      });
      assert.equal(produced.errorCode, 0);
      assert.equal(produced.baseOffset, cutAt.baseOffset);
      const stored = (await reader.read(produced.baseOffset, 1000))!;
      assert.equal(stored.readInt32BE(PARTITION_LEADER_EPOCH), 9);
      assert.equal(readInt64(stored, 0), produced.baseOffset);
      await assert.rejects(
        pool.becomeLeader(slot, 8),
        (e: unknown) => e instanceof WriterOpError && e.errorCode === 74,
      );
      await assert.rejects(
        pool.truncate(99, 0),
        (e: unknown) => e instanceof WriterOpError && e.errorCode === 3,
      );

      // truncateFully: one empty segment at the new start, no epochs
      const full = await pool.truncateFully(slot, 1000);
      reader.truncated(full);
      assert.deepEqual([full.logEndOffset, full.logStartOffset, full.full], [1000, 1000, true]);
      assert.deepEqual(segmentBases(fs.readdirSync(dir)), [1000]);
      assert.deepEqual((await pool.epochs(slot)).entries, []);
      assert.equal(fatal, null);
    } finally {
      reader.close();
      await pool.shutdown();
    }
  });
});
