// The broker's HTTP listener (metrics.listener): node:http on the acceptor thread, off the Kafka
// data path, serving a list of HttpHandler routes (routes.ts). Bounded so that a slow or hostile
// client cannot hurt the broker (HTTP_LIMITS): at most maxConnections sockets, maxHeaderBytes of
// headers, headers within headersTimeoutMs and the whole request within requestTimeoutMs, the
// answer within responseTimeoutMs, idle keep-alive sockets closed after keepAliveMs, GET and
// HEAD only (405 otherwise), no request body read (a request that sends one is answered and its
// connection closed). At maxConnections a new connection takes the place of the oldest one that
// has no request being answered (still sending its headers, or idle between requests), so
// clients that open connections and hold them cannot lock out a scrape; only when every
// connection has a request being answered is the new one refused.

import * as http from "node:http";
import type * as net from "node:net";
import type { AddressInfo } from "node:net";
import { type HttpHandler, sendText } from "./handler.ts";

export interface HttpLimits {
  maxConnections: number;
  maxHeaderBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveMs: number;
  /** Requests one keep-alive connection may make before it is closed. */
  maxRequestsPerSocket: number;
  /** From a request's headers to its answer's last byte written (a client that reads slowly). */
  responseTimeoutMs: number;
  /**
   * How often headersTimeoutMs and requestTimeoutMs are checked (Node's connectionsCheckingInterval:
   * its default, 30 s, let a client trickling its headers keep a socket 30 s, not 5).
   */
  timeoutCheckMs: number;
}

/** The broker's limits (tests pass smaller ones to startHttpListener to run fast). */
export const HTTP_LIMITS: Readonly<HttpLimits> = {
  maxConnections: 64,
  maxHeaderBytes: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveMs: 5_000,
  maxRequestsPerSocket: 1000,
  responseTimeoutMs: 30_000,
  timeoutCheckMs: 1000,
};

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpListener(
  host: string,
  port: number,
  handlers: readonly HttpHandler[],
  log: (line: string) => void,
  limits: Partial<HttpLimits> = {},
): Promise<HttpListener> {
  const lim: HttpLimits = { ...HTTP_LIMITS, ...limits };
  /** Open sockets, oldest first, with how many of their requests are being answered. */
  const sockets = new Map<net.Socket, { answering: number }>();
  const server = http.createServer(
    {
      maxHeaderSize: lim.maxHeaderBytes,
      requestTimeout: lim.requestTimeoutMs,
      headersTimeout: lim.headersTimeoutMs,
      connectionsCheckingInterval: lim.timeoutCheckMs,
    },
    (req, res) => {
      const socket = req.socket;
      const state = sockets.get(socket);
      if (state !== undefined) state.answering++;
      const deadline = setTimeout(() => socket.destroy(), lim.responseTimeoutMs);
      res.once("close", () => {
        clearTimeout(deadline);
        if (state !== undefined) state.answering--;
      });
      void serve(req, res, handlers).catch((e) => {
        log(`HTTP ${req.method} ${req.url?.slice(0, 200)} failed: ${(e as Error)?.stack ?? e}`);
        if (!res.headersSent) sendText(res, 500, "internal error\n");
        else res.destroy();
      });
    },
  );
  server.on("connection", (socket: net.Socket) => {
    sockets.set(socket, { answering: 0 });
    socket.once("close", () => sockets.delete(socket));
    if (sockets.size <= lim.maxConnections) return;
    let victim = socket;
    for (const [s, st] of sockets)
      if (st.answering === 0 && s !== socket) {
        victim = s;
        break;
      }
    sockets.delete(victim);
    victim.destroy();
  });
  server.keepAliveTimeout = lim.keepAliveMs;
  server.maxRequestsPerSocket = lim.maxRequestsPerSocket;
  // An idle socket that never sends a full request is cut by headersTimeout; this bounds one
  // that trickles a body nobody reads, or never reads its answer.
  server.setTimeout(lim.requestTimeoutMs, (socket) => socket.destroy());
  // A malformed, too large or too slow request: no "clientError" listener, so that Node answers
  // 400, 431 or 408 and destroys the socket. (Ending it with a FIN only, as a listener here did,
  // left it open: the server allows half-open sockets, and a client that kept sending and never
  // closed its side held it for good.)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (e) => log(`HTTP listener: ${e.message}`));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(req: http.IncomingMessage, res: http.ServerResponse, handlers: readonly HttpHandler[]) {
  // No route reads a body: one that was sent is not read, and the connection goes with the answer.
  if (req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined)
    res.shouldKeepAlive = false;
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    sendText(res, 405, "method not allowed: GET or HEAD\n");
    return;
  }
  let url: URL;
  try {
    url = new URL(req.url ?? "/", "http://localhost");
  } catch {
    sendText(res, 400, "bad request target\n");
    return;
  }
  for (const h of handlers) if (await h(req, res, url)) return;
  sendText(res, 404, "not found\n");
}
