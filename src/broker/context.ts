// What the API handlers share: the config, the log manager, the writer pool and the produce
// tracker, plus topic auto-creation (one creation per topic name at a time).

import type { ClusterNode } from "../cluster/node.ts";
import type { PartitionState } from "../log/partition_state.ts";
import type { BrokerConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { LogManager } from "./log_manager.ts";
import type { ProduceTracker } from "./produce_tracker.ts";
import type { ProducerIdAllocator } from "./producer_ids.ts";
import type { AclAuthorizer } from "./security/authorizer.ts";
import type { WriterPool } from "./writers.ts";

/**
 * Partitions one request may still auto-create (max.partitions.per.request): a Metadata naming
 * 65,536 unknown topics creates the first ones, not all.
 */
export interface AutoCreateBudget {
  partitions: number;
}

export function autoCreateBudget(config: BrokerConfig): AutoCreateBudget {
  return { partitions: config.maxPartitionsPerRequest };
}

/**
 * Requests parked waiting, as Kafka's purgatories hold them (/metrics reads these counts): acks=all
 * produce partitions waiting to be durable (fsync; in a cluster, the in-sync replicas), and
 * long-poll fetches waiting for data.
 */
export interface Purgatory {
  produce: number;
  fetch: number;
}

export interface BrokerContext {
  config: BrokerConfig;
  logs: LogManager;
  writers: WriterPool;
  tracker: ProduceTracker;
  state: PartitionState;
  producerIds: ProducerIdAllocator;
  /** This broker's part in a ZooKeeper cluster (src/cluster); null for a broker on its own. */
  cluster: ClusterNode | null;
  /**
   * Create `topic` with num.partitions if auto.create.topics.enable allows and the name is
   * valid; resolves to a Kafka error code (0 = it exists now). null when auto-creation is off.
   */
  autoCreate(topic: string, budget: AutoCreateBudget): Promise<number> | null;
  /** A topic was deleted: its committed offsets go too. */
  topicDeleted(topic: string): Promise<void>;
  /**
   * KIP-890's verification of a transactional produce: whether each partition is in the ongoing
   * transaction of (transactional id, producer id, epoch) at its coordinator; one error code per
   * partition, in order (NONE, INVALID_TXN_STATE, INVALID_PRODUCER_EPOCH, NOT_COORDINATOR ...).
   */
  verifyTransaction(
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<number[]>;
  log(line: string): void;
  /** The same log, with rate-limited kinds for lines a client can repeat. */
  logger: Logger;
  /** Kafka's ACLs (ALLOW_ALL without authorizer.class.name). */
  authorizer: AclAuthorizer;
  purgatory: Purgatory;
  /**
   * Broker-side schema validation (schema_registry/validation.ts) of a record set for a topic
   * whose overrides turn it on: null when it passes, else the reason. Absent: no registry here.
   */
  schemaCheck?: (
    topic: string,
    sides: { key: boolean; value: boolean; payload: boolean },
    records: Uint8Array,
  ) => string | null;
}
