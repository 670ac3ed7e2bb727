// A RecordBatch v2 as an idempotent producer sends it: producer id, epoch and base sequence set
// in the header, the CRC-32C computed again over them.

import { crc32c } from "@node-rs/crc32";
import {
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  BASE_SEQUENCE,
  CRC,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  writeInt64,
} from "../../src/protocol/record_batch.ts";
import { encodeBatch, type NewRecord } from "../../src/protocol/records.ts";

export function idempotentBatch(
  records: readonly NewRecord[] | number,
  producerId: number,
  epoch: number,
  baseSequence: number,
  opts: { transactional?: boolean; now?: number } = {},
): Buffer {
  const list =
    typeof records === "number"
      ? Array.from({ length: records }, (_, i) => ({
          key: `k${baseSequence + i}`,
          value: `v${baseSequence + i}`,
        }))
      : records;
  const b = encodeBatch(list, 0, opts.now);
  writeInt64(b, PRODUCER_ID, producerId);
  b.writeInt16BE(epoch, PRODUCER_EPOCH);
  b.writeInt32BE(baseSequence, BASE_SEQUENCE);
  if (opts.transactional) b.writeInt16BE(b.readInt16BE(ATTRIBUTES) | ATTR_TRANSACTIONAL, ATTRIBUTES);
  b.writeUInt32BE(crc32c(b.subarray(ATTRIBUTES)), CRC);
  return b;
}
