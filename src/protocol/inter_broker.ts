// The requests between brokers of a ZooKeeper cluster, from Kafka's specs (spec_codec.ts): the
// controller tells each broker what it leads and follows (LeaderAndIsr, key 4), what the cluster
// looks like (UpdateMetadata, 6) and which replicas to stop or delete (StopReplica, 5); a broker
// going down asks the controller to move its leaders first (ControlledShutdown, 7). The versions
// are those of Kafka 3.x in ZooKeeper mode with topic ids: LeaderAndIsr v6, UpdateMetadata v7,
// StopReplica v3, ControlledShutdown v3. Served only when zookeeper.connect is set.

import { ApiKey } from "./api_keys.ts";
import type {
  ControlledShutdownRequest,
  ControlledShutdownResponse,
  LeaderAndIsrRequest,
  LeaderAndIsrResponse,
  StopReplicaRequest,
  StopReplicaResponse,
  UpdateMetadataRequest,
  UpdateMetadataResponse,
} from "./generated/types.ts";
import { specCodec } from "./spec_codec.ts";

export type {
  ControlledShutdownRequest,
  ControlledShutdownResponse,
  LeaderAndIsrRequest,
  LeaderAndIsrResponse,
  StopReplicaRequest,
  StopReplicaResponse,
  UpdateMetadataRequest,
  UpdateMetadataResponse,
};

export const LEADER_AND_ISR_VERSION = 6;
export const UPDATE_METADATA_VERSION = 7;
export const STOP_REPLICA_VERSION = 3;
export const CONTROLLED_SHUTDOWN_VERSION = 3;

export const leaderAndIsrCodec = specCodec<LeaderAndIsrRequest, LeaderAndIsrResponse>(
  ApiKey.LeaderAndIsr,
  "LeaderAndIsr",
  LEADER_AND_ISR_VERSION,
  LEADER_AND_ISR_VERSION,
);

export const stopReplicaCodec = specCodec<StopReplicaRequest, StopReplicaResponse>(
  ApiKey.StopReplica,
  "StopReplica",
  STOP_REPLICA_VERSION,
  STOP_REPLICA_VERSION,
);

export const updateMetadataCodec = specCodec<UpdateMetadataRequest, UpdateMetadataResponse>(
  ApiKey.UpdateMetadata,
  "UpdateMetadata",
  UPDATE_METADATA_VERSION,
  UPDATE_METADATA_VERSION,
);

export const controlledShutdownCodec = specCodec<ControlledShutdownRequest, ControlledShutdownResponse>(
  ApiKey.ControlledShutdown,
  "ControlledShutdown",
  CONTROLLED_SHUTDOWN_VERSION,
  CONTROLLED_SHUTDOWN_VERSION,
);
