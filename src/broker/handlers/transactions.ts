// The transaction APIs (protocol/transactions.ts) on the transaction coordinator
// (txn/coordinator.ts), the group coordinator (TxnOffsetCommit) and the partitions' writers
// (WriteTxnMarkers, txn/markers.ts).

import { ErrorCode } from "../../protocol/error_codes.ts";
import type {
  AddOffsetsToTxnRequest,
  AddOffsetsToTxnResponse,
  AddPartitionsToTxnRequest,
  AddPartitionsToTxnResponse,
  DescribeTransactionsRequest,
  DescribeTransactionsResponse,
  EndTxnRequest,
  EndTxnResponse,
  ListTransactionsRequest,
  ListTransactionsResponse,
  WriteTxnMarkersRequest,
  WriteTxnMarkersResponse,
} from "../../protocol/transactions.ts";
import { offsetsPartitionFor } from "../groups/offsets_records.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";
import type { TransactionCoordinator } from "../txn/coordinator.ts";
import type { MarkerWriter } from "../txn/markers.ts";

/** The partitions of one AddPartitionsToTxn transaction, answered per topic. */
async function addOne(
  txn: TransactionCoordinator,
  t: {
    transactionalId: string;
    producerId: number;
    producerEpoch: number;
    verifyOnly: boolean;
    topics: { name: string; partitions: number[] }[];
  },
  version: number,
) {
  const flat = t.topics.flatMap((x) => x.partitions.map((partition) => ({ topic: x.name, partition })));
  const codes = t.verifyOnly
    ? flat.map((p) =>
        txn.verifyPartition(t.transactionalId, t.producerId, t.producerEpoch, p.topic, p.partition),
      )
    : await txn.addPartitions(t.transactionalId, t.producerId, t.producerEpoch, flat, version);
  let i = 0;
  return t.topics.map((x) => ({
    name: x.name,
    resultsByPartition: x.partitions.map((partitionIndex) => ({
      partitionIndex,
      partitionErrorCode: codes[i++],
    })),
  }));
}

/** v0-3: one transaction (a client's); v4+: several (KIP-890, a broker verifying). */
export async function handleAddPartitionsToTxn(
  txn: TransactionCoordinator,
  req: AddPartitionsToTxnRequest,
  version: number,
): Promise<AddPartitionsToTxnResponse> {
  if (version <= 3) {
    const resultsByTopicV3AndBelow = await addOne(
      txn,
      {
        transactionalId: req.v3AndBelowTransactionalId,
        producerId: req.v3AndBelowProducerId,
        producerEpoch: req.v3AndBelowProducerEpoch,
        verifyOnly: false,
        topics: req.v3AndBelowTopics,
      },
      version,
    );
    return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction: [], resultsByTopicV3AndBelow };
  }
  const resultsByTransaction = [];
  for (const t of req.transactions)
    resultsByTransaction.push({
      transactionalId: t.transactionalId,
      topicResults: await addOne(txn, t, version),
    });
  return { throttleTimeMs: 0, errorCode: 0, resultsByTransaction, resultsByTopicV3AndBelow: [] };
}

export async function handleAddOffsetsToTxn(
  txn: TransactionCoordinator,
  offsetsPartitions: number,
  req: AddOffsetsToTxnRequest,
  version: number,
): Promise<AddOffsetsToTxnResponse> {
  const errorCode = await txn.addOffsets(
    req.transactionalId,
    req.producerId,
    req.producerEpoch,
    { topic: OFFSETS_TOPIC, partition: offsetsPartitionFor(req.groupId, offsetsPartitions) },
    version,
  );
  return { throttleTimeMs: 0, errorCode };
}

export async function handleEndTxn(
  txn: TransactionCoordinator,
  req: EndTxnRequest,
  version: number,
): Promise<EndTxnResponse> {
  const errorCode = await txn.endTxn(
    req.transactionalId,
    req.producerId,
    req.producerEpoch,
    req.committed,
    version,
  );
  return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
}

/** WriteTxnMarkers: this broker leads the partitions named (a coordinator elsewhere asks). */
export async function handleWriteTxnMarkers(
  markers: MarkerWriter,
  req: WriteTxnMarkersRequest,
): Promise<WriteTxnMarkersResponse> {
  const out: WriteTxnMarkersResponse["markers"] = [];
  for (const m of req.markers) {
    const topics = [];
    for (const t of m.topics) {
      const partitions = [];
      for (const partitionIndex of t.partitionIndexes) {
        const errorCode = await markers.writeLocal(t.name, partitionIndex, {
          producerId: m.producerId,
          producerEpoch: m.producerEpoch,
          commit: m.transactionResult,
          coordinatorEpoch: m.coordinatorEpoch,
        });
        partitions.push({ partitionIndex, errorCode });
      }
      topics.push({ name: t.name, partitions });
    }
    out.push({ producerId: m.producerId, topics });
  }
  return { markers: out };
}

export function handleDescribeTransactions(
  txn: TransactionCoordinator,
  req: DescribeTransactionsRequest,
): DescribeTransactionsResponse {
  return {
    throttleTimeMs: 0,
    transactionStates: req.transactionalIds.map((id) => {
      const d = txn.describe(id);
      const byTopic = new Map<string, number[]>();
      for (const p of d.partitions) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
      return {
        errorCode: d.errorCode,
        transactionalId: id,
        transactionState: d.state,
        transactionTimeoutMs: d.timeoutMs,
        transactionStartTimeMs: d.startTimeMs,
        producerId: d.producerId,
        producerEpoch: d.producerEpoch,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
    }),
  };
}

export function handleListTransactions(
  txn: TransactionCoordinator,
  req: ListTransactionsRequest,
  version: number,
): ListTransactionsResponse {
  const r = txn.list(req.stateFilters, req.producerIdFilters, version >= 1 ? req.durationFilter : -1);
  return {
    throttleTimeMs: 0,
    errorCode: ErrorCode.NONE,
    unknownStateFilters: r.unknownStates,
    transactionStates: r.txns.map((t) => ({
      transactionalId: t.transactionalId,
      producerId: t.producerId,
      transactionState: t.state,
    })),
  };
}
