// Replay of one __consumer_offsets partition at startup: read its segments in order, decode
// every record, and return them in log order for the coordinator to apply (later records win;
// a null value deletes; offsets committed in a transaction count once its COMMIT marker does,
// and those still undecided come last, marked pending: replay.ts). Runs in the recovery pool (workers/log_recovery.ts). Records of a key
// version this broker does not know are skipped, as Kafka skips them.

import { replayRecords } from "../../log/replay.ts";
import { decodeOffsetsRecord, type OffsetsRecord } from "./offsets_records.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";

export function replayOffsetsPartition(dir: string): OffsetsRecord[] {
  const { records, pending } = replayRecords(dir, decodeOffsetsRecord);
  // Offsets of transactions not decided yet come last, marked: they wait for their marker.
  for (const [producerId, held] of pending)
    for (const r of held) if (r.kind === "offset") records.push({ ...r, pendingProducerId: producerId });
  return records;
}
