// InitProducerId (api key 22), v0-v5, from Kafka's spec (spec_codec.ts): a producer asks for
// a producer id and epoch before its first idempotent (or transactional) batch.
//
//   request:  transactional_id (nullable string), transaction_timeout_ms int32,
//             v3+ producer_id int64, producer_epoch int16 (an existing pair to bump, KIP-360)
//   response: throttle_time_ms int32, error_code int16, producer_id int64, producer_epoch int16
//   v2+ flexible (compact strings, tagged fields)

import { ApiKey } from "./api_keys.ts";
import type { InitProducerIdRequest, InitProducerIdResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { InitProducerIdRequest, InitProducerIdResponse };

export const initProducerIdCodec = specCodec<InitProducerIdRequest, InitProducerIdResponse>(
  ApiKey.InitProducerId,
  "InitProducerId",
  0,
  5,
);
