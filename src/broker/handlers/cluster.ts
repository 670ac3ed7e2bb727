// The cluster-shaped APIs of a single broker, on codecs derived from Kafka's specs:
// DescribeCluster (this broker is the cluster and its controller), OffsetForLeaderEpoch (every
// partition has had one leader epoch, 0, since it was created: its end is the log end), and
// CreatePartitions (grow a topic, within the partition limits CreateTopics applies).

import { validTopicName } from "../../log/segment_files.ts";
import type {
  CreatePartitionsRequest,
  CreatePartitionsResponse,
  CreatePartitionsTopicResult,
} from "../../protocol/create_partitions.ts";
import type { DescribeClusterRequest, DescribeClusterResponse } from "../../protocol/describe_cluster.ts";
import { clipMessage, ErrorCode } from "../../protocol/error_codes.ts";
import type {
  EpochEndOffset,
  OffsetForLeaderEpochRequest,
  OffsetForLeaderEpochResponse,
} from "../../protocol/offset_for_leader_epoch.ts";
import type { RequestContext } from "../../transport/connection.ts";
import { authorizedOperations } from "../authorized_operations.ts";
import type { BrokerContext } from "../context.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";
import { PartitionLimitError } from "../log_manager.ts";
import { advertisedFor, partitionLimitProblem } from "./admin.ts";

export function handleDescribeCluster(
  ctx: BrokerContext,
  req: DescribeClusterRequest,
  rc: RequestContext,
): DescribeClusterResponse {
  const { host, port } = advertisedFor(ctx, rc);
  const base = {
    throttleTimeMs: 0,
    endpointType: req.endpointType,
    clusterId: ctx.logs.clusterId,
    clusterAuthorizedOperations: authorizedOperations("cluster", req.includeClusterAuthorizedOperations),
  };
  if (req.endpointType !== 1) {
    // Controllers (2) are KRaft's; this broker has none to list.
    return {
      ...base,
      errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
      errorMessage: `endpoint type ${req.endpointType} is not served (1: brokers)`,
      controllerId: -1,
      brokers: [],
    };
  }
  const cluster = ctx.cluster;
  if (cluster !== null && cluster.cache.brokers.size > 0) {
    // In a cluster: every live broker on the listener the client came in on, and the controller.
    const listener = rc.connection.sink.listener;
    const brokers = [...cluster.cache.brokers.values()].flatMap((b) => {
      const e = cluster.cache.endpoint(b.id, listener);
      return e === undefined
        ? []
        : [{ brokerId: b.id, host: e.host === "0.0.0.0" ? "127.0.0.1" : e.host, port: e.port, rack: b.rack }];
    });
    return { ...base, errorCode: 0, errorMessage: null, controllerId: cluster.cache.controllerId, brokers };
  }
  return {
    ...base,
    errorCode: 0,
    errorMessage: null,
    controllerId: ctx.config.brokerId,
    brokers: [{ brokerId: ctx.config.brokerId, host, port, rack: ctx.config.brokerRack }],
  };
}

export async function handleOffsetForLeaderEpoch(
  ctx: BrokerContext,
  req: OffsetForLeaderEpochRequest,
): Promise<OffsetForLeaderEpochResponse> {
  const cluster = ctx.cluster;
  if (cluster !== null) {
    // In a cluster: the leader answers from its leader-epoch cache (KIP-101: where an epoch ends).
    return {
      throttleTimeMs: 0,
      topics: await Promise.all(
        req.topics.map(async (t) => ({
          topic: t.topic,
          partitions: await Promise.all(
            t.partitions.map(async (p): Promise<EpochEndOffset> => {
              const out = { errorCode: 0, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
              const e = ctx.logs.partitionOf(t.topic, p.partition);
              if (e === undefined)
                return {
                  ...out,
                  errorCode:
                    cluster.cache.partition(t.topic, p.partition) !== undefined
                      ? ErrorCode.NOT_LEADER_OR_FOLLOWER
                      : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
                };
              if (ctx.logs.isOffline(e)) return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
              const problem = cluster.replicas.leaderProblem(e, p.currentLeaderEpoch);
              if (problem !== ErrorCode.NONE) return { ...out, errorCode: problem };
              const r = await ctx.writers.epochEndOffset(e.slot, p.leaderEpoch);
              return { ...out, errorCode: r.errorCode, leaderEpoch: r.leaderEpoch, endOffset: r.endOffset };
            }),
          ),
        })),
      ),
    };
  }
  return {
    throttleTimeMs: 0,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p): EpochEndOffset => {
        const out = { errorCode: 0, partition: p.partition, leaderEpoch: -1, endOffset: -1 };
        const e = ctx.logs.partitionOf(t.topic, p.partition);
        if (e === undefined) return { ...out, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        if (ctx.logs.isOffline(e)) return { ...out, errorCode: ErrorCode.KAFKA_STORAGE_ERROR };
        // The client's view of the leader's epoch: a newer one than 0 is one this broker never had.
        if (p.currentLeaderEpoch > 0) return { ...out, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH };
        // Epoch 0 ends at the log end; an epoch this partition never had has no end (-1, -1).
        if (p.leaderEpoch !== 0) return out;
        return { ...out, leaderEpoch: 0, endOffset: e.reader.logEndOffset };
      }),
    })),
  };
}

export async function handleCreatePartitions(
  ctx: BrokerContext,
  req: CreatePartitionsRequest,
): Promise<CreatePartitionsResponse> {
  const results: CreatePartitionsTopicResult[] = [];
  const seen = new Set<string>();
  let perRequest = ctx.config.maxPartitionsPerRequest;
  for (const t of req.topics) {
    const fail = (errorCode: number, message: string) =>
      results.push({ name: t.name, errorCode, errorMessage: clipMessage(message) });
    if (seen.has(t.name)) {
      fail(ErrorCode.INVALID_REQUEST, `topic '${t.name}' appears more than once in the request`);
      continue;
    }
    seen.add(t.name);
    if (ctx.cluster !== null && t.name !== OFFSETS_TOPIC) {
      if (t.count - (ctx.cluster.cache.topics.get(t.name)?.partitions.length ?? 0) > perRequest) {
        fail(
          ErrorCode.POLICY_VIOLATION,
          `more than max.partitions.per.request (${ctx.config.maxPartitionsPerRequest}) partitions`,
        );
        continue;
      }
      const r = await ctx.cluster.addPartitions(
        t.name,
        t.count,
        t.assignments?.map((a) => a.brokerIds) ?? null,
        req.validateOnly,
        Math.max(0, req.timeoutMs),
      );
      if (r.errorCode !== 0) fail(r.errorCode, r.message ?? "");
      else results.push({ name: t.name, errorCode: 0, errorMessage: null });
      continue;
    }
    const topic = ctx.logs.topics.get(t.name);
    if (topic === undefined || !validTopicName(t.name)) {
      fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `Topic '${t.name}' does not exist.`);
      continue;
    }
    if (t.name === OFFSETS_TOPIC) {
      fail(ErrorCode.INVALID_REQUEST, `the partitions of ${OFFSETS_TOPIC} cannot be changed`);
      continue;
    }
    const current = topic.partitions.length;
    if (t.count < current || t.count === current) {
      fail(
        ErrorCode.INVALID_PARTITIONS,
        t.count === current
          ? `Topic already has ${current} partitions.`
          : `Topic currently has ${current} partitions, which is higher than the requested ${t.count}.`,
      );
      continue;
    }
    const added = t.count - current;
    if (t.assignments !== null) {
      const bad =
        t.assignments.length !== added ||
        t.assignments.some((a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.config.brokerId);
      if (bad) {
        fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `give ${added} assignment(s), each of broker ${ctx.config.brokerId} alone (a single broker, no replicas)`,
        );
        continue;
      }
    }
    const tooMany = partitionLimitProblem(ctx, added, perRequest);
    if (tooMany !== null) {
      fail(ErrorCode.POLICY_VIOLATION, tooMany);
      continue;
    }
    perRequest -= added;
    if (req.validateOnly) {
      results.push({ name: t.name, errorCode: 0, errorMessage: null });
      continue;
    }
    try {
      await ctx.logs.addPartitions(t.name, t.count);
      ctx.logger.limited("partitions added", `topic ${t.name} now has ${t.count} partition(s)`);
      results.push({ name: t.name, errorCode: 0, errorMessage: null });
    } catch (e) {
      if (e instanceof PartitionLimitError) fail(ErrorCode.POLICY_VIOLATION, e.message);
      else {
        ctx.logger.limited("create failed", `adding partitions to ${t.name} failed: ${(e as Error).message}`);
        fail(ErrorCode.UNKNOWN_SERVER_ERROR, (e as Error).message);
      }
    }
  }
  return { throttleTimeMs: 0, results };
}
