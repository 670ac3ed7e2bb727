// Names of a partition's files, Kafka's layout:
//   <log.dir>/<topic>-<partition>/<20-digit base offset>.log        record batches, as received
//   <log.dir>/<topic>-<partition>/<20-digit base offset>.index      sparse offset -> position
//   <log.dir>/<topic>-<partition>/<20-digit base offset>.timeindex  sparse timestamp -> offset
// Formats are drawn in segment_index.ts (indexes) and record_batch.ts (the .log bytes).

import { join } from "node:path";

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, "0");
}

export function logFile(dir: string, baseOffset: number): string {
  return join(dir, `${segmentName(baseOffset)}.log`);
}
export function indexFile(dir: string, baseOffset: number): string {
  return join(dir, `${segmentName(baseOffset)}.index`);
}
export function timeIndexFile(dir: string, baseOffset: number): string {
  return join(dir, `${segmentName(baseOffset)}.timeindex`);
}

/** "<topic>-<partition>": the topic may itself contain '-', so split at the last one. */
export function partitionDirName(topic: string, partition: number): string {
  return `${topic}-${partition}`;
}

export function parsePartitionDirName(name: string): { topic: string; partition: number } | null {
  const dash = name.lastIndexOf("-");
  if (dash <= 0) return null;
  const partition = Number(name.slice(dash + 1));
  if (!Number.isInteger(partition) || partition < 0 || String(partition) !== name.slice(dash + 1))
    return null;
  return { topic: name.slice(0, dash), partition };
}

/** Base offsets of the .log files in a partition dir listing, ascending. */
export function segmentBases(fileNames: readonly string[]): number[] {
  const out: number[] = [];
  for (const f of fileNames) {
    if (/^\d{20}\.log$/.test(f)) out.push(Number(f.slice(0, 20)));
  }
  return out.sort((a, b) => a - b);
}

/** Kafka's topic name rule: 1-249 chars of [a-zA-Z0-9._-], not "." or "..". */
export function validTopicName(name: string): boolean {
  return (
    name.length > 0 && name.length <= 249 && /^[a-zA-Z0-9._-]+$/.test(name) && name !== "." && name !== ".."
  );
}
