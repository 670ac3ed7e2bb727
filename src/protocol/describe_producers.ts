// DescribeProducers (key 61), v0 (flexible), from Kafka's spec (spec_codec.ts): the active
// idempotent and transactional producers of partitions (kafka-transactions.sh describe-producers,
// admin clients' describeProducers): producer id, epoch, last sequence and timestamp, and the
// coordinator epoch and open transaction's first offset (-1 without transactions).

import { ApiKey } from "./api_keys.ts";
import type { DescribeProducersRequest, DescribeProducersResponse } from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DescribeProducersRequest, DescribeProducersResponse };

export const describeProducersCodec = specCodec<DescribeProducersRequest, DescribeProducersResponse>(
  ApiKey.DescribeProducers,
  "DescribeProducers",
  0,
  0,
);
