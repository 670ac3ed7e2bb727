// Fetch (v0-17): reads never go through a writer. Each partition's stored batches are read
// from its segment file and sent as they are (sendfile-style). Long-poll: when fewer than
// min_bytes are ready, the request parks on its partitions until an append wakes it or
// max_wait_ms passes. KIP-74: the first partition with data may exceed max_bytes and
// partition_max_bytes by one whole batch; later partitions that do not fit return empty.
//
// Memory: a response is at most fetch.max.bytes (the broker's cap on max_bytes) plus one batch;
// its bytes sit in pooled buffers until sent, counted per connection and broker-wide, so a
// consumer that stops reading holds one response's worth and its next fetch waits.
//
// v13+ name topics by id (an unknown id: UNKNOWN_TOPIC_ID). v0-3 consumers read message format
// v0 (Fetch v0-1) or v1 (v2-3): their data is converted from the stored batches
// (message_set.ts), the one place a fetch looks inside the records.

import { F_FIRST_UNSTABLE_OFFSET } from "../../log/partition_state.ts";
import { readBuffers } from "../../log/read_buffers.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import {
  type FetchPartitionResponse,
  type FetchRequest,
  type FetchResponse,
  ZERO_TOPIC_ID,
} from "../../protocol/fetch.ts";
import { downConvertBatches } from "../../protocol/message_set.ts";
import { ON_SENT, type Releasable, type RequestContext } from "../../transport/connection.ts";
import { autoCreateBudget, type BrokerContext } from "../context.ts";
import type { PartitionEntry } from "../log_manager.ts";
import { AclOperation, allowed, allowedBetweenBrokers, ResourceType } from "../security/access.ts";

interface ReadOutcome {
  res: FetchResponse;
  bytes: number;
  entries: PartitionEntry[];
  /** Log end offsets seen, to catch an append that landed while reading. */
  seen: number[];
}

/** Smallest budget a fetch gets when the broker-wide fetch memory is taken (fetch.max.buffered.bytes). */
const FLOOR_BYTES = 1024 * 1024;

/** The message format a Fetch version reads: v0-1 magic 0, v2-3 magic 1, v4+ the stored v2. */
function fetchMagic(version: number): 0 | 1 | 2 {
  return version <= 1 ? 0 : version <= 3 ? 1 : 2;
}

async function readAll(
  ctx: BrokerContext,
  req: FetchRequest,
  version: number,
  maxBytes: number,
  rc: RequestContext,
): Promise<ReadOutcome> {
  const magic = fetchMagic(version);
  let budget = maxBytes;
  let bytes = 0;
  const entries: PartitionEntry[] = [];
  const seen: number[] = [];
  const responses = [];
  for (const t of req.topics) {
    const partitions: FetchPartitionResponse[] = [];
    const topic =
      version >= 13 ? ctx.logs.topicById(t.topicId ?? ZERO_TOPIC_ID) : ctx.logs.topics.get(t.topic);
    // Kafka's ACLs: READ on the topic for a consumer, CLUSTER_ACTION for a follower.
    const denied =
      ctx.authorizer.enabled &&
      (req.replicaId >= 0
        ? !allowedBetweenBrokers(ctx, rc, "Fetch from a follower")
        : !allowed(ctx, rc, AclOperation.READ, ResourceType.TOPIC, topic?.name ?? t.topic));
    for (const p of t.partitions) {
      const out: FetchPartitionResponse = {
        partitionIndex: p.partition,
        errorCode: 0,
        highWatermark: -1,
        lastStableOffset: -1,
        logStartOffset: -1,
        abortedTransactions: null,
        preferredReadReplica: -1,
        records: [],
      };
      partitions.push(out);
      if (denied) {
        out.errorCode = ErrorCode.TOPIC_AUTHORIZATION_FAILED;
        continue;
      }
      const e = topic?.partitions[p.partition];
      const cluster = ctx.cluster;
      if (e === undefined) {
        const name =
          topic?.name ??
          (version >= 13 ? cluster?.cache.topicById(t.topicId ?? ZERO_TOPIC_ID)?.name : t.topic);
        out.errorCode =
          cluster !== null && name !== undefined && cluster.cache.partition(name, p.partition) !== undefined
            ? ErrorCode.NOT_LEADER_OR_FOLLOWER
            : version >= 13 && topic === undefined
              ? ErrorCode.UNKNOWN_TOPIC_ID
              : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      if (ctx.logs.isOffline(e)) {
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        continue;
      }
      if (cluster !== null) {
        // Only the leader serves, consumers and followers alike; a follower's fetch is how the
        // leader learns its log end offset (the ISR and the high watermark follow).
        const problem = cluster.replicas.leaderProblem(e, p.currentLeaderEpoch);
        if (problem !== ErrorCode.NONE) {
          out.errorCode = problem;
          continue;
        }
        // A follower's offset counts only once it is inside the log (KAFKA-8400: one ahead of
        // the leader's end must not enter the ISR or move the high watermark).
        const inside = p.fetchOffset >= ctx.logs.logStartOffset(e) && p.fetchOffset <= e.reader.logEndOffset;
        if (req.replicaId >= 0 && inside) {
          const refused = cluster.replicas.followerFetched(e, req.replicaId, p.fetchOffset);
          if (refused !== ErrorCode.NONE) {
            out.errorCode = refused;
            continue;
          }
        }
      }
      entries.push(e);
      const start = ctx.logs.logStartOffset(e);
      const end = e.reader.logEndOffset;
      // Consumers read up to the high watermark (read_committed ones to the last stable offset);
      // followers to the log end.
      const bound = readableEnd(ctx, e, req.replicaId, req.isolationLevel);
      seen.push(bound);
      out.highWatermark = cluster === null ? end : cluster.replicas.highWatermark(e);
      out.lastStableOffset = lastStableOffset(ctx, e, out.highWatermark);
      out.logStartOffset = start;
      out.abortedTransactions = null;
      if (p.fetchOffset < start || p.fetchOffset > end) {
        out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        continue;
      }
      if (req.isolationLevel === 1 && req.replicaId < 0) {
        // The aborted transactions overlapping what this fetch may return: the consumer drops
        // their records (Kafka's UnifiedLog.collectAbortedTransactions).
        out.abortedTransactions = (await e.reader.abortedTxns(() => ctx.writers.abortedTxns(e.slot)))
          .filter((a) => a.lastOffset >= p.fetchOffset && a.firstOffset < bound)
          .map((a) => ({ producerId: a.producerId, firstOffset: a.firstOffset }));
      }
      if (p.fetchOffset >= bound) continue;
      // The first data in the response may exceed the limits (one whole batch, KIP-74).
      if (bytes > 0 && budget <= 0) continue;
      // partitionMaxBytes is the client's: zero or negative asks for nothing past the first data.
      const limit =
        bytes === 0
          ? Math.max(1, Math.min(p.partitionMaxBytes, budget))
          : Math.min(p.partitionMaxBytes, budget);
      if (limit <= 0) continue;
      let data: Uint8Array | null = await e.reader.read(p.fetchOffset, limit);
      if (data === null) continue;
      if (bound < end) {
        data = batchesBelow(data, bound);
        if (data.length === 0) {
          readBuffers.release(data);
          continue;
        }
      }
      if (bytes > 0 && data.length > limit) {
        readBuffers.release(data);
        continue;
      }
      if (magic < 2) {
        const stored = data;
        const converted = downConvertBatches(stored, magic as 0 | 1, limit, p.fetchOffset);
        readBuffers.release(stored);
        // Its own memory (never a slice of Node's shared pool), released with the reply.
        data = new Uint8Array(converted.set);
        if (data.length === 0 && converted.stopped !== null) {
          // Nothing this consumer can read (a codec it cannot be given, a corrupt batch): say
          // so rather than answer empty forever.
          out.errorCode = converted.stopped.errorCode;
          continue;
        }
      }
      out.records = [data];
      bytes += data.length;
      budget -= data.length;
    }
    responses.push({ topic: topic?.name ?? t.topic, topicId: t.topicId, partitions });
  }
  return { res: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses }, bytes, entries, seen };
}

/**
 * Where a fetch may read to: the log end for a follower or a single broker, else the high
 * watermark; for read_committed (isolation level 1) the last stable offset.
 */
function readableEnd(
  ctx: BrokerContext,
  e: PartitionEntry,
  replicaId: number,
  isolationLevel: number,
): number {
  const end = e.reader.logEndOffset;
  if (replicaId >= 0) return end;
  const hw = ctx.cluster === null ? end : Math.min(end, ctx.cluster.replicas.highWatermark(e));
  return isolationLevel === 1 ? lastStableOffset(ctx, e, hw) : hw;
}

/** The last stable offset: the high watermark, or the first offset of an open transaction below it. */
export function lastStableOffset(ctx: BrokerContext, e: PartitionEntry, highWatermark: number): number {
  const first = ctx.state.get(e.slot, F_FIRST_UNSTABLE_OFFSET);
  return first >= 0 && first < highWatermark ? first : highWatermark;
}

/** The whole batches of `data` that start below `bound` (a consumer's high watermark). */
function batchesBelow(data: Uint8Array, bound: number): Uint8Array {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let at = 0;
  while (at + 12 <= data.length) {
    if (Number(v.getBigInt64(at)) >= bound) break;
    at += 12 + v.getInt32(at + 8);
  }
  return data.subarray(0, Math.min(at, data.length));
}

export async function handleFetch(
  ctx: BrokerContext,
  req: FetchRequest,
  rc: RequestContext,
): Promise<FetchResponse> {
  const version = rc.header.apiVersion;
  // A consumer fetching from a topic creates it (auto.create.topics.enable); not by id (v13+).
  const budget = autoCreateBudget(ctx.config);
  for (const t of version >= 13 ? [] : req.topics) {
    if (!ctx.logs.topics.has(t.topic)) {
      const created = ctx.autoCreate(t.topic, budget);
      if (created !== null) await created;
    }
  }
  const deadline = Date.now() + Math.max(0, req.maxWaitMs);
  const conn = rc.connection;
  // fetch.max.bytes caps what any request may ask; unsent fetch data of this connection and of
  // all connections bounds what may be read now (Connection.awaitResponseRoom).
  const wanted = Math.max(1, Math.min(req.maxBytes, ctx.config.fetchMaxBytes));
  for (;;) {
    const maxBytes = await conn.reserveResponse(wanted, Math.min(wanted, FLOOR_BYTES));
    let outcome: ReadOutcome;
    try {
      outcome = await readAll(ctx, req, version, maxBytes, rc);
    } catch (e) {
      conn.releaseResponse(maxBytes);
      throw e;
    }
    const { res, bytes, entries, seen } = outcome;
    const remaining = deadline - Date.now();
    // The records are views of pooled read buffers: they go back once the reply has left, and
    // their memory is counted as this connection's until then (the reservation becomes it).
    let held = 0;
    for (const t of res.responses)
      for (const p of t.partitions) for (const r of p.records) held += readBuffers.footprint(r);
    conn.holdResponse(held - maxBytes);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const t of res.responses)
        for (const p of t.partitions) for (const r of p.records) readBuffers.release(r);
      conn.releaseResponse(held);
    };
    if (bytes >= req.minBytes || remaining <= 0 || conn.closed || entries.length === 0) {
      (res as Releasable)[ON_SENT] = release;
      if (bytes > 0 && req.replicaId < 0) countBytesOut(ctx, res);
      return res;
    }
    release();
    if (entries.some((e, i) => readableEnd(ctx, e, req.replicaId, req.isolationLevel) !== seen[i])) continue;
    ctx.purgatory.fetch++;
    await new Promise<void>((resolve) => {
      let done = false;
      const wake = () => {
        if (done) return;
        done = true;
        ctx.purgatory.fetch--;
        clearTimeout(timer);
        for (const e of entries) e.waiters.delete(wake);
        rc.connection.onClose.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, remaining);
      for (const e of entries) e.waiters.add(wake);
      rc.connection.onClose.add(wake);
    });
  }
}

/**
 * Kafka's BytesOutPerSec: the record bytes a consumer's fetch returns, per partition (followers'
 * fetches are replication, not counted). Counted when the answer is final, not per long-poll try.
 */
function countBytesOut(ctx: BrokerContext, res: FetchResponse): void {
  for (const t of res.responses) {
    const topic = ctx.logs.topics.get(t.topic);
    if (topic === undefined) continue;
    for (const p of t.partitions) {
      const e = topic.partitions[p.partitionIndex];
      if (e === undefined) continue;
      for (const r of p.records) e.bytesOut += r.length;
    }
  }
}
