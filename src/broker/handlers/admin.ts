// The APIs around the log: ApiVersions, Metadata, ListOffsets, CreateTopics, DeleteTopics,
// DescribeConfigs. Single broker: this broker leads every partition and is the controller.

import { validTopicName } from "../../log/segment_files.ts";
import type { ApiVersionsResponse } from "../../protocol/api_versions.ts";
import type {
  CreatableTopicResult,
  CreateTopicsRequest,
  CreateTopicsResponse,
} from "../../protocol/create_topics.ts";
import type { DeleteTopicsRequest, DeleteTopicsResponse } from "../../protocol/delete_topics.ts";
import type {
  DescribeConfigsRequest,
  DescribeConfigsResourceResult,
  DescribeConfigsResponse,
  DescribeConfigsResult,
} from "../../protocol/describe_configs.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  ListOffsetsPartitionResponse,
  ListOffsetsRequest,
  ListOffsetsResponse,
} from "../../protocol/list_offsets.ts";
import type { MetadataRequest, MetadataResponse, MetadataTopic } from "../../protocol/metadata.ts";
import { decodeBatch } from "../../protocol/records.ts";
import { apiVersionsKeys } from "../../protocol/registry.ts";
import type { RequestContext } from "../../transport/connection.ts";
import { KEYS } from "../config.ts";
import type { BrokerContext } from "../context.ts";
import type { TopicEntry } from "../log_manager.ts";
import { TOPIC_CONFIGS } from "../topic_configs.ts";

export function handleApiVersions(): ApiVersionsResponse {
  return { errorCode: 0, apiKeys: apiVersionsKeys(), throttleTimeMs: 0 };
}

function topicMetadata(ctx: BrokerContext, t: TopicEntry): MetadataTopic {
  const id = ctx.config.brokerId;
  return {
    errorCode: 0,
    name: t.name,
    isInternal: false,
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

export async function handleMetadata(
  ctx: BrokerContext,
  req: MetadataRequest,
  version: number,
  rc: RequestContext,
): Promise<MetadataResponse> {
  const c = ctx.config;
  // Advertise the listener the client came in on, so it reconnects over the same transport.
  const listener = c.advertised.find((l) => l.name === rc.connection.sink.listener) ?? c.advertised[0];
  const topics: MetadataTopic[] = [];
  if (req.topics === null) {
    for (const t of ctx.logs.topics.values()) topics.push(topicMetadata(ctx, t));
  } else {
    for (const name of req.topics) {
      let t = ctx.logs.topics.get(name);
      if (t === undefined && (version < 4 || req.allowAutoTopicCreation)) {
        // Any client requesting metadata for a topic creates it (auto.create.topics.enable).
        const created = ctx.autoCreate(name);
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
        host: listener.host === "0.0.0.0" ? "127.0.0.1" : listener.host,
        port: listener.port,
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

export async function handleCreateTopics(
  ctx: BrokerContext,
  req: CreateTopicsRequest,
): Promise<CreateTopicsResponse> {
  const topics: CreatableTopicResult[] = [];
  const seen = new Set<string>();
  for (const t of req.topics) {
    const fail = (errorCode: number, errorMessage: string) =>
      topics.push({ name: t.name, errorCode, errorMessage });
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
    const unknown = t.configs.find((c) => !TOPIC_CONFIGS.some((d) => d.name === c.name));
    if (unknown) {
      fail(ErrorCode.INVALID_CONFIG, `Unknown topic config name: ${unknown.name}`);
      continue;
    }
    if (t.configs.length > 0) {
      fail(
        ErrorCode.INVALID_CONFIG,
        "per-topic config overrides are not supported yet; set them on the broker",
      );
      continue;
    }
    if (req.validateOnly) {
      topics.push({ name: t.name, errorCode: 0, errorMessage: null });
      continue;
    }
    try {
      await ctx.logs.createTopic(t.name, partitions);
      ctx.log(`created topic ${t.name} with ${partitions} partition(s)`);
      topics.push({ name: t.name, errorCode: 0, errorMessage: null });
    } catch (e) {
      fail(ErrorCode.UNKNOWN_SERVER_ERROR, (e as Error).message);
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
    else {
      await ctx.logs.deleteTopic(name);
      ctx.log(`deleted topic ${name}`);
      responses.push({ name, errorCode: 0 });
    }
  }
  return { throttleTimeMs: 0, responses };
}

// Kafka's ConfigResource.Type and DescribeConfigsResponse ConfigSource values.
const RESOURCE_TOPIC = 2;
const RESOURCE_BROKER = 4;
const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

export function handleDescribeConfigs(
  ctx: BrokerContext,
  req: DescribeConfigsRequest,
  version: number,
): DescribeConfigsResponse {
  const c = ctx.config;
  const results: DescribeConfigsResult[] = [];
  for (const r of req.resources) {
    const result: DescribeConfigsResult = {
      errorCode: 0,
      errorMessage: null,
      resourceType: r.resourceType,
      resourceName: r.resourceName,
      configs: [],
    };
    results.push(result);
    const wanted = (name: string) => r.configurationKeys === null || r.configurationKeys.includes(name);
    if (r.resourceType === RESOURCE_BROKER) {
      if (r.resourceName !== "" && r.resourceName !== String(c.brokerId)) {
        result.errorCode = ErrorCode.INVALID_REQUEST;
        result.errorMessage = `broker ${r.resourceName} is not this broker (${c.brokerId})`;
        continue;
      }
      for (const [name] of Object.entries(KEYS)) {
        if (!wanted(name)) continue;
        const e = c.effective.get(name)!;
        const source = e.source === "static" ? SOURCE_STATIC_BROKER : SOURCE_DEFAULT;
        const entry: DescribeConfigsResourceResult = {
          name,
          value: e.value,
          readOnly: true,
          isDefault: e.source === "default",
          configSource: source,
          isSensitive: false,
          synonyms: req.includeSynonyms && version >= 1 ? [{ name, value: e.value, source }] : [],
        };
        result.configs.push(entry);
      }
    } else if (r.resourceType === RESOURCE_TOPIC) {
      if (!ctx.logs.topics.has(r.resourceName)) {
        result.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        result.errorMessage = `Topic ${r.resourceName} does not exist`;
        continue;
      }
      for (const d of TOPIC_CONFIGS) {
        if (!wanted(d.name)) continue;
        const fromBroker = d.brokerKey !== null && c.effective.get(d.brokerKey)?.source === "static";
        const source = fromBroker ? SOURCE_STATIC_BROKER : SOURCE_DEFAULT;
        const value = d.value(c);
        result.configs.push({
          name: d.name,
          value,
          readOnly: false,
          isDefault: !fromBroker,
          configSource: source,
          isSensitive: false,
          synonyms:
            req.includeSynonyms && version >= 1 && d.brokerKey !== null
              ? [{ name: d.brokerKey, value, source }]
              : [],
        });
      }
    } else {
      result.errorCode = ErrorCode.INVALID_REQUEST;
      result.errorMessage = `resource type ${r.resourceType} is not supported (2 topic, 4 broker)`;
    }
  }
  return { throttleTimeMs: 0, results };
}
