// `make bench`: Milena's throughput benchmark. Starts the real broker as a child process,
// measures produce (acks=1 and acks=-1) and consume over TCP and WebSocket (e2e.ts), then the
// microbenchmarks of the produce path (micro.ts); prints a table and writes
// native-bench/RESULTS.md. README.md in this directory says what each figure means.
//
//   QUICK=1            100,000 records, one repetition, short microbenchmarks (< 1 minute)
//   (default)          1,000,000 records, three repetitions (medians quoted)
//   --e2e | --micro    only that part
//   --profile          broker under --cpu-prof; writes native-bench/PROFILE.md (per phase,
//                      per thread, self time), leaves RESULTS.md alone (profiling slows it)
//   BENCH_RECORDS, BENCH_REPS, BENCH_WINDOW, BENCH_FETCH_BYTES, BENCH_CHAINS (e.g. "1,4"):
//                      override the sizes (exploring; RESULTS.md then says so in its header)

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { availableParallelism, release, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BenchBroker } from "./broker.ts";
import { consumePhase, type E2eConfig, fmtInt, type PhaseResult, runE2e } from "./e2e.ts";
import { type MicroResult, runMicro } from "./micro.ts";
import { machineBusyMs, selfCpuMs, waitForQuiet } from "./procstat.ts";
import { formatSummary, profileFiles, summarize } from "./profile.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const quick = process.env.QUICK !== undefined && process.env.QUICK !== "" && process.env.QUICK !== "0";
const args = new Set(process.argv.slice(2));
const profile = args.has("--profile");
const doE2e = !args.has("--micro");
const doMicro = !args.has("--e2e") && !profile;

const log = (line: string) => process.stdout.write(`${line}\n`);

const env = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v === undefined || v === "" ? dflt : Number(v);
};
const overridden = Object.keys(process.env).filter((k) => k.startsWith("BENCH_"));

const e2eConfig: E2eConfig = {
  records: env("BENCH_RECORDS", quick ? 100_000 : 1_000_000),
  valueBytes: 100,
  recordsPerBatch: 150,
  window: env("BENCH_WINDOW", 64),
  fetchMaxBytes: env("BENCH_FETCH_BYTES", 8 * 1024 * 1024),
  consumeChains: (process.env.BENCH_CHAINS ?? "1,4").split(",").map(Number),
  reps: env("BENCH_REPS", quick ? 1 : 3),
  warmupRecords: quick ? 20_000 : 100_000,
  quietWaitMs: quick ? 3_000 : 30_000,
  transports: ["tcp", "websocket"],
};

function machine(): Record<string, string> {
  const cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/^MemTotal:\s*(\d+)/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0);
  let commit = "unknown";
  try {
    commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: HERE, encoding: "utf8" }).trim();
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
    "log dir": `${tmpdir()} (fresh per run)`,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Row {
  transport: string;
  phase: string;
  msgs: number;
  payloadMBs: number;
  batchMBs: number;
  reps: number[];
  /** CPU of other processes during each run, % of a core. */
  others: number[];
  cpu: string;
}

function summarizeE2e(results: PhaseResult[], cfg: E2eConfig): Row[] {
  const phases = ["produce acks=1", ...cfg.consumeChains.map(consumePhase), "produce acks=-1"];
  const rows: Row[] = [];
  for (const t of cfg.transports) {
    for (const phase of phases) {
      const rs = results.filter((r) => r.transport === t && r.phase === phase);
      if (rs.length === 0) continue;
      const rates = rs.map((r) => (r.records / r.ms) * 1000);
      const med = median(rates);
      const mid = rs[rates.indexOf(rates.reduce((a, b) => (Math.abs(b - med) < Math.abs(a - med) ? b : a)))];
      rows.push({
        transport: t,
        phase,
        msgs: med,
        payloadMBs: median(rs.map((r) => (r.payloadBytes / r.ms) * 1e-3)),
        batchMBs: median(rs.map((r) => (r.batchBytes / r.ms) * 1e-3)),
        reps: rates,
        others: rs.map((r) => r.cpu.others),
        cpu: `${mid.cpu.brokerMain.toFixed(0)}% / ${mid.cpu.brokerTotal.toFixed(0)}% / ${mid.cpu.client.toFixed(0)}% / ${mid.cpu.others.toFixed(0)}%`,
      });
    }
  }
  return rows;
}

/** A Markdown table padded as biome formats it (so `make lint` passes on RESULTS.md). */
function mdTable(header: string[], right: boolean[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${"-".repeat(w - 1)}:` : "-".repeat(w))).join(" | ")} |`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

function e2eTable(rows: Row[], cfg: E2eConfig): string {
  return mdTable(
    [
      "transport",
      "phase",
      `msgs/s${cfg.reps > 1 ? " (median)" : ""}`,
      "MB/s payload",
      "MB/s batches",
      "each run, msgs/s (others' CPU)",
      "CPU: broker main / broker all / client / others",
    ],
    [false, false, true, true, true, false, false],
    rows.map((r) => [
      r.transport,
      r.phase,
      fmtInt(r.msgs),
      r.payloadMBs.toFixed(1),
      r.batchMBs.toFixed(1),
      r.reps.map((x, i) => `${fmtInt(x)} (${r.others[i].toFixed(0)}%)`).join(", "),
      r.cpu,
    ]),
  );
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

function profileReport(dir: string, results: PhaseResult[], cfg: E2eConfig): string {
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
  const phases = ["produce acks=1", ...cfg.consumeChains.map(consumePhase), "produce acks=-1"];
  for (const t of cfg.transports) {
    for (const phase of phases) {
      const rs = results.filter((r) => r.transport === t && r.phase === phase);
      if (rs.length === 0) continue;
      const windows = rs.map((r) => r.window);
      out.push("", `## ${t}: ${phase}`, "", "```");
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
  }
  return `${out.join("\n")}\n`;
}

async function main(): Promise<void> {
  const info = machine();
  log(
    `milena native-bench: ${info.mode}, ${info.cores} cores, ${info.cpu}, node ${info.node}, commit ${info.commit}`,
  );
  const t0 = performance.now();
  let e2eRows: Row[] = [];
  let e2eResults: PhaseResult[] = [];
  if (doE2e) {
    const profDir = profile ? fs.mkdtempSync(join(tmpdir(), "milena-bench-prof-")) : null;
    const broker = await BenchBroker.start({
      nodeFlags: profDir ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : [],
    });
    try {
      e2eResults = await runE2e(broker, e2eConfig, log);
    } finally {
      const code = await broker.stop();
      if (code !== 0) log(`broker exited with ${code}:\n${broker.output}`);
    }
    e2eRows = summarizeE2e(e2eResults, e2eConfig);
    if (profDir) {
      const report = profileReport(profDir, e2eResults, e2eConfig);
      fs.writeFileSync(join(HERE, "PROFILE.md"), report);
      log(`profiles in ${profDir}; per-phase summary in native-bench/PROFILE.md`);
    }
  }
  let micro: MicroResult[] = [];
  let microOthers = 0;
  if (doMicro) {
    const before = await waitForQuiet(2 * e2eConfig.quietWaitMs);
    log(`micro: other processes at ${before.toFixed(0)}% of a core before it`);
    const m0 = machineBusyMs();
    const c0 = selfCpuMs();
    const w0 = performance.now();
    micro = await runMicro(quick, log);
    microOthers = Math.max(0, (100 * (machineBusyMs() - m0 - (selfCpuMs() - c0))) / (performance.now() - w0));
  }

  const e2eText = e2eRows.length > 0 ? e2eTable(e2eRows, e2eConfig) : "";
  const microText = micro.length > 0 ? microTable(micro) : "";
  log("");
  if (e2eText) log(e2eText);
  if (microText) log(`\n${microText}`);
  if (profile) return;

  const c = e2eConfig;
  const md = [
    "# native-bench results",
    "",
    "Written by `make bench` (native-bench/run.ts); README.md in this directory explains each figure.",
    "",
    "```",
    ...Object.entries(info).map(([k, v]) => `${k}: ${v}`),
    `run time: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    "```",
    "",
  ];
  if (e2eText) {
    md.push(
      "## End to end (real broker process, loopback)",
      "",
      `${fmtInt(c.records)} records x ${c.valueBytes} B values into one partition, ${c.recordsPerBatch} records per ` +
        `batch (~16 KiB), Produce v7 with ${c.window} requests in flight; consume with Fetch v11, max_bytes = ` +
        `partition_max_bytes = ${c.fetchMaxBytes / 1024 / 1024} MiB; "consume x4" = 4 fetch chains in flight. ` +
        (c.reps > 1 ? `Median of ${c.reps} runs (transports interleaved). ` : "One run. ") +
        `Unmeasured warm-up: ${fmtInt(c.warmupRecords)} records per transport. CPU: % of one core over the phase ` +
        "(broker main = the acceptor thread; broker all = every broker thread; client = this process; others = " +
        "the rest of the machine, other processes and VM steal: high means the figure is disturbed), from the " +
        "median run.",
      "",
      e2eText,
      "",
      "Design target: 2,000,000 records/s produced, 4,000,000 consumed.",
      "",
    );
  }
  if (microText) {
    md.push(
      "## Microbenchmarks (tinybench, one 16 KiB batch of 150 x 100 B records)",
      "",
      `Other processes used ${microOthers.toFixed(0)}% of a core meanwhile.`,
      "",
      microText,
      "",
    );
  }
  if (doE2e && doMicro) fs.writeFileSync(join(HERE, "RESULTS.md"), md.join("\n"));
  else log("(partial run: RESULTS.md not rewritten)");
  log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
