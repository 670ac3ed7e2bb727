// One connection to one broker, over either transport: request frames built with the shared
// codecs (src/protocol) into a Writer, correlation ids, replies matched in request order
// (Kafka answers each connection in order, so a reply must be for the oldest waiting request;
// anything else is a broken connection), a bound on requests in flight, request timeouts, and
// the API versions agreed with the broker (ApiVersions on connect: the highest version both
// sides know, per API), TLS (`tls`: node:tls for TCP, wss:// for WebSocket) and SASL (`sasl`:
// src/client/sasl.ts, right after ApiVersions, bounded by the connection timeout).
//
// Re-authentication (KIP-368): when SaslAuthenticate answers a session lifetime, the connection
// authenticates again at 85-95% of it (jittered), on the same socket. Requests made meanwhile are
// held and sent once it is done, in the order they were made; requests already sent are answered
// first (the broker answers in order), so nothing is reordered. If it fails, the connection fails
// (retriable ConnectionError): the client reopens it and authenticates from scratch.

import { alterConfigsCodec } from "../protocol/alter_configs.ts";
import type { ApiCodec } from "../protocol/api.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import { apiVersionsCodec } from "../protocol/api_versions.ts";
import { createPartitionsCodec } from "../protocol/create_partitions.ts";
import { createTopicsCodec } from "../protocol/create_topics.ts";
import { deleteGroupsCodec } from "../protocol/delete_groups.ts";
import { deleteTopicsCodec } from "../protocol/delete_topics.ts";
import { describeConfigsCodec } from "../protocol/describe_configs.ts";
import { describeGroupsCodec } from "../protocol/describe_groups.ts";
import { describeLogDirsCodec } from "../protocol/describe_log_dirs.ts";
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
import {
  createAclsCodec,
  deleteAclsCodec,
  describeAclsCodec,
  saslAuthenticateCodec,
  saslHandshakeCodec,
} from "../protocol/security.ts";
import { syncGroupCodec } from "../protocol/sync_group.ts";
import {
  addOffsetsToTxnCodec,
  addPartitionsToTxnCodec,
  endTxnCodec,
  txnOffsetCommitCodec,
} from "../protocol/transactions.ts";
import { Writer } from "../protocol/writer.ts";
import { ConnectionError, RequestTimeoutError, UnsupportedVersionError } from "./errors.ts";
import type { Platform } from "./platform.ts";
import { authenticate, type SaslChannel } from "./sasl.ts";
import type { SaslOptions, TlsOptions } from "./security.ts";
import { type BrokerAddress, connectWebSocket, type Transport, type TransportEvents } from "./transport.ts";

/** Up to the newest version the codec has (the client fills every layout's fields). */
const LATEST = 32767;

/** Versions this client can speak, per API: the codecs' ranges, narrowed where the client is. */
const CLIENT_VERSIONS = new Map<number, [number, number]>(
  [
    [produceCodec, 3, LATEST], // v3+: RecordBatch v2 and transactional_id
    [initProducerIdCodec, 0, LATEST], // idempotent producers
    // transactions (src/mirror/transactional.ts): v4+ of AddPartitionsToTxn are broker to broker
    [addPartitionsToTxnCodec, 0, 3],
    [addOffsetsToTxnCodec, 0, LATEST],
    [txnOffsetCommitCodec, 0, LATEST],
    [endTxnCodec, 0, LATEST],
    [fetchCodec, 4, 12], // v13+ name topics by id
    [listOffsetsCodec, 1, LATEST],
    [metadataCodec, 1, LATEST],
    [createTopicsCodec, 0, LATEST],
    [createPartitionsCodec, 0, LATEST], // admin.createPartitions
    [deleteTopicsCodec, 0, LATEST],
    [describeConfigsCodec, 0, LATEST],
    [alterConfigsCodec, 0, LATEST],
    [incrementalAlterConfigsCodec, 0, LATEST],
    [describeLogDirsCodec, 0, LATEST], // admin.describeLogDirs
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
    // SASL (sasl.ts): the v1 handshake (v0's raw tokens are not spoken), SaslAuthenticate v0-2
    [saslHandshakeCodec, 1, 1],
    [saslAuthenticateCodec, 0, LATEST],
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
  /** TLS settings: TCP over node:tls, ws:// URLs as wss://. Null or absent: plaintext. */
  tls?: TlsOptions | null;
  /** SASL credentials: authenticate after ApiVersions (and re-authenticate). Null or absent: none. */
  sasl?: SaslOptions | null;
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
  /** Requests made during a re-authentication, sent once it is done; null when not in one. */
  private held: { write(): void; reject(e: Error): void }[] | null = null;
  private reauthTimer: ReturnType<typeof setTimeout> | null = null;
  /** SASL authentications done on this connection (the first, then each re-authentication). */
  authentications = 0;
  /** The session lifetime the broker gave at the last authentication (ms; 0 = none). */
  sessionLifetimeMs = 0;

  private constructor(
    readonly address: BrokerAddress,
    private readonly opts: ConnectionOptions,
    private readonly platform: Platform,
  ) {}

  /** Connect and agree API versions. */
  static async open(
    platform: Platform,
    address: BrokerAddress,
    opts: ConnectionOptions,
  ): Promise<Connection> {
    const conn = new Connection(address, opts, platform);
    const tls = opts.tls ?? null;
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
      conn.transport = await platform.tcp(address.host, address.port, events, opts.connectionTimeoutMs, tls);
    } else {
      if (platform.webSocket === null && platform.webSocketTransport === null)
        throw new ConnectionError(
          "no WebSocket implementation: pass one as the `WebSocket` option (in Node 20: the ws package)",
        );
      // `ssl` on a ws:// address means wss:// (a wss:// address is TLS either way).
      const a =
        tls !== null && /^ws:/i.test(address.url)
          ? { ...address, url: `wss:${address.url.slice(3)}` }
          : address;
      conn.transport =
        platform.webSocketTransport !== null
          ? await platform.webSocketTransport(a, events, opts.connectionTimeoutMs, tls)
          : await connectWebSocket(platform.webSocket!, a, events, opts.connectionTimeoutMs, tls);
    }
    const every = Math.max(10, Math.min(1000, opts.requestTimeoutMs / 4));
    conn.timer = setInterval(() => conn.checkTimeouts(), every);
    (conn.timer as { unref?: () => void }).unref?.();
    try {
      await conn.negotiate();
      if (opts.sasl) conn.scheduleReauth(await conn.authenticateWithin(opts.sasl, opts.connectionTimeoutMs));
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

  /** SASL authentication, failed with a ConnectionError when it takes over `ms`. */
  private async authenticateWithin(sasl: SaslOptions, ms: number): Promise<number> {
    const label = this.address.label;
    const channel: SaslChannel = {
      label,
      version: (k) => this.version(k),
      call: (codec, version, req) => this.dispatch(codec, version, req, undefined, true),
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ConnectionError(`SASL authentication with ${label} did not finish within ${ms} ms`, {
              broker: label,
            }),
          ),
        ms,
      );
    });
    try {
      const lifetime = await Promise.race([authenticate(channel, sasl, this.platform.crypto), timeout]);
      this.authentications++;
      this.sessionLifetimeMs = lifetime;
      return lifetime;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Re-authenticate at 85-95% of the session lifetime (KIP-368's window, jittered). */
  private scheduleReauth(lifetimeMs: number): void {
    if (lifetimeMs <= 0 || this.failure !== null) return;
    const at = Math.floor(lifetimeMs * (0.85 + Math.random() * 0.1));
    this.reauthTimer = setTimeout(() => {
      this.reauthTimer = null;
      void this.reauthenticate();
    }, at);
    (this.reauthTimer as { unref?: () => void }).unref?.();
  }

  private async reauthenticate(): Promise<void> {
    const sasl = this.opts.sasl;
    if (this.failure !== null || !sasl) return;
    this.held = [];
    let lifetime: number;
    try {
      // Its replies may queue behind requests already in flight (a long-polling Fetch): allow for them.
      lifetime = await this.authenticateWithin(
        sasl,
        this.opts.connectionTimeoutMs + this.opts.requestTimeoutMs,
      );
    } catch (e) {
      this.fail(
        new ConnectionError(
          `re-authentication with ${this.address.label} failed, the connection is reopened: ${(e as Error).message}`,
          { broker: this.address.label, cause: e },
        ),
      );
      return;
    }
    const held = this.held ?? [];
    this.held = null;
    for (const h of held) h.write();
    this.scheduleReauth(lifetime);
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

  /** Requests sent until uncork() go out in one write (see Transport.cork). */
  cork(): void {
    this.transport?.cork?.();
  }

  uncork(): void {
    this.transport?.uncork?.();
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
    return this.dispatch(codec, version, req, opts, false);
  }

  /** send(); `urgent` (SASL's own requests) goes ahead of requests held during a re-authentication. */
  private dispatch<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    version: number,
    req: ReqIn,
    opts: RequestOptions | undefined,
    urgent: boolean,
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
      const entry: Pending = {
        correlationId,
        apiKey: codec.key,
        version,
        deadline: 0,
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
      };
      this.inFlight++;
      const write = () => {
        if (this.failure !== null) {
          reject(this.failure);
          return;
        }
        entry.deadline = Date.now() + this.opts.requestTimeoutMs + (opts?.extraTimeoutMs ?? 0);
        this.pending.push(entry);
        try {
          this.transport!.send(w.chunks(), w.length);
        } catch (e) {
          this.fail(e as Error);
        }
      };
      if (this.held !== null && !urgent) this.held.push({ write, reject });
      else write();
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
      const write = () => {
        if (this.failure !== null) {
          reject(this.failure);
          return;
        }
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
      };
      if (this.held !== null) this.held.push({ write, reject });
      else write();
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
    if (this.reauthTimer !== null) clearTimeout(this.reauthTimer);
    this.reauthTimer = null;
    this.transport?.close();
    const held = this.held ?? [];
    this.held = null;
    for (const h of held) h.reject(e);
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
