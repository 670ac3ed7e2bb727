// A minimal Kafka protocol client for the integration tests: hand-built request frames through
// Milena's own codecs (src/protocol), over TCP (4-byte size-prefixed frames) or WebSocket (one
// binary message = one frame, no size prefix). Replies are matched in request order and their
// correlation ids checked, so a reply that should not exist (acks=0) or arrives out of order
// fails the waiting request instead of being matched silently.

import * as net from "node:net";
import WebSocket from "ws";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import {
  consumerFetch,
  type FetchPartitionResponse,
  fetchCodec,
  fetchRecordsBuffer,
} from "../../src/protocol/fetch.ts";
import { decodeResponseHeader, finishFrame, startRequestFrame } from "../../src/protocol/header.ts";
import { listOffsetsCodec } from "../../src/protocol/list_offsets.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { decodeBatch, type Record, splitBatches } from "../../src/protocol/records.ts";
import { Writer } from "../../src/protocol/writer.ts";

interface Pending {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  resolve: (body: Reader) => void;
  reject: (e: Error) => void;
}

/** Encode one request frame: header + body, without the size prefix. */
export function requestFrame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  body: (w: Writer) => void,
  clientId: string | null = "milena-test",
): Buffer {
  const w = new Writer(256);
  startRequestFrame(w, { apiKey, apiVersion, correlationId, clientId });
  body(w);
  finishFrame(w);
  return Buffer.concat(w.chunks()).subarray(4);
}

/** A size prefix followed by the frame (TCP framing). */
export function sizePrefixed(frame: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeInt32BE(frame.length);
  return Buffer.concat([size, frame]);
}

export class RawClient {
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  /** Correlation ids of every reply received, in arrival order. */
  readonly received: number[] = [];
  closed = false;
  readonly closedPromise: Promise<void>;
  private markClosed!: () => void;

  private constructor(
    private readonly sendFrame: (frame: Buffer) => void,
    private readonly sendBytes: (bytes: Buffer) => void,
    private readonly end: () => void,
  ) {
    this.closedPromise = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  static tcp(bootstrap: string): Promise<RawClient> {
    const [host, port] = bootstrap.split(":");
    const socket = net.connect({ host, port: Number(port), noDelay: true });
    const client = new RawClient(
      (frame) => socket.write(sizePrefixed(frame)),
      (bytes) => socket.write(bytes),
      () => socket.destroy(),
    );
    let buf: Buffer = Buffer.alloc(0);
    // Reads of a large frame wait in a list until the whole frame is there (one concat, not one
    // per read: a 55 MB fetch reply is ~900 reads).
    const parts: Buffer[] = [];
    let partBytes = 0;
    socket.on("data", (chunk: Buffer) => {
      if (buf.length >= 4 && buf.length + partBytes + chunk.length < 4 + buf.readInt32BE(0)) {
        parts.push(chunk);
        partBytes += chunk.length;
        return;
      }
      buf = buf.length === 0 && parts.length === 0 ? chunk : Buffer.concat([buf, ...parts, chunk]);
      parts.length = 0;
      partBytes = 0;
      while (buf.length >= 4) {
        const size = buf.readInt32BE(0);
        if (buf.length < 4 + size) break;
        client.onFrame(buf.subarray(4, 4 + size));
        buf = buf.subarray(4 + size);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => client.onClose());
    return new Promise((resolve, reject) => {
      socket.once("connect", () => resolve(client));
      socket.once("error", reject);
    });
  }

  /** Over WebSocket; `ca`: the CA certificate (PEM) a wss:// server's certificate is checked against. */
  static ws(url: string, ca?: Buffer): Promise<RawClient> {
    const ws = new WebSocket(url, ca === undefined ? undefined : { ca });
    ws.binaryType = "nodebuffer";
    const client = new RawClient(
      (frame) => ws.send(frame, { binary: true }),
      (bytes) => ws.send(bytes, { binary: true }),
      () => ws.terminate(),
    );
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error("text WebSocket message from the broker");
      client.onFrame(data);
    });
    ws.on("error", () => {});
    ws.on("close", () => client.onClose());
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  private onFrame(frame: Buffer): void {
    const r = new Reader(frame);
    const p = this.pending.shift();
    if (p === undefined) {
      this.received.push(frame.readInt32BE(0));
      return;
    }
    let correlationId: number;
    try {
      correlationId = decodeResponseHeader(r, p.apiKey, p.apiVersion);
    } catch (e) {
      p.reject(e as Error);
      return;
    }
    this.received.push(correlationId);
    if (correlationId !== p.correlationId) {
      p.reject(new Error(`expected the reply to correlation id ${p.correlationId}, got ${correlationId}`));
      return;
    }
    p.resolve(r);
  }

  private onClose(): void {
    this.closed = true;
    for (const p of this.pending.splice(0))
      p.reject(new Error(`connection closed before the reply to ${p.correlationId}`));
    this.markClosed();
  }

  /** Send a request and resolve with a Reader positioned at its response body. */
  requestRaw(
    apiKey: number,
    apiVersion: number,
    body: (w: Writer) => void,
    clientId: string | null = "milena-test",
  ): Promise<Reader> {
    const correlationId = this.nextCorrelationId++;
    return new Promise((resolve, reject) => {
      this.pending.push({ apiKey, apiVersion, correlationId, resolve, reject });
      this.sendFrame(requestFrame(apiKey, apiVersion, correlationId, body, clientId));
    });
  }

  /** Send a request and decode its response with the same codec (all of it must be read). */
  async request<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
    clientId: string | null = "milena-test",
  ): Promise<Res> {
    const r = await this.requestRaw(
      codec.key,
      version,
      (w) => codec.encodeRequest(w, version, req),
      clientId,
    );
    const res = codec.decodeResponse(r, version);
    if (r.remaining !== 0)
      throw new Error(`${r.remaining} bytes left after the ${codec.name} v${version} response`);
    return res;
  }

  /** Send a request that gets no reply (acks=0); returns its correlation id. */
  sendOnly<Req, Res, ReqIn>(codec: ApiCodec<Req, Res, ReqIn, unknown>, version: number, req: ReqIn): number {
    const correlationId = this.nextCorrelationId++;
    this.sendFrame(
      requestFrame(codec.key, version, correlationId, (w) => codec.encodeRequest(w, version, req)),
    );
    return correlationId;
  }

  /** A frame built by the caller (size prefix added on TCP). */
  sendRawFrame(frame: Buffer): void {
    this.sendFrame(frame);
  }

  /** Bytes exactly as given (TCP: no size prefix added). */
  sendRawBytes(bytes: Buffer): void {
    this.sendBytes(bytes);
  }

  /** Resolves true when the broker closes the connection within ms, false otherwise. */
  async closesWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const result = await Promise.race([this.closedPromise.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.end();
  }

  // ---- conveniences used by several tests ----

  async apiVersions(version = 2) {
    return this.request(apiVersionsCodec, version, {
      clientSoftwareName: "milena-test",
      clientSoftwareVersion: "1",
    });
  }

  async createTopic(name: string, numPartitions: number, replicationFactor = 1) {
    const res = await this.request(createTopicsCodec, 3, {
      topics: [{ name, numPartitions, replicationFactor, assignments: [], configs: [] }],
      timeoutMs: 5000,
      validateOnly: false,
    });
    return res.topics[0];
  }

  /** ListOffsets v1 for one partition: -1 latest (log end), -2 earliest, or a timestamp. */
  async listOffset(topic: string, partition: number, timestamp = -1) {
    const res = await this.request(listOffsetsCodec, 1, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp }] }],
    });
    return res.topics[0].partitions[0];
  }

  /** Fetch v11 of one partition from an offset (no waiting). */
  async fetchPartition(
    topic: string,
    partition: number,
    fetchOffset: number,
    maxWaitMs = 0,
  ): Promise<FetchPartitionResponse> {
    const res = await this.request(
      fetchCodec,
      11,
      consumerFetch(topic, partition, fetchOffset, { maxWaitMs, partitionMaxBytes: 10 * 1024 * 1024 }),
    );
    return res.responses[0].partitions[0];
  }

  /** Every record of a partition from an offset to its log end, fetched batch by batch. */
  async readAll(topic: string, partition: number, from = 0): Promise<Record[]> {
    const out: Record[] = [];
    let offset = from;
    for (;;) {
      const p = await this.fetchPartition(topic, partition, offset);
      if (p.errorCode !== 0) throw new Error(`fetch ${topic}-${partition}@${offset}: error ${p.errorCode}`);
      if (p.records.length === 0) break;
      for (const batch of splitBatches(fetchRecordsBuffer(p.records))) {
        for (const rec of decodeBatch(batch)) if (rec.offset >= offset) out.push(rec);
      }
      offset = out.length > 0 ? out[out.length - 1].offset + 1 : offset;
      if (offset >= p.highWatermark) break;
    }
    return out;
  }
}

export { ApiKey };
