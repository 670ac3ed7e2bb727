// `make bench` part "mirror" (`--only=mirror`): `milena mirror` between two local brokers,
// beside a plain consume + produce pipe doing the same copy.
//
// Two brokers (A, B) as processes; N records of 100 B with a 10 B key and one header, in a topic
// of 4 partitions on A, written before anything is timed. Then, in turn (fresh target topics):
//   pipe    one process (this one): Milena's plain consumer (assign, from the start) reads A and
//           sends each fetched batch to the same partition on B with Milena's idempotent producer
//           (acks=-1, 512 KiB batches), awaiting each send before reading on: at least once
//           without any bookkeeping, nothing else.
//   mirror  `milena mirror` as its own process (one flow A->B, topics = the source topic), i.e.
//           the same copy plus a consumer group with commits, offset syncs to A, heartbeats and
//           checkpoints to B. Timed from the first record seen on B to the last (startup and the
//           group join excluded; also reported: from process start).
//   exactly once  the mirror with exactly.once.source.support = enabled (a second source topic
//           with the same records): a target transaction per fetched batch, done when the
//           positions its transactions committed on B add up to N.
// records/s = N / time; median of the repetitions (QUICK: 100,000 records, one repetition; full:
// 500,000, three).

import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Milena } from "../src/index.ts";
import { BenchBroker } from "./broker.ts";
import { fmtInt } from "./e2e.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PARTITIONS = 4;
const VALUE_BYTES = 100;

export interface MirrorRun {
  kind: "pipe" | "mirror" | "eos";
  records: number;
  /** Copy time, ms (mirror: first record on the target to the last). */
  ms: number;
  /** Mirror only: from spawning the process to the last record. */
  totalMs: number;
}

export interface MirrorResult {
  records: number;
  reps: number;
  runs: MirrorRun[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

async function endOffsets(admin: ReturnType<Milena["admin"]>, topic: string): Promise<number> {
  if (!(await admin.listTopics()).includes(topic)) return 0;
  return (await admin.fetchTopicOffsets(topic)).reduce((s, e) => s + e.high, 0);
}

async function pipe(a: BenchBroker, b: BenchBroker, src: string, dst: string, n: number): Promise<number> {
  const ma = new Milena({ bootstrap: `127.0.0.1:${a.kafkaPort}` });
  const mb = new Milena({ bootstrap: `127.0.0.1:${b.kafkaPort}` });
  const admin = mb.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: dst, numPartitions: PARTITIONS }] });
  await admin.disconnect();
  const producer = mb.producer({ acks: -1, batchSize: 512 * 1024 });
  await producer.connect();
  const consumer = ma.consumer({ autoOffsetReset: "earliest" });
  await consumer.connect();
  const t0 = performance.now();
  await consumer.assign([{ topic: src, offset: "earliest" }]);
  let copied = 0;
  for await (const batch of consumer.batches()) {
    if (batch.records.length === 0) continue;
    await producer.send({
      topic: dst,
      messages: batch.records.map((r) => {
        const headers: { key: string; value: Buffer | null }[] = [];
        for (const k in r.headers) {
          const v = r.headers[k];
          if (Array.isArray(v)) for (const x of v) headers.push({ key: k, value: x });
          else headers.push({ key: k, value: v });
        }
        return { key: r.key, value: r.value, headers, timestamp: r.timestamp, partition: batch.partition };
      }),
    });
    copied += batch.records.length;
    if (copied >= n) break;
  }
  const ms = performance.now() - t0;
  await consumer.disconnect();
  await producer.disconnect();
  return ms;
}

async function mirror(
  a: BenchBroker,
  b: BenchBroker,
  src: string,
  n: number,
  log: (l: string) => void,
  eos: boolean,
): Promise<{ ms: number; totalMs: number }> {
  const dir = fs.mkdtempSync(join(tmpdir(), "milena-bench-mirror-"));
  const file = join(dir, "mirror.properties");
  fs.writeFileSync(
    file,
    `clusters = A, B
A.bootstrap.servers = 127.0.0.1:${a.kafkaPort}
B.bootstrap.servers = 127.0.0.1:${b.kafkaPort}
A->B.enabled = true
A->B.topics = ${src.replace(/[.]/g, "\\.")}
emit.checkpoints.interval.seconds = 5
progress.log.interval.seconds = 0
exactly.once.source.support = ${eos ? "enabled" : "disabled"}
`,
  );
  const mb = new Milena({ bootstrap: `127.0.0.1:${b.kafkaPort}` });
  const admin = mb.admin();
  await admin.connect();
  const remote = `A.${src}`;
  const t0 = performance.now();
  const child: ChildProcess = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "mirror", file],
    {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((r) => child.on("exit", () => r()));
  try {
    let first = 0;
    const deadline = Date.now() + 600_000;
    for (;;) {
      const have = await endOffsets(admin, remote);
      if (have > 0 && first === 0) first = performance.now();
      // Exactly once, the log also holds a marker per transaction: done is the position the
      // transactions committed (the source's next offsets, summing to n).
      const done = eos
        ? (await admin.fetchOffsets({ groupId: "milena-mirror-A-B", topics: [remote] }))[0].partitions.reduce(
            (sum, p) => sum + Math.max(0, p.offset),
            0,
          )
        : have;
      if (done >= n) break;
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`mirror: ${have} of ${n} records copied:\n${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const end = performance.now();
    return { ms: end - first, totalMs: end - t0 };
  } catch (e) {
    log(`  mirror: ${(e as Error).message}`);
    throw e;
  } finally {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
    await admin.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function measureMirror(quick: boolean, log: (l: string) => void): Promise<MirrorResult> {
  const records = quick ? 100_000 : 500_000;
  const reps = quick ? 1 : 3;
  log(
    `  mirror: ${fmtInt(records)} records of ${VALUE_BYTES} B over ${PARTITIONS} partitions, ${reps} repetition(s)`,
  );
  const overrides = { "group.initial.rebalance.delay.ms": 0 };
  const a = await BenchBroker.start({ overrides });
  const b = await BenchBroker.start({ overrides });
  const runs: MirrorRun[] = [];
  try {
    const m = new Milena({ bootstrap: `127.0.0.1:${a.kafkaPort}` });
    const runsOf = reps;
    for (let rep = 0; rep < runsOf; rep++) {
      // Fresh source topics per repetition and kind: each mirror starts from their beginning.
      const src = `mirror-src-${rep}`;
      const eosSrc = `mirror-eos-${rep}`;
      const admin = m.admin();
      await admin.connect();
      await admin.createTopics({
        topics: [src, eosSrc].map((topic) => ({ topic, numPartitions: PARTITIONS })),
      });
      await admin.disconnect();
      const producer = m.producer({ acks: 1, batchSize: 512 * 1024 });
      await producer.connect();
      const value = Buffer.alloc(VALUE_BYTES, 120);
      const ts = Date.now();
      for (const topic of [src, eosSrc])
        for (let i = 0; i < records; i += 10_000) {
          const sends: Promise<unknown>[] = [];
          for (let j = i; j < Math.min(records, i + 10_000); j += 1000)
            sends.push(
              producer.send({
                topic,
                messages: Array.from({ length: Math.min(1000, records - j) }, (_, k) => ({
                  key: `key-${String(j + k).padStart(6, "0")}`,
                  value,
                  headers: { h: "v" },
                  timestamp: ts,
                  partition: (j + k) % PARTITIONS,
                })),
              }),
            );
          await Promise.all(sends);
        }
      await producer.disconnect();
      const p = await pipe(a, b, src, `pipe-dst-${rep}`, records);
      runs.push({ kind: "pipe", records, ms: p, totalMs: p });
      log(`  mirror rep ${rep + 1}: pipe ${fmtInt((records / p) * 1000)} records/s`);
      for (const eos of [false, true]) {
        const mr = await mirror(a, b, eos ? eosSrc : src, records, log, eos);
        runs.push({ kind: eos ? "eos" : "mirror", records, ms: mr.ms, totalMs: mr.totalMs });
        log(
          `  mirror rep ${rep + 1}: milena mirror${eos ? " exactly once" : ""} ${fmtInt((records / mr.ms) * 1000)} records/s (${fmtInt((records / mr.totalMs) * 1000)} with startup)`,
        );
      }
    }
  } finally {
    await a.stop();
    await b.stop();
  }
  return { records, reps, runs };
}

export function mirrorIntro(r: MirrorResult): string {
  return (
    `Two brokers on this machine; ${fmtInt(r.records)} records of ${VALUE_BYTES} B (10 B key, one header) in ${PARTITIONS} ` +
    "partitions on A, copied to B. _pipe_: Milena's plain consumer and idempotent producer (acks=-1) in one process, " +
    "each fetched batch sent and acknowledged before the next is read. _milena mirror_: the mirror as its own process " +
    "(a consumer group committing after the target's acks, offset syncs, heartbeats, checkpoints), timed from the " +
    "first record on B to the last; 'with startup' from spawning it (tsx start, group join, topic creation); " +
    "_exactly once_: the same with exactly.once.source.support=enabled (a transaction per fetched batch, its " +
    "records and the flow's position), until the committed positions reach the last record. " +
    `Median of ${r.reps}.`
  );
}

export function mirrorTables(
  r: MirrorResult,
  table: (h: string[], right: boolean[], rows: string[][]) => string,
): string {
  const rate = (kind: MirrorRun["kind"], key: "ms" | "totalMs") =>
    median(r.runs.filter((x) => x.kind === kind).map((x) => (x.records / x[key]) * 1000));
  const pipeRate = rate("pipe", "ms");
  const mirrorRate = rate("mirror", "ms");
  const each = (kind: MirrorRun["kind"]) =>
    r.runs
      .filter((x) => x.kind === kind)
      .map((x) => fmtInt((x.records / x.ms) * 1000))
      .join(", ");
  return table(
    ["copy", "records/s", "vs pipe", "each run"],
    [false, true, true, false],
    [
      ["consume + produce pipe", fmtInt(pipeRate), "1.00x", each("pipe")],
      ["milena mirror", fmtInt(mirrorRate), `${(mirrorRate / pipeRate).toFixed(2)}x`, each("mirror")],
      [
        "milena mirror, with startup",
        fmtInt(rate("mirror", "totalMs")),
        `${(rate("mirror", "totalMs") / pipeRate).toFixed(2)}x`,
        "",
      ],
      [
        "milena mirror, exactly once",
        fmtInt(rate("eos", "ms")),
        `${(rate("eos", "ms") / pipeRate).toFixed(2)}x`,
        each("eos"),
      ],
    ],
  );
}
