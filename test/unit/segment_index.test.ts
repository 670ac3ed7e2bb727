// The sparse per-segment indexes (src/log/segment_index.ts): when entries are added, floor and
// time lookups, the .index/.timeindex byte formats, and loading them back (recovery.loadIndexes).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { loadIndexes } from "../../src/log/recovery.ts";
import { indexFile, timeIndexFile } from "../../src/log/segment_files.ts";
import {
  INDEX_ENTRY_BYTES,
  SegmentIndex,
  type SegmentIndexData,
  TIME_INDEX_ENTRY_BYTES,
} from "../../src/log/segment_index.ts";
import { encodeControl } from "../../src/log/writer_protocol.ts";
import { config, makeTemp, rmTemp, T0 } from "./fixtures/log_helpers.ts";

function entries(s: SegmentIndex): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < s.count; i++) out.push([s.relOffsets[i], s.positions[i]]);
  return out;
}

function timeEntries(s: SegmentIndex): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < s.timeCount; i++) out.push([s.timestamps[i], s.timeRelOffsets[i]]);
  return out;
}

/** Batches laid end to end: [baseOffset, size, maxTimestamp] -> onBatch at the running position. */
function build(base: number, interval: number, batches: [number, number, number][]): SegmentIndex {
  const s = new SegmentIndex(base, interval);
  let pos = 0;
  for (const [offset, size, ts] of batches) {
    s.onBatch(offset, pos, size, ts);
    pos += size;
  }
  return s;
}

describe("SegmentIndex.onBatch", () => {
  test("an entry once more than intervalBytes were appended since the last one", () => {
    const s = new SegmentIndex(1000, 100);
    const added: string[] = [];
    let pos = 0;
    for (let i = 0; i < 10; i++) {
      const r = s.onBatch(1000 + i * 5, pos, 40, -1);
      added.push(r.index ? "I" : ".");
      pos += 40;
    }
    // 40, 80, 120 (> 100: entry at the 4th batch, reset), 40, 80, 120 -> entry at the 7th ...
    assert.equal(added.join(""), "...I..I..I");
    assert.deepEqual(entries(s), [
      [15, 120],
      [30, 240],
      [45, 360],
    ]);
    assert.equal(s.bytesSinceEntry, 40);
  });

  test("exactly intervalBytes since the last entry is not more than it", () => {
    const s = new SegmentIndex(0, 100);
    s.onBatch(0, 0, 50, -1);
    s.onBatch(1, 50, 50, -1);
    assert.equal(s.onBatch(2, 100, 50, -1).index, false, "100 bytes since: not > 100");
    assert.equal(s.onBatch(3, 150, 50, -1).index, true);
  });

  test("the first batch of a segment (position 0) never needs an entry", () => {
    const s = new SegmentIndex(0, 0);
    assert.deepEqual(s.onBatch(0, 0, 100, -1), { index: false, time: false });
    // interval 0: every later batch gets one
    assert.equal(s.onBatch(1, 100, 100, -1).index, true);
    assert.equal(s.onBatch(2, 200, 100, -1).index, true);
    assert.deepEqual(entries(s), [
      [1, 100],
      [2, 200],
    ]);
  });

  test("a batch larger than the interval makes the next batch indexed", () => {
    const s = new SegmentIndex(0, 4096);
    s.onBatch(0, 0, 10_000, -1);
    assert.equal(s.onBatch(7, 10_000, 10, -1).index, true);
    assert.equal(s.onBatch(8, 10_010, 10, -1).index, false);
  });

  test("a time entry only when the segment's max timestamp grows", () => {
    const s = new SegmentIndex(50, 1 << 20);
    const t: boolean[] = [];
    let pos = 0;
    for (const [off, ts] of [
      [50, T0],
      [52, T0], // equal: no entry
      [53, T0 - 5], // older: no entry
      [54, T0 + 1],
      [60, -1], // no timestamp
      [61, T0 + 100],
    ]) {
      t.push(s.onBatch(off, pos, 80, ts).time);
      pos += 80;
    }
    assert.deepEqual(t, [true, false, false, true, false, true]);
    assert.deepEqual(timeEntries(s), [
      [T0, 0],
      [T0 + 1, 4],
      [T0 + 100, 11],
    ]);
    assert.equal(s.maxTimestamp, T0 + 100);
  });

  test("grows past its initial capacity", () => {
    const s = new SegmentIndex(0, 0);
    for (let i = 0; i < 1000; i++) s.onBatch(i, i * 10, 10, T0 + i);
    assert.equal(s.count, 999);
    assert.equal(s.timeCount, 1000);
    assert.equal(s.relOffsets[998], 999);
    assert.equal(s.positions[998], 9990);
    assert.equal(s.timestamps[999], T0 + 999);
  });
});

describe("SegmentIndex.lookup", () => {
  const s = new SegmentIndex(1000, 0);
  s.pushIndex(10, 500);
  s.pushIndex(20, 900);
  s.pushIndex(35, 2000);

  test("floor: the last entry at or before the offset, else position 0", () => {
    const cases: [number, number][] = [
      [0, 0], // below the segment
      [999, 0],
      [1000, 0],
      [1009, 0],
      [1010, 500],
      [1011, 500],
      [1019, 500],
      [1020, 900],
      [1034, 900],
      [1035, 2000],
      [1036, 2000],
      [5_000_000, 2000],
    ];
    for (const [offset, pos] of cases) assert.equal(s.lookup(offset), pos, `lookup(${offset})`);
  });

  test("an empty index always says 0", () => {
    const e = new SegmentIndex(7, 4096);
    assert.equal(e.lookup(7), 0);
    assert.equal(e.lookup(1e9), 0);
  });

  test("every offset of many batches: the floor, checked against a linear search", () => {
    let seed = 1;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const batches: [number, number, number][] = [];
    let off = 2000;
    for (let i = 0; i < 300; i++) {
      const count = 1 + rand(5);
      batches.push([off, 60 + rand(3000), -1]);
      off += count;
    }
    const idx = build(2000, 1024, batches);
    assert.ok(idx.count > 20);
    for (let o = 1990; o < off + 5; o++) {
      let want = 0;
      for (let i = 0; i < idx.count; i++) if (2000 + idx.relOffsets[i] <= o) want = idx.positions[i];
      assert.equal(idx.lookup(o), want, `lookup(${o})`);
    }
  });
});

describe("SegmentIndex.lookupTime", () => {
  test("scan start for the first record at or after a timestamp", () => {
    // batches at offsets 100, 103, 110, 111, 120; maxima T0+10, T0+5, T0+30, T0+30, T0+50
    const s = build(100, 1 << 20, [
      [100, 50, T0 + 10],
      [103, 50, T0 + 5],
      [110, 50, T0 + 30],
      [111, 50, T0 + 30],
      [120, 50, T0 + 50],
    ]);
    assert.deepEqual(timeEntries(s), [
      [T0 + 10, 0],
      [T0 + 30, 10],
      [T0 + 50, 20],
    ]);
    assert.equal(s.lookupTime(0), 100);
    assert.equal(s.lookupTime(T0 + 10), 100);
    assert.equal(s.lookupTime(T0 + 11), 100, "from the batch holding the previous maximum");
    assert.equal(s.lookupTime(T0 + 30), 100);
    assert.equal(s.lookupTime(T0 + 31), 110);
    assert.equal(s.lookupTime(T0 + 50), 110);
    assert.equal(s.lookupTime(T0 + 51), -1, "no record reaches it");
  });

  test("empty segment: -1", () => {
    assert.equal(new SegmentIndex(0, 4096).lookupTime(0), -1);
  });

  test("scanning from lookupTime finds the first batch reaching ts, and none before it does", () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const batches: [number, number, number][] = [];
    let off = 500;
    for (let i = 0; i < 200; i++) {
      batches.push([off, 100, T0 + rand(1000) + i * 3]);
      off += 1 + rand(4);
    }
    const s = build(500, 1024, batches);
    for (let ts = T0 - 2; ts <= T0 + 1700; ts += 3) {
      const first = batches.findIndex((b) => b[2] >= ts);
      const start = s.lookupTime(ts);
      if (first < 0) {
        assert.equal(start, -1, `ts ${ts}`);
        continue;
      }
      assert.ok(
        start <= batches[first][0],
        `ts ${ts}: start ${start} after the batch at ${batches[first][0]}`,
      );
      assert.ok(
        batches.some((b) => b[0] === start),
        `ts ${ts}: start ${start} is a batch base offset`,
      );
    }
  });
});

describe("index files", () => {
  let dir: string;
  before(() => {
    dir = makeTemp("segidx");
  });
  after(() => rmTemp(dir));

  test(".index and .timeindex bytes: big-endian, 8- and 12-byte entries", () => {
    const s = new SegmentIndex(10, 0);
    s.pushIndex(3, 0x01020304);
    s.pushIndex(0x0a0b0c0d, 0xfffffff0);
    s.pushTime(0x0123_4567_89ab, 0);
    s.pushTime(-2, 7); // a negative timestamp still encodes as int64
    assert.equal(s.encodeIndex().toString("hex"), "0000000301020304" + "0a0b0c0dfffffff0");
    assert.equal(s.encodeIndex(1).toString("hex"), "0a0b0c0dfffffff0");
    assert.equal(
      s.encodeTimeIndex().toString("hex"),
      "00000123456789ab00000000" + "fffffffffffffffe00000007",
    );
    assert.equal(s.encodeTimeIndex(2).length, 0);
    assert.equal(INDEX_ENTRY_BYTES, 8);
    assert.equal(TIME_INDEX_ENTRY_BYTES, 12);
  });

  test("encode, write, loadIndexes: the same entries back", () => {
    const base = 123_456_789_012;
    const s = new SegmentIndex(base, 64);
    let pos = 0;
    for (let i = 0; i < 500; i++) {
      s.onBatch(base + i * 3, pos, 70 + (i % 50), T0 + i * 1000 + (i % 7));
      pos += 70 + (i % 50);
    }
    fs.writeFileSync(indexFile(dir, base), s.encodeIndex());
    fs.writeFileSync(timeIndexFile(dir, base), s.encodeTimeIndex());
    assert.equal(fs.statSync(indexFile(dir, base)).size, s.count * 8);
    assert.equal(fs.statSync(timeIndexFile(dir, base)).size, s.timeCount * 12);
    const loaded = loadIndexes(dir, base, pos, 64);
    assert.ok(loaded !== null);
    assert.equal(loaded.baseOffset, base);
    assert.deepEqual(entries(loaded), entries(s));
    assert.deepEqual(timeEntries(loaded), timeEntries(s));
    assert.equal(loaded.maxTimestamp, s.maxTimestamp);
    for (let o = base; o < base + 1500; o += 7) assert.equal(loaded.lookup(o), s.lookup(o));
  });

  test("empty files load as an empty index", () => {
    fs.writeFileSync(indexFile(dir, 5), Buffer.alloc(0));
    fs.writeFileSync(timeIndexFile(dir, 5), Buffer.alloc(0));
    const l = loadIndexes(dir, 5, 1000, 4096);
    assert.ok(l !== null);
    assert.equal(l.count, 0);
    assert.equal(l.timeCount, 0);
    assert.equal(l.maxTimestamp, -1);
  });

  test("inconsistent files are refused (null: rebuild from the log)", () => {
    const base = 9;
    const idx = (...e: [number, number][]): Buffer => {
      const s = new SegmentIndex(base, 0);
      for (const [r, p] of e) s.pushIndex(r, p);
      return s.encodeIndex();
    };
    const tidx = (...e: [number, number][]): Buffer => {
      const s = new SegmentIndex(base, 0);
      for (const [t, r] of e) s.pushTime(t, r);
      return s.encodeTimeIndex();
    };
    const good = { i: idx([1, 100], [5, 300]), t: tidx([T0, 0], [T0 + 1, 5]) };
    const cases: [string, Buffer | null, Buffer | null][] = [
      ["no .index", null, good.t],
      ["no .timeindex", good.i, null],
      ["torn .index entry", good.i.subarray(0, 12), good.t],
      ["torn .timeindex entry", good.i, good.t.subarray(0, 20)],
      ["offsets not ascending", idx([5, 100], [5, 300]), good.t],
      ["offsets going back", idx([5, 100], [1, 300]), good.t],
      ["positions not ascending", idx([1, 300], [5, 300]), good.t],
      ["position 0 (the first batch is never indexed)", idx([0, 0], [5, 300]), good.t],
      ["position past the log", idx([1, 100], [5, 1000]), good.t],
      ["timestamps not ascending", good.i, tidx([T0, 0], [T0, 5])],
      ["time offsets not ascending", good.i, tidx([T0, 5], [T0 + 1, 3])],
    ];
    fs.writeFileSync(indexFile(dir, base), good.i);
    fs.writeFileSync(timeIndexFile(dir, base), good.t);
    assert.ok(loadIndexes(dir, base, 1000, 4096) !== null, "the good pair loads");
    for (const [name, i, t] of cases) {
      fs.rmSync(indexFile(dir, base), { force: true });
      fs.rmSync(timeIndexFile(dir, base), { force: true });
      if (i) fs.writeFileSync(indexFile(dir, base), i);
      if (t) fs.writeFileSync(timeIndexFile(dir, base), t);
      assert.equal(loadIndexes(dir, base, 1000, 4096), null, name);
    }
  });
});

describe("SegmentIndex plain-data form", () => {
  test("toJSON / from, also through the JSON of a writer control message", () => {
    const s = build(40, 100, [
      [40, 80, T0],
      [41, 80, T0 + 9],
      [45, 80, T0 + 3],
      [46, 80, T0 + 20],
    ]);
    const copy = SegmentIndex.from(s.toJSON());
    assert.deepEqual(entries(copy), entries(s));
    assert.deepEqual(timeEntries(copy), timeEntries(s));
    assert.equal(copy.maxTimestamp, s.maxTimestamp);
    assert.equal(copy.bytesSinceEntry, s.bytesSinceEntry);
    // The writer gets the active segment's index as JSON (typed arrays become arrays).
    const wire = JSON.parse(
      encodeControl({
        op: "open",
        open: {
          slot: 0,
          dir: "/x",
          config: config({ indexIntervalBytes: 100 }),
          logStartOffset: 0,
          logEndOffset: 47,
          active: { baseOffset: 40, bytes: 320, nextOffset: 47, index: s.toJSON(), rebuiltIndex: false },
          closed: [],
        },
      }).toString(),
    ) as { open: { active: { index: SegmentIndexData } } };
    const viaJson = SegmentIndex.from(wire.open.active.index);
    assert.deepEqual(entries(viaJson), entries(s));
    assert.deepEqual(timeEntries(viaJson), timeEntries(s));
    // and it goes on indexing exactly as the original would
    assert.deepEqual(viaJson.onBatch(47, 320, 80, T0 + 30), s.onBatch(47, 320, 80, T0 + 30));
    assert.deepEqual(entries(viaJson), entries(s));
  });
});
