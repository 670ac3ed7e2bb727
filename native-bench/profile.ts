// Summarise V8 CPU profiles (.cpuprofile files written by `node --cpu-prof`): self time per
// function (name, file:line), heaviest first. `run.ts --profile` starts the broker with
// --cpu-prof (one file per thread: the acceptor, each partition writer, the recovery pool,
// tsx's module-loader threads) and slices every file by the time windows of the measured
// phases: profile timestamps are CLOCK_MONOTONIC microseconds, the same clock as the client's
// process.hrtime, so a phase's samples are exactly those between its first send and last reply.
//
// Time a thread spends parked in Atomics.wait is sampled as the JS function that called it
// (RingReader.wait, piscina's atomicsWaitLoop): it is reported as "parked", not as busy.
//
// Alone:  node --import tsx native-bench/profile.ts <file.cpuprofile | dir> [top]

import * as fs from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A time window in CLOCK_MONOTONIC microseconds (process.hrtime.bigint() / 1000n). */
export interface Window {
  startUs: number;
  endUs: number;
}

export interface ProfileSummary {
  file: string;
  thread: string;
  /** Time covered by the samples taken (inside the windows, if any). */
  sampledMs: number;
  parkedMs: number;
  idleMs: number;
  /** Sampled time neither idle nor parked: running JS, native code, GC, or in a syscall. */
  busyMs: number;
  rows: { name: string; where: string; selfMs: number; pct: number }[];
}

/** Functions whose samples mean "blocked in Atomics.wait". */
const PARKING = [
  { name: "wait", url: "src/ring/ring_reader.ts" },
  { name: "atomicsWaitLoop", url: "piscina" },
];

function shortUrl(url: string): string {
  if (url === "") return "";
  const u = url.replace(/^file:\/\//, "");
  for (const marker of ["/node_modules/", "/src/", "/workers/", "/native-bench/"]) {
    const i = u.indexOf(marker);
    if (i >= 0) return u.slice(i + 1);
  }
  return u.startsWith("node:") ? u : basename(u);
}

function load(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile;
}

/** Which of the broker's threads wrote this profile (from the code it ran). */
function threadOf(file: string, p: CpuProfile): string {
  const m = /\.(\d+)\.(\d+)\.cpuprofile$/.exec(file);
  if (m && m[1] === "0") return "acceptor (main thread)";
  const urls = p.nodes.map((n) => n.callFrame.url);
  if (urls.some((u) => u.includes("workers/partition_writer.ts")))
    return `partition writer (thread ${m?.[1]})`;
  if (urls.some((u) => u.includes("piscina"))) return `recovery pool (thread ${m?.[1]})`;
  return `module loader / other (thread ${m?.[1]})`;
}

export function summarize(file: string, top = 25, windows: Window[] | null = null): ProfileSummary {
  const p = load(file);
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  const self = new Map<number, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const dtUs = p.timeDeltas[i + 1] ?? 0; // a sample stands for the time until the next one
    if (windows !== null && !windows.some((w) => t >= w.startUs && t < w.endUs)) continue;
    self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + dtUs / 1000);
  }
  const agg = new Map<string, { name: string; where: string; selfMs: number }>();
  let sampledMs = 0;
  let idleMs = 0;
  let parkedMs = 0;
  for (const [id, ms] of self) {
    const cf = byId.get(id)!.callFrame;
    sampledMs += ms;
    const name = cf.functionName || "(anonymous)";
    if (name === "(idle)") {
      idleMs += ms;
      continue;
    }
    if (PARKING.some((k) => k.name === name && cf.url.includes(k.url))) {
      parkedMs += ms;
      continue;
    }
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : "";
    const key = `${name}|${where}`;
    const a = agg.get(key) ?? { name, where, selfMs: 0 };
    a.selfMs += ms;
    agg.set(key, a);
  }
  const busyMs = sampledMs - idleMs - parkedMs;
  const rows = [...agg.values()]
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, top)
    .map((a) => ({ ...a, pct: busyMs > 0 ? (100 * a.selfMs) / busyMs : 0 }));
  return { file, thread: threadOf(file, p), sampledMs, parkedMs, idleMs, busyMs, rows };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (ms: number) => `${((100 * ms) / Math.max(1, s.sampledMs)).toFixed(0)}%`;
  const lines = [
    `${s.thread} [${basename(s.file)}]: ${s.sampledMs.toFixed(0)} ms sampled: busy ${s.busyMs.toFixed(0)} ms (${pct(s.busyMs)}), ` +
      `idle ${s.idleMs.toFixed(0)} ms (${pct(s.idleMs)}), parked in Atomics.wait ${s.parkedMs.toFixed(0)} ms (${pct(s.parkedMs)})`,
    "   self ms  % busy  function (where)",
  ];
  for (const r of s.rows) {
    lines.push(
      `${r.selfMs.toFixed(1).padStart(10)}  ${r.pct.toFixed(1).padStart(6)}  ${r.name}${r.where ? ` (${r.where})` : ""}`,
    );
  }
  return lines.join("\n");
}

export function profileFiles(dirOrFile: string): string[] {
  if (!fs.statSync(dirOrFile).isDirectory()) return [dirOrFile];
  return fs
    .readdirSync(dirOrFile)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort()
    .map((f) => join(dirOrFile, f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write("usage: profile.ts <file.cpuprofile | dir> [top]\n");
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 25);
  for (const f of profileFiles(target)) process.stdout.write(`${formatSummary(summarize(f, top))}\n\n`);
}
