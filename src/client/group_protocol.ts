// The consumer protocol's Subscription (JoinGroup member metadata) and Assignment (SyncGroup
// assignment) as Milena's client writes them: src/protocol/consumer_protocol.ts's codec, at
// version 0 (as kafkajs does; Kafka's and librdkafka's assignors read it), with user data as zero
// bytes rather than null (kafkajs's way). Read at any version.

import {
  type ConsumerAssignment,
  type ConsumerSubscription,
  type ConsumerTopicPartitions,
  decodeAssignment as decodeConsumerAssignment,
  decodeSubscription as decodeConsumerSubscription,
  encodeAssignment as encodeConsumerAssignment,
  encodeSubscription as encodeConsumerSubscription,
} from "../protocol/consumer_protocol.ts";

export type TopicPartitions = ConsumerTopicPartitions;
export type MemberSubscription = ConsumerSubscription;
export type MemberAssignment = ConsumerAssignment;

const EMPTY = new Uint8Array(0);

export function encodeSubscription(
  topics: readonly string[],
  userData: Uint8Array | null = null,
): Uint8Array {
  return encodeConsumerSubscription({
    version: 0,
    topics: [...topics],
    userData: userData ?? EMPTY,
    ownedPartitions: [],
  });
}

export const decodeSubscription: (b: Uint8Array) => MemberSubscription = decodeConsumerSubscription;

export function encodeAssignment(
  assigned: readonly TopicPartitions[],
  userData: Uint8Array | null = null,
): Uint8Array {
  return encodeConsumerAssignment({
    version: 0,
    assignedPartitions: [...assigned],
    userData: userData ?? EMPTY,
  });
}

/** Zero bytes (a coordinator's answer on error, or a member given nothing) read as an empty assignment. */
export const decodeAssignment: (b: Uint8Array) => MemberAssignment = decodeConsumerAssignment;

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
