// DescribeCluster (api key 60), v0-v1, from Kafka's spec (spec_codec.ts): the cluster id, the
// controller and the brokers, as admin clients (KIP-700) ask for them. Flexible from v0.

import { ApiKey } from "./api_keys.ts";
import type {
  DescribeClusterRequest,
  DescribeClusterResponse,
  DescribeClusterResponseBroker,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type { DescribeClusterRequest, DescribeClusterResponse };
export type DescribeClusterBroker = DescribeClusterResponseBroker;

export const describeClusterCodec = specCodec<DescribeClusterRequest, DescribeClusterResponse>(
  ApiKey.DescribeCluster,
  "DescribeCluster",
  0,
  1,
);
