// The log cleaner's scheduler (Kafka's LogCleaner + LogCleanerManager): picks the compacted
// partition (cleanup.policy=compact) most in need of cleaning, has a thread of the cleaner pool
// (piscina, log.cleaner.threads, beside the recovery pool) clean it into .cleaned files
// (src/log/cleaner.ts), then has the partition's writer swap them in (PartitionWriter.swapCleaned)
// and tells the partition's reader. Appends and fetches never wait for a clean: the pool only
// reads closed segments; the swap is a few renames in the writer's ring order.
//
// Per partition, what is cleanable: the closed segments wholly below the first uncleanable offset,
//   min(active segment base, high watermark, the first segment holding a record younger than
//   min.compaction.lag.ms)
// and the first offset of an open transaction (Kafka's firstUncleanableOffset). Of those,
// the dirty part starts at the cleaner checkpoint (cleaner-offset-checkpoint in each log dir,
// Kafka's file and format) or the log start. A partition is due when
//   dirty bytes / cleanable bytes >= min.cleanable.dirty.ratio, or
//   its oldest dirty segment is older than max.compaction.lag.ms, or
//   a tombstone's delete horizon it reported last time has passed;
// the due partition with the highest ratio goes first. Each round that cleaned something is
// followed by another at once; a round that found nothing waits log.cleaner.backoff.ms.

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import type { CleanRequest, CleanResult } from "../log/cleaner.ts";
import { dirtyRatio } from "../log/cleaner.ts";
import { readCheckpoint } from "../log/log_dir.ts";
import type { ClosedSegment } from "../log/retention.ts";
import { DEFAULT_MAX_UNCOMPRESSED_BYTES } from "../protocol/record_validation.ts";
import type { BrokerConfig } from "./config.ts";
import { type LogManager, type PartitionEntry, writeOffsetCheckpoint } from "./log_manager.ts";
import type { WriterPool } from "./writers.ts";

const CLEANER_WORKER = new URL("../../workers/log_cleaner_entry.mjs", import.meta.url);
/** Kafka's file name, beside recovery-point-offset-checkpoint in every log dir. */
export const CLEANER_CHECKPOINT = "cleaner-offset-checkpoint";

export interface LogCleanerDeps {
  config: BrokerConfig;
  logs: LogManager;
  writers: WriterPool;
  /** The partition's high watermark (its log end on a single broker). */
  highWatermark(p: PartitionEntry): number;
  /** A partition not to touch now (an offsets partition being loaded). */
  busy(p: PartitionEntry): boolean;
  log(line: string): void;
}

/** What a round found about one partition. */
interface Candidate {
  p: PartitionEntry;
  req: CleanRequest;
  ratio: number;
}

/** One clean, as `make bench` and the log line report it. */
export interface CleanReport {
  partition: string;
  bytesRead: number;
  bytesWritten: number;
  recordsRemoved: number;
  durationMs: number;
}

export class LogCleaner {
  private pool: Piscina | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private readonly loops: Promise<void>[] = [];
  /** Partitions being cleaned now (one thread each). */
  private readonly inProgress = new Set<PartitionEntry>();
  /** Per partition ("topic-partition"): the first dirty offset (the checkpoint's, once loaded). */
  private readonly checkpoints = new Map<string, number>();
  /** Per partition: the earliest pending tombstone delete horizon its last clean reported. */
  private readonly horizons = new Map<string, number>();
  /** Log dirs whose checkpoint is being written, and whether another write is wanted after. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Every clean done (tests, make bench), newest last; bounded. */
  readonly reports: CleanReport[] = [];
  /** Totals over every clean since start (/metrics). */
  readonly totals = { cleans: 0, bytesRead: 0, bytesWritten: 0, recordsRemoved: 0, seconds: 0 };

  /** Partitions being cleaned right now. */
  get cleaning(): number {
    return this.inProgress.size;
  }

  constructor(private readonly deps: LogCleanerDeps) {}

  start(): void {
    const c = this.deps.config;
    if (!c.cleanerEnable) return;
    for (const dir of c.logDirs)
      for (const [name, offset] of readCheckpoint(dir, CLEANER_CHECKPOINT))
        this.checkpoints.set(name, offset);
    this.pool = new Piscina({
      filename: fileURLToPath(CLEANER_WORKER),
      minThreads: 0,
      maxThreads: c.cleanerThreads,
      idleTimeout: 30_000,
    });
    for (let i = 0; i < c.cleanerThreads; i++) this.loops.push(this.loop());
  }

  /** Run a round now instead of after the backoff (tests, a topic turned compacted). */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    if (this.timer !== null) clearTimeout(this.timer);
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.writing.values()]);
    await this.pool?.destroy();
    this.pool = null;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let cleaned = false;
      try {
        cleaned = await this.round();
      } catch (e) {
        this.deps.log(`log cleaner: ${(e as Error).message}`);
      }
      if (this.stopped) return;
      if (!cleaned) await this.sleep(this.deps.config.cleanerBackoffMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.timer !== null) clearTimeout(this.timer);
        this.timer = null;
        this.wake = null;
        resolve();
      };
      this.wake = done;
      this.timer = setTimeout(done, ms);
      this.timer.unref();
    });
  }

  /** Clean the partition most in need of it; false when none is due. */
  private async round(): Promise<boolean> {
    const now = Date.now();
    let best: Candidate | null = null;
    for (const t of this.deps.logs.topics.values()) {
      if (!t.logConfig.compact) continue;
      for (const p of t.partitions) {
        if (p === undefined || this.inProgress.has(p) || this.deps.logs.isOffline(p) || this.deps.busy(p))
          continue;
        const c = await this.candidate(p, now).catch(() => null);
        if (c !== null && (best === null || c.ratio > best.ratio)) best = c;
      }
    }
    if (best === null || this.stopped) return false;
    this.inProgress.add(best.p);
    try {
      await this.clean(best);
    } finally {
      this.inProgress.delete(best.p);
    }
    return true;
  }

  /** The clean a partition is due for now, or null. */
  private async candidate(p: PartitionEntry, now: number): Promise<Candidate | null> {
    const t = this.deps.logs.topics.get(p.topic);
    if (t === undefined) return null;
    const cfg = t.logConfig;
    const info = await this.deps.writers.cleanable(p.slot);
    // The first uncleanable offset (Kafka's): the active segment, the high watermark, and the
    // first segment holding records younger than min.compaction.lag.ms.
    let end = Math.min(info.activeSegmentBase, this.deps.highWatermark(p));
    // Nor past an open transaction: its records are not decided yet (Kafka's last stable offset).
    if (info.firstUnstableOffset >= 0) end = Math.min(end, info.firstUnstableOffset);
    const closed = info.closed;
    const timeOf = (s: ClosedSegment) => (s.maxTimestamp >= 0 ? s.maxTimestamp : s.mtimeMs);
    if (cfg.minCompactionLagMs > 0) {
      const young = closed.find((s) => timeOf(s) > now - cfg.minCompactionLagMs);
      if (young !== undefined) end = Math.min(end, young.baseOffset);
    }
    const segments: ClosedSegment[] = [];
    for (let i = 0; i < closed.length; i++) {
      const next = i + 1 < closed.length ? closed[i + 1].baseOffset : info.activeSegmentBase;
      if (next > end) break;
      segments.push(closed[i]);
    }
    if (segments.length === 0) return null;
    const endOffset =
      segments.length < closed.length ? closed[segments.length].baseOffset : info.activeSegmentBase;
    const name = `${p.topic}-${p.partition}`;
    let firstDirty = this.checkpoints.get(name) ?? info.logStartOffset;
    // A checkpoint out of the log (a truncation, a log emptied and restarted) starts over.
    if (firstDirty < info.logStartOffset || firstDirty > info.logEndOffset) firstDirty = info.logStartOffset;
    const ratio = dirtyRatio(segments, firstDirty);
    const firstDirtySegment = segments.find(
      (_s, i) => (i + 1 < segments.length ? segments[i + 1].baseOffset : endOffset) > firstDirty,
    );
    const horizon = this.horizons.get(name) ?? -1;
    const due =
      (ratio > 0 && ratio >= cfg.minCleanableDirtyRatio) ||
      (firstDirtySegment !== undefined &&
        cfg.maxCompactionLagMs < Number.MAX_SAFE_INTEGER &&
        timeOf(firstDirtySegment) <= now - cfg.maxCompactionLagMs) ||
      (horizon >= 0 && horizon <= now);
    if (!due) return null;
    const threads = this.deps.config.cleanerThreads;
    return {
      p,
      ratio,
      req: {
        dir: p.dir,
        segments: segments.map((s) => ({ baseOffset: s.baseOffset, bytes: s.bytes })),
        firstDirtyOffset: Math.min(firstDirty, endOffset),
        endOffset,
        logStartOffset: info.logStartOffset,
        nowMs: now,
        deleteRetentionMs: cfg.deleteRetentionMs,
        segmentBytes: cfg.segmentBytes,
        indexIntervalBytes: cfg.indexIntervalBytes,
        maxMapBytes: Math.floor(this.deps.config.cleanerDedupeBufferSize / threads),
        maxUncompressedBytes: Math.max(DEFAULT_MAX_UNCOMPRESSED_BYTES, cfg.maxMessageBytes),
        lastBatchOfProducer: info.lastBatchOfProducer,
        aborted: info.aborted.map((a) => ({
          producerId: a.producerId,
          firstOffset: a.firstOffset,
          lastOffset: a.lastOffset,
        })),
      },
    };
  }

  private async clean(c: Candidate): Promise<void> {
    const { p, req } = c;
    const name = `${p.topic}-${p.partition}`;
    const pool = this.pool;
    if (pool === null) return;
    const result = (await pool.run(req)) as CleanResult;
    if (this.stopped || this.deps.busy(p) || this.deps.logs.partitionOf(p.topic, p.partition) !== p) {
      // Stopping, or the partition is being loaded or went away: the next round cleans again.
      return;
    }
    const expected = req.segments.map((s): [number, number] => [s.baseOffset, s.bytes]);
    const swap = await this.deps.writers.swapCleaned(p.slot, result.groups, expected);
    p.reader.segmentsReplaced(swap.swapped);
    const all = swap.swapped.length === result.groups.length;
    if (all) {
      this.checkpoints.set(name, result.nextDirtyOffset);
      void this.writeCheckpoint(p.logDir);
    }
    if (result.nextDeleteHorizonMs >= 0) this.horizons.set(name, result.nextDeleteHorizonMs);
    else this.horizons.delete(name);
    const s = result.stats;
    const report: CleanReport = {
      partition: name,
      bytesRead: s.bytesRead,
      bytesWritten: s.bytesWritten,
      recordsRemoved: s.recordsRemoved,
      durationMs: s.durationMs,
    };
    this.reports.push(report);
    const tot = this.totals;
    tot.cleans++;
    tot.bytesRead += s.bytesRead;
    tot.bytesWritten += s.bytesWritten;
    tot.recordsRemoved += s.recordsRemoved;
    tot.seconds += s.durationMs / 1000;
    if (this.reports.length > 1000) this.reports.shift();
    this.deps.log(
      `log cleaner: cleaned ${name} up to offset ${result.nextDirtyOffset}: ${mb(s.bytesRead)} -> ${mb(s.bytesWritten)} MB, ${s.recordsRemoved} record(s) removed (${s.tombstonesRemoved} tombstone(s)) in ${Math.round(s.durationMs)} ms${all ? "" : "; the log changed meanwhile, some groups left for the next round"}`,
    );
  }

  /** The log dir's cleaner-offset-checkpoint, from the partitions open there (one write at a time). */
  private writeCheckpoint(logDir: string): Promise<void> {
    const prev = this.writing.get(logDir) ?? Promise.resolve();
    const next = prev
      .catch(() => {})
      .then(() => {
        const entries: { topic: string; partition: number; offset: number }[] = [];
        for (const t of this.deps.logs.topics.values())
          for (const p of t.partitions) {
            if (p === undefined || p.logDir !== logDir) continue;
            const offset = this.checkpoints.get(`${p.topic}-${p.partition}`);
            if (offset !== undefined) entries.push({ topic: p.topic, partition: p.partition, offset });
          }
        return writeOffsetCheckpoint(join(logDir, CLEANER_CHECKPOINT), entries);
      })
      .catch((e) =>
        this.deps.log(
          `log cleaner: cannot write ${CLEANER_CHECKPOINT} in ${logDir}: ${(e as Error).message}`,
        ),
      );
    this.writing.set(logDir, next);
    void next.finally(() => {
      if (this.writing.get(logDir) === next) this.writing.delete(logDir);
    });
    return next;
  }
}

function mb(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}
