// The leader epoch cache of one partition (Kafka's LeaderEpochFileCache): for every leader epoch
// that wrote to the log, the offset of its first record. A follower asks its leader for the end
// of an epoch (OffsetForLeaderEpoch) to find where its log diverged and truncate there (KIP-101,
// KIP-279); a leader answers from here. Kept by the partition's writer
// (partition_writer.ts), which stamps the epoch into every batch it appends.
//
// File leader-epoch-checkpoint in the partition dir, Kafka's LeaderEpochCheckpointFile, text,
// lines ending in "\n":
//
//   0                        version (always 0)
//   <N>                      entry count
//   <epoch> <startOffset>    N lines, ascending epochs and start offsets, one space between
//
// e.g. "0\n2\n0 0\n3 1200\n": epoch 0 wrote from offset 0, epoch 3 from offset 1200. Written
// whole to leader-epoch-checkpoint.tmp, fsynced, renamed over the old one, and the directory
// fsynced (save(dir, true)); save(dir, false) skips the fsyncs, for changes whose loss is
// repaired at the next load (truncateFromStart: load applies the log start offset again).
//
// Derivable: a missing or malformed file is rebuilt by the writer from the partitionLeaderEpoch
// field of the batches (partition_writer.ts), never a failed start. A file that exists is
// trusted: every entry is saved before the first batch of its epoch is written, so the file can
// only hold entries too many (at its end, cut by truncateFromEnd(logEndOffset) at load), never
// too few.
//
// A log written by epoch 0 alone (a single broker, never told of another leader) needs no
// file: the rebuild gives the same entries. save() writes only when a file exists already or
// an epoch above 0 is held, so a single broker's partition dirs stay as they were.

import * as fs from "node:fs";
import { join } from "node:path";

export const LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint";
/** OffsetsForLeaderEpochResponse.UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET. */
export const UNDEFINED_EPOCH = -1;
export const UNDEFINED_EPOCH_OFFSET = -1;

export interface EpochEntry {
  epoch: number;
  startOffset: number;
}

/** What OffsetForLeaderEpoch answers for one partition. */
export interface EpochEndOffset {
  leaderEpoch: number;
  endOffset: number;
}

/** The file's text for `entries` (Kafka's CheckpointFile layout). */
export function encodeLeaderEpochCheckpoint(entries: readonly EpochEntry[]): string {
  let out = `0\n${entries.length}\n`;
  for (const e of entries) out += `${e.epoch} ${e.startOffset}\n`;
  return out;
}

/**
 * Parse a checkpoint's text: the entries, or null when it is not one (other version, count
 * not matching the lines, a line that is not two non-negative integers). Kafka splits entry
 * lines on any whitespace; so does this.
 */
export function parseLeaderEpochCheckpoint(text: string): EpochEntry[] | null {
  const lines = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length < 2 || lines[0].trim() !== "0" || !/^\d+$/.test(lines[1].trim())) return null;
  const count = Number(lines[1].trim());
  if (lines.length - 2 !== count) return null;
  const out: EpochEntry[] = [];
  for (let i = 2; i < lines.length; i++) {
    const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(lines[i]);
    if (m === null) return null;
    const epoch = Number(m[1]);
    const startOffset = Number(m[2]);
    if (epoch > 0x7fffffff || !Number.isSafeInteger(startOffset)) return null;
    out.push({ epoch, startOffset });
  }
  return out;
}

export class LeaderEpochFileCache {
  /** Ascending by epoch, and by start offset (assign keeps both monotonic). */
  private list: EpochEntry[] = [];
  /** Whether leader-epoch-checkpoint is on disk (read at load, or written since). */
  fileExists: boolean;

  constructor(entries: readonly EpochEntry[] = [], fileExists = false) {
    this.fileExists = fileExists;
    // As Kafka's constructor: the entries go through assign, so a file that breaks monotonicity
    // is repaired the way Kafka repairs it.
    for (const e of entries) this.assign(e.epoch, e.startOffset);
  }

  /**
   * The cache saved in `dir`, or null when there is no file or it is malformed (the caller
   * rebuilds it from the log). Never throws.
   */
  static load(dir: string): LeaderEpochFileCache | null {
    let text: string;
    try {
      text = fs.readFileSync(join(dir, LEADER_EPOCH_CHECKPOINT), "utf8");
    } catch {
      return null;
    }
    const entries = parseLeaderEpochCheckpoint(text);
    if (entries === null) return null;
    try {
      return new LeaderEpochFileCache(entries, true);
    } catch {
      return null;
    }
  }

  /** A copy of the entries, oldest epoch first. */
  entries(): EpochEntry[] {
    return this.list.map((e) => ({ ...e }));
  }

  get size(): number {
    return this.list.length;
  }

  /** The latest epoch, -1 when the cache is empty. */
  get latestEpoch(): number {
    return this.list.length === 0 ? UNDEFINED_EPOCH : this.list[this.list.length - 1].epoch;
  }

  latestEntry(): EpochEntry | undefined {
    const e = this.list[this.list.length - 1];
    return e === undefined ? undefined : { ...e };
  }

  earliestEntry(): EpochEntry | undefined {
    const e = this.list[0];
    return e === undefined ? undefined : { ...e };
  }

  /**
   * Kafka's assign(epoch, startOffset): nothing when `epoch` is the latest and starts no
   * earlier; otherwise every entry with an epoch >= `epoch` or a start offset >= `startOffset`
   * is removed (they would break monotonicity) and the entry is added. In a healthy log that is
   * just "append when epoch > latest". Returns whether the cache changed. Throws on a negative
   * epoch or offset (Kafka's IllegalArgumentException).
   */
  assign(epoch: number, startOffset: number): boolean {
    if (epoch < 0 || startOffset < 0 || !Number.isInteger(epoch) || !Number.isInteger(startOffset))
      throw new RangeError(`invalid leader epoch entry ${epoch} ${startOffset}`);
    const latest = this.list[this.list.length - 1];
    if (latest !== undefined && latest.epoch === epoch && startOffset >= latest.startOffset) return false;
    let n = this.list.length;
    while (n > 0 && (this.list[n - 1].epoch >= epoch || this.list[n - 1].startOffset >= startOffset)) n--;
    this.list.length = n;
    this.list.push({ epoch, startOffset });
    return true;
  }

  /**
   * Kafka's endOffsetFor (OffsetForLeaderEpoch): for `requestedEpoch`, the largest epoch <= it
   * and where that epoch ended: the start offset of the next higher epoch, or `logEndOffset`
   * when the requested epoch is the latest.
   *   requested = -1 (UNDEFINED)            {-1, -1}
   *   requested = the latest epoch          {requested, logEndOffset}
   *   no epoch above requested              {-1, -1} (above every epoch, or an empty cache)
   *   requested below the first epoch       {requested, first entry's start offset} (Kafka: the
   *                                          follower truncates to where the known log starts)
   *   otherwise                             {largest epoch <= requested, next epoch's start}
   */
  endOffsetFor(requestedEpoch: number, logEndOffset: number): EpochEndOffset {
    const undefinedAnswer = { leaderEpoch: UNDEFINED_EPOCH, endOffset: UNDEFINED_EPOCH_OFFSET };
    if (requestedEpoch === UNDEFINED_EPOCH) return undefinedAnswer;
    const latest = this.list[this.list.length - 1];
    if (latest !== undefined && latest.epoch === requestedEpoch)
      return { leaderEpoch: requestedEpoch, endOffset: logEndOffset };
    let higher = -1;
    for (let i = 0; i < this.list.length; i++) {
      if (this.list[i].epoch > requestedEpoch) {
        higher = i;
        break;
      }
    }
    if (higher < 0) return undefinedAnswer;
    if (higher === 0) return { leaderEpoch: requestedEpoch, endOffset: this.list[0].startOffset };
    return { leaderEpoch: this.list[higher - 1].epoch, endOffset: this.list[higher].startOffset };
  }

  /** Kafka's epochForOffset: the epoch that wrote `offset`, -1 when it is before every entry. */
  epochForOffset(offset: number): number {
    let found = UNDEFINED_EPOCH;
    for (const e of this.list) {
      if (e.startOffset > offset) break;
      found = e.epoch;
    }
    return found;
  }

  /**
   * Kafka's truncateFromEnd: remove every entry starting at or after `endOffset` (a log cut
   * back to end there). Negative: nothing. Returns whether the cache changed.
   */
  truncateFromEnd(endOffset: number): boolean {
    if (endOffset < 0) return false;
    const before = this.list.length;
    while (this.list.length > 0 && this.list[this.list.length - 1].startOffset >= endOffset) this.list.pop();
    return this.list.length !== before;
  }

  /**
   * Kafka's truncateFromStart: the log now starts at `startOffset`. Entries starting at or
   * before it are removed, the last of them kept with its start moved to `startOffset` (so an
   * entry at exactly `startOffset` stays as it is). Returns whether the cache changed.
   */
  truncateFromStart(startOffset: number): boolean {
    if (startOffset < 0) return false;
    let n = 0;
    while (n < this.list.length && this.list[n].startOffset <= startOffset) n++;
    if (n === 0) return false;
    const kept = this.list[n - 1];
    const changed = n > 1 || kept.startOffset !== startOffset;
    this.list.splice(0, n - 1);
    this.list[0] = { epoch: kept.epoch, startOffset };
    return changed;
  }

  /** Remove every entry (Kafka's clear; the log restarts empty). Returns whether it changed. */
  clear(): boolean {
    const changed = this.list.length > 0;
    this.list = [];
    return changed;
  }

  /** The entries as they are, for undoing a change whose save failed. */
  snapshot(): EpochEntry[] {
    return this.entries();
  }

  restore(entries: readonly EpochEntry[]): void {
    this.list = entries.map((e) => ({ ...e }));
  }

  /** Whether save() would write: a file exists, or an epoch above 0 is held (see the top). */
  get wantsFile(): boolean {
    return this.fileExists || this.list.some((e) => e.epoch > 0);
  }

  /**
   * Write leader-epoch-checkpoint when wantsFile (the format at the top): a temp file written,
   * renamed over the old one; with `durable`, the temp file is fsynced before the rename and
   * the directory after it. Throws the I/O error (the caller decides what it means).
   */
  save(dir: string, durable = true): void {
    if (!this.wantsFile) return;
    writeCheckpointText(dir, encodeLeaderEpochCheckpoint(this.list), durable);
    this.fileExists = true;
  }
}

function writeCheckpointText(dir: string, text: string, durable: boolean): void {
  const path = join(dir, LEADER_EPOCH_CHECKPOINT);
  const tmp = `${path}.tmp`;
  const fd = fs.openSync(tmp, "w");
  try {
    const data = Buffer.from(text);
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, done);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
  if (durable) {
    const dfd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  }
}
