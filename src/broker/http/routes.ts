// The routes of the broker's HTTP listener, in the order they are tried: health, metrics, then
// the web console at "/" (src/console/serve.ts), last, so the broker's own paths keep precedence.

import type { Registry } from "prom-client";
import type { HttpHandler } from "./handler.ts";
import { healthHandler } from "./health.ts";
import { metricsHandler } from "./metrics.ts";

export interface RouteSources {
  /** null when ready, else why not (/readyz). */
  notReady(): string | null;
  registry: Registry;
  /** The web console's handler (null: console.enabled=false, or no WebSocket listener). */
  console: HttpHandler | null;
}

export function brokerRoutes(s: RouteSources): HttpHandler[] {
  return [
    healthHandler(() => s.notReady()),
    metricsHandler(s.registry),
    ...(s.console === null ? [] : [s.console]),
  ];
}
