// Arithmetic on offsets for the console's views: a consumer group's lag per partition (log end
// minus committed offset, as kafka-consumer-groups.sh shows it) and records/s from two samples of
// log end offsets (the live charts). Pure functions, tested in test/unit/console_format.test.ts.

export interface LagRow {
  topic: string;
  partition: number;
  /** The committed offset (the next one to read); -1 when the group committed none. */
  committed: number;
  /** The partition's log end offset (high watermark); -1 when unknown. */
  logEnd: number;
  /** logEnd - committed (never negative); null when either is unknown. */
  lag: number | null;
}

/** Lag per partition of every committed topic, sorted by topic then partition. */
export function groupLag(
  committed: readonly { topic: string; partitions: readonly { partition: number; offset: number }[] }[],
  logEnds: ReadonlyMap<string, ReadonlyMap<number, number>>,
): LagRow[] {
  const rows: LagRow[] = [];
  for (const t of committed)
    for (const p of t.partitions) {
      const end = logEnds.get(t.topic)?.get(p.partition) ?? -1;
      const lag = p.offset < 0 || end < 0 ? null : Math.max(0, end - p.offset);
      rows.push({ topic: t.topic, partition: p.partition, committed: p.offset, logEnd: end, lag });
    }
  return rows.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
}

/** The sum of a group's lag (partitions with an unknown lag left out). */
export function totalLag(rows: readonly LagRow[]): number {
  return rows.reduce((s, r) => s + (r.lag ?? 0), 0);
}

/**
 * Records per second between two samples of a topic's summed log end offsets taken `ms` apart;
 * 0 when the log end went back (a topic deleted and recreated) or no time passed.
 */
export function recordsPerSecond(before: number, after: number, ms: number): number {
  if (ms <= 0 || after < before) return 0;
  return ((after - before) * 1000) / ms;
}
