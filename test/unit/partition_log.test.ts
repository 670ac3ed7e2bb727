// PartitionWriter + PartitionReader on real files in a fresh temp dir, with a real
// PartitionState: appends of real RecordBatch v2 bytes, reads by offset, maxBytes and KIP-74,
// rolling, reopening (clean and unclean), and the timestamp lookup.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import {
  F_ACTIVE_SEGMENT_BASE,
  F_ACTIVE_SEGMENT_BYTES,
  F_FLUSHED_OFFSET,
  F_LOG_END_OFFSET,
  F_LOG_START_OFFSET,
  F_STATUS,
  STATUS_ONLINE,
} from "../../src/log/partition_state.ts";
import { indexFile, logFile, segmentName, timeIndexFile } from "../../src/log/segment_files.ts";
import { SegmentIndex } from "../../src/log/segment_index.ts";
import {
  BASE_OFFSET,
  CRC,
  PARTITION_LEADER_EPOCH,
  readInt64,
  storedBatchIntact,
} from "../../src/protocol/record_batch.ts";
import { decodeBatch } from "../../src/protocol/records.ts";
import {
  type Appended,
  config,
  lastOffsetOf,
  listDir,
  makeBatch,
  makeTemp,
  Partition,
  rmTemp,
  splitWhole,
  T0,
} from "./fixtures/log_helpers.ts";

let root: string;
let dir: string;
const open: Partition[] = [];

beforeEach(() => {
  root = makeTemp("plog");
  dir = join(root, "topic-a-0");
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

function partition(cfg = config()): Partition {
  const p = new Partition(dir, cfg);
  open.push(p);
  return p;
}

/** Append `n` batches of 1..5 records with growing timestamps; returns what was appended. */
function fill(p: Partition, n: number, valueBytes = 16): Appended[] {
  const out: Appended[] = [];
  for (let i = 0; i < n; i++) {
    const count = 1 + (i % 5);
    out.push(p.append(makeBatch(count, T0 + i * 100, valueBytes, 0x41 + (i % 20))));
  }
  return out;
}

function concat(list: Appended[]): Buffer {
  return Buffer.concat(list.map((a) => a.bytes));
}

/** The appended batches holding offsets from..end: what a read from `from` should start with. */
function batchesFrom(p: Partition, from: number): Appended[] {
  return p.appended.filter((a) => a.lastOffset >= from);
}

describe("append", () => {
  test("assigns offsets by rewriting baseOffset in place; CRC unchanged and still valid", () => {
    const p = partition().create();
    const sent = [makeBatch(3), makeBatch(1, T0 + 50), makeBatch(5, T0 + 60)];
    const got = sent.map((b) => p.append(b));
    assert.deepEqual(
      got.map((a) => [a.baseOffset, a.lastOffset, a.position, a.segmentBase]),
      [
        [0, 2, 0, 0],
        [3, 3, sent[0].length, 0],
        [4, 8, sent[0].length + sent[1].length, 0],
      ],
    );
    const file = fs.readFileSync(logFile(dir, 0));
    assert.equal(file.length, sent[0].length + sent[1].length + sent[2].length);
    const stored = splitWhole(file);
    for (let i = 0; i < 3; i++) {
      const s = stored[i];
      assert.equal(readInt64(s, BASE_OFFSET), got[i].baseOffset);
      assert.equal(s.readUInt32BE(CRC), sent[i].readUInt32BE(CRC), "CRC field as sent");
      assert.ok(storedBatchIntact(s), "CRC still valid: baseOffset is outside it");
      // everything from the CRC on is byte for byte what the producer sent
      assert.ok(s.subarray(CRC).equals(sent[i].subarray(CRC)));
      assert.equal(s.readInt32BE(PARTITION_LEADER_EPOCH), 0);
    }
    assert.deepEqual(
      decodeBatch(stored[2]).map((r) => [r.offset, r.timestamp, r.key?.toString()]),
      [4, 5, 6, 7, 8].map((o, i) => [o, T0 + 60 + i, `k${i}`]),
    );
    assert.equal(got[2].maxTimestamp, T0 + 64);
  });

  test("publishes the tail in the partition state table", () => {
    const p = partition().create();
    const st = p.state;
    assert.equal(st.get(3, F_LOG_END_OFFSET), 0);
    assert.equal(st.get(3, F_STATUS), STATUS_ONLINE);
    const a = p.append(makeBatch(4));
    assert.equal(st.get(3, F_LOG_END_OFFSET), 4);
    assert.equal(st.get(3, F_ACTIVE_SEGMENT_BASE), 0);
    assert.equal(st.get(3, F_ACTIVE_SEGMENT_BYTES), a.bytes.length);
    assert.equal(st.get(3, F_LOG_START_OFFSET), 0);
    assert.equal(st.get(3, F_FLUSHED_OFFSET), 0);
    assert.equal(p.writer.dirty, true);
    p.writer.flush();
    assert.equal(st.get(3, F_FLUSHED_OFFSET), 4);
    assert.equal(p.writer.dirty, false);
    assert.deepEqual(st.readTail(3), {
      logEndOffset: 4,
      activeSegmentBase: 0,
      activeSegmentBytes: a.bytes.length,
    });
    // other slots untouched
    assert.equal(st.get(2, F_LOG_END_OFFSET), 0);
    assert.equal(st.get(4, F_LOG_END_OFFSET), 0);
  });

  test("flush policy: by message count and by age", () => {
    const p = partition(config({ flushMessages: 10, flushMs: 1000 })).create();
    assert.equal(p.writer.flushDue(T0), false);
    p.append(makeBatch(4), true, T0);
    assert.equal(p.writer.flushDue(T0), false);
    assert.equal(p.writer.flushDue(T0 + 999), false);
    assert.equal(p.writer.flushDue(T0 + 1000), true, "oldest unflushed append is 1000 ms old");
    p.append(makeBatch(6), true, T0 + 1);
    assert.equal(p.writer.flushDue(T0 + 1), true, "10 messages");
    p.writer.flush();
    assert.equal(p.writer.flushDue(T0 + 5000), false);
  });
});

describe("read", () => {
  test("from the start, the middle of a batch, a batch boundary, the end", async () => {
    const p = partition().create();
    fill(p, 40);
    const all = concat(p.appended);
    const leo = p.writer.logEndOffset;
    assert.equal(leo, p.appended[39].lastOffset + 1);
    // from 0: everything, byte for byte the file
    const first = await p.reader.read(0, 1 << 20);
    assert.ok(first?.equals(all));
    assert.ok(first!.equals(fs.readFileSync(logFile(dir, 0))));
    // every offset: the reply starts with the batch holding it and runs to the end
    for (let o = 0; o < leo; o++) {
      const data = await p.reader.read(o, 1 << 20);
      assert.ok(data?.equals(concat(batchesFrom(p, o))), `read(${o})`);
    }
    assert.equal(await p.reader.read(leo, 1 << 20), null, "at the log end: nothing");
    assert.equal(await p.reader.read(leo + 10, 1 << 20), null, "past the log end: nothing");
  });

  test("maxBytes: whole batches only, as many as fit", async () => {
    const p = partition().create();
    fill(p, 30);
    const sizes = p.appended.map((a) => a.bytes.length);
    for (const maxBytes of [
      sizes[0],
      sizes[0] + 1,
      sizes[0] + sizes[1] - 1,
      sizes[0] + sizes[1],
      1000,
      2500,
    ]) {
      const data = await p.reader.read(0, maxBytes);
      assert.ok(data);
      let fit = 0;
      let n = 0;
      while (n < sizes.length && fit + sizes[n] <= maxBytes) fit += sizes[n++];
      assert.equal(data.length, fit, `maxBytes ${maxBytes}`);
      assert.ok(data.equals(concat(p.appended.slice(0, n))));
    }
    // from the middle, sequential fetches (the reader remembers where the last one ended)
    const got: Buffer[] = await p.readAll(7, 700);
    assert.ok(Buffer.concat(got).equals(concat(batchesFrom(p, 7))));
  });

  test("KIP-74: a first batch larger than maxBytes comes back whole", async () => {
    const p = partition().create();
    p.append(makeBatch(2, T0, 10));
    const big = p.append(makeBatch(3, T0 + 1, 30_000)); // ~90 KB: past the reader's 16 KiB slack
    p.append(makeBatch(1, T0 + 2, 10));
    for (const maxBytes of [0, 1, 100, big.bytes.length - 1]) {
      const data = await p.reader.read(big.baseOffset + 1, maxBytes);
      assert.ok(data?.equals(big.bytes), `maxBytes ${maxBytes}`);
    }
    const small = await p.reader.read(0, 1);
    assert.ok(small?.equals(p.appended[0].bytes), "a small first batch alone, too");
    const more = await p.reader.read(big.baseOffset, big.bytes.length + p.appended[2].bytes.length);
    assert.ok(more?.equals(Buffer.concat([big.bytes, p.appended[2].bytes])));
  });

  test("the sparse index is mirrored from completions and used (small interval)", async () => {
    const p = partition(config({ indexIntervalBytes: 200 })).create();
    fill(p, 200);
    for (const o of [0, 1, 57, 299, 450, p.writer.logEndOffset - 1]) {
      const data = await p.reader.read(o, 300);
      const b = splitWhole(data!);
      assert.ok(
        readInt64(b[0], 0) <= o && lastOffsetOf(b[0]) >= o,
        `read(${o}) starts at the batch holding it`,
      );
    }
  });
});

describe("roll", () => {
  test("at segmentBytes: 20-digit .log/.index/.timeindex per segment; reads span segments", async () => {
    const p = partition(config({ segmentBytes: 1000, indexIntervalBytes: 100 })).create();
    fill(p, 60);
    const bases = [...new Set(p.appended.map((a) => a.segmentBase))];
    assert.ok(bases.length >= 4, `${bases.length} segments`);
    assert.equal(bases[0], 0);
    const files = listDir(dir);
    const want = bases.flatMap((b) => [
      `${segmentName(b)}.index`,
      `${segmentName(b)}.log`,
      `${segmentName(b)}.timeindex`,
    ]);
    assert.deepEqual(files, want.sort());
    assert.equal(segmentName(bases[1]).length, 20);
    assert.match(files[0], /^0{20}\.index$/);
    for (const b of bases) {
      const inSeg = p.appended.filter((a) => a.segmentBase === b);
      const size = fs.statSync(logFile(dir, b)).size;
      assert.ok(size <= 1000, `segment ${b} is ${size} bytes`);
      assert.equal(inSeg[0].baseOffset, b, "a segment is named after its first offset");
      assert.equal(inSeg[0].position, 0);
      assert.ok(fs.readFileSync(logFile(dir, b)).equals(concat(inSeg)));
    }
    // closed segments have their indexes on disk already
    for (const b of bases.slice(0, -1)) {
      const s = new SegmentIndex(b, 100);
      for (const a of p.appended.filter((x) => x.segmentBase === b)) {
        s.onBatch(a.baseOffset, a.position, a.bytes.length, a.maxTimestamp);
      }
      assert.ok(fs.readFileSync(indexFile(dir, b)).equals(s.encodeIndex()), `.index of ${b}`);
      assert.ok(fs.readFileSync(timeIndexFile(dir, b)).equals(s.encodeTimeIndex()), `.timeindex of ${b}`);
    }
    // reading everything from 0 crosses every segment boundary
    const all = await p.readAll(0, 1 << 20);
    assert.ok(Buffer.concat(all).equals(concat(p.appended)));
    // a read at a segment base, and just before one
    for (const b of bases.slice(1)) {
      const at = await p.reader.read(b, 1 << 20);
      assert.ok(at?.equals(concat(p.appended.filter((a) => a.segmentBase === b))));
      const before = await p.reader.read(b - 1, 1 << 20);
      assert.equal(lastOffsetOf(splitWhole(before!).at(-1)!), b - 1, "a read stays in its segment");
    }
  });

  test("a batch never straddles segments; one larger than segmentBytes gets a segment of its own", () => {
    const p = partition(config({ segmentBytes: 500 })).create();
    const a = p.append(makeBatch(1, T0, 100));
    const big = p.append(makeBatch(1, T0, 2000));
    const c = p.append(makeBatch(1, T0, 100));
    assert.deepEqual(
      [a, big, c].map((x) => [x.segmentBase, x.position]),
      [
        [0, 0],
        [1, 0],
        [2, 0],
      ],
    );
    assert.equal(fs.statSync(logFile(dir, 1)).size, big.bytes.length);
  });

  test("by age (segmentMs), and rollDue for an idle segment", () => {
    const p = partition(config({ segmentMs: 1000 })).create();
    const now = Date.now();
    p.append(makeBatch(1), true, now);
    assert.equal(p.writer.rollDue(now + 10), false);
    assert.equal(p.writer.rollDue(now + 60_000), true);
    const b = p.append(makeBatch(1), true, now + 60_000);
    assert.equal(b.segmentBase, 1, "rolled before the append");
    // (the new segment's age counts from the writer's clock at the roll, Date.now())
    assert.equal(p.writer.rollDue(Date.now() + 10), false, "a new segment is young");
  });

  // The reader learned of a new segment only from the segment base it was asked about: after two
  // rolls between its looks (the writer publishes its tail before the completions arrive), the
  // segment in between was never opened. A read there was served from the next segment (records
  // skipped), and that segment's completions were dropped.
  test("a reader catches up over several rolls it did not see", async () => {
    const p = partition(config({ segmentBytes: 300 })).create();
    p.append(makeBatch(1, T0, 100));
    assert.ok(await p.reader.read(0, 1 << 20));
    // three more segments, completions not delivered yet
    const late = [1, 2, 3].map((i) => p.append(makeBatch(1, T0 + i, 200), false));
    assert.deepEqual(
      late.map((a) => a.segmentBase),
      [1, 2, 3],
    );
    for (const a of late) {
      const data = await p.reader.read(a.baseOffset, 1 << 20);
      assert.ok(data?.equals(a.bytes), `read(${a.baseOffset})`);
    }
    // completions arrive now: nothing is lost from the mirrored indexes
    for (const a of late) p.mirror(a);
    const found = await p.reader.findBatchByTimestamp(T0 + 2);
    assert.ok(found?.batch.equals(late[1].bytes));
    const all = await p.readAll(0);
    assert.ok(Buffer.concat(all).equals(concat(p.appended)));
  });
});

describe("reopen", () => {
  test("clean: close, scan, reopen; everything reads again and appends continue", async () => {
    const cfg = config({ segmentBytes: 2000, indexIntervalBytes: 150 });
    const p = partition(cfg).create();
    fill(p, 80);
    const before = concat(p.appended);
    const leo = p.writer.logEndOffset;
    p.close();
    const files = listDir(dir).map((f) => [f, fs.readFileSync(join(dir, f))] as const);

    const q = partition(cfg);
    const scan = q.open({ clean: true, recoveryPoint: leo });
    assert.equal(scan.truncate, null);
    assert.equal(scan.logEndOffset, leo);
    assert.deepEqual(
      scan.segments.map((s) => s.rebuiltIndex),
      scan.segments.map(() => false),
      "clean: indexes loaded, not rebuilt",
    );
    // nothing on disk changed
    for (const [f, bytes] of files) assert.ok(fs.readFileSync(join(dir, f)).equals(bytes), f);
    assert.ok(Buffer.concat(await q.readAll(0)).equals(before));
    for (const o of [0, 1, 100, leo - 1]) {
      const data = await q.reader.read(o, 1 << 20);
      assert.ok(
        data?.equals(
          concat(batchesFrom(p, o).filter((a) => a.segmentBase === batchesFrom(p, o)[0].segmentBase)),
        ),
      );
    }
    // appends go on at the log end, in the last segment
    const next = q.append(makeBatch(2, T0 + 99_999));
    assert.equal(next.baseOffset, leo);
    assert.equal(next.segmentBase, p.appended.at(-1)!.segmentBase);
    const all = await q.readAll(0);
    assert.ok(Buffer.concat(all).equals(Buffer.concat([before, next.bytes])));
    const ts = await q.reader.findBatchByTimestamp(T0 + 99_999);
    assert.ok(ts?.batch.equals(next.bytes));
  });

  test("unclean: the files as a crash left them (indexes not yet written) are recovered", async () => {
    const cfg = config({ segmentBytes: 3000, indexIntervalBytes: 100 });
    const p = partition(cfg).create();
    fill(p, 70);
    p.writer.flush();
    // a crash now: copy the files while the writer is still open (buffered index entries unwritten)
    const crashed = join(root, "crashed-0");
    fs.cpSync(dir, crashed, { recursive: true });
    const before = concat(p.appended);
    const leo = p.writer.logEndOffset;
    p.close();

    const q = new Partition(crashed, cfg);
    open.push(q);
    const scan = q.open({ clean: false, recoveryPoint: 0 });
    assert.equal(scan.truncate, null);
    assert.equal(scan.logEndOffset, leo);
    assert.ok(scan.segments.every((s) => s.rebuiltIndex));
    // the rebuilt indexes equal the ones the writer wrote at its clean close
    for (const s of scan.segments) {
      assert.ok(
        fs
          .readFileSync(indexFile(crashed, s.baseOffset))
          .equals(fs.readFileSync(indexFile(dir, s.baseOffset))),
      );
      assert.ok(
        fs
          .readFileSync(timeIndexFile(crashed, s.baseOffset))
          .equals(fs.readFileSync(timeIndexFile(dir, s.baseOffset))),
      );
    }
    assert.ok(Buffer.concat(await q.readAll(0)).equals(before));
    const next = q.append(makeBatch(1));
    assert.equal(next.baseOffset, leo);
    assert.ok(Buffer.concat(await q.readAll(0)).equals(Buffer.concat([before, next.bytes])));
  });

  test("an empty partition reopens empty", async () => {
    const p = partition().create();
    p.close();
    const q = partition();
    const scan = q.open({ clean: true });
    assert.equal(scan.logEndOffset, 0);
    assert.deepEqual(
      scan.segments.map((s) => [s.baseOffset, s.bytes]),
      [[0, 0]],
    );
    assert.equal(await q.reader.read(0, 100), null);
    const a = q.append(makeBatch(1));
    assert.equal(a.baseOffset, 0);
    assert.ok((await q.reader.read(0, 100))?.equals(a.bytes));
  });
});

describe("findBatchByTimestamp", () => {
  test("the first stored batch whose maxTimestamp reaches ts, across segments", async () => {
    const p = partition(config({ segmentBytes: 1500, indexIntervalBytes: 100 })).create();
    // timestamps mostly rising, with some batches older than their predecessors
    const stamps: number[] = [];
    for (let i = 0; i < 50; i++) {
      const ts = T0 + i * 100 + (i % 7 === 3 ? -450 : 0);
      stamps.push(ts);
      p.append(makeBatch(1 + (i % 3), ts));
    }
    assert.ok(new Set(p.appended.map((a) => a.segmentBase)).size > 2);
    for (let ts = T0 - 10; ts <= T0 + 5000; ts += 37) {
      const want = p.appended.find((a) => a.maxTimestamp >= ts);
      const got = await p.reader.findBatchByTimestamp(ts);
      if (want === undefined) assert.equal(got, null, `ts ${ts}`);
      else assert.ok(got?.batch.equals(want.bytes), `ts ${ts}: want the batch at ${want.baseOffset}`);
    }
    assert.equal(await p.reader.findBatchByTimestamp(T0 + 1_000_000), null);
  });

  test("the same after a clean reopen (time indexes loaded from disk)", async () => {
    const cfg = config({ segmentBytes: 1500, indexIntervalBytes: 100 });
    const p = partition(cfg).create();
    for (let i = 0; i < 40; i++) p.append(makeBatch(2, T0 + i * 10));
    p.close();
    const q = partition(cfg);
    q.open({ clean: true });
    for (let ts = T0; ts < T0 + 420; ts += 13) {
      const want = p.appended.find((a) => a.maxTimestamp >= ts);
      const got = await q.reader.findBatchByTimestamp(ts);
      if (want === undefined) assert.equal(got, null);
      else assert.ok(got?.batch.equals(want.bytes), `ts ${ts}`);
    }
  });
});
