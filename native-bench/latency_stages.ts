// Where W4's end-to-end time goes (issue 15): the W4 load (a producer at 20,000 msg/s, lingerMs
// 0, acks=1, a consumer tailing with minBytes 1) through Milena's own client, once on the machine
// as it is (after waiting for it to be quiet, up to a bound) and once with a CPU hog added (one
// process spinning, as a neighbour on a shared 2-core box does), over TCP and WebSocket. For each
// run, per stage:
//
//   send -> ack        client: producer.send() called -> its promise resolved (per send)
//   send -> consumed   client: the stamp in the value -> the consumer's batch (per record)
//   broker Produce     broker: request read -> response queued (its request-time histogram on
//   broker Fetch       /metrics, the delta over the run; upper bucket bounds, so "<= x")
//   client loop delay  this process's event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms
//                      resolution), beyond the timer's own interval
//   broker loop lag    the broker's (prom-client's nodejs_eventloop_lag_*, 10 ms resolution,
//                      reset by a scrape just before the run), beyond its interval
//   run-queue wait     /proc/<pid>/task/*/schedstat: time the threads were runnable but not
//                      running (waiting for a core), per second of the run: the broker's main
//                      thread, its other threads, and this process
//   CPU                the same file's time on a core, per second of the run, the same split
//
// A tail that every stage shares and that the run-queue wait explains is the scheduler's, not
// the code's. Nothing is asserted; the first 10% of each run is warm-up and not counted.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Milena } from "../src/index.ts";
import { BenchBroker } from "./broker.ts";
import { fmtInt } from "./e2e.ts";
import { waitForQuiet } from "./procstat.ts";

export interface StagesConfig {
  rate: number;
  seconds: number;
  quietWaitMs: number;
}

type Transport = "tcp" | "websocket";

/** The event-loop monitors' timer intervals: this process's, and prom-client's default in the broker. */
const CLIENT_ELD_MS = 1;
const BROKER_ELD_MS = 10;
type Load = "no added load" | "plus a CPU hog";

interface Pcts {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export interface StagesRun {
  transport: Transport;
  load: Load;
  records: number;
  sendToAck: Pcts;
  sendToConsumed: Pcts;
  /** Upper bucket bounds in ms (Infinity: beyond the last bucket). */
  brokerProduce: { p50: number; p99: number; p999: number; count: number };
  brokerFetch: { p50: number; p99: number; p999: number; count: number };
  clientLoop: { p99: number; max: number };
  brokerLoop: { p99: number; max: number };
  /** Run-queue wait, ms per second of the run. */
  waitBrokerMain: number;
  waitBrokerOthers: number;
  waitClient: number;
  /** Time on a core, ms per second of the run. */
  cpuBrokerMain: number;
  cpuBrokerOthers: number;
  cpuClient: number;
}

export interface StagesResult {
  rate: number;
  seconds: number;
  runs: StagesRun[];
}

function pcts(xs: number[]): Pcts {
  const s = Float64Array.from(xs).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { p50: at(50), p99: at(99), p999: at(99.9), max: s[s.length - 1] };
}

interface Sched {
  /** Run-queue wait (ns): the main thread, the rest. */
  main: number;
  others: number;
  /** Time on a core (ns): the main thread, the rest. */
  cpuMain: number;
  cpuOthers: number;
}

/** A process's threads' schedstat (field 1: time on a core, field 2: run-queue wait), summed. */
function runQueueWait(pid: number | "self"): Sched {
  const dir = `/proc/${pid}/task`;
  const main = pid === "self" ? process.pid : pid;
  const s: Sched = { main: 0, others: 0, cpuMain: 0, cpuOthers: 0 };
  for (const tid of fs.readdirSync(dir)) {
    let fields: string[];
    try {
      fields = fs.readFileSync(`${dir}/${tid}/schedstat`, "utf8").split(" ");
    } catch {
      continue; // the thread ended
    }
    if (Number(tid) === main) {
      s.cpuMain += Number(fields[0]);
      s.main += Number(fields[1]);
    } else {
      s.cpuOthers += Number(fields[0]);
      s.others += Number(fields[1]);
    }
  }
  return s;
}

/** Cumulative histogram buckets of one API's request time on /metrics, by upper bound (s). */
function requestBuckets(metrics: string, api: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of metrics.split("\n")) {
    if (!line.startsWith("kafka_network_requestmetrics_totaltime_seconds_bucket{")) continue;
    if (!line.includes(`request="${api}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1)));
  }
  return out;
}

/** Percentile upper bounds (ms) of the requests between two scrapes. */
function bucketPcts(before: Map<number, number>, after: Map<number, number>) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const n = counts.at(-1) ?? 0;
  const q = (p: number) => {
    const i = counts.findIndex((c) => c >= n * p);
    return i < 0 ? Number.NaN : bounds[i] * 1000;
  };
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), count: n };
}

function gauge(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1)) * 1000;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`latency stages: /metrics answered ${res.status}`);
  return res.text();
}

/** One process spinning on a core until killed. */
function cpuHog(): { stop(): void } {
  const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  return { stop: () => child.kill("SIGKILL") };
}

async function oneRun(
  b: BenchBroker,
  transport: Transport,
  load: Load,
  cfg: StagesConfig,
  topic: string,
): Promise<StagesRun> {
  const bootstrap = transport === "tcp" ? `127.0.0.1:${b.kafkaPort}` : `ws://127.0.0.1:${b.wsPort}`;
  const milena = new Milena({ bootstrap, clientId: `stages-${transport}` });
  const admin = milena.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
  const producer = milena.producer({ acks: 1, lingerMs: 0 });
  const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 100, minBytes: 1 });
  const hog = load === "plus a CPU hog" ? cpuHog() : null;
  try {
    await producer.connect();
    await producer.send({ topic, messages: [] }).catch(() => {});
    await consumer.connect();
    await consumer.assign([{ topic, offset: 0 }]);
    const total = Math.round(cfg.rate * cfg.seconds);
    const consumed: number[] = [];
    const acked: number[] = [];
    let stop = false;
    const reading = (async () => {
      for await (const batch of consumer.batches()) {
        const now = performance.now();
        for (const r of batch.records) consumed.push(now - r.value!.readDoubleLE(0));
        if (stop) break;
      }
    })();
    // The warm-up tenth, then reset every meter and time the rest.
    const template = randomBytes(100);
    const sends: Promise<unknown>[] = [];
    const warm = Math.floor(total / 10);
    let sent = 0;
    let before = "";
    let w0: Sched = { main: 0, others: 0, cpuMain: 0, cpuOthers: 0 };
    let c0: Sched = w0;
    let t1 = 0;
    let ackedFrom = 0;
    let consumedFrom = 0;
    const eld = monitorEventLoopDelay({ resolution: CLIENT_ELD_MS });
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const tick = () => {
        const now = performance.now();
        const due = Math.min(total, Math.floor(((now - t0) / 1000) * cfg.rate)) - sent;
        if (due > 0) {
          const v = Buffer.from(template);
          v.writeDoubleLE(now, 0);
          const messages = Array.from({ length: due }, () => ({ value: v }));
          sends.push(producer.send({ topic, messages }).then(() => acked.push(performance.now() - now)));
          sent += due;
        }
        if (sent >= total) {
          resolve();
          return;
        }
        if (t1 === 0 && sent >= warm) {
          t1 = -1;
          // The warm-up is over: zero the meters (the scrape resets the broker's loop lag).
          scrape(b.metricsPort).then((m) => {
            before = m;
            w0 = runQueueWait(b.pid);
            c0 = runQueueWait("self");
            ackedFrom = acked.length;
            consumedFrom = consumed.length;
            eld.enable();
            t1 = performance.now();
          }, reject);
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    await Promise.all(sends);
    const deadline = Date.now() + 15_000;
    while (consumed.length < total) {
      if (Date.now() > deadline) throw new Error(`latency stages: consumed ${consumed.length} of ${total}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const after = await scrape(b.metricsPort);
    const elapsedS = (performance.now() - t1) / 1000;
    eld.disable();
    const w1 = runQueueWait(b.pid);
    const c1 = runQueueWait("self");
    stop = true;
    await consumer.disconnect();
    await reading.catch(() => {});
    if (before === "") throw new Error("latency stages: the run ended before its warm-up did");
    return {
      transport,
      load,
      records: consumed.length - consumedFrom,
      sendToAck: pcts(acked.slice(ackedFrom)),
      sendToConsumed: pcts(consumed.slice(consumedFrom)),
      brokerProduce: bucketPcts(requestBuckets(before, "Produce"), requestBuckets(after, "Produce")),
      brokerFetch: bucketPcts(requestBuckets(before, "Fetch"), requestBuckets(after, "Fetch")),
      // Both histograms record each timer interval whole: the delay is what exceeds it.
      clientLoop: {
        p99: Math.max(0, eld.percentile(99) / 1e6 - CLIENT_ELD_MS),
        max: Math.max(0, eld.max / 1e6 - CLIENT_ELD_MS),
      },
      brokerLoop: {
        p99: Math.max(0, gauge(after, "nodejs_eventloop_lag_p99_seconds") - BROKER_ELD_MS),
        max: Math.max(0, gauge(after, "nodejs_eventloop_lag_max_seconds") - BROKER_ELD_MS),
      },
      waitBrokerMain: (w1.main - w0.main) / 1e6 / elapsedS,
      waitBrokerOthers: (w1.others - w0.others) / 1e6 / elapsedS,
      waitClient: (c1.main + c1.others - c0.main - c0.others) / 1e6 / elapsedS,
      cpuBrokerMain: (w1.cpuMain - w0.cpuMain) / 1e6 / elapsedS,
      cpuBrokerOthers: (w1.cpuOthers - w0.cpuOthers) / 1e6 / elapsedS,
      cpuClient: (c1.cpuMain + c1.cpuOthers - c0.cpuMain - c0.cpuOthers) / 1e6 / elapsedS,
    };
  } finally {
    hog?.stop();
    await producer.disconnect().catch(() => {});
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

export async function measureStages(cfg: StagesConfig, log: (l: string) => void): Promise<StagesResult> {
  log(
    `  latency stages: ${fmtInt(cfg.rate)} msg/s for ${cfg.seconds} s, as the machine is and plus a CPU hog, TCP and WebSocket`,
  );
  const b = await BenchBroker.start({ overrides: { "metrics.listener": "127.0.0.1:0" } });
  const runs: StagesRun[] = [];
  let n = 0;
  try {
    // An untimed round over each transport first: the broker is fresh, and its first seconds
    // under this load are the JIT's (the first run's tail was 2x the later ones'), while W4 in
    // the e2e part meets a broker warmed by the phases before it.
    const warm = { ...cfg, seconds: Math.min(cfg.seconds, 3) };
    for (const transport of ["tcp", "websocket"] as const)
      await oneRun(b, transport, "no added load", warm, `stages-warm-${transport}`);
    for (const load of ["no added load", "plus a CPU hog"] as const) {
      for (const transport of ["tcp", "websocket"] as const) {
        await waitForQuiet(cfg.quietWaitMs);
        const r = await oneRun(b, transport, load, cfg, `stages-${++n}`);
        log(
          `    ${transport} ${load}: send->consumed p50 ${r.sendToConsumed.p50.toFixed(2)} p99 ` +
            `${r.sendToConsumed.p99.toFixed(2)} p99.9 ${r.sendToConsumed.p999.toFixed(2)} ms; send->ack p99 ` +
            `${r.sendToAck.p99.toFixed(2)} ms; run-queue wait broker ${r.waitBrokerMain.toFixed(1)} + ` +
            `${r.waitBrokerOthers.toFixed(1)}, client ${r.waitClient.toFixed(1)} ms/s; CPU broker ` +
            `${r.cpuBrokerMain.toFixed(0)} + ${r.cpuBrokerOthers.toFixed(0)}, client ${r.cpuClient.toFixed(0)} ms/s`,
        );
        runs.push(r);
      }
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${b.output}`);
  } finally {
    await b.stop();
  }
  return { rate: cfg.rate, seconds: cfg.seconds, runs };
}

export function stagesIntro(r: StagesResult): string {
  return (
    `W4's load (${fmtInt(r.rate)} msg/s for ${r.seconds} s, Milena's client, lingerMs 0, acks=1, a consumer ` +
    "tailing with minBytes 1) on the machine as it is (the run-queue wait says how busy) and with one process " +
    "spinning on a core added, over TCP and " +
    "WebSocket, after an untimed 3 s round over each (the broker starts fresh), the first 10% not counted. Client stages per send (send -> ack) and per record (send -> " +
    "consumed); the broker's own request time for Produce and Fetch from its /metrics histogram (upper " +
    "bucket bounds, hence <=; a Fetch's time includes its long-poll wait); event-loop delay of both " +
    "processes beyond the monitors' timer intervals (p99 / max; the broker's is sampled every 10 ms); run-queue wait from /proc schedstat: milliseconds per second that the threads " +
    "were ready to run but had no core (broker main thread, broker's other threads, this client process), and the same threads' time on a core."
  );
}

export function stagesTables(
  r: StagesResult,
  table: (h: string[], right: boolean[], rows: string[][]) => string,
): string {
  const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : x > 0 ? "> last bucket" : "n/a");
  const p = (x: Pcts) => `${ms(x.p50)} / ${ms(x.p99)} / ${ms(x.p999)} / ${ms(x.max)}`;
  const b = (x: { p50: number; p99: number; p999: number }) =>
    `<= ${ms(x.p50)} / ${ms(x.p99)} / ${ms(x.p999)}`;
  return table(
    [
      "transport",
      "machine",
      "send -> consumed p50 / p99 / p99.9 / max ms",
      "send -> ack",
      "broker Produce p50 / p99 / p99.9",
      "broker Fetch",
      "client loop delay p99 / max",
      "broker loop lag p99 / max",
      "run-queue wait ms/s: broker main / other threads / client",
      "CPU ms/s: broker main / other threads / client",
    ],
    [false, false, true, true, true, true, true, true, true, true],
    r.runs.map((x) => [
      x.transport,
      x.load,
      p(x.sendToConsumed),
      p(x.sendToAck),
      b(x.brokerProduce),
      b(x.brokerFetch),
      `${ms(x.clientLoop.p99)} / ${ms(x.clientLoop.max)}`,
      `${ms(x.brokerLoop.p99)} / ${ms(x.brokerLoop.max)}`,
      `${x.waitBrokerMain.toFixed(1)} / ${x.waitBrokerOthers.toFixed(1)} / ${x.waitClient.toFixed(1)}`,
      `${x.cpuBrokerMain.toFixed(0)} / ${x.cpuBrokerOthers.toFixed(0)} / ${x.cpuClient.toFixed(0)}`,
    ]),
  );
}
