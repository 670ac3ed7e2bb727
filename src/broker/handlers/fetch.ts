// Fetch (v4-11): reads never go through a writer. Each partition's stored batches are read
// from its segment file and sent as they are (sendfile-style). Long-poll: when fewer than
// min_bytes are ready, the request parks on its partitions until an append wakes it or
// max_wait_ms passes. KIP-74: the first partition with data may exceed max_bytes and
// partition_max_bytes by one whole batch; later partitions that do not fit return empty.
//
// Memory: a response is at most fetch.max.bytes (the broker's cap on max_bytes) plus one batch;
// its bytes sit in pooled buffers until sent, counted per connection and broker-wide, so a
// consumer that stops reading holds one response's worth and its next fetch waits.

import { readBuffers } from "../../log/read_buffers.ts";
import { ErrorCode } from "../../protocol/error_codes.ts";
import type { FetchPartitionResponse, FetchRequest, FetchResponse } from "../../protocol/fetch.ts";
import { ON_SENT, type Releasable, type RequestContext } from "../../transport/connection.ts";
import { autoCreateBudget, type BrokerContext } from "../context.ts";
import type { PartitionEntry } from "../log_manager.ts";

interface ReadOutcome {
  res: FetchResponse;
  bytes: number;
  entries: PartitionEntry[];
  /** Log end offsets seen, to catch an append that landed while reading. */
  seen: number[];
}

/** Smallest budget a fetch gets when the broker-wide fetch memory is taken (fetch.max.buffered.bytes). */
const FLOOR_BYTES = 1024 * 1024;

async function readAll(ctx: BrokerContext, req: FetchRequest, maxBytes: number): Promise<ReadOutcome> {
  let budget = maxBytes;
  let bytes = 0;
  const entries: PartitionEntry[] = [];
  const seen: number[] = [];
  const responses = [];
  for (const t of req.topics) {
    const partitions: FetchPartitionResponse[] = [];
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
      const e = ctx.logs.partitionOf(t.topic, p.partition);
      if (e === undefined) {
        out.errorCode = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      if (ctx.logs.isOffline(e)) {
        out.errorCode = ErrorCode.KAFKA_STORAGE_ERROR;
        continue;
      }
      entries.push(e);
      const start = ctx.logs.logStartOffset(e);
      const end = e.reader.logEndOffset;
      seen.push(end);
      out.highWatermark = end;
      out.lastStableOffset = end;
      out.logStartOffset = start;
      out.abortedTransactions = req.isolationLevel === 1 ? [] : null;
      if (p.fetchOffset < start || p.fetchOffset > end) {
        out.errorCode = ErrorCode.OFFSET_OUT_OF_RANGE;
        continue;
      }
      if (p.fetchOffset === end) continue;
      // The first data in the response may exceed the limits (one whole batch, KIP-74).
      if (bytes > 0 && budget <= 0) continue;
      // partitionMaxBytes is the client's: zero or negative asks for nothing past the first data.
      const limit =
        bytes === 0
          ? Math.max(1, Math.min(p.partitionMaxBytes, budget))
          : Math.min(p.partitionMaxBytes, budget);
      if (limit <= 0) continue;
      const data = await e.reader.read(p.fetchOffset, limit);
      if (data === null) continue;
      if (bytes > 0 && data.length > limit) {
        readBuffers.release(data);
        continue;
      }
      out.records = [data];
      bytes += data.length;
      budget -= data.length;
    }
    responses.push({ topic: t.topic, partitions });
  }
  return { res: { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses }, bytes, entries, seen };
}

export async function handleFetch(
  ctx: BrokerContext,
  req: FetchRequest,
  rc: RequestContext,
): Promise<FetchResponse> {
  // A consumer fetching from a topic creates it (auto.create.topics.enable).
  const budget = autoCreateBudget(ctx.config);
  for (const t of req.topics) {
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
      outcome = await readAll(ctx, req, maxBytes);
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
      return res;
    }
    release();
    if (entries.some((e, i) => e.reader.logEndOffset !== seen[i])) continue;
    await new Promise<void>((resolve) => {
      let done = false;
      const wake = () => {
        if (done) return;
        done = true;
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
