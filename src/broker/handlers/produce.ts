// Produce (v0-11). The acceptor reads the topic/partition record sets as views of the frame,
// checks only what needs no decoding, and hands each batch to its partition's writer; the
// writer validates (CRC, offsets, codec), appends, and completes. acks=0 gets no reply.
// v0-2 carry message sets of magic 0/1: the acceptor converts each to one RecordBatch v2
// (message_set.ts, Kafka's up-conversion on append), off the zero-copy path, and the writer
// takes that batch like any other.

import { ErrorCode } from "../../protocol/error_codes.ts";
import { messageSetToBatch } from "../../protocol/message_set.ts";
import type { ProducePartitionResponse, ProduceRequest, ProduceResponse } from "../../protocol/produce.ts";
import {
  ATTR_TRANSACTIONAL,
  ATTRIBUTES,
  LAST_OFFSET_DELTA,
  PRODUCER_EPOCH,
  PRODUCER_ID,
  RECORD_COUNT,
} from "../../protocol/record_batch_layout.ts";
import { DEFAULT_MAX_UNCOMPRESSED_BYTES } from "../../protocol/record_validation.ts";
import { validationOf } from "../../schema_registry/validation.ts";
import { type HandlerResult, NO_REPLY, type RequestContext } from "../../transport/connection.ts";
import { autoCreateBudget, type BrokerContext } from "../context.ts";
import { isInternalTopic } from "../internal_topic.ts";
import type { PartitionEntry } from "../log_manager.ts";
import { AclOperation, allowed, ResourceType } from "../security/access.ts";

/** A RecordBatch's lastOffsetDelta (bytes 23-26, record_batch_layout.ts). */
function lastOffsetDelta(batch: Uint8Array): number {
  return new DataView(batch.buffer, batch.byteOffset, batch.byteLength).getInt32(LAST_OFFSET_DELTA);
}

/** A RecordBatch's record count (bytes 57-60, big-endian; 0 for a batch too short to hold it). */
function recordCount(batch: Uint8Array): number {
  if (batch.length < RECORD_COUNT + 4) return 0;
  const at = RECORD_COUNT;
  return ((batch[at] << 24) | (batch[at + 1] << 16) | (batch[at + 2] << 8) | batch[at + 3]) >>> 0;
}

/** Bytes the message sets of one Produce v0-2 request may decompress to, together. */
const LEGACY_REQUEST_BYTES = DEFAULT_MAX_UNCOMPRESSED_BYTES;

export function handleProduce(
  ctx: BrokerContext,
  req: ProduceRequest,
  version: number,
  rc?: Pick<RequestContext, "connection">,
): HandlerResult | Promise<HandlerResult> {
  const acks = req.acks;
  const responses = req.topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map(
      (p): ProducePartitionResponse => ({
        partitionIndex: p.partitionIndex,
        errorCode: 0,
        baseOffset: -1,
        logAppendTimeMs: -1,
        logStartOffset: -1,
      }),
    ),
  }));
  const reply = (): ProduceResponse => ({ responses, throttleTimeMs: 0 });
  if (acks !== 0 && acks !== 1 && acks !== -1) {
    for (const t of responses) for (const p of t.partitions) p.errorCode = ErrorCode.INVALID_REQUIRED_ACKS;
    return acks === 0 ? NO_REPLY : reply();
  }
  let waiting = 0;
  let legacyBudget = LEGACY_REQUEST_BYTES;
  // A partition named twice in one request is written once (the first; Kafka keys a request by
  // partition): the repeats answer INVALID_REQUEST and append nothing. (Only a request of several
  // partitions can repeat one: the usual single-partition request keeps no set.)
  const seen =
    responses.length > 1 || (responses[0]?.partitions.length ?? 0) > 1 ? new Set<PartitionEntry>() : null;
  let resolve: ((r: HandlerResult) => void) | null = null;
  const creations: Promise<void>[] = [];

  const submit = (topic: string, records: Uint8Array | null, out: ProducePartitionResponse): void => {
    if (out.errorCode !== 0) return; // refused before (a transaction's verification)
    const entry = ctx.logs.partitionOf(topic, out.partitionIndex);
    if (seen !== null && entry !== undefined) {
      if (seen.has(entry)) {
        out.errorCode = ErrorCode.INVALID_REQUEST;
        return;
      }
      seen.add(entry);
    }
    if (isInternalTopic(topic)) {
      // Internal: only its coordinator writes it.
      out.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
      return;
    }
    const cluster = ctx.cluster;
    if (entry === undefined) {
      // In a cluster a partition led elsewhere is not here: the client should ask the leader.
      out.errorCode =
        cluster?.cache.partition(topic, out.partitionIndex) !== undefined
          ? ErrorCode.NOT_LEADER_OR_FOLLOWER
          : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return;
    }
    if (cluster !== null) {
      // Only the leader appends; acks=all needs min.insync.replicas in the ISR first.
      const problem = cluster.replicas.appendProblem(entry, acks);
      if (problem !== ErrorCode.NONE) {
        out.errorCode = problem;
        return;
      }
    }
    if (records === null || records.length === 0) {
      // v0-2: Kafka appends nothing and answers NONE (offset -1); v3+ need a batch.
      out.errorCode = version < 3 && records !== null ? ErrorCode.NONE : ErrorCode.INVALID_RECORD;
      return;
    }
    const topicEntry = ctx.logs.topics.get(topic)!;
    const { maxMessageBytes, compact } = topicEntry.logConfig;
    if (records.length > maxMessageBytes) {
      out.errorCode = ErrorCode.MESSAGE_TOO_LARGE;
      return;
    }
    if (version < 3) {
      // A message set: at most max.message.bytes once converted, as Kafka checks it, and the
      // request's sets together decompress to at most LEGACY_REQUEST_BYTES (the conversion runs
      // on the acceptor thread: a request of many small gzip bombs must not hold it).
      if (legacyBudget <= 0) {
        out.errorCode = ErrorCode.MESSAGE_TOO_LARGE;
        ctx.logger.limited(
          "message set refused",
          `Produce v${version} to ${topic}: the request's message sets decompress to more than ${LEGACY_REQUEST_BYTES} bytes`,
        );
        return;
      }
      const converted = messageSetToBatch(records, Date.now(), {
        maxRecords: Math.ceil(maxMessageBytes / 7),
        maxUncompressedBytes: Math.min(maxMessageBytes, legacyBudget),
        compacted: compact,
      });
      if ("errorCode" in converted) {
        out.errorCode = converted.errorCode;
        ctx.logger.limited("message set refused", `Produce v${version} to ${topic}: ${converted.message}`);
        return;
      }
      legacyBudget -= converted.uncompressedBytes;
      if (converted.batch.length > maxMessageBytes) {
        out.errorCode = ErrorCode.MESSAGE_TOO_LARGE;
        return;
      }
      records = converted.batch;
    }
    // key/value.schema.validation (topic configs): only topics with overrides are looked at.
    const sides = topicEntry.overrides.size === 0 ? null : validationOf(topicEntry.overrides);
    if (sides !== null) {
      const why =
        ctx.schemaCheck === undefined
          ? `Topic ${topic} has schema validation on, but this broker runs no Schema Registry`
          : ctx.schemaCheck(topic, sides, records);
      if (why !== null) {
        out.errorCode = ErrorCode.INVALID_RECORD;
        out.errorMessage = why;
        ctx.logger.limited("schema validation", `Produce to ${topic}-${out.partitionIndex} refused: ${why}`);
        return;
      }
    }
    waiting++;
    const purgatory = ctx.purgatory;
    if (acks === -1) purgatory.produce++;
    const done = () => {
      if (acks === -1) purgatory.produce--;
      if (--waiting === 0 && resolve !== null) resolve(acks === 0 ? NO_REPLY : reply());
    };
    const delta = cluster !== null && acks === -1 ? lastOffsetDelta(records) : 0;
    // Kafka's BytesInPerSec and MessagesInPerSec: the batch's bytes and its record count, once
    // appended (a retried batch the writer found a duplicate of counts again, as in Kafka).
    const batchBytes = records.length;
    const batchRecords = recordCount(records);
    const tag = ctx.tracker.register((errorCode, baseOffset) => {
      out.errorCode = errorCode;
      if (errorCode === 0) {
        out.baseOffset = baseOffset;
        out.logStartOffset = ctx.logs.logStartOffset(entry);
        entry.messagesIn += batchRecords;
        entry.bytesIn += batchBytes;
      }
      if (errorCode === 0 && acks === -1 && cluster !== null) {
        // acks=all in a cluster: answered once every in-sync replica has the batch (the high
        // watermark passed its last offset), or with the reason it cannot be.
        const end = baseOffset + delta + 1;
        void cluster.replicas.awaitReplication(entry, end, req.timeoutMs).then((code) => {
          out.errorCode = code;
          if (code !== 0) out.baseOffset = -1;
          done();
        });
        return;
      }
      done();
    });
    ctx.writers.append(entry.slot, tag, acks, records);
  };

  // A transactional produce (Produce v3+ with a transactional id): every partition must be in
  // its producer's ongoing transaction at the coordinator (KIP-890), or a batch sent outside one
  // would open a transaction nobody ends and hold read_committed readers back forever.
  // Transactional batches without a transactional id are refused as Kafka refuses them
  // (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
  if (version >= 3 && (req.transactionalId !== null || hasTransactional(req)))
    return verifyThen(ctx, req, responses, () => produceAll());
  return produceAll();

  function produceAll(): HandlerResult | Promise<HandlerResult> {
    const budget = autoCreateBudget(ctx.config);
    // Kafka's ACLs: WRITE on the transactional id (the whole request), on each topic (its partitions).
    const checking = rc !== undefined && ctx.authorizer.enabled;
    if (
      checking &&
      req.transactionalId !== null &&
      !allowed(ctx, rc, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactionalId)
    ) {
      for (const t of responses)
        for (const p of t.partitions) p.errorCode = ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
      return acks === 0 ? NO_REPLY : reply();
    }
    for (let i = 0; i < req.topics.length; i++) {
      const t = req.topics[i];
      const outs = responses[i].partitions;
      if (checking && !allowed(ctx, rc, AclOperation.WRITE, ResourceType.TOPIC, t.name)) {
        for (const o of outs) o.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        continue;
      }
      if (!ctx.logs.topics.has(t.name)) {
        // auto.create.topics.enable: a producer writing to a topic creates it.
        const created = ctx.autoCreate(t.name, budget);
        if (created !== null) {
          // The frame's bytes stay referenced by `t`, so they are still valid after the wait.
          creations.push(
            created.then((code) => {
              for (let j = 0; j < t.partitions.length; j++) {
                if (code !== ErrorCode.NONE) outs[j].errorCode = code;
                else submit(t.name, t.partitions[j].records, outs[j]);
              }
            }),
          );
          continue;
        }
      }
      for (let j = 0; j < t.partitions.length; j++) submit(t.name, t.partitions[j].records, outs[j]);
    }
    const finish = (): HandlerResult | Promise<HandlerResult> => {
      if (acks === 0 || waiting === 0) return acks === 0 ? NO_REPLY : reply();
      return new Promise((r) => {
        resolve = r;
      });
    };
    if (creations.length > 0) return Promise.all(creations).then(finish);
    return finish();
  }
}

/** Whether any partition's record set is a transactional batch (its attributes, bit 4). */
function hasTransactional(req: ProduceRequest): boolean {
  for (const t of req.topics)
    for (const p of t.partitions) {
      const r = p.records;
      if (r !== null && r.length >= 61 && (r[ATTRIBUTES + 1] & ATTR_TRANSACTIONAL) !== 0) return true;
    }
  return false;
}

/**
 * Verify the request's transactional batches with the coordinator (ctx.verifyTransaction), mark
 * the partitions that fail (their records are dropped from the request), then produce the rest.
 */
async function verifyThen(
  ctx: BrokerContext,
  req: ProduceRequest,
  responses: { name: string; partitions: ProducePartitionResponse[] }[],
  produce: () => HandlerResult | Promise<HandlerResult>,
): Promise<HandlerResult> {
  const asked: { topic: string; partition: number; out: ProducePartitionResponse; drop: () => void }[] = [];
  let producerId = -1;
  let producerEpoch = -1;
  req.topics.forEach((t, i) => {
    t.partitions.forEach((p, j) => {
      const r = p.records;
      if (r === null || r.length < 61) return;
      const v = new DataView(r.buffer, r.byteOffset, r.byteLength);
      if ((v.getInt16(ATTRIBUTES) & ATTR_TRANSACTIONAL) === 0) return;
      producerId = Number(v.getBigInt64(PRODUCER_ID));
      producerEpoch = v.getInt16(PRODUCER_EPOCH);
      asked.push({
        topic: t.name,
        partition: p.partitionIndex,
        out: responses[i].partitions[j],
        drop: () => {
          p.records = null;
        },
      });
    });
  });
  if (asked.length > 0) {
    let codes: number[];
    try {
      codes =
        req.transactionalId === null
          ? asked.map(() => ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
          : await ctx.verifyTransaction(req.transactionalId, producerId, producerEpoch, asked);
    } catch {
      codes = asked.map(() => ErrorCode.NOT_COORDINATOR);
    }
    asked.forEach((a, k) => {
      if (codes[k] === ErrorCode.NONE) return;
      a.drop();
      a.out.errorCode = codes[k];
    });
  }
  return produce();
}
