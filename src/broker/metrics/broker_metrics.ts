// /metrics: the broker's Prometheus registry (prom-client). Every metric here is a custom
// collector that reads, when scraped, state the broker keeps anyway: plain counters on the
// acceptor thread (PartitionEntry traffic, purgatory sizes, ISR changes), the partition state
// table the writers publish into (log end and start offsets), the rings' head and tail, the
// preallocated latency histograms (RequestMetrics, the writers' fsync table). Nothing on the
// produce or fetch path calls prom-client. Names follow Kafka's JMX metrics as the Prometheus JMX
// exporter spells them (kafka_server_brokertopicmetrics_messagesin_total ...); Milena's own start
// with milena_. README.md "Metrics" lists each.

import { collectDefaultMetrics, Registry } from "prom-client";
import type { ClusterNode } from "../../cluster/node.ts";
import type { Connection } from "../../transport/connection.ts";
import type { Purgatory } from "../context.ts";
import type { GroupCoordinator } from "../groups/coordinator.ts";
import type { LogCleaner } from "../log_cleaner.ts";
import type { LogManager, PartitionEntry } from "../log_manager.ts";
import type { WriterPool } from "../writers.ts";
import { collector, type MetricType } from "./collector.ts";
import type { Sample } from "./histogram.ts";
import type { RequestMetrics } from "./request_metrics.ts";

export interface MetricsSources {
  brokerId: number;
  logs: LogManager;
  writers: WriterPool;
  requests: RequestMetrics;
  purgatory: Purgatory;
  connections: Iterable<Connection>;
  /** Every listener's name (a listener with no connection reports 0). */
  listeners: readonly string[];
  cluster: ClusterNode | null;
  groups: GroupCoordinator;
  cleaner: LogCleaner;
  /** What a consumer can read to (the log end on a single broker): lag is measured against it. */
  highWatermark(e: PartitionEntry): number;
}

function partitions(logs: LogManager): PartitionEntry[] {
  const out: PartitionEntry[] = [];
  for (const t of logs.topics.values()) for (const e of t.partitions) if (e !== undefined) out.push(e);
  return out;
}

/** A per-topic counter with its all-topics series (no topic label), as Kafka's BrokerTopicMetrics. */
function perTopic(logs: LogManager, field: "messagesIn" | "bytesIn" | "bytesOut"): Sample[] {
  const out: Sample[] = [];
  let all = 0;
  for (const t of logs.topics.values()) {
    let n = 0;
    for (const e of t.partitions) if (e !== undefined) n += e[field];
    all += n;
    out.push({ labels: { topic: t.name }, value: n });
  }
  out.push({ labels: {}, value: all });
  return out;
}

/** Series of each kafka_consumergroup_* family at most (their labels are client-chosen group ids). */
export const MAX_GROUP_SERIES = 20_000;

/** The groups' committed-offset samples of `f`, up to `limit`, groups in creation order. */
export function groupSamples<P>(
  groups: ReadonlyMap<string, { state: string; offsets: ReadonlyMap<string, { offset: number }> }>,
  partitionOf: (topic: string, partition: number) => P | undefined,
  limit: number,
  f: (group: string, e: P, offset: number) => Sample | null,
): { samples: Sample[]; dropped: number } {
  const samples: Sample[] = [];
  let dropped = 0;
  for (const [name, g] of groups) {
    if (g.state === "Dead") continue;
    for (const [key, o] of g.offsets) {
      if (o.offset < 0) continue;
      const at = key.lastIndexOf("\0");
      const e = partitionOf(key.slice(0, at), Number(key.slice(at + 1)));
      if (e === undefined) continue;
      if (samples.length >= limit) {
        dropped++;
        continue;
      }
      const sample = f(name, e, o.offset);
      if (sample !== null) samples.push(sample);
    }
  }
  return { samples, dropped };
}

/** The registry /metrics serves; with Node's process metrics (process_*, nodejs_*). */
export function brokerMetrics(s: MetricsSources): Registry {
  const r = new Registry();
  collectDefaultMetrics({ register: r });
  const add = (name: string, type: MetricType, help: string, samples: () => Sample[] | Promise<Sample[]>) =>
    r.registerMetric(collector(name, type, help, samples));

  add(
    "kafka_server_brokertopicmetrics_messagesin_total",
    "counter",
    "Records appended from Produce requests, per topic (no topic label: all topics)",
    () => perTopic(s.logs, "messagesIn"),
  );
  add(
    "kafka_server_brokertopicmetrics_bytesin_total",
    "counter",
    "Record batch bytes appended from Produce requests (the batches as received), per topic (no topic label: all topics)",
    () => perTopic(s.logs, "bytesIn"),
  );
  add(
    "kafka_server_brokertopicmetrics_bytesout_total",
    "counter",
    "Record bytes returned by consumers' Fetch requests (followers' not counted), per topic (no topic label: all topics)",
    () => perTopic(s.logs, "bytesOut"),
  );

  const latency = "kafka_network_requestmetrics_totaltime_seconds";
  add(
    "kafka_network_requestmetrics_requests_total",
    "counter",
    "Requests answered (acks=0 produce: handled), per API and version",
    () => s.requests.collect(latency).totals,
  );
  add(
    latency,
    "histogram",
    "Time from a request's decoding to its answer being ready, per API and version (a long-poll fetch includes its wait)",
    () => s.requests.collect(latency).latency,
  );

  add(
    "kafka_server_delayedoperationpurgatory_purgatorysize",
    "gauge",
    "Requests waiting: Produce = acks=all partitions waiting to be durable (fsync; in a cluster the in-sync replicas), Fetch = long-poll fetches waiting for data",
    () => [
      { labels: { delayedOperation: "Produce" }, value: s.purgatory.produce },
      { labels: { delayedOperation: "Fetch" }, value: s.purgatory.fetch },
    ],
  );

  add(
    "kafka_server_replicamanager_underreplicatedpartitions",
    "gauge",
    "Partitions this broker leads whose ISR is smaller than their replicas",
    () => {
      let n = 0;
      if (s.cluster !== null)
        for (const rep of s.cluster.replicas.replicas.values())
          if (rep.role === "leader" && rep.isr.length < rep.replicas.length) n++;
      return [{ labels: {}, value: n }];
    },
  );
  add(
    "kafka_server_replicamanager_offlinereplicacount",
    "gauge",
    "Partitions of this broker offline after a storage error (KAFKA_STORAGE_ERROR)",
    () => {
      let n = 0;
      for (const e of partitions(s.logs)) if (s.logs.isOffline(e)) n++;
      return [{ labels: {}, value: n }];
    },
  );
  add(
    "kafka_controller_kafkacontroller_offlinepartitionscount",
    "gauge",
    "Partitions without a leader: on the active controller, the cluster's (elsewhere 0); a single broker, its offline partitions",
    () => {
      const c = s.cluster;
      let n = 0;
      if (c === null) {
        for (const e of partitions(s.logs)) if (s.logs.isOffline(e)) n++;
      } else if (c.cache.controllerId === s.brokerId) {
        for (const t of c.cache.topics.values()) for (const p of t.partitions) if (p.leader < 0) n++;
      }
      return [{ labels: {}, value: n }];
    },
  );
  add(
    "kafka_server_replicamanager_isrshrinks_total",
    "counter",
    "ISR shrinks this broker made as leader",
    () => [{ labels: {}, value: s.cluster?.replicas.isrShrinks ?? 0 }],
  );
  add(
    "kafka_server_replicamanager_isrexpands_total",
    "counter",
    "ISR expansions this broker made as leader",
    () => [{ labels: {}, value: s.cluster?.replicas.isrExpands ?? 0 }],
  );

  add("kafka_log_log_size", "gauge", "Bytes of the partition's .log segment files", async () => {
    const out: Sample[] = [];
    for (const e of partitions(s.logs))
      out.push({ labels: { topic: e.topic, partition: e.partition }, value: await e.reader.sizeBytes() });
    return out;
  });
  add("kafka_log_log_logendoffset", "gauge", "The partition's log end offset (next offset to assign)", () =>
    partitions(s.logs).map((e) => ({
      labels: { topic: e.topic, partition: e.partition },
      value: e.reader.logEndOffset,
    })),
  );
  add("kafka_log_log_logstartoffset", "gauge", "The partition's log start offset (first offset kept)", () =>
    partitions(s.logs).map((e) => ({
      labels: { topic: e.topic, partition: e.partition },
      value: s.logs.logStartOffset(e),
    })),
  );

  // Consumer groups, as `milena groups describe` computes lag: committed offset against what a
  // consumer can read to, for the partitions this broker holds. Group ids are the clients' to
  // choose and any client can make groups (one OffsetCommit each): at most MAX_GROUP_SERIES
  // series per family, the oldest groups first (a client making new groups cannot push out the
  // series of those there before), the rest counted in milena_metrics_consumergroup_series_dropped.
  let groupSeriesDropped = 0;
  const committed = (f: (group: string, e: PartitionEntry, offset: number) => Sample | null) => () => {
    const r = groupSamples(s.groups.groups, (t, p) => s.logs.partitionOf(t, p), MAX_GROUP_SERIES, f);
    groupSeriesDropped = r.dropped;
    return r.samples;
  };
  add(
    "kafka_consumergroup_current_offset",
    "gauge",
    "A group's committed offset per partition",
    committed((group, e, offset) => ({
      labels: { consumergroup: group, topic: e.topic, partition: e.partition },
      value: offset,
    })),
  );
  add(
    "kafka_consumergroup_lag",
    "gauge",
    "Records a group has not committed yet per partition: high watermark minus committed offset (as milena groups describe shows LAG)",
    committed((group, e, offset) => ({
      labels: { consumergroup: group, topic: e.topic, partition: e.partition },
      value: Math.max(0, s.highWatermark(e) - offset),
    })),
  );

  add(
    "milena_metrics_consumergroup_series_dropped",
    "gauge",
    `Series of kafka_consumergroup_current_offset and _lag each left out of the last scrape: past ${MAX_GROUP_SERIES} per family (group ids are client-chosen)`,
    () => [{ labels: {}, value: groupSeriesDropped }],
  );

  add(
    "kafka_server_socket_server_metrics_connection_count",
    "gauge",
    "Open client connections per listener",
    () => {
      const by = new Map<string, number>(s.listeners.map((l) => [l, 0]));
      for (const c of s.connections) by.set(c.sink.listener, (by.get(c.sink.listener) ?? 0) + 1);
      return [...by].map(([listener, value]) => ({ labels: { listener }, value }));
    },
  );

  const writerGauge = (name: string, help: string, field: keyof ReturnType<WriterPool["stats"]>) =>
    add(name, "gauge", help, () => {
      const out: Sample[] = [];
      for (let i = 0; i < s.writers.size; i++)
        out.push({ labels: { writer: i }, value: s.writers.stats(i)[field] });
      return out;
    });
  writerGauge(
    "milena_writer_ring_used_bytes",
    "Bytes of the writer's ring written by the acceptor and not yet released by the writer",
    "ringUsed",
  );
  writerGauge("milena_writer_ring_capacity_bytes", "Capacity of the writer's ring", "ringCapacity");
  writerGauge(
    "milena_writer_backlog_entries",
    "Batches and controls waiting outside the writer's full ring (its queue depth)",
    "backlogEntries",
  );
  writerGauge("milena_writer_backlog_bytes", "Bytes waiting outside the writer's full ring", "backlogBytes");
  add(
    "kafka_log_logflushstats_logflushrateandtime_seconds",
    "histogram",
    "fsync (fdatasync) time of an active segment, per partition writer",
    () => {
      const out: Sample[] = [];
      const t = s.writers.fsyncs;
      for (let i = 0; i < t.rows; i++)
        t.samples(i, "kafka_log_logflushstats_logflushrateandtime_seconds", { writer: i }, out);
      return out;
    },
  );

  add(
    "kafka_log_logmanager_remaininglogstorecover",
    "gauge",
    "Startup: partition directories the recovery pool has still to open",
    () => [{ labels: {}, value: s.logs.recoveryProgress.total - s.logs.recoveryProgress.done }],
  );
  add(
    "milena_log_recovery_partitions",
    "gauge",
    "Startup: partition directories the recovery pool had to open",
    () => [{ labels: {}, value: s.logs.recoveryProgress.total }],
  );
  const cleanerCounter = (name: string, help: string, field: keyof LogCleaner["totals"]) =>
    add(name, "counter", help, () => [{ labels: {}, value: s.cleaner.totals[field] }]);
  cleanerCounter(
    "milena_log_cleaner_cleans_total",
    "Compactions of a partition done by the log cleaner",
    "cleans",
  );
  cleanerCounter("milena_log_cleaner_read_bytes_total", "Bytes the log cleaner read", "bytesRead");
  cleanerCounter("milena_log_cleaner_written_bytes_total", "Bytes the log cleaner wrote", "bytesWritten");
  cleanerCounter("milena_log_cleaner_removed_records_total", "Records compaction removed", "recordsRemoved");
  cleanerCounter("milena_log_cleaner_seconds_total", "Time spent cleaning", "seconds");
  add("milena_log_cleaner_partitions_cleaning", "gauge", "Partitions being cleaned now", () => [
    { labels: {}, value: s.cleaner.cleaning },
  ]);
  return r;
}
