// The acceptor's read side of one partition: serves fetches straight from the segment files,
// never through the writer. Finds the byte position of an offset from the sparse index it
// mirrors from the writer's completions, reads the stored bytes and hands them on as they are
// (sendfile-style: whole batches, no record decoding). The readable end comes from the
// partition state table the writer publishes into.
//
// KIP-74: the first batch is returned whole even when it is larger than maxBytes, so a consumer
// is never stuck behind a batch bigger than its fetch size.
//
// Replication: a follower's replica appends are mirrored batch by batch like produced ones (the
// writer reports each, writer_protocol.ts); a truncation (the writer's truncate/truncateFully
// answer) is given to truncated(), which drops what this side holds past the cut.

import * as fs from "node:fs";
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  MAX_TIMESTAMP,
  readInt64,
} from "../protocol/record_batch.ts";
import { type FileHolder, OpenFiles } from "./open_files.ts";
import type { PartitionState } from "./partition_state.ts";
import { F_LOG_START_OFFSET } from "./partition_state.ts";
import { truncateSegmentIndex } from "./partition_writer.ts";
import { readBuffers } from "./read_buffers.ts";
import type { ScannedSegment } from "./recovery.ts";
import { logFile, segmentBases } from "./segment_files.ts";
import { SegmentIndex, type SegmentIndexData } from "./segment_index.ts";
import type { AbortedTxn } from "./txn_index.ts";

/** One segment as the reader sees it. Its file is opened on first read and may be closed by the bound. */
class SegmentView implements FileHolder {
  fd = -1;
  /** An open in progress (reads wait for it). */
  opening: Promise<number> | null = null;
  /** Final size of a closed segment; -1 while unknown (the active one, or not looked up yet). */
  closedBytes = -1;
  /** Reads in flight on fd: the fd is closed only when none are (its number could be reused). */
  reading = 0;
  /** Retention or deletion let go of it: close fd once the last read finishes. */
  released = false;
  /** The open-file bound asked it to close while a read was in flight. */
  evicted = false;

  constructor(
    readonly path: string,
    readonly baseOffset: number,
    readonly index: SegmentIndex,
  ) {}

  /** FileHolder: close now, or once the reads in flight finish. */
  closeFiles(): void {
    if (this.reading > 0) {
      this.evicted = true;
      return;
    }
    this.closeFd();
  }

  closeFd(): void {
    readerFiles.forget(this);
    this.evicted = false;
    if (this.fd >= 0) {
      const fd = this.fd;
      this.fd = -1;
      fs.close(fd, () => {});
    }
  }

  /** The fd, opening the file when needed; -1 when the file is gone (retention deleted it). */
  async acquire(): Promise<number> {
    if (this.fd >= 0) {
      readerFiles.touch(this);
      return this.fd;
    }
    if (this.released) return -1;
    if (this.opening === null) {
      this.opening = new Promise<number>((resolve) => {
        fs.open(this.path, "r", (err, fd) => resolve(err ? -1 : fd));
      }).then((fd) => {
        this.opening = null;
        if (fd >= 0 && this.released) {
          fs.close(fd, () => {});
          return -1;
        }
        if (fd >= 0) {
          this.fd = fd;
          readerFiles.touch(this);
        }
        return fd;
      });
    }
    return this.opening;
  }
}

/**
 * The acceptor's open segment files for reads, across every partition (log.max.open.files);
 * least recently read ones close and reopen on their next read.
 */
export const readerFiles = new OpenFiles<SegmentView>(4096);

function release(seg: SegmentView): void {
  seg.released = true;
  if (seg.reading === 0) seg.closeFd();
}

/** pread on a segment, holding it open for the duration. */
async function readAt(seg: SegmentView, length: number, position: number): Promise<Buffer> {
  seg.reading++;
  try {
    const fd = await seg.acquire();
    if (fd < 0) return Buffer.alloc(0); // let go of meanwhile: nothing to read here any more
    return await pread(fd, length, position);
  } finally {
    seg.reading--;
    if (seg.reading === 0 && (seg.released || seg.evicted)) seg.closeFd();
  }
}

/** A file's size, without blocking the event loop; -1 when it is gone. */
function sizeOf(path: string): Promise<number> {
  return new Promise((resolve) => fs.stat(path, (err, st) => resolve(err ? -1 : st.size)));
}

/** Bytes needed to see a batch's last offset: baseOffset, length, ..., lastOffsetDelta. */
const HEADER_PEEK = LAST_OFFSET_DELTA + 4;
/** Extra bytes read past maxBytes so the batch holding the offset is found in one read. */
const SLACK = 16 * 1024;

/**
 * Whether the bytes at `at` look like a stored batch header of a segment based at `segBase`:
 * magic 2, a length of at least a header, a base offset within the segment's int32 range.
 */
function plausibleHeader(buf: Buffer, at: number, segBase: number): boolean {
  if (buf[at + MAGIC] !== 2) return false;
  if (buf.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD < BATCH_HEADER_BYTES) return false;
  const rel = readInt64(buf, at) - segBase;
  return rel >= 0 && rel <= 0x7fffffff;
}

/** Read into a pooled buffer (read_buffers.ts); the caller releases it when sent. */
function pread(fd: number, length: number, position: number): Promise<Buffer> {
  const buf = readBuffers.acquire(length);
  return new Promise((resolve, reject) => {
    fs.read(fd, buf, 0, length, position, (err, n) => {
      if (err) {
        readBuffers.release(buf);
        reject(err);
      } else resolve(buf.subarray(0, n));
    });
  });
}

export class PartitionReader {
  private segments: SegmentView[] = [];
  /** Where the last read ended: the next fetch of a tailing consumer starts here. */
  private cache = { segmentBase: -1, offset: -1, position: 0 };
  private closed = false;
  /** A directory listing in progress (segments the writer rolled to that no completion named yet). */
  private discovering: Promise<void> | null = null;
  /** Bumped by every truncation: a listing made before one is not applied after it. */
  private generation = 0;

  constructor(
    readonly dir: string,
    readonly slot: number,
    private readonly state: PartitionState,
    scanned: readonly ScannedSegment[],
    private readonly indexIntervalBytes: number,
  ) {
    // No file is opened here: a broker may hold more partitions than it may keep files open.
    for (let i = 0; i < scanned.length; i++) {
      const s = scanned[i];
      const seg = new SegmentView(logFile(dir, s.baseOffset), s.baseOffset, SegmentIndex.from(s.index));
      if (i < scanned.length - 1) seg.closedBytes = s.bytes;
      this.segments.push(seg);
    }
  }

  /**
   * Bytes of the partition's .log segments (Kafka's Log.size, /metrics): each closed segment's
   * size (looked up once: it is final) plus the active one's as the writer published it.
   */
  async sizeBytes(): Promise<number> {
    const tail = this.state.readTail(this.slot);
    let n = 0;
    for (const seg of [...this.segments]) {
      if (seg.baseOffset === tail.activeSegmentBase) {
        n += tail.activeSegmentBytes;
        continue;
      }
      if (seg.closedBytes < 0) {
        const size = await sizeOf(seg.path);
        if (size < 0) continue;
        seg.closedBytes = size;
      }
      n += seg.closedBytes;
    }
    return n;
  }

  get logStartOffset(): number {
    return this.state.get(this.slot, F_LOG_START_OFFSET);
  }

  get logEndOffset(): number {
    return this.state.readTail(this.slot).logEndOffset;
  }

  /**
   * Mirror of the writer's index for an appended batch (from its completion). A completion
   * that names no batch (segmentBase < 0: a replica append's own completion, whose batches came
   * as records of their own) is ignored.
   */
  onAppend(
    segmentBase: number,
    baseOffset: number,
    position: number,
    size: number,
    maxTimestamp: number,
  ): void {
    if (segmentBase < 0 || position < 0) return;
    const seg = this.segment(segmentBase);
    if (seg !== null) seg.index.onBatch(baseOffset, position, size, maxTimestamp);
  }

  /**
   * The writer truncated the log (its truncate / truncateFully answer, given here before any
   * later completion of the partition is handled): views of segments it deleted are let go
   * (all of them after a full truncation, which recreates files under old names), the cut
   * segment's mirrored index is trimmed as the writer trimmed its own and it is the active one
   * again, and the remembered read position is forgotten. A read in flight meanwhile may still
   * return bytes of the old log: the acceptor stops serving a partition it makes a follower
   * before its fetcher truncates it. A result with an error is ignored.
   */
  truncated(t: {
    errorCode?: number;
    logEndOffset: number;
    activeSegmentBase: number;
    activeSegmentBytes: number;
    full: boolean;
  }): void {
    if (this.closed || (t.errorCode !== undefined && t.errorCode !== 0)) return;
    this.generation++;
    this.aborted = null;
    this.cache = { segmentBase: -1, offset: -1, position: 0 };
    const kept: SegmentView[] = [];
    for (const seg of this.segments) {
      if (t.full || seg.baseOffset > t.activeSegmentBase) release(seg);
      else kept.push(seg);
    }
    this.segments = kept;
    const active = kept[kept.length - 1];
    if (active !== undefined && active.baseOffset === t.activeSegmentBase) {
      active.closedBytes = -1;
      truncateSegmentIndex(active.index, t.logEndOffset, t.activeSegmentBytes);
    }
  }

  /** The partition's aborted transactions as last read from its writer; null: read again. */
  private aborted: Promise<AbortedTxn[]> | null = null;

  /**
   * The aborted transactions (the writer's .txnindex files), read through `load` once and kept
   * until forgetAborted(): every append the writer reports that this side did not ask for (a
   * marker, a replica's batches) and every truncation forgets them.
   */
  abortedTxns(load: () => Promise<{ aborted: AbortedTxn[] }>): Promise<AbortedTxn[]> {
    if (this.aborted === null) {
      const p = load().then(
        (r) => r.aborted,
        (e) => {
          if (this.aborted === p) this.aborted = null;
          throw e;
        },
      );
      this.aborted = p;
    }
    return this.aborted;
  }

  forgetAborted(): void {
    this.aborted = null;
  }

  /**
   * The log cleaner swapped cleaned segments in (the writer's swapCleaned answer, given here
   * before anything later from the writer is handled): each group's views are let go (reads in
   * flight finish on the files they opened, which stay readable until closed) and one view of
   * the cleaned segment takes their place, with its index. Offsets are as they were, so the
   * remembered read position is all that goes.
   */
  segmentsReplaced(
    swapped: readonly {
      replaces: number[];
      baseOffset: number;
      bytes: number;
      index: SegmentIndexData | null;
    }[],
  ): void {
    if (this.closed || swapped.length === 0) return;
    this.generation++;
    this.cache = { segmentBase: -1, offset: -1, position: 0 };
    for (const g of swapped) {
      const gone = new Set(g.replaces);
      const kept: SegmentView[] = [];
      for (const seg of this.segments) {
        if (gone.has(seg.baseOffset)) release(seg);
        else kept.push(seg);
      }
      const view = new SegmentView(
        logFile(this.dir, g.baseOffset),
        g.baseOffset,
        g.index !== null
          ? SegmentIndex.from(g.index)
          : new SegmentIndex(g.baseOffset, this.indexIntervalBytes),
      );
      view.closedBytes = g.bytes;
      let at = kept.length;
      while (at > 0 && kept[at - 1].baseOffset > g.baseOffset) at--;
      kept.splice(at, 0, view);
      this.segments = kept;
    }
  }

  /**
   * The view of segment `base`, added in order when new (no file is touched: it opens on its
   * first read). Every segment appended to gets a completion, so each is named here in time;
   * a read that sees the writer's tail in a segment not named yet lists the dir (discover).
   */
  private segment(base: number): SegmentView | null {
    if (this.closed) return null;
    const segs = this.segments;
    const last = segs[segs.length - 1];
    if (last !== undefined && last.baseOffset === base) return last;
    const found = this.find(base);
    if (found !== null && found.baseOffset === base) return found;
    if (base < this.logStartOffset && segs.length > 0) return null; // deleted by retention
    const seg = new SegmentView(
      logFile(this.dir, base),
      base,
      new SegmentIndex(base, this.indexIntervalBytes),
    );
    let at = segs.length;
    while (at > 0 && segs[at - 1].baseOffset > base) at--;
    segs.splice(at, 0, seg);
    return seg;
  }

  /** Add every segment file up to `base` that is not known yet (asynchronous listing). */
  private discover(base: number): Promise<void> {
    if (this.discovering === null) {
      const generation = this.generation;
      this.discovering = fs.promises
        .readdir(this.dir)
        .then(
          (names) => {
            // A truncation meanwhile may have deleted what this listing saw.
            if (generation !== this.generation) return;
            for (const b of segmentBases(names)) if (b <= base) this.segment(b);
          },
          () => {},
        )
        .finally(() => {
          this.discovering = null;
        });
    }
    return this.discovering;
  }

  /** Let go of segments retention deleted: those wholly below the log start offset. */
  private prune(): void {
    const start = this.logStartOffset;
    while (this.segments.length > 1 && this.segments[1].baseOffset <= start) {
      const gone = this.segments.shift()!;
      if (this.cache.segmentBase === gone.baseOffset) this.cache.segmentBase = -1;
      release(gone);
    }
  }

  /** Last segment whose base is <= offset. */
  private find(offset: number): SegmentView | null {
    const segs = this.segments;
    let lo = 0;
    let hi = segs.length - 1;
    let found: SegmentView | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (segs[mid].baseOffset <= offset) {
        found = segs[mid];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /**
   * Whole batches from the one holding `offset`, up to maxBytes (the first batch always whole).
   * The caller has checked logStartOffset <= offset <= logEndOffset. null: nothing to return.
   * The result is a view of a pooled buffer: give it to readBuffers.release() once sent (or
   * drop it, and it is garbage collected).
   */
  async read(offset: number, maxBytes: number): Promise<Buffer | null> {
    this.prune();
    const tail = this.state.readTail(this.slot);
    if (offset >= tail.logEndOffset) return null;
    const last = this.segments[this.segments.length - 1];
    if (last === undefined || last.baseOffset < tail.activeSegmentBase)
      await this.discover(tail.activeSegmentBase);
    let seg = this.find(offset);
    if (seg === null) return null;
    for (;;) {
      if (seg.baseOffset !== tail.activeSegmentBase && seg.closedBytes < 0) {
        // Rolled since it was named: its size is final now.
        const size = await sizeOf(seg.path);
        if (size < 0) return null;
        seg.closedBytes = size;
      }
      const limit = seg.closedBytes >= 0 ? seg.closedBytes : tail.activeSegmentBytes;
      const data = await this.readSegment(seg, limit, offset, maxBytes);
      if (data !== null) return data;
      // offset is past this segment's last batch: it starts the next one.
      const i = this.segments.indexOf(seg);
      if (i < 0 || i + 1 >= this.segments.length) return null;
      seg = this.segments[i + 1];
    }
  }

  private async readSegment(
    seg: SegmentView,
    limit: number,
    offset: number,
    maxBytes: number,
  ): Promise<Buffer | null> {
    const c = this.cache;
    let pos = c.segmentBase === seg.baseOffset && c.offset === offset ? c.position : seg.index.lookup(offset);
    /** Walking from the segment's first byte (a second walk from there finds nothing new). */
    let fromStart = pos === 0;
    for (;;) {
      if (pos + HEADER_PEEK > limit) return null;
      const want = Math.min(limit - pos, maxBytes + SLACK);
      const buf = await readAt(seg, want, pos);
      // Skip batches that end before `offset`.
      let at = 0;
      let found = -1;
      while (at + HEADER_PEEK <= buf.length) {
        if (!plausibleHeader(buf, at, seg.baseOffset)) {
          // Not a batch where the index (or the last read) said: the file was swapped for its
          // cleaned copy (log cleaner) after this view was made and before it was told. Walk
          // the new file from its start instead; at the start it is no batch at all: nothing.
          readBuffers.release(buf);
          if (fromStart) return null;
          pos = 0;
          fromStart = true;
          at = -1;
          break;
        }
        const size = buf.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
        const last = readInt64(buf, at) + buf.readInt32BE(at + LAST_OFFSET_DELTA);
        if (last >= offset) {
          found = at;
          break;
        }
        at += size;
      }
      if (at < 0) continue;
      if (found < 0) {
        readBuffers.release(buf);
        if (at === 0) return null;
        pos += at;
        continue;
      }
      const firstSize = buf.readInt32BE(found + BATCH_LENGTH) + LOG_OVERHEAD;
      if (found + firstSize > buf.length) {
        // The first batch is larger than what was read: return it whole (KIP-74).
        readBuffers.release(buf);
        if (pos + found + firstSize > limit) return null;
        const whole = await readAt(seg, firstSize, pos + found);
        this.remember(seg.baseOffset, whole, pos + found, firstSize);
        return whole;
      }
      let end = found + firstSize;
      while (end + HEADER_PEEK <= buf.length) {
        const size = buf.readInt32BE(end + BATCH_LENGTH) + LOG_OVERHEAD;
        if (end + size > buf.length || end + size - found > maxBytes) break;
        end += size;
      }
      const out = buf.subarray(found, end);
      this.remember(seg.baseOffset, out, pos + found, end - found);
      return out;
    }
  }

  /** Remember where the batches just read end, for the next sequential fetch. */
  private remember(segmentBase: number, data: Buffer, position: number, length: number): void {
    let at = 0;
    let next = -1;
    while (at + HEADER_PEEK <= length) {
      next = readInt64(data, at) + data.readInt32BE(at + LAST_OFFSET_DELTA) + 1;
      at += data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
    }
    if (next >= 0) this.cache = { segmentBase, offset: next, position: position + length };
  }

  /**
   * The first stored batch whose maxTimestamp reaches ts, found from the time index; the caller
   * finds the record within it. null when no stored record reaches ts.
   */
  async findBatchByTimestamp(ts: number): Promise<{ batch: Buffer } | null> {
    this.prune();
    for (const seg of this.segments) {
      if (seg.index.maxTimestamp < ts) continue;
      let offset = Math.max(seg.index.lookupTime(ts), this.logStartOffset);
      for (;;) {
        const data = await this.read(offset, 1);
        if (data === null) break;
        const size = data.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
        const batch = data.subarray(0, size);
        if (readInt64(batch, MAX_TIMESTAMP) >= ts) return { batch };
        offset = readInt64(batch, 0) + batch.readInt32BE(LAST_OFFSET_DELTA) + 1;
      }
    }
    return null;
  }

  /**
   * The first stored batch holding the log's largest timestamp (ListOffsets' MAX_TIMESTAMP,
   * KIP-734): the segment whose time index has the largest maxTimestamp, searched from it. null
   * when the log holds no record.
   */
  async findMaxTimestampBatch(): Promise<{ batch: Buffer } | null> {
    this.prune();
    let max = -1;
    for (const seg of this.segments) if (seg.index.maxTimestamp > max) max = seg.index.maxTimestamp;
    return max < 0 ? null : this.findBatchByTimestamp(max);
  }

  close(): void {
    this.closed = true;
    for (const s of this.segments) release(s);
    this.segments = [];
  }
}
