// The cluster figures: three brokers and a ZooKeeper on this machine (zk_cluster.ts), measured
// in one run.
//
//   1. produce     W1 (100 B values, one partition) through Milena's own client, as in the e2e
//                  part (drivers.ts, the same producer settings), over TCP and WebSocket, to
//                  topics of replication factor 1 and 3 (min.insync.replicas 2) on the same
//                  cluster, acks=1 and acks=-1; repetitions interleaved, medians. Then W4's
//                  end-to-end latency (a producer at 20,000 msg/s, a consumer tailing) with RF1
//                  and RF3: consumers read up to the high watermark, so with RF3 every message
//                  waits for the followers, whatever the producer's acks.
//   2. failover    SIGKILL of a partition's leader (not the controller; then, in the full run,
//                  of a broker that is both). Timed from the signal to the first acks=-1
//                  Produce acknowledged by the new leader: raw Produce requests (one 100 B
//                  record, acks=-1) sent every 5 ms to each surviving broker, each answered
//                  NOT_LEADER_OR_FOLLOWER (or NOT_ENOUGH_REPLICAS) until one succeeds. Beside
//                  it: when a survivor's Metadata first names the new leader, and when Milena's
//                  client (a default producer, acks=-1, idempotent, sending one message after
//                  another) has its first acknowledgement after the kill. Failure detection is
//                  bounded by zookeeper.session.timeout.ms: the controller learns of the death
//                  when the dead broker's session expires and its /brokers/ids znode goes.
//   3. catch-up    one follower of an RF3 topic stopped (SIGTERM), 1 GiB (QUICK: 64 MiB) of W1
//                  batches written to the leader with acks=1 (the lean client: 16 KiB batches,
//                  64 in flight), the other follower let catch up, the logs fsynced (so
//                  writeback does not run meanwhile), then the stopped one restarted: timed
//                  from its "milena started" line until its partition's log files hold as many
//                  bytes as the leader's (replicas keep the leader's batches byte for byte: equal
//                  sizes = equal log end), and until Metadata lists it in the ISR again.
//
// Every broker's output is kept; at the end the lines that look like trouble (errors,
// failures, warnings, timeouts) are counted and shown.

import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Milena } from "../src/index.ts";
import { ApiKey } from "../src/protocol/api_keys.ts";
import { ErrorCode, errorName } from "../src/protocol/error_codes.ts";
import { decodeResponseHeader } from "../src/protocol/header.ts";
import { type MetadataResponse, metadataCodec, metadataRequest } from "../src/protocol/metadata.ts";
import { produceCodec } from "../src/protocol/produce.ts";
import { Reader } from "../src/protocol/reader.ts";
import { encodeBatch } from "../src/protocol/records.ts";
import {
  type BenchConnection,
  connect,
  produceAll,
  produceFrame,
  request,
  rpc,
  setConnectionErrorHandler,
  type TransportName,
} from "./client.ts";
import { MilenaClientDriver } from "./drivers.ts";
import { buildBatches, fmtInt } from "./e2e.ts";
import { machineBusyMs, selfCpuMs, threadTimes, waitForQuiet } from "./procstat.ts";
import { BenchCluster, zooKeeperInstalled } from "./zk_cluster.ts";

/** The ZooKeeper session timeout of every broker (see clusterIntro). */
export const SESSION_TIMEOUT_MS = 6000;
const BROKERS = 3;
const MIN_INSYNC = 2;
const MiB = 1024 * 1024;

export interface ClusterConfig {
  quick: boolean;
  records: number;
  valueBytes: number;
  reps: number;
  warmupRecords: number;
  latencyRate: number;
  latencySeconds: number;
  leaderKills: number;
  controllerKills: number;
  catchUpBytes: number;
  quietWaitMs: number;
  /** Which measurements (all by default; BENCH_CLUSTER_PARTS=produce,failover,catchup picks). */
  parts: Set<string>;
  /** Extra settings of every broker (BENCH_CLUSTER_OVERRIDES=key=value,key=value), for exploring. */
  overrides: Record<string, string>;
}

export function clusterConfig(
  quick: boolean,
  base: {
    records: number;
    reps: number;
    warmupRecords: number;
    latencyRate: number;
    latencySeconds: number;
    quietWaitMs: number;
  },
): ClusterConfig {
  return {
    quick,
    records: base.records,
    valueBytes: 100,
    reps: base.reps,
    warmupRecords: base.warmupRecords,
    latencyRate: base.latencyRate,
    latencySeconds: base.latencySeconds,
    leaderKills: quick ? 2 : 5,
    controllerKills: quick ? 0 : 3,
    catchUpBytes: quick ? 64 * MiB : 1024 * MiB,
    quietWaitMs: base.quietWaitMs,
    parts: new Set((process.env.BENCH_CLUSTER_PARTS || "produce,failover,catchup").split(",")),
    overrides: Object.fromEntries(
      (process.env.BENCH_CLUSTER_OVERRIDES ?? "")
        .split(",")
        .filter((kv) => kv.includes("="))
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    ),
  };
}

export interface ClusterCpu {
  /** % of one core: the partition's leader, every broker together, this process, the rest. */
  leader: number;
  brokers: number;
  client: number;
  others: number;
}

export interface ThroughputRun {
  rate: number;
  ms: number;
  cpu: ClusterCpu;
}

export interface ThroughputRow {
  transport: TransportName;
  rf: number;
  acks: 1 | -1;
  runs: ThroughputRun[];
}

export interface ClusterLatencyRow {
  rf: number;
  acks: 1 | -1;
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  cpu: ClusterCpu;
}

export interface FailoverRun {
  victim: number;
  controllerToo: boolean;
  /** From SIGKILL: first acks=-1 Produce acknowledged by a survivor (raw probe). */
  ackMs: number;
  /** From SIGKILL: first Metadata reply (from a survivor) naming another leader. */
  metadataMs: number;
  /**
   * From SIGKILL: the controller logs the death ("controller: broker(s) N gone"; a new controller
   * "controller: elected"), i.e. the dead broker's ZooKeeper session expired and its watch fired.
   */
  detectMs: number;
  /** From SIGKILL: the Milena client producer's first acknowledgement. */
  clientMs: number;
  /** Probe answers before the first success, by error name. */
  probeErrors: Map<string, number>;
  /** The Milena client's errors (sends that failed after its retries), by message. */
  clientErrors: Map<string, number>;
  newLeader: number;
  isrAfter: number[];
}

export interface CatchUpRun {
  missedBytes: number;
  /** The write with one follower down (acks=1, lean client), MB/s of log. */
  writeMBs: number;
  /** spawn -> "milena started" of the returning follower. */
  startMs: number;
  /** "milena started" -> its log as long as the leader's. */
  caughtMs: number;
  /** Between 10% and 90% of the missed bytes copied. */
  steadyMBs: number;
  /** "milena started" -> Metadata lists it in the ISR (NaN: not seen in 60 s). */
  isrMs: number;
}

export interface ClusterResult {
  config: ClusterConfig;
  brokerSettings: Record<string, string | number | boolean>;
  throughput: ThroughputRow[];
  latency: ClusterLatencyRow[];
  failover: FailoverRun[];
  catchUp: CatchUpRun[];
  /** Broker log lines that look like trouble, normalized, with counts. */
  brokerLog: { broker: number; line: string; count: number }[];
  /** Clean stops at the end: exit code, time, whether SIGKILL was needed. */
  stops: { broker: number; code: number | null; ms: number; killed: boolean }[];
  notes: string[];
}

function median(xs: number[]): number {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** CPU of every broker (and which is the leader, known after the phase), this process, the rest. */
class ClusterCpuMeter {
  private readonly b0: Map<number, number>;
  private readonly c0 = selfCpuMs();
  private readonly m0 = machineBusyMs();
  private readonly t0 = performance.now();

  constructor(private readonly pids: Map<number, number>) {
    this.b0 = new Map([...pids].map(([id, pid]) => [id, threadTimes(pid).totalMs]));
  }

  /** Call at the end of the timed part; `leader` may be given later to share(). */
  stop(): (leader: number) => ClusterCpu {
    const wall = performance.now() - this.t0;
    const pct = (ms: number) => (wall > 0 ? (100 * ms) / wall : 0);
    const per = new Map([...this.pids].map(([id, pid]) => [id, threadTimes(pid).totalMs - this.b0.get(id)!]));
    const brokers = [...per.values()].reduce((a, b) => a + b, 0);
    const client = selfCpuMs() - this.c0;
    const machine = machineBusyMs() - this.m0;
    return (leader) => ({
      leader: pct(per.get(leader) ?? Number.NaN),
      brokers: pct(brokers),
      client: pct(client),
      others: Math.max(0, pct(machine - brokers - client)),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Raw requests to one broker

async function withConn<T>(port: number, f: (c: BenchConnection) => Promise<T>): Promise<T> {
  const c = await connect("tcp", port);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
    t.unref(); // a request left unanswered on a closed connection must not keep the run alive
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function metadataOn(conn: BenchConnection, topics: string[] | null): Promise<MetadataResponse> {
  return timeout(
    rpc(conn, metadataCodec, 9, metadataRequest(topics, false)) as Promise<MetadataResponse>,
    10_000,
    "Metadata",
  );
}

function metadata(port: number, topics: string[] | null): Promise<MetadataResponse> {
  return withConn(port, (c) => metadataOn(c, topics));
}

interface PartitionState {
  leader: number;
  isr: number[];
  controller: number;
  brokers: number[];
}

async function partitionState(cl: BenchCluster, topic: string, via?: number): Promise<PartitionState> {
  const id = via ?? cl.alive()[0];
  const md = await metadata(cl.broker(id).kafkaPort, [topic]);
  const p = md.topics[0]?.partitions[0];
  return {
    leader: p?.leaderId ?? -1,
    isr: p ? [...p.isrNodes].sort() : [],
    controller: md.controllerId,
    brokers: md.brokers.map((b) => b.nodeId).sort(),
  };
}

/** The controller and the registered brokers, as a broker's Metadata has them. */
async function clusterState(
  cl: BenchCluster,
  via?: number,
): Promise<{ controller: number; brokers: number[] }> {
  const id = via ?? cl.alive()[0];
  const md = await metadata(cl.broker(id).kafkaPort, []);
  return { controller: md.controllerId, brokers: md.brokers.map((b) => b.nodeId).sort() };
}

async function eventually<T>(f: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`cluster: timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await sleep(50);
  }
}

async function withAdmin<T>(cl: BenchCluster, f: (a: ReturnType<Milena["admin"]>) => Promise<T>): Promise<T> {
  const m = new Milena({ bootstrap: cl.bootstrap(), clientId: "bench-cluster-admin" });
  const admin = m.admin();
  await admin.connect();
  try {
    return await f(admin);
  } finally {
    await admin.disconnect();
  }
}

/** One partition on `replicas` (the first leads), min.insync.replicas 2; waits for an ISR of all. */
async function createPlaced(cl: BenchCluster, topic: string, replicas: number[]): Promise<void> {
  await withAdmin(cl, (a) =>
    a.createTopics({
      topics: [
        {
          topic,
          replicaAssignment: [{ partition: 0, replicas }],
          configEntries: [{ name: "min.insync.replicas", value: String(MIN_INSYNC) }],
        },
      ],
      timeout: 10_000,
    }),
  );
  await eventually(
    async () => {
      const s = await partitionState(cl, topic);
      return s.leader === replicas[0] && s.isr.length === replicas.length ? s : undefined;
    },
    30_000,
    `${topic}: leader ${replicas[0]} and an ISR of ${replicas.length}`,
  );
}

async function dropTopic(cl: BenchCluster, topic: string): Promise<void> {
  await withAdmin(cl, (a) => a.deleteTopics({ topics: [topic], timeout: 10_000 }));
}

/** Bytes of a partition's segment files (.log) in a broker's log dir. */
function partitionBytes(logDir: string, topic: string): number {
  const dir = join(logDir, `${topic}-0`);
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) if (f.endsWith(".log")) n += fs.statSync(join(dir, f)).size;
  } catch {
    return 0;
  }
  return n;
}

function syncPartition(logDir: string, topic: string): void {
  const dir = join(logDir, `${topic}-0`);
  for (const f of fs.readdirSync(dir)) {
    const fd = fs.openSync(join(dir, f), "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// 1. produce throughput and latency

async function measureThroughput(
  cl: BenchCluster,
  cfg: ClusterConfig,
  log: (l: string) => void,
): Promise<{ rows: ThroughputRow[]; latency: ClusterLatencyRow[] }> {
  const pids = new Map(cl.ids.map((id) => [id, cl.broker(id).pid!]));
  const b1 = cl.broker(1);
  const bootstrap = (t: TransportName) =>
    t === "tcp" ? `127.0.0.1:${b1.kafkaPort}` : `ws://127.0.0.1:${b1.wsPort}`;
  const settings = (rf: number) =>
    rf === 1
      ? { replicationFactor: 1 }
      : {
          replicationFactor: rf,
          configEntries: [{ name: "min.insync.replicas", value: String(MIN_INSYNC) }],
        };
  const drivers = new Map<string, MilenaClientDriver>();
  const transports: TransportName[] = ["tcp", "websocket"];
  for (const t of transports)
    for (const rf of [1, BROKERS]) {
      const d = new MilenaClientDriver(t, bootstrap(t), b1.pid!, true, settings(rf));
      await d.open();
      drivers.set(`${t}/${rf}`, d);
    }
  const rows: ThroughputRow[] = [];
  for (const transport of transports)
    for (const rf of [1, BROKERS])
      for (const acks of [1, -1] as const) rows.push({ transport, rf, acks, runs: [] });
  const leaderOf = async (topic: string) => (await partitionState(cl, topic)).leader;
  try {
    if (cfg.warmupRecords > 0) {
      for (const [key, d] of drivers) {
        const name = `cw-${key.replace("/", "-rf")}`;
        await d.produce(name, 1, cfg.warmupRecords, cfg.valueBytes, 1, () => {});
        await d.drop(name);
      }
      log(`cluster: warmed up with ${fmtInt(cfg.warmupRecords)} records per driver (not measured)`);
    }
    for (let rep = 1; rep <= cfg.reps; rep++) {
      for (let k = 0; k < rows.length; k++) {
        const row = rows[(k + rep - 1) % rows.length];
        const d = drivers.get(`${row.transport}/${row.rf}`)!;
        await waitForQuiet(cfg.quietWaitMs);
        const name = `c-${row.transport}-rf${row.rf}-acks${row.acks === 1 ? 1 : "all"}-r${rep}`;
        let meter: ClusterCpuMeter | null = null;
        const r = await d.produce(name, 1, cfg.records, cfg.valueBytes, row.acks, () => {
          meter = new ClusterCpuMeter(pids);
        });
        const share = (meter as ClusterCpuMeter | null)!.stop();
        const cpu = share(await leaderOf(name));
        await d.drop(name);
        const rate = (r.records / r.ms) * 1000;
        row.runs.push({ rate, ms: r.ms, cpu });
        log(
          `  rep ${rep} ${row.transport.padEnd(9)} RF${row.rf} acks=${row.acks.toString().padEnd(2)} ` +
            `${fmtInt(rate).padStart(11)} msg/s  ${r.ms.toFixed(0)} ms  cpu leader ${cpu.leader.toFixed(0)}% ` +
            `brokers ${cpu.brokers.toFixed(0)}% client ${cpu.client.toFixed(0)}% others ${cpu.others.toFixed(0)}%`,
        );
      }
    }
    // W4 on the cluster, TCP: the producer at latencyRate, a consumer tailing.
    const latency: ClusterLatencyRow[] = [];
    for (const [rf, acks] of [
      [1, 1],
      [BROKERS, 1],
      [BROKERS, -1],
    ] as const) {
      const d = drivers.get(`tcp/${rf}`)!;
      await waitForQuiet(cfg.quietWaitMs);
      const meter = new ClusterCpuMeter(pids);
      const name = `c-w4-rf${rf}-acks${acks === 1 ? 1 : "all"}`;
      // latencyRun deletes its topic at the end: its leader is known only while it runs.
      let leader = -1;
      const watch = (async () => {
        for (let i = 0; i < 50 && leader < 0; i++) {
          await sleep(100);
          leader = await leaderOf(name).catch(() => -1);
        }
      })();
      const lat = await d.latencyRun(name, cfg.latencyRate, cfg.latencySeconds, cfg.valueBytes, acks);
      const share = meter.stop();
      await watch;
      const kept = Float64Array.from(lat.slice(Math.floor(lat.length / 10))).sort();
      const row: ClusterLatencyRow = {
        rf,
        acks,
        samples: kept.length,
        p50: percentile(kept, 50),
        p99: percentile(kept, 99),
        p999: percentile(kept, 99.9),
        max: kept[kept.length - 1],
        cpu: share(leader),
      };
      latency.push(row);
      log(
        `  W4 RF${rf} acks=${acks} p50 ${row.p50.toFixed(2)} p99 ${row.p99.toFixed(2)} p99.9 ${row.p999.toFixed(2)} ` +
          `max ${row.max.toFixed(2)} ms (${fmtInt(row.samples)} samples)`,
      );
    }
    return { rows, latency };
  } finally {
    for (const d of drivers.values()) await d.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// 2. failover

/** Raw acks=-1 Produce of one record to a broker, every 5 ms, until stopped. */
class Prober {
  firstAck = Number.NaN;
  readonly errors = new Map<string, number>();
  private stopped = false;
  private conn: BenchConnection | null = null;

  constructor(
    private readonly port: number,
    private readonly topic: string,
    private readonly t0: () => number,
  ) {}

  async start(): Promise<void> {
    this.conn = await connect("tcp", this.port);
    const frame = produceFrame(this.topic, encodeBatch([{ key: null, value: Buffer.alloc(100, 0x61) }]), -1);
    const conn = this.conn;
    // Not awaited: a request left unanswered when the connection closes just ends the loop.
    void (async () => {
      while (!this.stopped) {
        let body: Buffer;
        try {
          body = await timeout(request(conn, frame), 35_000, "probe");
        } catch (e) {
          this.count(`(${(e as Error).message})`);
          return;
        }
        const r = new Reader(body);
        decodeResponseHeader(r, ApiKey.Produce, 7);
        const code = produceCodec.decodeResponse(r, 7).responses[0]?.partitions[0]?.errorCode ?? -2;
        const t = performance.now();
        if (code === ErrorCode.NONE) {
          if (Number.isNaN(this.firstAck) && t > this.t0()) this.firstAck = t - this.t0();
        } else if (t > this.t0() && Number.isNaN(this.firstAck)) this.count(errorName(code));
        await sleep(5);
      }
    })();
  }

  private count(k: string): void {
    this.errors.set(k, (this.errors.get(k) ?? 0) + 1);
  }

  stop(): void {
    this.stopped = true;
    this.conn?.close();
  }
}

async function failoverOnce(
  cl: BenchCluster,
  i: number,
  controllerToo: boolean,
  log: (l: string) => void,
): Promise<FailoverRun> {
  const { controller } = await clusterState(cl);
  if (controller < 0) throw new Error("cluster: no controller");
  const others = cl.ids.filter((id) => id !== controller);
  const victim = controllerToo ? controller : others[i % others.length];
  const survivors = cl.ids.filter((id) => id !== victim);
  const topic = `failover-${controllerToo ? "controller-" : ""}${i}`;
  await createPlaced(cl, topic, [victim, ...survivors]);

  let t0 = Number.POSITIVE_INFINITY;
  const since = () => t0;
  const probes = survivors.map((id) => new Prober(cl.broker(id).kafkaPort, topic, since));
  for (const p of probes) await p.start();

  // Metadata from every survivor, every 20 ms: when does one name another leader?
  let metadataMs = Number.NaN;
  let stopped = false;
  const watchers = survivors.map(async (id) => {
    const conn = await connect("tcp", cl.broker(id).kafkaPort);
    try {
      while (!stopped) {
        const md = await metadataOn(conn, [topic]).catch(() => null);
        const l = md?.topics[0]?.partitions[0]?.leaderId ?? -1;
        const t = performance.now();
        if (t > t0 && l >= 0 && l !== victim && Number.isNaN(metadataMs)) metadataMs = t - t0;
        await sleep(20);
      }
    } finally {
      conn.close();
    }
  });

  // When the controller hears of the death: its log line, read every 5 ms from each survivor's output.
  let detectMs = Number.NaN;
  const from = new Map(survivors.map((id) => [id, cl.broker(id).output.length]));
  const gone = new RegExp(`controller: (broker\\(s\\) ([\\d, ]*, )?${victim}(, [\\d, ]*)? gone|elected)`);
  const detecting = (async () => {
    while (!stopped && Number.isNaN(detectMs)) {
      for (const id of survivors)
        if (t0 < Number.POSITIVE_INFINITY && gone.test(cl.broker(id).output.slice(from.get(id)!)))
          detectMs = performance.now() - t0;
      await sleep(5);
    }
  })();

  // Milena's client, as a user has it: a default producer (acks=-1, idempotent), one send after another.
  const milena = new Milena({ bootstrap: cl.bootstrap(), clientId: "bench-failover" });
  const producer = milena.producer({ acks: -1 });
  await producer.connect();
  let clientMs = Number.NaN;
  let clientAcksBefore = 0;
  const clientErrors = new Map<string, number>();
  let exitSeen = Number.POSITIVE_INFINITY;
  const sending = (async () => {
    const value = Buffer.alloc(100, 0x62);
    while (!stopped && Number.isNaN(clientMs)) {
      const s = performance.now();
      try {
        await producer.send({ topic, messages: [{ value }] });
        const e = performance.now();
        // An answer after the old leader's exit (or to a send begun after it) is the new leader's.
        if (e > exitSeen + 20 || s > exitSeen) clientMs = e - t0;
        else if (e < t0) clientAcksBefore++;
      } catch (err) {
        const k = (err as Error).message.replace(/\d+/g, "#").slice(0, 160);
        clientErrors.set(k, (clientErrors.get(k) ?? 0) + 1);
        await sleep(10);
      }
    }
  })();

  // Let everything settle on the current leader.
  await eventually(async () => (clientAcksBefore >= 3 ? true : undefined), 10_000, "the client's first acks");
  await sleep(200);
  for (const id of survivors) from.set(id, cl.broker(id).output.length);
  t0 = performance.now();
  await cl.broker(victim).kill();
  exitSeen = performance.now();
  try {
    const acked = () => probes.some((p) => !Number.isNaN(p.firstAck));
    await eventually(
      async () =>
        acked() && !Number.isNaN(clientMs) && !Number.isNaN(metadataMs) && !Number.isNaN(detectMs)
          ? true
          : undefined,
      60_000,
      `${topic}: an acks=-1 produce acknowledged after broker ${victim}'s SIGKILL`,
    );
  } finally {
    stopped = true;
    for (const p of probes) p.stop();
    await Promise.allSettled(watchers);
    await detecting;
    await sending;
    await producer.disconnect().catch(() => {});
  }
  const ackMs = Math.min(...probes.map((p) => p.firstAck).filter((x) => !Number.isNaN(x)));
  const probeErrors = new Map<string, number>();
  for (const p of probes) for (const [k, v] of p.errors) probeErrors.set(k, (probeErrors.get(k) ?? 0) + v);
  const after = await partitionState(cl, topic, survivors[0]);
  log(
    `  failover ${i + 1}${controllerToo ? " (controller too)" : ""}: killed broker ${victim}; ` +
      `controller knew ${detectMs.toFixed(0)} ms, first acks=-1 ack ${ackMs.toFixed(0)} ms, Metadata ${metadataMs.toFixed(0)} ms, client ${clientMs.toFixed(0)} ms; ` +
      `new leader ${after.leader}, ISR ${after.isr.join(",")}, controller ${after.controller}; probe answers before: ` +
      ([...probeErrors].map(([k, v]) => `${k} x${v}`).join(", ") || "none") +
      (clientErrors.size > 0
        ? `; client errors: ${[...clientErrors].map(([k, v]) => `${k} x${v}`).join("; ")}`
        : ""),
  );

  // Back to three brokers, the topic gone.
  await cl.restart(victim);
  await eventually(
    async () => {
      const s = await clusterState(cl, victim);
      return s.brokers.length === BROKERS && s.controller >= 0 ? s : undefined;
    },
    30_000,
    `broker ${victim} registered again`,
  );
  await dropTopic(cl, topic);
  return {
    victim,
    controllerToo,
    ackMs,
    metadataMs,
    detectMs,
    clientMs,
    probeErrors,
    clientErrors,
    newLeader: after.leader,
    isrAfter: after.isr,
  };
}

// ---------------------------------------------------------------------------------------------
// 3. catch-up

async function catchUpOnce(
  cl: BenchCluster,
  cfg: ClusterConfig,
  log: (l: string) => void,
): Promise<CatchUpRun> {
  const { controller } = await clusterState(cl);
  const [leader, follower] = cl.ids.filter((id) => id !== controller);
  const topic = "catchup";
  await createPlaced(cl, topic, [leader, follower, controller]);
  const L = cl.broker(leader);
  const F = cl.broker(follower);
  const C = cl.broker(controller);

  const stop = await cl.stop(follower);
  if (stop.code !== 0 || stop.killed)
    log(
      `  catch-up: broker ${follower} stopped with code ${stop.code}${stop.killed ? " (SIGKILL after 30 s)" : ""}`,
    );
  await eventually(
    async () => {
      const s = await partitionState(cl, topic, leader);
      return !s.isr.includes(follower) ? s : undefined;
    },
    30_000,
    `broker ${follower} out of the ISR`,
  );
  const fBefore = partitionBytes(F.logDir, topic);

  const { full } = buildBatches(150, 150, cfg.valueBytes);
  const count = Math.ceil(cfg.catchUpBytes / full.batch.length);
  const conn = await connect("tcp", L.kafkaPort);
  const w = await produceAll(conn, topic, 1, { ...full, count }, null, 64).finally(() => conn.close());
  const writeMBs = (w.batchBytes / w.ms) * 1e-3;
  const leaderBytes = partitionBytes(L.logDir, topic);
  await eventually(
    async () => (partitionBytes(C.logDir, topic) === leaderBytes ? true : undefined),
    120_000,
    `broker ${controller} caught up`,
  );
  const ts = performance.now();
  syncPartition(L.logDir, topic);
  syncPartition(C.logDir, topic);
  log(
    `  catch-up: wrote ${(leaderBytes / MiB).toFixed(0)} MiB to broker ${leader} with broker ${follower} down ` +
      `(${writeMBs.toFixed(0)} MB/s, acks=1), broker ${controller} followed; fsync ${(performance.now() - ts).toFixed(0)} ms`,
  );
  const missed = leaderBytes - fBefore;

  const t0 = performance.now();
  await cl.restart(follower);
  const tStarted = performance.now();
  const samples: [number, number][] = [];
  let isrAt = Number.NaN;
  const isrWatch = (async () => {
    const deadline = tStarted + 60_000;
    while (Number.isNaN(isrAt) && performance.now() < deadline) {
      const s = await partitionState(cl, topic, leader).catch(() => null);
      if (s?.isr.includes(follower)) isrAt = performance.now();
      else await sleep(20);
    }
  })();
  const deadline = Date.now() + 300_000;
  for (;;) {
    const n = partitionBytes(F.logDir, topic);
    const t = performance.now();
    samples.push([t, n]);
    if (n >= leaderBytes) break;
    if (Date.now() > deadline)
      throw new Error(`catch-up: broker ${follower} at ${n} of ${leaderBytes} bytes after 300 s`);
    await sleep(10);
  }
  const tCaught = samples[samples.length - 1][0];
  await isrWatch;
  const at = (frac: number) => samples.find(([, n]) => n - fBefore >= frac * missed)![0];
  const t10 = at(0.1);
  const t90 = at(0.9);
  const steadyMBs = t90 > t10 ? ((0.8 * missed) / (t90 - t10)) * 1e-3 : Number.NaN;
  const run: CatchUpRun = {
    missedBytes: missed,
    writeMBs,
    startMs: tStarted - t0,
    caughtMs: tCaught - tStarted,
    steadyMBs,
    isrMs: isrAt - tStarted,
  };
  log(
    `  catch-up: broker ${follower} started in ${run.startMs.toFixed(0)} ms, caught up ${(missed / MiB).toFixed(0)} MiB ` +
      `in ${run.caughtMs.toFixed(0)} ms (${((missed / run.caughtMs) * 1e-3).toFixed(0)} MB/s, steady ${steadyMBs.toFixed(0)} MB/s), ` +
      `in the ISR after ${run.isrMs.toFixed(0)} ms`,
  );
  await dropTopic(cl, topic);
  return run;
}

// ---------------------------------------------------------------------------------------------

const TROUBLE =
  /\b(errors?|fail(s|ed|ure)?|warn(s|ed|ing)?|exception|uncaught|timed out|timeout|refused|stall(ed)?|unexpected|invalid|cannot|could not|expired)\b/i;

/**
 * Lines of a broker's output that look like trouble, counted once normalized: the bench's topic
 * names as <topic>, addresses as <addr>, long numbers (offsets, sizes, times) as #; small numbers
 * (broker ids, epochs, error codes) kept.
 */
function troubleLines(output: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of output.split("\n")) {
    if (!TROUBLE.test(line)) continue;
    const k = line
      .replace(/^\S*\d{4}-\d\d-\d\dT[\d:.]+Z?\s*/, "")
      .replace(/\b(?:cw?|failover|catchup)(?:-\w+)+\b/g, "<topic>")
      .replace(/\d+\.\d+\.\d+\.\d+:\d+/g, "<addr>")
      .replace(/\d{3,}/g, "#")
      .trim()
      .slice(0, 220);
    out.set(k, (out.get(k) ?? 0) + 1);
  }
  return out;
}

/** Where the brokers' whole output is kept after the run. */
export const CLUSTER_LOG_DIR = join(tmpdir(), "milena-bench-cluster-logs");

export async function measureCluster(
  cfg: ClusterConfig,
  log: (l: string) => void,
): Promise<ClusterResult | string> {
  if (!zooKeeperInstalled())
    return "cluster part not measured: ZooKeeper is not installed (apt-get install zookeeper)";
  const notes: string[] = [];
  const t0 = performance.now();
  const cl = await BenchCluster.start({
    brokers: BROKERS,
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    overrides: cfg.overrides,
  });
  log(`cluster: ZooKeeper and ${BROKERS} brokers up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // A broken probe connection is reported by the probe, not fatal to the run.
  setConnectionErrorHandler(() => {});
  const result: ClusterResult = {
    config: cfg,
    brokerSettings: cl.settings,
    throughput: [],
    latency: [],
    failover: [],
    catchUp: [],
    brokerLog: [],
    stops: [],
    notes,
  };
  try {
    let t = performance.now();
    if (cfg.parts.has("produce")) {
      const tp = await measureThroughput(cl, cfg, log);
      result.throughput = tp.rows;
      result.latency = tp.latency;
      log(`cluster: produce figures in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    if (cfg.parts.has("failover")) {
      t = performance.now();
      for (let i = 0; i < cfg.leaderKills; i++) result.failover.push(await failoverOnce(cl, i, false, log));
      for (let i = 0; i < cfg.controllerKills; i++)
        result.failover.push(await failoverOnce(cl, i, true, log));
      log(`cluster: failovers in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    if (cfg.parts.has("catchup")) {
      t = performance.now();
      result.catchUp.push(await catchUpOnce(cl, cfg, log));
      log(`cluster: catch-up in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    }
    // Clean stops, one after another (nothing is led any more: each should be quick).
    for (const id of cl.ids) {
      const s = await cl.stop(id);
      result.stops.push({ broker: id, ...s });
      if (s.code !== 0 || s.killed)
        notes.push(
          `broker ${id} stopped with exit code ${s.code}${s.killed ? " (SIGKILL after 30 s of SIGTERM)" : ""}`,
        );
    }
  } finally {
    setConnectionErrorHandler((e) => {
      throw e;
    });
    fs.mkdirSync(CLUSTER_LOG_DIR, { recursive: true });
    fs.writeFileSync(join(CLUSTER_LOG_DIR, "zookeeper.log"), cl.zk.output);
    for (const id of cl.ids) {
      fs.writeFileSync(join(CLUSTER_LOG_DIR, `broker-${id}.log`), cl.broker(id).output);
      for (const [line, count] of troubleLines(cl.broker(id).output))
        result.brokerLog.push({ broker: id, line, count });
    }
    log(`cluster: the brokers' and ZooKeeper's output in ${CLUSTER_LOG_DIR}`);
    await cl.destroy();
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Tables

type Table = (h: string[], right: boolean[], rows: string[][]) => string;

/** The single broker's figures of the same run (e2e part), when it ran. */
export interface SingleBroker {
  produce(transport: string, acks: 1 | -1): number | undefined;
  latency(transport: string): { p50: number; p99: number } | undefined;
}

export function clusterIntro(r: ClusterResult): string {
  const c = r.config;
  return (
    `ZooKeeper (Debian's package, standalone) and ${BROKERS} brokers on this machine, each with ` +
    `zookeeper.session.timeout.ms=${SESSION_TIMEOUT_MS} and otherwise the defaults (replica.fetch.max.bytes 1 MiB, ` +
    "replica.fetch.wait.max.ms 500, num.replica.fetchers 1, replica.lag.time.max.ms 30000, " +
    `${r.brokerSettings["num.partition.writers"]} partition writers each); RF3 topics have min.insync.replicas ` +
    `${MIN_INSYNC}. The session timeout is Kafka's default 18000 ms lowered to 6000 ms: it is what bounds ` +
    "failure detection (the controller learns of a SIGKILLed broker when its ZooKeeper session expires), so " +
    "with 18000 each kill would take ~20 s; 6000 ms was Kafka's default before 2.5 (KIP-537) and keeps the " +
    "run short. Produce: the W1 load through Milena's own client (same producer settings as above), " +
    `${fmtInt(c.records)} x ${c.valueBytes} B into one partition, ${c.reps > 1 ? `median of ${c.reps} runs` : "one run"}, ` +
    "all variants interleaved; acks=-1 is answered after the leader's fdatasync and once every ISR member has the " +
    "batch (the high watermark). Everything (three brokers, ZooKeeper, the client) shares this machine's cores." +
    (Object.keys(c.overrides).length > 0
      ? ` Overridden on every broker: ${Object.entries(c.overrides)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")}.`
      : "")
  );
}

export function clusterTables(r: ClusterResult, table: Table, single?: SingleBroker): string {
  const pct = (x: number) => (Number.isFinite(x) ? `${x.toFixed(0)}%` : "n/a");
  const medRate = (row: ThroughputRow) => median(row.runs.map((x) => x.rate));
  const midRun = (row: ThroughputRow) => {
    const m = medRate(row);
    return row.runs.reduce((a, b) => (Math.abs(b.rate - m) < Math.abs(a.rate - m) ? b : a));
  };
  // The single broker's column only when the e2e part ran in this run.
  const withSingle = r.throughput.some((row) => single?.produce(row.transport, row.acks) !== undefined);
  const dropSingle = <T>(xs: T[]): T[] => (withSingle ? xs : xs.filter((_, i) => i !== 6));
  const produce = table(
    dropSingle([
      "transport",
      "replication",
      "acks",
      "msgs/s (median)",
      "MB/s payload",
      "vs RF1, same acks",
      "single broker (e2e above)",
      "each run, msgs/s (others' CPU)",
      "CPU: leader / all brokers / client / others",
    ]),
    dropSingle([false, false, false, true, true, true, true, false, false]),
    r.throughput.map((row) => {
      const m = medRate(row);
      const rf1 = r.throughput.find(
        (x) => x.transport === row.transport && x.rf === 1 && x.acks === row.acks,
      );
      const one = single?.produce(row.transport, row.acks);
      const mid = midRun(row);
      return dropSingle([
        row.transport,
        `RF${row.rf}`,
        row.acks === 1 ? "1" : "-1 (all)",
        fmtInt(m),
        ((m * r.config.valueBytes) / 1e6).toFixed(1),
        rf1 && rf1 !== row ? `${(m / medRate(rf1)).toFixed(2)}x` : "",
        one !== undefined ? fmtInt(one) : "",
        row.runs.map((x) => `${fmtInt(x.rate)} (${x.cpu.others.toFixed(0)}%)`).join(", "),
        `${pct(mid.cpu.leader)} / ${pct(mid.cpu.brokers)} / ${pct(mid.cpu.client)} / ${pct(mid.cpu.others)}`,
      ]);
    }),
  );
  const oneLat = single?.latency("tcp");
  const latency = table(
    [
      "replication",
      "producer acks",
      "p50 ms",
      "p99 ms",
      "p99.9 ms",
      "max ms",
      "samples",
      "CPU: leader / all brokers / client / others",
    ],
    [false, false, true, true, true, true, true, false],
    [
      ...(oneLat
        ? [["single broker (W4 above)", "1", oneLat.p50.toFixed(2), oneLat.p99.toFixed(2), "", "", "", ""]]
        : []),
      ...r.latency.map((l) => [
        `RF${l.rf}`,
        l.acks === 1 ? "1" : "-1 (all)",
        l.p50.toFixed(2),
        l.p99.toFixed(2),
        l.p999.toFixed(2),
        l.max.toFixed(2),
        fmtInt(l.samples),
        `${pct(l.cpu.leader)} / ${pct(l.cpu.brokers)} / ${pct(l.cpu.client)} / ${pct(l.cpu.others)}`,
      ]),
    ],
  );
  const cases = [false, true].filter((c) => r.failover.some((f) => f.controllerToo === c));
  const failover = table(
    [
      "SIGKILL of",
      "kills",
      "first acks=-1 ack on the new leader (ms, median)",
      "each run (ms)",
      "controller knew (ms)",
      "knew -> first ack (ms)",
      "new leader in Metadata (ms)",
      "Milena client's first ack (ms)",
      "zookeeper.session.timeout.ms",
    ],
    [false, true, true, false, true, true, true, true, true],
    cases.map((c) => {
      const fs_ = r.failover.filter((f) => f.controllerToo === c);
      const each = (k: (f: FailoverRun) => number) =>
        `${median(fs_.map(k)).toFixed(0)}${fs_.length > 1 ? ` (${fs_.map((f) => k(f).toFixed(0)).join(", ")})` : ""}`;
      return [
        c ? "the leader, also the controller" : "the leader (not the controller)",
        String(fs_.length),
        median(fs_.map((f) => f.ackMs)).toFixed(0),
        fs_.map((f) => f.ackMs.toFixed(0)).join(", "),
        each((f) => f.detectMs),
        each((f) => f.ackMs - f.detectMs),
        median(fs_.map((f) => f.metadataMs)).toFixed(0),
        each((f) => f.clientMs),
        String(SESSION_TIMEOUT_MS),
      ];
    }),
  );
  const catchUp = table(
    [
      "follower missed",
      "written meanwhile (acks=1, lean client)",
      "restart: spawn to started",
      "started to log end = leader's",
      "catch-up MB/s",
      "steady MB/s (10-90%)",
      "back in the ISR (from started)",
    ],
    [false, true, true, true, true, true, true],
    r.catchUp.map((c) => [
      `${(c.missedBytes / MiB).toFixed(0)} MiB`,
      `${c.writeMBs.toFixed(0)} MB/s`,
      `${c.startMs.toFixed(0)} ms`,
      `${c.caughtMs.toFixed(0)} ms`,
      ((c.missedBytes / c.caughtMs) * 1e-3).toFixed(0),
      c.steadyMBs.toFixed(0),
      Number.isNaN(c.isrMs) ? "not in 60 s" : `${c.isrMs.toFixed(0)} ms`,
    ]),
  );
  const errs = new Map<string, number>();
  for (const f of r.failover) for (const [k, v] of f.probeErrors) errs.set(k, (errs.get(k) ?? 0) + v);
  const clientErrs = new Map<string, number>();
  for (const f of r.failover)
    for (const [k, v] of f.clientErrors) clientErrs.set(k, (clientErrs.get(k) ?? 0) + v);
  const failNote =
    `Failover: raw acks=-1 Produce requests every 5 ms to each survivor; their answers until the first ` +
    `success, all kills together: ${[...errs].map(([k, v]) => `${k} x${v}`).join(", ") || "none"}. ` +
    "Milena client: a default producer (acks=-1, idempotent, retries 5), one send after another; " +
    `sends that failed after its retries: ${[...clientErrs].map(([k, v]) => `${v} x "${k}"`).join("; ") || "none"}. ` +
    '_controller knew_: the survivor\'s log line of the death ("controller: broker(s) N gone", or a new ' +
    "controller's \"elected\"), read every 5 ms: the dead broker's session expired (ZooKeeper expires a " +
    "session the timeout after the last heartbeat it heard, the brokers heartbeat every third of it, so this " +
    "lands between ~2/3 of the timeout and the timeout after the kill) and the watch fired. Every time is from the SIGKILL.";
  const catchNote =
    "Catch-up: one partition; the follower was stopped with SIGTERM (so it restarts clean), the data " +
    "written with the other follower replicating, the files fsynced before the restart; its log end is " +
    "watched as the size of its partition's segment files every 10 ms (a replica keeps its leader's " +
    "batches byte for byte), its ISR membership through the leader's Metadata every 20 ms.";
  const out: string[] = [];
  if (r.throughput.length > 0)
    out.push(
      produce,
      `End-to-end latency on the cluster: W4 (${fmtInt(r.config.latencyRate)} msg/s of ${r.config.valueBytes} B for ${r.config.latencySeconds} s, ` +
        "Milena's client over TCP, a consumer tailing; the first 10% not counted). A consumer reads up to the high " +
        "watermark, so with RF3 every message waits for both followers whatever the producer's acks.",
      latency,
    );
  if (r.failover.length > 0) out.push(failNote, failover);
  if (r.catchUp.length > 0) out.push(catchNote, catchUp);
  return out.join("\n\n");
}

/** Broker log lines worth a look, as Markdown list items (empty when none). */
export function clusterLogNotes(r: ClusterResult): string[] {
  const out: string[] = [];
  for (const s of r.stops)
    out.push(
      `broker ${s.broker}: stopped (SIGTERM) in ${s.ms.toFixed(0)} ms, exit code ${s.code}${s.killed ? ", needed SIGKILL" : ""}`,
    );
  for (const l of r.brokerLog.sort((a, b) => a.broker - b.broker || b.count - a.count))
    out.push(`broker ${l.broker}, ${l.count}x: \`${l.line.replace(/`/g, "'")}\``);
  return out;
}
