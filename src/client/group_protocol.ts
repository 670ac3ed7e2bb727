// The consumer protocol's Subscription (JoinGroup member metadata) and Assignment (SyncGroup
// assignment) for Milena's client: the browser-safe counterpart of src/protocol/consumer_protocol.ts
// (which is built on Node's Buffer), written with ByteWriter / ByteReader.
//
// Subscription (Version: 0) => version [topics] user_data
// Subscription (Version: 1) => ... [owned_partitions]      (v2 appends generation_id, v3 rack_id)
// Assignment   (Version: 0) => version [assigned_partitions] user_data
//
// Written at version 0 (as kafkajs does; Kafka's and librdkafka's assignors read it), with user
// data as zero bytes rather than null (kafkajs's way). Read at any version: newer versions only
// append fields, which are ignored.

import { ByteReader, ByteWriter, concatChunks } from "./bytes.ts";

export interface TopicPartitions {
  topic: string;
  partitions: number[];
}

export interface MemberSubscription {
  version: number;
  topics: string[];
  userData: Uint8Array | null;
  /** v1+ (cooperative rebalancing); [] for v0. */
  ownedPartitions: TopicPartitions[];
}

export interface MemberAssignment {
  version: number;
  assignedPartitions: TopicPartitions[];
  userData: Uint8Array | null;
}

const EMPTY = new Uint8Array(0);

function done(w: ByteWriter): Uint8Array {
  return concatChunks(w.chunks(), w.length).slice();
}

export function encodeSubscription(
  topics: readonly string[],
  userData: Uint8Array | null = null,
): Uint8Array {
  const w = new ByteWriter(64);
  w.int16(0)
    .array(topics, (w, t) => {
      w.string(t);
    })
    .bytes(userData ?? EMPTY);
  return done(w);
}

export function decodeSubscription(b: Uint8Array): MemberSubscription {
  const r = new ByteReader(b);
  const version = r.int16();
  const topics = r.array((r) => r.string());
  // v0 of some clients ends after topics (user_data absent): read it as null.
  const userData = r.remaining >= 4 ? r.nullableBytes() : null;
  const ownedPartitions =
    version >= 1 && r.remaining >= 4
      ? r.array((r) => ({ topic: r.string(), partitions: r.array((r) => r.int32()) }))
      : [];
  return { version, topics, userData, ownedPartitions };
}

export function encodeAssignment(
  assigned: readonly TopicPartitions[],
  userData: Uint8Array | null = null,
): Uint8Array {
  const w = new ByteWriter(64);
  w.int16(0)
    .array(assigned, (w, t) => {
      w.string(t.topic).array(t.partitions, (w, p) => {
        w.int32(p);
      });
    })
    .bytes(userData ?? EMPTY);
  return done(w);
}

/** Zero bytes (a coordinator's answer on error, or a member given nothing) read as an empty assignment. */
export function decodeAssignment(b: Uint8Array): MemberAssignment {
  if (b.length === 0) return { version: 0, assignedPartitions: [], userData: null };
  const r = new ByteReader(b);
  const version = r.int16();
  const assignedPartitions = r.array((r) => ({ topic: r.string(), partitions: r.array((r) => r.int32()) }));
  const userData = r.remaining >= 4 ? r.nullableBytes() : null;
  return { version, assignedPartitions, userData };
}

/** Merge entries of one topic, sort topics by name and partitions ascending, drop empty topics. */
export function normalizeTopicPartitions(list: readonly TopicPartitions[]): TopicPartitions[] {
  const byTopic = new Map<string, Set<number>>();
  for (const t of list) {
    const s = byTopic.get(t.topic) ?? new Set<number>();
    for (const p of t.partitions) s.add(p);
    byTopic.set(t.topic, s);
  }
  return [...byTopic]
    .filter(([, s]) => s.size > 0)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([topic, s]) => ({ topic, partitions: [...s].sort((a, b) => a - b) }));
}
