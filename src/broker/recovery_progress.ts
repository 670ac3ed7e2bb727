// Startup recovery's progress, per log dir: the recovery pool's threads add what they have
// scanned to counters in a SharedArrayBuffer (no messages: a scan reports about every megabyte),
// and the main thread, the only one that logs, reads them on a timer. Once the open has taken
// longer than PROGRESS_AFTER_MS it logs, at most every PROGRESS_EVERY_MS, per log dir not done:
//
//   recovering log dir /data/a: 45.0% (1234 of 2741 segments / 612.0 of 1360.2 MB), ETA 6 s
//
// and, for every log dir, when its last partition is open:
//
//   recovered log dir /data/a: 2741 segments / 1360.2 MB of 120 partition(s) in 12.3 s
//
// Totals are the .log files' sizes, taken (asynchronously, beside the scans) before the first
// line; a line waits for them.
//
// Counters (BigInt64Array over the SharedArrayBuffer), two per log dir, slot = the dir's index
// in log.dirs: [2 * slot] bytes of .log files done, [2 * slot + 1] segments done. Threads add
// with Atomics.add; the main thread reads with Atomics.load.

import * as fs from "node:fs/promises";
import type { ScanProgress } from "../log/recovery.ts";
import { logFile, segmentBases } from "../log/segment_files.ts";
import { etaSeconds, formatDuration, formatPercent } from "../progress.ts";

export const PROGRESS_AFTER_MS = 2000;
export const PROGRESS_EVERY_MS = 3000;

/** The worker side: a ScanProgress that adds to log dir `slot`'s counters. */
export function scanProgressInto(buffer: SharedArrayBuffer, slot: number): ScanProgress {
  const counters = new BigInt64Array(buffer);
  return (bytes, segments) => {
    if (bytes > 0) Atomics.add(counters, 2 * slot, BigInt(bytes));
    if (segments > 0) Atomics.add(counters, 2 * slot + 1, BigInt(segments));
  };
}

interface DirState {
  dir: string;
  partitions: number;
  /** Partitions not yet back from the pool. */
  remaining: number;
  totalBytes: number;
  totalSegments: number;
  doneAt: number | null;
  /** The first time its counters were seen above zero: the ETA's rate is from here on. */
  anchor: { at: number; bytes: number } | null;
}

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

/** The main thread's side: totals, the timer, the lines. */
export class RecoveryProgress {
  readonly buffer: SharedArrayBuffer;
  private readonly counters: BigInt64Array;
  private readonly dirs: DirState[];
  private readonly start = performance.now();
  private timer: NodeJS.Timeout | null = null;
  private lastLine = Number.NEGATIVE_INFINITY;
  private sized = false;

  constructor(
    logDirs: readonly string[],
    private readonly log: (line: string) => void,
    private readonly afterMs = PROGRESS_AFTER_MS,
    private readonly everyMs = PROGRESS_EVERY_MS,
  ) {
    this.buffer = new SharedArrayBuffer(logDirs.length * 2 * BigInt64Array.BYTES_PER_ELEMENT);
    this.counters = new BigInt64Array(this.buffer);
    this.dirs = logDirs.map((dir) => ({
      dir,
      partitions: 0,
      remaining: 0,
      totalBytes: 0,
      totalSegments: 0,
      doneAt: null,
      anchor: null,
    }));
  }

  /**
   * Start: `partitions` are the partition directories to open, each with its log dir's slot.
   * Sizes them (without holding up the scans) and starts the timer.
   */
  begin(partitions: readonly { dir: string; slot: number }[]): void {
    for (const p of partitions) {
      this.dirs[p.slot].partitions++;
      this.dirs[p.slot].remaining++;
    }
    void this.size(partitions).then(
      () => {
        this.sized = true;
      },
      () => {}, // a dir that cannot be listed: the scan says why; no percent lines
    );
    this.timer = setInterval(() => this.tick(), 500);
    this.timer.unref();
  }

  private async size(partitions: readonly { dir: string; slot: number }[]): Promise<void> {
    await Promise.all(
      partitions.map(async (p) => {
        const names = await fs.readdir(p.dir).catch(() => [] as string[]);
        const sizes = await Promise.all(
          segmentBases(names).map((base) =>
            fs.stat(logFile(p.dir, base)).then(
              (s) => s.size,
              () => 0,
            ),
          ),
        );
        const d = this.dirs[p.slot];
        d.totalSegments += sizes.length;
        d.totalBytes += sizes.reduce((a, b) => a + b, 0);
      }),
    );
  }

  /** A partition of log dir `slot` is back from the pool (opened or not). */
  partitionDone(slot: number): void {
    const d = this.dirs[slot];
    if (--d.remaining > 0) return;
    d.doneAt = performance.now();
    const [bytes, segments] = this.done(slot);
    this.log(
      `recovered log dir ${d.dir}: ${segments} segments / ${mb(bytes)} MB of ${d.partitions} partition(s) in ${((d.doneAt - this.start) / 1000).toFixed(1)} s`,
    );
  }

  /**
   * The open is over: the timer stops; when it succeeded, the dirs without partitions get their
   * line too.
   */
  end(ok: boolean): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (!ok) return;
    for (let slot = 0; slot < this.dirs.length; slot++) {
      const d = this.dirs[slot];
      if (d.doneAt === null) {
        d.remaining = 1;
        this.partitionDone(slot);
      }
    }
  }

  private done(slot: number): [number, number] {
    return [Number(Atomics.load(this.counters, 2 * slot)), Number(Atomics.load(this.counters, 2 * slot + 1))];
  }

  private tick(): void {
    const now = performance.now();
    // The rate for the ETA leaves out the pool's start (threads loading their code).
    for (let slot = 0; slot < this.dirs.length; slot++) {
      const d = this.dirs[slot];
      const [bytes] = this.done(slot);
      if (d.anchor === null && bytes > 0) d.anchor = { at: now, bytes };
    }
    if (now - this.start < this.afterMs || now - this.lastLine < this.everyMs || !this.sized) return;
    this.lastLine = now;
    for (let slot = 0; slot < this.dirs.length; slot++) {
      const d = this.dirs[slot];
      if (d.doneAt !== null) continue;
      const [bytes, segments] = this.done(slot);
      const total = Math.max(d.totalBytes, bytes);
      const a = d.anchor ?? { at: this.start, bytes: 0 };
      const eta =
        bytes > a.bytes ? etaSeconds(bytes - a.bytes, total - a.bytes, now - a.at) : Number.POSITIVE_INFINITY;
      this.log(
        `recovering log dir ${d.dir}: ${formatPercent(bytes, total)} (${segments} of ${Math.max(d.totalSegments, segments)} segments / ${mb(bytes)} of ${mb(total)} MB), ETA ${formatDuration(eta)}`,
      );
    }
  }
}
