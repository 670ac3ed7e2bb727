// CreateTopics (key 19), versions 0-3 (CreateTopicsRequest.json / CreateTopicsResponse.json).
//
// CreateTopics Request (Version: 0) => [topics] timeout_ms
//   topics => name num_partitions replication_factor [assignments] [configs]
//     name => STRING
//     num_partitions => INT32          (-1 = broker default or manual assignment)
//     replication_factor => INT16      (-1 = broker default or manual assignment)
//     assignments => partition_index [broker_ids]
//       partition_index => INT32
//       broker_ids => INT32
//     configs => name value
//       name => STRING
//       value => NULLABLE_STRING
//   timeout_ms => INT32
// CreateTopics Request (Version: 1..3) => [topics] timeout_ms validate_only
//   validate_only => BOOLEAN
//
// CreateTopics Response (Version: 0) => [topics]
//   topics => name error_code
//     name => STRING
//     error_code => INT16
// CreateTopics Response (Version: 1) => [topics]
//   topics => name error_code error_message
//     error_message => NULLABLE_STRING
// CreateTopics Response (Version: 2..3) => throttle_time_ms [topics]
//   throttle_time_ms => INT32

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface CreatableReplicaAssignment {
  partitionIndex: number;
  brokerIds: number[];
}

export interface CreatableTopicConfig {
  name: string;
  value: string | null;
}

export interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: CreatableReplicaAssignment[];
  configs: CreatableTopicConfig[];
}

export interface CreateTopicsRequest {
  topics: CreatableTopic[];
  timeoutMs: number;
  /** v1+; false below. */
  validateOnly: boolean;
}

export interface CreatableTopicResult {
  name: string;
  errorCode: number;
  /** v1+; null below. */
  errorMessage: string | null;
}

export interface CreateTopicsResponse {
  /** v2+; 0 below. */
  throttleTimeMs: number;
  topics: CreatableTopicResult[];
}

const readInt32 = (r: Reader): number => r.int32();
const writeInt32 = (w: Writer, v: number): void => {
  w.int32(v);
};

function readAssignment(r: Reader): CreatableReplicaAssignment {
  return { partitionIndex: r.int32(), brokerIds: r.array(readInt32) };
}

function writeAssignment(w: Writer, a: CreatableReplicaAssignment): void {
  w.int32(a.partitionIndex).array(a.brokerIds, writeInt32);
}

function readConfig(r: Reader): CreatableTopicConfig {
  return { name: r.string(), value: r.nullableString() };
}

function writeConfig(w: Writer, c: CreatableTopicConfig): void {
  w.string(c.name).nullableString(c.value);
}

function readTopic(r: Reader): CreatableTopic {
  const name = r.string();
  const numPartitions = r.int32();
  const replicationFactor = r.int16();
  const assignments = r.array(readAssignment);
  const configs = r.array(readConfig);
  return { name, numPartitions, replicationFactor, assignments, configs };
}

function writeTopic(w: Writer, t: CreatableTopic): void {
  w.string(t.name).int32(t.numPartitions).int16(t.replicationFactor);
  w.array(t.assignments, writeAssignment).array(t.configs, writeConfig);
}

export const createTopicsCodec: ApiCodec<CreateTopicsRequest, CreateTopicsResponse> = {
  key: ApiKey.CreateTopics,
  name: "CreateTopics",
  minVersion: 0,
  maxVersion: 3,

  decodeRequest(r, version) {
    const topics = r.array(readTopic);
    const timeoutMs = r.int32();
    const validateOnly = version >= 1 ? r.bool() : false; // v1 added validate_only
    return { topics, timeoutMs, validateOnly };
  },

  encodeRequest(w, version, req) {
    w.array(req.topics, writeTopic).int32(req.timeoutMs);
    if (version >= 1) w.bool(req.validateOnly); // v1 added validate_only
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 2 ? r.int32() : 0; // v2 added throttle_time_ms
    const withMessage = version >= 1; // v1 added error_message
    const topics = r.array(
      (r): CreatableTopicResult => ({
        name: r.string(),
        errorCode: r.int16(),
        errorMessage: withMessage ? r.nullableString() : null,
      }),
    );
    return { throttleTimeMs, topics };
  },

  encodeResponse(w, version, res) {
    if (version >= 2) w.int32(res.throttleTimeMs); // v2 added throttle_time_ms
    const withMessage = version >= 1; // v1 added error_message
    w.array(res.topics, (w, t) => {
      w.string(t.name).int16(t.errorCode);
      if (withMessage) w.nullableString(t.errorMessage);
    });
  },
};
