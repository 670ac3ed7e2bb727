// The mirror's Prometheus metrics (prom-client, as the broker's /metrics): with `metrics.listener
// = host:port` in its configuration, `milena mirror` serves GET /metrics there (the broker's HTTP
// listener code, src/broker/http/server.ts, with its bounds). Every sample is computed when
// scraped from the flows' counters (the broker's collector pattern), labelled by flow:
//
//   milena_mirror_records_copied_total{source,target}   counter  records the target acknowledged
//   milena_mirror_lag_records{source,target}            gauge    behind the source's high watermark,
//                                                                summed over the partitions held
//                                                                (at each one's last fetch)
//   milena_mirror_partitions{source,target}             gauge    source partitions this process copies
//   milena_mirror_topics{source,target}                 gauge    topics the flow copies
//   milena_mirror_offset_syncs_total{source,target}     counter  offset syncs written
//   milena_mirror_checkpoints_total{source,target}      counter  checkpoints written
//   milena_mirror_heartbeats_total{source,target}       counter  heartbeats written
//   milena_mirror_sessions_total{source,target}         counter  sessions started (1 + restarts
//                                                                after errors)
// A records/s rate is Prometheus's rate(milena_mirror_records_copied_total[1m]).

import { Registry } from "prom-client";
import { collector, type MetricType } from "../broker/metrics/collector.ts";
import type { Flow } from "./flow.ts";

export function mirrorRegistry(flows: readonly Flow[]): Registry {
  const r = new Registry();
  const metric = (name: string, type: MetricType, help: string, value: (f: Flow) => number) =>
    r.registerMetric(
      collector(name, type, help, () =>
        flows.map((f) => ({ labels: { source: f.config.source, target: f.config.target }, value: value(f) })),
      ),
    );
  metric(
    "milena_mirror_records_copied_total",
    "counter",
    "Records the target acknowledged",
    (f) => f.stats.copied,
  );
  metric(
    "milena_mirror_lag_records",
    "gauge",
    "Records behind the source's high watermark, over the partitions held, at each one's last fetch",
    (f) => [...f.stats.lag.values()].reduce((s, l) => s + l, 0),
  );
  metric(
    "milena_mirror_partitions",
    "gauge",
    "Source partitions this process copies",
    (f) => f.stats.lag.size,
  );
  metric("milena_mirror_topics", "gauge", "Topics the flow copies", (f) => f.topicCount);
  metric("milena_mirror_offset_syncs_total", "counter", "Offset syncs written", (f) => f.stats.syncs);
  metric("milena_mirror_checkpoints_total", "counter", "Checkpoints written", (f) => f.stats.checkpoints);
  metric("milena_mirror_heartbeats_total", "counter", "Heartbeats written", (f) => f.stats.heartbeats);
  metric(
    "milena_mirror_sessions_total",
    "counter",
    "Sessions started (1 + restarts after errors)",
    (f) => f.stats.sessions,
  );
  return r;
}
