// Opening a partition from disk: a pure scan that says what is there and what must be cut, and
// the apply step that cuts it. Runs in the recovery pool (workers/log_recovery.ts).
//
// Decision table, per segment, in base-offset order:
//
//   start    segment vs recovery point       what is checked per batch
//   clean    any                             header chain from the last index entry (length,
//                                            magic, offsets grow); .index/.timeindex loaded
//                                            when consistent, else rebuilt from the headers
//   unclean  wholly below the recovery point header chain (flushed before the crash)
//   unclean  at or above it                  header chain + CRC-32C of every batch
//
// Offsets grow from batch to batch and segment to segment; gaps are fine (a compacted log has
// them, log_cleaner.ts). The first batch that fails (torn length, bad magic, CRC mismatch, an
// offset below where the batch before ended)
// ends the log: the segment is cut at that batch's position and every later segment is
// dropped. The scan reports { truncate } and the lost bytes; applyScan() does the cutting and
// rewrites the indexes it rebuilt.
//
// Progress (the broker logs percent done per log dir, src/broker/recovery_progress.ts): the scan
// reports, through an optional callback, the bytes of .log files it is past (read, skipped by a
// resumed index, cut or dropped: each segment's whole size once it is done) and the segments
// done, as it goes (about every megabyte read), so the total is the sum of the .log file sizes.

import * as fs from "node:fs";
import {
  BASE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  readInt64,
  storedBatchIntact,
} from "../protocol/record_batch.ts";
import { recoverCleanerFiles } from "./cleaner_swap.ts";
import { indexFile, logFile, segmentBases, timeIndexFile } from "./segment_files.ts";
import {
  INDEX_ENTRY_BYTES,
  SegmentIndex,
  type SegmentIndexData,
  TIME_INDEX_ENTRY_BYTES,
} from "./segment_index.ts";

export interface ScanOptions {
  clean: boolean;
  /** Offsets below this were fsynced before the last stop (unclean start: scan from here). */
  recoveryPoint: number;
  indexIntervalBytes: number;
}

export interface ScannedSegment {
  baseOffset: number;
  /** Valid bytes (after truncation). */
  bytes: number;
  /** Offset after the segment's last batch. */
  nextOffset: number;
  index: SegmentIndexData;
  /** Whether the .index/.timeindex files must be rewritten from `index`. */
  rebuiltIndex: boolean;
}

export interface PartitionScan {
  dir: string;
  segments: ScannedSegment[];
  logEndOffset: number;
  /** Where the log was cut, if it was. */
  truncate: { segmentBase: number; atByte: number; lostBytes: number; reason: string } | null;
  /** Segments after the cut, removed whole. */
  droppedSegments: number[];
}

const CHUNK = 1 << 20;

/** Bytes of .log files and whole segments done since the last call (see the top). */
export type ScanProgress = (bytes: number, segments: number) => void;

export function scanPartition(dir: string, opts: ScanOptions, progress?: ScanProgress): PartitionScan {
  recoverCleanerFiles(dir); // an interrupted clean discarded, an interrupted swap completed
  const bases = segmentBases(fs.readdirSync(dir));
  const result: PartitionScan = { dir, segments: [], logEndOffset: 0, truncate: null, droppedSegments: [] };
  if (bases.length === 0) return result;
  let expected = bases[0];
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i];
    if (result.truncate) {
      result.droppedSegments.push(base);
      progress?.(fileSize(logFile(dir, base)), 1);
      continue;
    }
    if (i > 0 && base < expected) {
      // A later segment starts at or after where the previous one ended (after it: the last
      // batches of a cleaned group were compacted away); one overlapping it is not ours.
      result.truncate = {
        segmentBase: base,
        atByte: 0,
        lostBytes: fileSize(logFile(dir, base)),
        reason: `segment base ${base} is below offset ${expected}, where the segment before ends`,
      };
      result.droppedSegments.push(base);
      progress?.(result.truncate.lostBytes, 1);
      continue;
    }
    const verifyCrc = !opts.clean && nextSegmentBase(bases, i) > opts.recoveryPoint;
    const seg = scanSegment(dir, base, opts, verifyCrc, progress);
    result.segments.push(seg.segment);
    expected = seg.segment.nextOffset;
    if (seg.cut) result.truncate = { segmentBase: base, ...seg.cut };
  }
  result.logEndOffset = expected;
  return result;
}

function nextSegmentBase(bases: number[], i: number): number {
  return i + 1 < bases.length ? bases[i + 1] : Number.MAX_SAFE_INTEGER;
}

function fileSize(path: string): number {
  try {
    return fs.statSync(path).size;
  } catch {
    return 0;
  }
}

interface SegmentScan {
  segment: ScannedSegment;
  cut: { atByte: number; lostBytes: number; reason: string } | null;
}

function scanSegment(
  dir: string,
  base: number,
  opts: ScanOptions,
  verifyCrc: boolean,
  progress: ScanProgress | undefined,
): SegmentScan {
  const path = logFile(dir, base);
  const fd = fs.openSync(path, "r");
  let size = 0;
  /** Bytes of this segment reported to `progress` so far. */
  let reported = 0;
  try {
    size = fs.fstatSync(fd).size;
    let index = new SegmentIndex(base, opts.indexIntervalBytes);
    let rebuiltIndex = true;
    let pos = 0;
    let next = base;
    /** What was loaded, to tell whether the walk left the files' entries as they are. */
    let loadedCount = 0;
    let keptTime = 0;
    const loadedTimeTail: number[] = [];
    // Index files as they are on disk (when consistent): a full rebuild that comes out the same
    // need not be written again (most partitions of a broker are small: no offset entries).
    let onDisk: SegmentIndex | null = null;
    if (opts.clean && !verifyCrc) {
      const loaded = loadIndexes(dir, base, size, opts.indexIntervalBytes);
      onDisk = loaded === null ? null : SegmentIndex.from(loaded.toJSON());
      // Resume the chain at the last indexed batch (everything before it was written whole),
      // but only if a batch really starts there with the offset the entry claims: an index that
      // is well-formed yet wrong must not steer the scan.
      const last = loaded !== null && loaded.count > 0 ? loaded.count - 1 : -1;
      const header = Buffer.alloc(BATCH_HEADER_BYTES);
      if (
        last >= 0 &&
        fs.readSync(fd, header, 0, BATCH_HEADER_BYTES, loaded!.positions[last]) === BATCH_HEADER_BYTES &&
        header[MAGIC] === 2 &&
        readInt64(header, BASE_OFFSET) === base + loaded!.relOffsets[last] &&
        firstTimeEntryMatches(fd, loaded!)
      ) {
        index = loaded!;
        rebuiltIndex = false;
        pos = index.positions[last];
        next = base + index.relOffsets[last];
        // Entries from that batch on are re-derived by the walk below: drop them and re-add.
        // Time entries too, so one for a batch that is cut below (torn tail) does not survive.
        loadedCount = index.count;
        index.count--;
        index.bytesSinceEntry = index.intervalBytes + 1;
        keptTime = index.timeCount;
        while (keptTime > 0 && index.timeRelOffsets[keptTime - 1] >= index.relOffsets[last]) keptTime--;
        for (let i = keptTime; i < index.timeCount; i++) {
          loadedTimeTail.push(index.timestamps[i], index.timeRelOffsets[i]);
        }
        index.timeCount = keptTime;
        index.maxTimestamp = keptTime > 0 ? index.timestamps[keptTime - 1] : -1;
      }
    }
    const chunk = Buffer.allocUnsafe(CHUNK);
    let chunkStart = -1;
    let chunkLen = 0;
    let cut: SegmentScan["cut"] = null;
    const read = (at: number, n: number): Buffer => {
      if (at >= chunkStart && at + n <= chunkStart + chunkLen)
        return chunk.subarray(at - chunkStart, at - chunkStart + n);
      if (n > CHUNK) {
        const big = Buffer.allocUnsafe(n);
        const got = fs.readSync(fd, big, 0, n, at);
        return big.subarray(0, got);
      }
      chunkLen = fs.readSync(fd, chunk, 0, CHUNK, at);
      chunkStart = at;
      if (progress !== undefined && at > reported) {
        progress(at - reported, 0);
        reported = at;
      }
      return chunk.subarray(0, Math.min(n, chunkLen));
    };
    while (pos < size) {
      const reason = (() => {
        if (size - pos < BATCH_HEADER_BYTES) return "torn batch header";
        const h = read(pos, BATCH_HEADER_BYTES);
        if (h.length < BATCH_HEADER_BYTES) return "torn batch header";
        const batchSize = h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
        if (h[MAGIC] !== 2) return `magic ${h[MAGIC]}`;
        if (batchSize < BATCH_HEADER_BYTES) return `batch length ${batchSize}`;
        if (pos + batchSize > size) return "torn batch";
        const batchBase = readInt64(h, BASE_OFFSET);
        // Offsets grow from batch to batch; a compacted log has gaps between them, but every
        // offset of a segment stays within 2^31 - 1 of its base (the index's relative offsets).
        if (batchBase < next) return `batch offset ${batchBase} below ${next}, where the batch before ends`;
        const lastDelta = h.readInt32BE(LAST_OFFSET_DELTA);
        if (batchBase + lastDelta - base > 0x7fffffff)
          return `batch offset ${batchBase} out of the segment's range (base ${base})`;
        const maxTs = readInt64(h, MAX_TIMESTAMP);
        if (verifyCrc) {
          const whole = read(pos, batchSize);
          if (!storedBatchIntact(whole)) return "CRC-32C mismatch";
        }
        index.onBatch(batchBase, pos, batchSize, maxTs);
        pos += batchSize;
        next = batchBase + lastDelta + 1;
        return null;
      })();
      if (reason !== null) {
        cut = { atByte: pos, lostBytes: size - pos, reason };
        break;
      }
    }
    if (cut) rebuiltIndex = true;
    else if (rebuiltIndex && onDisk !== null && sameEntries(index, onDisk)) rebuiltIndex = false;
    if (!rebuiltIndex) {
      // The walk re-derived the loaded entries from the resume point on: rewrite the files when
      // they differ (entries missing from a short file, e.g. after a power cut soon after a
      // clean shutdown: index files are never fsynced).
      rebuiltIndex = index.count !== loadedCount || index.timeCount !== keptTime + loadedTimeTail.length / 2;
      for (let i = 0; !rebuiltIndex && i < loadedTimeTail.length; i += 2) {
        const t = keptTime + i / 2;
        rebuiltIndex =
          index.timestamps[t] !== loadedTimeTail[i] || index.timeRelOffsets[t] !== loadedTimeTail[i + 1];
      }
    }
    return {
      segment: { baseOffset: base, bytes: pos, nextOffset: next, index: index.toJSON(), rebuiltIndex },
      cut,
    };
  } finally {
    fs.closeSync(fd);
    progress?.(Math.max(0, size - reported), 1);
  }
}

/**
 * Whether the time index starts as the .log does: the first batch's maxTimestamp at relative
 * offset 0 (or, when that batch has no timestamp, no entry for it). Catches a zeroed or garbage
 * .timeindex that is otherwise well-formed.
 */
function firstTimeEntryMatches(fd: number, s: SegmentIndex): boolean {
  const h = Buffer.alloc(BATCH_HEADER_BYTES);
  if (fs.readSync(fd, h, 0, BATCH_HEADER_BYTES, 0) !== BATCH_HEADER_BYTES) return false;
  const firstMax = readInt64(h, MAX_TIMESTAMP);
  if (firstMax > -1) return s.timeCount > 0 && s.timestamps[0] === firstMax && s.timeRelOffsets[0] === 0;
  return s.timeCount === 0 || s.timeRelOffsets[0] > 0;
}

function sameEntries(a: SegmentIndex, b: SegmentIndex): boolean {
  if (a.count !== b.count || a.timeCount !== b.timeCount) return false;
  for (let i = 0; i < a.count; i++)
    if (a.relOffsets[i] !== b.relOffsets[i] || a.positions[i] !== b.positions[i]) return false;
  for (let i = 0; i < a.timeCount; i++) {
    if (a.timestamps[i] !== b.timestamps[i] || a.timeRelOffsets[i] !== b.timeRelOffsets[i]) return false;
  }
  return true;
}

/**
 * Load .index and .timeindex when they are consistent with a .log of `logBytes` bytes
 * (whole entries, ascending offsets and timestamps, positions inside the log); null when they
 * must be rebuilt.
 */
export function loadIndexes(
  dir: string,
  base: number,
  logBytes: number,
  intervalBytes: number,
): SegmentIndex | null {
  let idx: Buffer;
  let tidx: Buffer;
  try {
    idx = fs.readFileSync(indexFile(dir, base));
    tidx = fs.readFileSync(timeIndexFile(dir, base));
  } catch {
    return null;
  }
  if (idx.length % INDEX_ENTRY_BYTES !== 0 || tidx.length % TIME_INDEX_ENTRY_BYTES !== 0) return null;
  const s = new SegmentIndex(base, intervalBytes);
  let prevRel = -1;
  let prevPos = 0;
  for (let at = 0; at < idx.length; at += INDEX_ENTRY_BYTES) {
    const rel = idx.readUInt32BE(at);
    const position = idx.readUInt32BE(at + 4);
    if (rel <= prevRel || position <= prevPos || position >= logBytes) return null;
    s.pushIndex(rel, position);
    prevRel = rel;
    prevPos = position;
  }
  let prevTs = -Infinity;
  let prevTimeRel = -1;
  for (let at = 0; at < tidx.length; at += TIME_INDEX_ENTRY_BYTES) {
    const ts = readInt64(tidx, at);
    const rel = tidx.readUInt32BE(at + 8);
    if (ts <= prevTs || rel <= prevTimeRel) return null;
    s.pushTime(ts, rel);
    prevTs = ts;
    prevTimeRel = rel;
  }
  s.maxTimestamp = s.timeCount > 0 ? s.timestamps[s.timeCount - 1] : -1;
  return s;
}

/** Apply a scan: cut the torn segment, drop later ones, rewrite rebuilt indexes. */
export function applyScan(scan: PartitionScan): void {
  const { dir } = scan;
  if (scan.truncate) {
    const seg = scan.segments.find((s) => s.baseOffset === scan.truncate!.segmentBase);
    if (seg) fs.truncateSync(logFile(dir, seg.baseOffset), seg.bytes);
  }
  for (const base of scan.droppedSegments) {
    for (const f of [logFile(dir, base), indexFile(dir, base), timeIndexFile(dir, base)])
      fs.rmSync(f, { force: true });
  }
  for (const seg of scan.segments) {
    if (!seg.rebuiltIndex) continue;
    const s = SegmentIndex.from(seg.index);
    fs.writeFileSync(indexFile(dir, seg.baseOffset), s.encodeIndex());
    fs.writeFileSync(timeIndexFile(dir, seg.baseOffset), s.encodeTimeIndex());
  }
}
