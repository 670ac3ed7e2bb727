// DeleteRecords (key 21), v0-2, from Kafka's spec (spec_codec.ts): advance partitions' log start
// offsets (kafka-delete-records.sh, admin clients' deleteRecords). v1 only changes throttling,
// v2 is flexible. An offset of -1 means the high watermark; the answer's low_watermark is the
// partition's log start offset afterwards.

import { ApiKey } from "./api_keys.ts";
import type { DeleteRecordsRequest, DeleteRecordsResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DeleteRecordsRequest, DeleteRecordsResponse };

/** The offset that asks to delete everything up to the high watermark. */
export const DELETE_TO_HIGH_WATERMARK = -1;

export const deleteRecordsCodec = specCodec<DeleteRecordsRequest, DeleteRecordsResponse>(
  ApiKey.DeleteRecords,
  "DeleteRecords",
  0,
  2,
);
