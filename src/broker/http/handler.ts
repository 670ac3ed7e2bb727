// The shape of a route on the broker's HTTP listener (metrics.listener): handlers are tried in
// order and the first to return true has answered. /healthz, /readyz and /metrics are handlers;
// the web console (src/console/serve.ts, consoleHandler) is mounted as one too (routes.ts).

import type { IncomingMessage, ServerResponse } from "node:http";

/** Answer the request and return true, or return false to let the next handler try. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** A small text answer (HEAD gets the headers only: node:http drops the body). */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string | Buffer,
  contentType = "text/plain; charset=utf-8",
): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, {
    "Content-Type": contentType,
    "Content-Length": bytes.length,
    "Cache-Control": "no-store",
  });
  res.end(bytes);
}
