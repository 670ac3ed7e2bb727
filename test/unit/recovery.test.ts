// Opening a partition from disk (src/log/recovery.ts): scanPartition + applyScan on logs written
// by a real PartitionWriter, then damaged the ways a crash or a disk damages them.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { applyScan, type ScanOptions, scanPartition } from "../../src/log/recovery.ts";
import { indexFile, logFile, timeIndexFile } from "../../src/log/segment_files.ts";
import { SegmentIndex } from "../../src/log/segment_index.ts";
import { CRC, PARTITION_LEADER_EPOCH } from "../../src/protocol/record_batch.ts";
import {
  type Appended,
  config,
  listDir,
  makeBatch,
  makeTemp,
  Partition,
  rmTemp,
  T0,
} from "./fixtures/log_helpers.ts";

const INTERVAL = 120;

let root: string;
let dir: string;

beforeEach(() => {
  root = makeTemp("recovery");
  dir = join(root, "t-0");
});
afterEach(() => rmTemp(root));

/** A closed partition of `n` batches (1..4 records each), in segments of segmentBytes. */
function writeLog(n: number, segmentBytes = 1 << 30, valueBytes = 20): Appended[] {
  const p = new Partition(dir, config({ segmentBytes, indexIntervalBytes: INTERVAL })).create();
  for (let i = 0; i < n; i++) p.append(makeBatch(1 + (i % 4), T0 + i * 1000, valueBytes, 0x30 + i));
  p.close();
  return p.appended;
}

function scan(opts: Partial<ScanOptions>) {
  const s = scanPartition(dir, { clean: false, recoveryPoint: 0, indexIntervalBytes: INTERVAL, ...opts });
  applyScan(s);
  return s;
}

/** The .index and .timeindex a segment holding `batches` must have. */
function expectedIndexes(base: number, batches: Appended[]): { index: Buffer; time: Buffer } {
  const s = new SegmentIndex(base, INTERVAL);
  for (const a of batches) s.onBatch(a.baseOffset, a.position, a.bytes.length, a.maxTimestamp);
  return { index: s.encodeIndex(), time: s.encodeTimeIndex() };
}

function assertIndexes(base: number, batches: Appended[], what: string): void {
  const want = expectedIndexes(base, batches);
  assert.ok(fs.readFileSync(indexFile(dir, base)).equals(want.index), `${what}: .index`);
  assert.ok(fs.readFileSync(timeIndexFile(dir, base)).equals(want.time), `${what}: .timeindex`);
}

function snapshot(): Map<string, Buffer> {
  return new Map(listDir(dir).map((f) => [f, fs.readFileSync(join(dir, f))]));
}

function restore(files: Map<string, Buffer>): void {
  for (const f of listDir(dir)) fs.rmSync(join(dir, f));
  for (const [f, b] of files) fs.writeFileSync(join(dir, f), b);
}

describe("a clean log", () => {
  test("scans whole, changes nothing, with or without CRC checks", () => {
    const batches = writeLog(30, 1500);
    const files = snapshot();
    for (const opts of [{ clean: true }, { clean: false }, { clean: false, recoveryPoint: 1e9 }]) {
      const s = scan(opts);
      assert.equal(s.truncate, null);
      assert.deepEqual(s.droppedSegments, []);
      assert.equal(s.logEndOffset, batches.at(-1)!.lastOffset + 1);
      const bases = [...new Set(batches.map((a) => a.segmentBase))];
      assert.deepEqual(
        s.segments.map((g) => [g.baseOffset, g.bytes, g.nextOffset]),
        bases.map((b, i) => {
          const inSeg = batches.filter((a) => a.segmentBase === b);
          return [b, inSeg.reduce((n, a) => n + a.bytes.length, 0), bases[i + 1] ?? s.logEndOffset];
        }),
      );
      assert.deepEqual(snapshot(), files, JSON.stringify(opts));
    }
  });

  test("no segments: an empty scan", () => {
    fs.mkdirSync(dir);
    const s = scan({});
    assert.deepEqual(s.segments, []);
    assert.equal(s.logEndOffset, 0);
    assert.equal(s.truncate, null);
  });
});

describe("torn tail", () => {
  test("every cut inside a small last batch: log cut to the last whole batch", () => {
    const batches = writeLog(13);
    const last = batches.at(-1)!;
    const whole = batches.slice(0, -1);
    const files = snapshot();
    const log = files.get("00000000000000000000.log")!;
    const index = files.get("00000000000000000000.index")!;
    const time = files.get("00000000000000000000.timeindex")!;
    assert.equal(log.length, last.position + last.bytes.length);
    assert.ok(last.bytes.length < 100);
    assert.ok(index.length >= 16, "the clean scan resumes from an index entry");
    for (const clean of [false, true]) {
      for (let cut = last.position; cut < log.length; cut++) {
        fs.writeFileSync(logFile(dir, 0), log.subarray(0, cut));
        fs.writeFileSync(indexFile(dir, 0), index);
        fs.writeFileSync(timeIndexFile(dir, 0), time);
        const s = scan({ clean });
        const what = `clean=${clean} cut at ${cut - last.position} of ${last.bytes.length}`;
        if (cut === last.position) {
          assert.equal(s.truncate, null, what);
        } else {
          assert.ok(s.truncate !== null, what);
          assert.equal(s.truncate.segmentBase, 0, what);
          assert.equal(s.truncate.atByte, last.position, what);
          assert.equal(s.truncate.lostBytes, cut - last.position, what);
          assert.match(s.truncate.reason, /^torn batch/, what);
        }
        assert.equal(s.logEndOffset, last.baseOffset, what);
        assert.equal(s.segments[0].bytes, last.position, what);
        assert.equal(s.segments[0].nextOffset, last.baseOffset, what);
        assert.ok(fs.readFileSync(logFile(dir, 0)).equals(log.subarray(0, last.position)), what);
        assertIndexes(0, whole, what);
      }
    }
  });

  test("cuts inside a large last batch (sampled), and inside an earlier segment's last batch", () => {
    const batches = writeLog(20, 4000, 600);
    const bases = [...new Set(batches.map((a) => a.segmentBase))];
    assert.ok(bases.length >= 3);
    const files = snapshot();
    // a large last batch
    const last = batches.at(-1)!;
    for (const into of [1, 11, 12, 60, 61, 62, last.bytes.length >> 1, last.bytes.length - 1]) {
      restore(files);
      const f = logFile(dir, last.segmentBase);
      fs.truncateSync(f, last.position + into);
      const s = scan({ clean: false, recoveryPoint: 0 });
      assert.deepEqual(s.truncate && [s.truncate.segmentBase, s.truncate.atByte, s.truncate.lostBytes], [
        last.segmentBase,
        last.position,
        into,
      ]);
      assert.equal(s.logEndOffset, last.baseOffset);
      assert.equal(fs.statSync(f).size, last.position);
    }
    // the first segment torn (as if later segments were written by a confused copy): the cut ends
    // the log there and every later segment is dropped
    const firstSegLast = batches.filter((a) => a.segmentBase === 0).at(-1)!;
    restore(files);
    fs.truncateSync(logFile(dir, 0), firstSegLast.position + 30);
    const s = scan({ clean: false });
    assert.deepEqual(s.truncate && [s.truncate.segmentBase, s.truncate.atByte, s.truncate.lostBytes], [
      0,
      firstSegLast.position,
      30,
    ]);
    assert.deepEqual(s.droppedSegments, bases.slice(1));
    assert.equal(s.logEndOffset, firstSegLast.baseOffset);
    assert.deepEqual(listDir(dir), [
      "00000000000000000000.index",
      "00000000000000000000.log",
      "00000000000000000000.timeindex",
      // the writer's clean close; they describe another log end now
      "producer-state.json",
      "transaction-state.json",
    ]);
  });

  test("garbage after the last batch (a preallocated or zero-extended tail) is cut", () => {
    const batches = writeLog(8);
    const end = batches.at(-1)!.position + batches.at(-1)!.bytes.length;
    fs.appendFileSync(logFile(dir, 0), Buffer.alloc(500));
    const s = scan({ clean: false });
    assert.deepEqual(s.truncate && [s.truncate.atByte, s.truncate.lostBytes], [end, 500]);
    assert.equal(s.logEndOffset, batches.at(-1)!.lastOffset + 1);
    assert.equal(fs.statSync(logFile(dir, 0)).size, end);
  });
});

describe("flipped byte", () => {
  test("anywhere in the last batch, unclean: detected (CRC, magic, length or offset) and cut", () => {
    const batches = writeLog(9);
    const last = batches.at(-1)!;
    const log = fs.readFileSync(logFile(dir, 0));
    for (let at = 0; at < last.bytes.length; at++) {
      const bad = Buffer.from(log);
      bad[last.position + at] ^= 0x10;
      fs.writeFileSync(logFile(dir, 0), bad);
      const s = scan({ clean: false, recoveryPoint: 0 });
      if (at >= PARTITION_LEADER_EPOCH && at < PARTITION_LEADER_EPOCH + 4) {
        // the leader epoch is outside the CRC (Kafka rewrites it too): not a detectable change
        assert.equal(s.truncate, null, `byte ${at}`);
        continue;
      }
      if (at >= 4 && at < 8 && (bad[last.position + at] & 0x10) !== 0) {
        // a base offset moved up by less than 2^31: a gap, as compaction leaves (Kafka's
        // baseOffset is outside the CRC too)
        assert.equal(s.truncate, null, `byte ${at}`);
        continue;
      }
      assert.ok(s.truncate !== null, `byte ${at}`);
      assert.equal(s.truncate.atByte, last.position, `byte ${at}`);
      assert.equal(s.truncate.lostBytes, last.bytes.length, `byte ${at}`);
      if (at >= CRC) assert.match(s.truncate.reason, /CRC|magic|batch length|torn/, `byte ${at}`);
      assert.equal(s.logEndOffset, last.baseOffset);
      assert.ok(fs.readFileSync(logFile(dir, 0)).equals(log.subarray(0, last.position)));
      assertIndexes(0, batches.slice(0, -1), `byte ${at}`);
    }
  });

  test("in the middle of the log, unclean: cut there, everything after it goes", () => {
    const batches = writeLog(15);
    const victim = batches[6];
    const log = fs.readFileSync(logFile(dir, 0));
    log[victim.position + victim.bytes.length - 3] ^= 0xff; // a record byte
    fs.writeFileSync(logFile(dir, 0), log);
    const s = scan({ clean: false });
    assert.equal(s.truncate?.reason, "CRC-32C mismatch");
    assert.equal(s.truncate?.atByte, victim.position);
    assert.equal(s.truncate?.lostBytes, log.length - victim.position);
    assert.equal(s.logEndOffset, victim.baseOffset);
    assertIndexes(0, batches.slice(0, 6), "after the cut");
  });

  test("clean start, or a segment wholly below the recovery point: header chain only", () => {
    const batches = writeLog(30, 1500);
    const bases = [...new Set(batches.map((a) => a.segmentBase))];
    const victim = batches.filter((a) => a.segmentBase === bases[0]).at(-1)!;
    const log = fs.readFileSync(logFile(dir, 0));
    log[victim.position + victim.bytes.length - 3] ^= 0xff;
    fs.writeFileSync(logFile(dir, 0), log);
    const files = snapshot();
    const leo = batches.at(-1)!.lastOffset + 1;
    // clean: no CRC anywhere, even with the recovery point beyond the log end
    for (const opts of [
      { clean: true, recoveryPoint: leo + 100 },
      { clean: true, recoveryPoint: 0 },
      // unclean, but segment 0 was fsynced before the crash (recovery point at or past its end)
      { clean: false, recoveryPoint: bases[1] },
      { clean: false, recoveryPoint: leo },
    ]) {
      restore(files);
      const s = scan(opts);
      assert.equal(s.truncate, null, JSON.stringify(opts));
      assert.equal(s.logEndOffset, leo);
      assert.ok(fs.readFileSync(logFile(dir, 0)).equals(log), "the damaged batch stays");
    }
    // unclean with the recovery point inside segment 0: its batches are checked, the flip found
    restore(files);
    const s = scan({ clean: false, recoveryPoint: bases[1] - 1 });
    assert.equal(s.truncate?.reason, "CRC-32C mismatch");
    assert.equal(s.truncate?.segmentBase, 0);
    assert.deepEqual(s.droppedSegments, bases.slice(1));
    assert.equal(s.logEndOffset, victim.baseOffset);
  });

  test("the active segment is always CRC-checked on an unclean start", () => {
    const batches = writeLog(30, 1500);
    const last = batches.at(-1)!;
    const f = logFile(dir, last.segmentBase);
    const log = fs.readFileSync(f);
    log[last.position + 70] ^= 1;
    fs.writeFileSync(f, log);
    const s = scan({ clean: false, recoveryPoint: last.lastOffset + 1 });
    assert.equal(s.truncate?.reason, "CRC-32C mismatch");
    assert.equal(s.logEndOffset, last.baseOffset);
  });
});

describe("index files", () => {
  /** Damage one segment's index files, scan clean, and expect them rebuilt byte for byte. */
  function rebuiltAfter(damage: (base: number, files: Map<string, Buffer>) => void, what: string): void {
    const batches = writeLog(60, 3000);
    const bases = [...new Set(batches.map((a) => a.segmentBase))];
    assert.ok(bases.length >= 3);
    const files = snapshot();
    for (const base of bases) {
      const inSeg = batches.filter((a) => a.segmentBase === base);
      // the writer's own files are the reference
      assertIndexes(base, inSeg, `${what}: as written`);
      assert.ok(expectedIndexes(base, inSeg).index.length >= 16, "segments have index entries");
      restore(files);
      damage(base, files);
      const logs = bases.map((b) => fs.readFileSync(logFile(dir, b)));
      const s = scan({ clean: true, recoveryPoint: 1e9 });
      assert.equal(s.truncate, null, `${what} in ${base}: the log is not cut`);
      assert.equal(s.logEndOffset, batches.at(-1)!.lastOffset + 1);
      for (const [i, b] of bases.entries()) {
        assert.ok(fs.readFileSync(logFile(dir, b)).equals(logs[i]), `${what}: log ${b} intact`);
      }
      for (const b of bases) {
        assertIndexes(
          b,
          batches.filter((a) => a.segmentBase === b),
          `${what} in ${base}: segment ${b}`,
        );
      }
      // and what the reader gets from the scan is the same as what the writer had
      const seg = s.segments.find((g) => g.baseOffset === base)!;
      const idx = SegmentIndex.from(seg.index);
      const want = expectedIndexes(base, inSeg);
      assert.ok(idx.encodeIndex().equals(want.index), `${what}: in-memory index`);
      assert.ok(idx.encodeTimeIndex().equals(want.time), `${what}: in-memory time index`);
    }
  }

  let seed = 99;
  const garbage = (n: number): Buffer => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      b[i] = seed >>> 24;
    }
    return b;
  };

  test(".index deleted", () => rebuiltAfter((b) => fs.rmSync(indexFile(dir, b)), ".index deleted"));
  test(".timeindex deleted", () =>
    rebuiltAfter((b) => fs.rmSync(timeIndexFile(dir, b)), ".timeindex deleted"));
  test("both deleted", () =>
    rebuiltAfter((b) => {
      fs.rmSync(indexFile(dir, b));
      fs.rmSync(timeIndexFile(dir, b));
    }, "both deleted"));
  test(".index garbage", () =>
    rebuiltAfter(
      (b) => fs.writeFileSync(indexFile(dir, b), garbage(fs.statSync(indexFile(dir, b)).size)),
      ".index garbage",
    ));
  test(".index garbage of a torn length", () =>
    rebuiltAfter((b) => fs.writeFileSync(indexFile(dir, b), garbage(13)), ".index torn garbage"));
  test(".timeindex garbage", () =>
    rebuiltAfter(
      (b) => fs.writeFileSync(timeIndexFile(dir, b), garbage(fs.statSync(timeIndexFile(dir, b)).size)),
      ".timeindex garbage",
    ));
  test(".timeindex one entry of garbage", () =>
    rebuiltAfter(
      (b) => fs.writeFileSync(timeIndexFile(dir, b), garbage(12)),
      ".timeindex one garbage entry",
    ));
  // Index files are never fsynced: a power cut soon after a clean shutdown can leave them
  // zero-filled or short even though the clean-shutdown marker made it to disk.
  test(".index and .timeindex zero-filled", () =>
    rebuiltAfter((b) => {
      fs.writeFileSync(indexFile(dir, b), Buffer.alloc(fs.statSync(indexFile(dir, b)).size));
      fs.writeFileSync(timeIndexFile(dir, b), Buffer.alloc(fs.statSync(timeIndexFile(dir, b)).size));
    }, "zero-filled"));
  test(".timeindex zero-filled, first entry only", () =>
    rebuiltAfter((b) => {
      const t = fs.readFileSync(timeIndexFile(dir, b));
      t.fill(0, 0, 12);
      fs.writeFileSync(timeIndexFile(dir, b), t);
    }, "first time entry zeroed"));
  test(".index and .timeindex missing their last entries", () =>
    rebuiltAfter((b) => {
      fs.truncateSync(indexFile(dir, b), fs.statSync(indexFile(dir, b)).size - 16);
      fs.truncateSync(timeIndexFile(dir, b), fs.statSync(timeIndexFile(dir, b)).size - 24);
    }, "short"));
  test(".index well-formed but wrong (entries pointing inside batches)", () =>
    rebuiltAfter((b) => {
      const idx = fs.readFileSync(indexFile(dir, b));
      for (let at = 0; at < idx.length; at += 8) idx.writeUInt32BE(idx.readUInt32BE(at + 4) + 5, at + 4);
      fs.writeFileSync(indexFile(dir, b), idx);
    }, "positions off by 5"));
  test(".index well-formed but wrong (offsets off by one)", () =>
    rebuiltAfter((b) => {
      const idx = fs.readFileSync(indexFile(dir, b));
      for (let at = 0; at < idx.length; at += 8) idx.writeUInt32BE(idx.readUInt32BE(at) + 1, at);
      fs.writeFileSync(indexFile(dir, b), idx);
    }, "offsets off by one"));
});

describe("segment chain", () => {
  test("a gap between segments is kept (a compacted log); an overlapping segment and the later ones are dropped", () => {
    const batches = writeLog(60, 1500);
    const bases = [...new Set(batches.map((a) => a.segmentBase))];
    assert.ok(bases.length >= 6);
    // segment 2 gone (as if its records had all been compacted away): a gap, kept
    for (const f of [logFile(dir, bases[2]), indexFile(dir, bases[2]), timeIndexFile(dir, bases[2])])
      fs.rmSync(f);
    const gap = scan({ clean: true });
    assert.equal(gap.truncate, null);
    assert.deepEqual(
      gap.segments.map((g) => g.baseOffset),
      [...bases.slice(0, 2), ...bases.slice(3)],
    );
    assert.equal(gap.logEndOffset, batches.at(-1)!.lastOffset + 1);
    // segment 4 renamed to start inside segment 3: it overlaps, so it and the later ones go
    const overlap = bases[4] - 1;
    for (const [from, to] of [
      [logFile(dir, bases[4]), logFile(dir, overlap)],
      [indexFile(dir, bases[4]), indexFile(dir, overlap)],
      [timeIndexFile(dir, bases[4]), timeIndexFile(dir, overlap)],
    ])
      fs.renameSync(from, to);
    const firstDropped = fs.statSync(logFile(dir, overlap)).size;
    const s = scan({ clean: true });
    assert.ok(s.truncate !== null);
    assert.equal(s.truncate.segmentBase, overlap);
    assert.equal(s.truncate.atByte, 0);
    // lostBytes is what the cut segment lost (all of it); the later ones are listed as dropped
    assert.equal(s.truncate.lostBytes, firstDropped);
    assert.match(s.truncate.reason, /is below offset/);
    assert.deepEqual(s.droppedSegments, [overlap, ...bases.slice(5)]);
    assert.equal(s.logEndOffset, bases[4]);
    assert.deepEqual(
      s.segments.map((g) => g.baseOffset),
      [...bases.slice(0, 2), bases[3]],
    );
    const left = listDir(dir).filter((f) => f.endsWith(".log"));
    assert.deepEqual(
      left,
      [...bases.slice(0, 2), bases[3]].map((b) => `${String(b).padStart(20, "0")}.log`),
    );
  });

  test("a batch whose offset is below where the one before ended ends the log", () => {
    const batches = writeLog(10);
    const files = snapshot();
    // unclean: the whole chain is walked; clean: from the last index entry on (the last batch)
    for (const [clean, victim] of [
      [false, batches[4]],
      [true, batches.at(-1)!],
    ] as const) {
      restore(files);
      const log = fs.readFileSync(logFile(dir, 0));
      log.writeUInt32BE(victim.baseOffset - 1, victim.position + 4); // baseOffset low word (outside the CRC)
      fs.writeFileSync(logFile(dir, 0), log);
      const s = scan({ clean });
      assert.match(s.truncate?.reason ?? "", /batch offset/, `clean=${clean}`);
      assert.equal(s.truncate?.atByte, victim.position);
      assert.equal(s.logEndOffset, victim.baseOffset);
    }
  });

  test("after a cut the partition opens and appends on from the cut", async () => {
    const batches = writeLog(10);
    const last = batches.at(-1)!;
    fs.truncateSync(logFile(dir, 0), last.position + 20);
    const p = new Partition(dir, config({ indexIntervalBytes: INTERVAL }));
    const s = p.open({ clean: false });
    assert.equal(s.logEndOffset, last.baseOffset);
    const a = p.append(makeBatch(2, T0 + 5));
    assert.equal(a.baseOffset, last.baseOffset);
    assert.equal(a.position, last.position);
    const all = await p.readAll(0);
    assert.ok(
      Buffer.concat(all).equals(Buffer.concat([...batches.slice(0, -1).map((b) => b.bytes), a.bytes])),
    );
    p.close();
  });
});

describe("progress", () => {
  test("reports every segment and every byte of the .log files once, clean or cut", () => {
    const batches = writeLog(40, 1500);
    const bases = [...new Set(batches.map((a) => a.segmentBase))];
    assert.ok(bases.length >= 3, "several segments");
    const sizes = () => bases.reduce((n, b) => n + fs.statSync(logFile(dir, b)).size, 0);
    const files = snapshot();
    const total = sizes();
    // A torn tail in the second segment: it is cut there and the later segments dropped, but
    // their bytes are still done (the total the broker shows is the files' size before).
    const second = logFile(dir, bases[1]);
    const torn = fs.readFileSync(second);
    torn[torn.length - 10] ^= 0xff;
    for (const [what, damage] of [
      ["clean", () => {}],
      ["a CRC mismatch", () => fs.writeFileSync(second, torn)],
    ] as const) {
      restore(files);
      damage();
      for (const opts of [{ clean: true }, { clean: false }]) {
        let bytes = 0;
        let segments = 0;
        const s = scanPartition(dir, { recoveryPoint: 0, indexIntervalBytes: INTERVAL, ...opts }, (b, n) => {
          assert.ok(b >= 0 && n >= 0);
          bytes += b;
          segments += n;
        });
        if (what !== "clean" && !opts.clean) assert.ok(s.truncate && s.droppedSegments.length > 0, "cut");
        assert.equal(bytes, total, `${what}, ${JSON.stringify(opts)}: bytes`);
        assert.equal(segments, bases.length, `${what}, ${JSON.stringify(opts)}: segments`);
      }
    }
  });
});
