// Request counts and latencies per API and version (Kafka's RequestMetrics: RequestsPerSec and
// TotalTimeMs, by request and version), kept in one preallocated HistogramTable with a row per
// (api key, version) of the protocol registry. The connection observes each request once its
// answer is ready (or, acks=0, once handled): one bucket search, two additions.

import { CODECS, codecFor } from "../../protocol/registry.ts";
import { HistogramTable, LATENCY_BUCKETS_SECONDS, type Sample } from "./histogram.ts";

const MAX_KEY = Math.max(...CODECS.map((c) => c.key));
const VERSIONS = Math.max(...CODECS.map((c) => c.maxVersion)) + 1;

export class RequestMetrics {
  readonly table = new HistogramTable(LATENCY_BUCKETS_SECONDS, (MAX_KEY + 1) * VERSIONS);

  /** One request of apiKey/apiVersion took `seconds` from its decoding to its answer being ready. */
  observe(apiKey: number, apiVersion: number, seconds: number): void {
    if (apiKey < 0 || apiKey > MAX_KEY || apiVersion < 0 || apiVersion >= VERSIONS) return;
    this.table.observe(apiKey * VERSIONS + apiVersion, seconds);
  }

  /** Requests of apiKey/apiVersion observed so far. */
  count(apiKey: number, apiVersion: number): number {
    return this.table.count(apiKey * VERSIONS + apiVersion);
  }

  /** requests_total samples and the latency histogram's, for the (api, version) rows seen. */
  collect(latencyName: string): { totals: Sample[]; latency: Sample[] } {
    const totals: Sample[] = [];
    const latency: Sample[] = [];
    for (let key = 0; key <= MAX_KEY; key++) {
      const codec = codecFor(key);
      if (codec === undefined) continue;
      for (let v = 0; v < VERSIONS; v++) {
        const row = key * VERSIONS + v;
        const n = this.table.count(row);
        if (n === 0) continue;
        const labels = { request: codec.name, version: String(v) };
        totals.push({ labels, value: n });
        this.table.samples(row, latencyName, labels, latency);
      }
    }
    return { totals, latency };
  }
}
