// The cost of /metrics (issue 13: W1 and W3 with metrics on within 3% of metrics off), in one
// part: two brokers alike but for metrics.listener (127.0.0.1:0, or off), each through
// native-bench's lean client over TCP (client.ts: pre-built 16 KiB batches, `window` requests in
// flight; Fetch walking batch headers only): W1 (records x 100 B into one partition, acks=1), then
// W3 (read them back from the start). While the broker with metrics runs a workload, /metrics is
// scraped every SCRAPE_MS (Prometheus's default interval is 15 s: this is 15 times as often), so
// the collectors' cost is in its figure beside the per-request counters'. The two brokers take
// turns (the first rotates), a fresh topic each run, median of the repetitions, after an untimed
// warm-up round on each (W1 + W3 of the same size: the first runs of a fresh broker are JIT
// warm-up and would swamp a few percent). W3 reads the topic W3_PASSES times (one pass of a
// million records takes ~0.1 s, too short to time alone). Also reported:
// the scrapes' median time and the /metrics size after the runs.
//
// Nothing is asserted on a figure; a refused request or a short read ends the run.

import { BenchBroker } from "./broker.ts";
import { connect, consumeAll, createTopic, produceAll } from "./client.ts";
import { buildBatches, fmtInt } from "./e2e.ts";
import { CpuMeter, waitForQuiet } from "./procstat.ts";

export type MetricsSetting = "metrics off" | "metrics on";
export type MetricsWorkload = "W1 produce acks=1" | "W3 consume";
const SETTINGS: MetricsSetting[] = ["metrics off", "metrics on"];
const WORKLOADS: MetricsWorkload[] = ["W1 produce acks=1", "W3 consume"];
const VALUE_BYTES = 100;
const SCRAPE_MS = 1000;
const W3_PASSES = 4;

export interface MetricsConfig {
  records: number;
  reps: number;
  window: number;
  fetchMaxBytes: number;
  quietWaitMs: number;
}

export interface MetricsRun {
  setting: MetricsSetting;
  workload: MetricsWorkload;
  rep: number;
  ms: number;
  records: number;
  /** CPU the broker's threads used over the run, ms. */
  brokerCpuMs: number;
  /** Other processes' share of the machine meanwhile, % of a core (the noise). */
  othersPct: number;
}

export interface MetricsResult {
  records: number;
  reps: number;
  window: number;
  runs: MetricsRun[];
  scrapes: number;
  scrapeMedianMs: number;
  metricsBytes: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Scrape /metrics every SCRAPE_MS until stopped; each scrape's milliseconds. */
function scraper(port: number): { stop(): Promise<number[]> } {
  const times: number[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (res.status !== 200) throw new Error(`metrics: /metrics answered ${res.status}`);
      await res.text();
      times.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, SCRAPE_MS));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return times;
    },
  };
}

export async function measureMetrics(cfg: MetricsConfig, log: (l: string) => void): Promise<MetricsResult> {
  log(
    `  metrics: W1/W3 ${fmtInt(cfg.records)} x ${VALUE_BYTES} B, metrics.listener off vs on (scraped every ${SCRAPE_MS} ms); ${cfg.reps} repetition(s)`,
  );
  const brokers: Record<MetricsSetting, BenchBroker> = {
    "metrics off": await BenchBroker.start({ overrides: { "metrics.listener": "off" } }),
    "metrics on": await BenchBroker.start({ overrides: { "metrics.listener": "127.0.0.1:0" } }),
  };
  const batches = buildBatches(cfg.records, 150, VALUE_BYTES);
  const runs: MetricsRun[] = [];
  const scrapeTimes: number[] = [];
  let topics = 0;
  try {
    for (let rep = -1; rep < cfg.reps; rep++) {
      const order = rep % 2 === 0 ? SETTINGS : [...SETTINGS].reverse();
      for (const setting of order) {
        const b = brokers[setting];
        const topic = `metrics-${++topics}`;
        const conn = await connect("tcp", b.kafkaPort);
        try {
          await createTopic(conn, topic);
          await waitForQuiet(cfg.quietWaitMs);
          const s = setting === "metrics on" ? scraper(b.metricsPort) : null;
          const m1 = new CpuMeter(b.pid);
          const w1 = await produceAll(conn, topic, 1, batches.full, batches.tail, cfg.window);
          const c1 = m1.stop();
          const m3 = new CpuMeter(b.pid);
          let w3 = { ms: 0, records: 0 };
          for (let pass = 0; pass < W3_PASSES; pass++) {
            const r = await consumeAll(conn, topic, 0, w1.records, cfg.fetchMaxBytes, 1);
            if (r.records !== w1.records)
              throw new Error(`metrics: read ${r.records} of ${w1.records} records (${setting})`);
            w3 = { ms: w3.ms + r.ms, records: w3.records + r.records };
          }
          const c3 = m3.stop();
          const times = s === null ? [] : await s.stop();
          const what = rep < 0 ? "warm-up" : `rep ${rep + 1}`;
          log(
            `    ${setting} ${what}: W1 ${fmtInt((w1.records / w1.ms) * 1000)} rec/s, W3 ${fmtInt((w3.records / w3.ms) * 1000)} rec/s`,
          );
          if (rep < 0) continue;
          const cpu = (c: typeof c1, ms: number) => ({
            brokerCpuMs: (c.brokerTotal * ms) / 100,
            othersPct: c.others,
          });
          runs.push({
            setting,
            workload: "W1 produce acks=1",
            rep,
            ms: w1.ms,
            records: w1.records,
            ...cpu(c1, w1.ms),
          });
          runs.push({
            setting,
            workload: "W3 consume",
            rep,
            ms: w3.ms,
            records: w3.records,
            ...cpu(c3, w3.ms),
          });
          scrapeTimes.push(...times);
        } finally {
          conn.close();
        }
      }
    }
    const res = await fetch(`http://127.0.0.1:${brokers["metrics on"].metricsPort}/metrics`);
    const metricsBytes = Buffer.byteLength(await res.text());
    return {
      records: cfg.records,
      reps: cfg.reps,
      window: cfg.window,
      runs,
      scrapes: scrapeTimes.length,
      scrapeMedianMs: scrapeTimes.length > 0 ? median(scrapeTimes) : Number.NaN,
      metricsBytes,
    };
  } catch (e) {
    throw new Error(
      `${(e as Error).message}\n${SETTINGS.map((s) => `${s}:\n${brokers[s].output}`).join("\n")}`,
    );
  } finally {
    await Promise.all(SETTINGS.map((s) => brokers[s].stop()));
  }
}

export function metricsIntro(r: MetricsResult): string {
  return (
    "Two brokers alike but for `metrics.listener` (off, or on and scraped every " +
    `${SCRAPE_MS} ms while it runs: 15 times Prometheus's default rate), native-bench's lean client over TCP: W1 ` +
    `${fmtInt(r.records)} x ${VALUE_BYTES} B into one partition, acks=1, 16 KiB batches, ${r.window} requests in ` +
    `flight; W3 reads them back from the start, ${W3_PASSES} times over. An untimed warm-up round on each, then ` +
    "the brokers take turns, a fresh topic each run; " +
    (r.reps > 1 ? `median of ${r.reps} runs.` : "one run each.") +
    ` ${fmtInt(r.scrapes)} scrapes, median ${r.scrapeMedianMs.toFixed(1)} ms each; /metrics was ` +
    `${fmtInt(r.metricsBytes)} bytes after the runs. Broker CPU per record: every broker thread's CPU over the ` +
    "run / records (less sensitive than throughput to other processes on the machine, whose median share of a " +
    "core is shown). The issue's bound: on within 3% of off."
  );
}

export function metricsTables(
  r: MetricsResult,
  table: (h: string[], right: boolean[], rows: string[][]) => string,
): string {
  const rate = (x: MetricsRun) => (x.records / x.ms) * 1000;
  const nsPerRecord = (x: MetricsRun) => (x.brokerCpuMs * 1e6) / x.records;
  const pct = (on: number, off: number) => `${(((on - off) / off) * 100).toFixed(1)}%`;
  const rows = WORKLOADS.map((w) => {
    const of = (s: MetricsSetting) => r.runs.filter((x) => x.workload === w && x.setting === s);
    const [off, on] = [of("metrics off"), of("metrics on")];
    const rOff = median(off.map(rate));
    const rOn = median(on.map(rate));
    const cOff = median(off.map(nsPerRecord));
    const cOn = median(on.map(nsPerRecord));
    return [
      w,
      fmtInt(rOff),
      fmtInt(rOn),
      pct(rOn, rOff),
      cOff.toFixed(0),
      cOn.toFixed(0),
      pct(cOn, cOff),
      `${median(r.runs.filter((x) => x.workload === w).map((x) => x.othersPct)).toFixed(0)}%`,
      `${off.map((x) => fmtInt(rate(x))).join(", ")} / ${on.map((x) => fmtInt(rate(x))).join(", ")}`,
    ];
  });
  return table(
    [
      "workload",
      "off rec/s",
      "on rec/s",
      "on vs off",
      "off broker CPU ns/record",
      "on broker CPU ns/record",
      "on vs off",
      "others (median)",
      "runs rec/s (off / on)",
    ],
    [false, true, true, true, true, true, true, true, false],
    rows,
  );
}
