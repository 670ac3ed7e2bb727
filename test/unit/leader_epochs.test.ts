// The leader epoch cache (src/log/leader_epochs.ts): Kafka's leader-epoch-checkpoint format,
// LeaderEpochFileCache's rules (cases from Kafka's LeaderEpochFileCacheTest), when the file is
// written at all, and the PartitionWriter's use of it: the rebuild from batch headers when the
// file is missing (sampled and cheap, equal to a full walk), and the epoch stamped into
// produced batches.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import {
  encodeLeaderEpochCheckpoint,
  LEADER_EPOCH_CHECKPOINT,
  LeaderEpochFileCache,
  parseLeaderEpochCheckpoint,
  UNDEFINED_EPOCH,
} from "../../src/log/leader_epochs.ts";
import { createPartitionState, PartitionState } from "../../src/log/partition_state.ts";
import {
  type LogSegmentExtent,
  PartitionWriter,
  rebuildLeaderEpochs,
} from "../../src/log/partition_writer.ts";
import { scanPartition } from "../../src/log/recovery.ts";
import { logFile, segmentBases } from "../../src/log/segment_files.ts";
import { SegmentIndex } from "../../src/log/segment_index.ts";
import { PARTITION_LEADER_EPOCH, storedBatchIntact } from "../../src/protocol/record_batch.ts";
import { config, makeBatch, makeTemp, Partition, rmTemp, splitWhole } from "./fixtures/log_helpers.ts";

let root: string;
let dir: string;
const open: Partition[] = [];

beforeEach(() => {
  root = makeTemp("epochs");
  dir = join(root, "topic-e-0");
  fs.mkdirSync(dir);
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

const pairs = (c: LeaderEpochFileCache): [number, number][] =>
  c.entries().map((e) => [e.epoch, e.startOffset]);
const end = (c: LeaderEpochFileCache, epoch: number, leo: number): [number, number] => {
  const r = c.endOffsetFor(epoch, leo);
  return [r.leaderEpoch, r.endOffset];
};
const checkpointPath = (): string => join(dir, LEADER_EPOCH_CHECKPOINT);

/** Every stored batch of the partition, in order. */
function storedBatches(d: string): Buffer[] {
  return segmentBases(fs.readdirSync(d)).flatMap((b) => splitWhole(fs.readFileSync(logFile(d, b))));
}

describe("leader-epoch-checkpoint format (Kafka's LeaderEpochCheckpointFile)", () => {
  test("save writes Kafka's text exactly; load reads it back", () => {
    const c = new LeaderEpochFileCache();
    c.assign(2, 6);
    c.assign(3, 8);
    c.assign(4, 11);
    c.save(dir);
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), "0\n3\n2 6\n3 8\n4 11\n");
    assert.ok(!fs.existsSync(`${checkpointPath()}.tmp`), "the temp file was renamed");
    const back = LeaderEpochFileCache.load(dir);
    assert.ok(back !== null);
    assert.deepEqual(pairs(back), [
      [2, 6],
      [3, 8],
      [4, 11],
    ]);
    assert.equal(back.fileExists, true);
    // a file Kafka wrote (its docs show two spaces; its reader splits on any whitespace)
    fs.writeFileSync(checkpointPath(), "0\n2\n0  1\n1 2\n");
    assert.deepEqual(pairs(LeaderEpochFileCache.load(dir)!), [
      [0, 1],
      [1, 2],
    ]);
    assert.equal(encodeLeaderEpochCheckpoint([]), "0\n0\n");
  });

  test("missing or malformed: null (the caller rebuilds it), never an exception", () => {
    assert.equal(LeaderEpochFileCache.load(dir), null, "missing");
    for (const text of [
      "",
      "1\n1\n0 0\n", // another version
      "0\n2\n0 0\n", // count says 2, one line
      "0\n1\n0 0\n1 5\n", // one more line than counted
      "0\n1\n0\n", // one field
      "0\n1\n-1 0\n", // negative epoch
      "0\n1\nzero 0\n",
      "0\nx\n",
      "\u0000\u0000\u0000",
    ]) {
      fs.writeFileSync(checkpointPath(), text);
      assert.equal(LeaderEpochFileCache.load(dir), null, JSON.stringify(text));
      assert.equal(parseLeaderEpochCheckpoint(text), null, JSON.stringify(text));
    }
    assert.deepEqual(parseLeaderEpochCheckpoint("0\r\n1\r\n3 7\r\n"), [{ epoch: 3, startOffset: 7 }]);
  });

  test("a file whose entries break monotonicity is repaired as Kafka's constructor does (through assign)", () => {
    fs.writeFileSync(checkpointPath(), "0\n3\n1 0\n3 10\n2 20\n");
    assert.deepEqual(pairs(LeaderEpochFileCache.load(dir)!), [
      [1, 0],
      [2, 20],
    ]);
  });

  test("written only when a file exists or an epoch above 0 is held (a single broker writes none)", () => {
    const c = new LeaderEpochFileCache();
    c.assign(0, 0);
    c.save(dir);
    assert.ok(!fs.existsSync(checkpointPath()), "epoch 0 alone: no file");
    c.assign(1, 10);
    c.save(dir);
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), "0\n2\n0 0\n1 10\n");
    c.truncateFromEnd(10);
    c.save(dir, false);
    assert.equal(
      fs.readFileSync(checkpointPath(), "utf8"),
      "0\n1\n0 0\n",
      "a file exists: saved from now on",
    );
    c.clear();
    c.save(dir);
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), "0\n0\n");
  });
});

describe("LeaderEpochFileCache (Kafka's LeaderEpochFileCacheTest)", () => {
  test("assign: once assigned an epoch's start does not move later; same offset new epoch replaces", () => {
    const c = new LeaderEpochFileCache();
    assert.equal(c.latestEpoch, UNDEFINED_EPOCH);
    assert.equal(c.assign(2, 9), true);
    assert.equal(
      c.assign(2, 10),
      false,
      "shouldNotOverwriteLogEndOffsetForALeaderEpochOnceItHasBeenAssigned",
    );
    assert.deepEqual(pairs(c), [[2, 9]]);
    c.assign(3, 9); // shouldEnforceMonotonicallyIncreasingStartOffsets
    assert.deepEqual(pairs(c), [[3, 9]]);
    const d = new LeaderEpochFileCache();
    d.assign(2, 6);
    d.assign(3, 5); // shouldEnforceOffsetsIncreaseMonotonically
    assert.deepEqual(pairs(d), [[3, 5]]);
  });

  test("assign of an older epoch drops the later ones (shouldEnforceMonotonicallyIncreasingEpochs)", () => {
    const c = new LeaderEpochFileCache();
    c.assign(1, 5);
    c.assign(2, 6);
    c.assign(1, 7);
    assert.equal(c.latestEpoch, 1);
    assert.deepEqual(end(c, 1, 8), [1, 8]);
    assert.deepEqual(end(c, 2, 8), [-1, -1]);
    assert.deepEqual(pairs(c), [[1, 7]]);
    assert.throws(() => c.assign(-1, 0), RangeError);
    assert.throws(() => c.assign(1, -1), RangeError);
  });

  test("shouldTruncateIfMatchingEpochButEarlierStartingOffset", () => {
    const c = new LeaderEpochFileCache();
    c.assign(5, 11);
    c.assign(6, 12);
    c.assign(7, 13);
    c.assign(7, 12);
    assert.deepEqual(end(c, 5, 0), [5, 12]);
    assert.deepEqual(end(c, 6, 0), [5, 12]);
  });

  test("endOffsetFor: latest -> log end; older -> next epoch's start; between -> floor epoch", () => {
    const c = new LeaderEpochFileCache();
    c.assign(2, 10);
    assert.deepEqual(end(c, 2, 11), [2, 11], "shouldAddEpochAndMessageOffsetToCache");
    const g = new LeaderEpochFileCache();
    for (const [e, o] of [
      [1, 11],
      [1, 12],
      [2, 13],
      [2, 14],
      [3, 15],
      [3, 16],
    ])
      g.assign(e, o);
    assert.deepEqual(end(g, 2, 17), [2, 15], "shouldGetFirstOffsetOfSubsequentEpoch...");
    const n = new LeaderEpochFileCache();
    n.assign(0, 10);
    n.assign(2, 13);
    n.assign(4, 17);
    assert.deepEqual(end(n, 1, 0), [0, 13], "shouldReturnNextAvailableEpochIfThereIsNoExactEpoch...");
    assert.deepEqual(end(n, 2, 0), [2, 17]);
    assert.deepEqual(end(n, 3, 0), [2, 17]);
    assert.deepEqual(end(n, 4, 99), [4, 99]);
  });

  test("endOffsetFor: undefined, empty cache, above every epoch, below the first", () => {
    const empty = new LeaderEpochFileCache();
    assert.deepEqual(end(empty, 0, 0), [-1, -1], "shouldReturnUnsupportedIfNoEpochRecorded");
    assert.deepEqual(end(empty, UNDEFINED_EPOCH, 73), [-1, -1]);
    assert.deepEqual(end(empty, 7, 0), [-1, -1], "shouldFetchEndOffsetOfEmptyCache");
    const c = new LeaderEpochFileCache();
    c.assign(2, 11);
    c.assign(3, 12);
    assert.deepEqual(
      end(c, UNDEFINED_EPOCH, 0),
      [-1, -1],
      "shouldReturnUndefinedOffsetIfUndefinedEpochRequested",
    );
    const one = new LeaderEpochFileCache();
    one.assign(2, 100);
    assert.deepEqual(
      end(one, 3, 100),
      [-1, -1],
      "shouldReturnInvalidOffsetIfEpochIsRequestedWhichIsNotCurrentlyTracked",
    );
    const f = new LeaderEpochFileCache();
    f.assign(5, 11);
    f.assign(6, 12);
    f.assign(7, 13);
    // Kafka answers the requested epoch with the first entry's start (not -1, -1).
    assert.deepEqual(end(f, 4, 0), [4, 11], "shouldReturnFirstEpochIfRequestedEpochLessThanFirstEpoch");
  });

  test("shouldIncreaseAndTrackEpochsAsLeadersChangeManyTimes / AsFollowerReceivesManyMessages", () => {
    const c = new LeaderEpochFileCache();
    c.assign(0, 0);
    c.assign(1, 0);
    assert.equal(c.latestEpoch, 1);
    assert.deepEqual(end(c, 1, 0), [1, 0]);
    assert.deepEqual(end(c, 0, 0), [0, 0]);
    assert.deepEqual(end(c, 1, 5), [1, 5]);
    c.assign(2, 5);
    assert.deepEqual(end(c, 2, 10), [2, 10]);
    assert.deepEqual(end(c, 1, 10), [1, 5]);
    assert.deepEqual(end(c, 0, 10), [0, 0]);
    const f = new LeaderEpochFileCache();
    for (let o = 0; o < 9; o++) f.assign(Math.floor(o / 3), o);
    assert.deepEqual(pairs(f), [
      [0, 0],
      [1, 3],
      [2, 6],
    ]);
    assert.deepEqual(end(f, 2, 9), [2, 9]);
    assert.deepEqual(end(f, 0, 9), [0, 3]);
    assert.deepEqual(end(f, 1, 9), [1, 6]);
  });

  test("truncateFromEnd: removes entries starting at or after the offset", () => {
    const make = (): LeaderEpochFileCache =>
      new LeaderEpochFileCache([
        { epoch: 2, startOffset: 6 },
        { epoch: 3, startOffset: 8 },
        { epoch: 4, startOffset: 11 },
      ]);
    const a = make();
    assert.equal(a.truncateFromEnd(8), true);
    assert.deepEqual(pairs(a), [[2, 6]], "shouldDropEntriesOnEpochBoundaryWhenRemovingLatestEntries");
    const b = make();
    b.truncateFromEnd(9);
    assert.deepEqual(pairs(b), [
      [2, 6],
      [3, 8],
    ]);
    const u = make();
    assert.equal(u.truncateFromEnd(-1), false, "shouldNotResetEpochHistoryTailIfUndefinedPassed");
    assert.equal(u.size, 3);
    assert.equal(new LeaderEpochFileCache().truncateFromEnd(7), false);
  });

  test("truncateFromStart: keeps the last entry at or before the offset, moved to it", () => {
    const make = (): LeaderEpochFileCache => {
      const c = new LeaderEpochFileCache();
      c.assign(2, 6);
      c.assign(3, 8);
      c.assign(4, 11);
      return c;
    };
    const cases: [number, [number, number][]][] = [
      [
        8,
        [
          [3, 8],
          [4, 11],
        ],
      ],
      [
        9,
        [
          [3, 9],
          [4, 11],
        ],
      ],
      [
        1,
        [
          [2, 6],
          [3, 8],
          [4, 11],
        ],
      ],
      [
        6,
        [
          [2, 6],
          [3, 8],
          [4, 11],
        ],
      ],
      [11, [[4, 11]]],
      [15, [[4, 15]]],
      [
        -1,
        [
          [2, 6],
          [3, 8],
          [4, 11],
        ],
      ],
    ];
    for (const [offset, want] of cases) {
      const c = make();
      c.truncateFromStart(offset);
      assert.deepEqual(pairs(c), want, `truncateFromStart(${offset})`);
    }
    const z = new LeaderEpochFileCache();
    z.assign(0, 0);
    z.assign(1, 7);
    z.assign(2, 10);
    z.truncateFromStart(5);
    assert.deepEqual(pairs(z), [
      [0, 5],
      [1, 7],
      [2, 10],
    ]);
    // shouldWriteCheckpointOnTruncation
    const w = make();
    w.truncateFromEnd(11);
    w.truncateFromStart(8);
    w.save(dir);
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), "0\n1\n3 8\n");
  });

  test("epochForOffset (shouldFetchEpochForGivenOffset)", () => {
    const c = new LeaderEpochFileCache();
    c.assign(0, 10);
    c.assign(1, 20);
    c.assign(5, 30);
    assert.deepEqual(
      [25, 20, 30, 50, 5].map((o) => c.epochForOffset(o)),
      [1, 1, 5, 5, -1],
    );
  });
});

/** A leader log: `plan` lists [epoch, batches] runs, each run after becomeLeader(epoch). */
function writeLeaderLog(p: Partition, plan: [number, number][], valueBytes = 40): void {
  let n = 0;
  for (const [epoch, batches] of plan) {
    assert.equal(p.writer.becomeLeader(epoch).errorCode, 0);
    for (let i = 0; i < batches; i++) p.append(makeBatch(1 + (n++ % 4), undefined, valueBytes));
  }
}

/** The partition's segments as the rebuild takes them, all read from disk (.index files). */
function extents(d: string): LogSegmentExtent[] {
  return segmentBases(fs.readdirSync(d)).map((b) => ({
    baseOffset: b,
    bytes: fs.statSync(logFile(d, b)).size,
    index: null,
  }));
}

/** node:fs as CommonJS sees it: patching it and syncing the ESM exports reaches every importer. */
const fsModule = createRequire(import.meta.url)("node:fs") as typeof fs;

/** Count fs.readSync calls made while `f` runs. */
function countReads<T>(f: () => T): { result: T; reads: number } {
  const real = fsModule.readSync;
  let reads = 0;
  (fsModule as { readSync: typeof fs.readSync }).readSync = ((...args: Parameters<typeof fs.readSync>) => {
    reads++;
    return real(...args);
  }) as typeof fs.readSync;
  syncBuiltinESMExports();
  try {
    return { result: f(), reads };
  } finally {
    (fsModule as { readSync: typeof fs.readSync }).readSync = real;
    syncBuiltinESMExports();
  }
}

describe("rebuild from the batches' partitionLeaderEpoch fields", () => {
  test("file missing: rebuilt at first use, equal to what was saved; a full walk agrees", () => {
    const cfg = config({ segmentBytes: 1500, indexIntervalBytes: 200 });
    const p = partition(cfg).create();
    // epoch changes inside segments, at segment starts, and epochs with one batch
    writeLeaderLog(p, [
      [0, 7],
      [1, 1],
      [3, 30],
      [4, 2],
      [7, 25],
      [8, 1],
      [9, 9],
    ]);
    const saved = p.writer.epochs.entries();
    assert.equal(saved.length, 7);
    const text = fs.readFileSync(checkpointPath(), "utf8");
    assert.equal(text, encodeLeaderEpochCheckpoint(saved));
    p.close();
    assert.ok(segmentBases(fs.readdirSync(dir)).length >= 6, "several segments");
    // the rebuild, both ways, equals the cache that was kept while appending
    assert.deepEqual(rebuildLeaderEpochs(dir, extents(dir)).entries(), saved);
    assert.deepEqual(rebuildLeaderEpochs(dir, extents(dir), false).entries(), saved);
    // every batch carries its run's epoch (what the rebuild read)
    const epochsStored = storedBatches(dir).map((b) => b.readInt32BE(PARTITION_LEADER_EPOCH));
    assert.deepEqual([...new Set(epochsStored)], [0, 1, 3, 4, 7, 8, 9]);

    fs.rmSync(checkpointPath());
    const q = partition(cfg);
    q.open();
    assert.ok(!fs.existsSync(checkpointPath()), "opening alone does not load or write it");
    assert.deepEqual(q.writer.epochs.entries(), saved, "rebuilt at first use");
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), text, "and saved again");
  });

  test("malformed file: rebuilt and rewritten; a file that does not match the log's last batch is not trusted", () => {
    const cfg = config({ segmentBytes: 2000, indexIntervalBytes: 300 });
    const p = partition(cfg).create();
    writeLeaderLog(p, [
      [2, 10],
      [5, 10],
    ]);
    const saved = p.writer.epochs.entries();
    p.close();
    fs.writeFileSync(checkpointPath(), "garbage");
    const q = partition(cfg);
    q.open();
    assert.deepEqual(q.writer.epochs.entries(), saved);
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), encodeLeaderEpochCheckpoint(saved));
    q.close();
    // well-formed but wrong: the last batch is epoch 5, this file says 9 from offset 3
    fs.writeFileSync(checkpointPath(), "0\n2\n2 0\n9 3\n");
    const r = partition(cfg);
    r.open();
    assert.deepEqual(r.writer.epochs.entries(), saved);
  });

  test("a loaded file is cut to the log: entries past the end (unwritten) and before the start", () => {
    const p = partition().create();
    writeLeaderLog(p, [
      [1, 5],
      [2, 5],
    ]);
    const leo = p.writer.logEndOffset;
    assert.equal(p.writer.becomeLeader(4).errorCode, 0); // (4, leo): nothing written under it
    assert.deepEqual(p.writer.epochs.entries().at(-1), { epoch: 4, startOffset: leo });
    p.close();
    const q = partition();
    q.open();
    assert.deepEqual(
      pairs(q.writer.epochs),
      [
        [1, 0],
        [2, p.appended[5].baseOffset],
      ],
      "Kafka's loader: truncateFromEnd(log end)",
    );
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), `0\n2\n1 0\n2 ${p.appended[5].baseOffset}\n`);
  });

  test("cheap: a one-epoch log of many segments reads a handful of header chunks, not every batch", () => {
    const cfg = config({ segmentBytes: 1500, indexIntervalBytes: 300 });
    const p = partition(cfg).create();
    for (let i = 0; i < 400; i++) p.append(makeBatch(1, undefined, 60));
    p.close();
    const segs = extents(dir);
    assert.ok(segs.length > 30, `${segs.length} segments`);
    const sampled = countReads(() => rebuildLeaderEpochs(dir, segs));
    const full = countReads(() => rebuildLeaderEpochs(dir, segs, false));
    assert.deepEqual(sampled.result.entries(), [{ epoch: 0, startOffset: 0 }]);
    assert.deepEqual(full.result.entries(), sampled.result.entries());
    assert.ok(sampled.reads <= 4, `sampled rebuild: ${sampled.reads} reads`);
    assert.ok(full.reads >= segs.length, `full walk: ${full.reads} reads`);
  });

  test("an index that does not match its log falls back to the full walk (same answer)", () => {
    const cfg = config({ segmentBytes: 3000, indexIntervalBytes: 200 });
    const p = partition(cfg).create();
    writeLeaderLog(p, [
      [0, 12],
      [6, 12],
      [7, 12],
    ]);
    const saved = p.writer.epochs.entries();
    p.close();
    const segs = extents(dir);
    // a well-formed .index whose entries point at no batch start
    const victim = segs.find((s) => s.bytes > 1000)!;
    const bad = new SegmentIndex(victim.baseOffset, 200);
    bad.pushIndex(1, 7);
    bad.pushIndex(2, 13);
    fs.writeFileSync(join(dir, `${String(victim.baseOffset).padStart(20, "0")}.index`), bad.encodeIndex());
    assert.deepEqual(rebuildLeaderEpochs(dir, segs).entries(), saved);
  });
});

describe("the log start moves (DeleteRecords, retention): Kafka's truncateFromStart", () => {
  test("entries before the new start go, the one holding it starts there; saved", () => {
    const cfg = config({ segmentBytes: 1200, indexIntervalBytes: 200 });
    const p = partition(cfg).create();
    writeLeaderLog(p, [
      [1, 10],
      [2, 10],
      [3, 10],
    ]);
    const e = p.writer.epochs.entries();
    const inside2 = e[1].startOffset + 3;
    assert.equal(p.writer.deleteRecords(inside2).errorCode, 0);
    assert.deepEqual(pairs(p.writer.epochs), [
      [2, inside2],
      [3, e[2].startOffset],
    ]);
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), `0\n2\n2 ${inside2}\n3 ${e[2].startOffset}\n`);
    // a reopen with that log start keeps it so (the log start checkpoint is the broker's)
    p.close();
    const q = new Partition(dir, cfg);
    open.push(q);
    q.open();
    assert.deepEqual(q.writer.epochs.endOffsetFor(1, q.writer.logEndOffset), {
      leaderEpoch: 1,
      endOffset: inside2,
    });
  });

  test("a rebuild (no file) starts at the log start the writer was opened with", () => {
    const cfg = config({ segmentBytes: 1200, indexIntervalBytes: 200 });
    const p = partition(cfg).create();
    writeLeaderLog(p, [
      [1, 10],
      [2, 10],
    ]);
    const e = p.writer.epochs.entries();
    p.close();
    fs.rmSync(checkpointPath());
    const scan = scanPartition(dir, {
      clean: true,
      recoveryPoint: 0,
      indexIntervalBytes: cfg.indexIntervalBytes,
    });
    const start = e[1].startOffset - 2; // inside epoch 1, as the log-start checkpoint may say
    const w = new PartitionWriter(
      {
        slot: 1,
        dir,
        config: cfg,
        logStartOffset: start,
        logEndOffset: scan.logEndOffset,
        active: scan.segments.at(-1)!,
        closed: scan.segments.slice(0, -1).map((g) => ({
          baseOffset: g.baseOffset,
          bytes: g.bytes,
          maxTimestamp: g.index.maxTimestamp,
          mtimeMs: 0,
        })),
      },
      new PartitionState(createPartitionState(4)),
    );
    try {
      assert.deepEqual(pairs(w.epochs), [
        [1, start],
        [2, e[1].startOffset],
      ]);
    } finally {
      w.close();
    }
  });
});

describe("the epoch stamped into produced batches", () => {
  test("a partition never told writes epoch 0 and no checkpoint file (the single broker, as before)", () => {
    const p = partition().create();
    for (let i = 0; i < 5; i++) p.append(makeBatch(2));
    assert.deepEqual(
      storedBatches(dir).map((b) => b.readInt32BE(PARTITION_LEADER_EPOCH)),
      [0, 0, 0, 0, 0],
    );
    assert.deepEqual(pairs(p.writer.epochs), [[0, 0]]);
    p.close();
    assert.ok(!fs.readdirSync(dir).includes(LEADER_EPOCH_CHECKPOINT));
  });

  test("becomeLeader: (epoch, log end) saved before it answers; later batches carry the epoch, CRC intact", () => {
    const p = partition().create();
    p.append(makeBatch(3));
    const r = p.writer.becomeLeader(5);
    assert.deepEqual(r, { errorCode: 0, leaderEpoch: 5, logEndOffset: 3 });
    assert.equal(fs.readFileSync(checkpointPath(), "utf8"), "0\n2\n0 0\n5 3\n", "saved when answered");
    p.append(makeBatch(2));
    p.append(makeBatch(1));
    const stored = storedBatches(dir);
    assert.deepEqual(
      stored.map((b) => b.readInt32BE(PARTITION_LEADER_EPOCH)),
      [0, 5, 5],
    );
    for (const b of stored) assert.ok(storedBatchIntact(b), "the epoch is outside the CRC");
    assert.deepEqual(p.writer.epochEndOffset(0), { errorCode: 0, leaderEpoch: 0, endOffset: 3 });
    assert.deepEqual(p.writer.epochEndOffset(5), { errorCode: 0, leaderEpoch: 5, endOffset: 6 });
    // the same epoch again: nothing new; an older one is fenced
    assert.equal(p.writer.becomeLeader(5).errorCode, 0);
    assert.deepEqual(pairs(p.writer.epochs), [
      [0, 0],
      [5, 3],
    ]);
    assert.deepEqual(p.writer.becomeLeader(4), { errorCode: 74, leaderEpoch: 5, logEndOffset: 6 });
    assert.equal(p.writer.leaderEpoch, 5);
  });

  test("a partition never told after a restart stamps its cache's latest epoch", () => {
    const p = partition().create();
    p.writer.becomeLeader(7);
    p.append(makeBatch(1));
    p.close();
    const q = partition();
    q.open();
    assert.equal(q.writer.leaderEpoch, 7);
    q.append(makeBatch(1));
    assert.deepEqual(
      storedBatches(dir).map((b) => b.readInt32BE(PARTITION_LEADER_EPOCH)),
      [7, 7],
    );
  });
});
