// `make bench`: Milena's benchmark, against its peers and the machine's limits, in one run.
//
//   1. limits       fio (sequential write, 64 KiB + fdatasync), loopback TCP and WebSocket,
//                   memcpy, CRC-32C (limits.ts)
//   2. workloads    W1-W5 through every driver (drivers.ts, e2e.ts): Milena (its own client and
//                   the lean one, WebSocket and TCP; kafkajs), NATS JetStream and Redis Streams
//                   (stock client and lean one), interleaved, repeated, medians quoted
//   3. recovery     clean start of 1,000 partitions, unclean scan of 2 GiB (recovery.ts)
//   4. groups       rebalance after a leave / a death, group-of-4 consume (groups.ts)
//   5. hardening    the cost of record validation, a slow consumer's memory (hardening.ts)
//   6. cluster      ZooKeeper + 3 brokers: RF1 vs RF3 produce (acks=1, -1) and latency, failover
//                   after a leader's SIGKILL, a follower's catch-up (cluster.ts, zk_cluster.ts)
//   7. compaction   the log cleaner's MB/s and the disk it gives back (a 256 MiB dirty log over
//                   10,000 keys, QUICK 32 MiB); kafkajs transactional produce beside idempotent,
//                   read_committed vs read_uncommitted consume (compaction.ts)
//   8. security     W1 / W3 over TLS beside plaintext on one broker (SSL and PLAINTEXT listeners;
//                   the lean client and kafkajs), the authorizer's cost per Produce request
//                   (kafkajs over SASL_PLAINTEXT / SCRAM, no authorizer vs AclAuthorizer with 480
//                   ACLs: 50,000 sends of one record, QUICK 10,000) (security.ts)
//   9. metrics      W1 / W3 on two brokers alike but for metrics.listener (off, or on and
//                   scraped every second): the cost of /metrics (metrics.ts)
//  10. stages       where W4's time goes: client stages, the broker's request times, event-loop
//                   delays and run-queue waits, quiet and beside a CPU hog (latency_stages.ts)
//  11. micro        tinybench of the hot functions (micro.ts)
//  12. mirror       `milena mirror` between two brokers beside a consume + produce pipe (mirror.ts)
//
// Prints the tables and writes native-bench/RESULTS.md (README.md here says what each figure
// means).
//
//   QUICK=1            small sizes, one repetition (~2.5 minutes; the cluster ~45 s of it,
//                      compaction ~30 s, security ~25 s)
//   (default)          full sizes (W1 1,000,000 records), three repetitions (~30 minutes:
//                      limits + e2e + stages took 12.3 on 2026-12-03, the cluster ~4,
//                      compaction ~2.5, security ~2.5)
//   --only=a,b         only these parts (limits, e2e, recovery, groups, hardening, cluster,
//                      compaction, security, metrics, stages, micro, mirror); RESULTS.md is then left alone. --e2e and --micro
//                      are --only=e2e / --only=micro.
//   --update           with --only: the parts' sections replace theirs in RESULTS.md, marked
//                      as from a separate run (e.g. `--only=cluster --update`)
//   --profile          the Milena workloads only, broker under --cpu-prof; writes PROFILE.md
//   BENCH_RECORDS, BENCH_REPS, BENCH_WINDOW, BENCH_FETCH_BYTES, BENCH_LATENCY_SECONDS,
//   BENCH_DRIVERS (substrings of driver labels, comma-separated), BENCH_CLUSTER_PARTS
//   (produce,failover,catchup), BENCH_CLUSTER_OVERRIDES (key=value,... on every cluster broker):
//   override (RESULTS.md says so)

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { availableParallelism, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchBroker } from "./broker.ts";
import {
  type ClusterResult,
  clusterConfig,
  clusterIntro,
  clusterLogNotes,
  clusterTables,
  measureCluster,
  type SingleBroker,
} from "./cluster.ts";
import { type CompactionResult, compactionIntro, compactionTables, measureCompaction } from "./compaction.ts";
import {
  type Driver,
  IN_FLIGHT,
  IoredisDriver,
  KafkajsDriver,
  KCAT,
  KcatDriver,
  MilenaClientDriver,
  MilenaLeanDriver,
  NatsJsDriver,
  NatsLeanDriver,
  PIPELINE,
  RedisLeanDriver,
} from "./drivers.ts";
import {
  type E2eConfig,
  fmtInt,
  type LatencyMedian,
  type LatencyResult,
  medianRuns,
  type PhaseResult,
  runE2e,
  storedBytesPerRecord,
  w5Phase,
} from "./e2e.ts";
import { type GroupsResult, HEARTBEAT_MS, measureGroups } from "./groups.ts";
import { type HardeningResult, hardeningTables, measureHardening } from "./hardening.ts";
import { measureStages, type StagesResult, stagesIntro, stagesTables } from "./latency_stages.ts";
import { type Limits, measureLimits } from "./limits.ts";
import { type MetricsResult, measureMetrics, metricsIntro, metricsTables } from "./metrics.ts";
import { type MicroResult, runMicro } from "./micro.ts";
import { type MirrorResult, measureMirror, mirrorIntro, mirrorTables } from "./mirror.ts";
import { type PeerServer, startNats, startRedis } from "./peers.ts";
import { machineBusyMs, selfCpuMs, waitForQuiet } from "./procstat.ts";
import { formatSummary, profileFiles, summarize } from "./profile.ts";
import { measureRecovery, type RecoveryResult } from "./recovery.ts";
import { measureSecurity, type SecurityResult, securityIntro, securityTables } from "./security.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const quick = process.env.QUICK !== undefined && process.env.QUICK !== "" && process.env.QUICK !== "0";
const argv = process.argv.slice(2);
const profile = argv.includes("--profile");
const ALL_PARTS = [
  "limits",
  "e2e",
  "recovery",
  "groups",
  "hardening",
  "cluster",
  "compaction",
  "security",
  "metrics",
  "stages",
  "micro",
  "mirror",
] as const;
type Part = (typeof ALL_PARTS)[number];
const onlyArg = argv.find((a) => a.startsWith("--only="))?.slice(7);
const parts = new Set<Part>(
  profile
    ? ["e2e"]
    : argv.includes("--e2e")
      ? ["e2e"]
      : argv.includes("--micro")
        ? ["micro"]
        : onlyArg
          ? (onlyArg.split(",") as Part[])
          : ALL_PARTS,
);
const complete = ALL_PARTS.every((p) => parts.has(p)) && !profile;
/** --update with --only: this run's sections replace theirs in RESULTS.md (updateResults). */
const update = argv.includes("--update") && !complete && !profile;

const log = (line: string) => process.stdout.write(`${line}\n`);

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v === undefined || v === "" ? dflt : Number(v);
};
const overridden = Object.keys(process.env).filter((k) => k.startsWith("BENCH_"));

const records = env("BENCH_RECORDS", quick ? 50_000 : 1_000_000);
const e2eConfig: E2eConfig = {
  records,
  valueBytes: 100,
  // W2: at least 2 GiB in a full run (beyond any disk's cache; the page cache is another matter:
  // see the limits), records / 5 in QUICK or when BENCH_RECORDS is set.
  bigRecords:
    quick || process.env.BENCH_RECORDS
      ? Math.max(PIPELINE, Math.round(records / 5 / PIPELINE) * PIPELINE)
      : Math.ceil(2 ** 31 / 1024 / PIPELINE) * PIPELINE,
  bigValueBytes: 1024,
  recordsPerBatch: 150,
  window: env("BENCH_WINDOW", 64),
  fetchMaxBytes: env("BENCH_FETCH_BYTES", 8 * 1024 * 1024),
  consumeChains: [1, 4],
  partitionCounts: quick ? [10, 100] : [100, 1000],
  reps: env("BENCH_REPS", quick ? 1 : 3),
  latencyRate: 20_000,
  latencySeconds: env("BENCH_LATENCY_SECONDS", quick ? 1 : 10),
  latencyReps: quick ? 1 : 3,
  warmupRecords: quick ? 10_000 : 50_000,
  quietWaitMs: quick ? 0 : 2_000,
};

function machine(): Record<string, string> {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: HERE, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: HERE,
      encoding: "utf8",
    }).trim();
    if (dirty) commit += " (with uncommitted changes)";
  } catch {
    // not a git checkout
  }
  return {
    cores: `${availableParallelism()} (nproc)`,
    cpu: model,
    memory: `${((memKb || totalmem() / 1024) / 1024 / 1024).toFixed(1)} GiB`,
    kernel: release(),
    node: process.version,
    commit,
    date: new Date().toISOString(),
    mode:
      (quick ? "QUICK (QUICK=1)" : "full") +
      (overridden.length > 0 ? ` with ${overridden.map((k) => `${k}=${process.env[k]}`).join(" ")}` : ""),
    "data dirs": `${tmpdir()} (fresh per run)`,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A Markdown table padded as biome formats it (so `make lint` passes on RESULTS.md). */
function mdTable(header: string[], right: boolean[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Summaries

interface Row {
  driver: Driver;
  phase: string;
  msgs: number;
  /** Records a run of it wrote or read. */
  records: number;
  payloadMBs: number;
  reps: number[];
  others: number[];
  cpu: string;
}

function summarizeE2e(results: PhaseResult[], drivers: Driver[]): Row[] {
  const rows: Row[] = [];
  const phases = [...new Set(results.map((r) => r.phase))];
  for (const d of drivers) {
    for (const phase of phases) {
      const rs = results.filter((r) => r.driver === d && r.phase === phase);
      if (rs.length === 0) continue;
      const rates = rs.map((r) => (r.records / r.ms) * 1000);
      const med = median(rates);
      const mid = rs[rates.indexOf(rates.reduce((a, b) => (Math.abs(b - med) < Math.abs(a - med) ? b : a)))];
      rows.push({
        driver: d,
        phase,
        msgs: med,
        records: mid.records,
        payloadMBs: median(rs.map((r) => (r.payloadBytes / r.ms) * 1e-3)),
        reps: rates,
        others: rs.map((r) => r.cpu.others),
        cpu: `${mid.cpu.brokerMain.toFixed(0)}% / ${mid.cpu.brokerTotal.toFixed(0)}% / ${mid.cpu.client.toFixed(0)}% / ${mid.cpu.others.toFixed(0)}%`,
      });
    }
  }
  return rows;
}

function e2eTable(rows: Row[], reps: number): string {
  return mdTable(
    [
      "driver",
      "workload",
      `msgs/s${reps > 1 ? " (median)" : ""}`,
      "MB/s payload",
      "each run, msgs/s (others' CPU)",
      "CPU: server main / server all / client / others",
    ],
    [false, false, true, true, false, false],
    rows.map((r) => [
      r.driver.label,
      r.phase,
      fmtInt(r.msgs),
      r.payloadMBs.toFixed(1),
      r.reps.map((x, i) => `${fmtInt(x)} (${r.others[i].toFixed(0)}%)`).join(", "),
      r.cpu,
    ]),
  );
}

function latencyTable(lat: LatencyMedian[]): string {
  return mdTable(
    [
      "driver",
      "p50 ms",
      "p99 ms",
      "p99.9 ms",
      "max ms",
      "p99 of each run ms",
      "samples",
      "CPU: server all / client / others",
    ],
    [false, true, true, true, true, true, true, false],
    lat.map((l) => [
      l.driver.label,
      l.p50.toFixed(2),
      l.p99.toFixed(2),
      l.p999.toFixed(2),
      l.max.toFixed(2),
      l.p99s.map((x) => x.toFixed(2)).join(", "),
      fmtInt(l.samples),
      `${l.cpu.brokerTotal.toFixed(0)}% / ${l.cpu.client.toFixed(0)}% / ${l.cpu.others.toFixed(0)}%`,
    ]),
  );
}

const LAT_P99_TARGET_MS = 3;

/** The headline: Milena's own client per workload and transport, beside the best peer and the limit. */
function headline(rows: Row[], lat: LatencyMedian[], limits: Limits | null): string {
  const peersOf = (phase: string) => {
    // Peers have no acks=-1 (neither fsyncs before acknowledging): their W1 is the comparison.
    const p = phase === "W1 produce acks=-1" ? "W1 produce acks=1" : phase;
    const ps = rows.filter((r) => r.phase === p && r.driver.system !== "milena");
    return ps.length === 0 ? null : ps.reduce((a, b) => (b.msgs > a.msgs ? b : a));
  };
  const out: string[][] = [];
  const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(0)}%` : "n/a");
  for (const transport of ["websocket", "tcp"]) {
    const own = rows.filter((r) => r.driver.client === "milena client" && r.driver.transport === transport);
    const lean = (phase: string) =>
      rows.find(
        (r) => r.driver.client === "milena lean" && r.driver.transport === transport && r.phase === phase,
      );
    const one = own.find((r) => r.phase === "W1 produce acks=1");
    const loopMBs = limits ? (transport === "tcp" ? limits.tcpMBs : limits.wsMBs) : Number.NaN;
    const loopName = transport === "tcp" ? "loopback TCP" : "loopback WS";
    for (const r of own) {
      const best = peersOf(r.phase);
      const valueBytes = r.phase === "W2 produce 1 KiB" ? 1024 : 100;
      const storedMBs = (r.msgs * storedBytesPerRecord(valueBytes)) / 1e6;
      let limitName = "";
      let limitMBs = Number.NaN;
      if (limits) {
        // acks=-1 is bound by writing and flushing to the device (fio + fsync), an acks=1 run by
        // a buffered write of its own size (in memory when small, throttled to writeback when
        // large), every run by the loopback.
        const disk: [string, number] =
          r.phase === "W1 produce acks=-1"
            ? ["fio write + fsync", limits.fioSeqMBs]
            : r.phase === "W2 produce 1 KiB"
              ? ["fio buffered (W2 size)", limits.fioCachedMBs.w2]
              : ["fio buffered (W1 size)", limits.fioCachedMBs.w1];
        if (r.phase === "W3 consume" || Number.isNaN(disk[1]) || loopMBs < disk[1]) {
          limitName = loopName;
          limitMBs = loopMBs;
        } else [limitName, limitMBs] = disk;
      }
      let target = "";
      let met: boolean | null = null;
      const ratio = best ? r.msgs / best.msgs : Number.NaN;
      if (r.phase === "W1 produce acks=1") {
        target = ">= 2,000,000/s, >= 5x best peer";
        met = r.msgs >= 2_000_000 && ratio >= 5;
      } else if (r.phase === "W1 produce acks=-1") {
        target = ">= 500,000/s";
        met = r.msgs >= 500_000;
      } else if (r.phase === "W2 produce 1 KiB" && limits && !Number.isNaN(limitMBs)) {
        target = `>= 80% of ${limitName} (${pct(storedMBs / limitMBs)})`;
        met = storedMBs >= 0.8 * limitMBs;
      } else if (r.phase === "W3 consume") {
        target = ">= 4,000,000/s";
        met = r.msgs >= 4_000_000;
      } else if (r.phase === w5Phase(e2eConfig.partitionCounts[1]) && one) {
        target = `>= 50% of one partition (${pct(r.msgs / one.msgs)})`;
        met = r.msgs >= 0.5 * one.msgs;
      } else if (r.phase === w5Phase(e2eConfig.partitionCounts[0]) && one) {
        target = `(${pct(r.msgs / one.msgs)} of one partition)`;
      }
      const l = lean(r.phase);
      out.push([
        r.phase,
        transport,
        fmtInt(r.msgs),
        storedMBs.toFixed(0),
        l ? fmtInt(l.msgs) : "",
        best ? `${fmtInt(best.msgs)} (${best.driver.label.replace(" / tcp", "")})` : "n/a",
        Number.isFinite(ratio) ? `${ratio.toFixed(1)}x` : "n/a",
        limitName ? `${limitName} ${limitMBs.toFixed(0)} MB/s` : "n/a",
        pct(storedMBs / limitMBs),
        target,
        met === null ? "" : met ? "met" : "MISSED",
      ]);
    }
    const ml = lat.find((x) => x.driver.client === "milena client" && x.driver.transport === transport);
    if (ml) {
      const peerLat = lat.filter((x) => x.driver.system !== "milena");
      const bestLat = peerLat.length > 0 ? peerLat.reduce((a, b) => (b.p99 < a.p99 ? b : a)) : null;
      out.push([
        "W4 e2e p99 at 20k msg/s",
        transport,
        `${ml.p99.toFixed(2)} ms`,
        "",
        "",
        bestLat ? `${bestLat.p99.toFixed(2)} ms (${bestLat.driver.label.replace(" / tcp", "")})` : "n/a",
        bestLat ? `${(bestLat.p99 / ml.p99).toFixed(1)}x` : "n/a",
        limits && !Number.isNaN(limits.fioSyncLatencyMs)
          ? `one fdatasync ${limits.fioSyncLatencyMs.toFixed(2)} ms`
          : "",
        "",
        `p99 <= ${LAT_P99_TARGET_MS} ms`,
        ml.p99 <= LAT_P99_TARGET_MS ? "met" : "MISSED",
      ]);
    }
  }
  return mdTable(
    [
      "workload",
      "transport",
      "Milena, own client",
      "MB/s stored",
      "lean client",
      "best peer (client)",
      "x best peer",
      "limit",
      "% of limit",
      "target (not asserted)",
      "",
    ],
    [false, false, true, true, true, true, true, false, true, false, false],
    out,
  );
}

function limitsTable(l: Limits): string {
  return mdTable(
    ["limit", "median", "unit", "each run", "note"],
    [false, true, false, false, false],
    l.rows.map((r) => [
      r.name,
      r.value >= 100 ? fmtInt(r.value) : r.value.toFixed(2),
      r.unit,
      r.runs.map((x) => (x >= 100 ? fmtInt(x) : x.toFixed(2))).join(", "),
      r.note,
    ]),
  );
}

function recoveryTable(r: RecoveryResult): string {
  return mdTable(
    ["case", "recovery threads", "time (ms, median)", "each run (ms)", "scan GB/s", "broker said"],
    [false, true, true, false, true, false],
    r.rows.map((x) => [
      x.case,
      String(x.threads),
      x.ms.toFixed(0),
      x.runs.map((v) => v.toFixed(0)).join(", "),
      x.bytes > 0 ? (x.bytes / x.ms / 1e6).toFixed(2) : "",
      x.openedLine.replace(/ from \S+/, ""),
    ]),
  );
}

function groupsTables(g: GroupsResult): string {
  const a = mdTable(
    ["event", "all reassigned (ms, median)", "each run (ms)", "last member noticed (ms)", "session timeout"],
    [false, true, false, true, true],
    g.rebalance.map((r) => [
      `one of ${g.members} members ${r.event === "leave" ? "leaves (LeaveGroup)" : "dies (socket closed)"}`,
      r.ms.toFixed(0),
      r.runs.map((x) => x.toFixed(0)).join(", "),
      r.noticeMs.toFixed(0),
      `${r.sessionTimeoutMs} ms`,
    ]),
  );
  const one = g.consume.find((c) => c.consumers === 1);
  const b = mdTable(
    ["consumers", "msgs/s (median)", "each run", "vs one consumer"],
    [true, true, false, true],
    g.consume.map((c) => [
      String(c.consumers),
      fmtInt(c.msgs),
      c.runs.map(fmtInt).join(", "),
      one ? `${(c.msgs / one.msgs).toFixed(2)}x` : "",
    ]),
  );
  return `${a}\n\n${b}`;
}

function microTable(results: MicroResult[]): string {
  return mdTable(
    ["operation", "ns/op (median)", "op/s", "GB/s", "±rme", "note"],
    [false, true, true, true, true, false],
    results.map((r) => [
      r.name,
      r.nsPerOp.toFixed(0),
      fmtInt(r.opsPerSec),
      r.bytesPerOp > 0 ? ((r.bytesPerOp * r.opsPerSec) / 1e9).toFixed(2) : "",
      `${r.rme.toFixed(1)}%`,
      r.note,
    ]),
  );
}

function profileReport(
  dir: string,
  results: PhaseResult[],
  latency: LatencyResult[],
  drivers: Driver[],
): string {
  const files = profileFiles(dir);
  const out: string[] = [
    "# Broker CPU profile by phase",
    "",
    "Written by `node --import tsx native-bench/run.ts --profile`: the broker ran under",
    "`node --cpu-prof`, one profile per thread; each section is the samples inside the phase's",
    "windows (first send to last reply, every repetition), self time per function. Idle = the",
    "thread's event loop waiting; parked = a worker blocked in Atomics.wait (ring empty).",
    "Profiling slows the broker: read the shares, not the absolute rates.",
    "",
    "```",
    ...Object.entries(machine()).map(([k, v]) => `${k}: ${v}`),
    "```",
  ];
  const phases = [...new Set(results.map((r) => r.phase))];
  for (const d of drivers) {
    for (const phase of phases) {
      const rs = results.filter((r) => r.driver === d && r.phase === phase);
      if (rs.length === 0) continue;
      const windows = rs.map((r) => r.window);
      out.push("", `## ${d.label}: ${phase}`, "", "```");
      for (const r of rs)
        out.push(
          `rate under the profiler: ${fmtInt((r.records / r.ms) * 1000)} msg/s (${r.ms.toFixed(0)} ms)`,
        );
      for (const f of files) {
        const s = summarize(f, 15, windows);
        if (s.busyMs < 0.05 * s.sampledMs && !s.thread.startsWith("acceptor")) continue;
        out.push("", formatSummary(s));
      }
      out.push("```");
    }
    // W4, the latency run: where the broker's time goes at 20,000 msg/s (mostly idle: the
    // shares of the busy time say which stage costs what per request).
    const ls = latency.filter((l) => l.driver === d);
    if (ls.length === 0) continue;
    out.push("", `## ${d.label}: W4 latency`, "", "```");
    for (const l of ls)
      out.push(
        `under the profiler: p50 ${l.p50.toFixed(2)} p99 ${l.p99.toFixed(2)} p99.9 ${l.p999.toFixed(2)} ms (${fmtInt(l.samples)} samples)`,
      );
    for (const f of files) {
      const s = summarize(
        f,
        20,
        ls.map((l) => l.window),
      );
      if (s.busyMs < 0.02 * s.sampledMs && !s.thread.startsWith("acceptor")) continue;
      out.push("", formatSummary(s));
    }
    out.push("```");
  }
  return `${out.join("\n")}\n`;
}

/**
 * `--only=... --update`: put this run's sections into the existing RESULTS.md in place of those of
 * the same title (a new one goes before the microbenchmarks), each saying which run it comes
 * from; the header and the other sections stay as the complete run wrote them.
 */
function updateResults(
  sections: { title: string; intro: string; body: string }[],
  info: Record<string, string>,
  notes: string[],
  seconds: number,
): void {
  const path = join(HERE, "RESULTS.md");
  const blocks = fs.readFileSync(path, "utf8").split(/\n(?=## )/);
  const from =
    `_This section comes from a separate run (\`run.ts ${argv.join(" ")}\`, ${info.mode}): ${info.date}, ` +
    `commit ${info.commit}, ${seconds.toFixed(0)} s${notes.length > 0 ? `; ${notes.join("; ")}` : ""}. The ` +
    "header above is the run of the other sections._";
  for (const s of sections) {
    const block = [`## ${s.title}`, "", from, "", s.intro, "", s.body, ""].join("\n");
    const at = blocks.findIndex((b) => b.startsWith(`## ${s.title}\n`));
    const micro = blocks.findIndex((b) => b.startsWith("## Microbenchmarks"));
    if (at >= 0) blocks[at] = block;
    else if (micro >= 0) blocks.splice(micro, 0, block);
    else blocks.push(block);
  }
  fs.writeFileSync(path, blocks.join("\n"));
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const info = machine();
  log(
    `milena native-bench: ${info.mode}, ${info.cores} cores, ${info.cpu}, node ${info.node}, commit ${info.commit}; ` +
      `parts: ${[...parts].join(", ")}`,
  );
  const t0 = performance.now();
  let tPart = t0;
  const partDone = (name: string) => {
    const now = performance.now();
    log(`${name}: ${((now - tPart) / 1000).toFixed(1)} s`);
    tPart = now;
  };
  const notes: string[] = [];
  const versions: string[] = [];

  let limits: Limits | null = null;
  if (parts.has("limits")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    limits = await measureLimits(quick, log, {
      w1: e2eConfig.records * storedBytesPerRecord(e2eConfig.valueBytes),
      w2: e2eConfig.bigRecords * storedBytesPerRecord(e2eConfig.bigValueBytes),
    });
    for (const m of limits.missing) notes.push(`not measured: ${m}`);
    partDone("limits");
  }

  let rows: Row[] = [];
  let lat: LatencyMedian[] = [];
  const drivers: Driver[] = [];
  if (parts.has("e2e")) {
    const profDir = profile ? fs.mkdtempSync(join(tmpdir(), "milena-bench-prof-")) : null;
    const broker = await BenchBroker.start({
      nodeFlags: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
    });
    const peers: PeerServer[] = [];
    if (!profile) {
      for (const [name, start] of [
        ["NATS JetStream", startNats],
        ["Redis Streams", startRedis],
      ] as const) {
        try {
          const p = await start();
          peers.push(p);
          versions.push(`${name}: ${p.name === "nats" ? "nats-server" : "redis-server"} ${p.version}`);
        } catch (e) {
          const msg = `${name} not benchmarked: ${(e as Error).message}`;
          notes.push(msg);
          log(msg);
        }
      }
    }
    const nats = peers.find((p) => p.name === "nats");
    const redis = peers.find((p) => p.name === "redis");
    const all: Driver[] = [
      new MilenaClientDriver("websocket", `ws://127.0.0.1:${broker.wsPort}`, broker.pid),
      new MilenaClientDriver("tcp", `127.0.0.1:${broker.kafkaPort}`, broker.pid),
      new MilenaClientDriver("tcp", `127.0.0.1:${broker.kafkaPort}`, broker.pid, false),
      new MilenaLeanDriver("websocket", broker.wsPort, broker.pid, e2eConfig.window, e2eConfig.fetchMaxBytes),
      new MilenaLeanDriver("tcp", broker.kafkaPort, broker.pid, e2eConfig.window, e2eConfig.fetchMaxBytes),
    ];
    all.push(
      new MilenaClientDriver("websocket", `ws://127.0.0.1:${broker.wsPort}`, broker.pid, true, {}, true),
      new MilenaClientDriver("tcp", `127.0.0.1:${broker.kafkaPort}`, broker.pid, true, {}, true),
    );
    if (!profile) all.push(new KafkajsDriver(broker.kafkaPort, broker.pid));
    if (!profile && fs.existsSync(KCAT))
      all.push(
        new KcatDriver(broker.kafkaPort, broker.pid),
        new KcatDriver(broker.kafkaPort, broker.pid, 16384),
        new KcatDriver(broker.kafkaPort, broker.pid, 16384, true),
      );
    else if (!profile) notes.push(`kcat not benchmarked: ${KCAT} not found`);
    if (nats) all.push(new NatsLeanDriver(nats.port, nats.pid), new NatsJsDriver(nats.port, nats.pid));
    if (redis) all.push(new RedisLeanDriver(redis.port, redis.pid), new IoredisDriver(redis.port, redis.pid));
    const pick = (process.env.BENCH_DRIVERS ?? "").split(",").filter(Boolean);
    const wanted = pick.length > 0 ? all.filter((d) => pick.some((p) => d.label.includes(p))) : all;
    let results: PhaseResult[] = [];
    let rawLatency: LatencyResult[] = [];
    try {
      for (const d of wanted) {
        try {
          await d.open();
          drivers.push(d);
        } catch (e) {
          const msg = `${d.label} not benchmarked: ${(e as Error).message}`;
          notes.push(msg);
          log(msg);
        }
      }
      const r = await runE2e(drivers, e2eConfig, log);
      results = r.results;
      rawLatency = r.latency;
      lat = medianRuns(r.latency);
      for (const d of drivers) await d.close().catch(() => {});
    } finally {
      const code = await broker.stop();
      if (code !== 0) log(`broker exited with ${code}:\n${broker.output.slice(-4000)}`);
      for (const p of peers) await p.stop();
    }
    rows = summarizeE2e(results, drivers);
    if (profDir) {
      fs.writeFileSync(join(HERE, "PROFILE.md"), profileReport(profDir, results, rawLatency, drivers));
      log(`profiles in ${profDir}; per-phase summary in native-bench/PROFILE.md`);
    }
    partDone("workloads");
  }

  let recovery: RecoveryResult | null = null;
  if (parts.has("recovery")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    recovery = await measureRecovery(quick, log);
    partDone("recovery");
  }

  let groups: GroupsResult | null = null;
  if (parts.has("groups")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    groups = await measureGroups(quick, e2eConfig.records, log);
    partDone("groups");
  }

  let hardening: HardeningResult | null = null;
  if (parts.has("hardening")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    hardening = await measureHardening(quick, log);
    partDone("hardening");
  }

  let cluster: ClusterResult | null = null;
  if (parts.has("cluster")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    const r = await measureCluster(clusterConfig(quick, e2eConfig), log);
    if (typeof r === "string") {
      notes.push(r);
      log(r);
    } else {
      cluster = r;
      notes.push(...r.notes);
    }
    partDone("cluster");
  }

  let compaction: CompactionResult | null = null;
  if (parts.has("compaction")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    compaction = await measureCompaction(quick, e2eConfig.reps, e2eConfig.quietWaitMs, log);
    partDone("compaction");
  }

  let security: SecurityResult | null = null;
  if (parts.has("security")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    security = await measureSecurity(
      {
        quick,
        records: e2eConfig.records,
        reps: e2eConfig.reps,
        window: e2eConfig.window,
        fetchMaxBytes: e2eConfig.fetchMaxBytes,
        warmupRecords: e2eConfig.warmupRecords,
        quietWaitMs: e2eConfig.quietWaitMs,
      },
      log,
    );
    partDone("security");
  }

  let metrics: MetricsResult | null = null;
  if (parts.has("metrics")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    metrics = await measureMetrics(
      {
        records: e2eConfig.records,
        reps: e2eConfig.reps,
        window: e2eConfig.window,
        fetchMaxBytes: e2eConfig.fetchMaxBytes,
        quietWaitMs: e2eConfig.quietWaitMs,
      },
      log,
    );
    partDone("metrics");
  }

  let stages: StagesResult | null = null;
  if (parts.has("stages")) {
    stages = await measureStages(
      {
        rate: e2eConfig.latencyRate,
        seconds: e2eConfig.latencySeconds,
        quietWaitMs: e2eConfig.quietWaitMs,
      },
      log,
    );
    partDone("stages");
  }

  let micro: MicroResult[] = [];
  let microOthers = 0;
  if (parts.has("micro")) {
    const before = await waitForQuiet(2 * e2eConfig.quietWaitMs);
    log(`micro: other processes at ${before.toFixed(0)}% of a core before it`);
    const m0 = machineBusyMs();
    const c0 = selfCpuMs();
    const w0 = performance.now();
    micro = await runMicro(quick, log);
    microOthers = Math.max(0, (100 * (machineBusyMs() - m0 - (selfCpuMs() - c0))) / (performance.now() - w0));
    partDone("micro");
  }

  let mirrorResult: MirrorResult | null = null;
  if (parts.has("mirror")) {
    await waitForQuiet(e2eConfig.quietWaitMs);
    mirrorResult = await measureMirror(quick, log);
    partDone("mirror");
  }

  const c = e2eConfig;
  const sections: { title: string; intro: string; body: string }[] = [];
  if (rows.length > 0) {
    sections.push({
      title: "Milena against the peers and the machine's limits",
      intro:
        "Milena through its own client (src/index.ts), median of the runs. _MB/s stored_: record batches as " +
        "written to the log (estimated from the record count). _lean client_: the same workload through " +
        "native-bench's lean client (pre-built batches, headers-only fetches): what the broker alone does. " +
        "_best peer_: the fastest of NATS JetStream and Redis Streams, through either of its clients (stock or " +
        "lean); for acks=-1 the peers' acks=1 figure (neither peer fsyncs before acknowledging). _limit_: the " +
        "tighter of the disk (fio sequential write) and the transport's loopback for produce, fio for acks=-1, " +
        "the loopback for consume; measured in this run (below). Latency: x best peer = best peer p99 / " +
        "Milena p99 (above 1: Milena lower).",
      body: headline(rows, lat, limits),
    });
    sections.push({
      title: "Every driver",
      intro:
        `W1: ${fmtInt(c.records)} x ${c.valueBytes} B into one partition/stream; W2: ${fmtInt(c.bigRecords)} x ` +
        `${c.bigValueBytes} B; W3: the W1 records read back from the start; W5: ${fmtInt(c.records)} x ` +
        `${c.valueBytes} B round-robin over ${c.partitionCounts.join(" / ")} partitions (NATS: that many streams; ` +
        `Redis: that many stream keys). Peers and kafkajs: ${fmtInt(PIPELINE)} messages per pipeline/send, ` +
        `${IN_FLIGHT} in flight. ` +
        (c.reps > 1 ? `Median of ${c.reps} runs, drivers interleaved. ` : "One run. ") +
        `Unmeasured warm-up: ${fmtInt(c.warmupRecords)} records per driver. CPU: % of one core over the timed ` +
        "part (server main = the broker's acceptor thread, nats-server's or redis-server's main thread; server " +
        "all = every thread of the server; client = this process; others = the rest of the machine: high means " +
        "the figure is disturbed), from the median run.",
      body: e2eTable(rows, c.reps),
    });
  }
  if (lat.length > 0) {
    sections.push({
      title: "W4: end-to-end latency",
      intro:
        `A producer at ${fmtInt(c.latencyRate)} msg/s of ${c.valueBytes} B for ${c.latencySeconds} s (every ~1 ms ` +
        "timer turn sends the messages due, stamped), a consumer tailing on its own connection, both in this " +
        "process; latency = receive time - stamp. The first 10% of the messages are not counted. Milena: " +
        `acks=1. ${c.latencyReps === 1 ? "One run" : `${c.latencyReps} runs`} per driver, drivers in turn` +
        (c.latencyReps === 1
          ? "."
          : "; each row is the driver's run with the median p99 (every run's p99 beside it)."),
      body: latencyTable(lat),
    });
  }
  if (limits) {
    sections.push({
      title: "The machine's limits",
      intro: "Measured at the start of this run (limits.ts); median of the runs.",
      body: limitsTable(limits),
    });
  }
  if (recovery) {
    sections.push({
      title: "Recovery",
      intro:
        `Time from spawn to the "milena started" line, minus an empty-dir start (median ` +
        `${recovery.baselineMs.toFixed(0)} ms: ${recovery.baselineRuns.map((x) => x.toFixed(0)).join(", ")}), ` +
        "measured in turn. The unclean log is in the page cache: the scan is CPU (header chain + CRC-32C of " +
        "every batch), not disk.",
      body: recoveryTable(recovery),
    });
  }
  if (groups) {
    sections.push({
      title: "Consumer groups",
      intro:
        `Raw-protocol members (JoinGroup v5 / SyncGroup v3 / Heartbeat v3 every ${HEARTBEAT_MS} ms / LeaveGroup v2), ` +
        `${groups.members} members over ${groups.partitions} partitions; time from the leave or death to every ` +
        "remaining member holding its new assignment. Then group consume: " +
        `${fmtInt(groups.records)} records over 8 partitions, one consumer vs a group of 4 (one connection and ` +
        "one fetch in flight each).",
      body: groupsTables(groups),
    });
  }
  if (hardening) {
    sections.push({
      title: "The cost of the defences",
      intro:
        "Record validation: the lean client over TCP (16 KiB batches, 64 in flight), one partition, acks=1, " +
        "against two brokers alike but for record.validation.enable (on: the writer walks every record's " +
        "framing and decompresses compressed batches; off: batch header and CRC only); repetitions " +
        "interleaved, median. Slow consumer: 8 pipelined Fetch requests of max_bytes 2^31-1, never read, while " +
        "the topic grows from 250 MB to 500 MB (QUICK: 100 to 200 MB); peak broker RSS growth sampled every " +
        "50 ms, beside the same production with no slow consumer.",
      body: hardeningTables(hardening, mdTable),
    });
  }
  if (cluster) {
    const single: SingleBroker = {
      produce: (transport, acks) =>
        rows.find(
          (r) =>
            r.driver.client === "milena client" &&
            r.driver.transport === transport &&
            r.phase === (acks === 1 ? "W1 produce acks=1" : "W1 produce acks=-1"),
        )?.msgs,
      latency: (transport) =>
        lat.find((l) => l.driver.client === "milena client" && l.driver.transport === transport),
    };
    const logNotes = clusterLogNotes(cluster);
    sections.push({
      title: "A cluster: replication, failover, catch-up",
      intro: clusterIntro(cluster),
      body:
        clusterTables(cluster, mdTable, single) +
        (logNotes.length > 0
          ? `\n\nThe brokers at the end, and their log lines that look like trouble (numbers as #), whole run:\n\n${logNotes.map((l) => `- ${l}`).join("\n")}`
          : ""),
    });
  }
  if (compaction) {
    sections.push({
      title: "Log compaction and transactions",
      intro: compactionIntro(compaction),
      body: compactionTables(compaction, mdTable),
    });
  }
  if (security) {
    sections.push({
      title: "TLS and authorization",
      intro: securityIntro(security),
      body: securityTables(security, mdTable),
    });
  }
  if (metrics) {
    sections.push({
      title: "The cost of /metrics",
      intro: metricsIntro(metrics),
      body: metricsTables(metrics, mdTable),
    });
  }
  if (stages) {
    sections.push({
      title: "W4's stages: where the end-to-end time goes",
      intro: stagesIntro(stages),
      body: stagesTables(stages, mdTable),
    });
  }
  if (micro.length > 0) {
    sections.push({
      title: "Microbenchmarks (tinybench)",
      intro: `Other processes used ${microOthers.toFixed(0)}% of a core meanwhile.`,
      body: microTable(micro),
    });
  }

  if (mirrorResult)
    sections.push({
      title: "Mirroring",
      intro: mirrorIntro(mirrorResult),
      body: mirrorTables(mirrorResult, mdTable),
    });
  log("");
  for (const s of sections) log(`## ${s.title}\n\n${s.body}\n`);
  for (const n of notes) log(`note: ${n}`);
  if (profile) return;

  const md = [
    "# native-bench results",
    "",
    "Written by `make bench` (native-bench/run.ts); README.md in this directory explains each figure.",
    "",
    "```",
    ...Object.entries(info).map(([k, v]) => `${k}: ${v}`),
    ...versions,
    `run time: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    "```",
    "",
    ...notes.map((n) => `- ${n}`),
    ...(notes.length > 0 ? [""] : []),
  ];
  for (const s of sections) md.push(`## ${s.title}`, "", s.intro, "", s.body, "");
  if (complete) fs.writeFileSync(join(HERE, "RESULTS.md"), md.join("\n"));
  else if (update) {
    updateResults(sections, info, notes, (performance.now() - t0) / 1000);
    log(`(partial run: its section(s) replaced in RESULTS.md: ${sections.map((s) => s.title).join("; ")})`);
  } else log("(partial run: RESULTS.md not rewritten)");
  log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
