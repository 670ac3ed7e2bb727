// One connection to one broker, over either transport: request frames built with the shared
// codecs (src/protocol) into a Writer, correlation ids, replies matched in request order
// (Kafka answers each connection in order, so a reply must be for the oldest waiting request;
// anything else is a broken connection), a bound on requests in flight, request timeouts, and
// the API versions agreed with the broker (ApiVersions on connect: the highest version both
// sides know, per API).

import { alterConfigsCodec } from "../protocol/alter_configs.ts";
import type { ApiCodec } from "../protocol/api.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import { apiVersionsCodec } from "../protocol/api_versions.ts";
import { createTopicsCodec } from "../protocol/create_topics.ts";
import { deleteGroupsCodec } from "../protocol/delete_groups.ts";
import { deleteTopicsCodec } from "../protocol/delete_topics.ts";
import { describeConfigsCodec } from "../protocol/describe_configs.ts";
import { describeGroupsCodec } from "../protocol/describe_groups.ts";
import { fetchCodec } from "../protocol/fetch.ts";
import { findCoordinatorCodec } from "../protocol/find_coordinator.ts";
import { decodeResponseHeader, finishFrame, startRequestFrame } from "../protocol/header.ts";
import { heartbeatCodec } from "../protocol/heartbeat.ts";
import { incrementalAlterConfigsCodec } from "../protocol/incremental_alter_configs.ts";
import { initProducerIdCodec } from "../protocol/init_producer_id.ts";
import { joinGroupCodec } from "../protocol/join_group.ts";
import { leaveGroupCodec } from "../protocol/leave_group.ts";
import { listGroupsCodec } from "../protocol/list_groups.ts";
import { listOffsetsCodec } from "../protocol/list_offsets.ts";
import { metadataCodec } from "../protocol/metadata.ts";
import { offsetCommitCodec } from "../protocol/offset_commit.ts";
import { offsetFetchCodec } from "../protocol/offset_fetch.ts";
import { produceCodec } from "../protocol/produce.ts";
import { Reader } from "../protocol/reader.ts";
import {
  alterPartitionReassignmentsCodec,
  listPartitionReassignmentsCodec,
} from "../protocol/reassignments.ts";
import { createAclsCodec, deleteAclsCodec, describeAclsCodec } from "../protocol/security.ts";
import { syncGroupCodec } from "../protocol/sync_group.ts";
import { Writer } from "../protocol/writer.ts";
import { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from "./errors.ts";
import type { Platform } from "./platform.ts";
import { type BrokerAddress, connectWebSocket, type Transport, type TransportEvents } from "./transport.ts";

/** Up to the newest version the codec has (the client fills every layout's fields). */
const LATEST = 32767;

/** Versions this client can speak, per API: the codecs' ranges, narrowed where the client is. */
const CLIENT_VERSIONS = new Map<number, [number, number]>(
  [
    [produceCodec, 3, LATEST], // v3+: RecordBatch v2 and transactional_id
    [initProducerIdCodec, 0, LATEST], // idempotent producers
    [fetchCodec, 4, 12], // v13+ name topics by id
    [listOffsetsCodec, 1, LATEST],
    [metadataCodec, 1, LATEST],
    [createTopicsCodec, 0, LATEST],
    [deleteTopicsCodec, 0, LATEST],
    [describeConfigsCodec, 0, LATEST],
    [alterConfigsCodec, 0, LATEST],
    [incrementalAlterConfigsCodec, 0, LATEST],
    [findCoordinatorCodec, 0, LATEST],
    // consumer groups (group_consumer.ts, group_admin.ts)
    [joinGroupCodec, 1, LATEST], // v1+: rebalance_timeout_ms; v4+: MEMBER_ID_REQUIRED
    [syncGroupCodec, 0, LATEST],
    [heartbeatCodec, 0, LATEST],
    [leaveGroupCodec, 0, LATEST],
    [offsetCommitCodec, 2, LATEST],
    [offsetFetchCodec, 2, LATEST], // v2+: null topics (every committed partition)
    [describeGroupsCodec, 0, LATEST],
    [listGroupsCodec, 0, LATEST],
    [deleteGroupsCodec, 0, LATEST],
    // a cluster's controller (KIP-455)
    [alterPartitionReassignmentsCodec, 0, LATEST],
    [listPartitionReassignmentsCodec, 0, LATEST],
    // ACLs (acl_admin.ts): v1+ carry the pattern type (prefixed ACLs, KIP-290)
    [describeAclsCodec, 1, LATEST],
    [createAclsCodec, 1, LATEST],
    [deleteAclsCodec, 1, LATEST],
  ].map(([c, lo, hi]) => {
    const codec = c as ApiCodec<unknown, unknown>;
    return [codec.key, [Math.max(lo as number, codec.minVersion), Math.min(hi as number, codec.maxVersion)]];
  }),
);

export interface ConnectionOptions {
  clientId: string;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** Requests sent and not yet answered, at most. */
  maxInFlight: number;
}

interface Pending {
  correlationId: number;
  apiKey: number;
  version: number;
  deadline: number;
  resolve(r: Reader): void;
  reject(e: Error): void;
}

export interface RequestOptions {
  /** Added to the request timeout (a Fetch's max wait). */
  extraTimeoutMs?: number;
}

export class Connection {
  /** Requests sent and not answered, plus no-reply requests not yet written. */
  inFlight = 0;
  closed = false;
  private transport: Transport | null = null;
  private readonly pending: (Pending | undefined)[] = [];
  private head = 0;
  private nextCorrelationId = 1;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly unwritten = new Set<(e: Error) => void>();
  private readonly versions = new Map<number, number>();
  private failure: Error | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly closeListeners: ((e: Error) => void)[] = [];

  private constructor(
    readonly address: BrokerAddress,
    private readonly opts: ConnectionOptions,
  ) {}

  /** Connect and agree API versions. */
  static async open(
    platform: Platform,
    address: BrokerAddress,
    opts: ConnectionOptions,
  ): Promise<Connection> {
    const conn = new Connection(address, opts);
    const events: TransportEvents = {
      onFrame: (f) => conn.onFrame(f),
      onClose: (e) =>
        conn.fail(
          e ?? new ConnectionError(`connection to ${address.label} closed`, { broker: address.label }),
        ),
    };
    if (address.kind === "tcp") {
      if (platform.tcp === null)
        throw new ConnectionError(
          `TCP is not available here (${platform.name}): use a ws:// bootstrap address for ${address.label}`,
        );
      conn.transport = await platform.tcp(address.host, address.port, events, opts.connectionTimeoutMs);
    } else {
      if (platform.webSocket === null)
        throw new ConnectionError(
          "no WebSocket implementation: pass one as the `WebSocket` option (in Node 20: the ws package)",
        );
      conn.transport = await connectWebSocket(platform.webSocket, address, events, opts.connectionTimeoutMs);
    }
    const every = Math.max(10, Math.min(1000, opts.requestTimeoutMs / 4));
    conn.timer = setInterval(() => conn.checkTimeouts(), every);
    (conn.timer as { unref?: () => void }).unref?.();
    try {
      await conn.negotiate();
    } catch (e) {
      conn.close();
      throw e;
    }
    return conn;
  }

  /** Called once when the connection fails or closes. */
  onClose(listener: (e: Error) => void): void {
    if (this.failure !== null) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  private async negotiate(): Promise<void> {
    const req = { clientSoftwareName: "milena", clientSoftwareVersion: "0" };
    let res = await this.requestVersion(apiVersionsCodec, 2, req);
    if (res.errorCode === 35) res = await this.requestVersion(apiVersionsCodec, 0, req); // UNSUPPORTED_VERSION
    if (res.errorCode !== 0) throw new UnsupportedVersionError(`ApiVersions answered error ${res.errorCode}`);
    for (const k of res.apiKeys) {
      const mine = CLIENT_VERSIONS.get(k.apiKey);
      if (mine === undefined) continue;
      const v = Math.min(mine[1], k.maxVersion);
      if (v >= Math.max(mine[0], k.minVersion)) this.versions.set(k.apiKey, v);
    }
  }

  /** The version agreed for an API, or -1. */
  version(apiKey: number): number {
    return this.versions.get(apiKey) ?? -1;
  }

  /** Whether a request can go out now without waiting for a slot. */
  get canSend(): boolean {
    return this.failure === null && this.inFlight < this.opts.maxInFlight;
  }

  get bufferedAmount(): number {
    return this.transport?.bufferedAmount ?? 0;
  }

  /** Send a request at the agreed version and decode its reply (waits for a slot if needed). */
  async request<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    req: ReqIn,
    opts?: RequestOptions,
  ): Promise<Res> {
    return this.requestVersion(codec, this.agreed(codec), req, opts);
  }

  private agreed(codec: ApiCodec<unknown, unknown, never, never>): number {
    const v = this.versions.get(codec.key);
    if (v === undefined) {
      const mine = CLIENT_VERSIONS.get(codec.key);
      throw new UnsupportedVersionError(
        `${this.address.label} does not serve ${codec.name} ${mine ? `v${mine[0]}-${mine[1]}` : ""}`.trim(),
        { broker: this.address.label },
      );
    }
    return v;
  }

  async requestVersion<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
    opts?: RequestOptions,
  ): Promise<Res> {
    while (!this.canSend) {
      if (this.failure !== null) throw this.failure;
      await new Promise<void>((r) => this.slotWaiters.push(r));
    }
    return this.send(codec, version, req, opts);
  }

  /**
   * Send now (the caller checked canSend) and resolve with the decoded reply. The request is
   * encoded before this returns, so record batches it references may be reused afterwards only
   * once it settles (TCP writes them by reference).
   */
  send<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
    opts?: RequestOptions,
  ): Promise<Res> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId >= 0x7fffffff ? 1 : correlationId + 1;
    const w = new Writer(256);
    startRequestFrame(w, {
      apiKey: codec.key,
      apiVersion: version,
      correlationId,
      clientId: this.opts.clientId,
    });
    codec.encodeRequest(w, version, req);
    finishFrame(w);
    return new Promise<Res>((resolve, reject) => {
      this.pending.push({
        correlationId,
        apiKey: codec.key,
        version,
        deadline: Date.now() + this.opts.requestTimeoutMs + (opts?.extraTimeoutMs ?? 0),
        resolve: (r) => {
          try {
            resolve(codec.decodeResponse(r, version));
          } catch (e) {
            reject(
              new ConnectionError(
                `bad ${codec.name} v${version} reply from ${this.address.label}: ${(e as Error).message}`,
                {
                  broker: this.address.label,
                  cause: e,
                },
              ),
            );
          }
        },
        reject,
      });
      this.inFlight++;
      try {
        this.transport!.send(w.chunks(), w.length);
      } catch (e) {
        this.fail(e as Error);
      }
    });
  }

  /**
   * Send a request that gets no reply (Produce with acks=0); resolves once its bytes are written
   * (it holds an in-flight slot until then).
   */
  sendNoReply<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
  ): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    const correlationId = this.nextCorrelationId;
    this.nextCorrelationId = correlationId >= 0x7fffffff ? 1 : correlationId + 1;
    const w = new Writer(256);
    startRequestFrame(w, {
      apiKey: codec.key,
      apiVersion: version,
      correlationId,
      clientId: this.opts.clientId,
    });
    codec.encodeRequest(w, version, req);
    finishFrame(w);
    return new Promise<void>((resolve, reject) => {
      this.inFlight++;
      this.unwritten.add(reject);
      try {
        this.transport!.send(w.chunks(), w.length, () => {
          if (!this.unwritten.delete(reject)) return;
          this.inFlight--;
          this.releaseSlot();
          resolve();
        });
      } catch (e) {
        this.fail(e as Error);
      }
    });
  }

  private onFrame(frame: Uint8Array): void {
    const p = this.pending[this.head];
    if (p === undefined) {
      this.fail(
        new ConnectionError(`unexpected reply from ${this.address.label}`, { broker: this.address.label }),
      );
      return;
    }
    const r = new Reader(frame);
    let correlationId: number;
    try {
      correlationId = decodeResponseHeader(r, p.apiKey, p.version);
    } catch (e) {
      this.fail(new ConnectionError(`bad reply header from ${this.address.label}`, { cause: e }));
      return;
    }
    if (correlationId !== p.correlationId) {
      this.fail(
        new ConnectionError(
          `reply ${correlationId} from ${this.address.label} does not match request ${p.correlationId}`,
          { broker: this.address.label },
        ),
      );
      return;
    }
    this.pending[this.head++] = undefined;
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
    this.inFlight--;
    this.releaseSlot();
    p.resolve(r);
  }

  private releaseSlot(): void {
    const w = this.slotWaiters.shift();
    if (w !== undefined) w();
  }

  private checkTimeouts(): void {
    const p = this.pending[this.head];
    if (p !== undefined && Date.now() > p.deadline) {
      this.fail(
        new RequestTimeoutError(
          `no reply from ${this.address.label} to ${ApiKeyName.get(p.apiKey) ?? p.apiKey} (correlation id ${p.correlationId}) within the request timeout`,
          { broker: this.address.label },
        ),
      );
    }
  }

  /** Fail every waiting request with `e` and close. */
  fail(e: Error): void {
    if (this.failure !== null) return;
    this.failure = e;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.transport?.close();
    const pending = this.pending.splice(this.head);
    this.pending.length = 0;
    this.head = 0;
    this.inFlight = 0;
    for (const p of pending) p?.reject(e);
    for (const r of [...this.unwritten]) r(e);
    this.unwritten.clear();
    for (const w of this.slotWaiters.splice(0)) w();
    for (const l of this.closeListeners.splice(0)) l(e);
  }

  close(): void {
    this.fail(
      new ConnectionError(`connection to ${this.address.label} closed by the client`, {
        broker: this.address.label,
      }),
    );
  }
}

const ApiKeyName = new Map<number, string>(Object.entries(ApiKey).map(([k, v]) => [v, k]));
