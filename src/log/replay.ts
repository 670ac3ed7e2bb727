// Replay of an internal topic's partition (__consumer_offsets, __transaction_state) from its
// segment files: every record decoded in log order, with transactions applied as Kafka's
// coordinators load them: the records of a transactional batch are held until their producer's
// marker: a COMMIT releases them at the marker's place in the order, an ABORT drops them; those
// still open at the end are returned apart (`pending`, by producer id), for the marker to come.
// Runs in the recovery pool (workers/log_recovery.ts).

import * as fs from "node:fs";
import { parseControlBatch } from "../protocol/control_records.ts";
import {
  ATTR_CONTROL,
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BATCH_LENGTH,
  LOG_OVERHEAD,
  PRODUCER_ID,
  readInt64,
} from "../protocol/record_batch.ts";
import { decodeBatch } from "../protocol/records.ts";
import { logFile, segmentBases } from "./segment_files.ts";

export interface Replayed<R> {
  records: R[];
  /** Records of transactions with no marker yet, by producer id. */
  pending: Map<number, R[]>;
}

export function replayRecords<R>(
  dir: string,
  decode: (key: Buffer, value: Buffer | null) => R | null,
): Replayed<R> {
  const records: R[] = [];
  const pending = new Map<number, R[]>();
  for (const base of segmentBases(fs.readdirSync(dir))) {
    let data: Buffer;
    try {
      data = fs.readFileSync(logFile(dir, base));
    } catch (e) {
      // Swapped for its cleaned copy meanwhile (log cleaner): that copy is named by an earlier
      // base already read, or a later one still to come.
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw e;
    }
    let at = 0;
    while (at + LOG_OVERHEAD <= data.length) {
      const size = data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
      if (size < LOG_OVERHEAD || at + size > data.length) break;
      const batch = data.subarray(at, at + size);
      at += size;
      const attrs = batch.readInt16BE(ATTRIBUTES);
      const producerId = readInt64(batch, PRODUCER_ID);
      if ((attrs & ATTR_CONTROL) !== 0) {
        const marker = parseControlBatch(batch);
        const held = pending.get(producerId);
        pending.delete(producerId);
        if (marker?.type === "commit" && held !== undefined) records.push(...held);
        continue;
      }
      const out: R[] = [];
      for (const r of decodeBatch(batch)) {
        if (r.key === null) continue;
        const rec = decode(r.key, r.value);
        if (rec !== null) out.push(rec);
      }
      if ((attrs & ATTR_TRANSACTIONAL) !== 0) {
        let held = pending.get(producerId);
        if (held === undefined) pending.set(producerId, (held = []));
        held.push(...out);
      } else records.push(...out);
    }
  }
  return { records, pending };
}
