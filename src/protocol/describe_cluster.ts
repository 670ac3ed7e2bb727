// DescribeCluster (api key 60), v0-v1, from Kafka's spec (spec_codec.ts): the cluster id, the
// controller and the brokers, as admin clients (KIP-700) ask for them. Flexible from v0.

import { ApiKey } from "./api_keys.ts";
import { specCodec } from "./spec_codec.ts";

export interface DescribeClusterRequest {
  [field: string]: unknown;
  includeClusterAuthorizedOperations: boolean;
  /** v1+: 1 brokers, 2 controllers. */
  endpointType: number;
}

export interface DescribeClusterBroker {
  [field: string]: unknown;
  brokerId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface DescribeClusterResponse {
  [field: string]: unknown;
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  endpointType: number;
  clusterId: string;
  controllerId: number;
  brokers: DescribeClusterBroker[];
  clusterAuthorizedOperations: number;
}

export const describeClusterCodec = specCodec<DescribeClusterRequest, DescribeClusterResponse>(
  ApiKey.DescribeCluster,
  "DescribeCluster",
  0,
  1,
);
