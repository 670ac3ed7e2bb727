// The cost of the broker's defences (issue 8), measured in one run:
//
//   1. record validation: W1 (100 B) and W2 (1 KiB) produce, acks=1, one partition, through the
//      lean client over TCP, against two brokers started the same way but for
//      record.validation.enable (true: the writer walks every record of every batch; false:
//      header and CRC only, as before). Brokers take turns, repetitions interleaved; medians.
//   2. a slow consumer: 8 pipelined Fetch requests (max_bytes 2^31-1) never read, over TCP and
//      over WebSocket, while 500 MB is produced; the broker's RSS is sampled every 50 ms and
//      its peak growth reported beside the same production without the slow consumer.

import * as fs from "node:fs";
import * as net from "node:net";
import WebSocket from "ws";
import { consumerFetch, fetchCodec } from "../src/protocol/fetch.ts";
import { finishFrame, startRequestFrame } from "../src/protocol/header.ts";
import { produceCodec } from "../src/protocol/produce.ts";
import { encodeBatch } from "../src/protocol/records.ts";
import { Writer } from "../src/protocol/writer.ts";
import { BenchBroker } from "./broker.ts";
import { MilenaLeanDriver } from "./drivers.ts";
import { fmtInt } from "./e2e.ts";

export interface ValidationRow {
  workload: string;
  on: number[];
  off: number[];
}

export interface SlowConsumerRow {
  transport: string;
  /** Peak RSS growth (bytes) with the slow consumer, and without it (the same production). */
  slow: number;
  control: number;
}

export interface HardeningResult {
  validation: ValidationRow[];
  slowConsumer: SlowConsumerRow[];
}

const MB = 1024 * 1024;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

function frame(apiKey: number, version: number, id: number, body: (w: Writer) => void): Buffer {
  const w = new Writer(256);
  startRequestFrame(w, { apiKey, apiVersion: version, correlationId: id, clientId: "bench" });
  body(w);
  finishFrame(w);
  return Buffer.concat(w.chunks());
}

/** Produce `total` bytes in 900 kB batches over one TCP connection, 16 requests in flight. */
async function produceBytes(port: number, topic: string, total: number): Promise<void> {
  const s = net.connect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise((r) => s.once("connect", r));
  const batch = encodeBatch([{ value: Buffer.alloc(900_000, 0x62) }]);
  const req = {
    transactionalId: null,
    acks: 1,
    timeoutMs: 30_000,
    topics: [{ name: topic, partitions: [{ partitionIndex: 0, records: batch }] }],
  };
  const n = Math.ceil(total / batch.length);
  let answered = 0;
  let pending: Buffer = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  s.on("data", (d: Buffer) => {
    pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
      pending = pending.subarray(4 + pending.readInt32BE(0));
      answered++;
    }
    wake?.();
  });
  for (let i = 0; i < n; i++) {
    while (i - answered >= 16) await new Promise<void>((r) => (wake = r));
    s.write(frame(0, 7, i, (w) => produceCodec.encodeRequest(w, 7, req)));
  }
  while (answered < n) await new Promise<void>((r) => (wake = r));
  s.destroy();
}

function hugeFetch(topic: string, id: number): Buffer {
  const req = consumerFetch(topic, 0, 0, { maxBytes: 2 ** 31 - 1 });
  return frame(1, 11, id, (w) => fetchCodec.encodeRequest(w, 11, req));
}

/** Peak RSS growth of the broker while `work` runs (sampled every 50 ms). */
async function peakGrowth(pid: number, work: () => Promise<void>): Promise<number> {
  const start = rss(pid);
  let peak = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, rss(pid) - start);
  }, 50);
  try {
    await work();
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    clearInterval(t);
  }
  return Math.max(peak, rss(pid) - start);
}

async function slowConsumer(transport: "tcp" | "websocket", quick: boolean): Promise<SlowConsumerRow> {
  const half = (quick ? 100 : 250) * MB;
  const measure = async (slow: boolean): Promise<number> => {
    const b = await BenchBroker.start({ overrides: { "num.partition.writers": 1 } });
    try {
      const topic = "slow";
      await produceBytes(b.kafkaPort, topic, half);
      await new Promise((r) => setTimeout(r, 500));
      let close = () => {};
      if (slow) {
        if (transport === "tcp") {
          const s = net.connect({ host: "127.0.0.1", port: b.kafkaPort });
          s.on("error", () => {});
          await new Promise((r) => s.once("connect", r));
          s.pause();
          for (let i = 0; i < 8; i++) s.write(hugeFetch(topic, i));
          close = () => s.destroy();
        } else {
          const ws = new WebSocket(`ws://127.0.0.1:${b.wsPort}`);
          ws.on("error", () => {});
          await new Promise((r) => ws.once("open", r));
          (ws as unknown as { _socket: net.Socket })._socket.pause();
          for (let i = 0; i < 8; i++) ws.send(hugeFetch(topic, i).subarray(4), { binary: true });
          close = () => ws.terminate();
        }
      }
      const grown = await peakGrowth(b.pid, () => produceBytes(b.kafkaPort, topic, half));
      close();
      return grown;
    } finally {
      await b.stop();
    }
  };
  return { transport, slow: await measure(true), control: await measure(false) };
}

export async function measureHardening(quick: boolean, log: (l: string) => void): Promise<HardeningResult> {
  const reps = quick ? 1 : 3;
  const w1 = quick ? 200_000 : 1_000_000;
  const w2 = quick ? 50_000 : 200_000;
  const on = await BenchBroker.start({ overrides: { "record.validation.enable": "true" } });
  const off = await BenchBroker.start({ overrides: { "record.validation.enable": "false" } });
  const validation: ValidationRow[] = [
    { workload: "W1 produce 100 B acks=1", on: [], off: [] },
    { workload: "W2 produce 1 KiB acks=1", on: [], off: [] },
  ];
  try {
    const drivers = {
      on: new MilenaLeanDriver("tcp", on.kafkaPort, on.pid, 64, 8 * MB),
      off: new MilenaLeanDriver("tcp", off.kafkaPort, off.pid, 64, 8 * MB),
    };
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
      for (const which of order) {
        for (const [row, records, bytes] of [
          [validation[0], w1, 100],
          [validation[1], w2, 1024],
        ] as const) {
          const r = await drivers[which].produce(
            `v-${which}-${rep}-${bytes}`,
            1,
            records,
            bytes,
            1,
            () => {},
          );
          const rate = (r.records / r.ms) * 1000;
          row[which].push(rate);
          log(`  validation ${which}: ${row.workload}: ${fmtInt(rate)} records/s`);
        }
      }
    }
  } finally {
    await on.stop();
    await off.stop();
  }
  const slowConsumerRows: SlowConsumerRow[] = [];
  for (const t of ["tcp", "websocket"] as const) {
    const r = await slowConsumer(t, quick);
    log(
      `  slow consumer over ${t}: RSS +${Math.round(r.slow / MB)} MB (without it +${Math.round(r.control / MB)} MB)`,
    );
    slowConsumerRows.push(r);
  }
  return { validation, slowConsumer: slowConsumerRows };
}

export function hardeningTables(
  r: HardeningResult,
  table: (h: string[], right: boolean[], rows: string[][]) => string,
): string {
  const v = table(
    ["workload", "validation on, records/s", "off, records/s", "cost", "each run on / off"],
    [false, true, true, true, false],
    r.validation.map((row) => {
      const a = median(row.on);
      const b = median(row.off);
      return [
        row.workload,
        fmtInt(a),
        fmtInt(b),
        `${(((b - a) / b) * 100).toFixed(1)}%`,
        `${row.on.map(fmtInt).join(", ")} / ${row.off.map(fmtInt).join(", ")}`,
      ];
    }),
  );
  const s = table(
    ["slow consumer over", "broker RSS growth, peak", "same production without it"],
    [false, true, true],
    r.slowConsumer.map((row) => [
      row.transport,
      `${Math.round(row.slow / MB)} MB`,
      `${Math.round(row.control / MB)} MB`,
    ]),
  );
  return `${v}\n\n${s}`;
}
