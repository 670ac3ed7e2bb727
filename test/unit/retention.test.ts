// Retention decisions (src/log/retention.ts): by time from the largest timestamp or mtime, by
// size per partition, always a prefix of the closed segments.

import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClosedSegment, segmentsToDelete } from "../../src/log/retention.ts";

const seg = (baseOffset: number, bytes: number, maxTimestamp: number, mtimeMs = 0): ClosedSegment => ({
  baseOffset,
  bytes,
  maxTimestamp,
  mtimeMs,
});

test("time: segments whose newest record is older than retention.ms go, oldest first", () => {
  const now = 1_000_000;
  const closed = [seg(0, 100, now - 5000), seg(10, 100, now - 3000), seg(20, 100, now - 500)];
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: 1000, retentionBytes: -1 }, now), 2);
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: 10_000, retentionBytes: -1 }, now), 0);
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: -1, retentionBytes: -1 }, now), 0);
});

test("time: a segment without timestamps falls back to its file's mtime", () => {
  const now = 1_000_000;
  assert.equal(
    segmentsToDelete([seg(0, 10, -1, now - 5000)], 0, { retentionMs: 1000, retentionBytes: -1 }, now),
    1,
  );
  assert.equal(
    segmentsToDelete([seg(0, 10, -1, now - 500)], 0, { retentionMs: 1000, retentionBytes: -1 }, now),
    0,
  );
});

test("time: deletion stops at the first kept segment (a prefix only)", () => {
  const now = 1_000_000;
  const closed = [seg(0, 10, now - 5000), seg(10, 10, now), seg(20, 10, now - 5000)];
  assert.equal(segmentsToDelete(closed, 0, { retentionMs: 1000, retentionBytes: -1 }, now), 1);
});

test("size: oldest segments go while the rest is still at or above retention.bytes", () => {
  const closed = [seg(0, 100, 1), seg(10, 100, 1), seg(20, 100, 1)];
  // total 350; dropping 100 leaves 250 >= 200, dropping another leaves 150 < 200: stop.
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: -1, retentionBytes: 200 }, 2), 1);
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: -1, retentionBytes: 150 }, 2), 2);
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: -1, retentionBytes: 0 }, 2), 3);
  assert.equal(segmentsToDelete(closed, 50, { retentionMs: -1, retentionBytes: 1000 }, 2), 0);
});
