// The APIs around the log: ApiVersions, Metadata, FindCoordinator, ListOffsets, CreateTopics,
// DeleteTopics. Single broker: this broker leads every partition, is the controller and the
// coordinator. (Config APIs: configs.ts.)

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
import type {
  ListOffsetsPartitionResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../../protocol/list_offsets.ts";
import type { MetadataRequest, MetadataResponse, MetadataTopic } from "../../protocol/metadata.ts";
import { decodeBatch } from "../../protocol/records.ts";
import { type AnyApiCodec, apiVersionsKeys } from "../../protocol/registry.ts";
import type { RequestContext } from "../../transport/connection.ts";
import { autoCreateBudget, type BrokerContext } from "../context.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";
import { PartitionLimitError, type TopicEntry } from "../log_manager.ts";
import { checkOverrides, TopicConfigError } from "../topic_configs.ts";

export function handleApiVersions(served: readonly AnyApiCodec[]): ApiVersionsResponse {
  return { errorCode: 0, apiKeys: apiVersionsKeys(served), throttleTimeMs: 0 };
}

function topicMetadata(ctx: BrokerContext, t: TopicEntry): MetadataTopic {
  const id = ctx.config.brokerId;
  return {
    errorCode: 0,
    name: t.name,
    isInternal: t.name === OFFSETS_TOPIC,
    partitions: t.partitions.map((p) => ({
      errorCode: ctx.logs.isOffline(p) ? ErrorCode.KAFKA_STORAGE_ERROR : 0,
      partitionIndex: p.partition,
      leaderId: id,
      replicaNodes: [id],
      isrNodes: [id],
      offlineReplicas: ctx.logs.isOffline(p) ? [id] : [],
    })),
  };
}

/** The listener the client came in on, as advertised: it reconnects over the same transport. */
export function advertisedFor(ctx: BrokerContext, rc: RequestContext): { host: string; port: number } {
  const c = ctx.config;
  const l = c.advertised.find((a) => a.name === rc.connection.sink.listener) ?? c.advertised[0];
  return { host: l.host === "0.0.0.0" ? "127.0.0.1" : l.host, port: l.port };
}

/**
 * FindCoordinator: this broker coordinates every group. (The group APIs themselves come with
 * the consumer-group issue; transactions are not supported.)
 */
export function handleFindCoordinator(
  ctx: BrokerContext,
  req: FindCoordinatorRequest,
  rc: RequestContext,
): FindCoordinatorResponse {
  const { host, port } = advertisedFor(ctx, rc);
  if (req.keyType !== 0) {
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE,
      errorMessage: "transactions are not supported",
      nodeId: -1,
      host: "",
      port: -1,
    };
  }
  return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, nodeId: ctx.config.brokerId, host, port };
}

export async function handleMetadata(
  ctx: BrokerContext,
  req: MetadataRequest,
  version: number,
  rc: RequestContext,
): Promise<MetadataResponse> {
  const c = ctx.config;
  const { host, port } = advertisedFor(ctx, rc);
  const topics: MetadataTopic[] = [];
  const budget = autoCreateBudget(c);
  if (req.topics === null) {
    for (const t of ctx.logs.topics.values()) topics.push(topicMetadata(ctx, t));
  } else {
    for (const name of req.topics) {
      let t = ctx.logs.topics.get(name);
      if (t === undefined && (version < 4 || req.allowAutoTopicCreation)) {
        // Any client requesting metadata for a topic creates it (auto.create.topics.enable).
        const created = ctx.autoCreate(name, budget);
        if (created !== null) {
          const code = await created;
          if (code !== 0) {
            topics.push({ errorCode: code, name, isInternal: false, partitions: [] });
            continue;
          }
          t = ctx.logs.topics.get(name);
        }
      }
      if (t === undefined) {
        const code = validTopicName(name)
          ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
          : ErrorCode.INVALID_TOPIC_EXCEPTION;
        topics.push({ errorCode: code, name, isInternal: false, partitions: [] });
      } else topics.push(topicMetadata(ctx, t));
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
  };
}

export async function handleListOffsets(
  ctx: BrokerContext,
  req: ListOffsetsRequest,
): Promise<ListOffsetsResponse> {
  const topics = [];
  for (const t of req.topics) {
    const partitions: ListOffsetsPartitionResponse[] = [];
    for (const p of t.partitions) {
      const out: ListOffsetsPartitionResponse = {
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        timestamp: -1,
        offset: -1,
      };
      partitions.push(out);
      const e = ctx.logs.partitionOf(t.name, p.partitionIndex);
      if (e === undefined) {
        out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      if (ctx.logs.isOffline(e)) {
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        continue;
      }
      if (p.timestamp === -2)
        out.offset = ctx.logs.logStartOffset(e); // earliest
      else if (p.timestamp === -1)
        out.offset = e.reader.logEndOffset; // latest
      else {
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
    const fail = (errorCode: number, errorMessage: string) =>
      topics.push({ name: t.name, errorCode, errorMessage: clipMessage(errorMessage) });
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
    if (ctx.logs.topics.has(t.name) || ctx.logs.creating.has(t.name)) {
      fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' already exists.`);
      continue;
    }
    if (ctx.logs.deleting.has(t.name)) {
      fail(ErrorCode.TOPIC_ALREADY_EXISTS, `Topic '${t.name}' is marked for deletion.`);
      continue;
    }
    let partitions = t.numPartitions;
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
      topics.push({ name: t.name, errorCode: 0, errorMessage: null });
      continue;
    }
    try {
      await ctx.logs.createTopic(t.name, partitions, overrides);
      ctx.logger.limited("created topic", `created topic ${t.name} with ${partitions} partition(s)`);
      topics.push({ name: t.name, errorCode: 0, errorMessage: null });
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

export async function handleDeleteTopics(
  ctx: BrokerContext,
  req: DeleteTopicsRequest,
): Promise<DeleteTopicsResponse> {
  const responses = [];
  for (const name of req.topicNames) {
    if (!ctx.config.deleteTopicEnable)
      responses.push({ name, errorCode: 73 }); // TOPIC_DELETION_DISABLED
    else if (!ctx.logs.topics.has(name))
      responses.push({ name, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION });
    else if (name === OFFSETS_TOPIC) responses.push({ name, errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION });
    else {
      // Its committed offsets go with it (tombstones in __consumer_offsets).
      await ctx.logs.deleteTopic(name, () => ctx.topicDeleted(name));
      ctx.logger.limited("deleted topic", `deleted topic ${name}`);
      responses.push({ name, errorCode: 0 });
    }
  }
  return { throttleTimeMs: 0, responses };
}
