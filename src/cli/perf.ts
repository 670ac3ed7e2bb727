// `milena perf produce|consume`, as kafka-producer-perf-test.sh and kafka-consumer-perf-test.sh:
// a fixed number of records of a fixed size, optionally capped in rate, over TCP or WebSocket.
// Every --reporting-interval ms a progress line on stderr for that window, in the Kafka tools'
// shapes plus percent done and ETA (on a terminal also a status line updated in place); at the
// end, on stdout and unchanged, msgs/s, MB/s and (produce) latency percentiles.

import { setTimeout as sleep } from "node:timers/promises";
import { ProgressOutput, percentEta } from "../progress.ts";
import { acksOf, compressionOf, flag, integer, num, parseArgs, str, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client, out } from "./common.ts";

export const PERF_USAGE = `usage:
  milena perf produce --topic T --num-records N --record-size BYTES [--throughput RECORDS_PER_SEC]
                      [--acks 0|1|-1|all] [--compression none|gzip|lz4] [--transport tcp|ws]
                      [--reporting-interval MS]
  milena perf consume --topic T --messages N [--transport tcp|ws] [--reporting-interval MS]
options: --reporting-interval MS: a progress line on stderr every MS ms (default 5000), --bootstrap host:port | ws://host:port (default by --transport: 127.0.0.1:9092 or
ws://127.0.0.1:9094), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

const SPEC = {
  ...COMMON_OPTIONS,
  topic: { type: "string" as const },
  "num-records": { type: "number" as const },
  "record-size": { type: "number" as const },
  throughput: { type: "number" as const },
  acks: { type: "string" as const },
  compression: { type: "string" as const },
  transport: { type: "string" as const },
  messages: { type: "number" as const },
  "batch-size": { type: "number" as const },
  "reporting-interval": { type: "number" as const },
};

/** A progress line every `ms` (unref'd: it never keeps the process alive); stop() ends it. */
function every(ms: number, f: () => void): { stop: () => void } {
  const t = setInterval(f, ms);
  t.unref();
  return { stop: () => clearInterval(t) };
}

/** kafka-consumer-perf-test's time column: "2026-12-03 17:18:04:123" (local time). */
function timestamp(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}:${p(d.getMilliseconds(), 3)}`;
}

function bootstrapOf(p: ReturnType<typeof parseArgs>): string {
  const transport = str(p, "transport");
  if (transport !== undefined && transport !== "tcp" && transport !== "ws") {
    throw new UsageError(`--transport must be tcp or ws, got "${transport}"`);
  }
  const given = str(p, "bootstrap");
  if (given !== undefined) {
    const isWs = /^wss?:\/\//.test(given);
    if (transport === "ws" && !isWs) throw new UsageError("--transport ws needs a ws:// --bootstrap");
    if (transport === "tcp" && isWs) throw new UsageError("--transport tcp needs a host:port --bootstrap");
    return given;
  }
  return transport === "ws" ? "ws://127.0.0.1:9094" : "127.0.0.1:9092";
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

export async function perf(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  const p = parseArgs(rest, SPEC);
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
  const topic = str(p, "topic");
  if (topic === undefined) throw new UsageError(`perf ${kind ?? ""} needs --topic`);
  const bootstrap = bootstrapOf(p);
  const interval = integer("reporting-interval", num(p, "reporting-interval"), 1) ?? 5000;
  const progress = new ProgressOutput(process.stderr);
  if (kind === "produce") {
    const n = integer("num-records", num(p, "num-records"), 1);
    const size = integer("record-size", num(p, "record-size"), 0);
    if (n === undefined || size === undefined)
      throw new UsageError("perf produce needs --num-records and --record-size");
    const rate = num(p, "throughput") ?? -1;
    const producer = client(p, bootstrap).producer({
      acks: acksOf(str(p, "acks")) ?? 1,
      compression: compressionOf(str(p, "compression")) ?? "none",
      batchSize: integer("batch-size", num(p, "batch-size"), 1) ?? 16384,
      lingerMs: rate > 0 ? 0 : 2,
    });
    await producer.connect();
    const value = Buffer.alloc(size, 0x61);
    const latencies = new Float64Array(n);
    // Records per send(): small when capped (so latency is per record), larger otherwise.
    const chunk = rate > 0 ? 1 : 200;
    const messages = Array.from({ length: chunk }, () => ({ value }));
    const inFlight: Promise<void>[] = [];
    const start = performance.now();
    let sent = 0;
    let acked = 0;
    let latencySum = 0;
    // The window since the last progress line, as kafka-producer-perf-test's Stats.
    let win = { start, count: 0, latencySum: 0, maxLatency: 0 };
    const windowLine = () => {
      const now = performance.now();
      const secs = Math.max(1e-9, (now - win.start) / 1000);
      progress.line(
        `${win.count} records sent, ${fmt(win.count / secs, 1)} records/sec (${fmt((win.count * size) / secs / 1048576)} MB/sec), ` +
          `${fmt(win.latencySum / Math.max(1, win.count), 1)} ms avg latency, ${fmt(win.maxLatency, 1)} ms max latency. ` +
          percentEta(acked, n, now - start),
      );
      win = { start: now, count: 0, latencySum: 0, maxLatency: 0 };
    };
    const statusLine = () => {
      const secs = (performance.now() - start) / 1000;
      progress.status(
        `${acked} records sent, ${fmt(acked / secs, 1)} records/sec (${fmt((acked * size) / secs / 1048576)} MB/sec), ` +
          `${fmt(latencySum / Math.max(1, acked), 1)} ms avg latency ${percentEta(acked, n, secs * 1000)}`,
      );
    };
    const ticker = every(interval, windowLine);
    const status = progress.tty ? every(1000, statusLine) : null;
    try {
      while (sent < n) {
        const count = Math.min(chunk, n - sent);
        if (rate > 0) {
          const due = start + (sent / rate) * 1000;
          const wait = due - performance.now();
          if (wait > 1) await sleep(wait);
        }
        const from = sent;
        const t0 = performance.now();
        const promise = producer
          .send({ topic, messages: count === chunk ? messages : messages.slice(0, count) })
          .then(() => {
            const lat = performance.now() - t0;
            for (let i = from; i < from + count; i++) latencies[i] = lat;
            acked += count;
            latencySum += lat * count;
            win.count += count;
            win.latencySum += lat * count;
            if (lat > win.maxLatency) win.maxLatency = lat;
          });
        inFlight.push(promise);
        sent += count;
        if (inFlight.length >= 2000) await Promise.all(inFlight.splice(0, 1000));
      }
      await Promise.all(inFlight);
    } finally {
      ticker.stop();
      status?.stop();
      progress.clearStatus();
      await producer.disconnect();
    }
    const secs = (performance.now() - start) / 1000;
    const sorted = latencies.sort();
    out(
      `${n} records sent, ${fmt(n / secs, 1)} records/sec (${fmt((n * size) / secs / 1048576)} MB/sec), ` +
        `${fmt(latencySum / n)} ms avg latency, ${fmt(sorted[n - 1])} ms max latency, ` +
        `${fmt(percentile(sorted, 0.5))} ms 50th, ${fmt(percentile(sorted, 0.95))} ms 95th, ` +
        `${fmt(percentile(sorted, 0.99))} ms 99th, ${fmt(percentile(sorted, 0.999))} ms 99.9th.`,
    );
    return 0;
  }
  if (kind === "consume") {
    const n = integer("messages", num(p, "messages"), 1);
    if (n === undefined) throw new UsageError("perf consume needs --messages");
    const consumer = client(p, bootstrap).consumer({
      autoOffsetReset: "earliest",
      maxBytesPerPartition: 8 * 1024 * 1024,
    });
    await consumer.connect();
    let count = 0;
    let bytes = 0;
    const start = performance.now();
    // kafka-consumer-perf-test --show-detailed-stats: totals so far, rates over the window.
    let last = { at: start, count: 0, bytes: 0 };
    let headed = false;
    const windowLine = () => {
      const now = performance.now();
      const secs = Math.max(1e-9, (now - last.at) / 1000);
      if (!headed) progress.line("time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec");
      headed = true;
      progress.line(
        `${timestamp()}, ${fmt(bytes / 1048576, 4)}, ${fmt((bytes - last.bytes) / 1048576 / secs, 4)}, ` +
          `${count}, ${fmt((count - last.count) / secs, 4)} ${percentEta(count, n, now - start)}`,
      );
      last = { at: now, count, bytes };
    };
    const statusLine = () =>
      progress.status(`${count} records consumed ${percentEta(count, n, performance.now() - start)}`);
    const ticker = every(interval, windowLine);
    const status = progress.tty ? every(1000, statusLine) : null;
    try {
      await consumer.assign([{ topic, offset: "earliest" }]);
      outer: for await (const b of consumer.batches()) {
        for (const r of b.records) {
          count++;
          bytes += r.value?.byteLength ?? 0;
          if (count >= n) break outer;
        }
      }
    } finally {
      ticker.stop();
      status?.stop();
      progress.clearStatus();
      await consumer.disconnect();
    }
    const secs = (performance.now() - start) / 1000;
    out("data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, seconds");
    out(
      `${fmt(bytes / 1048576, 4)}, ${fmt(bytes / 1048576 / secs, 4)}, ${count}, ${fmt(count / secs, 4)}, ${fmt(secs, 3)}`,
    );
    return 0;
  }
  if (flag(p, "help")) return 0;
  throw new UsageError(
    kind === undefined ? "perf needs produce or consume" : `unknown perf action "${kind}"`,
  );
}
