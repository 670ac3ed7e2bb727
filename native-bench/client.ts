// A lean Kafka client for the benchmark, over either transport, built on Milena's own codecs
// (src/protocol). It does only what the figures need: send request frames with a window of
// requests in flight, match replies in order (checking the correlation id), create a topic,
// produce pre-built batches, fetch and walk batch headers. No record is ever decoded.
//
// TCP: node:net, 4-byte size-prefixed frames, read into a reused buffer (no allocation per read).
// WebSocket: one binary message = one frame without the size prefix, framed by the Node client's
// own WebSocket reader (src/client/websocket_node.ts) over node:net.

import { randomBytes } from "node:crypto";
import * as net from "node:net";
import { frameHeader, OP_BINARY, OP_PONG, upgradeRequest, WsReader } from "../src/client/websocket_node.ts";
import type { RequestHeader } from "../src/protocol/api.ts";
import { ApiKey } from "../src/protocol/api_keys.ts";
import { createTopicsCodec } from "../src/protocol/create_topics.ts";
import { consumerFetch, fetchCodec, fetchRecordsBuffer, ZERO_TOPIC_ID } from "../src/protocol/fetch.ts";
import { decodeResponseHeader, finishFrame, startRequestFrame } from "../src/protocol/header.ts";
import { produceCodec } from "../src/protocol/produce.ts";
import { Reader } from "../src/protocol/reader.ts";
import {
  BATCH_HEADER_BYTES,
  BATCH_LENGTH,
  LAST_OFFSET_DELTA,
  LOG_OVERHEAD,
  readInt64,
} from "../src/protocol/record_batch.ts";
import { Writer } from "../src/protocol/writer.ts";

export type TransportName = "tcp" | "websocket";

const CLIENT_ID = "milena-bench";
/** The TCP client's socket read buffer (reused for every read). */
const READ_BUFFER_BYTES = 1 << 20;
/** Byte offset of the correlation id in a size-prefixed request frame. */
const CORRELATION_AT = 8;

/** One connection: send a size-prefixed request frame, get the reply body (no size prefix). */
export interface BenchConnection {
  readonly transport: TransportName;
  send(frame: Buffer, onReply: (body: Buffer) => void): void;
  close(): void;
}

/** Replies matched in request order (Kafka answers each connection in order); a failure told once. */
abstract class InOrderReplies {
  private readonly waiting: ((body: Buffer) => void)[] = [];
  private head = 0;
  protected failure: Error | null = null;

  protected reply(body: Buffer): void {
    const cb = this.waiting[this.head];
    if (cb === undefined) throw new Error("reply without a request");
    this.waiting[this.head++] = undefined as never;
    if (this.head > 4096) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
    cb(body);
  }

  /** The socket failed or closed: reported when replies were still awaited. */
  protected fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    if (this.head < this.waiting.length) onConnectionError(e);
  }

  /** Expect a reply for a request about to be written. */
  protected expect(onReply: (body: Buffer) => void): void {
    if (this.failure) throw this.failure;
    this.waiting.push(onReply);
  }
}

/**
 * Size-prefixed replies matched in order over a stream socket: replies that sit whole in a read
 * are handed on as views of it, a reply spread over several reads is assembled in one reused,
 * growing buffer. Replies are valid only during the callback (every caller here decodes
 * synchronously). Subclasses feed onBytes from their socket's reads.
 */
export abstract class StreamReplies extends InOrderReplies {
  readonly transport = "tcp" as const;
  private acc = Buffer.allocUnsafe(1 << 20);
  private accLen = 0;
  protected abstract readonly socket: net.Socket;

  private grow(need: number): void {
    if (need <= this.acc.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.acc.length * 2));
    this.acc.copy(next, 0, 0, this.accLen);
    this.acc = next;
  }

  protected onBytes(c: Buffer, n: number): void {
    let at = 0;
    if (this.accLen > 0) {
      while (this.accLen < 4 && at < n) this.acc[this.accLen++] = c[at++];
      if (this.accLen < 4) return;
      const need = 4 + this.acc.readInt32BE(0);
      this.grow(need);
      const take = Math.min(need - this.accLen, n - at);
      c.copy(this.acc, this.accLen, at, at + take);
      this.accLen += take;
      at += take;
      if (this.accLen < need) return;
      this.accLen = 0;
      this.reply(this.acc.subarray(4, need));
    }
    while (n - at >= 4) {
      const size = c.readInt32BE(at);
      if (n - at - 4 < size) break;
      this.reply(c.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    }
    if (at < n) {
      this.grow(n - at);
      c.copy(this.acc, 0, at, n);
      this.accLen = n - at;
    }
  }

  send(frame: Buffer, onReply: (body: Buffer) => void): void {
    this.expect(onReply);
    this.socket.write(frame);
  }

  close(): void {
    this.failure = new Error("closed");
    this.socket.destroy();
  }
}

/**
 * TCP with a lean read path: the socket reads into one reused buffer (net's `onread`) handed to
 * StreamReplies. Nothing is allocated per read, so the client does not pay page faults on fresh
 * memory for every 64 KiB of an 8 MiB fetch reply.
 */
class TcpConnection extends StreamReplies implements BenchConnection {
  protected socket!: net.Socket;

  static connect(port: number): Promise<TcpConnection> {
    const c = new TcpConnection();
    return new Promise((resolve, reject) => {
      const s = net.connect(
        {
          host: "127.0.0.1",
          port,
          noDelay: true,
          onread: {
            buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
            callback: (n: number, buf: Uint8Array) => {
              c.onBytes(buf as Buffer, n);
              return true;
            },
          },
        },
        () => {
          s.off("error", reject);
          resolve(c);
        },
      );
      c.socket = s;
      s.once("error", reject);
      s.on("error", (e) => c.fail(e));
      s.on("close", () => c.fail(new Error("connection closed by the broker")));
    });
  }
}

/**
 * WebSocket through the Node client's own framing (src/client/websocket_node.ts's WsReader over
 * net's `onread`): a reply is read straight into a buffer of its own, as the client reads it.
 */
class WsConnection extends InOrderReplies implements BenchConnection {
  readonly transport = "websocket" as const;
  private socket!: net.Socket;

  static connect(port: number): Promise<WsConnection> {
    const c = new WsConnection();
    const key = randomBytes(16).toString("base64");
    return new Promise((resolve, reject) => {
      const reader = new WsReader(key, {
        message: (m) => c.reply(m),
        open: () => resolve(c),
        ping: (p) => c.socket.write(Buffer.concat([frameHeader(OP_PONG, p.length), p])),
        close: () => c.fail(new Error("websocket closed by the broker")),
      });
      const s = net.connect(
        {
          host: "127.0.0.1",
          port,
          noDelay: true,
          onread: {
            buffer: () => reader.buffer(),
            callback: (n: number) => {
              const problem = reader.read(n);
              if (problem === null) return true;
              c.fail(new Error(problem));
              s.destroy();
              return false;
            },
          },
        },
        () => s.write(upgradeRequest(`127.0.0.1:${port}`, "/", key), "latin1"),
      );
      c.socket = s;
      s.once("error", reject);
      s.on("error", (e) => c.fail(e));
      s.on("close", () => {
        reject(new Error("websocket closed before the upgrade"));
        c.fail(new Error("websocket closed by the broker"));
      });
    });
  }

  send(frame: Buffer, onReply: (body: Buffer) => void): void {
    this.expect(onReply);
    // a frame header with a zero masking key in place of the size prefix; the frame goes by
    // reference (callers reuse a frame only once its reply is in)
    const s = this.socket;
    s.cork();
    s.write(frameHeader(OP_BINARY, frame.length - 4));
    s.write(frame.subarray(4));
    s.uncork();
  }

  close(): void {
    this.failure = new Error("closed");
    this.socket.destroy();
  }
}

/** Where a broken connection in the middle of a measurement is reported (the run aborts). */
let onConnectionError: (e: Error) => void = (e) => {
  throw e;
};
export function setConnectionErrorHandler(h: (e: Error) => void): void {
  onConnectionError = h;
}

export function connect(transport: TransportName, port: number): Promise<BenchConnection> {
  return transport === "tcp" ? TcpConnection.connect(port) : WsConnection.connect(port);
}

/** One request/reply, as a promise (setup requests; the measured loops use callbacks). */
export function request(conn: BenchConnection, frame: Buffer): Promise<Buffer> {
  return new Promise((resolve) => conn.send(frame, resolve));
}

function header(apiKey: number, apiVersion: number, correlationId: number): RequestHeader {
  return { apiKey, apiVersion, correlationId, clientId: CLIENT_ID };
}

export async function createTopic(conn: BenchConnection, name: string, partitions = 1): Promise<void> {
  const w = new Writer();
  startRequestFrame(w, header(ApiKey.CreateTopics, 1, 1));
  createTopicsCodec.encodeRequest(w, 1, {
    topics: [{ name, numPartitions: partitions, replicationFactor: 1, assignments: [], configs: [] }],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  finishFrame(w);
  const body = await request(conn, Buffer.from(w.view()));
  const r = new Reader(body);
  decodeResponseHeader(r, ApiKey.CreateTopics, 1);
  const res = createTopicsCodec.decodeResponse(r, 1);
  const t = res.topics[0];
  if (t === undefined || t.errorCode !== 0)
    throw new Error(`CreateTopics ${name}: error ${t?.errorCode} ${t?.errorMessage ?? ""}`);
}

/** A Produce v7 request frame carrying one record batch for partition 0 (correlation id 0). */
export function produceFrame(topic: string, batch: Buffer, acks: number): Buffer {
  const w = new Writer(batch.length + 128);
  startRequestFrame(w, header(ApiKey.Produce, 7, 0));
  produceCodec.encodeRequest(w, 7, {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, records: batch }] }],
  });
  finishFrame(w);
  return Buffer.from(w.view());
}

export interface ProduceResult {
  ms: number;
  records: number;
  /** Record-set (RecordBatch) bytes sent, as stored on disk. */
  batchBytes: number;
  lastOffset: number;
}

/**
 * Send `batches` (the same pre-built bytes over and over: `full` count times, then `tail` if
 * any) with at most `window` Produce requests in flight; resolve at the last ack.
 * Each in-flight slot owns a frame; a frame is patched (correlation id) and re-sent only after
 * its previous reply came back, when the broker has read all of it.
 */
export function produceAll(
  conn: BenchConnection,
  topic: string,
  acks: number,
  full: { batch: Buffer; records: number; count: number },
  tail: { batch: Buffer; records: number } | null,
  window: number,
): Promise<ProduceResult> {
  const slots: Buffer[] = [];
  for (let i = 0; i < Math.min(window, full.count); i++) slots.push(produceFrame(topic, full.batch, acks));
  const tailFrame = tail ? produceFrame(topic, tail.batch, acks) : null;
  const total = full.count + (tail ? 1 : 0);
  const records = full.count * full.records + (tail ? tail.records : 0);
  const batchBytes = full.count * full.batch.length + (tail ? tail.batch.length : 0);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let lastOffset = -1;
    let correlation = 1;
    const t0 = performance.now();
    const sendOn = (slot: number): void => {
      const frame = sent === full.count ? tailFrame! : slots[slot];
      const corr = correlation++;
      frame.writeInt32BE(corr, CORRELATION_AT);
      sent++;
      conn.send(frame, (body) => onReply(slot, corr, body));
    };
    const onReply = (slot: number, corr: number, body: Buffer): void => {
      const r = new Reader(body);
      const got = decodeResponseHeader(r, ApiKey.Produce, 7);
      if (got !== corr) {
        reject(new Error(`produce reply correlation ${got}, expected ${corr}`));
        return;
      }
      const p = produceCodec.decodeResponse(r, 7).responses[0]?.partitions[0];
      if (p === undefined || p.errorCode !== 0) {
        reject(new Error(`produce error ${p?.errorCode}`));
        return;
      }
      if (p.baseOffset > lastOffset) lastOffset = p.baseOffset;
      acked++;
      if (sent < total) sendOn(slot);
      else if (acked === total) resolve({ ms: performance.now() - t0, records, batchBytes, lastOffset });
    };
    for (let i = 0; i < slots.length && sent < total; i++) sendOn(i);
  });
}

function fetchFrame(topic: string, offset: number, maxBytes: number, correlationId: number): Buffer {
  const w = new Writer(128);
  startRequestFrame(w, header(ApiKey.Fetch, 11, correlationId));
  fetchCodec.encodeRequest(w, 11, consumerFetch(topic, 0, offset, { maxBytes }));
  finishFrame(w);
  return Buffer.from(w.view());
}

export interface ConsumeResult {
  ms: number;
  records: number;
  /** Whole record batches received (bytes as stored). */
  batchBytes: number;
  fetches: number;
}

/**
 * Read [from, to) back with Fetch v11. `chains` independent fetch chains each own a contiguous
 * slice of the offset range and run one fetch at a time: each next offset comes from the batch
 * headers of the previous reply (baseOffset + lastOffsetDelta + 1), nothing decoded. One chain
 * is what a Kafka consumer does per partition; several keep the broker busy while the client
 * reads a reply (requests pipelined on one connection).
 */
export function consumeAll(
  conn: BenchConnection,
  topic: string,
  from: number,
  to: number,
  maxBytes: number,
  chains: number,
): Promise<ConsumeResult> {
  return new Promise((resolve, reject) => {
    let records = 0;
    let batchBytes = 0;
    let fetches = 0;
    let live = 0;
    let correlation = 1;
    const t0 = performance.now();
    const step = Math.ceil((to - from) / chains);
    const fetchNext = (offset: number, start: number, end: number): void => {
      const corr = correlation++;
      fetches++;
      conn.send(fetchFrame(topic, offset, maxBytes, corr), (body) => {
        const r = new Reader(body);
        const got = decodeResponseHeader(r, ApiKey.Fetch, 11);
        if (got !== corr) {
          reject(new Error(`fetch reply correlation ${got}, expected ${corr}`));
          return;
        }
        const res = fetchCodec.decodeResponse(r, 11);
        const p = res.responses[0]?.partitions[0];
        if (res.errorCode !== 0 || p === undefined || p.errorCode !== 0) {
          reject(new Error(`fetch error ${res.errorCode}/${p?.errorCode} at offset ${offset}`));
          return;
        }
        const data = fetchRecordsBuffer(p.records);
        let at = 0;
        let next = offset;
        while (at + BATCH_HEADER_BYTES <= data.length) {
          const size = data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
          if (at + size > data.length) break; // partial batch at the end of a reply
          const base = readInt64(data, at);
          const last = base + data.readInt32BE(at + LAST_OFFSET_DELTA);
          if (last >= next) {
            // A reply starts at the batch holding `offset`: count only records not seen yet,
            // and only up to this chain's end.
            const first = Math.max(base, next);
            const upto = Math.min(last + 1, end);
            if (upto > first) records += upto - first;
            if (base >= start && base < end) batchBytes += size; // each batch counted by one chain
            next = last + 1;
          }
          at += size;
        }
        if (next >= end) {
          if (--live === 0) resolve({ ms: performance.now() - t0, records, batchBytes, fetches });
          return;
        }
        fetchNext(next, start, end);
      });
    };
    for (let start = from; start < to; start += step) {
      live++;
      fetchNext(start, start, Math.min(start + step, to));
    }
  });
}

/** One request/reply through a codec (setup and group protocol requests; not a hot path). */
export async function rpc<Req, Res>(
  conn: BenchConnection,
  codec: {
    key: number;
    encodeRequest(w: Writer, v: number, req: Req): void;
    decodeResponse(r: Reader, v: number): Res;
  },
  version: number,
  req: Req,
): Promise<Res> {
  const w = new Writer();
  startRequestFrame(w, header(codec.key, version, 7));
  codec.encodeRequest(w, version, req);
  finishFrame(w);
  const body = await request(conn, Buffer.from(w.view()));
  const r = new Reader(body);
  decodeResponseHeader(r, codec.key, version);
  return codec.decodeResponse(r, version);
}

/** A Produce v7 request frame carrying the same batch for each of `partitions`. */
export function produceFrameMulti(topic: string, batch: Buffer, acks: number, partitions: number[]): Buffer {
  const w = new Writer(partitions.length * (batch.length + 16) + 128);
  startRequestFrame(w, header(ApiKey.Produce, 7, 0));
  produceCodec.encodeRequest(w, 7, {
    transactionalId: null,
    acks,
    timeoutMs: 30_000,
    topics: [{ name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, records: batch })) }],
  });
  finishFrame(w);
  return Buffer.from(w.view());
}

/**
 * Send `frame` (a Produce request, see produceFrameMulti) `count` times with `window` in
 * flight; resolves at the last reply. Fails on any partition error.
 */
export function produceRepeated(
  conn: BenchConnection,
  frame: Buffer,
  count: number,
  window: number,
): Promise<number> {
  const slots = Array.from({ length: Math.min(window, count) }, () => Buffer.from(frame));
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    let correlation = 1;
    const t0 = performance.now();
    const sendOn = (slot: number) => {
      const f = slots[slot];
      const corr = correlation++;
      f.writeInt32BE(corr, CORRELATION_AT);
      sent++;
      conn.send(f, (body) => {
        const r = new Reader(body);
        decodeResponseHeader(r, ApiKey.Produce, 7);
        for (const t of produceCodec.decodeResponse(r, 7).responses)
          for (const p of t.partitions)
            if (p.errorCode !== 0)
              return reject(new Error(`produce error ${p.errorCode} on ${p.partitionIndex}`));
        acked++;
        if (sent < count) sendOn(slot);
        else if (acked === count) resolve(performance.now() - t0);
      });
    };
    for (let i = 0; i < slots.length; i++) sendOn(i);
  });
}

/**
 * A consumer's fetch loop over several partitions of one topic: one Fetch v11 in flight for
 * every partition not yet read to its end (`ends`: partition -> offset to reach), as a Kafka
 * consumer does per broker. Batch headers only, nothing decoded. Resolves with the records read.
 */
export function fetchPartitions(
  conn: BenchConnection,
  topic: string,
  ends: Map<number, number>,
  maxBytes: number,
  partitionMaxBytes: number,
): Promise<{ records: number; fetches: number }> {
  const next = new Map<number, number>([...ends.keys()].map((p) => [p, 0]));
  let records = 0;
  let fetches = 0;
  return new Promise((resolve, reject) => {
    const go = (): void => {
      const open = [...next].filter(([p, o]) => o < ends.get(p)!);
      if (open.length === 0) {
        resolve({ records, fetches });
        return;
      }
      const w = new Writer(128 + open.length * 32);
      startRequestFrame(w, header(ApiKey.Fetch, 11, ++fetches));
      fetchCodec.encodeRequest(w, 11, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic,
            topicId: ZERO_TOPIC_ID,
            partitions: open.map(([p, o]) => ({
              partition: p,
              currentLeaderEpoch: -1,
              fetchOffset: o,
              lastFetchedEpoch: -1,
              logStartOffset: -1,
              partitionMaxBytes,
            })),
          },
        ],
        forgottenTopicsData: [],
        rackId: "",
      });
      finishFrame(w);
      conn.send(Buffer.from(w.view()), (body) => {
        const r = new Reader(body);
        decodeResponseHeader(r, ApiKey.Fetch, 11);
        const res = fetchCodec.decodeResponse(r, 11);
        for (const t of res.responses) {
          for (const p of t.partitions) {
            if (p.errorCode !== 0)
              return reject(new Error(`fetch error ${p.errorCode} on ${p.partitionIndex}`));
            const data = fetchRecordsBuffer(p.records);
            let at = 0;
            let n = next.get(p.partitionIndex)!;
            while (at + BATCH_HEADER_BYTES <= data.length) {
              const size = data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
              if (at + size > data.length) break;
              const base = readInt64(data, at);
              const last = base + data.readInt32BE(at + LAST_OFFSET_DELTA);
              if (last >= n) {
                records += last + 1 - Math.max(base, n);
                n = last + 1;
              }
              at += size;
            }
            next.set(p.partitionIndex, n);
          }
        }
        go();
      });
    };
    go();
  });
}
