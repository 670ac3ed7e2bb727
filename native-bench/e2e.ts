// The end-to-end workloads, W1-W5, run through every driver (drivers.ts) in the same run:
// Milena through its own client and the lean one over both transports, kafkajs against Milena,
// NATS JetStream and Redis Streams each through its stock Node client and a lean one.
// Within each repetition the drivers take turns (the starting driver rotates), each with fresh
// streams/topics, so a slow start or a noisy neighbour spreads over all of them. W4 (latency)
// runs after the throughput repetitions, drivers again in turn.

import { randomBytes } from "node:crypto";
import { encodeBatch, type NewRecord } from "../src/protocol/records.ts";
import type { Driver, Phase } from "./drivers.ts";
import { PHASES, PIPELINE } from "./drivers.ts";
import { CpuMeter, type CpuShare, waitForQuiet } from "./procstat.ts";
import type { Window } from "./profile.ts";

export interface E2eConfig {
  /** W1 (and W3, W5) records, 100-byte values. */
  records: number;
  valueBytes: number;
  /** W2 records, 1 KiB values. */
  bigRecords: number;
  bigValueBytes: number;
  /** Lean client: records per RecordBatch (100 B values) and produce requests in flight. */
  recordsPerBatch: number;
  window: number;
  /** Lean client: Fetch max_bytes and partition_max_bytes. */
  fetchMaxBytes: number;
  /** Lean client consume variants: fetch chains in flight (1 = as a Kafka consumer). */
  consumeChains: number[];
  /** W5 partition counts. */
  partitionCounts: number[];
  reps: number;
  /** W4: producer rate (msg/s), duration (s), repetitions per driver. */
  latencyRate: number;
  latencySeconds: number;
  latencyReps: number;
  /** Before each driver's turn, wait up to this long for other processes to go quiet. */
  quietWaitMs: number;
  /** Records produced and consumed (unmeasured) per driver before the first repetition. */
  warmupRecords: number;
}

export interface PhaseResult {
  driver: Driver;
  phase: string;
  rep: number;
  ms: number;
  records: number;
  /** Record-batch bytes (lean client only; 0 = not counted). */
  batchBytes: number;
  payloadBytes: number;
  extra: string;
  cpu: CpuShare;
  /** The phase's window on CLOCK_MONOTONIC (to slice the broker's CPU profile). */
  window: Window;
}

export interface LatencyResult {
  driver: Driver;
  rep: number;
  samples: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  cpu: CpuShare;
  window: Window;
}

/** One driver's W4 runs: the run with the median p99 (what the tables quote), and every run's p99. */
export type LatencyMedian = LatencyResult & { runs: number; p99s: number[] };

/**
 * Per driver, the run whose p99 is the median of its runs (the lower middle for an even count),
 * in the drivers' first-seen order; p99s lists every run's, in run order. One run's tail on a
 * shared machine moves by 2x between runs of the same code, so a single run cannot rank drivers.
 */
export function medianRuns(lat: LatencyResult[]): LatencyMedian[] {
  const byDriver = new Map<Driver, LatencyResult[]>();
  for (const l of lat) {
    const rs = byDriver.get(l.driver) ?? [];
    rs.push(l);
    byDriver.set(l.driver, rs);
  }
  return [...byDriver.values()].map((rs) => {
    const sorted = [...rs].sort((a, b) => a.p99 - b.p99);
    const mid = sorted[Math.floor((sorted.length - 1) / 2)];
    return { ...mid, runs: rs.length, p99s: rs.map((r) => r.p99) };
  });
}

interface Batches {
  full: { batch: Buffer; records: number; count: number };
  tail: { batch: Buffer; records: number } | null;
}

function records(n: number, valueBytes: number): NewRecord[] {
  const out: NewRecord[] = [];
  for (let i = 0; i < n; i++) out.push({ key: null, value: randomBytes(valueBytes) });
  return out;
}

/** The record batches, built once: the same bytes are sent again and again. */
export function buildBatches(total: number, perBatch: number, valueBytes: number): Batches {
  const now = Date.now();
  const count = Math.floor(total / perBatch);
  const rest = total - count * perBatch;
  return {
    full: { batch: encodeBatch(records(perBatch, valueBytes), 0, now), records: perBatch, count },
    tail: rest > 0 ? { batch: encodeBatch(records(rest, valueBytes), 0, now), records: rest } : null,
  };
}

/** Stored bytes per record (RecordBatch v2, 16 KiB batches, no key): to turn msg/s into MB/s on disk. */
export function storedBytesPerRecord(valueBytes: number): number {
  const per = Math.max(1, Math.min(150, Math.floor((16384 - 61) / (valueBytes + 9))));
  return encodeBatch(records(per, valueBytes), 0, Date.now()).length / per;
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function slug(label: string): string {
  return label.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "");
}

export function consumePhase(chains: number): Phase {
  return chains === 1 ? "W3 consume" : "W3 consume x4";
}

export function w5Phase(partitions: number): string {
  return `W5 ${partitions} partitions`;
}

/** A driver's share of `records`, a whole number of pipelines (PIPELINE). */
export function scaled(records: number, d: Driver, share = d.scale): number {
  const s = share ?? 1;
  return s === 1 ? records : Math.max(PIPELINE, Math.round((records * s) / PIPELINE) * PIPELINE);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export async function runE2e(
  drivers: Driver[],
  cfg: E2eConfig,
  log: (line: string) => void,
  only?: (d: Driver) => boolean,
): Promise<{ results: PhaseResult[]; latency: LatencyResult[] }> {
  const results: PhaseResult[] = [];
  const latency: LatencyResult[] = [];
  const active = drivers.filter((d) => only === undefined || only(d));
  log(
    `e2e: ${active.length} drivers; W1 ${fmtInt(cfg.records)} x ${cfg.valueBytes} B, W2 ${fmtInt(cfg.bigRecords)} x ` +
      `${cfg.bigValueBytes} B, W5 over ${cfg.partitionCounts.join(" and ")} partitions; ${cfg.reps} repetition(s); ` +
      `W4 ${fmtInt(cfg.latencyRate)} msg/s for ${cfg.latencySeconds} s`,
  );

  const timed = async (
    d: Driver,
    phase: string,
    rep: number,
    valueBytes: number,
    run: (onStart: () => void) => Promise<{ ms: number; records: number; wireBytes: number }>,
    extra = "",
  ) => {
    let meter: CpuMeter | null = null;
    let startUs = 0;
    const r = await run(() => {
      meter = new CpuMeter(d.serverPid, d.childClient === true);
      startUs = monotonicUs();
    });
    const endUs = monotonicUs();
    const m = meter as CpuMeter | null;
    if (m === null) throw new Error(`${d.label} ${phase}: timing never started`);
    const row: PhaseResult = {
      driver: d,
      phase,
      rep,
      ms: r.ms,
      records: r.records,
      batchBytes: r.wireBytes,
      payloadBytes: r.records * valueBytes,
      extra,
      cpu: m.stop(),
      window: { startUs, endUs },
    };
    results.push(row);
    log(formatPhase(row));
  };

  if (cfg.warmupRecords > 0) {
    for (const d of active) {
      const name = `warm-${slug(d.label)}`;
      await d.produce(name, 1, cfg.warmupRecords, cfg.valueBytes, 1, () => {});
      if (d.phases.includes("W3 consume"))
        await d.consume(name, cfg.warmupRecords, cfg.valueBytes, 1, () => {});
      await d.drop(name, 1);
    }
    log(`e2e: warmed up with ${fmtInt(cfg.warmupRecords)} records per driver (not measured)`);
  }

  for (let rep = 1; rep <= cfg.reps; rep++) {
    for (let k = 0; k < active.length; k++) {
      const d = active[(k + rep - 1) % active.length];
      const others = await waitForQuiet(cfg.quietWaitMs);
      log(`e2e: repetition ${rep}, ${d.label}: other processes at ${others.toFixed(0)}% of a core before it`);
      const base = `${slug(d.label)}-r${rep}`;
      const w1 = scaled(cfg.records, d);
      const w2 = scaled(cfg.bigRecords, d);
      for (const phase of PHASES) {
        if (!d.phases.includes(phase)) continue;
        if (phase === "W1 produce acks=1") {
          const name = `w1-${base}`;
          await timed(d, phase, rep, cfg.valueBytes, (s) => d.produce(name, 1, w1, cfg.valueBytes, 1, s));
          for (const chains of cfg.consumeChains) {
            const p = consumePhase(chains);
            if (!d.phases.includes(p)) continue;
            await timed(d, p, rep, cfg.valueBytes, (s) => d.consume(name, w1, cfg.valueBytes, chains, s));
          }
          await d.drop(name, 1);
        } else if (phase === "W1 produce acks=-1") {
          const name = `w1all-${base}`;
          await timed(d, phase, rep, cfg.valueBytes, (s) => d.produce(name, 1, w1, cfg.valueBytes, -1, s));
          await d.drop(name, 1);
        } else if (phase === "W2 produce 1 KiB") {
          const name = `w2-${base}`;
          await timed(d, phase, rep, cfg.bigValueBytes, (s) =>
            d.produce(name, 1, w2, cfg.bigValueBytes, 1, s),
          );
          await d.drop(name, 1);
        } else if (phase === "W5 fewer partitions" || phase === "W5 more partitions") {
          const parts = phase === "W5 fewer partitions" ? cfg.partitionCounts[0] : cfg.partitionCounts[1];
          const name = `w5p${parts}-${base}`;
          await timed(d, w5Phase(parts), rep, cfg.valueBytes, (s) =>
            d.produce(name, parts, scaled(w1, d, d.w5Scale), cfg.valueBytes, 1, s),
          );
          await d.drop(name, parts);
        }
      }
    }
  }

  for (let rep = 1; rep <= cfg.latencyReps; rep++) {
    const ds = active.filter((d) => d.latency);
    for (let k = 0; k < ds.length; k++) {
      const d = ds[(k + rep - 1) % ds.length];
      await waitForQuiet(cfg.quietWaitMs);
      const meter = new CpuMeter(d.serverPid);
      const startUs = monotonicUs();
      const lat = await d.latencyRun(
        `w4-${slug(d.label)}-r${rep}`,
        cfg.latencyRate,
        cfg.latencySeconds,
        cfg.valueBytes,
      );
      const endUs = monotonicUs();
      // The first 10% of the messages are the warm-up (connections, JIT): not counted.
      const kept = Float64Array.from(lat.slice(Math.floor(lat.length / 10))).sort();
      const r: LatencyResult = {
        driver: d,
        rep,
        samples: kept.length,
        p50: percentile(kept, 50),
        p99: percentile(kept, 99),
        p999: percentile(kept, 99.9),
        max: kept[kept.length - 1],
        cpu: meter.stop(),
        window: { startUs, endUs },
      };
      latency.push(r);
      log(
        `  W4 ${d.label.padEnd(26)} p50 ${r.p50.toFixed(2)} p99 ${r.p99.toFixed(2)} p99.9 ${r.p999.toFixed(2)} ` +
          `max ${r.max.toFixed(2)} ms (${fmtInt(r.samples)} samples) cpu server ${r.cpu.brokerTotal.toFixed(0)}% ` +
          `client ${r.cpu.client.toFixed(0)}% others ${r.cpu.others.toFixed(0)}%`,
      );
    }
  }
  return { results, latency };
}

export function formatPhase(r: PhaseResult): string {
  const rate = (r.records / r.ms) * 1000;
  return (
    `  rep ${r.rep} ${r.driver.label.padEnd(26)} ${r.phase.padEnd(19)} ${fmtInt(rate).padStart(11)} msg/s ` +
    `${((r.payloadBytes / r.ms) * 1e-3).toFixed(1).padStart(7)} MB/s payload  ${r.ms.toFixed(0)} ms  ` +
    `cpu server main ${r.cpu.brokerMain.toFixed(0)}% all ${r.cpu.brokerTotal.toFixed(0)}% client ${r.cpu.client.toFixed(0)}% others ${r.cpu.others.toFixed(0)}%` +
    (r.extra ? `  (${r.extra})` : "")
  );
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
