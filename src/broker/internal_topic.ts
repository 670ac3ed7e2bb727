// An internal topic as a coordinator's log: __consumer_offsets for the group coordinator,
// __transaction_state for the transaction coordinator, _schemas for the Schema Registry. Created on first use with its partition
// count, written through the writers like any produce (acks=-1: a change is answered only once it
// is fsynced), and replayed at startup. In a ZooKeeper cluster it is a replicated topic like any
// other (its replication factor capped to the live brokers), created through the controller; this
// broker coordinates the keys of the partitions it leads, loads a partition when it becomes its
// leader and drops it when it stops; an append is answered once the partition's in-sync replicas
// have it. Both topics are compacted (cleanup.policy=compact, as Kafka creates them;
// log_cleaner.ts): replay applies what is left in order, the last record per key winning and
// tombstones deleting. A __consumer_offsets created by an older Milena keeps its overrides
// (retention.ms=-1: every record, the same replay).

import type { ClusterNode } from "../cluster/node.ts";
import { ZK_NODE_EXISTS, ZkError } from "../cluster/zookeeper.ts";
import { randomTopicId } from "../log/partition_metadata.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { encodeBatch, markTransactional } from "../protocol/records.ts";
import { SCHEMAS_TOPIC } from "../schema_registry/schemas_records.ts";
import type { BrokerContext } from "./context.ts";
import { OFFSETS_TOPIC } from "./groups/offsets_replay.ts";
import { TRANSACTION_STATE_TOPIC } from "./txn/transaction_log.ts";

/** The internal topics: listed as internal, written only by their coordinators, never deleted. */
export function isInternalTopic(name: string): boolean {
  return name === OFFSETS_TOPIC || name === TRANSACTION_STATE_TOPIC || name === SCHEMAS_TOPIC;
}

/** Which internal topic, and how it is made and read back. */
export interface InternalTopicSpec<R> {
  name: string;
  partitions: number;
  replicationFactor: number;
  segmentBytes: number;
  /** Its min.insync.replicas (transaction.state.log.min.isr); the broker's when absent. */
  minInsyncReplicas?: number;
  /** How long an append waits for the in-sync replicas, and a creation for the metadata. */
  timeoutMs: number;
  /** The records of one partition dir, in log order (the recovery pool). */
  replay(dir: string): Promise<R[]>;
}

export class InternalTopic<R> {
  private creating: Promise<void> | null = null;

  constructor(
    private readonly ctx: BrokerContext,
    readonly spec: InternalTopicSpec<R>,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /** Partitions being loaded (cluster): their keys answer COORDINATOR_LOAD_IN_PROGRESS. */
  readonly loading = new Set<number>();

  get exists(): boolean {
    const cluster = this.ctx.cluster;
    return cluster === null
      ? this.ctx.logs.topics.has(this.spec.name)
      : cluster.cache.topics.has(this.spec.name);
  }

  /** Its configs; `rf`: the replication factor it is created with (min.insync.replicas never above). */
  private overrides(rf = 1): Map<string, string> {
    const o = new Map([
      ["cleanup.policy", "compact"],
      ["segment.bytes", String(this.spec.segmentBytes)],
      ["retention.ms", "-1"],
      ["retention.bytes", "-1"],
    ]);
    if (this.spec.minInsyncReplicas !== undefined)
      o.set("min.insync.replicas", String(Math.max(1, Math.min(rf, this.spec.minInsyncReplicas))));
    return o;
  }

  /** Create the topic if it is not there yet (one creation at a time). */
  ensure(): Promise<void> {
    if (this.exists) return Promise.resolve();
    if (this.creating === null) {
      const cluster = this.ctx.cluster;
      if (cluster !== null) {
        this.creating = this.ensureInCluster(cluster).finally(() => {
          this.creating = null;
        });
        return this.creating;
      }
      const overrides = this.overrides();
      this.creating = this.ctx.logs
        .createTopic(this.spec.name, this.spec.partitions, overrides)
        .then(() => this.ctx.log(`created ${this.spec.name} with ${this.spec.partitions} partitions`))
        .finally(() => {
          this.creating = null;
        });
    }
    return this.creating;
  }

  private async ensureInCluster(cluster: ClusterNode): Promise<void> {
    if (await cluster.topicExists(this.spec.name)) {
      await cluster.cache.waitFor(() => cluster.cache.topics.has(this.spec.name), this.spec.timeoutMs);
      return;
    }
    const live = await cluster.liveBrokers();
    const rf = Math.max(1, Math.min(this.spec.replicationFactor, live.length));
    try {
      await cluster.createTopic(
        this.spec.name,
        cluster.assign(live, this.spec.partitions, rf),
        this.overrides(rf),
        randomTopicId(),
        30_000,
      );
      this.ctx.log(
        `created ${this.spec.name} with ${this.spec.partitions} partitions, replication factor ${rf}`,
      );
    } catch (e) {
      // Another broker created it first: fine.
      if (!(e instanceof ZkError && e.code === ZK_NODE_EXISTS)) throw e;
      await cluster.cache.waitFor(() => cluster.cache.topics.has(this.spec.name), this.spec.timeoutMs);
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
    const entry = this.ctx.logs.partitionOf(this.spec.name, partition);
    if (entry === undefined || cluster.replicas.leaderProblem(entry) !== ErrorCode.NONE)
      return ErrorCode.NOT_COORDINATOR;
    return this.loading.has(partition) ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** Resolves to a Kafka error code; never rejects. */
  async append(
    partition: number,
    records: { key: Buffer; value: Buffer | null }[],
    txn?: { producerId: number; producerEpoch: number },
  ): Promise<number> {
    try {
      await this.ensure();
    } catch (e) {
      this.ctx.logger.limited(this.spec.name, `cannot create ${this.spec.name}: ${(e as Error).message}`);
      return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    }
    const entry = this.ctx.logs.partitionOf(this.spec.name, partition);
    if (entry === undefined) return ErrorCode.COORDINATOR_NOT_AVAILABLE;
    const batch = encodeBatch(records.map((r) => ({ key: r.key, value: r.value })));
    // Inside a transaction (TxnOffsetCommit): its producer's, decided by the marker to come.
    if (txn !== undefined) markTransactional(batch, txn.producerId, txn.producerEpoch);
    // The offsets topic's own max.message.bytes (a 17 MB assignment is refused, not queued).
    if (batch.length > this.ctx.logs.topics.get(this.spec.name)!.logConfig.maxMessageBytes)
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
        void cluster.replicas.awaitReplication(entry, baseOffset + count, this.spec.timeoutMs).then(resolve);
      });
      if (txn !== undefined) this.ctx.writers.appendCoordinatorTxn(entry.slot, tag, batch);
      else this.ctx.writers.append(entry.slot, tag, -1, batch);
    });
  }

  /** The records of one partition, in log order (a new coordinator loading it). */
  replayPartition(partition: number): Promise<R[]> {
    const entry = this.ctx.logs.partitionOf(this.spec.name, partition);
    return entry === undefined ? Promise.resolve([]) : this.spec.replay(entry.dir);
  }

  /** Every record of the topic, partition by partition, in log order (recovery pool). */
  replay(): Promise<R[][]> {
    const t = this.ctx.logs.topics.get(this.spec.name);
    if (t === undefined) return Promise.resolve([]);
    return Promise.all(t.partitions.map((p) => this.spec.replay(p.dir)));
  }
}
