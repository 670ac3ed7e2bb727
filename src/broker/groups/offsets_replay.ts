// Replay of one __consumer_offsets partition at startup: read its segments in order, decode
// every record, and return them in log order for the coordinator to apply (later records win;
// a null value deletes). Runs in the recovery pool (workers/log_recovery.ts). Records of a key
// version this broker does not know are skipped, as Kafka skips them.

import * as fs from "node:fs";
import { join } from "node:path";
import { segmentBases } from "../../log/segment_files.ts";
import { BATCH_LENGTH, LOG_OVERHEAD } from "../../protocol/record_batch.ts";
import { decodeBatch } from "../../protocol/records.ts";
import { decodeOffsetsRecord, type OffsetsRecord } from "./offsets_records.ts";

export const OFFSETS_TOPIC = "__consumer_offsets";

export function replayOffsetsPartition(dir: string): OffsetsRecord[] {
  const out: OffsetsRecord[] = [];
  for (const base of segmentBases(fs.readdirSync(dir))) {
    const data = fs.readFileSync(join(dir, `${String(base).padStart(20, "0")}.log`));
    let at = 0;
    while (at + LOG_OVERHEAD <= data.length) {
      const size = data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
      if (at + size > data.length) break;
      for (const r of decodeBatch(data.subarray(at, at + size))) {
        if (r.key === null) continue;
        const rec = decodeOffsetsRecord(r.key, r.value);
        if (rec !== null) out.push(rec);
      }
      at += size;
    }
  }
  return out;
}
