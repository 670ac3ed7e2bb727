// Recovery pool task (piscina): open one partition from disk (scan, cut a torn tail, rebuild
// indexes, read its topic id from partition.metadata), or write a log dir's checkpoints and
// clean-shutdown marker at shutdown. The logic is in src/log/recovery.ts, src/log/log_dir.ts
// and src/log/partition_metadata.ts; this file only dispatches. An open adds its progress to the
// log dirs' counters in the task's SharedArrayBuffer (src/broker/recovery_progress.ts).

import { threadId } from "node:worker_threads";
import type { OffsetsRecord } from "../src/broker/groups/offsets_records.ts";
import { replayOffsetsPartition } from "../src/broker/groups/offsets_replay.ts";
import { scanProgressInto } from "../src/broker/recovery_progress.ts";
import { decodeTxnRecord, type TxnLogRecord } from "../src/broker/txn/transaction_log.ts";
import {
  LOG_START_CHECKPOINT,
  RECOVERY_POINT_CHECKPOINT,
  writeCheckpoint,
  writeCleanShutdownMarker,
} from "../src/log/log_dir.ts";
import { type PartitionMetadataRead, readPartitionMetadata } from "../src/log/partition_metadata.ts";
import { applyScan, type PartitionScan, type ScanOptions, scanPartition } from "../src/log/recovery.ts";
import { replayRecords } from "../src/log/replay.ts";

export type RecoveryTask =
  | {
      op: "open";
      /** `slot`: the partition's log dir's counters in `progress`. */
      partitions: { dir: string; options: ScanOptions; slot: number }[];
      progress: SharedArrayBuffer;
    }
  | { op: "replay-offsets"; dir: string }
  | { op: "replay-txns"; dir: string }
  | {
      op: "close-dir";
      dir: string;
      recoveryPoints: { topic: string; partition: number; offset: number }[];
      logStarts: { topic: string; partition: number; offset: number }[];
      clean: boolean;
    };

export interface OpenResult {
  /** One per partition of the task, in order; a partition that could not be read says why. */
  scans: ((PartitionScan & { metadata: PartitionMetadataRead }) | { error: string })[];
  threadId: number;
}

/** A __transaction_state partition's records, in log order (unknown key versions skipped). */
function replayTxnPartition(dir: string): TxnLogRecord[] {
  return replayRecords(dir, (key, value) => {
    try {
      return decodeTxnRecord(key, value);
    } catch {
      return null; // a value version this broker does not read
    }
  }).records;
}

export default function run(
  task: RecoveryTask,
): OpenResult | { threadId: number; records?: OffsetsRecord[] | TxnLogRecord[] } {
  if (task.op === "replay-offsets") return { threadId, records: replayOffsetsPartition(task.dir) };
  if (task.op === "replay-txns") return { threadId, records: replayTxnPartition(task.dir) };
  if (task.op === "open") {
    const scans = task.partitions.map((p) => {
      try {
        const scan = scanPartition(p.dir, p.options, scanProgressInto(task.progress, p.slot));
        applyScan(scan);
        return { ...scan, metadata: readPartitionMetadata(p.dir) };
      } catch (e) {
        return { error: (e as Error).message };
      }
    });
    return { scans, threadId };
  }
  writeCheckpoint(task.dir, RECOVERY_POINT_CHECKPOINT, task.recoveryPoints);
  writeCheckpoint(task.dir, LOG_START_CHECKPOINT, task.logStarts);
  if (task.clean) writeCleanShutdownMarker(task.dir);
  return { threadId };
}
