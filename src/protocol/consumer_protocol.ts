// The consumer protocol's member metadata (ConsumerProtocolSubscription.json) and assignment
// (ConsumerProtocolAssignment.json): the opaque bytes of JoinGroup's protocols[].metadata and
// SyncGroup's assignments. The broker's coordinator never reads them (it only picks a protocol
// name every member offers); clients and tests do. Both are non-flexible structs without a
// header, whose first field is their version.
//
// Subscription (Version: 0) => version [topics] user_data
//   version => INT16
//   topics => STRING
//   user_data => NULLABLE_BYTES          (kafkajs writes 0 bytes)
// Subscription (Version: 1) => version [topics] user_data [owned_partitions]
//   owned_partitions => topic [partitions]   (cooperative rebalancing, KIP-429)
//     topic => STRING
//     partitions => INT32
//   (v2 appends generation_id INT32, v3 rack_id NULLABLE_STRING: not written; read like v1)
//
// Assignment (Version: 0) => version [assigned_partitions] user_data
//   version => INT16                     (kafkajs and librdkafka both write 0)
//   assigned_partitions => topic [partitions]
//     topic => STRING
//     partitions => INT32
//   user_data => NULLABLE_BYTES
//
// Like Kafka's ConsumerProtocol, decoding reads a newer version with the newest layout it knows
// and ignores what follows (new versions only append fields); a v0 that ends after its topics
// (some clients') reads as user_data null. Shared by the broker's tests and Milena's client
// (client/group_protocol.ts gives it the client's signatures); no Node API.

import { ProtocolError, Reader } from "./reader.ts";
import { Writer } from "./writer.ts";

export interface ConsumerTopicPartitions {
  topic: string;
  partitions: number[];
}

export interface ConsumerSubscription {
  /** 0 or 1 when encoding. */
  version: number;
  topics: string[];
  userData: Uint8Array | null;
  /** v1+; [] when decoding v0 (and not written at v0). */
  ownedPartitions: ConsumerTopicPartitions[];
}

export interface ConsumerAssignment {
  /** 0 when encoding. */
  version: number;
  assignedPartitions: ConsumerTopicPartitions[];
  userData: Uint8Array | null;
}

export const SUBSCRIPTION_MAX_VERSION = 1;
export const ASSIGNMENT_MAX_VERSION = 0;

const readString = (r: Reader): string => r.string();
const writeString = (w: Writer, s: string): void => {
  w.string(s);
};
const readInt32 = (r: Reader): number => r.int32();
const writeInt32 = (w: Writer, v: number): void => {
  w.int32(v);
};

function readTopicPartitions(r: Reader): ConsumerTopicPartitions {
  return { topic: r.string(), partitions: r.array(readInt32) };
}

function writeTopicPartitions(w: Writer, t: ConsumerTopicPartitions): void {
  w.string(t.topic).array(t.partitions, writeInt32);
}

function readVersion(r: Reader, what: string): number {
  const version = r.int16();
  if (version < 0) throw new ProtocolError(`${what} version ${version}`);
  return version;
}

/** The bytes written, in an array of their own. */
function copyOut(w: Writer): Uint8Array {
  return w.view().slice();
}

export function encodeSubscription(s: ConsumerSubscription): Uint8Array {
  if (s.version < 0 || s.version > SUBSCRIPTION_MAX_VERSION)
    throw new Error(`cannot encode Subscription v${s.version}`);
  const w = new Writer(64);
  w.int16(s.version).array(s.topics, writeString).bytes(s.userData);
  if (s.version >= 1) w.array(s.ownedPartitions, writeTopicPartitions); // v1 added owned_partitions
  return copyOut(w);
}

/** Decode a Subscription; user_data is a view into `buf`. */
export function decodeSubscription(buf: Uint8Array): ConsumerSubscription {
  const r = new Reader(buf);
  const version = readVersion(r, "Subscription");
  const topics = r.array(readString);
  const userData = r.remaining > 0 ? r.nullableBytes() : null;
  // v1 added owned_partitions
  const ownedPartitions = version >= 1 && r.remaining > 0 ? r.array(readTopicPartitions) : [];
  return { version, topics, userData, ownedPartitions };
}

export function encodeAssignment(a: ConsumerAssignment): Uint8Array {
  if (a.version !== ASSIGNMENT_MAX_VERSION) throw new Error(`cannot encode Assignment v${a.version}`);
  const w = new Writer(64);
  w.int16(a.version).array(a.assignedPartitions, writeTopicPartitions).bytes(a.userData);
  return copyOut(w);
}

/**
 * Decode an Assignment; user_data is a view into `buf`. Zero bytes (what a coordinator sends with
 * an error, or a leader for a member it gave nothing) decode as an empty v0 assignment, as both
 * kafkajs and librdkafka read them.
 */
export function decodeAssignment(buf: Uint8Array): ConsumerAssignment {
  if (buf.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const r = new Reader(buf);
  const version = readVersion(r, "Assignment");
  const assignedPartitions = r.array(readTopicPartitions);
  return { version, assignedPartitions, userData: r.remaining > 0 ? r.nullableBytes() : null };
}
