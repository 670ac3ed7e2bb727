// The admin client's consumer-group operations (Admin's listGroups, describeGroups,
// deleteGroups, fetchOffsets, setOffsets, resetOffsets delegate here), shaped like kafkajs's:
// each group's requests go to its coordinator (FindCoordinator), ListGroups to every broker.
// Coordinator errors and lost connections are retried per the retry options; other error codes
// are thrown as typed errors (several at once: MilenaAggregateError).

import { deleteGroupsCodec } from "../protocol/delete_groups.ts";
import { describeGroupsCodec } from "../protocol/describe_groups.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { coordinatorOf, findCoordinatorCodec, findCoordinatorRequest } from "../protocol/find_coordinator.ts";
import { listGroupsCodec } from "../protocol/list_groups.ts";
import { offsetCommitCodec } from "../protocol/offset_commit.ts";
import { offsetFetchCodec, offsetFetchGroup, offsetFetchRequest } from "../protocol/offset_fetch.ts";
import type { Cluster } from "./cluster.ts";
import type { Connection } from "./connection.ts";
import {
  CoordinatorNotAvailableError,
  InvalidArgumentError,
  type KafkaProtocolError,
  MilenaAggregateError,
  type MilenaError,
  protocolError,
} from "./errors.ts";
import { decodeAssignment, decodeSubscription, type TopicPartitions } from "./group_protocol.ts";

export interface GroupOverview {
  groupId: string;
  protocolType: string;
}

export interface GroupMemberDescription {
  memberId: string;
  clientId: string;
  clientHost: string;
  /** The Subscription bytes (protocol type "consumer"). */
  memberMetadata: Uint8Array;
  /** The Assignment bytes. */
  memberAssignment: Uint8Array;
  /** memberAssignment decoded (consumer groups; [] otherwise). */
  assignment: TopicPartitions[];
  /** The subscribed topics, from memberMetadata (consumer groups; [] otherwise). */
  subscription: string[];
}

export interface GroupDescription {
  errorCode: number;
  groupId: string;
  /** "Empty", "PreparingRebalance", "CompletingRebalance", "Stable" or "Dead" (unknown group). */
  state: string;
  protocolType: string;
  /** The assignor in use ("" unless Stable). */
  protocol: string;
  members: GroupMemberDescription[];
}

export interface PartitionOffset {
  partition: number;
  /** The committed offset (the next one to consume); -1 when none. */
  offset: number;
  metadata: string | null;
}

export interface SetOffsetsOptions {
  groupId: string;
  topic: string;
  partitions: { partition: number; offset: number | string | bigint }[];
}

const COORDINATOR_CODES = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

function throwAll(errors: MilenaError[], what: string): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new MilenaAggregateError(
      `${what}: ${errors.length} errors: ${errors.map((e) => e.message).join("; ")}`,
      errors,
    );
}

/** The connection to a group's coordinator (FindCoordinator, then Metadata if it is not known). */
export async function coordinatorFor(cluster: Cluster, groupId: string): Promise<Connection> {
  const conn = await cluster.anyConnection();
  const r = coordinatorOf(await conn.request(findCoordinatorCodec, findCoordinatorRequest(groupId)));
  if (r.errorCode !== 0) throw protocolError(r.errorCode, r.errorMessage ?? `FindCoordinator for ${groupId}`);
  if (!cluster.brokers.has(r.nodeId)) await cluster.metadata([]);
  if (!cluster.brokers.has(r.nodeId))
    throw new CoordinatorNotAvailableError(`coordinator ${r.nodeId} is not in the cluster metadata`);
  return cluster.connection(r.nodeId);
}

/** Run fn against a group's coordinator, retrying coordinator moves and lost connections. */
function atCoordinator<T>(
  cluster: Cluster,
  groupId: string,
  fn: (conn: Connection) => Promise<T>,
): Promise<T> {
  return cluster.withRetry(async () => fn(await coordinatorFor(cluster, groupId)));
}

/** Every group of every broker. */
export async function listGroups(cluster: Cluster): Promise<{ groups: GroupOverview[] }> {
  await cluster.withRetry(() => cluster.metadata([]));
  const groups = new Map<string, GroupOverview>();
  for (const id of [...cluster.brokers.keys()].sort((a, b) => a - b)) {
    const res = await cluster.withRetry(async () => {
      const r = await (await cluster.connection(id)).request(listGroupsCodec, {});
      if (r.errorCode !== 0) throw protocolError(r.errorCode, "ListGroups");
      return r;
    });
    for (const g of res.groups) groups.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType });
  }
  return { groups: [...groups.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : 1)) };
}

/** State, assignor and members of groups (a group that does not exist comes back "Dead"). */
export async function describeGroups(
  cluster: Cluster,
  groupIds: string[],
): Promise<{ groups: GroupDescription[] }> {
  const out: GroupDescription[] = [];
  for (const groupId of groupIds) {
    const res = await atCoordinator(cluster, groupId, async (conn) => {
      const r = await conn.request(describeGroupsCodec, { groups: [groupId] });
      const g = r.groups.find((x) => x.groupId === groupId);
      if (g !== undefined && COORDINATOR_CODES.has(g.errorCode))
        throw protocolError(g.errorCode, `DescribeGroups for ${groupId}`);
      return g;
    });
    if (res === undefined)
      throw protocolError(ErrorCode.UNKNOWN_SERVER_ERROR, `no answer for group ${groupId}`);
    if (res.errorCode !== 0) throw protocolError(res.errorCode, `group ${groupId}`);
    const consumer = res.protocolType === "consumer";
    out.push({
      errorCode: res.errorCode,
      groupId: res.groupId,
      state: res.groupState,
      protocolType: res.protocolType,
      protocol: res.protocolData,
      members: res.members.map((m) => {
        let assignment: TopicPartitions[] = [];
        let subscription: string[] = [];
        if (consumer) {
          try {
            assignment = decodeAssignment(m.memberAssignment).assignedPartitions;
          } catch {}
          try {
            if (m.memberMetadata.length > 0) subscription = decodeSubscription(m.memberMetadata).topics;
          } catch {}
        }
        return {
          memberId: m.memberId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          memberMetadata: m.memberMetadata,
          memberAssignment: m.memberAssignment,
          assignment,
          subscription,
        };
      }),
    });
  }
  return { groups: out };
}

/** Delete groups without members, and their offsets. Failures are thrown (NON_EMPTY_GROUP ...). */
export async function deleteGroups(
  cluster: Cluster,
  groupIds: string[],
): Promise<{ groupId: string; errorCode: number }[]> {
  const results: { groupId: string; errorCode: number }[] = [];
  for (const groupId of groupIds) {
    const r = await atCoordinator(cluster, groupId, async (conn) => {
      const res = await conn.request(deleteGroupsCodec, { groupsNames: [groupId] });
      const x = res.results.find((g) => g.groupId === groupId) ?? {
        groupId,
        errorCode: ErrorCode.UNKNOWN_SERVER_ERROR,
      };
      if (COORDINATOR_CODES.has(x.errorCode)) throw protocolError(x.errorCode, `DeleteGroups for ${groupId}`);
      return x;
    });
    results.push({ groupId, errorCode: r.errorCode });
  }
  throwAll(
    results
      .filter((r) => r.errorCode !== 0)
      .map((r) =>
        protocolError(
          r.errorCode,
          r.errorCode === ErrorCode.NON_EMPTY_GROUP
            ? `group ${r.groupId} has active members`
            : r.errorCode === ErrorCode.GROUP_ID_NOT_FOUND
              ? `group ${r.groupId} does not exist`
              : `group ${r.groupId}`,
        ),
      ),
    "deleteGroups",
  );
  return results;
}

/**
 * A group's committed offsets: for every partition of `topics` (-1 where none), or, without
 * topics, for every partition the group committed.
 */
export async function fetchOffsets(
  cluster: Cluster,
  opts: { groupId: string; topics?: string[] },
): Promise<{ topic: string; partitions: PartitionOffset[] }[]> {
  let request: { name: string; partitionIndexes: number[] }[] | null = null;
  if (opts.topics !== undefined) {
    request = [];
    for (const topic of opts.topics) {
      const info = await cluster.topic(topic, { refresh: true, allowAutoTopicCreation: false });
      request.push({ name: topic, partitionIndexes: info.partitions.map((p) => p.partitionId) });
    }
  }
  const res = await atCoordinator(cluster, opts.groupId, async (conn) => {
    const r = offsetFetchGroup(
      await conn.request(offsetFetchCodec, offsetFetchRequest(opts.groupId, request)),
    );
    if (COORDINATOR_CODES.has(r.errorCode))
      throw protocolError(r.errorCode, `OffsetFetch for ${opts.groupId}`);
    return r;
  });
  if (res.errorCode !== 0) throw protocolError(res.errorCode, `OffsetFetch for group ${opts.groupId}`);
  const errors: KafkaProtocolError[] = [];
  const out = res.topics
    .map((t) => ({
      topic: t.name,
      partitions: t.partitions
        .filter((p) => {
          if (p.errorCode !== 0)
            errors.push(protocolError(p.errorCode, null, { topic: t.name, partition: p.partitionIndex }));
          return p.errorCode === 0;
        })
        .map((p) => ({ partition: p.partitionIndex, offset: p.committedOffset, metadata: p.metadata }))
        .sort((a, b) => a.partition - b.partition),
    }))
    .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
  throwAll(errors, "fetchOffsets");
  return out;
}

/**
 * Commit offsets for a group that has no members (a memberless OffsetCommit, as Kafka's
 * kafka-consumer-groups.sh --reset-offsets does). A group with members refuses it.
 */
export async function setOffsets(cluster: Cluster, opts: SetOffsetsOptions): Promise<void> {
  const partitions = opts.partitions.map((p) => {
    const offset = Number(p.offset);
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new InvalidArgumentError(`bad offset ${String(p.offset)} for ${opts.topic}-${p.partition}`);
    return { partitionIndex: p.partition, committedOffset: offset, committedMetadata: null };
  });
  if (partitions.length === 0) return;
  const res = await atCoordinator(cluster, opts.groupId, async (conn) => {
    const r = await conn.request(offsetCommitCodec, {
      groupId: opts.groupId,
      generationIdOrMemberEpoch: -1,
      memberId: "",
      retentionTimeMs: -1,
      topics: [{ name: opts.topic, partitions }],
    });
    const coordinatorError = r.topics
      .flatMap((t) => t.partitions)
      .find((p) => COORDINATOR_CODES.has(p.errorCode));
    if (coordinatorError !== undefined)
      throw protocolError(coordinatorError.errorCode, `OffsetCommit for ${opts.groupId}`);
    return r;
  });
  const errors: KafkaProtocolError[] = [];
  for (const t of res.topics)
    for (const p of t.partitions) {
      if (p.errorCode === 0) continue;
      const active =
        p.errorCode === ErrorCode.UNKNOWN_MEMBER_ID || p.errorCode === ErrorCode.ILLEGAL_GENERATION;
      errors.push(
        protocolError(
          p.errorCode,
          active
            ? `group ${opts.groupId} has active members: offsets can only be set while it has none`
            : null,
          { topic: t.name, partition: p.partitionIndex },
        ),
      );
    }
  if (errors.length > 0 && errors.every((e) => e.code === errors[0].code && e.message === errors[0].message))
    throw errors[0];
  throwAll(errors, "setOffsets");
}
