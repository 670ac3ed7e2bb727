// The Kafka protocol over WebSocket (uWebSockets.js): one binary message carries one request
// frame, without TCP's 4-byte size prefix (the message length is the size); each response goes
// back as one binary message the same way. Same Connection, same handlers as TCP.
//
// Backpressure: uWebSockets.js buffers replies a client has not read yet. Above SEND_HIGH_BYTES
// buffered, the connection stops taking requests (as when the Connection pauses it) until the
// buffer drains below half of that; replies already owed still go out (a few pipelined 8 MiB
// fetches are normal). This version cannot pause reading a socket, so while a connection is
// paused its frames wait here, up to PAUSED_BYTES_MAX; a client that keeps sending past that
// without reading replies is disconnected with a log line, and one whose unread replies pass
// MAX_BACKPRESSURE is closed by uWebSockets.js (closeOnBackpressureLimit).

import type * as uws from "uWebSockets.js";
import { createRequire } from "node:module";
import { Connection, type Dispatcher, type TransportSink } from "./connection.ts";

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

const SEND_HIGH_BYTES = 32 * 1024 * 1024;
const MAX_BACKPRESSURE = 1024 * 1024 * 1024;
const PAUSED_BYTES_MAX = 64 * 1024 * 1024;

interface WsData {
  /** The client has not read SEND_HIGH_BYTES of replies: take no more requests for now. */
  backpressured: boolean;
  release: () => void;
  conn: Connection;
  paused: boolean;
  held: Buffer[];
  heldBytes: number;
}

export interface WebSocketListener {
  port: number;
  close(): void;
}

export function startWebSocketListener(
  host: string,
  port: number,
  maxFrameBytes: number,
  dispatcher: Dispatcher,
  connections: Set<Connection>,
): Promise<WebSocketListener> {
  const u = loadUws();
  const app = u.App();
  const sockets = new Set<uws.WebSocket<WsData>>();
  app.ws<WsData>("/*", {
    compression: u.DISABLED,
    maxPayloadLength: maxFrameBytes,
    maxBackpressure: MAX_BACKPRESSURE,
    closeOnBackpressureLimit: 1,
    idleTimeout: 0,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      res.upgrade<Partial<WsData>>(
        {},
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
    },
    open: (ws) => {
      sockets.add(ws);
      const data = ws.getUserData();
      let open = true;
      /** Hand held frames to the connection while neither it nor the send buffer says wait. */
      const release = (): void => {
        while (!data.paused && !data.backpressured && data.held.length > 0) {
          const f = data.held.shift()!;
          data.heldBytes -= f.length;
          data.conn.onFrame(f);
        }
      };
      data.release = release;
      const sendChunks = (chunks: Uint8Array[]): void => {
        // Drop TCP's size prefix: the message length is the size.
        const first = chunks[0].subarray(4);
        if (chunks.length === 1) {
          ws.send(first, true);
          return;
        }
        ws.cork(() => {
          ws.sendFirstFragment(first, true);
          for (let i = 1; i < chunks.length - 1; i++) ws.sendFragment(chunks[i]);
          ws.sendLastFragment(chunks[chunks.length - 1]);
        });
      };
      const remote = Buffer.from(ws.getRemoteAddressAsText()).toString();
      const sink: TransportSink = {
        remote,
        listener: "WEBSOCKET",
        send(chunks, _length, sent) {
          if (!open) {
            sent?.();
            return;
          }
          // uWebSockets.js copies what it sends (or buffers under backpressure) before returning.
          try {
            sendChunks(chunks);
          } finally {
            sent?.();
          }
          if (ws.getBufferedAmount() > SEND_HIGH_BYTES) data.backpressured = true;
        },
        close() {
          if (open) {
            open = false;
            ws.end(1008, "closing");
          }
        },
        pause() {
          data.paused = true;
        },
        resume() {
          data.paused = false;
          release();
        },
      };
      data.paused = false;
      data.backpressured = false;
      data.held = [];
      data.heldBytes = 0;
      data.conn = new Connection(sink, dispatcher);
      connections.add(data.conn);
      data.conn.onClose.add(() => {
        open = false;
      });
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      if (!isBinary) {
        data.conn.fail("text WebSocket message (Kafka frames are binary)");
        return;
      }
      // uWebSockets.js reuses the message memory after this callback: take a copy.
      const frame = Buffer.from(message.slice(0));
      if (data.paused || data.backpressured) {
        data.held.push(frame);
        data.heldBytes += frame.length;
        if (data.heldBytes > PAUSED_BYTES_MAX)
          data.conn.fail("client keeps sending requests without reading replies");
        return;
      }
      data.conn.onFrame(frame);
    },
    drain: (ws) => {
      const data = ws.getUserData();
      if (data.backpressured && ws.getBufferedAmount() < SEND_HIGH_BYTES / 2) {
        data.backpressured = false;
        data.release();
      }
    },
    close: (ws) => {
      sockets.delete(ws);
      const data = ws.getUserData();
      data.conn?.destroy();
      if (data.conn) connections.delete(data.conn);
    },
  });
  return new Promise((resolve, reject) => {
    app.listen(host, port, (listenSocket) => {
      if (listenSocket === false) {
        reject(new Error(`cannot listen for WebSocket on ${host}:${port}`));
        return;
      }
      resolve({
        port: u.us_socket_local_port(listenSocket),
        close() {
          u.us_listen_socket_close(listenSocket);
          for (const ws of [...sockets]) ws.close();
          sockets.clear();
        },
      });
    });
  });
}
