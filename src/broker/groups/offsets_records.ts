// The records of __consumer_offsets, in Kafka's own formats (GroupMetadataManager; the
// generated OffsetCommitKey/Value and GroupMetadataKey/Value), so a Kafka tool reading the
// topic recognises them. Each record's key and value start with an int16 schema version.
//
//   offset commit key (version 1)      group STRING, topic STRING, partition INT32
//   offset commit value (version 3)    offset INT64, leader_epoch INT32, metadata STRING,
//                                      commit_timestamp INT64
//   group metadata key (version 2)     group STRING
//   group metadata value (version 3)   protocol_type STRING, generation INT32,
//                                      protocol NULLABLE_STRING, leader NULLABLE_STRING,
//                                      current_state_timestamp INT64,
//                                      members [member_id STRING, group_instance_id NULLABLE_STRING,
//                                               client_id STRING, client_host STRING,
//                                               rebalance_timeout INT32, session_timeout INT32,
//                                               subscription BYTES, assignment BYTES]
//
// A null value (tombstone) deletes the key: an expired or deleted offset, a deleted group.

import { Reader } from "../../protocol/reader.ts";
import { Writer } from "../../protocol/writer.ts";

export const OFFSET_COMMIT_KEY_VERSION = 1;
export const OFFSET_COMMIT_VALUE_VERSION = 3;
export const GROUP_METADATA_KEY_VERSION = 2;
export const GROUP_METADATA_VALUE_VERSION = 3;

export interface OffsetKey {
  group: string;
  topic: string;
  partition: number;
}

export interface OffsetValue {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
}

export interface GroupMemberRecord {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  rebalanceTimeoutMs: number;
  sessionTimeoutMs: number;
  subscription: Buffer;
  assignment: Buffer;
}

export interface GroupValue {
  protocolType: string;
  generation: number;
  protocol: string | null;
  leader: string | null;
  currentStateTimestamp: number;
  members: GroupMemberRecord[];
}

export type OffsetsRecord =
  | {
      kind: "offset";
      key: OffsetKey;
      value: OffsetValue | null;
      /** Committed in this producer's transaction, with no marker yet (replay): not in effect. */
      pendingProducerId?: number;
    }
  | { kind: "group"; group: string; value: GroupValue | null };

const bytesOf = (w: Writer): Buffer => Buffer.from(w.view());

export function encodeOffsetKey(k: OffsetKey): Buffer {
  return bytesOf(
    new Writer(64).int16(OFFSET_COMMIT_KEY_VERSION).string(k.group).string(k.topic).int32(k.partition),
  );
}

export function encodeOffsetValue(v: OffsetValue): Buffer {
  return bytesOf(
    new Writer(64)
      .int16(OFFSET_COMMIT_VALUE_VERSION)
      .int64(v.offset)
      .int32(v.leaderEpoch)
      .string(v.metadata)
      .int64(v.commitTimestamp),
  );
}

export function encodeGroupKey(group: string): Buffer {
  return bytesOf(new Writer(32).int16(GROUP_METADATA_KEY_VERSION).string(group));
}

export function encodeGroupValue(v: GroupValue): Buffer {
  const w = new Writer(256)
    .int16(GROUP_METADATA_VALUE_VERSION)
    .string(v.protocolType)
    .int32(v.generation)
    .nullableString(v.protocol)
    .nullableString(v.leader)
    .int64(v.currentStateTimestamp);
  w.array(v.members, (w2, m) => {
    w2.string(m.memberId)
      .nullableString(m.groupInstanceId)
      .string(m.clientId)
      .string(m.clientHost)
      .int32(m.rebalanceTimeoutMs)
      .int32(m.sessionTimeoutMs)
      .bytes(m.subscription)
      .bytes(m.assignment);
  });
  return bytesOf(w);
}

/** Decode one __consumer_offsets record; null for a key version this broker does not know. */
export function decodeOffsetsRecord(key: Buffer, value: Buffer | null): OffsetsRecord | null {
  const k = new Reader(key);
  const keyVersion = k.int16();
  if (keyVersion === 0 || keyVersion === 1) {
    const ok: OffsetKey = { group: k.string(), topic: k.string(), partition: k.int32() };
    if (value === null) return { kind: "offset", key: ok, value: null };
    const r = new Reader(value);
    const version = r.int16();
    // v0: offset, metadata, timestamp; v1: + expire timestamp; v2: no expire; v3: + leader epoch.
    const offset = r.int64();
    const leaderEpoch = version >= 3 ? r.int32() : -1;
    const metadata = r.string();
    const commitTimestamp = r.int64();
    return { kind: "offset", key: ok, value: { offset, leaderEpoch, metadata, commitTimestamp } };
  }
  if (keyVersion === 2) {
    const group = k.string();
    if (value === null) return { kind: "group", group, value: null };
    const r = new Reader(value);
    const version = r.int16();
    const protocolType = r.string();
    const generation = r.int32();
    const protocol = r.nullableString();
    const leader = r.nullableString();
    const currentStateTimestamp = version >= 2 ? r.int64() : -1;
    const members = r.array((m) => ({
      memberId: m.string(),
      groupInstanceId: version >= 3 ? m.nullableString() : null,
      clientId: m.string(),
      clientHost: m.string(),
      rebalanceTimeoutMs: version >= 1 ? m.int32() : -1,
      sessionTimeoutMs: m.int32(),
      subscription: Buffer.from(m.bytes()),
      assignment: Buffer.from(m.bytes()),
    }));
    return {
      kind: "group",
      group,
      value: { protocolType, generation, protocol, leader, currentStateTimestamp, members },
    };
  }
  return null;
}

/** Kafka's partition of a group in __consumer_offsets: abs(Java String.hashCode) % n. */
export function offsetsPartitionFor(group: string, partitions: number): number {
  let h = 0;
  for (let i = 0; i < group.length; i++) h = (Math.imul(h, 31) + group.charCodeAt(i)) | 0;
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0.
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % partitions;
}
