// DeleteRecords and DescribeProducers: questions about a partition's log that only its writer
// can answer, sent through the writer's ring as control ops (writer_protocol.ts), so they come
// after every batch sent to the partition before them.
//
// DeleteRecords (Kafka's ReplicaManager.deleteRecords, Partition.deleteRecordsOnLeader,
// UnifiedLog.maybeIncrementLogStartOffset), per partition:
//   not hosted here                          UNKNOWN_TOPIC_OR_PARTITION, low watermark -1
//   an internal topic (__consumer_offsets)   INVALID_TOPIC_EXCEPTION ("Cannot delete records of
//                                            internal topic ...")
//   offline after a storage error            KAFKA_STORAGE_ERROR
//   offset -1                                the high watermark (the log end: one replica)
//   offset < 0 otherwise, or past the end    OFFSET_OUT_OF_RANGE
//   offset at or below the log start         nothing changes; the current start is answered
//   otherwise                                the log start moves there: fetches below it answer
//                                            OFFSET_OUT_OF_RANGE, ListOffsets earliest gives it,
//                                            closed segments wholly below it are deleted
// The new start is durable before it is answered: the log dir's log-start-offset checkpoint is
// written again (fsynced) unless it holds the start already, so it survives a crash. Kafka
// writes that checkpoint only every log.flush.start.offset.checkpoint.interval.ms; here an
// acknowledged deletion is never undone by a crash. The wait for the writer and the checkpoint
// is bounded by timeout_ms (a partition not done by then answers REQUEST_TIMED_OUT and finishes
// in the background); Kafka's timeout covers only the replicas, its local deletion being
// synchronous, so a timeout_ms of 0 or less waits up to DEFAULT_WAIT_MS instead of failing at
// once. A partition named twice is answered once, for its last offset (Kafka keys by partition).
//
// DescribeProducers (KafkaApis.handleDescribeProducersRequest): per partition, the idempotent
// producers its writer remembers (producer_state.ts): id, epoch, last sequence, last batch's
// timestamp; coordinator epoch and transaction start -1 (no transactions). An invalid topic name
// answers INVALID_TOPIC_EXCEPTION, an unknown topic UNKNOWN_TOPIC_OR_PARTITION, both with
// Kafka's message; an unknown partition UNKNOWN_TOPIC_OR_PARTITION and an offline one
// KAFKA_STORAGE_ERROR. NOT_LEADER_OR_FOLLOWER never: this broker leads every partition it has.

import { validTopicName } from "../../log/segment_files.ts";
import type { DeleteRecordsResult } from "../../log/writer_protocol.ts";
import type { DeleteRecordsRequest, DeleteRecordsResponse } from "../../protocol/delete_records.ts";
import type {
  DescribeProducersRequest,
  DescribeProducersResponse,
} from "../../protocol/describe_producers.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { BrokerContext } from "../context.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";
import type { PartitionEntry } from "../log_manager.ts";

/** Kafka's internal topics (Topic.isInternal): their records cannot be deleted. */
const INTERNAL_TOPICS = new Set([OFFSETS_TOPIC, "__transaction_state", "__share_group_state"]);

/** The wait for a DeleteRecords whose timeout_ms is 0 or less (Kafka's request.timeout.ms default). */
export const DEFAULT_WAIT_MS = 30_000;

type PartitionResult = DeleteRecordsResponse["topics"][number]["partitions"][number];

function failed(partitionIndex: number, errorCode: number): PartitionResult {
  return { partitionIndex, lowWatermark: -1, errorCode };
}

/** One partition's deletion: the writer's op, then the checkpoint. */
async function deleteOne(ctx: BrokerContext, e: PartitionEntry, offset: number): Promise<PartitionResult> {
  let r: DeleteRecordsResult;
  try {
    r = await ctx.writers.deleteRecords(e.slot, offset);
  } catch (err) {
    ctx.logger.limited("delete records", `DeleteRecords on ${e.dir} failed: ${(err as Error).message}`);
    return failed(e.partition, ErrorCode.KAFKA_STORAGE_ERROR);
  }
  if (r.errorCode !== ErrorCode.NONE) return failed(e.partition, r.errorCode);
  try {
    if (!(await ctx.logs.makeLogStartDurable(e, r.lowWatermark)))
      return failed(e.partition, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
  } catch (err) {
    ctx.logger.limited(
      "delete records",
      `DeleteRecords on ${e.dir}: the log start ${r.lowWatermark} could not be checkpointed: ${(err as Error).message}`,
    );
    return failed(e.partition, ErrorCode.KAFKA_STORAGE_ERROR);
  }
  if (r.segmentsDeleted > 0)
    ctx.logger.limited(
      "delete records",
      `DeleteRecords: log start of ${e.topic}-${e.partition} is ${r.lowWatermark}; ${r.segmentsDeleted} segment(s) below it deleted`,
    );
  return { partitionIndex: e.partition, lowWatermark: r.lowWatermark, errorCode: ErrorCode.NONE };
}

export async function handleDeleteRecords(
  ctx: BrokerContext,
  req: DeleteRecordsRequest,
): Promise<DeleteRecordsResponse> {
  // Kafka keys the request by partition: a topic or partition named twice is answered once.
  const wanted = new Map<string, Map<number, number>>();
  for (const t of req.topics) {
    let parts = wanted.get(t.name);
    if (parts === undefined) wanted.set(t.name, (parts = new Map()));
    for (const p of t.partitions) parts.set(p.partitionIndex, p.offset);
  }
  const waitMs = req.timeoutMs > 0 ? req.timeoutMs : DEFAULT_WAIT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), waitMs);
  });
  const topics = [...wanted].map(([name, parts]) => ({
    name,
    partitions: [...parts].map(async ([index, offset]): Promise<PartitionResult> => {
      const e = ctx.logs.partitionOf(name, index);
      if (e === undefined) return failed(index, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      if (INTERNAL_TOPICS.has(name)) return failed(index, ErrorCode.INVALID_TOPIC_EXCEPTION);
      if (ctx.logs.isOffline(e)) return failed(index, ErrorCode.KAFKA_STORAGE_ERROR);
      const done = await Promise.race([deleteOne(ctx, e, offset), timedOut]);
      return done === "timeout" ? failed(index, ErrorCode.REQUEST_TIMED_OUT) : done;
    }),
  }));
  try {
    return {
      throttleTimeMs: 0,
      topics: await Promise.all(
        topics.map(async (t) => ({ name: t.name, partitions: await Promise.all(t.partitions) })),
      ),
    };
  } finally {
    clearTimeout(timer);
  }
}

type ProducersPartition = DescribeProducersResponse["topics"][number]["partitions"][number];

/** Kafka's Topic.validate message for an invalid name, or null for a valid one. */
function topicNameProblem(name: string): string | null {
  if (validTopicName(name)) return null;
  const why =
    name.length === 0
      ? "the empty string is not allowed"
      : name === "." || name === ".."
        ? `'${name}' is not allowed`
        : name.length > 249
          ? `the length of '${name}' is longer than the max allowed length 249`
          : `'${name}' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return `Topic name is invalid: ${why}`;
}

async function producersOf(ctx: BrokerContext, e: PartitionEntry): Promise<ProducersPartition> {
  const out: ProducersPartition = {
    partitionIndex: e.partition,
    errorCode: ErrorCode.NONE,
    errorMessage: null,
    activeProducers: [],
  };
  if (ctx.logs.isOffline(e)) {
    out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
    return out;
  }
  try {
    const r = await ctx.writers.describeProducers(e.slot);
    out.errorCode = r.errorCode;
    out.activeProducers = r.producers.map((p) => ({
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      lastSequence: p.lastSequence,
      lastTimestamp: p.lastTimestamp,
      coordinatorEpoch: -1,
      currentTxnStartOffset: p.currentTxnStartOffset ?? -1,
    }));
  } catch (err) {
    ctx.logger.limited(
      "describe producers",
      `DescribeProducers on ${e.dir} failed: ${(err as Error).message}`,
    );
    out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
  }
  return out;
}

export async function handleDescribeProducers(
  ctx: BrokerContext,
  req: DescribeProducersRequest,
): Promise<DescribeProducersResponse> {
  const topics = req.topics.map(async (t) => {
    const problem = topicNameProblem(t.name);
    const topicError =
      problem !== null
        ? { errorCode: ErrorCode.INVALID_TOPIC_EXCEPTION, errorMessage: problem }
        : ctx.logs.topics.has(t.name)
          ? null
          : {
              errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
              errorMessage: "This server does not host this topic-partition.",
            };
    const partitions = t.partitionIndexes.map(async (index): Promise<ProducersPartition> => {
      if (topicError !== null) return { partitionIndex: index, ...topicError, activeProducers: [] };
      const e = ctx.logs.partitionOf(t.name, index);
      if (e === undefined)
        return {
          partitionIndex: index,
          errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: null,
          activeProducers: [],
        };
      return producersOf(ctx, e);
    });
    return { name: t.name, partitions: await Promise.all(partitions) };
  });
  return { throttleTimeMs: 0, topics: await Promise.all(topics) };
}
