// The broker's HTTP listener (metrics.listener): node:http on the acceptor thread, off the Kafka
// data path, serving a list of HttpHandler routes (routes.ts). Bounded so that a slow or hostile
// client cannot hurt the broker: at most MAX_CONNECTIONS sockets, MAX_HEADER_BYTES of headers,
// headers within HEADERS_TIMEOUT_MS and the whole request within REQUEST_TIMEOUT_MS, idle
// keep-alive sockets closed after KEEP_ALIVE_MS, GET and HEAD only (405 otherwise), no request
// body read (a request that sends one is answered and its connection closed).

import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { type HttpHandler, sendText } from "./handler.ts";

export const MAX_CONNECTIONS = 64;
export const MAX_HEADER_BYTES = 8 * 1024;
export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;
export const KEEP_ALIVE_MS = 5_000;
/** Requests one keep-alive connection may make before it is closed. */
export const MAX_REQUESTS_PER_SOCKET = 1000;

export interface HttpListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHttpListener(
  host: string,
  port: number,
  handlers: readonly HttpHandler[],
  log: (line: string) => void,
): Promise<HttpListener> {
  const server = http.createServer(
    {
      maxHeaderSize: MAX_HEADER_BYTES,
      requestTimeout: REQUEST_TIMEOUT_MS,
      headersTimeout: HEADERS_TIMEOUT_MS,
    },
    (req, res) => {
      void serve(req, res, handlers).catch((e) => {
        log(`HTTP ${req.method} ${req.url?.slice(0, 200)} failed: ${(e as Error)?.stack ?? e}`);
        if (!res.headersSent) sendText(res, 500, "internal error\n");
        else res.destroy();
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
  // An idle socket that never sends a full request is cut by headersTimeout; this bounds one
  // that trickles a body nobody reads, or never reads its answer.
  server.setTimeout(REQUEST_TIMEOUT_MS, (socket) => socket.destroy());
  server.on("clientError", (_e, socket) => {
    if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
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
