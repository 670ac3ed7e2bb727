// The APIs around the log: ApiVersions, Metadata, FindCoordinator, ListOffsets, CreateTopics,
// DeleteTopics. Single broker: this broker leads every partition, is the controller and the
// coordinator. (Config APIs: configs.ts.)

import type { CachedTopic } from "../../cluster/metadata_cache.ts";
import type { ClusterNode } from "../../cluster/node.ts";
import { ZK_NODE_EXISTS, ZkError } from "../../cluster/zookeeper.ts";
import { randomTopicId } from "../../log/partition_metadata.ts";
import { validTopicName } from "../../log/segment_files.ts";
import type { ApiVersionsResponse } from "../../protocol/api_versions.ts";
import type {
  CreatableTopicResult,
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/create_topics.ts";
import type { DeleteTopicsRequest, DeleteTopicsResponse } from "../../protocol/delete_topics.ts";
import { clipMessage, ErrorCode } from "../../protocol/error_codes.ts";
import type { FindCoordinatorRequest, FindCoordinatorResponse } from "../../protocol/find_coordinator.ts";
import {
  type ListOffsetsPartitionResponse,
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  ListOffsetsTimestamp,
} from "../../protocol/list_offsets.ts";
import type { MetadataRequest, MetadataResponse, MetadataTopic } from "../../protocol/metadata.ts";
import { decodeBatch } from "../../protocol/records.ts";
import { type AnyApiCodec, apiVersionsKeys } from "../../protocol/registry.ts";
import type { RequestContext } from "../../transport/connection.ts";
import { authorizedOperations } from "../authorized_operations.ts";
import { autoCreateBudget, type BrokerContext } from "../context.ts";
import { offsetsPartitionFor } from "../groups/offsets_records.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";
import { isInternalTopic } from "../internal_topic.ts";
import { PartitionLimitError, type TopicEntry } from "../log_manager.ts";
import { AclOperation, allowed, allowedOnCluster, ResourceType } from "../security/access.ts";
import { checkOverrides, TopicConfigError } from "../topic_configs.ts";
import { TRANSACTION_STATE_TOPIC, transactionPartitionFor } from "../txn/transaction_log.ts";
import { topicConfigEntries } from "./configs.ts";
import { lastStableOffset } from "./fetch.ts";

export function handleApiVersions(served: readonly AnyApiCodec[]): ApiVersionsResponse {
  return { errorCode: 0, apiKeys: apiVersionsKeys(served), throttleTimeMs: 0 };
}

/** The leader epoch of every partition until clustering (issue 10) brings elections. */
export const LEADER_EPOCH = 0;

const NO_TOPIC_ID = new Uint8Array(16);

function isZeroId(id: Uint8Array): boolean {
  return id.every((b) => b === 0);
}

function topicMetadata(ctx: BrokerContext, t: TopicEntry, topicOps: number): MetadataTopic {
  const id = ctx.config.brokerId;
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.topicId,
    isInternal: isInternalTopic(t.name),
    // A partition that did not open at start (LogManager.unopened) has no leader: Kafka's answer
    // for a partition whose only replica is offline.
    partitions: Array.from(t.partitions, (p, i) =>
      p === undefined
        ? {
            errorCode: ErrorCode.LEADER_NOT_AVAILABLE,
            partitionIndex: i,
            leaderId: -1,
            leaderEpoch: LEADER_EPOCH,
            replicaNodes: [id],
            isrNodes: [],
            offlineReplicas: [id],
          }
        : {
            errorCode: ctx.logs.isOffline(p) ? ErrorCode.KAFKA_STORAGE_ERROR : 0,
            partitionIndex: p.partition,
            leaderId: id,
            leaderEpoch: LEADER_EPOCH,
            replicaNodes: [id],
            isrNodes: [id],
            offlineReplicas: ctx.logs.isOffline(p) ? [id] : [],
          },
    ),
    topicAuthorizedOperations: topicOps,
  };
}

/** A topic Metadata cannot describe: its error, and whichever of name and id the client gave. */
function topicError(
  errorCode: number,
  name: string | null,
  topicId: Uint8Array,
  topicOps: number,
): MetadataTopic {
  return { errorCode, name, topicId, isInternal: false, partitions: [], topicAuthorizedOperations: topicOps };
}

/** The listener the client came in on, as advertised: it reconnects over the same transport. */
export function advertisedFor(ctx: BrokerContext, rc: RequestContext): { host: string; port: number } {
  const c = ctx.config;
  const l = c.advertised.find((a) => a.name === rc.connection.sink.listener) ?? c.advertised[0];
  return { host: l.host === "0.0.0.0" ? "127.0.0.1" : l.host, port: l.port };
}

/**
 * FindCoordinator: key type 0 a group's coordinator, 1 a transactional id's. On a single broker
 * it is this broker; in a cluster the leader of the key's partition of __consumer_offsets or
 * __transaction_state, on the client's listener. Share groups (2) have none. v0-3 ask for one
 * key, v4+ for many (coordinators).
 */
export function handleFindCoordinator(
  ctx: BrokerContext,
  req: FindCoordinatorRequest,
  rc: RequestContext,
): FindCoordinatorResponse {
  const { host, port } = advertisedFor(ctx, rc);
  const cluster = ctx.cluster;
  const here = (key: string, topic: string, p: number) => {
    if (cluster === null)
      return { key, nodeId: ctx.config.brokerId, host, port, errorCode: 0, errorMessage: null };
    const leader = cluster.cache.partition(topic, p)?.leader ?? -1;
    const e = leader >= 0 ? cluster.cache.endpoint(leader, rc.connection.sink.listener) : undefined;
    if (e === undefined)
      return {
        key,
        nodeId: -1,
        host: "",
        port: -1,
        errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
        errorMessage: `${topic} partition ${p} has no leader yet`,
      };
    return {
      key,
      nodeId: leader,
      host: e.host === "0.0.0.0" ? "127.0.0.1" : e.host,
      port: e.port,
      errorCode: 0,
      errorMessage: null,
    };
  };
  const find = (key: string) =>
    // Kafka's ACLs: DESCRIBE on the group or the transactional id.
    (req.keyType === 0 || req.keyType === 1) &&
    !allowed(
      ctx,
      rc,
      AclOperation.DESCRIBE,
      req.keyType === 0 ? ResourceType.GROUP : ResourceType.TRANSACTIONAL_ID,
      key,
    )
      ? {
          key,
          nodeId: -1,
          host: "",
          port: -1,
          errorCode:
            req.keyType === 0
              ? ErrorCode.GROUP_AUTHORIZATION_FAILED
              : ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
          errorMessage: null,
        }
      : req.keyType === 0
        ? here(key, OFFSETS_TOPIC, offsetsPartitionFor(key, ctx.config.offsetsTopicPartitions))
        : req.keyType === 1
          ? here(
              key,
              TRANSACTION_STATE_TOPIC,
              transactionPartitionFor(key, ctx.config.transactionStateLogPartitions),
            )
          : {
              key,
              nodeId: -1,
              host: "",
              port: -1,
              errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
              errorMessage: `key type ${req.keyType} has no coordinator here: only groups (0) and transactions (1) do`,
            };
  if (rc.header.apiVersion >= 4)
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      nodeId: -1,
      host: "",
      port: -1,
      coordinators: req.coordinatorKeys.map(find),
    };
  const { key: _key, ...one } = find(req.key);
  return { throttleTimeMs: 0, ...one, coordinators: [] };
}

/** A topic as a ZooKeeper cluster's controller last described it (the metadata cache). */
function cachedTopicMetadata(t: CachedTopic, topicOps: number): MetadataTopic {
  return {
    errorCode: 0,
    name: t.name,
    topicId: t.topicId,
    isInternal: isInternalTopic(t.name),
    partitions: t.partitions.flatMap((p, i) =>
      p === undefined
        ? []
        : [
            {
              errorCode: p.leader < 0 ? ErrorCode.LEADER_NOT_AVAILABLE : 0,
              partitionIndex: i,
              leaderId: p.leader,
              leaderEpoch: p.leaderEpoch,
              replicaNodes: p.replicas,
              isrNodes: p.isr,
              offlineReplicas: p.offlineReplicas,
            },
          ],
    ),
    topicAuthorizedOperations: topicOps,
  };
}

/**
 * Metadata in a cluster: every live broker with its endpoint on the listener the client came in
 * on (a WebSocket client gets WebSocket endpoints), each partition's leader, replicas, ISR and
 * offline replicas, the controller: all from the controller's last UpdateMetadata.
 */
async function clusterMetadata(
  ctx: BrokerContext,
  cluster: ClusterNode,
  req: MetadataRequest,
  version: number,
  rc: RequestContext,
): Promise<MetadataResponse> {
  const cache = cluster.cache;
  const listener = rc.connection.sink.listener;
  const topicOps = authorizedOperations("topic", req.includeTopicAuthorizedOperations);
  const budget = autoCreateBudget(ctx.config);
  const topics: MetadataTopic[] = [];
  if (req.topics === null || (version === 0 && req.topics.length === 0)) {
    for (const t of cache.topics.values()) topics.push(cachedTopicMetadata(t, topicOps));
  } else {
    for (const asked of req.topics) {
      const name = asked.name;
      if (version < 12 && (name === null || !isZeroId(asked.topicId))) {
        topics.push(topicError(ErrorCode.INVALID_REQUEST, name ?? "", asked.topicId, topicOps));
        continue;
      }
      if (name === null) {
        const byId = isZeroId(asked.topicId) ? undefined : cache.topicById(asked.topicId);
        if (byId !== undefined) topics.push(cachedTopicMetadata(byId, topicOps));
        else
          topics.push(
            topicError(
              isZeroId(asked.topicId) ? ErrorCode.INVALID_REQUEST : ErrorCode.UNKNOWN_TOPIC_ID,
              null,
              asked.topicId,
              topicOps,
            ),
          );
        continue;
      }
      let t = cache.topics.get(name);
      if (t === undefined && req.allowAutoTopicCreation) {
        const created = ctx.autoCreate(name, budget);
        if (created !== null) {
          const code = await created;
          if (code !== 0) {
            topics.push(topicError(code, name, NO_TOPIC_ID, topicOps));
            continue;
          }
          t = cache.topics.get(name);
        }
      }
      if (t === undefined) {
        const code = !validTopicName(name)
          ? ErrorCode.INVALID_TOPIC_EXCEPTION
          : (await cluster.topicExists(name))
            ? ErrorCode.LEADER_NOT_AVAILABLE
            : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        topics.push(topicError(code, name, NO_TOPIC_ID, topicOps));
      } else topics.push(cachedTopicMetadata(t, topicOps));
    }
  }
  const brokers = [...cache.brokers.values()].flatMap((b) => {
    const e = cache.endpoint(b.id, listener);
    return e === undefined
      ? []
      : [{ nodeId: b.id, host: e.host === "0.0.0.0" ? "127.0.0.1" : e.host, port: e.port, rack: b.rack }];
  });
  if (brokers.length === 0) {
    const { host, port } = advertisedFor(ctx, rc);
    brokers.push({ nodeId: ctx.config.brokerId, host, port, rack: ctx.config.brokerRack });
  }
  return {
    throttleTimeMs: 0,
    brokers,
    clusterId: cluster.clusterId,
    controllerId: cache.controllerId,
    topics,
    clusterAuthorizedOperations: authorizedOperations("cluster", req.includeClusterAuthorizedOperations),
  };
}

export async function handleMetadata(
  ctx: BrokerContext,
  req: MetadataRequest,
  version: number,
  rc: RequestContext,
): Promise<MetadataResponse> {
  if (ctx.cluster !== null) return clusterMetadata(ctx, ctx.cluster, req, version, rc);
  const c = ctx.config;
  const { host, port } = advertisedFor(ctx, rc);
  const topics: MetadataTopic[] = [];
  const budget = autoCreateBudget(c);
  const topicOps = authorizedOperations("topic", req.includeTopicAuthorizedOperations);
  // Kafka's ACLs: a topic without DESCRIBE is left out of an all-topics answer, and answered
  // TOPIC_AUTHORIZATION_FAILED when named (before whether it exists: nothing leaks).
  const describable = (name: string) => allowed(ctx, rc, AclOperation.DESCRIBE, ResourceType.TOPIC, name);
  // v0 has no null: its empty list means every topic.
  if (req.topics === null || (version === 0 && req.topics.length === 0)) {
    for (const t of ctx.logs.topics.values())
      if (describable(t.name)) topics.push(topicMetadata(ctx, t, topicOps));
  } else {
    for (const asked of req.topics) {
      const name = asked.name;
      // Below v12 a topic is named, never asked by id (Kafka answers INVALID_REQUEST; the answer
      // cannot carry a null name before v12).
      if (version < 12 && (name === null || !isZeroId(asked.topicId))) {
        topics.push(topicError(ErrorCode.INVALID_REQUEST, name ?? "", asked.topicId, topicOps));
        continue;
      }
      if (name === null) {
        // v12: a topic asked for by its id alone.
        const byId = isZeroId(asked.topicId) ? undefined : ctx.logs.topicById(asked.topicId);
        if (byId !== undefined) topics.push(topicMetadata(ctx, byId, topicOps));
        else
          topics.push(
            topicError(
              isZeroId(asked.topicId) ? ErrorCode.INVALID_REQUEST : ErrorCode.UNKNOWN_TOPIC_ID,
              null,
              asked.topicId,
              topicOps,
            ),
          );
        continue;
      }
      if (!describable(name)) {
        topics.push(topicError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, NO_TOPIC_ID, topicOps));
        continue;
      }
      let t = ctx.logs.topics.get(name);
      const mayCreate =
        allowedOnCluster(ctx, rc, AclOperation.CREATE) ||
        allowed(ctx, rc, AclOperation.CREATE, ResourceType.TOPIC, name);
      if (t === undefined && req.allowAutoTopicCreation && !mayCreate) {
        topics.push(topicError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, name, NO_TOPIC_ID, topicOps));
        continue;
      }
      if (t === undefined && req.allowAutoTopicCreation) {
        // Any client requesting metadata for a topic creates it (auto.create.topics.enable).
        const created = ctx.autoCreate(name, budget);
        if (created !== null) {
          const code = await created;
          if (code !== 0) {
            topics.push(topicError(code, name, NO_TOPIC_ID, topicOps));
            continue;
          }
          t = ctx.logs.topics.get(name);
        }
      }
      if (t === undefined) {
        const code = validTopicName(name)
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : ErrorCode.INVALID_TOPIC_EXCEPTION;
        topics.push(topicError(code, name, NO_TOPIC_ID, topicOps));
      } else topics.push(topicMetadata(ctx, t, topicOps));
    }
  }
  return {
    throttleTimeMs: 0,
    brokers: [
      {
        nodeId: c.brokerId,
        host,
        port,
        rack: null,
      },
    ],
    clusterId: ctx.logs.clusterId,
    controllerId: c.brokerId,
    topics,
    clusterAuthorizedOperations: authorizedOperations("cluster", req.includeClusterAuthorizedOperations),
  };
}

/** Kafka's check of a request's current leader epoch (-1: the client does not say). */
export function leaderEpochProblem(currentLeaderEpoch: number): number {
  if (currentLeaderEpoch < 0 || currentLeaderEpoch === LEADER_EPOCH) return ErrorCode.NONE;
  return currentLeaderEpoch > LEADER_EPOCH ? ErrorCode.UNKNOWN_LEADER_EPOCH : ErrorCode.FENCED_LEADER_EPOCH;
}

export async function handleListOffsets(
  ctx: BrokerContext,
  req: ListOffsetsRequest,
  version: number,
): Promise<ListOffsetsResponse> {
  const topics = [];
  for (const t of req.topics) {
    const partitions: ListOffsetsPartitionResponse[] = [];
    for (const p of t.partitions) {
      const out: ListOffsetsPartitionResponse = {
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        oldStyleOffsets: [],
        timestamp: -1,
        offset: -1,
        leaderEpoch: -1,
      };
      partitions.push(out);
      const e = ctx.logs.partitionOf(t.name, p.partitionIndex);
      if (e === undefined) {
        out.errorCode =
          ctx.cluster?.cache.partition(t.name, p.partitionIndex) !== undefined
            ? ErrorCode.NOT_LEADER_OR_FOLLOWER
            : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      if (ctx.logs.isOffline(e)) {
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        continue;
      }
      const cluster = ctx.cluster;
      out.errorCode =
        cluster === null
          ? leaderEpochProblem(p.currentLeaderEpoch)
          : cluster.replicas.leaderProblem(e, p.currentLeaderEpoch);
      if (out.errorCode !== 0) continue;
      if (
        p.timestamp === ListOffsetsTimestamp.EARLIEST ||
        p.timestamp === ListOffsetsTimestamp.EARLIEST_LOCAL
      )
        out.offset = ctx.logs.logStartOffset(e);
      else if (p.timestamp === ListOffsetsTimestamp.LATEST) {
        // In a cluster consumers see up to the high watermark (read_uncommitted's latest);
        // read_committed ones to the last stable offset.
        const hw = cluster === null ? e.reader.logEndOffset : cluster.replicas.highWatermark(e);
        out.offset = req.isolationLevel === 1 ? lastStableOffset(ctx, e, hw) : hw;
      } else if (p.timestamp === ListOffsetsTimestamp.LATEST_TIERED) {
        // No tiered storage: nothing is tiered (Kafka's answer without remote storage).
      } else if (p.timestamp === ListOffsetsTimestamp.MAX_TIMESTAMP) {
        const found = await e.reader.findMaxTimestampBatch();
        if (found !== null) {
          // The first record holding the batch's (the log's) largest timestamp.
          const records = decodeBatch(found.batch);
          let best = records[0];
          for (const r of records) if (r.timestamp > best.timestamp) best = r;
          if (best !== undefined) {
            out.offset = best.offset;
            out.timestamp = best.timestamp;
          }
        }
      } else if (p.timestamp < 0) {
        out.errorCode = ErrorCode.INVALID_REQUEST;
      } else {
        // The first record with timestamp >= the one asked; none: offset -1 (Kafka's answer).
        const found = await e.reader.findBatchByTimestamp(p.timestamp);
        if (found !== null) {
          const rec = decodeBatch(found.batch).find((r) => r.timestamp >= p.timestamp);
          if (rec) {
            out.offset = rec.offset;
            out.timestamp = rec.timestamp;
          }
        }
      }
      if (out.offset >= 0)
        out.leaderEpoch = cluster === null ? LEADER_EPOCH : cluster.replicas.leaderEpoch(e);
      // v0 answers a list of offsets (max_num_offsets): the one found, as v1+ do.
      if (version === 0 && out.offset >= 0) out.oldStyleOffsets = [out.offset];
    }
    topics.push({ name: t.name, partitions });
  }
  return { throttleTimeMs: 0, topics };
}

/**
 * Why a request that may still create `perRequest` partitions cannot create `added` more
 * (max.partitions.per.request, then max.broker.partitions), or null: CreateTopics' and
 * CreatePartitions' POLICY_VIOLATION message.
 */
export function partitionLimitProblem(ctx: BrokerContext, added: number, perRequest: number): string | null {
  if (added > perRequest) {
    return `Excessively large number of partitions per request: ${added} more would pass max.partitions.per.request (${ctx.config.maxPartitionsPerRequest}).`;
  }
  return ctx.logs.partitionRoomProblem(added);
}

export async function handleCreateTopics(
  ctx: BrokerContext,
  req: CreateTopicsRequest,
): Promise<CreateTopicsResponse> {
  const topics: CreatableTopicResult[] = [];
  const seen = new Set<string>();
  /** Partitions this request may still create (max.partitions.per.request, Kafka's controller limit). */
  let perRequest = ctx.config.maxPartitionsPerRequest;
  for (const t of req.topics) {
    let replicationFactor = 1;
    // v5+ answer the partitions, replication and configs the topic has (or would have); -1 and
    // none on an error, Kafka's defaults.
    const fail = (errorCode: number, errorMessage: string) =>
      topics.push({
        name: t.name,
        topicId: NO_TOPIC_ID,
        errorCode,
        errorMessage: clipMessage(errorMessage),
        numPartitions: -1,
        replicationFactor: -1,
        configs: [],
      });
    const created = (topicId: Uint8Array, overrides: ReadonlyMap<string, string>) =>
      topics.push({
        name: t.name,
        topicId,
        errorCode: 0,
        errorMessage: null,
        numPartitions: partitions,
        replicationFactor,
        configs: topicConfigEntries(ctx.config, overrides, null, false).map((e) => ({
          name: e.name,
          value: e.value,
          readOnly: e.readOnly,
          configSource: e.configSource,
          isSensitive: e.isSensitive,
        })),
      });
    if (seen.has(t.name)) {
      fail(ErrorCode.INVALID_REQUEST, `topic ${t.name} appears twice in the request`);
      continue;
    }
    seen.add(t.name);
    if (!validTopicName(t.name)) {
      fail(
        ErrorCode.INVALID_TOPIC_EXCEPTION,
        `"${t.name}" is not a valid topic name: 1-249 characters of [a-zA-Z0-9._-]`,
      );
      continue;
    }
    if (
      ctx.cluster !== null
        ? await ctx.cluster.topicExists(t.name)
        : ctx.logs.topics.has(t.name) || ctx.logs.creating.has(t.name)
    ) {
      fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
      continue;
    }
    if (ctx.logs.deleting.has(t.name)) {
      fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' is marked for deletion.`);
      continue;
    }
    let partitions = t.numPartitions;
    const cluster = ctx.cluster;
    if (cluster !== null) {
      const r = await clusterCreate(ctx, cluster, t, req.validateOnly, req.timeoutMs);
      if ("errorCode" in r) fail(r.errorCode, r.message);
      else {
        partitions = r.partitions;
        replicationFactor = r.replicationFactor;
        created(r.topicId, r.overrides);
      }
      continue;
    }
    if (t.assignments.length > 0) {
      if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
        fail(
          ErrorCode.INVALID_REQUEST,
          "give either assignments or numPartitions/replicationFactor, not both",
        );
        continue;
      }
      const bad = t.assignments.find(
        (a) => a.brokerIds.length !== 1 || a.brokerIds[0] !== ctx.config.brokerId,
      );
      if (bad) {
        fail(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `this is a single broker (id ${ctx.config.brokerId}): every partition must be assigned to it alone`,
        );
        continue;
      }
      partitions = t.assignments.length;
    } else {
      if (partitions === -1) partitions = ctx.config.numPartitions;
      if (partitions <= 0) {
        fail(
          ErrorCode.INVALID_PARTITIONS,
          `Number of partitions must be larger than 0, got ${t.numPartitions}.`,
        );
        continue;
      }
      if (t.replicationFactor > 1) {
        fail(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Replication factor: ${t.replicationFactor} larger than available brokers: 1 (clustering is not built yet).`,
        );
        continue;
      }
      if (t.replicationFactor === 0 || t.replicationFactor < -1) {
        fail(
          ErrorCode.INVALID_REPLICATION_FACTOR,
          `Replication factor must be larger than 0, got ${t.replicationFactor}.`,
        );
        continue;
      }
    }
    let overrides: Map<string, string>;
    try {
      overrides = checkOverrides(t.configs.map((c) => [c.name, c.value]));
    } catch (e) {
      if (!(e instanceof TopicConfigError)) throw e;
      fail(ErrorCode.INVALID_CONFIG, e.message);
      continue;
    }
    const tooMany = partitionLimitProblem(ctx, partitions, perRequest);
    if (tooMany !== null) {
      fail(ErrorCode.POLICY_VIOLATION, tooMany);
      continue;
    }
    perRequest -= partitions;
    if (req.validateOnly) {
      created(NO_TOPIC_ID, overrides);
      continue;
    }
    try {
      const entry = await ctx.logs.createTopic(t.name, partitions, overrides);
      ctx.logger.limited("created topic", `created topic ${t.name} with ${partitions} partition(s)`);
      created(entry.topicId, overrides);
    } catch (e) {
      if (e instanceof PartitionLimitError) fail(ErrorCode.POLICY_VIOLATION, e.message);
      else {
        ctx.logger.limited("create failed", `creating topic ${t.name} failed: ${(e as Error).message}`);
        fail(ErrorCode.UNKNOWN_SERVER_ERROR, (e as Error).message);
      }
    }
  }
  return { throttleTimeMs: 0, topics };
}

/**
 * CreateTopics in a ZooKeeper cluster: the replication factor up to the live brokers
 * (default.replication.factor when -1), Kafka's round-robin assignment or the one given (every
 * broker live, no broker twice in a partition, one replication factor), written to ZooKeeper;
 * the controller elects the leaders. Answered once this broker's metadata has them, or when the
 * request's timeout passes (REQUEST_TIMED_OUT, the topic still being created).
 */
export async function clusterCreate(
  ctx: BrokerContext,
  cluster: ClusterNode,
  t: CreateTopicsRequest["topics"][number],
  validateOnly: boolean,
  timeoutMs: number,
): Promise<
  | { errorCode: number; message: string }
  | { partitions: number; replicationFactor: number; topicId: Uint8Array; overrides: Map<string, string> }
> {
  let overrides: Map<string, string>;
  try {
    overrides = checkOverrides(t.configs.map((c) => [c.name, c.value]));
  } catch (e) {
    if (!(e instanceof TopicConfigError)) throw e;
    return { errorCode: ErrorCode.INVALID_CONFIG, message: e.message };
  }
  const live = await cluster.liveBrokers();
  let assignment: number[][];
  if (t.assignments.length > 0) {
    if (t.numPartitions !== -1 || t.replicationFactor !== -1)
      return {
        errorCode: ErrorCode.INVALID_REQUEST,
        message: "give either assignments or numPartitions/replicationFactor, not both",
      };
    const sorted = [...t.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
    if (sorted.some((a, i) => a.partitionIndex !== i))
      return {
        errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
        message: "partitions must be numbered 0 to n-1",
      };
    assignment = sorted.map((a) => a.brokerIds);
    const rf = assignment[0].length;
    for (const r of assignment) {
      if (r.length === 0 || r.length !== rf)
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: "every partition needs the same, non-zero number of replicas",
        };
      if (new Set(r).size !== r.length)
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: `duplicate broker in ${r.join(",")}`,
        };
      const gone = r.find((b) => !live.includes(b));
      if (gone !== undefined)
        return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `broker ${gone} is not alive` };
    }
  } else {
    const partitions = t.numPartitions === -1 ? ctx.config.numPartitions : t.numPartitions;
    if (partitions <= 0)
      return {
        errorCode: ErrorCode.INVALID_PARTITIONS,
        message: `Number of partitions must be larger than 0, got ${t.numPartitions}.`,
      };
    const rf = t.replicationFactor === -1 ? ctx.config.defaultReplicationFactor : t.replicationFactor;
    if (rf <= 0)
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: `Replication factor must be larger than 0, got ${t.replicationFactor}.`,
      };
    if (rf > live.length)
      return {
        errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
        message: `Replication factor: ${rf} larger than available brokers: ${live.length}.`,
      };
    assignment = cluster.assign(live, partitions, rf);
  }
  if (assignment.length > ctx.config.maxPartitionsPerRequest)
    return {
      errorCode: ErrorCode.POLICY_VIOLATION,
      message: `Excessively large number of partitions per request: ${assignment.length} would pass max.partitions.per.request (${ctx.config.maxPartitionsPerRequest}).`,
    };
  const topicId = randomTopicId();
  const done = { partitions: assignment.length, replicationFactor: assignment[0].length, overrides };
  if (validateOnly) return { ...done, topicId: NO_TOPIC_ID };
  try {
    const ready = await cluster.createTopic(t.name, assignment, overrides, topicId, Math.max(0, timeoutMs));
    if (!ready && timeoutMs > 0)
      return {
        errorCode: ErrorCode.REQUEST_TIMED_OUT,
        message: `topic ${t.name} is being created; its leaders were not elected within ${timeoutMs} ms`,
      };
  } catch (e) {
    if (e instanceof ZkError && e.code === ZK_NODE_EXISTS)
      return { errorCode: ErrorCode.TOPIC_ALREADY_EXISTS, message: `Topic '${t.name}' already exists.` };
    ctx.logger.limited("create failed", `creating topic ${t.name} failed: ${(e as Error).message}`);
    return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, message: (e as Error).message };
  }
  ctx.logger.limited(
    "created topic",
    `created topic ${t.name} with ${assignment.length} partition(s), replication factor ${assignment[0].length}`,
  );
  return { ...done, topicId };
}

export async function handleDeleteTopics(
  ctx: BrokerContext,
  req: DeleteTopicsRequest,
  version: number,
): Promise<DeleteTopicsResponse> {
  const responses: DeleteTopicsResponse["responses"] = [];
  const answer = (
    name: string | null,
    topicId: Uint8Array,
    errorCode: number,
    errorMessage: string | null = null,
  ) => responses.push({ name, topicId, errorCode, errorMessage });
  // v0-5 name the topics; v6 names them or gives their ids (a name wins when both are given).
  const asked = version >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: NO_TOPIC_ID }));
  // v6: a topic by name or by id, not both, and each once (Kafka's INVALID_REQUEST).
  const names = new Map<string, number>();
  const ids = new Map<string, number>();
  for (const a of asked) {
    if (a.name !== null) names.set(a.name, (names.get(a.name) ?? 0) + 1);
    if (!isZeroId(a.topicId))
      ids.set(
        Buffer.from(a.topicId).toString("hex"),
        (ids.get(Buffer.from(a.topicId).toString("hex")) ?? 0) + 1,
      );
  }
  for (const a of asked) {
    let name = a.name;
    if (version >= 6) {
      const id = Buffer.from(a.topicId).toString("hex");
      let problem: string | null = null;
      if (name !== null && !isZeroId(a.topicId))
        problem = "You may not specify both topic name and topic id.";
      else if (name !== null && (names.get(name) ?? 0) > 1) problem = "Duplicate topic name.";
      else if (name === null && (ids.get(id) ?? 0) > 1) problem = "Duplicate topic id.";
      if (problem !== null) {
        answer(name, a.topicId, ErrorCode.INVALID_REQUEST, problem);
        continue;
      }
    }
    const cluster = ctx.cluster;
    if (name === null) {
      const t = isZeroId(a.topicId)
        ? undefined
        : (cluster?.cache.topicById(a.topicId) ?? ctx.logs.topicById(a.topicId));
      if (t === undefined) {
        answer(null, a.topicId, isZeroId(a.topicId) ? ErrorCode.INVALID_REQUEST : ErrorCode.UNKNOWN_TOPIC_ID);
        continue;
      }
      name = t.name;
    }
    if (cluster !== null) {
      // In a cluster: marked in ZooKeeper; the controller deletes it on every replica.
      const t = cluster.cache.topics.get(name);
      if (!ctx.config.deleteTopicEnable)
        answer(name, a.topicId, ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
      else if (t === undefined) answer(name, a.topicId, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      else if (isInternalTopic(name)) answer(name, t.topicId, ErrorCode.INVALID_TOPIC_EXCEPTION);
      else {
        const topic = name;
        await cluster.deleteTopic(topic);
        const gone = await cluster.cache.waitFor(
          () => !cluster.cache.topics.has(topic),
          Math.max(0, req.timeoutMs),
        );
        if (gone) ctx.logger.limited("deleted topic", `deleted topic ${topic}`);
        answer(topic, t.topicId, gone ? 0 : ErrorCode.REQUEST_TIMED_OUT);
      }
      continue;
    }
    const t = ctx.logs.topics.get(name);
    if (!ctx.config.deleteTopicEnable)
      answer(name, a.topicId, ErrorCode.TOPIC_DELETION_DISABLED, "Topic deletion is disabled.");
    else if (t === undefined) answer(name, a.topicId, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    else if (isInternalTopic(name)) answer(name, t.topicId, ErrorCode.INVALID_TOPIC_EXCEPTION);
    else {
      // Its committed offsets go with it (tombstones in __consumer_offsets).
      const topic = name;
      await ctx.logs.deleteTopic(topic, () => ctx.topicDeleted(topic));
      ctx.logger.limited("deleted topic", `deleted topic ${topic}`);
      answer(topic, t.topicId, 0);
    }
  }
  return { throttleTimeMs: 0, responses };
}
