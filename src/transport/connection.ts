// One client connection, whichever transport carries it: decodes each request frame's header,
// runs the API's handler, and sends the replies in request order (Kafka's rule: a client may
// pipeline, and matches replies to requests by order as well as by correlation id).
//
// An unknown API key, an unsupported version (except ApiVersions, which gets Kafka's
// UNSUPPORTED_VERSION answer), or a frame that does not decode closes the connection with a log
// line, as Kafka does. Nothing a client sends throws past this class.

import type { RequestHeader } from "../protocol/api.ts";
import { ApiKey } from "../protocol/api_keys.ts";
import { encodeUnsupportedApiVersionsResponse } from "../protocol/api_versions.ts";
import { decodeRequestHeader, finishFrame, startResponseFrame } from "../protocol/header.ts";
import { ProtocolError, Reader } from "../protocol/reader.ts";
import { type AnyApiCodec, codecFor } from "../protocol/registry.ts";
import { Writer } from "../protocol/writer.ts";

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
  readonly listener: "PLAINTEXT" | "WEBSOCKET";
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
  log(line: string): void;
  /** Whether the broker is throttling reads right now (a new connection starts paused). */
  throttled(): boolean;
}

interface Slot {
  done: boolean;
  chunks: Uint8Array[] | null;
  length: number;
  sent?: () => void;
}

/** Replies waiting (in order) beyond which the connection stops reading more requests. */
const MAX_IN_FLIGHT = 256;
const PAUSED_IN_FLIGHT = 1;
const PAUSED_THROTTLED = 2;

export class Connection {
  private readonly slots: Slot[] = [];
  private head = 0;
  /** Why reading is paused: bit 1 too many replies waiting, bit 2 the broker is throttling. */
  private pausedBy = 0;
  closed = false;
  /** Called when the connection closes (to cancel long-polls). */
  readonly onClose = new Set<() => void>();

  constructor(
    readonly sink: TransportSink,
    private readonly dispatcher: Dispatcher,
  ) {
    if (dispatcher.throttled()) this.pauseFor(PAUSED_THROTTLED, true);
  }

  /** One request frame without its size prefix. */
  onFrame(frame: Buffer): void {
    if (this.closed) return;
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
        this.enqueue().chunks = w.chunks();
        this.complete();
        return;
      }
      this.fail(
        `unsupported ${codec.name} version ${header.apiVersion} (supported ${codec.minVersion}-${codec.maxVersion})`,
      );
      return;
    }
    let req: unknown;
    try {
      req = codec.decodeRequest(r, header.apiVersion);
    } catch (e) {
      if (e instanceof ProtocolError) {
        this.fail(`malformed ${codec.name} v${header.apiVersion} request: ${e.message}`);
        return;
      }
      throw e;
    }
    const slot = this.enqueue();
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
  }

  private handlerFailed(codec: AnyApiCodec, header: RequestHeader, e: unknown): void {
    this.dispatcher.log(
      `error handling ${codec.name} v${header.apiVersion} from ${this.sink.remote}: ${(e as Error).stack ?? e}`,
    );
    this.fail(`internal error in ${codec.name}`);
  }

  private enqueue(): Slot {
    const slot: Slot = { done: false, chunks: null, length: 0 };
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
    slot.done = true;
    slot.sent = sent;
    if (res !== NO_REPLY) {
      const w = new Writer(256);
      startResponseFrame(w, header.apiKey, header.apiVersion, header.correlationId);
      codec.encodeResponse(w, header.apiVersion, res);
      finishFrame(w);
      slot.chunks = w.chunks();
      slot.length = w.length;
    }
    this.flush();
  }

  /** Mark the last enqueued slot done (synchronous replies built here). */
  private complete(): void {
    const slot = this.slots[this.slots.length - 1];
    slot.done = true;
    slot.length = slot.chunks!.reduce((n, c) => n + c.length, 0);
    this.flush();
  }

  /** Send every finished reply at the head of the queue, in order. */
  private flush(): void {
    while (this.head < this.slots.length && this.slots[this.head].done) {
      const s = this.slots[this.head++];
      if (s.chunks !== null) this.sink.send(s.chunks, s.length, s.sent);
    }
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots.splice(0, this.head);
      this.head = 0;
    }
    if (this.slots.length - this.head < MAX_IN_FLIGHT / 2) this.pauseFor(PAUSED_IN_FLIGHT, false);
  }

  /** Stop reading requests while the broker's writers are behind (WriterPool.onBacklog). */
  setThrottled(on: boolean): void {
    this.pauseFor(PAUSED_THROTTLED, on);
  }

  private pauseFor(reason: number, on: boolean): void {
    const before = this.pausedBy;
    this.pausedBy = on ? before | reason : before & ~reason;
    if (before === 0 && this.pausedBy !== 0) this.sink.pause();
    else if (before !== 0 && this.pausedBy === 0 && !this.closed) this.sink.resume();
  }

  /** Kafka's answer to a request it cannot serve: log and close. */
  fail(reason: string): void {
    this.dispatcher.log(`closing connection from ${this.sink.remote}: ${reason}`);
    this.sink.close(reason);
    this.destroy();
  }

  /** The transport closed (or we closed it). */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    // Replies never sent give their pooled memory back.
    for (let i = this.head; i < this.slots.length; i++) this.slots[i].sent?.();
    for (const f of this.onClose) f();
    this.onClose.clear();
  }
}
