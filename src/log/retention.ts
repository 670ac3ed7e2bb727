// Retention: which of a partition's oldest closed segments to delete. A pure decision, applied
// by the partition's writer (the only one that changes its log). Kafka's rules:
//
//   by time   a closed segment expires when its newest record is older than retention.ms; the
//             newest record's time is the segment's largest timestamp (KIP-33), or the .log
//             file's mtime for a segment without timestamps (what the reference notes describe)
//   by size   while the partition minus the oldest segment is still at or above
//             retention.bytes, the oldest segment goes
//
//   by start  a closed segment wholly below the log start offset (DeleteRecords moved it) goes:
//             the segment after it starts at or below the log start (Kafka's
//             deleteLogStartOffsetBreachedSegments); the segment holding the log start stays
//
// Deletion is a prefix: it stops at the first segment that is kept. The active segment is never
// deleted here (it rolls by segment.ms so an idle partition still expires).

export interface ClosedSegment {
  baseOffset: number;
  bytes: number;
  /** Largest record timestamp in the segment, -1 if none. */
  maxTimestamp: number;
  /** The .log file's mtime (ms), for segments without timestamps. */
  mtimeMs: number;
}

export interface RetentionPolicy {
  /** -1 = keep forever. */
  retentionMs: number;
  /** -1 = no size limit. */
  retentionBytes: number;
}

/** How many of `closed` (oldest first) to delete now. */
export function segmentsToDelete(
  closed: readonly ClosedSegment[],
  activeBytes: number,
  policy: RetentionPolicy,
  nowMs: number,
): number {
  let total = activeBytes;
  for (const s of closed) total += s.bytes;
  let n = 0;
  for (const s of closed) {
    const newest = s.maxTimestamp >= 0 ? s.maxTimestamp : s.mtimeMs;
    const expired = policy.retentionMs >= 0 && nowMs - newest > policy.retentionMs;
    const oversize = policy.retentionBytes >= 0 && total - s.bytes >= policy.retentionBytes;
    if (!expired && !oversize) break;
    total -= s.bytes;
    n++;
  }
  return n;
}

/**
 * How many of `closed` (oldest first) lie wholly below `logStartOffset`: each one's next segment
 * (the next closed one, or the active one at `activeBase`) starts at or below it.
 */
export function segmentsBelowStart(
  closed: readonly ClosedSegment[],
  activeBase: number,
  logStartOffset: number,
): number {
  let n = 0;
  while (n < closed.length) {
    const next = n + 1 < closed.length ? closed[n + 1].baseOffset : activeBase;
    if (next > logStartOffset) break;
    n++;
  }
  return n;
}
