// GET /metrics: the broker's prom-client registry in Prometheus text format (0.0.4).

import type { Registry } from "prom-client";
import { type HttpHandler, sendText } from "./handler.ts";

export function metricsHandler(registry: Registry): HttpHandler {
  return async (_req, res, url) => {
    if (url.pathname !== "/metrics") return false;
    sendText(res, 200, await registry.metrics(), registry.contentType);
    return true;
  };
}
