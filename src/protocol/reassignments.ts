// AlterPartitionReassignments (key 45) and ListPartitionReassignments (46), v0 (flexible), from
// Kafka's specs (spec_codec.ts): move a partition's replicas to other brokers (KIP-455), and list
// the moves in progress. Answered by the controller of a ZooKeeper cluster (NOT_CONTROLLER
// elsewhere); served only with zookeeper.connect.

import { ApiKey } from "./api_keys.ts";
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
};

export const alterPartitionReassignmentsCodec = specCodec<
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse
>(ApiKey.AlterPartitionReassignments, "AlterPartitionReassignments", 0, 0);

export const listPartitionReassignmentsCodec = specCodec<
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse
>(ApiKey.ListPartitionReassignments, "ListPartitionReassignments", 0, 0);
