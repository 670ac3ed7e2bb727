// Recovery figures (issue #3): how long the broker takes to start on a log dir it has to open.
// Start time = from spawn() to the "milena started" line, minus the median start time of the
// same broker on an empty dir (process start, tsx, config: what every start pays), measured in
// turn with the others.
//
//   clean, 1,000 partitions   a topic of 1,000 partitions with one 16 KiB batch each, stopped
//                             with SIGTERM (clean shutdown: indexes and checkpoints written);
//                             restarted with a recovery pool of 1 and of 4 threads
//   unclean, 2 GiB            8 partitions x 256 MiB (QUICK: 8 x 16 MiB) produced with acks=1,
//                             then SIGKILL: no clean-shutdown marker and no recovery point, so
//                             the next start checks every batch (header chain and CRC-32C).
//                             The broker is killed again after each start, so every start is
//                             unclean. Scan speed = log bytes / (start time - empty start).
//                             The files are fsynced after the kill (not by the broker) so that
//                             writeback does not run during the timed starts; the log is in the
//                             page cache: this is the CPU side of recovery, not the disk's.
//
// Each start checks the broker's "opened N partition(s) ... (clean|unclean start, recovery pool
// of K thread(s), U used)" line says what was intended.

import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchBroker } from "./broker.ts";
import { connect, createTopic, produceFrameMulti, produceRepeated } from "./client.ts";
import { buildBatches } from "./e2e.ts";

export interface RecoveryRow {
  case: string;
  threads: number;
  /** Start time minus the empty-dir start, ms (median). */
  ms: number;
  runs: number[];
  /** Log bytes scanned (unclean) or partitions opened (clean). */
  partitions: number;
  bytes: number;
  openedLine: string;
}

export interface RecoveryResult {
  baselineMs: number;
  baselineRuns: number[];
  rows: RecoveryRow[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function logBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(".log")) n += fs.statSync(join(e.parentPath, e.name)).size;
  }
  return n;
}

function syncLogs(dir: string): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const fd = fs.openSync(join(e.parentPath, e.name), "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
}

async function waitOpened(b: BenchBroker): Promise<string> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const m = /opened \d+ partition\(s\)[^\n]*/.exec(b.output);
    if (m) return m[0];
    await new Promise((r) => setTimeout(r, 10));
  }
  return "";
}

const threadsOverride = (n: number) => ({ "num.recovery.threads.per.data.dir": n });

export async function measureRecovery(quick: boolean, log: (line: string) => void): Promise<RecoveryResult> {
  const reps = quick ? 1 : 3;
  const partitionsClean = quick ? 100 : 1000;
  const uncleanPartitions = 8;
  const perPartition = (quick ? 16 : 256) * 1024 * 1024;
  const threadCounts = [1, 4];
  const cleanDir = fs.mkdtempSync(join(tmpdir(), "milena-bench-recovery-clean-"));
  const uncleanDir = fs.mkdtempSync(join(tmpdir(), "milena-bench-recovery-unclean-"));
  const { full } = buildBatches(150, 150, 100);
  try {
    // Build the clean 1,000-partition dir.
    {
      const b = await BenchBroker.start({ logDir: cleanDir });
      const conn = await connect("tcp", b.kafkaPort);
      await createTopic(conn, "recovery-clean", partitionsClean);
      const parts = Array.from({ length: partitionsClean }, (_, i) => i);
      for (let i = 0; i < partitionsClean; i += 100)
        await produceRepeated(
          conn,
          produceFrameMulti("recovery-clean", full.batch, 1, parts.slice(i, i + 100)),
          1,
          1,
        );
      conn.close();
      await b.stop();
    }
    // Build the unclean dir: produce, then SIGKILL.
    {
      const b = await BenchBroker.start({ logDir: uncleanDir });
      const conn = await connect("tcp", b.kafkaPort);
      await createTopic(conn, "recovery-unclean", uncleanPartitions);
      const frame = produceFrameMulti(
        "recovery-unclean",
        full.batch,
        1,
        Array.from({ length: uncleanPartitions }, (_, i) => i),
      );
      const ms = await produceRepeated(conn, frame, Math.ceil(perPartition / full.batch.length), 32);
      conn.close();
      await b.kill();
      syncLogs(uncleanDir);
      log(
        `recovery: wrote ${(logBytes(uncleanDir) / 2 ** 30).toFixed(2)} GiB in ${uncleanPartitions} partitions ` +
          `(${((logBytes(uncleanDir) / ms) * 1e-3).toFixed(0)} MB/s), then SIGKILL`,
      );
    }
    const scanned = logBytes(uncleanDir);
    const baseline: number[] = [];
    const runs = new Map<string, { ms: number[]; line: string }>();
    const rec = (key: string, ms: number, line: string) => {
      const r = runs.get(key) ?? { ms: [], line };
      r.ms.push(ms);
      r.line = line;
      runs.set(key, r);
    };
    for (let rep = 0; rep < reps; rep++) {
      {
        const b = await BenchBroker.start();
        baseline.push(b.startMs);
        await b.stop();
      }
      for (const t of threadCounts) {
        const b = await BenchBroker.start({ logDir: cleanDir, overrides: threadsOverride(t) });
        const line = await waitOpened(b);
        if (!line.includes(`opened ${partitionsClean} partition`) || !line.includes("clean start"))
          throw new Error(`recovery: expected a clean start of ${partitionsClean} partitions, got: ${line}`);
        rec(`clean/${t}`, b.startMs, line);
        await b.stop();
      }
      for (const t of threadCounts) {
        const b = await BenchBroker.start({ logDir: uncleanDir, overrides: threadsOverride(t) });
        const line = await waitOpened(b);
        if (!line.includes("unclean start"))
          throw new Error(`recovery: expected an unclean start, got: ${line}`);
        rec(`unclean/${t}`, b.startMs, line);
        await b.kill();
      }
      log(
        `recovery: rep ${rep + 1}: empty ${baseline.at(-1)!.toFixed(0)} ms; ` +
          [...runs].map(([k, v]) => `${k} ${v.ms.at(-1)!.toFixed(0)} ms`).join(", "),
      );
    }
    const base = median(baseline);
    const rows: RecoveryRow[] = [];
    for (const t of threadCounts) {
      const c = runs.get(`clean/${t}`)!;
      rows.push({
        case: `clean start, ${partitionsClean} partitions`,
        threads: t,
        ms: median(c.ms) - base,
        runs: c.ms.map((x) => x - base),
        partitions: partitionsClean,
        bytes: 0,
        openedLine: c.line,
      });
    }
    for (const t of threadCounts) {
      const u = runs.get(`unclean/${t}`)!;
      rows.push({
        case: `unclean start, ${(scanned / 2 ** 30).toFixed(2)} GiB in ${uncleanPartitions} partitions`,
        threads: t,
        ms: median(u.ms) - base,
        runs: u.ms.map((x) => x - base),
        partitions: uncleanPartitions,
        bytes: scanned,
        openedLine: u.line,
      });
    }
    return { baselineMs: base, baselineRuns: baseline, rows };
  } finally {
    fs.rmSync(cleanDir, { recursive: true, force: true });
    fs.rmSync(uncleanDir, { recursive: true, force: true });
  }
}
