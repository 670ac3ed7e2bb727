// Metadata (key 3), versions 0-6 (MetadataRequest.json / MetadataResponse.json).
//
// Metadata Request (Version: 0) => [topics]   (NOT nullable: [] = all topics, as null is from v1)
// Metadata Response (Version: 0) => [brokers] [topics], without v1's rack, controller_id and
//   is_internal (kafka-python's version probe and sarama's ListTopics send v0)
// Metadata Request (Version: 1..3) => [topics]
//   topics => name                       (NULLABLE array: null = all topics, [] = none)
//     name => STRING
// Metadata Request (Version: 4..6) => [topics] allow_auto_topic_creation
//   allow_auto_topic_creation => BOOLEAN
//
// Metadata Response (Version: 1) => [brokers] controller_id [topics]
//   brokers => node_id host port rack
//     node_id => INT32
//     host => STRING
//     port => INT32
//     rack => NULLABLE_STRING
//   controller_id => INT32
//   topics => error_code name is_internal [partitions]
//     error_code => INT16
//     name => STRING
//     is_internal => BOOLEAN
//     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes]
//       error_code => INT16
//       partition_index => INT32
//       leader_id => INT32
//       replica_nodes => INT32
//       isr_nodes => INT32
// Metadata Response (Version: 2) => [brokers] cluster_id controller_id [topics]
//   cluster_id => NULLABLE_STRING
// Metadata Response (Version: 3..4) => throttle_time_ms [brokers] cluster_id controller_id [topics]
//   throttle_time_ms => INT32
// Metadata Response (Version: 5..6) => throttle_time_ms [brokers] cluster_id controller_id [topics]
//     partitions => error_code partition_index leader_id [replica_nodes] [isr_nodes] [offline_replicas]
//       offline_replicas => INT32
//
// (v0, whose empty topic array means "all", and v7+ with leader_epoch are not served.)

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import { ProtocolError, type Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface MetadataRequest {
  /** null = all topics; [] = brokers only. */
  topics: string[] | null;
  /** v4+; true below (Kafka's default). */
  allowAutoTopicCreation: boolean;
}

export interface MetadataBroker {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface MetadataPartition {
  errorCode: number;
  partitionIndex: number;
  leaderId: number;
  replicaNodes: number[];
  isrNodes: number[];
  /** v5+; [] below. */
  offlineReplicas: number[];
}

export interface MetadataTopic {
  errorCode: number;
  name: string;
  isInternal: boolean;
  partitions: MetadataPartition[];
}

export interface MetadataResponse {
  /** v3+; 0 below. */
  throttleTimeMs: number;
  brokers: MetadataBroker[];
  /** v2+; null below. */
  clusterId: string | null;
  controllerId: number;
  topics: MetadataTopic[];
}

const readString = (r: Reader): string => r.string();
const writeString = (w: Writer, s: string): void => {
  w.string(s);
};
const readInt32 = (r: Reader): number => r.int32();
const writeInt32 = (w: Writer, v: number): void => {
  w.int32(v);
};

function readBroker(r: Reader, version: number): MetadataBroker {
  const nodeId = r.int32();
  const host = r.string();
  const port = r.int32();
  const rack = version >= 1 ? r.nullableString() : null; // v1 added rack
  return { nodeId, host, port, rack };
}

function writeBroker(w: Writer, b: MetadataBroker, version: number): void {
  w.int32(b.nodeId).string(b.host).int32(b.port);
  if (version >= 1) w.nullableString(b.rack); // v1 added rack
}

function readPartition(r: Reader, version: number): MetadataPartition {
  const errorCode = r.int16();
  const partitionIndex = r.int32();
  const leaderId = r.int32();
  const replicaNodes = r.array(readInt32);
  const isrNodes = r.array(readInt32);
  const offlineReplicas = version >= 5 ? r.array(readInt32) : []; // v5 added offline_replicas
  return { errorCode, partitionIndex, leaderId, replicaNodes, isrNodes, offlineReplicas };
}

function writePartition(w: Writer, version: number, p: MetadataPartition): void {
  w.int16(p.errorCode).int32(p.partitionIndex).int32(p.leaderId);
  w.array(p.replicaNodes, writeInt32).array(p.isrNodes, writeInt32);
  if (version >= 5) w.array(p.offlineReplicas, writeInt32); // v5 added offline_replicas
}

function readTopic(r: Reader, version: number, partition: (r: Reader) => MetadataPartition): MetadataTopic {
  const errorCode = r.int16();
  const name = r.string();
  const isInternal = version >= 1 ? r.bool() : false; // v1 added is_internal
  const partitions = r.array(partition);
  return { errorCode, name, isInternal, partitions };
}

function writeTopic(
  w: Writer,
  version: number,
  t: MetadataTopic,
  partition: (w: Writer, p: MetadataPartition) => void,
): void {
  w.int16(t.errorCode).string(t.name);
  if (version >= 1) w.bool(t.isInternal); // v1 added is_internal
  w.array(t.partitions, partition);
}

export const metadataCodec: ApiCodec<MetadataRequest, MetadataResponse> = {
  key: ApiKey.Metadata,
  name: "Metadata",
  minVersion: 0,
  maxVersion: 6,

  decodeRequest(r, version) {
    let topics = r.nullableArray(readString); // v1 made the array nullable (null = all topics)
    if (version === 0) {
      if (topics === null) throw new ProtocolError("null topic array in Metadata v0");
      if (topics.length === 0) topics = null; // v0: an empty list asks for every topic
    }
    const allowAutoTopicCreation = version >= 4 ? r.bool() : true; // v4 added allow_auto_topic_creation
    return { topics, allowAutoTopicCreation };
  },

  encodeRequest(w, version, req) {
    w.array(version === 0 && req.topics === null ? [] : req.topics, writeString);
    if (version >= 4) w.bool(req.allowAutoTopicCreation); // v4 added allow_auto_topic_creation
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 3 ? r.int32() : 0; // v3 added throttle_time_ms
    const brokers = r.array((r) => readBroker(r, version));
    const clusterId = version >= 2 ? r.nullableString() : null; // v2 added cluster_id
    const controllerId = version >= 1 ? r.int32() : -1; // v1 added controller_id
    const partition = (r: Reader): MetadataPartition => readPartition(r, version);
    const topics = r.array((r) => readTopic(r, version, partition));
    return { throttleTimeMs, brokers, clusterId, controllerId, topics };
  },

  encodeResponse(w, version, res) {
    if (version >= 3) w.int32(res.throttleTimeMs); // v3 added throttle_time_ms
    w.array(res.brokers, (w, b) => writeBroker(w, b, version));
    if (version >= 2) w.nullableString(res.clusterId); // v2 added cluster_id
    if (version >= 1) w.int32(res.controllerId); // v1 added controller_id
    const partition = (w: Writer, p: MetadataPartition): void => writePartition(w, version, p);
    w.array(res.topics, (w, t) => writeTopic(w, version, t, partition));
  },
};
