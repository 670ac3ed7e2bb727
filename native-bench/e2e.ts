// End-to-end figures against a real broker process: produce N records of 100 bytes into one
// partition (acks=1, then acks=-1 into another topic), and consume the acks=1 topic back from
// offset 0, over TCP and over WebSocket. Transports alternate within each repetition, each
// with fresh topics, so a slow start or a noisy neighbour hits both alike.

import { randomBytes } from "node:crypto";
import { encodeBatch, type NewRecord } from "../src/protocol/records.ts";
import type { BenchBroker } from "./broker.ts";
import {
  type BenchConnection,
  type ConsumeResult,
  connect,
  consumeAll,
  createTopic,
  type ProduceResult,
  produceAll,
  type TransportName,
} from "./client.ts";
import { CpuMeter, type CpuShare, waitForQuiet } from "./procstat.ts";
import type { Window } from "./profile.ts";

export interface E2eConfig {
  records: number;
  valueBytes: number;
  recordsPerBatch: number;
  /** Produce requests in flight. */
  window: number;
  /** Fetch max_bytes and partition_max_bytes. */
  fetchMaxBytes: number;
  /** Consume variants: fetch chains in flight (1 = one fetch at a time, as a Kafka consumer). */
  consumeChains: number[];
  reps: number;
  /** Before each repetition of each transport, wait up to this long for other processes to go quiet. */
  quietWaitMs: number;
  /** Records produced (unmeasured) per transport before the first repetition; 0 = none. */
  warmupRecords: number;
  transports: TransportName[];
}

export type PhaseName = string;

export interface PhaseResult {
  transport: TransportName;
  phase: PhaseName;
  rep: number;
  ms: number;
  records: number;
  batchBytes: number;
  payloadBytes: number;
  extra: string;
  cpu: CpuShare;
  /** The phase's window on CLOCK_MONOTONIC (to slice the broker's CPU profile). */
  window: Window;
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

async function measure<T extends ProduceResult | ConsumeResult>(
  brokerPid: number,
  run: () => Promise<T>,
): Promise<{ r: T; cpu: CpuShare; window: Window }> {
  const meter = new CpuMeter(brokerPid);
  const startUs = monotonicUs();
  const r = await run();
  const endUs = monotonicUs();
  return { r, cpu: meter.stop(), window: { startUs, endUs } };
}

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export async function runE2e(
  broker: BenchBroker,
  cfg: E2eConfig,
  log: (line: string) => void,
): Promise<PhaseResult[]> {
  const batches = buildBatches(cfg.records, cfg.recordsPerBatch, cfg.valueBytes);
  log(
    `e2e: ${cfg.records} records x ${cfg.valueBytes} B, ${cfg.recordsPerBatch} per batch ` +
      `(${batches.full.batch.length} B batches), window ${cfg.window}, fetch ${cfg.fetchMaxBytes} B, ` +
      `${cfg.reps} repetition(s)`,
  );
  const port = (t: TransportName) => (t === "tcp" ? broker.kafkaPort : broker.wsPort);
  const results: PhaseResult[] = [];
  const payloadOf = (n: number) => n * cfg.valueBytes;

  if (cfg.warmupRecords > 0) {
    const wb = buildBatches(cfg.warmupRecords, cfg.recordsPerBatch, cfg.valueBytes);
    for (const t of cfg.transports) {
      const conn = await connect(t, port(t));
      const topic = `bench-warmup-${t}`;
      await createTopic(conn, topic);
      await produceAll(conn, topic, 1, wb.full, wb.tail, cfg.window);
      await consumeAll(conn, topic, 0, cfg.warmupRecords, cfg.fetchMaxBytes, 1);
      conn.close();
    }
    log(`e2e: warmed up with ${cfg.warmupRecords} records per transport (not measured)`);
  }

  for (let rep = 1; rep <= cfg.reps; rep++) {
    for (const t of cfg.transports) {
      const others = await waitForQuiet(cfg.quietWaitMs);
      log(`e2e: repetition ${rep}, ${t}: other processes at ${others.toFixed(0)}% of a core before it`);
      const conn: BenchConnection = await connect(t, port(t));
      const topic1 = `bench-${t}-r${rep}-acks1`;
      const topicAll = `bench-${t}-r${rep}-acksall`;
      await createTopic(conn, topic1);
      await createTopic(conn, topicAll);

      const p1 = await measure(broker.pid, () =>
        produceAll(conn, topic1, 1, batches.full, batches.tail, cfg.window),
      );
      const lastBase = cfg.records - (batches.tail ? batches.tail.records : batches.full.records);
      if (p1.r.lastOffset !== lastBase)
        throw new Error(`last batch acked at offset ${p1.r.lastOffset}, expected ${lastBase}`);
      const push = (
        phase: string,
        m: { r: ProduceResult | ConsumeResult; cpu: CpuShare; window: Window },
        extra = "",
      ) => {
        const r = m.r;
        const row: PhaseResult = {
          transport: t,
          phase,
          rep,
          ms: r.ms,
          records: r.records,
          batchBytes: r.batchBytes,
          payloadBytes: payloadOf(r.records),
          extra,
          cpu: m.cpu,
          window: m.window,
        };
        results.push(row);
        log(formatPhase(row));
      };
      push("produce acks=1", p1);

      for (const chains of cfg.consumeChains) {
        const c = await measure(broker.pid, () =>
          consumeAll(conn, topic1, 0, cfg.records, cfg.fetchMaxBytes, chains),
        );
        if (c.r.records !== cfg.records)
          throw new Error(`consumed ${c.r.records} records, expected ${cfg.records}`);
        push(consumePhase(chains), c, `${c.r.fetches} fetches`);
      }

      const pAll = await measure(broker.pid, () =>
        produceAll(conn, topicAll, -1, batches.full, batches.tail, cfg.window),
      );
      push("produce acks=-1", pAll);
      conn.close();
    }
  }
  return results;
}

export function consumePhase(chains: number): string {
  return chains === 1 ? "consume" : `consume x${chains}`;
}

export function formatPhase(r: PhaseResult): string {
  const rate = (r.records / r.ms) * 1000;
  return (
    `  rep ${r.rep} ${r.transport.padEnd(9)} ${r.phase.padEnd(16)} ${fmtInt(rate).padStart(11)} msg/s ` +
    `${((r.payloadBytes / r.ms) * 1e-3).toFixed(1).padStart(7)} MB/s payload ` +
    `${((r.batchBytes / r.ms) * 1e-3).toFixed(1).padStart(7)} MB/s batches  ${r.ms.toFixed(0)} ms  ` +
    `cpu broker main ${r.cpu.brokerMain.toFixed(0)}% all ${r.cpu.brokerTotal.toFixed(0)}% client ${r.cpu.client.toFixed(0)}% others ${r.cpu.others.toFixed(0)}%` +
    (r.extra ? `  (${r.extra})` : "")
  );
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
