// Produce (v0-11). The acceptor reads the topic/partition record sets as views of the frame,
// checks only what needs no decoding, and hands each batch to its partition's writer; the
// writer validates (CRC, offsets, codec), appends, and completes. acks=0 gets no reply.
// v0-2 carry message sets of magic 0/1: the acceptor converts each to one RecordBatch v2
// (message_set.ts, Kafka's up-conversion on append), off the zero-copy path, and the writer
// takes that batch like any other.

import { ErrorCode } from "../../protocol/error_codes.ts";
import { messageSetToBatch } from "../../protocol/message_set.ts";
import type { ProducePartitionResponse, ProduceRequest, ProduceResponse } from "../../protocol/produce.ts";
import { type HandlerResult, NO_REPLY } from "../../transport/connection.ts";
import { autoCreateBudget, type BrokerContext } from "../context.ts";
import { OFFSETS_TOPIC } from "../groups/offsets_replay.ts";

export function handleProduce(
  ctx: BrokerContext,
  req: ProduceRequest,
  version: number,
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
  let resolve: ((r: HandlerResult) => void) | null = null;
  const creations: Promise<void>[] = [];

  const submit = (topic: string, records: Uint8Array | null, out: ProducePartitionResponse): void => {
    const entry = ctx.logs.partitionOf(topic, out.partitionIndex);
    if (topic === OFFSETS_TOPIC) {
      // Internal: only the coordinator writes it.
      out.errorCode = ErrorCode.INVALID_TOPIC_EXCEPTION;
      return;
    }
    if (entry === undefined) {
      out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      return;
    }
    if (records === null || records.length === 0) {
      out.errorCode = ErrorCode.INVALID_RECORD;
      return;
    }
    const maxMessageBytes = ctx.logs.topics.get(topic)!.logConfig.maxMessageBytes;
    if (records.length > maxMessageBytes) {
      out.errorCode = ErrorCode.MESSAGE_TOO_LARGE;
      return;
    }
    if (version < 3) {
      // A message set: at most max.message.bytes once converted, as Kafka checks it.
      const converted = messageSetToBatch(records, Date.now(), {
        maxRecords: Math.ceil(maxMessageBytes / 7),
        maxUncompressedBytes: maxMessageBytes,
      });
      if ("errorCode" in converted) {
        out.errorCode = converted.errorCode;
        ctx.logger.limited("message set refused", `Produce v${version} to ${topic}: ${converted.message}`);
        return;
      }
      if (converted.batch.length > maxMessageBytes) {
        out.errorCode = ErrorCode.MESSAGE_TOO_LARGE;
        return;
      }
      records = converted.batch;
    }
    waiting++;
    const tag = ctx.tracker.register((errorCode, baseOffset) => {
      out.errorCode = errorCode;
      if (errorCode === 0) {
        out.baseOffset = baseOffset;
        out.logStartOffset = ctx.logs.logStartOffset(entry);
      }
      if (--waiting === 0 && resolve !== null) resolve(acks === 0 ? NO_REPLY : reply());
    });
    ctx.writers.append(entry.slot, tag, acks, records);
  };

  const budget = autoCreateBudget(ctx.config);
  for (let i = 0; i < req.topics.length; i++) {
    const t = req.topics[i];
    const outs = responses[i].partitions;
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
