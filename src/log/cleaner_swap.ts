// Putting a cleaned group (cleaner.ts) in place of the segments it replaces, crash-safely, and
// finishing or undoing a swap a crash interrupted, in Kafka's order and with Kafka's suffixes
// (LocalLog.replaceSegments, LogLoader's swap recovery):
//
//   <base>.log.cleaned       written and fsynced by the cleaner; a crash now leaves it behind:
//   <base>.index.cleaned     discarded at open (the originals are untouched)
//   <base>.timeindex.cleaned
//        |  1. renamed to .swap, the index files first and the .log last; dir fsynced
//        v
//   <base>.log.swap          from here the clean is committed: at open, a .log.swap is completed
//   <base>.index.swap        (the segments it replaces are removed and the swap renamed in)
//   <base>.timeindex.swap
//        |  2. every replaced segment's .log/.index/.timeindex renamed to <name>.deleted;
//        |     dir fsynced
//        |  3. the .swap files renamed to their final names, the .log last; dir fsynced
//        |  4. the .deleted files removed
//        v
//   <base>.log, <base>.index, <base>.timeindex
//
// A swapped group replaces the segments with bases in [base, its next offset): the offset after
// its last batch, found by walking its batch headers (cleaned batches keep their offset ranges).
// A replaced segment that is not in that range (every record of the group's last segments was
// removed) and is not yet renamed .deleted is left as it is at recovery: its records are older
// than the ones that superseded them, which are further on in the log, so keeping it is only a
// less clean log, never a wrong one. The group's own base is always replaced, even by an empty
// swap.
//
// Several groups of one pass are swapped one after the other, oldest first: a crash between two
// leaves a cleaned prefix and an uncleaned rest, which is consistent (a record a cleaned group
// dropped was superseded by one at a higher offset, which is still there).
//
// Readers holding a replaced segment open keep reading it: on Linux its inode lives until the
// last descriptor closes.

import * as fs from "node:fs";
import { join } from "node:path";
import {
  BASE_OFFSET,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  MAGIC,
  readInt64,
} from "../protocol/record_batch.ts";
import type { CleanedGroup } from "./cleaner.ts";
import { segmentBases, segmentName } from "./segment_files.ts";

const EXTENSIONS = ["index", "timeindex", "log"] as const;

function file(dir: string, base: number, ext: string, suffix = ""): string {
  return join(dir, `${segmentName(base)}.${ext}${suffix}`);
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Rename when the source exists; false when it does not. */
function renameIfThere(from: string, to: string): boolean {
  try {
    fs.renameSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}

/**
 * Swap one cleaned group in, crash-safely (Kafka's order): the three .cleaned files renamed to
 * .swap (index files first, .log last), dir fsynced; each replaced segment's files renamed to
 * <name>.deleted, dir fsynced; the .swap files renamed to their final names (.log last), dir
 * fsynced; the .deleted files removed. Groups of one pass go in oldest first.
 */
export function swapCleanedGroup(dir: string, group: CleanedGroup): void {
  const base = group.baseOffset;
  if (group.replaces[0] !== base)
    throw new Error(`cleaned group ${base} must replace its own base first (${group.replaces.join(",")})`);
  if (!fs.existsSync(file(dir, base, "log", ".cleaned")))
    throw new Error(`no ${segmentName(base)}.log.cleaned in ${dir}`);
  for (const ext of EXTENSIONS)
    renameIfThere(file(dir, base, ext, ".cleaned"), file(dir, base, ext, ".swap"));
  fsyncDir(dir);
  for (const r of group.replaces)
    for (const ext of ["log", "index", "timeindex"])
      renameIfThere(file(dir, r, ext), file(dir, r, ext, ".deleted"));
  fsyncDir(dir);
  for (const ext of EXTENSIONS) renameIfThere(file(dir, base, ext, ".swap"), file(dir, base, ext));
  fsyncDir(dir);
  for (const r of group.replaces)
    for (const ext of ["log", "index", "timeindex"])
      fs.rmSync(file(dir, r, ext, ".deleted"), { force: true });
}

/**
 * Delete a cleaned group's .cleaned files instead of swapping them in (the log changed under the
 * clean: retention, DeleteRecords, a truncation). Missing files are fine.
 */
export function discardCleaned(dir: string, group: CleanedGroup): void {
  for (const ext of EXTENSIONS) fs.rmSync(file(dir, group.baseOffset, ext, ".cleaned"), { force: true });
}

/**
 * The offset after the last batch of a .log file, walking its batch headers: `base` when it has
 * none. Stops at the first header that does not hold (a swap file is fsynced whole before it is
 * named .swap, so that is only disk damage, which the recovery scan then finds).
 */
function nextOffsetOf(path: string, base: number): number {
  const fd = fs.openSync(path, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const h = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
    let next = base;
    for (let pos = 0; size - pos >= BATCH_HEADER_BYTES; ) {
      if (fs.readSync(fd, h, 0, BATCH_HEADER_BYTES, pos) !== BATCH_HEADER_BYTES || h[MAGIC] !== 2) break;
      const len = h.readInt32BE(BATCH_LENGTH) + LOG_OVERHEAD;
      if (len < BATCH_HEADER_BYTES || pos + len > size) break;
      next = readInt64(h, BASE_OFFSET) + h.readInt32BE(LAST_OFFSET_DELTA) + 1;
      pos += len;
    }
    return next;
  } finally {
    fs.closeSync(fd);
  }
}

const LOG_SWAP = /^(\d{20})\.log\.swap$/;
const INDEX_SWAP = /^(\d{20})\.(index|timeindex)\.swap$/;

/**
 * At open, before the log is scanned (scanPartition calls it): every *.cleaned file deleted (an
 * interrupted clean); for each <base>.log.swap: the segments it replaces (bases in [base, its
 * next offset), plus any *.deleted ones) removed and the swap completed (index .swap files
 * renamed too; a missing index swap is fine, indexes are derivable); *.deleted removed; index
 * .swap files without a log .swap: removed. Returns what it did, for the log line: files
 * discarded, swaps completed.
 */
export function recoverCleanerFiles(dir: string): { discarded: number; completed: number } {
  const names = fs.readdirSync(dir);
  let discarded = 0;
  let completed = 0;
  let changed = false;
  for (const n of names) {
    if (n.endsWith(".cleaned")) {
      fs.rmSync(join(dir, n), { force: true });
      discarded++;
      changed = true;
    }
  }
  const bases = segmentBases(names);
  const swaps = names
    .map((n) => LOG_SWAP.exec(n))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const base of swaps) {
    const hi = Math.max(nextOffsetOf(file(dir, base, "log", ".swap"), base), base + 1);
    for (const b of bases) {
      if (b < base || b >= hi) continue;
      // A final-named index of the group's own base next to a .log.swap is never removed here:
      // its .log is gone by then (step 2 moved both to .deleted, step 3 renamed the new index in).
      fs.rmSync(file(dir, b, "log"), { force: true });
      fs.rmSync(file(dir, b, "index"), { force: true });
      fs.rmSync(file(dir, b, "timeindex"), { force: true });
    }
    for (const ext of EXTENSIONS) renameIfThere(file(dir, base, ext, ".swap"), file(dir, base, ext));
    completed++;
    changed = true;
  }
  if (completed > 0) fsyncDir(dir);
  for (const n of names) {
    if (n.endsWith(".deleted")) {
      fs.rmSync(join(dir, n), { force: true });
      changed = true;
    }
    const m = INDEX_SWAP.exec(n);
    if (m !== null && !swaps.includes(Number(m[1]))) {
      fs.rmSync(join(dir, n), { force: true });
      discarded++;
      changed = true;
    }
  }
  if (changed) fsyncDir(dir);
  return { discarded, completed };
}
