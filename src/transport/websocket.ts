// The Kafka protocol over WebSocket (uWebSockets.js): one binary message carries one request
// frame, without TCP's 4-byte size prefix (the message length is the size); each response goes
// back as one binary message the same way. Same Connection, same handlers as TCP.
//
// Who may connect: a browser sends an Origin header, and any web page open in a browser on this
// host could otherwise reach ws://127.0.0.1:9094. websocket.allowed.origins lists the origins
// allowed (scheme://host[:port], or * for any); without a listing, a browser page is allowed only
// from this host itself (a loopback name, or a host the broker listens on or advertises).
// Clients that send no Origin (Node, kcat-like tools) are not browsers and are allowed. A
// refused upgrade gets 403 and one (rate-limited) log line.
//
// Backpressure: replies go into uWebSockets.js (which copies them) only while it buffers less
// than SEND_HIGH_BYTES for the client; beyond that they wait here, in order, holding their own
// memory (fetch data counts in the broker's fetch memory bound), and the Connection stops taking
// requests until the client reads. uWebSockets.js cannot pause reading a socket, so frames a
// paused connection receives wait in the Connection, bounded per connection and broker-wide
// (queued.max.request.bytes). A message still arriving is held inside uWebSockets.js, at most
// socket.request.max.bytes per connection, out of the broker's count; the idle clock counts
// whole messages only, so a connection trickling one is closed after connections.max.idle.ms.

import type * as uws from "uWebSockets.js";
import { createRequire } from "node:module";
import * as tls from "node:tls";
import type { SslConfig } from "../broker/config.ts";
import { type Admission, Connection, type Dispatcher, OPEN_DOOR, type TransportSink } from "./connection.ts";
import { secureContextOptions, watchTlsFiles } from "./tls_options.ts";

const require = createRequire(import.meta.url);

/**
 * Load uWebSockets.js's native binary directly. The package's own entry point falls back
 * silently to a slow pure-JS server when the binary does not load; Milena refuses to start.
 */
export function loadUws(): typeof uws {
  const pkgDir = require.resolve("uWebSockets.js/package.json").replace(/package\.json$/, "");
  const binary = `${pkgDir}binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return require(binary) as typeof uws;
  } catch (e) {
    throw new Error(
      `uWebSockets.js native binary did not load (${binary}): ${(e as Error).message}. ` +
        `The WebSocket listener needs it (Node ${process.version}, ${process.platform}-${process.arch}); ` +
        "remove the WEBSOCKET listener from 'listeners' to run without it.",
    );
  }
}

/** Above this much buffered in uWebSockets.js for a client, replies wait here. */
const SEND_HIGH_BYTES = 8 * 1024 * 1024;
/** TLS server names (SNI) a wss listener keeps a context for (each costs an SSL_CTX). */
const MAX_SERVER_NAMES = 64;
/** uWebSockets.js never buffers much more than SEND_HIGH_BYTES plus one reply. */
const MAX_BACKPRESSURE = 256 * 1024 * 1024;

interface Queued {
  chunks: Uint8Array[];
  sent?: () => void;
}

interface WsData {
  /** Remote address, as admitted (released at close). */
  ip: string;
  conn: Connection;
  /** Replies waiting for uWebSockets.js's buffer to drain, in order. */
  queue: Queued[];
  queueHead: number;
  open: boolean;
}

export interface WebSocketListener {
  port: number;
  close(): void;
}

export interface OriginPolicy {
  /** websocket.allowed.origins as configured (empty: this host only; "*": any). */
  allowed: readonly string[];
  /** Host names that are this broker's own (listeners and advertised listeners). */
  ownHosts: readonly string[];
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/** Whether a browser page of `origin` may connect; null origin: not a browser, allowed. */
export function originAllowed(origin: string, policy: OriginPolicy): boolean {
  if (origin === "") return true;
  if (policy.allowed.includes("*")) return true;
  const o = origin.toLowerCase().replace(/\/+$/, "");
  if (policy.allowed.some((a) => a.toLowerCase().replace(/\/+$/, "") === o)) return true;
  if (policy.allowed.length > 0) return false;
  let host: string;
  try {
    host = new URL(o).hostname;
  } catch {
    return false;
  }
  return LOOPBACK.has(host) || policy.ownHosts.some((h) => h.toLowerCase() === host && h !== "0.0.0.0");
}

export async function startWebSocketListener(
  host: string,
  port: number,
  maxFrameBytes: number,
  dispatcher: Dispatcher,
  connections: Set<Connection>,
  origins: OriginPolicy,
  admission: Admission = OPEN_DOOR,
  opts: {
    name: string;
    ssl: SslConfig | null;
    sasl?: boolean;
    saslMaxReceiveBytes?: number;
    /** Where certificate reloads are told. */
    log?: (line: string) => void;
  } = {
    name: "WEBSOCKET",
    ssl: null,
  },
): Promise<WebSocketListener> {
  const u = loadUws();
  const ssl = opts.ssl;
  const sockets = new Set<uws.WebSocket<WsData>>();
  const behavior: uws.WebSocketBehavior<WsData> = {
    compression: u.DISABLED,
    maxPayloadLength: maxFrameBytes,
    maxBackpressure: MAX_BACKPRESSURE,
    closeOnBackpressureLimit: 1,
    idleTimeout: 0,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const origin = req.getHeader("origin");
      const remote = Buffer.from(res.getRemoteAddressAsText()).toString();
      if (!originAllowed(origin, origins)) {
        dispatcher.logger.limited(
          "refused WebSocket upgrade",
          `refused WebSocket upgrade from ${remote}: origin ${JSON.stringify(origin.slice(0, 200))} is not in websocket.allowed.origins`,
        );
        res.writeStatus("403 Forbidden").end("origin not allowed", true);
        return;
      }
      const refused = admission.admit(remote);
      if (refused !== null) {
        dispatcher.logger.limited("refused connection", `refused connection from ${remote}: ${refused}`);
        res.writeStatus("503 Service Unavailable").end(refused, true);
        return;
      }
      res.upgrade<Partial<WsData>>(
        { ip: remote },
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      data.open = true;
      data.queue = [];
      data.queueHead = 0;
      const remote = Buffer.from(ws.getRemoteAddressAsText()).toString();
      const sink: TransportSink = {
        remote,
        listener: opts.name,
        sasl: opts.sasl === true,
        send(chunks, _length, sent) {
          if (!data.open) {
            sent?.();
            return;
          }
          if (data.queueHead < data.queue.length || ws.getBufferedAmount() > SEND_HIGH_BYTES) {
            data.queue.push({ chunks, sent });
            data.conn.setSendBlocked(true);
            return;
          }
          sendNow(ws, chunks, sent);
        },
        close() {
          if (data.open) {
            data.open = false;
            ws.end(1008, "closing");
          }
        },
        // uWebSockets.js cannot stop reading: the Connection holds what arrives meanwhile.
        pause() {},
        resume() {},
      };
      data.conn = new Connection(sink, dispatcher);
      connections.add(data.conn);
      data.conn.onClose.add(() => {
        data.open = false;
        releaseQueue(data);
      });
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      if (!isBinary) {
        data.conn.fail("text WebSocket message (Kafka frames are binary)");
        return;
      }
      const sasl = data.conn.sasl;
      if (sasl !== null && !sasl.authenticated && message.byteLength > (opts.saslMaxReceiveBytes ?? 524288)) {
        data.conn.fail(
          `request of ${message.byteLength} bytes before SASL authentication exceeds sasl.server.max.receive.size`,
        );
        return;
      }
      // uWebSockets.js reuses the message memory after this callback: take a copy.
      data.conn.onFrame(Buffer.from(message.slice(0)));
    },
    drain: (ws) => {
      const data = ws.getUserData();
      while (data.open && data.queueHead < data.queue.length && ws.getBufferedAmount() <= SEND_HIGH_BYTES) {
        const q = data.queue[data.queueHead];
        data.queue[data.queueHead++] = DONE;
        sendNow(ws, q.chunks, q.sent);
      }
      if (data.queueHead === data.queue.length) {
        data.queue = [];
        data.queueHead = 0;
        if (ws.getBufferedAmount() <= SEND_HIGH_BYTES) data.conn.setSendBlocked(false);
      }
    },
    close: (ws) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      admission.left(data.ip);
      data.open = false;
      data.conn?.destroy();
      if (data.conn) {
        connections.delete(data.conn);
        releaseQueue(data);
      }
    },
  };
  // wss for the WEBSOCKET_SSL / WEBSOCKET_SASL_SSL listeners: uWebSockets.js's SSLApp on the
  // same PEM files as the TCP listeners.
  const sslFiles =
    ssl === null
      ? null
      : {
          key_file_name: ssl.keyLocation ?? undefined,
          cert_file_name: ssl.certificateLocation ?? undefined,
          ca_file_name: ssl.caLocation ?? undefined,
          passphrase: ssl.keyPassword ?? undefined,
        };
  const app = (sslFiles === null ? u.App() : u.SSLApp(sslFiles)).ws<WsData>("/*", behavior);
  // A renewed certificate: uWebSockets.js cannot swap an SSLApp's own context, nor listen twice
  // on a port, so a client that names the server (TLS SNI: every browser and Node client reaching
  // a host name) gets a per-name context made from the files as they are at its first handshake;
  // a reload drops them all, and the next handshake of each name reads the new files. Clients
  // that connect to an address without a name get the certificate read at start.
  const serverNames = new Set<string>();
  let stopWatching = () => {};
  if (ssl !== null && sslFiles !== null) {
    app.missingServerName((hostname) => {
      if (serverNames.size >= MAX_SERVER_NAMES || hostname.length > 253) return;
      try {
        tls.createSecureContext(secureContextOptions(ssl)); // the files parse: else keep the default
        app.addServerName(hostname, sslFiles);
        serverNames.add(hostname);
      } catch (e) {
        opts.log?.(`${opts.name}: TLS: serving the certificates read at start: ${(e as Error).message}`);
      }
    });
    stopWatching = watchTlsFiles(
      ssl,
      (o) => {
        tls.createSecureContext(o); // throws on a bad key or certificate: the contexts stay
        for (const name of serverNames) app.removeServerName(name);
        serverNames.clear();
      },
      (line) => opts.log?.(`${opts.name}: ${line}`),
    );
  }
  const listenSocket = await new Promise<uws.us_listen_socket>((resolve, reject) =>
    app.listen(host, port, (socket) =>
      socket === false
        ? reject(new Error(`cannot listen for WebSocket on ${host}:${port}`))
        : resolve(socket),
    ),
  ).catch((e: Error) => {
    stopWatching();
    throw e;
  });
  return {
    port: u.us_socket_local_port(listenSocket),
    close() {
      stopWatching();
      u.us_listen_socket_close(listenSocket);
      for (const ws of [...sockets]) ws.close();
      sockets.clear();
    },
  };
}

const DONE: Queued = { chunks: [] };

/** Replies never sent give their memory back. */
function releaseQueue(data: WsData): void {
  const q = data.queue;
  data.queue = [];
  for (let i = data.queueHead; i < q.length; i++) q[i].sent?.();
  data.queueHead = 0;
}

/** One reply into uWebSockets.js (it copies what it sends or buffers before returning). */
function sendNow(ws: uws.WebSocket<WsData>, chunks: Uint8Array[], sent?: () => void): void {
  try {
    // Drop TCP's size prefix: the message length is the size.
    const first = chunks[0].subarray(4);
    if (chunks.length === 1) ws.send(first, true);
    else {
      ws.cork(() => {
        ws.sendFirstFragment(first, true);
        for (let i = 1; i < chunks.length - 1; i++) ws.sendFragment(chunks[i]);
        ws.sendLastFragment(chunks[chunks.length - 1]);
      });
    }
  } finally {
    sent?.();
  }
}
