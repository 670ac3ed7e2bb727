// One client connection, whichever transport carries it: decodes each request frame's header,
// runs the API's handler, and sends the replies in request order (Kafka's rule: a client may
// pipeline, and matches replies to requests by order as well as by correlation id).
//
// An unknown API key, an unsupported version (except ApiVersions, which gets Kafka's
// UNSUPPORTED_VERSION answer), a frame that does not decode, or a response that cannot be
// encoded closes the connection with a log line, as Kafka does. Nothing a client sends throws
// past this class.
//
// What a client can make the connection hold is bounded:
// - replies: at most MAX_IN_FLIGHT waiting in order; past that, reading stops;
// - frames: while reading is paused (too many replies waiting, the client not reading its
//   replies, the writers behind), frames already read wait here, counted in the broker-wide
//   queued.max.request.bytes;
// - fetch data: the bytes of unsent fetch responses (holdResponse), per connection and
//   broker-wide (fetch.max.buffered.bytes); a fetch waits for room (reserveResponse).
// Idle connections (no request, nothing in flight, for connections.max.idle.ms) are closed by
// the broker's sweep (idleSince).

import type { Logger } from "../broker/log.ts";
import type { RequestMetrics } from "../broker/metrics/request_metrics.ts";
import type { RequestHeader } from "../protocol/api.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import { encodeUnsupportedApiVersionsResponse } from "../protocol/api_versions.ts";
import { decodeRequestHeader, finishFrame, startResponseFrame } from "../protocol/header.ts";
import { ProtocolError, Reader } from "../protocol/reader.ts";
import { type AnyApiCodec, codecFor } from "../protocol/registry.ts";
import { Writer } from "../protocol/writer.ts";
import type { RequestMemory, ResponseMemory } from "./request_memory.ts";

/** What a transport must offer a connection. */
export interface TransportSink {
  /**
   * Send one response frame given as chunks; the first 4 bytes are Kafka's size prefix.
   * `sent`, when given, runs once the transport no longer needs the chunks' memory.
   */
  send(chunks: Uint8Array[], length: number, sent?: () => void): void;
  close(reason: string): void;
  /** Stop / resume reading requests (backpressure). */
  pause(): void;
  resume(): void;
  readonly remote: string;
  /** The listener's name (PLAINTEXT, SSL, WEBSOCKET, ...). */
  readonly listener: string;
  /** Who the transport says the client is (a client certificate's subject), else User:ANONYMOUS. */
  readonly principal?: string;
  /** A SASL_PLAINTEXT / SASL_SSL listener: the client must authenticate first. */
  readonly sasl?: boolean;
}

/**
 * A SASL connection's state (Kafka's SaslServerAuthenticator): the mechanism SaslHandshake
 * chose, the exchange SaslAuthenticate steps through, and once authenticated when the session
 * ends (connections.max.reauth.ms, KIP-368: the client re-authenticates before, or is closed).
 */
export interface SaslState {
  authenticated: boolean;
  mechanism: string | null;
  exchange: unknown;
  /** 0: no end. connections.max.reauth.ms after authenticating, or sooner (an OAUTHBEARER token's exp). */
  expiresAtMs: number;
  /** SaslHandshake v0 chose the mechanism: the exchange comes as raw tokens, not requests. */
  raw: boolean;
}

/** A handler's answer: a response body, or NO_REPLY (acks=0 produce). */
export const NO_REPLY = Symbol("no reply");

/**
 * A response may carry pooled memory (fetch reads): its ON_SENT function runs once the bytes
 * have left, or the connection dropped them.
 */
export const ON_SENT = Symbol("on sent");
export type Releasable = { [ON_SENT]?: () => void };
export type HandlerResult = object | typeof NO_REPLY;

export interface RequestContext {
  header: RequestHeader;
  connection: Connection;
}

export type Handler = (req: never, ctx: RequestContext) => HandlerResult | Promise<HandlerResult>;

export interface Dispatcher {
  handlerFor(apiKey: number): Handler | undefined;
  readonly logger: Logger;
  /** Whether the broker is throttling reads right now (a new connection starts paused). */
  throttled(): boolean;
  /** Frames held by paused connections and partial frames (queued.max.request.bytes). */
  readonly requests: RequestMemory;
  /** Unsent fetch data across connections (fetch.max.buffered.bytes). */
  readonly responses: ResponseMemory;
  /** Unsent fetch data one connection may hold before its next fetch waits. */
  readonly connectionResponseBytes: number;
  /**
   * A raw SASL token after SaslHandshake v0: the next token to send back, or null to close (the
   * authentication failed; the reason is logged).
   */
  saslToken?(conn: Connection, token: Buffer): Promise<Uint8Array | null>;
  /** Request counts and latencies per API and version (/metrics); null when metrics are off. */
  readonly requestMetrics?: RequestMetrics | null;
}

/** Whether a new connection may open (max.connections...), and its end. */
export interface Admission {
  /** null: admitted (and counted until left()); else why not. */
  admit(remoteAddress: string): string | null;
  left(remoteAddress: string): void;
}

export const OPEN_DOOR: Admission = { admit: () => null, left: () => {} };

/**
 * The request being handled right now on this thread, for the process-level error handlers
 * (an uncaught error is logged with the request that was running). Set around the synchronous
 * parts of decoding, handling and encoding.
 */
export const activeRequest: { current: string | null } = { current: null };

interface Slot {
  done: boolean;
  /** performance.now() when its frame was handed to the handler (request latency), or 0. */
  startMs: number;
  chunks: Uint8Array[] | null;
  length: number;
  sent?: () => void;
}

/** Replies waiting (in order) beyond which the connection stops reading more requests. */
const MAX_IN_FLIGHT = 256;
const PAUSED_IN_FLIGHT = 1;
const PAUSED_THROTTLED = 2;
const PAUSED_SEND = 4;
/** Frames one paused connection may hold (beyond one frame of any size). */
const MAX_HELD_BYTES = 64 * 1024 * 1024;

export class Connection {
  private readonly slots: Slot[] = [];
  private head = 0;
  /** Why reading is paused: bits PAUSED_*. */
  private pausedBy = 0;
  /** Frames read while paused, in order, and their bytes (counted in dispatcher.requests). */
  private held: Buffer[] = [];
  private heldHead = 0;
  private heldBytes = 0;
  private draining = false;
  /** Unsent fetch data of this connection (counted in dispatcher.responses too). */
  private responseBytes = 0;
  private responseWaiters: (() => void)[] = [];
  /** Last time a frame arrived or a reply left. */
  private lastActivityMs = Date.now();
  closed = false;
  /** Called when the connection closes (to cancel long-polls). */
  readonly onClose = new Set<() => void>();

  /** The client's principal (Kafka's KafkaPrincipal, "User:alice"): the transport's, or SASL's. */
  principal: string;
  /** SASL listeners only. */
  readonly sasl: SaslState | null;

  constructor(
    readonly sink: TransportSink,
    private readonly dispatcher: Dispatcher,
  ) {
    this.principal = sink.principal ?? "User:ANONYMOUS";
    this.sasl = sink.sasl
      ? { authenticated: false, mechanism: null, exchange: null, expiresAtMs: 0, raw: false }
      : null;
    if (dispatcher.throttled()) this.pauseFor(PAUSED_THROTTLED, true);
  }

  /** One request frame without its size prefix. */
  onFrame(frame: Buffer): void {
    if (this.closed) return;
    this.lastActivityMs = Date.now();
    if (this.pausedBy !== 0 || this.heldHead < this.held.length) {
      // Kept in order behind the frames already waiting; the transport stops reading meanwhile
      // (TCP), or cannot (WebSocket): a client that keeps sending is cut off at a bound.
      if (this.heldBytes > 0 && this.heldBytes + frame.length > MAX_HELD_BYTES) {
        this.fail("client keeps sending requests without reading replies");
        return;
      }
      if (!this.dispatcher.requests.take(frame.length)) {
        this.fail(
          `requests waiting in all connections exceed queued.max.request.bytes (${this.dispatcher.requests.limit})`,
        );
        return;
      }
      this.held.push(frame);
      this.heldBytes += frame.length;
      return;
    }
    this.process(frame);
  }

  /** Hand held frames on while nothing says wait. */
  private drainHeld(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.closed && this.pausedBy === 0 && this.heldHead < this.held.length) {
        const f = this.held[this.heldHead];
        this.held[this.heldHead++] = EMPTY;
        this.heldBytes -= f.length;
        this.dispatcher.requests.give(f.length);
        this.process(f);
      }
      if (this.heldHead === this.held.length) {
        this.held = [];
        this.heldHead = 0;
      }
    } finally {
      this.draining = false;
    }
  }

  private process(frame: Buffer): void {
    if (this.sasl?.raw && this.dispatcher.saslToken !== undefined) {
      this.rawSaslToken(frame, this.dispatcher.saslToken);
      return;
    }
    let header: RequestHeader;
    const r = new Reader(frame);
    try {
      header = decodeRequestHeader(r);
    } catch (e) {
      this.fail(`undecodable request header: ${(e as Error).message}`);
      return;
    }
    const codec = codecFor(header.apiKey);
    const handler = this.dispatcher.handlerFor(header.apiKey);
    if (codec === undefined || handler === undefined) {
      this.fail(`unknown api key ${header.apiKey} (correlation id ${header.correlationId})`);
      return;
    }
    if (header.apiVersion < codec.minVersion || header.apiVersion > codec.maxVersion) {
      if (header.apiKey === ApiKey.ApiVersions) {
        const w = new Writer(64);
        startResponseFrame(w, ApiKey.ApiVersions, 0, header.correlationId);
        encodeUnsupportedApiVersionsResponse(w);
        finishFrame(w);
        const slot = this.enqueue();
        slot.chunks = w.chunks();
        slot.length = w.length;
        slot.done = true;
        this.flush();
        return;
      }
      this.fail(
        `unsupported ${codec.name} version ${header.apiVersion} (supported ${codec.minVersion}-${codec.maxVersion})`,
      );
      return;
    }
    const sasl = this.sasl;
    if (
      sasl !== null &&
      header.apiKey !== ApiKey.ApiVersions &&
      header.apiKey !== ApiKey.SaslHandshake &&
      header.apiKey !== ApiKey.SaslAuthenticate
    ) {
      // Kafka closes a SASL connection that sends anything else before it authenticated, or
      // after its session ended without re-authenticating.
      if (!sasl.authenticated) {
        this.fail(`${codec.name} request before SASL authentication`);
        return;
      }
      if (sasl.expiresAtMs > 0 && Date.now() > sasl.expiresAtMs) {
        this.fail(
          "SASL session expired (connections.max.reauth.ms, or the OAUTHBEARER token's exp) without re-authentication",
        );
        return;
      }
    }
    activeRequest.current = `${codec.name} v${header.apiVersion} from ${this.sink.remote}`;
    try {
      let req: unknown;
      try {
        req = codec.decodeRequest(r, header.apiVersion);
      } catch (e) {
        if (e instanceof ProtocolError || e instanceof RangeError) {
          this.fail(`malformed ${codec.name} v${header.apiVersion} request: ${e.message}`);
          return;
        }
        this.handlerFailed(codec, header, e);
        return;
      }
      const slot = this.enqueue();
      if (this.dispatcher.requestMetrics) slot.startMs = performance.now();
      let result: HandlerResult | Promise<HandlerResult>;
      try {
        result = (handler as (req: unknown, ctx: RequestContext) => HandlerResult | Promise<HandlerResult>)(
          req,
          { header, connection: this },
        );
      } catch (e) {
        this.handlerFailed(codec, header, e);
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (res) => this.fill(slot, codec, header, res),
          (e) => this.handlerFailed(codec, header, e),
        );
      } else {
        this.fill(slot, codec, header, result);
      }
    } finally {
      activeRequest.current = null;
    }
  }

  /** SaslHandshake v0's exchange: each frame a token, each answer a size-prefixed token. */
  private rawSaslToken(frame: Buffer, step: NonNullable<Dispatcher["saslToken"]>): void {
    const slot = this.enqueue();
    const token = Buffer.from(frame);
    step(this, token).then(
      (reply) => {
        if (reply === null) {
          this.fail("SASL authentication failed");
          return;
        }
        const out = Buffer.allocUnsafe(4 + reply.length);
        out.writeInt32BE(reply.length, 0);
        out.set(reply, 4);
        slot.chunks = [out];
        slot.length = out.length;
        slot.done = true;
        this.flush();
      },
      (e) => this.fail(`SASL token: ${(e as Error).message}`),
    );
  }

  private handlerFailed(codec: AnyApiCodec, header: RequestHeader, e: unknown): void {
    this.dispatcher.logger.limited(
      "error handling a request",
      `error handling ${codec.name} v${header.apiVersion} from ${this.sink.remote}: ${(e as Error)?.stack ?? e}`,
    );
    this.fail(`internal error in ${codec.name}`);
  }

  private enqueue(): Slot {
    const slot: Slot = { done: false, startMs: 0, chunks: null, length: 0 };
    this.slots.push(slot);
    if (this.slots.length - this.head >= MAX_IN_FLIGHT) this.pauseFor(PAUSED_IN_FLIGHT, true);
    return slot;
  }

  private fill(slot: Slot, codec: AnyApiCodec, header: RequestHeader, res: HandlerResult): void {
    const sent = res === NO_REPLY ? undefined : (res as Releasable)[ON_SENT];
    if (this.closed) {
      sent?.();
      return;
    }
    if (res !== NO_REPLY) {
      const before = activeRequest.current;
      activeRequest.current = `encoding ${codec.name} v${header.apiVersion} for ${this.sink.remote}`;
      try {
        const w = new Writer(256);
        startResponseFrame(w, header.apiKey, header.apiVersion, header.correlationId);
        codec.encodeResponse(w, header.apiVersion, res);
        finishFrame(w);
        slot.chunks = w.chunks();
        slot.length = w.length;
      } catch (e) {
        // A response that cannot be encoded (a field out of its type's range): this request
        // cannot be answered, so the connection closes, as when Kafka fails to serialize.
        sent?.();
        this.dispatcher.logger.limited(
          "response not encodable",
          `cannot encode ${codec.name} v${header.apiVersion} response for ${this.sink.remote}: ${(e as Error).message}`,
        );
        this.fail(`response to ${codec.name} could not be encoded`);
        return;
      } finally {
        activeRequest.current = before;
      }
    }
    slot.done = true;
    slot.sent = sent;
    const metrics = this.dispatcher.requestMetrics;
    if (metrics && slot.startMs > 0)
      metrics.observe(header.apiKey, header.apiVersion, (performance.now() - slot.startMs) / 1000);
    this.flush();
  }

  /** Send every finished reply at the head of the queue, in order. */
  private flush(): void {
    let sentAny = false;
    while (this.head < this.slots.length && this.slots[this.head].done) {
      const s = this.slots[this.head++];
      if (s.chunks !== null) {
        this.sink.send(s.chunks, s.length, s.sent);
        sentAny = true;
      }
      // A sent slot holds nothing: its reply and its completion callback (whose closure keeps
      // the request and its read buffers) would otherwise live until the queue is compacted,
      // long enough to survive scavenges and be promoted (each scavenge then copies them).
      s.chunks = null;
      s.sent = undefined;
    }
    if (sentAny) this.lastActivityMs = Date.now();
    if (this.head >= 64 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
    if (this.slots.length - this.head < MAX_IN_FLIGHT / 2) this.pauseFor(PAUSED_IN_FLIGHT, false);
  }

  /** Requests read whose replies have not been sent. */
  get inFlight(): number {
    return this.slots.length - this.head;
  }

  /**
   * Since when this connection has been idle (no frame in, no reply out, no byte of a partial
   * frame, nothing in flight), or -1 when it is busy now.
   */
  idleSince(): number {
    return this.inFlight > 0 || this.heldHead < this.held.length ? -1 : this.lastActivityMs;
  }

  /** Bytes arrived (part of a frame): the connection is not idle. */
  touch(): void {
    this.lastActivityMs = Date.now();
  }

  /** Stop reading requests while the broker's writers are behind (WriterPool.onBacklog). */
  setThrottled(on: boolean): void {
    this.pauseFor(PAUSED_THROTTLED, on);
  }

  /** The transport cannot take more replies now (the client is not reading them). */
  setSendBlocked(on: boolean): void {
    this.pauseFor(PAUSED_SEND, on);
  }

  private pauseFor(reason: number, on: boolean): void {
    const before = this.pausedBy;
    this.pausedBy = on ? before | reason : before & ~reason;
    if (before === 0 && this.pausedBy !== 0) this.sink.pause();
    else if (before !== 0 && this.pausedBy === 0 && !this.closed) {
      this.sink.resume();
      this.drainHeld();
    }
  }

  // ---- fetch data held until sent ----

  /** Count n bytes (negative: fewer) of fetch data held for a reply of this connection. */
  holdResponse(n: number): void {
    this.responseBytes += n;
    this.dispatcher.responses.used += n;
    if (
      n < 0 &&
      this.responseBytes < this.dispatcher.connectionResponseBytes &&
      this.responseWaiters.length > 0
    ) {
      const ws = this.responseWaiters;
      this.responseWaiters = [];
      for (const w of ws) w();
    }
  }

  /** The reply holding n bytes of fetch data has left (or was dropped). */
  releaseResponse(n: number): void {
    this.holdResponse(-n);
  }

  /**
   * Wait until this connection holds less unsent fetch data than its bound, then reserve what
   * the next fetch may read and return it: its share of the broker-wide room, never below
   * `floor` (so a fetch is never starved by other connections' slow clients; memory stays
   * bounded by the connection count times the floor). The reservation counts at once, so
   * pipelined fetches wait for each other; settle it with holdResponse(actual - reserved).
   */
  async reserveResponse(wanted: number, floor: number): Promise<number> {
    while (
      !this.closed &&
      this.responseBytes > 0 &&
      this.responseBytes >= this.dispatcher.connectionResponseBytes
    ) {
      await new Promise<void>((resolve) => this.responseWaiters.push(resolve));
    }
    const room = Math.min(
      this.dispatcher.responses.room,
      this.dispatcher.connectionResponseBytes - this.responseBytes,
    );
    const granted = Math.max(floor, Math.min(wanted, room));
    this.holdResponse(granted);
    return granted;
  }

  /** Kafka's answer to a request it cannot serve: log and close. */
  fail(reason: string): void {
    if (this.closed) return;
    this.dispatcher.logger.limited(
      "closing connection",
      `closing connection from ${this.sink.remote}: ${reason}`,
    );
    this.sink.close(reason);
    this.destroy();
  }

  /** The transport closed (or we closed it). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    // Replies never sent give their pooled memory back.
    for (let i = this.head; i < this.slots.length; i++) {
      const s = this.slots[i];
      const sent = s.sent;
      s.sent = undefined;
      sent?.();
    }
    this.dispatcher.requests.give(this.heldBytes);
    this.heldBytes = 0;
    this.held = [];
    this.heldHead = 0;
    for (const w of this.responseWaiters) w();
    this.responseWaiters = [];
    for (const f of this.onClose) f();
    this.onClose.clear();
  }
}

const EMPTY = Buffer.alloc(0);
