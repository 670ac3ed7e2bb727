// The mirror's transactional writer to the target (exactly.once.source.support = enabled): one
// Kafka transaction per copied batch holding its records AND the flow's position, so the two are
// committed together or not at all (KIP-98, as a Java transactional producer speaks it):
//
//   FindCoordinator(key type 1) -> InitProducerId(transactional id)  once; fences an older process
//                                                                   with the same id and aborts
//                                                                   its open transaction
//   AddPartitionsToTxn (v0-3)      the partition the batch goes to
//   Produce                        one RecordBatch v2: producer id, epoch, the partition's next
//                                  sequence, the transactional attribute; acks=all
//   AddOffsetsToTxn + TxnOffsetCommit   the flow's position (the source's next offset) for group
//                                  milena-mirror-<source>-<target> ON THE TARGET, keyed by the
//                                  remote topic and partition
//   EndTxn(commit)
//
// Any error throws: the flow's session ends, and the next one's InitProducerId aborts whatever
// this transaction left open, so a batch is either wholly on the target with its position or not
// at all. The target's read_committed consumers see each record once.
//
// This lives beside the mirror rather than in src/client/producer.ts: Milena's producer has no
// transactions yet, and a mirror batch (one partition, its offsets) needs only this much of them.

import { crc32c } from "@node-rs/crc32";
import type { Cluster } from "../client/cluster.ts";
import type { Connection } from "../client/connection.ts";
import { protocolError } from "../client/errors.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { coordinatorOf, findCoordinatorCodec, findCoordinatorRequest } from "../protocol/find_coordinator.ts";
import { initProducerIdCodec } from "../protocol/init_producer_id.ts";
import { produceCodec } from "../protocol/produce.ts";
import { encodeBatch, type NewRecord } from "../protocol/records.ts";
import {
  addOffsetsToTxnCodec,
  addPartitionsToTxnCodec,
  endTxnCodec,
  txnOffsetCommitCodec,
} from "../protocol/transactions.ts";

/** Errors worth a short wait and another try inside one step (the coordinator is busy or moved). */
const RETRY_CODES = new Set<number>([
  ErrorCode.CONCURRENT_TRANSACTIONS,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.NOT_COORDINATOR,
]);

const BATCH_ATTRIBUTES = 21;
const TRANSACTIONAL = 0x10;

export class TransactionalWriter {
  private producerId = -1;
  private epoch = -1;
  private txnCoordinator = -1;
  private readonly sequences = new Map<string, number>();

  constructor(
    private readonly cluster: Cluster,
    readonly transactionalId: string,
    private readonly groupId: string,
    private readonly timeoutMs = 60_000,
  ) {}

  async connect(): Promise<void> {
    await this.cluster.connect();
    await this.step("InitProducerId", async () => {
      const conn = await this.coordinator(1, this.transactionalId);
      const r = await conn.request(initProducerIdCodec, {
        transactionalId: this.transactionalId,
        transactionTimeoutMs: this.timeoutMs,
        producerId: -1,
        producerEpoch: -1,
      });
      if (r.errorCode !== 0) throw protocolError(r.errorCode, null);
      this.producerId = r.producerId;
      this.epoch = r.producerEpoch;
    });
  }

  disconnect(): void {
    this.cluster.disconnect();
  }

  /**
   * One transaction: `records` appended to `topic`-`partition` and the group's offset for it set
   * to `nextOffset`. Resolves with the base offset the target gave the records.
   */
  async write(topic: string, partition: number, records: NewRecord[], nextOffset: number): Promise<number> {
    const txn = {
      transactionalId: this.transactionalId,
      producerId: this.producerId,
      producerEpoch: this.epoch,
    };
    await this.step("AddPartitionsToTxn", async () => {
      const conn = await this.txnConnection();
      const r = await conn.request(addPartitionsToTxnCodec, {
        transactions: [],
        v3AndBelowTransactionalId: txn.transactionalId,
        v3AndBelowProducerId: txn.producerId,
        v3AndBelowProducerEpoch: txn.producerEpoch,
        v3AndBelowTopics: [{ name: topic, partitions: [partition] }],
      });
      if (r.errorCode !== 0) throw protocolError(r.errorCode, null);
      for (const t of r.resultsByTopicV3AndBelow)
        for (const p of t.resultsByPartition)
          if (p.partitionErrorCode !== 0)
            throw protocolError(p.partitionErrorCode, null, { topic, partition });
    });
    const k = `${topic}\u0000${partition}`;
    const sequence = this.sequences.get(k) ?? 0;
    const batch = encodeBatch(records);
    batch.writeBigInt64BE(BigInt(this.producerId), 43);
    batch.writeInt16BE(this.epoch, 51);
    batch.writeInt32BE(sequence, 53);
    batch.writeInt16BE(batch.readInt16BE(BATCH_ATTRIBUTES) | TRANSACTIONAL, BATCH_ATTRIBUTES);
    batch.writeUInt32BE(crc32c(batch.subarray(BATCH_ATTRIBUTES)), 17);
    // No retry of the Produce itself: an answer lost in a cut connection leaves the batch in
    // doubt, and the session's restart (a new epoch) settles it by aborting the transaction.
    const info = await this.cluster.topic(topic);
    const leader = info.partitions.find((p) => p.partitionId === partition)?.leader ?? -1;
    const conn = await this.cluster.connection(leader);
    const res = await conn.request(produceCodec, {
      transactionalId: this.transactionalId,
      acks: -1,
      timeoutMs: 30_000,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, records: batch as never }] }],
    });
    const pr = res.responses[0]?.partitions[0];
    if (pr === undefined) throw new Error(`Produce to ${topic}-${partition}: no answer for the partition`);
    if (pr.errorCode !== 0) {
      if (pr.errorCode === ErrorCode.NOT_LEADER_OR_FOLLOWER)
        await this.cluster.metadata([topic]).catch(() => {});
      throw protocolError(pr.errorCode, null, { topic, partition });
    }
    this.sequences.set(k, (sequence + records.length) % 2 ** 31);
    await this.step("AddOffsetsToTxn", async () => {
      const c = await this.txnConnection();
      const r = await c.request(addOffsetsToTxnCodec, { ...txn, groupId: this.groupId });
      if (r.errorCode !== 0) throw protocolError(r.errorCode, null);
    });
    await this.step("TxnOffsetCommit", async () => {
      const c = await this.coordinator(0, this.groupId);
      const r = await c.request(txnOffsetCommitCodec, {
        ...txn,
        groupId: this.groupId,
        generationId: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [
          {
            name: topic,
            partitions: [
              {
                partitionIndex: partition,
                committedOffset: nextOffset,
                committedLeaderEpoch: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      });
      for (const t of r.topics)
        for (const p of t.partitions)
          if (p.errorCode !== 0) throw protocolError(p.errorCode, null, { topic, partition });
    });
    await this.step("EndTxn", async () => {
      const c = await this.txnConnection();
      const r = await c.request(endTxnCodec, { ...txn, committed: true });
      if (r.errorCode !== 0) throw protocolError(r.errorCode, null);
    });
    return pr.baseOffset;
  }

  private async txnConnection(): Promise<Connection> {
    if (this.txnCoordinator >= 0) return this.cluster.connection(this.txnCoordinator);
    return this.coordinator(1, this.transactionalId);
  }

  /** The coordinator of a group (key type 0) or transactional id (1). */
  private async coordinator(keyType: number, key: string): Promise<Connection> {
    const conn = await this.cluster.anyConnection();
    const r = coordinatorOf(await conn.request(findCoordinatorCodec, findCoordinatorRequest(key, keyType)));
    if (r.errorCode !== 0) throw protocolError(r.errorCode, r.errorMessage);
    if (!this.cluster.brokers.has(r.nodeId)) await this.cluster.metadata([]);
    if (keyType === 1) this.txnCoordinator = r.nodeId;
    return this.cluster.connection(r.nodeId);
  }

  /** Run one step, again after a short wait while the coordinator is busy or moving (up to ~10 s). */
  private async step(what: string, fn: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === undefined || !RETRY_CODES.has(code) || attempt >= 40) {
          (e as Error).message = `${what}: ${(e as Error).message}`;
          throw e;
        }
        if (code === ErrorCode.NOT_COORDINATOR || code === ErrorCode.COORDINATOR_NOT_AVAILABLE)
          this.txnCoordinator = -1;
        await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** Math.min(attempt, 5))));
      }
    }
  }
}
