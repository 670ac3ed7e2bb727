// Writing a transaction's markers (Kafka's TransactionMarkerChannelManager and the leader's side
// of WriteTxnMarkers): a partition this broker leads (or holds, on a single broker) gets its
// marker through its writer (PartitionWriter.appendMarker, fsynced), and in a cluster once its
// in-sync replicas have it (Kafka appends markers with acks=-1); a partition led elsewhere gets a
// WriteTxnMarkers request to its leader (one channel per broker). A marker on a
// __consumer_offsets partition also settles the offsets the transaction committed there. The same
// channels carry KIP-890's verification of a transactional produce to a coordinator elsewhere.

import { BrokerChannel } from "../../cluster/broker_channel.ts";
import { interBrokerSecurity } from "../../cluster/inter_broker_security.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { addPartitionsToTxnCodec, writeTxnMarkersCodec } from "../../protocol/transactions.ts";
import type { BrokerContext } from "../context.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";

export interface Marker {
  producerId: number;
  producerEpoch: number;
  commit: boolean;
  coordinatorEpoch: number;
}

/** How long a marker waits for the partition's in-sync replicas. */
const MARKER_REPLICATION_TIMEOUT_MS = 30_000;

export class MarkerWriter {
  private readonly channels = new Map<number, BrokerChannel>();

  constructor(
    private readonly ctx: BrokerContext,
    /** A marker landed on a __consumer_offsets partition (the group coordinator's offsets). */
    private readonly onOffsetsMarker: (partition: number, producerId: number, commit: boolean) => void,
  ) {}

  /** The marker written to the partition, wherever its leader is; resolves to an error code. */
  async write(topic: string, partition: number, m: Marker): Promise<number> {
    const cluster = this.ctx.cluster;
    const entry = this.ctx.logs.partitionOf(topic, partition);
    if (cluster === null) {
      if (entry === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return this.writeLocal(topic, partition, m);
    }
    const cached = cluster.cache.partition(topic, partition);
    if (cached === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (cached.leader === this.ctx.config.brokerId) return this.writeLocal(topic, partition, m);
    if (cached.leader < 0) return ErrorCode.LEADER_NOT_AVAILABLE;
    return this.writeRemote(cached.leader, topic, partition, m);
  }

  /** WriteTxnMarkers at this broker, or a marker of this broker's own coordinator. */
  async writeLocal(topic: string, partition: number, m: Marker): Promise<number> {
    const entry = this.ctx.logs.partitionOf(topic, partition);
    if (entry === undefined)
      return this.ctx.cluster?.cache.partition(topic, partition) !== undefined
        ? ErrorCode.NOT_LEADER_OR_FOLLOWER
        : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    if (this.ctx.logs.isOffline(entry)) return ErrorCode.KAFKA_STORAGE_ERROR;
    const cluster = this.ctx.cluster;
    if (cluster !== null) {
      const problem = cluster.replicas.appendProblem(entry, -1);
      if (problem !== ErrorCode.NONE) return problem;
    }
    const r = await this.ctx.writers.appendMarker(entry.slot, m);
    if (r.errorCode !== ErrorCode.NONE) return r.errorCode;
    if (cluster !== null) {
      const code = await cluster.replicas.awaitReplication(
        entry,
        r.offset + 1,
        MARKER_REPLICATION_TIMEOUT_MS,
      );
      if (code !== ErrorCode.NONE) return code;
    }
    if (topic === OFFSETS_TOPIC) this.onOffsetsMarker(partition, m.producerId, m.commit);
    return ErrorCode.NONE;
  }

  private async writeRemote(leader: number, topic: string, partition: number, m: Marker): Promise<number> {
    const ep = this.ctx.cluster?.cache.endpoint(leader, this.ctx.config.interBrokerListenerName);
    if (ep === undefined) return ErrorCode.LEADER_NOT_AVAILABLE;
    const ch = this.channel(leader, ep);
    try {
      const res = await ch.request(writeTxnMarkersCodec, 1, {
        markers: [
          {
            producerId: m.producerId,
            producerEpoch: m.producerEpoch,
            transactionResult: m.commit,
            coordinatorEpoch: m.coordinatorEpoch,
            topics: [{ name: topic, partitionIndexes: [partition] }],
          },
        ],
      });
      return res.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    } catch {
      ch.reset();
      return ErrorCode.NETWORK_EXCEPTION;
    }
  }

  /**
   * KIP-890 verification at a coordinator on another broker: AddPartitionsToTxn v4 with
   * verify_only; one error code per partition, in order.
   */
  async verifyRemote(
    coordinator: number,
    transactionalId: string,
    producerId: number,
    producerEpoch: number,
    partitions: readonly { topic: string; partition: number }[],
  ): Promise<number[]> {
    const ep = this.ctx.cluster?.cache.endpoint(coordinator, this.ctx.config.interBrokerListenerName);
    if (ep === undefined) return partitions.map(() => ErrorCode.COORDINATOR_NOT_AVAILABLE);
    const byTopic = new Map<string, number[]>();
    for (const p of partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    try {
      const res = await this.channel(coordinator, ep).request(addPartitionsToTxnCodec, 4, {
        transactions: [
          {
            transactionalId,
            producerId,
            producerEpoch,
            verifyOnly: true,
            topics: [...byTopic].map(([name, ps]) => ({ name, partitions: ps })),
          },
        ],
        v3AndBelowTransactionalId: "",
        v3AndBelowProducerId: -1,
        v3AndBelowProducerEpoch: -1,
        v3AndBelowTopics: [],
      });
      if (res.errorCode !== ErrorCode.NONE) return partitions.map(() => res.errorCode);
      const codes = new Map<string, number>();
      for (const t of res.resultsByTransaction[0]?.topicResults ?? [])
        for (const r of t.resultsByPartition)
          codes.set(`${t.name}\u0000${r.partitionIndex}`, r.partitionErrorCode);
      return partitions.map(
        (p) => codes.get(`${p.topic}\u0000${p.partition}`) ?? ErrorCode.UNKNOWN_SERVER_ERROR,
      );
    } catch {
      this.channels.get(coordinator)?.reset();
      return partitions.map(() => ErrorCode.NETWORK_EXCEPTION);
    }
  }

  private channel(broker: number, ep: { host: string; port: number }): BrokerChannel {
    let ch = this.channels.get(broker);
    if (ch === undefined || ch.endpoint.host !== ep.host || ch.endpoint.port !== ep.port) {
      ch?.close();
      ch = new BrokerChannel(
        broker,
        { host: ep.host, port: ep.port },
        `milena-txn-${this.ctx.config.brokerId}`,
        interBrokerSecurity(this.ctx.config),
      );
      this.channels.set(broker, ch);
    }
    return ch;
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }
}
