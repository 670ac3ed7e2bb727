// Partition assignors, run by the member the coordinator elects leader: it gets every member's
// Subscription and hands out the partitions (Kafka's ConsumerPartitionAssignor, eager protocol).
// Each is offered in JoinGroup under its protocol name; the coordinator picks a name every member
// offers, so members of different clients can share a group when they offer a common name:
//
//   "range"               Kafka's RangeAssignor (also librdkafka's "range")
//   "roundrobin"          Kafka's RoundRobinAssignor (also librdkafka's "roundrobin")
//   "RoundRobinAssigner"  kafkajs's default assigner's name, assigning as Kafka's round robin
//                         does (which is what kafkajs's does when every member subscribes to
//                         the same topics, the only case kafkajs handles)
//
// Milena's group consumer offers all three by default, range first: a group of Milena members
// uses range, a group shared with kafkajs members RoundRobinAssigner, with librdkafka ones range.

import { InvalidArgumentError } from "./errors.ts";

/** One member as the leader sees it (from its JoinGroup Subscription). */
export interface GroupMemberSubscription {
  memberId: string;
  groupInstanceId: string | null;
  topics: string[];
  userData: Uint8Array | null;
}

export interface AssignContext {
  members: GroupMemberSubscription[];
  /** Partition ids of each subscribed topic the cluster knows, ascending (unknown topics left out). */
  partitions: Map<string, number[]>;
}

/** memberId → topic → partitions (kafkajs's memberAssignment shape). Missing members get nothing. */
export type MemberAssignments = Record<string, Record<string, number[]>>;

export interface PartitionAssigner {
  /** The protocol name offered in JoinGroup. */
  readonly name: string;
  /** User data of this member's Subscription (default none). */
  userData?(): Uint8Array | null;
  assign(ctx: AssignContext): MemberAssignments | Promise<MemberAssignments>;
}

/** Kafka's member order (MemberInfo.compareTo): static members by instance id first, then member ids. */
function compareMembers(a: GroupMemberSubscription, b: GroupMemberSubscription): number {
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  if (a.groupInstanceId !== null && b.groupInstanceId !== null)
    return cmp(a.groupInstanceId, b.groupInstanceId);
  if (a.groupInstanceId !== null) return -1;
  if (b.groupInstanceId !== null) return 1;
  return cmp(a.memberId, b.memberId);
}

function emptyAssignments(members: readonly GroupMemberSubscription[]): MemberAssignments {
  const out: MemberAssignments = {};
  for (const m of members) out[m.memberId] = {};
  return out;
}

function give(out: MemberAssignments, memberId: string, topic: string, partition: number): void {
  const t = out[memberId];
  const list = t[topic] ?? [];
  list.push(partition);
  t[topic] = list;
}

/**
 * Kafka's RangeAssignor: per topic, its subscribers in member order get consecutive ranges, the
 * first (partitions % subscribers) of them one partition more.
 */
export const rangeAssigner: PartitionAssigner = {
  name: "range",
  assign({ members, partitions }) {
    const out = emptyAssignments(members);
    const sorted = [...members].sort(compareMembers);
    for (const [topic, ids] of [...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const subscribers = sorted.filter((m) => m.topics.includes(topic));
      if (subscribers.length === 0) continue;
      const per = Math.floor(ids.length / subscribers.length);
      const extra = ids.length % subscribers.length;
      subscribers.forEach((m, i) => {
        const start = per * i + Math.min(i, extra);
        const length = per + (i + 1 > extra ? 0 : 1);
        for (const p of ids.slice(start, start + length)) give(out, m.memberId, topic, p);
      });
    }
    return out;
  },
};

function roundRobin(name: string): PartitionAssigner {
  return {
    name,
    assign({ members, partitions }) {
      const out = emptyAssignments(members);
      const sorted = [...members].sort(compareMembers);
      if (sorted.length === 0) return out;
      let next = 0;
      // Every partition of every subscribed topic, topics by name, partitions ascending; each to
      // the next member in turn that subscribes to its topic.
      for (const [topic, ids] of [...partitions].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (!sorted.some((m) => m.topics.includes(topic))) continue;
        for (const p of ids) {
          while (!sorted[next % sorted.length].topics.includes(topic)) next++;
          give(out, sorted[next % sorted.length].memberId, topic, p);
          next++;
        }
      }
      return out;
    },
  };
}

/** Kafka's RoundRobinAssignor: all partitions in order, dealt to the members in turn. */
export const roundRobinAssigner: PartitionAssigner = roundRobin("roundrobin");

/** Round robin under kafkajs's protocol name (its default), to share a group with kafkajs members. */
export const kafkajsRoundRobinAssigner: PartitionAssigner = roundRobin("RoundRobinAssigner");

/** The built-in assignors (kafkajs's PartitionAssigners, as objects). */
export const PartitionAssigners = {
  range: rangeAssigner,
  roundRobin: roundRobinAssigner,
  kafkajsRoundRobin: kafkajsRoundRobinAssigner,
} as const;

export type AssignerName = "range" | "roundrobin" | "RoundRobinAssigner";

/** Assignors by name or as objects, defaulting to range, roundrobin, RoundRobinAssigner. */
export function resolveAssigners(
  list: readonly (PartitionAssigner | AssignerName)[] | undefined,
): PartitionAssigner[] {
  const given = list ?? [rangeAssigner, roundRobinAssigner, kafkajsRoundRobinAssigner];
  const out: PartitionAssigner[] = [];
  for (const a of given) {
    const assigner =
      typeof a !== "string"
        ? a
        : a === "range"
          ? rangeAssigner
          : a === "roundrobin"
            ? roundRobinAssigner
            : a === "RoundRobinAssigner"
              ? kafkajsRoundRobinAssigner
              : null;
    if (assigner === null || typeof assigner.name !== "string" || typeof assigner.assign !== "function")
      throw new InvalidArgumentError(
        `unknown partition assigner ${JSON.stringify(typeof a === "string" ? a : a?.name)}`,
      );
    if (!out.some((x) => x.name === assigner.name)) out.push(assigner);
  }
  if (out.length === 0) throw new InvalidArgumentError("partitionAssigners is empty");
  return out;
}
