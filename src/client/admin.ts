// The admin client, shaped like kafkajs's: create, delete, list and describe topics; describe and
// alter configs; topic offsets. Broker error codes become typed errors (one error, or a
// MilenaAggregateError when several topics/resources fail); retriable ones (a controller move,
// a lost connection) are retried per the retry options.

import { alterConfigsCodec } from "../protocol/alter_configs.ts";
import { createPartitionsCodec } from "../protocol/create_partitions.ts";
import { createTopicsCodec } from "../protocol/create_topics.ts";
import { deleteTopicsCodec } from "../protocol/delete_topics.ts";
import { describeConfigsCodec } from "../protocol/describe_configs.ts";
import { describeLogDirsCodec } from "../protocol/describe_log_dirs.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { incrementalAlterConfigsCodec } from "../protocol/incremental_alter_configs.ts";
import { listOffsetsCodec } from "../protocol/list_offsets.ts";
import {
  alterPartitionReassignmentsCodec,
  listPartitionReassignmentsCodec,
} from "../protocol/reassignments.ts";
import * as aclAdmin from "./acl_admin.ts";
import type { Cluster, PartitionInfo } from "./cluster.ts";
import type { Connection } from "./connection.ts";
import { MilenaAggregateError, type MilenaError, NotConnectedError, protocolError } from "./errors.ts";
import * as groupAdmin from "./group_admin.ts";
import type { RetryOptions } from "./retry.ts";

/** kafkajs's ConfigResourceTypes. */
export const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const;

/** Kafka's ConfigSource (DescribeConfigs v1+), kafkajs's names. */
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const;

/** IncrementalAlterConfigs operations. */
export const AlterConfigOpTypes = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;

export interface AdminConfig {
  retry?: RetryOptions;
}

export interface TopicConfig {
  topic: string;
  /** -1 (default): the broker's num.partitions. */
  numPartitions?: number;
  /** -1 (default): the broker's default. */
  replicationFactor?: number;
  replicaAssignment?: { partition: number; replicas: number[] }[];
  configEntries?: { name: string; value: string }[];
}

export interface CreateTopicsOptions {
  topics: TopicConfig[];
  validateOnly?: boolean;
  /** The request's timeout_ms. Default 5000. */
  timeout?: number;
  /** Wait until every partition of the new topics has a leader. Default true. */
  waitForLeaders?: boolean;
  /** Throw TopicAlreadyExistsError instead of returning false (kafkajs returns false). */
  failIfExists?: boolean;
}

export interface ConfigEntry {
  configName: string;
  configValue: string | null;
  readOnly: boolean;
  isDefault: boolean;
  /** A ConfigSource (-1 from DescribeConfigs v0). */
  configSource: number;
  isSensitive: boolean;
  configSynonyms: { configName: string; configValue: string | null; configSource: number }[];
}

export interface DescribeConfigsResult {
  resources: {
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
    configEntries: ConfigEntry[];
  }[];
  throttleTime: number;
}

export interface ResourceConfigQuery {
  type: number;
  name: string;
  /** Default: every config. */
  configNames?: string[];
}

/** One broker's answer to DescribeLogDirs (describeLogDirs). */
export interface BrokerLogDirs {
  nodeId: number;
  /** The response's top-level error (v3+; 0 otherwise). */
  errorCode: number;
  logDirs: {
    logDir: string;
    /** KAFKA_STORAGE_ERROR for an offline dir. */
    errorCode: number;
    /** The dir's file system size and free bytes (v4; -1 when unknown). */
    totalBytes: number;
    usableBytes: number;
    topics: {
      topic: string;
      partitions: { partition: number; size: number; offsetLag: number; isFuture: boolean }[];
    }[];
  }[];
}

export interface TopicMetadata {
  name: string;
  partitions: PartitionInfo[];
}

export class Admin {
  private connected = false;

  /** (The retry options of AdminConfig are applied by the cluster, see client.ts.) */
  constructor(private readonly cluster: Cluster) {}

  async connect(): Promise<void> {
    await this.cluster.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    this.cluster.disconnect();
  }

  private check(): void {
    if (!this.connected) throw new NotConnectedError("admin.connect() first");
  }

  /** The controller's connection (any broker when none is known). */
  private async controller(): Promise<Connection> {
    if (this.cluster.controllerId < 0 || !this.cluster.brokers.has(this.cluster.controllerId))
      await this.cluster.metadata([]);
    const id = this.cluster.controllerId;
    return id >= 0 && this.cluster.brokers.has(id)
      ? this.cluster.connection(id)
      : this.cluster.anyConnection();
  }

  /**
   * Create topics. Resolves true when created, false when they all already existed (kafkajs's
   * behaviour; failIfExists throws TopicAlreadyExistsError instead). Other errors are thrown.
   */
  async createTopics(opts: CreateTopicsOptions): Promise<boolean> {
    this.check();
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.controller();
      const r = await conn.request(createTopicsCodec, {
        topics: opts.topics.map((t) => ({
          name: t.topic,
          numPartitions: t.replicaAssignment?.length ? -1 : (t.numPartitions ?? -1),
          replicationFactor: t.replicaAssignment?.length ? -1 : (t.replicationFactor ?? -1),
          assignments: (t.replicaAssignment ?? []).map((a) => ({
            partitionIndex: a.partition,
            brokerIds: a.replicas,
          })),
          configs: (t.configEntries ?? []).map((c) => ({ name: c.name, value: c.value })),
        })),
        timeoutMs: opts.timeout ?? 5000,
        validateOnly: opts.validateOnly ?? false,
      });
      if (r.topics.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) {
        await this.cluster.metadata([]);
        throw protocolError(ErrorCode.NOT_CONTROLLER);
      }
      return r;
    });
    const errors: MilenaError[] = [];
    let existing = 0;
    for (const t of res.topics) {
      if (t.errorCode === 0) continue;
      if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS && !opts.failIfExists) {
        existing++;
        continue;
      }
      errors.push(protocolError(t.errorCode, t.errorMessage, { topic: t.name }));
    }
    throwAll(errors, "createTopics");
    if (existing === res.topics.length) return false;
    if ((opts.waitForLeaders ?? true) && !opts.validateOnly)
      for (const t of res.topics) if (t.errorCode === 0) await this.cluster.topic(t.name, { refresh: true });
    return true;
  }

  /**
   * Grow topics to `count` partitions (kafkajs's createPartitions; CreatePartitions to the
   * controller). `assignments`: the new partitions' replicas (default: the broker's choice).
   * Errors are thrown (INVALID_PARTITIONS when a count is not above the current one).
   */
  async createPartitions(opts: {
    topicPartitions: { topic: string; count: number; assignments?: number[][] }[];
    validateOnly?: boolean;
    timeout?: number;
  }): Promise<void> {
    this.check();
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.controller();
      const r = await conn.request(createPartitionsCodec, {
        topics: opts.topicPartitions.map((t) => ({
          name: t.topic,
          count: t.count,
          assignments: t.assignments === undefined ? null : t.assignments.map((brokerIds) => ({ brokerIds })),
        })),
        timeoutMs: opts.timeout ?? 5000,
        validateOnly: opts.validateOnly ?? false,
      });
      if (r.results.some((t) => t.errorCode === ErrorCode.NOT_CONTROLLER)) {
        await this.cluster.metadata([]);
        throw protocolError(ErrorCode.NOT_CONTROLLER);
      }
      return r;
    });
    throwAll(
      res.results
        .filter((t) => t.errorCode !== 0)
        .map((t) => protocolError(t.errorCode, t.errorMessage, { topic: t.name })),
      "createPartitions",
    );
    if (!opts.validateOnly)
      for (const t of opts.topicPartitions) await this.cluster.topic(t.topic, { refresh: true });
  }

  /** Delete topics (every error is thrown, UNKNOWN_TOPIC_OR_PARTITION included). */
  async deleteTopics(opts: { topics: string[]; timeout?: number }): Promise<void> {
    this.check();
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.controller();
      // v6+ name topics in `topics` (by name or id): both layouts, the encoder writes the version's
      return conn.request(deleteTopicsCodec, {
        topicNames: opts.topics,
        topics: opts.topics.map((name) => ({ name })),
        timeoutMs: opts.timeout ?? 5000,
      });
    });
    for (const t of opts.topics) this.cluster.topics.delete(t);
    throwAll(
      res.responses
        .filter((r) => r.errorCode !== 0)
        .map((r) => protocolError(r.errorCode, null, { topic: r.name ?? undefined })),
      "deleteTopics",
    );
  }

  /**
   * Move partitions' replicas (a ZooKeeper cluster's controller; kafkajs's shape): each
   * partition's new replicas, or null replicas to cancel its move. Errors are thrown.
   */
  async alterPartitionReassignments(opts: {
    topics: { topic: string; partitionAssignment: { partition: number; replicas: number[] | null }[] }[];
    timeout?: number;
  }): Promise<void> {
    this.check();
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.controller();
      const r = await conn.request(alterPartitionReassignmentsCodec, {
        timeoutMs: opts.timeout ?? 5000,
        topics: opts.topics.map((t) => ({
          name: t.topic,
          partitions: t.partitionAssignment.map((p) => ({
            partitionIndex: p.partition,
            replicas: p.replicas,
          })),
        })),
      });
      if (r.errorCode === ErrorCode.NOT_CONTROLLER) {
        await this.cluster.metadata([]);
        throw protocolError(ErrorCode.NOT_CONTROLLER);
      }
      return r;
    });
    if (res.errorCode !== 0) throw protocolError(res.errorCode, res.errorMessage);
    throwAll(
      res.responses.flatMap((t) =>
        t.partitions
          .filter((p) => p.errorCode !== 0)
          .map((p) =>
            protocolError(p.errorCode, p.errorMessage, { topic: t.name, partition: p.partitionIndex }),
          ),
      ),
      "alterPartitionReassignments",
    );
  }

  /** The reassignments in progress (all, or of the partitions given). */
  async listPartitionReassignments(
    opts: { topics?: { topic: string; partitions: number[] }[]; timeout?: number } = {},
  ): Promise<{
    topics: {
      topic: string;
      partitions: {
        partition: number;
        replicas: number[];
        addingReplicas: number[];
        removingReplicas: number[];
      }[];
    }[];
  }> {
    this.check();
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.controller();
      const r = await conn.request(listPartitionReassignmentsCodec, {
        timeoutMs: opts.timeout ?? 5000,
        topics: opts.topics?.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) ?? null,
      });
      if (r.errorCode === ErrorCode.NOT_CONTROLLER) {
        await this.cluster.metadata([]);
        throw protocolError(ErrorCode.NOT_CONTROLLER);
      }
      return r;
    });
    if (res.errorCode !== 0) throw protocolError(res.errorCode, res.errorMessage);
    return {
      topics: res.topics.map((t) => ({
        topic: t.name,
        partitions: t.partitions.map((p) => ({
          partition: p.partitionIndex,
          replicas: p.replicas,
          addingReplicas: p.addingReplicas,
          removingReplicas: p.removingReplicas,
        })),
      })),
    };
  }

  /** Names of every topic. */
  async listTopics(): Promise<string[]> {
    this.check();
    const res = await this.cluster.withRetry(() => this.cluster.metadata(null, false));
    return res.topics.filter((t) => t.errorCode === 0).map((t) => t.name ?? "");
  }

  /** Partitions, leaders and replicas of topics (default: all). Unknown topics are errors. */
  async fetchTopicMetadata(opts: { topics?: string[] } = {}): Promise<{ topics: TopicMetadata[] }> {
    this.check();
    const res = await this.cluster.withRetry(() => this.cluster.metadata(opts.topics ?? null, false));
    throwAll(
      res.topics
        .filter((t) => t.errorCode !== 0)
        .map((t) => protocolError(t.errorCode, null, { topic: t.name ?? undefined })),
      "fetchTopicMetadata",
    );
    return {
      topics: res.topics.map((t) => ({
        name: t.name ?? "",
        partitions: this.cluster.topics.get(t.name ?? "")?.partitions ?? [],
      })),
    };
  }

  /** The same as fetchTopicMetadata. */
  describeTopics(opts: { topics?: string[] } = {}): Promise<{ topics: TopicMetadata[] }> {
    return this.fetchTopicMetadata(opts);
  }

  /** The brokers, the controller and the cluster id. */
  async describeCluster(): Promise<{
    brokers: { nodeId: number; host: string; port: number }[];
    controller: number;
    clusterId: string | null;
  }> {
    this.check();
    const res = await this.cluster.withRetry(() => this.cluster.metadata([]));
    return {
      brokers: res.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      controller: res.controllerId,
      clusterId: res.clusterId,
    };
  }

  /**
   * Each broker's log dirs with the partitions they hold and their bytes on disk (DescribeLogDirs,
   * kafka-log-dirs.sh). Every broker of the cluster unless `brokers` names some; every partition
   * unless `topics` names some (each topic with all its partitions, or those listed). A broker's
   * error code is thrown.
   */
  async describeLogDirs(
    opts: { brokers?: number[]; topics?: { topic: string; partitions?: number[] }[] } = {},
  ): Promise<{ brokers: BrokerLogDirs[] }> {
    this.check();
    await this.cluster.withRetry(() => this.cluster.metadata([]));
    let topics: { topic: string; partitions: number[] }[] | null = null;
    if (opts.topics !== undefined) {
      topics = [];
      for (const t of opts.topics) {
        const partitions =
          t.partitions ??
          (
            await this.cluster.topic(t.topic, { refresh: true, allowAutoTopicCreation: false })
          ).partitions.map((p) => p.partitionId);
        topics.push({ topic: t.topic, partitions });
      }
    }
    const ids = opts.brokers ?? [...this.cluster.brokers.keys()].sort((a, b) => a - b);
    const brokers: BrokerLogDirs[] = [];
    const errors: MilenaError[] = [];
    for (const nodeId of ids) {
      const res = await this.cluster.withRetry(async () =>
        (await this.cluster.connection(nodeId)).request(describeLogDirsCodec, { topics }),
      );
      if (res.errorCode !== 0)
        errors.push(protocolError(res.errorCode, `DescribeLogDirs at broker ${nodeId}`));
      brokers.push({
        nodeId,
        errorCode: res.errorCode,
        logDirs: res.results.map((d) => ({
          logDir: d.logDir,
          errorCode: d.errorCode,
          totalBytes: d.totalBytes,
          usableBytes: d.usableBytes,
          topics: d.topics.map((t) => ({
            topic: t.name,
            partitions: t.partitions.map((p) => ({
              partition: p.partitionIndex,
              size: p.partitionSize,
              offsetLag: p.offsetLag,
              isFuture: p.isFutureKey,
            })),
          })),
        })),
      });
    }
    throwAll(errors, "describeLogDirs");
    return { brokers };
  }

  private async listOffsets(topic: string, timestamp: number): Promise<Map<number, number>> {
    const info = await this.cluster.topic(topic, { refresh: true, allowAutoTopicCreation: false });
    const byLeader = new Map<number, number[]>();
    for (const p of info.partitions) {
      const l = byLeader.get(p.leader) ?? [];
      l.push(p.partitionId);
      byLeader.set(p.leader, l);
    }
    const out = new Map<number, number>();
    const errors: MilenaError[] = [];
    for (const [leader, parts] of byLeader) {
      const res = await this.cluster.withRetry(async () => {
        const conn = await this.cluster.connection(leader);
        return conn.request(listOffsetsCodec, {
          replicaId: -1,
          isolationLevel: 0,
          topics: [{ name: topic, partitions: parts.map((p) => ({ partitionIndex: p, timestamp })) }],
        });
      });
      for (const t of res.topics)
        for (const p of t.partitions) {
          if (p.errorCode !== 0)
            errors.push(protocolError(p.errorCode, null, { topic, partition: p.partitionIndex }));
          else out.set(p.partitionIndex, p.offset);
        }
    }
    throwAll(errors, "listOffsets");
    return out;
  }

  /** Per partition: the log end (offset, high) and the log start (low). Offsets as numbers. */
  async fetchTopicOffsets(
    topic: string,
  ): Promise<{ partition: number; offset: number; high: number; low: number }[]> {
    this.check();
    const high = await this.listOffsets(topic, -1);
    const low = await this.listOffsets(topic, -2);
    return [...high.keys()]
      .sort((a, b) => a - b)
      .map((p) => ({ partition: p, offset: high.get(p)!, high: high.get(p)!, low: low.get(p) ?? 0 }));
  }

  /**
   * Per partition: the offset of the first record at or after `timestamp` (the log end when
   * there is none; the log end for no timestamp).
   */
  async fetchTopicOffsetsByTimestamp(
    topic: string,
    timestamp?: number,
  ): Promise<{ partition: number; offset: number }[]> {
    this.check();
    const at = await this.listOffsets(topic, timestamp ?? -1);
    const needEnd = [...at.values()].some((o) => o < 0);
    const end = needEnd ? await this.listOffsets(topic, -1) : null;
    return [...at.keys()]
      .sort((a, b) => a - b)
      .map((p) => {
        const o = at.get(p)!;
        return { partition: p, offset: o >= 0 ? o : (end?.get(p) ?? -1) };
      });
  }

  /** Configs of topics and brokers (kafkajs's describeConfigs). Resource errors are thrown. */
  async describeConfigs(opts: {
    resources: ResourceConfigQuery[];
    includeSynonyms?: boolean;
  }): Promise<DescribeConfigsResult> {
    this.check();
    const res = await this.cluster.withRetry(async () => {
      // A broker resource is answered by that broker.
      const broker = opts.resources.find((r) => r.type === ConfigResourceTypes.BROKER);
      const id = broker !== undefined ? Number(broker.name) : Number.NaN;
      const conn =
        Number.isInteger(id) && this.cluster.brokers.has(id)
          ? await this.cluster.connection(id)
          : await this.cluster.anyConnection();
      return conn.request(describeConfigsCodec, {
        resources: opts.resources.map((r) => ({
          resourceType: r.type,
          resourceName: r.name,
          configurationKeys: r.configNames ?? null,
        })),
        includeSynonyms: opts.includeSynonyms ?? false,
      });
    });
    throwResourceErrors(res.results, "describeConfigs");
    return {
      throttleTime: res.throttleTimeMs,
      resources: res.results.map((r) => ({
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        resourceType: r.resourceType,
        resourceName: r.resourceName,
        configEntries: r.configs.map((c) => ({
          configName: c.name,
          configValue: c.value,
          readOnly: c.readOnly,
          isDefault: c.configSource >= 0 ? c.configSource === ConfigSource.DEFAULT_CONFIG : c.isDefault,
          configSource: c.configSource,
          isSensitive: c.isSensitive,
          configSynonyms: c.synonyms.map((s) => ({
            configName: s.name,
            configValue: s.value,
            configSource: s.source,
          })),
        })),
      })),
    };
  }

  /**
   * Replace configs (AlterConfigs: the entries given become the resource's whole set of
   * overrides, as in Kafka). Resource errors are thrown.
   */
  async alterConfigs(opts: {
    validateOnly?: boolean;
    resources: { type: number; name: string; configEntries: { name: string; value: string | null }[] }[];
  }): Promise<void> {
    this.check();
    const res = await this.cluster.withRetry(async () =>
      (await this.cluster.anyConnection()).request(alterConfigsCodec, {
        validateOnly: opts.validateOnly ?? false,
        resources: opts.resources.map((r) => ({
          resourceType: r.type,
          resourceName: r.name,
          configs: r.configEntries.map((c) => ({ name: c.name, value: c.value })),
        })),
      }),
    );
    throwResourceErrors(res.responses, "alterConfigs");
  }

  /** Set or delete single configs (IncrementalAlterConfigs, KIP-339). */
  async incrementalAlterConfigs(opts: {
    validateOnly?: boolean;
    resources: {
      type: number;
      name: string;
      configEntries: { name: string; value: string | null; operation?: number }[];
    }[];
  }): Promise<void> {
    this.check();
    const res = await this.cluster.withRetry(async () =>
      (await this.cluster.anyConnection()).request(incrementalAlterConfigsCodec, {
        validateOnly: opts.validateOnly ?? false,
        resources: opts.resources.map((r) => ({
          resourceType: r.type,
          resourceName: r.name,
          configs: r.configEntries.map((c) => ({
            name: c.name,
            configOperation: c.operation ?? AlterConfigOpTypes.SET,
            value: c.value,
          })),
        })),
      }),
    );
    throwResourceErrors(res.responses, "incrementalAlterConfigs");
  }

  // ---- ACLs (acl_admin.ts) ----

  /** Create ACLs (kafkajs's createAcls); a refused creation is thrown. */
  async createAcls(opts: { acl: aclAdmin.AclEntry[] }): Promise<void> {
    this.check();
    return aclAdmin.createAcls(this.cluster, opts.acl);
  }

  /** The ACLs matching a filter, grouped by resource pattern (kafkajs's describeAcls). */
  async describeAcls(filter: aclAdmin.AclFilter): Promise<aclAdmin.DescribeAclsResult> {
    this.check();
    return aclAdmin.describeAcls(this.cluster, filter);
  }

  /** Delete the ACLs matching each filter; what each one deleted (kafkajs's deleteAcls). */
  async deleteAcls(opts: { filters: aclAdmin.AclFilter[] }): Promise<aclAdmin.DeleteAclsResult> {
    this.check();
    return aclAdmin.deleteAcls(this.cluster, opts.filters);
  }

  // ---- consumer groups (group_admin.ts) ----

  /** Every group (kafkajs's listGroups). */
  async listGroups(): Promise<{ groups: groupAdmin.GroupOverview[] }> {
    this.check();
    return groupAdmin.listGroups(this.cluster);
  }

  /** State, assignor and members (with decoded assignments) of groups; unknown ones are "Dead". */
  async describeGroups(groupIds: string[]): Promise<{ groups: groupAdmin.GroupDescription[] }> {
    this.check();
    return groupAdmin.describeGroups(this.cluster, groupIds);
  }

  /** Delete groups without members and their offsets (NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND are thrown). */
  async deleteGroups(groupIds: string[]): Promise<{ groupId: string; errorCode: number }[]> {
    this.check();
    return groupAdmin.deleteGroups(this.cluster, groupIds);
  }

  /**
   * A group's committed offsets per topic: every partition of `topics` (offset -1 where none),
   * or every partition it committed when no topics are given.
   */
  async fetchOffsets(opts: {
    groupId: string;
    topics?: string[];
  }): Promise<{ topic: string; partitions: groupAdmin.PartitionOffset[] }[]> {
    this.check();
    return groupAdmin.fetchOffsets(this.cluster, opts);
  }

  /** Commit offsets for a group with no members (refused while it has some). */
  async setOffsets(opts: groupAdmin.SetOffsetsOptions): Promise<void> {
    this.check();
    return groupAdmin.setOffsets(this.cluster, opts);
  }

  /** Set a group's offsets of a topic to the log start (earliest) or the log end (default). */
  async resetOffsets(opts: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    const ends = await this.fetchTopicOffsets(opts.topic);
    await this.setOffsets({
      groupId: opts.groupId,
      topic: opts.topic,
      partitions: ends.map((o) => ({ partition: o.partition, offset: opts.earliest ? o.low : o.high })),
    });
  }
}

/** Throw the per-resource errors of a config request (a topic resource names its topic). */
function throwResourceErrors(
  results: readonly {
    errorCode: number;
    errorMessage: string | null;
    resourceType: number;
    resourceName: string;
  }[],
  what: string,
): void {
  throwAll(
    results
      .filter((r) => r.errorCode !== 0)
      .map((r) =>
        protocolError(
          r.errorCode,
          r.errorMessage,
          r.resourceType === ConfigResourceTypes.TOPIC ? { topic: r.resourceName } : {},
        ),
      ),
    what,
  );
}

function throwAll(errors: MilenaError[], what: string): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1)
    throw new MilenaAggregateError(
      `${what}: ${errors.length} errors: ${errors.map((e) => e.message).join("; ")}`,
      errors,
    );
}
