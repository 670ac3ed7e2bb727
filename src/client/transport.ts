// Transports: how request frames reach a broker. A Transport sends one request frame given as
// chunks that start with TCP's 4-byte size prefix, and hands back each response frame without
// it. Two kinds:
//   - TCP (Node only, src/client/tcp.ts): writes the chunks as they are, cuts replies on the size.
//   - WebSocket (this file, browser-safe): one binary message = one frame without the size
//     prefix, replies the same, in request order (Milena's WebSocket listener). It works with
//     any object shaped like the standard WebSocket: the browser's, Node 22's global one, or the
//     `ws` package, which the Node entry injects with its own options.

import { ConnectionError, tlsRefusal } from "./errors.ts";
import type { TlsOptions } from "./security.ts";

/** Where a broker is: TCP host:port, or a WebSocket URL. */
export interface BrokerAddress {
  kind: "tcp" | "ws";
  host: string;
  port: number;
  /** For WebSocket: the URL (scheme, host, port, path). */
  url: string;
  /** For messages and errors. */
  label: string;
}

export interface TransportEvents {
  /** One response frame (no size prefix); may be a view into a larger buffer. */
  onFrame(frame: Uint8Array): void;
  /** The transport closed (error: why, when it was not close()). Called once. */
  onClose(error: Error | null): void;
}

export interface Transport {
  /**
   * Send one request frame: `chunks` start with the 4-byte size prefix, `total` is their length.
   * `onWritten`, when given, is called once the bytes have left the client's buffers.
   */
  send(chunks: readonly Uint8Array[], total: number, onWritten?: () => void): void;
  /** Bytes accepted by send() and not yet written to the network. */
  readonly bufferedAmount: number;
  close(): void;
  /**
   * Hold the sends that follow until uncork() (nested calls count), then write them at once: a
   * producer filling several request slots makes one syscall, not one per request. Optional.
   */
  cork?(): void;
  uncork?(): void;
}

export type TcpConnector = (
  host: string,
  port: number,
  events: TransportEvents,
  timeoutMs: number,
  /** TLS (node:tls) when not null. */
  tls: TlsOptions | null,
) => Promise<Transport>;

export type WebSocketConnector = (
  address: BrokerAddress,
  events: TransportEvents,
  timeoutMs: number,
  /** For wss:// (node:tls), null for the platform's defaults. */
  tls: TlsOptions | null,
) => Promise<Transport>;

/** The part of the standard WebSocket interface the transport uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly bufferedAmount: number;
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  /**
   * Optional: send one message given as several chunks without joining them first (the Node
   * entry's `ws` wrapper sends them as fragments of one message).
   */
  sendChunks?(chunks: readonly Uint8Array[]): void;
  /** Hold writes until uncork() (the Node entry: the ws package's socket). Optional. */
  cork?(): void;
  uncork?(): void;
}

/**
 * Opens a WebSocket (the Node entry's loads the `ws` package on first use, hence the promise).
 * `tls` is for wss:// URLs where the factory can use it (the Node entry's `ws`); a browser's
 * WebSocket does its own TLS and ignores it.
 */
export type WebSocketFactory = (
  url: string,
  tls?: TlsOptions | null,
) => WebSocketLike | Promise<WebSocketLike>;

const OPEN = 1;

/** Parse one bootstrap entry: "host:port" (TCP) or "ws://host:port[/path]" / "wss://...". */
export function parseAddress(entry: string): BrokerAddress {
  const s = entry.trim();
  const m = /^(wss?):\/\/(\[[^\]]+\]|[^/:]+)(?::(\d+))?(\/.*)?$/i.exec(s);
  if (m) {
    const scheme = m[1].toLowerCase();
    const port = m[3] !== undefined ? Number(m[3]) : scheme === "wss" ? 443 : 80;
    const host = m[2].replace(/^\[|\]$/g, "");
    return { kind: "ws", host, port, url: s, label: s };
  }
  const t = /^(\[[^\]]+\]|[^:]+|[^\]]*):(\d+)$/.exec(s);
  if (!t) throw new Error(`bad bootstrap address "${entry}": expected host:port or ws://host:port`);
  const host = t[1].replace(/^\[|\]$/g, "");
  return { kind: "tcp", host, port: Number(t[2]), url: "", label: `${host}:${t[2]}` };
}

/**
 * The address of a broker found in Metadata (host, port), reached the way `via` was: a
 * WebSocket bootstrap keeps the WebSocket transport (same scheme and path), since the broker
 * advertises its WebSocket listener to WebSocket clients.
 */
export function brokerAddress(via: BrokerAddress, host: string, port: number): BrokerAddress {
  const h = host.includes(":") ? `[${host}]` : host;
  if (via.kind === "tcp") return { kind: "tcp", host, port, url: "", label: `${h}:${port}` };
  const m = /^(wss?):\/\/[^/]*(\/.*)?$/i.exec(via.url);
  const scheme = m ? m[1].toLowerCase() : "ws";
  const path = m?.[2] ?? "";
  const url = `${scheme}://${h}:${port}${path}`;
  return { kind: "ws", host, port, url, label: url };
}

/** Open a WebSocket transport. */
export async function connectWebSocket(
  factory: WebSocketFactory,
  address: BrokerAddress,
  events: TransportEvents,
  timeoutMs: number,
  tls: TlsOptions | null = null,
): Promise<Transport> {
  let ws: WebSocketLike;
  try {
    ws = await factory(address.url, tls);
  } catch (e) {
    throw new ConnectionError(`cannot open ${address.label}: ${(e as Error).message}`, { cause: e });
  }
  return new Promise((resolve, reject) => {
    if (ws.binaryType !== "nodebuffer") ws.binaryType = "arraybuffer";
    let opened = false;
    let closed = false;
    let lastError: string | null = null;
    /** The `ws` package's underlying error (its code says whether a certificate was refused). */
    let cause: unknown = null;
    const transport = new WebSocketTransport(ws);
    const timer = setTimeout(() => {
      if (opened) return;
      closed = true;
      try {
        ws.close();
      } catch {
        // not open yet
      }
      reject(new ConnectionError(`connection to ${address.label} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    ws.onopen = () => {
      opened = true;
      clearTimeout(timer);
      resolve(transport);
    };
    ws.onerror = (ev) => {
      const msg = (ev as { message?: string; error?: { message?: string } })?.message;
      lastError = msg ?? (ev as { error?: { message?: string } })?.error?.message ?? "WebSocket error";
      cause = (ev as { error?: unknown })?.error ?? null;
    };
    ws.onmessage = (ev) => {
      const d = ev.data;
      let frame: Uint8Array;
      if (ArrayBuffer.isView(d)) frame = d as Uint8Array;
      else if (typeof d === "object" && d !== null && typeof (d as ArrayBuffer).byteLength === "number")
        frame = new Uint8Array(d as ArrayBuffer);
      else {
        lastError = "text WebSocket message from the broker (Kafka frames are binary)";
        ws.close();
        return;
      }
      events.onFrame(frame);
    };
    ws.onclose = (ev) => {
      transport.stopPolling();
      if (!opened) {
        clearTimeout(timer);
        if (!closed) {
          closed = true;
          reject(
            tlsRefusal(address.label, cause) ??
              new ConnectionError(
                `cannot connect to ${address.label}: ${lastError ?? `closed (${ev?.code})`}`,
              ),
          );
        }
        return;
      }
      if (closed) return;
      closed = true;
      events.onClose(
        transport.closedByUs
          ? null
          : new ConnectionError(
              `connection to ${address.label} closed${lastError ? `: ${lastError}` : ev?.code ? ` (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})` : ""}`,
              { broker: address.label },
            ),
      );
    };
  });
}

class WebSocketTransport implements Transport {
  closedByUs = false;
  /** Bytes handed to ws.send() so far, and the end marks of messages waiting for onWritten. */
  private sent = 0;
  private marks: { end: number; cb: () => void }[] = [];
  private poll: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly ws: WebSocketLike) {}

  cork(): void {
    this.ws.cork?.();
  }

  uncork(): void {
    this.ws.uncork?.();
  }

  send(chunks: readonly Uint8Array[], total: number, onWritten?: () => void): void {
    const ws = this.ws;
    if (ws.readyState !== OPEN) throw new ConnectionError("WebSocket is not open");
    if (chunks.length === 1) ws.send(chunks[0].subarray(4));
    else if (ws.sendChunks !== undefined) {
      const list = chunks.slice();
      list[0] = chunks[0].subarray(4);
      ws.sendChunks(list);
    } else {
      const data = new Uint8Array(total - 4);
      let at = 0;
      for (let i = 0; i < chunks.length; i++) {
        const c = i === 0 ? chunks[0].subarray(4) : chunks[i];
        data.set(c, at);
        at += c.length;
      }
      ws.send(data);
    }
    this.sent += total - 4;
    if (onWritten !== undefined) {
      this.marks.push({ end: this.sent, cb: onWritten });
      this.check();
    }
  }

  /** Call onWritten for each message whose bytes left bufferedAmount; poll while some wait. */
  private check = (): void => {
    this.poll = null;
    const written = this.sent - this.ws.bufferedAmount;
    let i = 0;
    while (i < this.marks.length && this.marks[i].end <= written) i++;
    if (i > 0) for (const m of this.marks.splice(0, i)) m.cb();
    if (this.marks.length > 0 && this.poll === null && this.ws.readyState === OPEN)
      this.poll = setTimeout(this.check, 2);
  };

  stopPolling(): void {
    if (this.poll !== null) clearTimeout(this.poll);
    this.poll = null;
    this.marks = [];
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  close(): void {
    this.closedByUs = true;
    this.stopPolling();
    try {
      this.ws.close();
    } catch {
      // already closing
    }
  }
}
