// The log cleaner (src/log/cleaner.ts) and its swap (src/log/cleaner_swap.ts), on real segment
// files in a temp dir: which records a pass keeps, how it rewrites batches (codecs, delete
// horizons, empty producer batches, offsets and CRCs), how it groups segments and stops at the
// map's bound; then every state a crash can leave a swap in, recovered and scanned.

import assert from "node:assert/strict";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { gzipSync } from "node:zlib";
import {
  ATTR_DELETE_HORIZON,
  type CleanableSegment,
  type CleanRequest,
  type CleanResult,
  cleanedFiles,
  cleanLog,
  dirtyRatio,
  offsetMapEntryBytes,
} from "../../src/log/cleaner.ts";
import { discardCleaned, recoverCleanerFiles, swapCleanedGroup } from "../../src/log/cleaner_swap.ts";
import { applyScan, type PartitionScan, scanPartition } from "../../src/log/recovery.ts";
import { indexFile, logFile, segmentName, timeIndexFile } from "../../src/log/segment_files.ts";
import { SegmentIndex } from "../../src/log/segment_index.ts";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import {
  ATTR_COMPRESSION_MASK,
  ATTR_CONTROL,
  ATTR_LOG_APPEND_TIME,
  ATTR_TRANSACTIONAL,
  BATCH_HEADER_BYTES,
  Compression,
  RECORDS,
  storedBatchIntact,
  writeInt64,
} from "../../src/protocol/record_batch.ts";
import { validateRecords } from "../../src/protocol/record_validation.ts";
import {
  assembleBatch,
  compressRecords,
  decodeBatch,
  encodeBatch,
  readBatchHeader,
} from "../../src/protocol/records.ts";
import { listDir, makeTemp, rmTemp, splitWhole, T0 } from "./fixtures/log_helpers.ts";

registerLz4(); // decodeBatch reads lz4 through the codecs table

const INTERVAL = 256;
const DAY = 86_400_000;

let root: string;
let dir: string;

beforeEach(() => {
  root = makeTemp("cleaner");
  dir = join(root, "t-0");
  fs.mkdirSync(dir);
});
afterEach(() => rmTemp(root));

// ---- building logs ----

interface Rec {
  key: string | null;
  value: string | null;
  /** Default: T0 + the record's index in its batch. */
  ts?: number;
}

interface BatchOptions {
  codec?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  transactional?: boolean;
  control?: boolean;
  logAppendTime?: boolean;
  /** Overrides the computed maxTimestamp. */
  maxTimestamp?: number;
  /** Compress the records section with this instead (e.g. another gzip level). */
  compress?: (raw: Buffer) => Buffer;
}

/** One batch as a producer sends it (baseOffset 0; the log writer assigns offsets). */
function batch(recs: Rec[], o: BatchOptions = {}): Buffer {
  const plain = encodeBatch(
    recs.map((r, i) => ({ key: r.key, value: r.value, timestamp: r.ts ?? T0 + i })),
    Compression.NONE,
  );
  const h = readBatchHeader(plain);
  const codec = o.codec ?? Compression.NONE;
  const raw = plain.subarray(RECORDS);
  let attributes = codec;
  if (o.transactional) attributes |= ATTR_TRANSACTIONAL;
  if (o.control) attributes |= ATTR_CONTROL | ATTR_TRANSACTIONAL;
  if (o.logAppendTime) attributes |= ATTR_LOG_APPEND_TIME;
  return assembleBatch(
    {
      ...h,
      attributes,
      partitionLeaderEpoch: 5,
      maxTimestamp: o.maxTimestamp ?? h.maxTimestamp,
      producerId: o.producerId ?? -1,
      producerEpoch: o.producerEpoch ?? -1,
      baseSequence: o.baseSequence ?? -1,
    },
    o.compress ? o.compress(Buffer.from(raw)) : compressRecords(codec, raw),
  );
}

/** A transaction marker of producer `pid` (control record: version 0, type 0 abort / 1 commit). */
function marker(pid: number, commit: boolean): Buffer {
  const key = Buffer.from([0, 0, 0, commit ? 1 : 0]);
  const value = Buffer.from([0, 0, 0, 0, 0, 0]);
  const plain = encodeBatch([{ key, value, timestamp: T0 }]);
  const h = readBatchHeader(plain);
  return assembleBatch(
    { ...h, attributes: ATTR_CONTROL | ATTR_TRANSACTIONAL, producerId: pid, producerEpoch: 0 },
    plain.subarray(RECORDS),
  );
}

interface Stored {
  base: number;
  last: number;
  bytes: Buffer;
}

interface Built {
  segments: CleanableSegment[];
  /** Base of the active segment (the first uncleanable offset). */
  endOffset: number;
  /** Every stored batch, oldest first. */
  stored: Stored[];
}

/**
 * Write closed segments (one per inner array) and an active segment after them, as the writer
 * stores batches: offsets assigned in order (a batch may skip offsets: gapBefore), indexes built.
 */
function writeLog(segs: Buffer[][], active: Buffer[] = [batch([{ key: "active", value: "a" }])], start = 0) {
  const built: Built = { segments: [], endOffset: 0, stored: [] };
  let next = start;
  const write = (batches: Buffer[]): CleanableSegment => {
    const base = next;
    const index = new SegmentIndex(base, INTERVAL);
    const parts: Buffer[] = [];
    let pos = 0;
    for (const b0 of batches) {
      const b = Buffer.from(b0);
      writeInt64(b, 0, next);
      const last = next + b.readInt32BE(23);
      index.onBatch(next, pos, b.length, Number(b.readBigInt64BE(35)));
      built.stored.push({ base: next, last, bytes: b });
      parts.push(b);
      pos += b.length;
      next = last + 1;
    }
    fs.writeFileSync(logFile(dir, base), Buffer.concat(parts));
    fs.writeFileSync(indexFile(dir, base), index.encodeIndex());
    fs.writeFileSync(timeIndexFile(dir, base), index.encodeTimeIndex());
    return { baseOffset: base, bytes: pos };
  };
  for (const s of segs) built.segments.push(write(s));
  built.endOffset = next;
  write(active);
  built.stored.splice(built.stored.length - active.length);
  return built;
}

function request(b: Built, over: Partial<CleanRequest> = {}): CleanRequest {
  return {
    dir,
    segments: b.segments,
    firstDirtyOffset: 0,
    endOffset: b.endOffset,
    logStartOffset: 0,
    nowMs: T0 + 1000,
    deleteRetentionMs: DAY,
    segmentBytes: 1 << 30,
    indexIntervalBytes: INTERVAL,
    maxMapBytes: 1 << 24,
    maxUncompressedBytes: 1 << 26,
    lastBatchOfProducer: {},
    aborted: [],
    ...over,
  };
}

// ---- reading results ----

interface Out {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** The batches of every cleaned group, oldest first. */
function cleanedBatches(r: CleanResult): Buffer[] {
  const out: Buffer[] = [];
  for (const g of r.groups) {
    const data = fs.readFileSync(cleanedFiles(dir, g.baseOffset).log);
    assert.equal(data.length, g.bytes, `group ${g.baseOffset}: bytes`);
    out.push(...splitWhole(data));
  }
  return out;
}

/**
 * Check what every stored batch must be (CRC, length, records inside its offset range, in order,
 * as many as recordCount) and return its records.
 */
function recordsOf(batches: Buffer[]): Out[] {
  const out: Out[] = [];
  let prev = -1;
  for (const b of batches) {
    assert.ok(storedBatchIntact(b), "batch intact (CRC-32C, length)");
    const h = readBatchHeader(b);
    assert.ok(h.baseOffset > prev, `batch ${h.baseOffset} after offset ${prev}`);
    const recs = decodeBatch(b);
    assert.equal(recs.length, h.recordCount, `batch ${h.baseOffset}: recordCount`);
    for (const r of recs) {
      assert.ok(r.offset > prev, `offset ${r.offset} after ${prev}`);
      assert.ok(r.offset <= h.baseOffset + h.lastOffsetDelta, `offset ${r.offset} inside its batch`);
      prev = r.offset;
      out.push({
        offset: r.offset,
        key: r.key === null ? null : r.key.toString(),
        value: r.value === null ? null : r.value.toString(),
        timestamp: r.timestamp,
      });
    }
    prev = h.baseOffset + h.lastOffsetDelta;
  }
  return out;
}

/** key -> value (null: a tombstone) and offset of its last record. */
function latest(recs: Out[]): Map<string | null, { value: string | null; offset: number }> {
  const m = new Map<string | null, { value: string | null; offset: number }>();
  for (const r of recs) m.set(r.key, { value: r.value, offset: r.offset });
  return m;
}

function inputRecords(b: Built): Out[] {
  return recordsOf(b.stored.map((s) => s.bytes));
}

/** The group's index files are the ones SegmentIndex builds from its .log. */
function assertIndexes(base: number, log: string, index: string, timeIndex: string): void {
  const s = new SegmentIndex(base, INTERVAL);
  let pos = 0;
  for (const b of splitWhole(fs.readFileSync(log))) {
    s.onBatch(readBatchHeader(b).baseOffset, pos, b.length, readBatchHeader(b).maxTimestamp);
    pos += b.length;
  }
  assert.ok(fs.readFileSync(index).equals(s.encodeIndex()), `${base}: .index`);
  assert.ok(fs.readFileSync(timeIndex).equals(s.encodeTimeIndex()), `${base}: .timeindex`);
}

function swapAll(r: CleanResult): void {
  for (const g of r.groups) swapCleanedGroup(dir, g);
}

/** Every batch of the log as a recovery scan (unclean: every CRC checked) leaves it. */
function scanLog(): { scan: PartitionScan; batches: Buffer[] } {
  const scan = scanPartition(dir, { clean: false, recoveryPoint: 0, indexIntervalBytes: INTERVAL });
  applyScan(scan);
  const batches: Buffer[] = [];
  for (const s of scan.segments) batches.push(...splitWhole(fs.readFileSync(logFile(dir, s.baseOffset))));
  return { scan, batches };
}

// ---- the pass ----

describe("cleanLog", () => {
  test("100 keys overwritten 1,000 times: one record per key, the last value, at its offset", () => {
    const segs: Buffer[][] = [];
    let i = 0;
    for (let s = 0; s < 50; s++) {
      const seg: Buffer[] = [];
      for (let b = 0; b < 40; b++) {
        const recs: Rec[] = [];
        for (let r = 0; r < 50; r++, i++) recs.push({ key: `key-${(i * 37) % 100}`, value: `value-${i}` });
        seg.push(batch(recs));
      }
      segs.push(seg);
    }
    const built = writeLog(segs);
    const before = new Map(listDir(dir).map((f) => [f, fs.readFileSync(join(dir, f))]));
    const segmentBytes = 200_000;
    const r = cleanLog(request(built, { segmentBytes }));

    const want = latest(inputRecords(built));
    assert.equal(want.size, 101 - 1); // "active" is not in the cleaned segments
    const got = recordsOf(cleanedBatches(r));
    assert.equal(got.length, 100);
    assert.deepEqual(latest(got), want);
    assert.equal(r.nextDirtyOffset, 100_000);
    assert.equal(r.nextDeleteHorizonMs, -1);
    assert.equal(r.stats.recordsRead, 100_000);
    assert.equal(r.stats.recordsRemoved, 99_900);
    assert.equal(r.stats.mapKeys, 100);
    // Groups: consecutive segments covering all of them, each as many as fit segment.bytes.
    const size = new Map(built.segments.map((s) => [s.baseOffset, s.bytes]));
    assert.deepEqual(
      r.groups.flatMap((g) => g.replaces),
      built.segments.map((s) => s.baseOffset),
    );
    for (const [n, g] of r.groups.entries()) {
      assert.equal(g.baseOffset, g.replaces[0]);
      const est = g.replaces.reduce((a, b) => a + size.get(b)!, 0);
      assert.ok(est <= segmentBytes, `group ${g.baseOffset}: ${est} bytes of segments`);
      const nextSeg = r.groups[n + 1]?.replaces[0];
      if (nextSeg !== undefined) assert.ok(est + size.get(nextSeg)! > segmentBytes, "groups are filled");
      const f = cleanedFiles(dir, g.baseOffset);
      assertIndexes(g.baseOffset, f.log, f.index, f.timeIndex);
    }
    assert.ok(r.groups.length > 1 && r.groups.length < built.segments.length);
    // Batches keep their offsets and offset ranges.
    const byBase = new Map(built.stored.map((s) => [s.base, s]));
    for (const b of cleanedBatches(r)) {
      const h = readBatchHeader(b);
      const orig = byBase.get(h.baseOffset);
      assert.ok(orig !== undefined, `batch ${h.baseOffset} is an original batch's`);
      assert.equal(h.lastOffsetDelta, orig.last - orig.base);
      assert.equal(h.partitionLeaderEpoch, 5);
    }
    // The originals are untouched.
    for (const [f, bytes] of before) assert.ok(fs.readFileSync(join(dir, f)).equals(bytes), f);
  });

  for (const [name, codec] of [
    ["gzip", Compression.GZIP],
    ["lz4", Compression.LZ4],
  ] as const) {
    test(`${name} batches are rewritten with ${name}, readable and intact`, () => {
      const segs: Buffer[][] = [[], [], []];
      let i = 0;
      for (let b = 0; b < 60; b++) {
        const recs: Rec[] = [];
        for (let r = 0; r < 20; r++, i++) recs.push({ key: `k${i % 10}`, value: `v${i}`.repeat(10) });
        segs[b % 3 === 2 ? 2 : b < 30 ? 0 : 1].push(batch(recs, { codec }));
      }
      const built = writeLog(segs);
      const r = cleanLog(request(built));
      const out = cleanedBatches(r);
      assert.ok(out.length > 0);
      for (const b of out) {
        assert.equal(b.readInt16BE(21) & ATTR_COMPRESSION_MASK, codec, "the batch's own codec");
        assert.ok(readBatchHeader(b).recordCount < 20, "records were removed");
      }
      const got = recordsOf(out);
      assert.deepEqual(latest(got), latest(inputRecords(built)));
      assert.equal(got.length, 10);
    });
  }

  for (const [name, codec] of [
    ["uncompressed", Compression.NONE],
    ["gzip", Compression.GZIP],
    ["lz4", Compression.LZ4],
  ] as const) {
    test(`tombstones (${name}): the first pass stamps a delete horizon, a pass past it removes them`, () => {
      const built = writeLog([
        [
          batch(
            [
              { key: "a", value: "1" },
              { key: "b", value: "1" },
              { key: "c", value: "1" },
            ],
            { codec },
          ),
        ],
        [
          batch(
            [
              { key: "a", value: null, ts: T0 + 500 },
              { key: "b", value: "2", ts: T0 + 100 },
              { key: "d", value: "1", ts: T0 + 700 },
            ],
            { codec },
          ),
        ],
      ]);
      const now1 = T0 + 10_000;
      const horizon = now1 + DAY;
      const r1 = cleanLog(request(built, { nowMs: now1 }));
      assert.equal(r1.nextDeleteHorizonMs, horizon);
      const out1 = cleanedBatches(r1);
      assert.equal(out1.length, 2);
      const [first, second] = out1;
      // The first batch lost a and b, holds no tombstone: no horizon.
      assert.equal(first.readInt16BE(21) & ATTR_DELETE_HORIZON, 0);
      assert.equal(readBatchHeader(first).baseTimestamp, T0);
      // The second kept all three, a tombstone among them: stamped.
      const h = readBatchHeader(second);
      assert.equal(h.attributes, codec | ATTR_DELETE_HORIZON);
      assert.equal(h.baseTimestamp, horizon);
      assert.equal(h.maxTimestamp, T0 + 700);
      assert.equal(h.lastOffsetDelta, 2);
      assert.equal(h.producerId, -1);
      assert.deepEqual(
        decodeBatch(second).map((x) => [x.key?.toString(), x.value?.toString() ?? null, x.timestamp]),
        [
          ["a", null, T0 + 500],
          ["b", "2", T0 + 100],
          ["d", "1", T0 + 700],
        ],
      );
      // All records kept, offsets dense: the produce path's own record validation passes it.
      assert.equal(validateRecords(second).message, "");
      assert.deepEqual(
        recordsOf(out1).map((x) => [x.key, x.value]),
        [
          ["c", "1"],
          ["a", null],
          ["b", "2"],
          ["d", "1"],
        ],
      );
      swapAll(r1);
      assert.deepEqual(
        r1.groups.map((g) => g.replaces),
        [[0, 3]],
      );

      // Before the horizon: nothing changes, the stamped batch is copied as it is.
      const now = () => [{ baseOffset: 0, bytes: fs.statSync(logFile(dir, 0)).size }];
      const stampedBefore = splitWhole(fs.readFileSync(logFile(dir, 0)))[1];
      const r2 = cleanLog(request(built, { segments: now(), firstDirtyOffset: 6, nowMs: horizon - 1 }));
      assert.equal(r2.nextDeleteHorizonMs, horizon);
      assert.equal(r2.stats.tombstonesRemoved, 0);
      const out2 = cleanedBatches(r2);
      assert.ok(out2[1].equals(stampedBefore));
      swapAll(r2);

      // At the horizon: the tombstone goes (it was the latest of a: a is gone).
      const r3 = cleanLog(request(built, { segments: now(), firstDirtyOffset: 6, nowMs: horizon }));
      assert.equal(r3.stats.tombstonesRemoved, 1);
      assert.equal(r3.nextDeleteHorizonMs, -1);
      const out3 = cleanedBatches(r3);
      assert.deepEqual(
        recordsOf(out3).map((x) => [x.key, x.value, x.offset]),
        [
          ["c", "1", 2],
          ["b", "2", 4],
          ["d", "1", 5],
        ],
      );
      const h3 = readBatchHeader(out3[1]);
      assert.equal(h3.attributes, codec | ATTR_DELETE_HORIZON, "the horizon stays");
      assert.equal(h3.baseTimestamp, horizon);
      assert.equal(h3.lastOffsetDelta, 2);
    });
  }

  test("a producer's last batch is kept as an empty batch; an earlier one goes", () => {
    const p = (seq: number, keys: string[]) =>
      batch(
        keys.map((k) => ({ key: k, value: `p${seq}` })),
        { codec: Compression.GZIP, producerId: 7, producerEpoch: 3, baseSequence: seq, logAppendTime: true },
      );
    const built = writeLog([
      [p(0, ["x", "y"]), p(2, ["x", "y", "z"]), batch([{ key: "x", value: "new" }])],
      [batch([{ key: "y", value: "new" }]), batch([{ key: "z", value: "new" }])],
    ]);
    const [first, last] = built.stored;
    assert.equal(last.base, 2);
    const run = (lastBatchOfProducer: Record<string, number>) => {
      const r = cleanLog(request(built, { lastBatchOfProducer }));
      const out = cleanedBatches(r);
      recordsOf(out);
      return out;
    };
    const out = run({ "7": last.last });
    const bases = out.map((b) => readBatchHeader(b).baseOffset);
    assert.deepEqual(bases, [2, 5, 6, 7], "the first producer batch dropped, the last kept");
    const e = out[0];
    assert.equal(e.length, BATCH_HEADER_BYTES);
    assert.ok(storedBatchIntact(e));
    const orig = readBatchHeader(last.bytes);
    assert.deepEqual(readBatchHeader(e), {
      ...orig,
      attributes: ATTR_LOG_APPEND_TIME, // no codec
      baseTimestamp: orig.maxTimestamp,
      recordCount: 0,
    });
    assert.equal(orig.lastOffsetDelta, 2);
    assert.deepEqual(decodeBatch(e), []);
    // Not the last batch of its producer: it goes like any other.
    assert.deepEqual(
      run({}).map((b) => readBatchHeader(b).baseOffset),
      [5, 6, 7],
    );
    assert.deepEqual(
      run({ "7": first.last }).map((b) => readBatchHeader(b).baseOffset),
      [0, 5, 6, 7],
    );
    // A producer batch that keeps some records is rewritten with its producer fields and range.
    rmTemp(dir);
    fs.mkdirSync(dir);
    const built2 = writeLog([[p(0, ["q", "x"]), batch([{ key: "x", value: "new" }])]]);
    const [kept] = cleanedBatches(cleanLog(request(built2)));
    const k = readBatchHeader(kept);
    const o = readBatchHeader(built2.stored[0].bytes);
    assert.deepEqual(
      [
        k.baseOffset,
        k.lastOffsetDelta,
        k.recordCount,
        k.producerId,
        k.producerEpoch,
        k.baseSequence,
        k.attributes,
      ],
      [0, 1, 1, 7, 3, 0, Compression.GZIP | ATTR_LOG_APPEND_TIME],
    );
    assert.equal(k.maxTimestamp, o.maxTimestamp, "LogAppendTime: maxTimestamp kept");
    assert.deepEqual(
      decodeBatch(kept).map((x) => [x.offset, x.key?.toString()]),
      [[0, "q"]],
    );
  });

  test("aborted transactions are dropped and never enter the offset map; markers stay as they are", () => {
    const t = (keys: string[], seq: number) =>
      batch(
        keys.map((k) => ({ key: k, value: `txn${seq}` })),
        { producerId: 9, producerEpoch: 0, baseSequence: seq, transactional: true },
      );
    const abort = marker(9, false);
    const commit = marker(9, true);
    const built = writeLog([
      [batch([{ key: "k", value: "committed" }]), t(["k", "m"], 0), abort],
      [t(["n"], 2), commit, batch([{ key: "m", value: "plain" }])],
    ]);
    const [, aborted, abortStored, , commitStored] = built.stored;
    const r = cleanLog(
      request(built, {
        aborted: [{ producerId: 9, firstOffset: aborted.base, lastOffset: abortStored.base }],
        lastBatchOfProducer: { "9": commitStored.last },
      }),
    );
    const out = cleanedBatches(r);
    const got = recordsOf(out.filter((b) => (b.readInt16BE(21) & ATTR_CONTROL) === 0));
    assert.deepEqual(
      got.map((x) => [x.key, x.value]),
      [
        ["k", "committed"], // the aborted k neither survives nor removes it
        ["n", "txn2"],
        ["m", "plain"],
      ],
    );
    assert.ok(!out.some((b) => readBatchHeader(b).baseOffset === aborted.base), "the aborted batch is gone");
    assert.ok(
      out.some((b) => b.equals(abortStored.bytes)),
      "the abort marker is kept byte for byte",
    );
    assert.ok(
      out.some((b) => b.equals(commitStored.bytes)),
      "the commit marker is kept byte for byte",
    );
    assert.equal(r.stats.recordsRemoved, 2);
  });

  test("the map's bound: whole segments are mapped and cleaned, nextDirtyOffset where it filled", () => {
    // 5 segments of 100 distinct 5-byte keys; segment 2 starts with a newer k0000, segment 4
    // ends with a newer k0001.
    const segs: Buffer[][] = [];
    for (let s = 0; s < 5; s++) {
      const recs: Rec[] = [];
      for (let i = 0; i < 100; i++)
        recs.push({ key: `k${String(s * 100 + i).padStart(4, "0")}`, value: `s${s}` });
      if (s === 2) recs[0] = { key: "k0000", value: "s2" };
      if (s === 4) recs[99] = { key: "k0001", value: "s4" };
      segs.push([batch(recs.slice(0, 50)), batch(recs.slice(50))]);
    }
    const built = writeLog(segs);
    const per = offsetMapEntryBytes(5);
    assert.equal(per, 29);
    const r = cleanLog(request(built, { maxMapBytes: per * 250 }));
    assert.equal(r.nextDirtyOffset, 200, "segments 0 and 1 mapped whole; the map filled in segment 2");
    assert.deepEqual(
      r.groups.flatMap((g) => g.replaces),
      [0, 100],
    );
    assert.ok(!fs.existsSync(cleanedFiles(dir, 200).log));
    const got = latest(recordsOf(cleanedBatches(r)));
    assert.equal(got.has("k0000"), false, "superseded by segment 2's k0000 (mapped before the map filled)");
    assert.deepEqual(got.get("k0001"), { value: "s0", offset: 1 }, "segment 4 was not mapped");
    assert.equal(got.size, 199);
    // The next pass starts there.
    assert.equal(
      cleanLog(request(built, { maxMapBytes: per * 250, firstDirtyOffset: 200 })).nextDirtyOffset,
      400,
    );
    // Everything fits: to the end.
    assert.equal(cleanLog(request(built, { maxMapBytes: per * 500 })).nextDirtyOffset, 500);
    // Not even one segment fits: refused, nothing left behind.
    for (const f of listDir(dir)) if (f.endsWith(".cleaned")) fs.rmSync(join(dir, f));
    assert.throws(() => cleanLog(request(built, { maxMapBytes: per * 99 })), /offset map/);
    assert.deepEqual(
      listDir(dir).filter((f) => f.endsWith(".cleaned")),
      [],
    );
  });

  test("a batch whose records all stay is copied byte for byte", () => {
    // Originals a rewrite would not reproduce: gzip at level 1, a maxTimestamp past the records.
    const gz = batch(
      [
        { key: "g1", value: "x".repeat(200) },
        { key: "g2", value: "y".repeat(200) },
      ],
      { codec: Compression.GZIP, compress: (raw) => gzipSync(raw, { level: 1 }) },
    );
    const plain = batch([{ key: "p1", value: "v" }], { maxTimestamp: T0 + 999_999 });
    const lz = batch([{ key: "l1", value: "z".repeat(300) }], {
      codec: Compression.LZ4,
      maxTimestamp: T0 + 5,
    });
    const loses = batch(
      [
        { key: "dup", value: "old" },
        { key: "keep", value: "v" },
      ],
      { maxTimestamp: T0 + 999_999 },
    );
    const built = writeLog([
      [gz, plain, loses],
      [lz, batch([{ key: "dup", value: "new" }])],
    ]);
    const r = cleanLog(request(built));
    const out = cleanedBatches(r);
    const stored = built.stored.map((s) => s.bytes);
    assert.ok(out[0].equals(stored[0]), "gzip batch copied");
    assert.ok(out[1].equals(stored[1]), "plain batch copied");
    assert.ok(!out[2].equals(stored[2]), "the batch that lost a record is rewritten");
    assert.equal(readBatchHeader(out[2]).maxTimestamp, T0 + 1, "its maxTimestamp: the kept record's");
    assert.ok(out[3].equals(stored[3]), "lz4 batch copied");
    assert.ok(out[4].equals(stored[4]));
  });

  test("groups: never past segment.bytes (a group that grows is split), never past Int32 offsets", () => {
    // Segment A: one batch of 200 tombstones, small timestamp deltas (stamping a horizon makes
    // each delta a 5-byte varlong); B: 5 batches of about 300 bytes. segment.bytes = A + B:
    // grouped, but A grows by about 800 bytes when stamped, so B's second batch does not fit:
    // the group is cut back to where B started and B gets its own.
    const tombs: Rec[] = [];
    for (let i = 0; i < 200; i++) tombs.push({ key: `t${String(i).padStart(3, "0")}`, value: null });
    const bRecs: Rec[] = [];
    for (let i = 0; i < 15; i++) bRecs.push({ key: `b${i}`, value: "v".repeat(80) });
    const bBatches = [0, 3, 6, 9, 12].map((i) => batch(bRecs.slice(i, i + 3)));
    const built = writeLog([[batch(tombs)], bBatches]);
    const [a, b] = built.segments;
    const segmentBytes = a.bytes + b.bytes;
    const r = cleanLog(request(built, { segmentBytes }));
    assert.deepEqual(
      r.groups.map((g) => g.replaces),
      [[0], [200]],
    );
    assert.ok(r.groups[0].bytes > a.bytes, "A grew");
    for (const g of r.groups) {
      assert.ok(g.bytes <= segmentBytes);
      const f = cleanedFiles(dir, g.baseOffset);
      assertIndexes(g.baseOffset, f.log, f.index, f.timeIndex);
    }
    assert.ok(r.groups[0].bytes + bBatches[0].length <= segmentBytes, "B's first batch fitted");
    assert.equal(r.stats.recordsRead, 215, "the cut-back segment counted once");
    assert.equal(recordsOf(cleanedBatches(r)).length, 215);

    // Offsets: a segment whose last offset is more than 2^31 - 1 past the group's base starts
    // its own group, however small.
    rmTemp(dir);
    fs.mkdirSync(dir);
    const far = 2 ** 31 + 5;
    const one = writeLog([[batch([{ key: "x", value: "1" }])]], [batch([{ key: "y", value: "1" }])]);
    const two = writeLog([[batch([{ key: "x", value: "2" }])]], undefined, far);
    const segments = [one.segments[0], { baseOffset: 1, bytes: 0 }, two.segments[0]];
    fs.writeFileSync(logFile(dir, 1), Buffer.alloc(0));
    const r2 = cleanLog(request(two, { segments, endOffset: far + 1 }));
    assert.deepEqual(
      r2.groups.map((g) => g.replaces),
      [[0, 1], [far]],
    );
  });

  test("a .cleaned file left from an earlier crash is overwritten", () => {
    const built = writeLog([[batch([{ key: "a", value: "1" }]), batch([{ key: "a", value: "2" }])]]);
    const f = cleanedFiles(dir, 0);
    fs.writeFileSync(f.log, Buffer.alloc(10_000, 0xee));
    fs.writeFileSync(f.index, Buffer.alloc(800, 0xee));
    const r = cleanLog(request(built));
    assert.equal(fs.statSync(f.log).size, r.groups[0].bytes);
    assert.deepEqual(
      recordsOf(cleanedBatches(r)).map((x) => x.value),
      ["2"],
    );
    assertIndexes(0, f.log, f.index, f.timeIndex);
    discardCleaned(dir, r.groups[0]);
    assert.deepEqual(
      listDir(dir).filter((n) => n.includes(".cleaned")),
      [],
    );
  });

  test("a batch whose CRC does not match stops the pass, nothing left behind", () => {
    const built = writeLog([[batch([{ key: "a", value: "1" }]), batch([{ key: "a", value: "2" }])]]);
    const data = fs.readFileSync(logFile(dir, 0));
    data[data.length - 1] ^= 1;
    fs.writeFileSync(logFile(dir, 0), data);
    assert.throws(() => cleanLog(request(built)), /CRC-32C/);
    assert.deepEqual(
      listDir(dir).filter((n) => n.includes(".cleaned")),
      [],
    );
  });

  test("dirtyRatio: dirty bytes over all bytes, by segment", () => {
    const segs = [
      { baseOffset: 0, bytes: 100 },
      { baseOffset: 10, bytes: 300 },
      { baseOffset: 20, bytes: 600 },
    ];
    assert.equal(dirtyRatio(segs, 0), 1);
    assert.equal(dirtyRatio(segs, 10), 0.9);
    assert.equal(dirtyRatio(segs, 20), 0.6);
    assert.equal(dirtyRatio(segs, 30), 0);
    assert.equal(dirtyRatio([], 0), 0);
  });
});

// ---- swap and recovery ----

describe("swap, and recovery from a crash at any step", () => {
  /**
   * A log of 4 closed segments and an active one: 20 keys overwritten 30 times, a unique key in
   * every even batch (so the odd ones go whole: gaps), a tombstone. Cleaned into two groups, not
   * swapped.
   */
  function prepare() {
    const segs: Buffer[][] = [[], [], [], []];
    let i = 0;
    for (let b = 0; b < 40; b++) {
      const recs: Rec[] = [];
      for (let n = 0; n < 15; n++, i++) recs.push({ key: `k${i % 20}`, value: `v${i}` });
      if (b % 2 === 0) recs.push({ key: `u${b}`, value: "unique" });
      segs[Math.floor(b / 10)].push(batch(recs));
    }
    segs[3].push(batch([{ key: "k5", value: null }]));
    const built = writeLog(segs, [batch([{ key: "k3", value: "active" }])]);
    const all = inputRecords(built);
    all.push({ offset: built.endOffset, key: "k3", value: "active", timestamp: T0 });
    const want = new Map([...latest(all)].map(([k, v]) => [k, v.value]));
    const [s0, s1, s2, s3] = built.segments.map((s) => s.bytes);
    const r = cleanLog(request(built, { segmentBytes: Math.max(s0 + s1, s2 + s3) }));
    assert.deepEqual(
      r.groups.map((g) => g.replaces),
      [
        [built.segments[0].baseOffset, built.segments[1].baseOffset],
        [built.segments[2].baseOffset, built.segments[3].baseOffset],
      ],
    );
    const files = new Map(listDir(dir).map((f) => [f, fs.readFileSync(join(dir, f))]));
    const groupRecords = r.groups.map(
      (g) => recordsOf(splitWhole(fs.readFileSync(cleanedFiles(dir, g.baseOffset).log))).length,
    );
    const inGroup1 = all.filter(
      (x) => x.offset >= r.groups[1].baseOffset && x.offset < built.endOffset,
    ).length;
    const counts = {
      original: all.length,
      /** The first group swapped in, the second not. */
      half: groupRecords[0] + inGroup1 + 1,
      cleaned: groupRecords[0] + groupRecords[1] + 1,
    };
    assert.ok(counts.cleaned < counts.half && counts.half < counts.original, JSON.stringify(counts));
    return { built, r, want, files, counts };
  }

  function restore(files: Map<string, Buffer>): void {
    for (const f of listDir(dir)) fs.rmSync(join(dir, f));
    for (const [f, b] of files) fs.writeFileSync(join(dir, f), b);
  }

  /** Recover and scan; the log must hold every key's latest value, offsets unique and growing. */
  function check(want: Map<string | null, unknown>, what: string): { records: number; scan: PartitionScan } {
    recoverCleanerFiles(dir);
    const leftovers = listDir(dir).filter((f) => /\.(cleaned|swap|deleted)$/.test(f));
    assert.deepEqual(leftovers, [], `${what}: leftovers`);
    // Every segment's indexes (the swapped-in ones too) are the ones its .log gives.
    for (const f of listDir(dir).filter((n) => n.endsWith(".log"))) {
      const base = Number(f.slice(0, 20));
      assertIndexes(base, logFile(dir, base), indexFile(dir, base), timeIndexFile(dir, base));
    }
    const { scan, batches } = scanLog();
    assert.equal(scan.truncate, null, `${what}: nothing cut (${scan.truncate?.reason})`);
    const recs = recordsOf(batches); // throws on a duplicate or a backwards offset
    const got = new Map([...latest(recs)].map(([k, v]) => [k, v.value]));
    assert.deepEqual(got, want, `${what}: latest values`);
    return { records: recs.length, scan };
  }

  const name = (base: number, ext: string, suffix = "") => join(dir, `${segmentName(base)}.${ext}${suffix}`);

  test("swapCleanedGroup: the cleaned log in place, nothing else left", () => {
    const { r, want, built, counts } = prepare();
    swapAll(r);
    const { records, scan } = check(want, "after the swap");
    assert.equal(records, counts.cleaned);
    assert.deepEqual(
      scan.segments.map((s) => s.baseOffset),
      [r.groups[0].baseOffset, r.groups[1].baseOffset, built.endOffset],
    );
    for (const g of r.groups)
      assertIndexes(
        g.baseOffset,
        name(g.baseOffset, "log"),
        name(g.baseOffset, "index"),
        name(g.baseOffset, "timeindex"),
      );
  });

  test("states left by hand: a crash before the swap is undone, one after it is completed", () => {
    const { r, want, files, counts } = prepare();
    const g = r.groups[1]; // the crash hits the second group; the first one was swapped in
    const toSwap = () => {
      for (const ext of ["index", "timeindex", "log"])
        fs.renameSync(name(g.baseOffset, ext, ".cleaned"), name(g.baseOffset, ext, ".swap"));
    };
    const allDeleted = () => {
      for (const b of g.replaces)
        for (const ext of ["log", "index", "timeindex"])
          fs.renameSync(name(b, ext), name(b, ext, ".deleted"));
    };
    const states: [string, () => void, number, { discarded: number; completed: number }][] = [
      ["only .cleaned files", () => {}, counts.half, { discarded: 3, completed: 0 }],
      [
        "index files .swap, the .log still .cleaned",
        () => {
          fs.renameSync(name(g.baseOffset, "index", ".cleaned"), name(g.baseOffset, "index", ".swap"));
          fs.renameSync(
            name(g.baseOffset, "timeindex", ".cleaned"),
            name(g.baseOffset, "timeindex", ".swap"),
          );
        },
        counts.half,
        { discarded: 3, completed: 0 },
      ],
      ["all three .swap, the segments intact", toSwap, counts.cleaned, { discarded: 0, completed: 1 }],
      [
        "the .swap files, the first replaced .log renamed .deleted",
        () => {
          toSwap();
          fs.renameSync(name(g.replaces[0], "log"), name(g.replaces[0], "log", ".deleted"));
        },
        counts.cleaned,
        { discarded: 0, completed: 1 },
      ],
      [
        "the .swap files, the last replaced segment .deleted, the first not",
        () => {
          toSwap();
          const b = g.replaces[1];
          for (const ext of ["log", "index", "timeindex"])
            fs.renameSync(name(b, ext), name(b, ext, ".deleted"));
        },
        counts.cleaned,
        { discarded: 0, completed: 1 },
      ],
      [
        "the .swap files, every replaced file .deleted",
        () => {
          toSwap();
          allDeleted();
        },
        counts.cleaned,
        { discarded: 0, completed: 1 },
      ],
      [
        "the index files renamed in, the .log.swap not yet",
        () => {
          toSwap();
          allDeleted();
          for (const ext of ["index", "timeindex"])
            fs.renameSync(name(g.baseOffset, ext, ".swap"), name(g.baseOffset, ext));
        },
        counts.cleaned,
        { discarded: 0, completed: 1 },
      ],
      [
        "everything renamed in, the .deleted files left",
        () => {
          toSwap();
          allDeleted();
          for (const ext of ["index", "timeindex", "log"])
            fs.renameSync(name(g.baseOffset, ext, ".swap"), name(g.baseOffset, ext));
        },
        counts.cleaned,
        { discarded: 0, completed: 0 },
      ],
    ];
    for (const [what, crash, records, did] of states) {
      restore(files);
      swapCleanedGroup(dir, r.groups[0]);
      crash();
      assert.deepEqual(recoverCleanerFiles(dir), did, `${what}: what recovery did`);
      assert.equal(check(want, what).records, records, `${what}: records`);
    }
    // A crash before any swap: both groups' .cleaned files go, the original log stays.
    restore(files);
    assert.deepEqual(recoverCleanerFiles(dir), { discarded: 6, completed: 0 });
    assert.equal(check(want, "before any swap").records, counts.original);
  });

  test("a group whose records all go: its empty .log.swap still replaces its own base", () => {
    const built = writeLog([[batch([{ key: "a", value: "1" }])], [batch([{ key: "a", value: "2" }])]]);
    const r = cleanLog(request(built, { segmentBytes: built.segments[0].bytes }));
    assert.deepEqual(
      r.groups.map((g) => [g.replaces, g.bytes]),
      [
        [[0], 0],
        [[1], built.segments[1].bytes],
      ],
    );
    for (const ext of ["index", "timeindex", "log"])
      fs.renameSync(name(0, ext, ".cleaned"), name(0, ext, ".swap"));
    assert.deepEqual(recoverCleanerFiles(dir), { discarded: 3, completed: 1 });
    const { records, scan } = check(
      new Map<string | null, unknown>([
        ["a", "2"],
        ["active", "a"],
      ]),
      "empty swap",
    );
    assert.equal(records, 2);
    assert.deepEqual(
      scan.segments.map((s) => [s.baseOffset, s.bytes]),
      [
        [0, 0],
        [1, built.segments[1].bytes],
        [2, fs.statSync(name(2, "log")).size],
      ],
    );
  });

  test("a crash at each file operation of swapCleanedGroup: recovery completes or undoes it", () => {
    const { r, want, files, counts } = prepare();
    const ops = ["renameSync", "rmSync", "fsyncSync"] as const;
    // Count the operations of a whole swap of both groups.
    let count = 0;
    const counting = (op: (typeof ops)[number]) => {
      const real = fs[op] as (...a: unknown[]) => unknown;
      mock.method(fs, op, (...a: unknown[]) => {
        count++;
        return real(...a);
      });
    };
    ops.forEach(counting);
    syncBuiltinESMExports();
    try {
      swapAll(r);
    } finally {
      mock.restoreAll();
      syncBuiltinESMExports();
    }
    assert.ok(count >= 2 * (3 + 3 + 3) + 6, `${count} operations`);
    const seen = new Set<number>();
    for (let crashAt = 1; crashAt <= count; crashAt++) {
      restore(files);
      let n = 0;
      for (const op of ops) {
        const real = fs[op] as (...a: unknown[]) => unknown;
        mock.method(fs, op, (...a: unknown[]) => {
          if (++n === crashAt) throw new Error("crash");
          return real(...a);
        });
      }
      syncBuiltinESMExports();
      let crashed = false;
      try {
        swapAll(r);
      } catch (e) {
        crashed = (e as Error).message === "crash";
      } finally {
        mock.restoreAll();
        syncBuiltinESMExports();
      }
      assert.ok(crashed, `operation ${crashAt} crashed`);
      const got = check(want, `crash at operation ${crashAt}`);
      seen.add(got.records);
      assert.ok(
        [counts.original, counts.half, counts.cleaned].includes(got.records),
        `crash at ${crashAt}: ${got.records} records`,
      );
    }
    // Before the first group's .log.swap exists: the original log; from there to the second
    // group's: the first group cleaned; after that: all of it.
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [counts.cleaned, counts.half, counts.original],
    );
  });

  test("index .swap files without their .log.swap are removed; a lone .deleted too", () => {
    const { want, built } = prepare();
    fs.writeFileSync(name(0, "index", ".swap"), Buffer.alloc(8));
    fs.writeFileSync(name(built.segments[2].baseOffset, "timeindex", ".swap"), Buffer.alloc(12));
    fs.copyFileSync(name(0, "log"), name(0, "log", ".deleted"));
    const counts = recoverCleanerFiles(dir);
    assert.deepEqual(counts, { discarded: 6 + 2, completed: 0 });
    check(want, "orphans");
    assert.deepEqual(recoverCleanerFiles(dir), { discarded: 0, completed: 0 }, "a second run finds nothing");
  });
});
