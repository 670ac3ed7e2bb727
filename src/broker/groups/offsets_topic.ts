// __consumer_offsets as the coordinator's log: created on first use with
// offsets.topic.num.partitions partitions, written through the writers like any produce
// (acks=-1: a commit is answered only once it is fsynced), and replayed at startup.
// In a ZooKeeper cluster it is a replicated topic like any other (offsets.topic.replication.factor,
// capped to the live brokers), created through the controller; this broker coordinates the groups
// of the partitions it leads, loads a partition's groups when it becomes its leader and drops
// them when it stops; a commit is answered once the partition's in-sync replicas have it.
// Compaction is not built yet, so the topic keeps every record (retention.ms=-1): replay applies
// them in order and the last one per key wins, as compaction would leave it.

import type { ClusterNode } from "../../cluster/node.ts";
import { ZK_NODE_EXISTS, ZkError } from "../../cluster/zookeeper.ts";
import { randomTopicId } from "../../log/partition_metadata.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { encodeBatch } from "../../protocol/records.ts";
import type { BrokerContext } from "../context.ts";
import type { OffsetsLog } from "./coordinator.ts";
import type { OffsetsRecord } from "./offsets_records.ts";
import { OFFSETS_TOPIC } from "./offsets_replay.ts";

export class OffsetsTopic implements OffsetsLog {
  private creating: Promise<void> | null = null;

  constructor(private readonly ctx: BrokerContext) {}

  /** Offsets partitions being loaded (cluster): their groups answer COORDINATOR_LOAD_IN_PROGRESS. */
  readonly loading = new Set<number>();

  get exists(): boolean {
    const cluster = this.ctx.cluster;
    return cluster === null
      ? this.ctx.logs.topics.has(OFFSETS_TOPIC)
      : cluster.cache.topics.has(OFFSETS_TOPIC);
  }

  private overrides(): Map<string, string> {
    return new Map([
      ["segment.bytes", String(this.ctx.config.offsetsTopicSegmentBytes)],
      ["retention.ms", "-1"],
      ["retention.bytes", "-1"],
    ]);
  }

  /** Create the topic if it is not there yet (one creation at a time). */
  ensure(): Promise<void> {
    if (this.exists) return Promise.resolve();
    if (this.creating === null) {
      const c = this.ctx.config;
      const cluster = this.ctx.cluster;
      if (cluster !== null) {
        this.creating = this.ensureInCluster(cluster).finally(() => {
          this.creating = null;
        });
        return this.creating;
      }
      const overrides = this.overrides();
      this.creating = this.ctx.logs
        .createTopic(OFFSETS_TOPIC, c.offsetsTopicPartitions, overrides)
        .then(() => this.ctx.log(`created ${OFFSETS_TOPIC} with ${c.offsetsTopicPartitions} partitions`))
        .finally(() => {
          this.creating = null;
        });
    }
    return this.creating;
  }

  private async ensureInCluster(cluster: ClusterNode): Promise<void> {
    const c = this.ctx.config;
    if (await cluster.topicExists(OFFSETS_TOPIC)) {
      await cluster.cache.waitFor(() => cluster.cache.topics.has(OFFSETS_TOPIC), c.offsetsCommitTimeoutMs);
      return;
    }
    const live = await cluster.liveBrokers();
    const rf = Math.max(1, Math.min(c.offsetsTopicReplicationFactor, live.length));
    try {
      await cluster.createTopic(
        OFFSETS_TOPIC,
        cluster.assign(live, c.offsetsTopicPartitions, rf),
        this.overrides(),
        randomTopicId(),
        30_000,
      );
      this.ctx.log(
        `created ${OFFSETS_TOPIC} with ${c.offsetsTopicPartitions} partitions, replication factor ${rf}`,
      );
    } catch (e) {
      // Another broker created it first: fine.
      if (!(e instanceof ZkError && e.code === ZK_NODE_EXISTS)) throw e;
      await cluster.cache.waitFor(() => cluster.cache.topics.has(OFFSETS_TOPIC), c.offsetsCommitTimeoutMs);
    }
  }

  partitionExists(topic: string, partition: number): boolean {
    const cluster = this.ctx.cluster;
    if (cluster !== null) return cluster.cache.partition(topic, partition) !== undefined;
    return this.ctx.logs.partitionOf(topic, partition) !== undefined;
  }

  coordinates(partition: number): number {
    const cluster = this.ctx.cluster;
    if (cluster === null) return ErrorCode.NONE;
    const entry = this.ctx.logs.partitionOf(OFFSETS_TOPIC, partition);
    if (entry === undefined || cluster.replicas.leaderProblem(entry) !== ErrorCode.NONE)
      return ErrorCode.NOT_COORDINATOR;
    return this.loading.has(partition) ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Resolves to a Kafka error code; never rejects. */
  async append(partition: number, records: { key: Buffer; value: Buffer | null }[]): Promise<number> {
    try {
      await this.ensure();
    } catch (e) {
      this.ctx.logger.limited("offsets topic", `cannot create ${OFFSETS_TOPIC}: ${(e as Error).message}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    const entry = this.ctx.logs.partitionOf(OFFSETS_TOPIC, partition);
    if (entry === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const batch = encodeBatch(records.map((r) => ({ key: r.key, value: r.value })));
    // The offsets topic's own max.message.bytes (a 17 MB assignment is refused, not queued).
    if (batch.length > this.ctx.logs.topics.get(OFFSETS_TOPIC)!.logConfig.maxMessageBytes)
      return ErrorCode.MESSAGE_TOO_LARGE;
    const cluster = this.ctx.cluster;
    if (cluster !== null) {
      const problem = cluster.replicas.appendProblem(entry, -1);
      if (problem !== ErrorCode.NONE) return problem;
    }
    const count = records.length;
    return new Promise((resolve) => {
      const tag = this.ctx.tracker.register((errorCode, baseOffset) => {
        if (errorCode !== 0 || cluster === null) return resolve(errorCode);
        // In a cluster: answered once the in-sync replicas have it (lost otherwise on failover).
        void cluster.replicas
          .awaitReplication(entry, baseOffset + count, this.ctx.config.offsetsCommitTimeoutMs)
          .then(resolve);
      });
      this.ctx.writers.append(entry.slot, tag, -1, batch);
    });
  }

  /** The records of one partition, in log order (a new coordinator loading it). */
  replayPartition(partition: number): Promise<OffsetsRecord[]> {
    const entry = this.ctx.logs.partitionOf(OFFSETS_TOPIC, partition);
    return entry === undefined ? Promise.resolve([]) : this.ctx.logs.replayOffsets(entry.dir);
  }

  /** Every record of the topic, partition by partition, in log order (recovery pool). */
  replay(): Promise<OffsetsRecord[][]> {
    const t = this.ctx.logs.topics.get(OFFSETS_TOPIC);
    if (t === undefined) return Promise.resolve([]);
    return Promise.all(t.partitions.map((p) => this.ctx.logs.replayOffsets(p.dir)));
  }
}
