// JoinGroup (key 11), versions 0-5 (JoinGroupRequest.json / JoinGroupResponse.json). v6 is
// flexible. kafkajs and librdkafka both send v5. The protocols' metadata (the consumer
// protocol's Subscription, consumer_protocol.ts) is opaque to the broker.
//
// JoinGroup Request (Version: 0) => group_id session_timeout_ms member_id protocol_type [protocols]
//   group_id => STRING
//   session_timeout_ms => INT32
//   member_id => STRING                  ("" on the first join)
//   protocol_type => STRING              ("consumer")
//   protocols => name metadata
//     name => STRING                     (assignor: "range", "roundrobin", "RoundRobinAssigner")
//     metadata => BYTES
// JoinGroup Request (Version: 1..4) => group_id session_timeout_ms rebalance_timeout_ms member_id protocol_type [protocols]
//   rebalance_timeout_ms => INT32
//   (v4: an empty member_id gets MEMBER_ID_REQUIRED and an id to rejoin with, KIP-394)
// JoinGroup Request (Version: 5) => group_id session_timeout_ms rebalance_timeout_ms member_id group_instance_id protocol_type [protocols]
//   group_instance_id => NULLABLE_STRING (static membership, KIP-345)
//
// JoinGroup Response (Version: 0..1) => error_code generation_id protocol_name leader member_id [members]
//   error_code => INT16
//   generation_id => INT32
//   protocol_name => STRING
//   leader => STRING
//   member_id => STRING
//   members => member_id metadata        (only the leader gets them)
//     member_id => STRING
//     metadata => BYTES
// JoinGroup Response (Version: 2..4) => throttle_time_ms error_code generation_id protocol_name leader member_id [members]
//   throttle_time_ms => INT32
// JoinGroup Response (Version: 5) => throttle_time_ms error_code generation_id protocol_name leader member_id [members]
//   members => member_id group_instance_id metadata
//     group_instance_id => NULLABLE_STRING

import type { ApiCodec } from "./api.ts";
import { ApiKey } from "./api_keys.ts";
import type { Reader } from "./reader.ts";
import type { Writer } from "./writer.ts";

export interface JoinGroupProtocol {
  name: string;
  metadata: Buffer;
}

export interface JoinGroupRequest {
  groupId: string;
  sessionTimeoutMs: number;
  /** v1+; -1 below (the coordinator then uses the session timeout). */
  rebalanceTimeoutMs: number;
  memberId: string;
  /** v5+; null below. */
  groupInstanceId: string | null;
  protocolType: string;
  protocols: JoinGroupProtocol[];
}

export interface JoinGroupMember {
  memberId: string;
  /** v5+; null below. */
  groupInstanceId: string | null;
  metadata: Buffer;
}

export interface JoinGroupResponse {
  /** v2+; 0 below. */
  throttleTimeMs: number;
  errorCode: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  members: JoinGroupMember[];
}

function readProtocol(r: Reader): JoinGroupProtocol {
  return { name: r.string(), metadata: r.bytes() };
}

function writeProtocol(w: Writer, p: JoinGroupProtocol): void {
  w.string(p.name).bytes(p.metadata);
}

function readMember(r: Reader, version: number): JoinGroupMember {
  const memberId = r.string();
  const groupInstanceId = version >= 5 ? r.nullableString() : null; // v5 added group_instance_id
  return { memberId, groupInstanceId, metadata: r.bytes() };
}

function writeMember(w: Writer, version: number, m: JoinGroupMember): void {
  w.string(m.memberId);
  if (version >= 5) w.nullableString(m.groupInstanceId); // v5 added group_instance_id
  w.bytes(m.metadata);
}

export const joinGroupCodec: ApiCodec<JoinGroupRequest, JoinGroupResponse> = {
  key: ApiKey.JoinGroup,
  name: "JoinGroup",
  minVersion: 0,
  maxVersion: 5,

  decodeRequest(r, version) {
    const groupId = r.string();
    const sessionTimeoutMs = r.int32();
    const rebalanceTimeoutMs = version >= 1 ? r.int32() : -1; // v1 added rebalance_timeout_ms
    const memberId = r.string();
    const groupInstanceId = version >= 5 ? r.nullableString() : null; // v5 added group_instance_id
    const protocolType = r.string();
    const protocols = r.array(readProtocol);
    return {
      groupId,
      sessionTimeoutMs,
      rebalanceTimeoutMs,
      memberId,
      groupInstanceId,
      protocolType,
      protocols,
    };
  },

  encodeRequest(w, version, req) {
    w.string(req.groupId).int32(req.sessionTimeoutMs);
    if (version >= 1) w.int32(req.rebalanceTimeoutMs); // v1 added rebalance_timeout_ms
    w.string(req.memberId);
    if (version >= 5) w.nullableString(req.groupInstanceId); // v5 added group_instance_id
    w.string(req.protocolType).array(req.protocols, writeProtocol);
  },

  decodeResponse(r, version) {
    const throttleTimeMs = version >= 2 ? r.int32() : 0; // v2 added throttle_time_ms
    const errorCode = r.int16();
    const generationId = r.int32();
    const protocolName = r.string();
    const leader = r.string();
    const memberId = r.string();
    const members = r.array((r) => readMember(r, version));
    return { throttleTimeMs, errorCode, generationId, protocolName, leader, memberId, members };
  },

  encodeResponse(w, version, res) {
    if (version >= 2) w.int32(res.throttleTimeMs); // v2 added throttle_time_ms
    w.int16(res.errorCode).int32(res.generationId).string(res.protocolName).string(res.leader);
    w.string(res.memberId).array(res.members, (w, m) => writeMember(w, version, m));
  },
};
