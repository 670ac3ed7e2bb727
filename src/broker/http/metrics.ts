// GET /metrics: the broker's prom-client registry in Prometheus text format (0.0.4).
//
// A collection runs on the acceptor thread, the Kafka listeners' event loop, and costs CPU in
// proportion to the broker's partitions and groups (2,000 partitions and 200 groups: 3.7 MB of
// text, about half a second). So scrapes are bounded (SCRAPE_LIMITS): one collection at a time;
// requests arriving meanwhile share the next one, which starts when it ends and no sooner after
// it than it took (collections use at most about half the event loop, however many clients
// scrape); at most maxScrapes requests wait, the others get 503 at once, and a request whose
// collection has not ended within waitMs gets 503. Within a collection the loop is yielded to
// between metric families, so Kafka requests are served between them.

import type { Registry } from "prom-client";
import { type HttpHandler, sendText } from "./handler.ts";

export interface ScrapeLimits {
  /** Requests waiting for a collection (with the one that started it); more get 503. */
  maxScrapes: number;
  /** How long a request waits for its collection before it gets 503. */
  waitMs: number;
}

export const SCRAPE_LIMITS: Readonly<ScrapeLimits> = { maxScrapes: 16, waitMs: 10_000 };

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The registry's text, as registry.metrics() prints it, one metric family per turn of the loop. */
export async function collectText(registry: Registry): Promise<string> {
  const parts: string[] = [];
  for (const m of registry.getMetricsAsArray()) {
    await yieldToLoop();
    parts.push(await registry.getSingleMetricAsString(m.name));
  }
  return `${parts.join("\n\n")}\n`;
}

/**
 * One collection at a time: scrape() resolves with the text of a collection that started after
 * it was called (the running one if it started now, else the next, shared by every caller
 * meanwhile), paced so that a collection starts no sooner after the previous one than it took.
 */
export function scrapeGate(collect: () => Promise<string>): { scrape(): Promise<Buffer> } {
  let running: Promise<Buffer> | null = null;
  let queued: Promise<Buffer> | null = null;
  /** When the next collection may start (the last one's end plus its duration). */
  let notBefore = 0;

  const run = (): Promise<Buffer> => {
    const t0 = performance.now();
    const p = collect().then((text) => Buffer.from(text));
    running = p;
    const done = () => {
      const t1 = performance.now();
      notBefore = t1 + (t1 - t0);
      if (running === p) running = null;
    };
    p.then(done, done);
    return p;
  };

  return {
    scrape() {
      if (running === null && queued === null && performance.now() >= notBefore) return run();
      if (queued === null) {
        const before = running ?? Promise.resolve();
        queued = before
          .then(
            () => {},
            () => {},
          )
          .then(() => new Promise<void>((r) => setTimeout(r, Math.max(0, notBefore - performance.now()))))
          .then(() => {
            queued = null;
            return run();
          });
      }
      return queued;
    },
  };
}

export function metricsHandler(registry: Registry, limits: Partial<ScrapeLimits> = {}): HttpHandler {
  const lim: ScrapeLimits = { ...SCRAPE_LIMITS, ...limits };
  const gate = scrapeGate(() => collectText(registry));
  let waiting = 0;
  const busy = (res: Parameters<HttpHandler>[1], why: string) => {
    res.setHeader("Retry-After", "1");
    sendText(res, 503, why);
  };
  return async (_req, res, url) => {
    if (url.pathname !== "/metrics") return false;
    if (waiting >= lim.maxScrapes) {
      busy(res, `busy: ${waiting} scrapes already waiting\n`);
      return true;
    }
    waiting++;
    let timer: NodeJS.Timeout | undefined;
    try {
      const body = await Promise.race([
        gate.scrape(),
        new Promise<null>((r) => {
          timer = setTimeout(() => r(null), lim.waitMs);
        }),
      ]);
      if (body === null) busy(res, `busy: no collection ended within ${lim.waitMs} ms\n`);
      else sendText(res, 200, body, registry.contentType);
    } finally {
      clearTimeout(timer);
      waiting--;
    }
    return true;
  };
}
