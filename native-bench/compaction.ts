// Log compaction and transactions (issue 11), measured in one part:
//
//   1. the log cleaner: a broker with log.cleaner.backoff.ms 100 and one compacted topic (one
//      partition, cleanup.policy=compact, segment.bytes 16 MiB (QUICK 4 MiB), segment.ms 2000,
//      min.cleanable.dirty.ratio 0.01) gets a dirty log of 256 MiB (QUICK 32 MiB) through the lean
//      client: batches of 30 records, every record keyed from a space of 10,000 keys drawn at
//      random, values of 100-1,000 bytes (uniform), so each key is overwritten ~47 times (QUICK
//      ~6). Two cases, a fresh broker each, interleaved:
//        backlog  the topic also has min.compaction.lag.ms of an hour, so nothing is cleaned while
//                 it is produced; once segment.ms has rolled the last segment (the whole log is
//                 then closed), IncrementalAlterConfigs sets the lag to 0 and the cleaner takes the
//                 whole dirty log in one clean
//        live     no lag: the cleaner cleans while the producer writes (a clean per round, each
//                 reading the log from its start: the part cleaned before and the new segments),
//                 until the last segment rolls and is cleaned
//      From the broker's own "log cleaner: cleaned <p> up to offset N: A -> B MB, ... in T ms"
//      lines: MB/s = sum of A / sum of T (A as read by the cleaner), and the median of A / T per
//      clean. Disk: the partition's .log bytes before the first clean (backlog: measured; live:
//      the bytes produced, which is what the log held before any clean) against after the clean
//      up to the log end offset. Then the log is read back and checked: exactly one record per
//      key produced, at the offset of that key's last write, of that write's value length.
//   2. transactions: kafkajs, one broker, 200,000 records of 100 B (QUICK 50,000) per run in
//      send()s of 1,000, one send at a time (maxInFlightRequests 1, acks=-1 as both need):
//      idempotent producer, and transactional producers committing every send (N = 1) and every
//      10 sends (N = 10). Then the N = 1 topic (the most markers) read by a kafkajs group
//      consumer with read_committed and with read_uncommitted. Modes take turns, repetitions
//      interleaved, medians.
//
// Nothing is asserted on a figure; a wrong log after a clean, a clean that never comes or a
// cleaner error line ends the run with the broker's lines.

import * as fs from "node:fs";
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ApiKey } from "../src/protocol/api_keys.ts";
import { createTopicsCodec } from "../src/protocol/create_topics.ts";
import { consumerFetch, fetchCodec, fetchRecordsBuffer } from "../src/protocol/fetch.ts";
import { decodeResponseHeader, finishFrame, startRequestFrame } from "../src/protocol/header.ts";
import { ConfigOperation, incrementalAlterConfigsCodec } from "../src/protocol/incremental_alter_configs.ts";
import { produceCodec } from "../src/protocol/produce.ts";
import { Reader } from "../src/protocol/reader.ts";
import { BATCH_LENGTH, LAST_OFFSET_DELTA, LOG_OVERHEAD, readInt64 } from "../src/protocol/record_batch.ts";
import { decodeBatch, encodeBatch, type NewRecord } from "../src/protocol/records.ts";
import { Writer } from "../src/protocol/writer.ts";
import { BenchBroker } from "./broker.ts";
import { type BenchConnection, connect, produceFrame, request, rpc } from "./client.ts";
import { fmtInt } from "./e2e.ts";
import { CpuMeter, waitForQuiet } from "./procstat.ts";

const MiB = 1024 * 1024;
const TOPIC = "compacted";
const KEYS = 10_000;
const RECORDS_PER_BATCH = 30;
const VALUE_MIN = 100;
const VALUE_MAX = 1000;
const WINDOW = 16;
const BACKOFF_MS = 100;
const SEGMENT_MS = 2000;
const HOLD_LAG_MS = 3_600_000;

export interface CleanLine {
  upTo: number;
  /** MiB read and written, as the line says (one decimal). */
  readMiB: number;
  writtenMiB: number;
  removed: number;
  tombstones: number;
  ms: number;
}

export interface CleanerRun {
  scenario: "backlog" | "live";
  produceMs: number;
  producedBytes: number;
  records: number;
  logEnd: number;
  /** .log bytes before the first clean (backlog: measured; live: the bytes produced). */
  beforeBytes: number;
  afterBytes: number;
  cleans: CleanLine[];
  /** Backlog: from the config change to the last clean's line; live: from the last ack. */
  settleMs: number;
  keysKept: number;
  /** The rest of the machine's CPU (% of one core) from the produce's start to the last clean. */
  others: number;
}

export type TxnMode =
  | "idempotent"
  | "transactional, commit every send"
  | "transactional, commit every 10 sends";

export interface TxnRun {
  mode: TxnMode;
  ms: number;
  records: number;
  /** % of one core over the run: the broker (every thread), this process (kafkajs), the rest. */
  broker: number;
  client: number;
  others: number;
  /** Requests kafkajs retried: CONCURRENT_TRANSACTIONS answers, anything else; its backoff, summed. */
  concurrentRetries: number;
  otherRetries: number;
  backoffMs: number;
}

export interface ConsumeRun {
  isolation: "read_committed" | "read_uncommitted";
  ms: number;
  records: number;
  broker: number;
  client: number;
  others: number;
}

export interface CompactionResult {
  dirtyBytes: number;
  segmentBytes: number;
  records: number;
  reps: number;
  cleaner: CleanerRun[];
  txnRecords: number;
  txn: TxnRun[];
  consume: ConsumeRun[];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** mulberry32: the same dirty log every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyOf = (k: number) => `key-${String(k).padStart(5, "0")}`;

interface DirtyLog {
  frames: Buffer[];
  /** Per record in produce order: its key number and value length. */
  keys: Uint16Array;
  valueLens: Uint16Array;
  batchBytes: number;
}

/** Pre-built Produce frames (acks=1) of keyed batches, about `total` bytes of batches. */
function buildDirtyLog(total: number): DirtyLog {
  const rand = prng(11);
  const pool = Buffer.alloc(4 * MiB);
  for (let i = 0; i < pool.length; i++) pool[i] = (rand() * 256) | 0;
  const frames: Buffer[] = [];
  const keys: number[] = [];
  const lens: number[] = [];
  let batchBytes = 0;
  const now = Date.now();
  while (batchBytes < total) {
    const recs: NewRecord[] = [];
    for (let i = 0; i < RECORDS_PER_BATCH; i++) {
      const k = Math.floor(rand() * KEYS);
      const len = VALUE_MIN + Math.floor(rand() * (VALUE_MAX - VALUE_MIN + 1));
      const at = Math.floor(rand() * (pool.length - len));
      recs.push({ key: keyOf(k), value: pool.subarray(at, at + len) });
      keys.push(k);
      lens.push(len);
    }
    const batch = encodeBatch(recs, 0, now);
    batchBytes += batch.length;
    frames.push(produceFrame(TOPIC, batch, 1));
  }
  return { frames, keys: Uint16Array.from(keys), valueLens: Uint16Array.from(lens), batchBytes };
}

/** Send every frame once, in order, `window` in flight; the base offset of each batch. */
function produceFrames(
  conn: BenchConnection,
  frames: Buffer[],
  window: number,
): Promise<{ ms: number; bases: number[] }> {
  const bases = new Array<number>(frames.length);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let acked = 0;
    const t0 = performance.now();
    const sendNext = () => {
      const i = sent++;
      // A frame is sent once per run, so patching its correlation id is safe (no send of it in flight).
      frames[i].writeInt32BE(i + 1, 8);
      conn.send(frames[i], (body) => {
        const r = new Reader(body);
        const corr = decodeResponseHeader(r, ApiKey.Produce, 7);
        if (corr !== i + 1) return reject(new Error(`produce reply correlation ${corr}, expected ${i + 1}`));
        const p = produceCodec.decodeResponse(r, 7).responses[0]?.partitions[0];
        if (p === undefined || p.errorCode !== 0)
          return reject(new Error(`produce error ${p?.errorCode} ${p?.errorMessage ?? ""}`));
        bases[i] = p.baseOffset;
        acked++;
        if (sent < frames.length) sendNext();
        else if (acked === frames.length) resolve({ ms: performance.now() - t0, bases });
      });
    };
    for (let i = 0; i < Math.min(window, frames.length); i++) sendNext();
  });
}

async function createCompacted(
  conn: BenchConnection,
  configs: Record<string, string | number>,
): Promise<void> {
  const res = await rpc(conn, createTopicsCodec, 1, {
    topics: [
      {
        name: TOPIC,
        numPartitions: 1,
        replicationFactor: 1,
        assignments: [],
        configs: Object.entries(configs).map(([name, value]) => ({ name, value: String(value) })),
      },
    ],
    timeoutMs: 30_000,
    validateOnly: false,
  });
  const t = res.topics[0];
  if (t === undefined || t.errorCode !== 0)
    throw new Error(`CreateTopics ${TOPIC}: error ${t?.errorCode} ${t?.errorMessage ?? ""}`);
}

async function setTopicConfig(conn: BenchConnection, name: string, value: string): Promise<void> {
  const res = await rpc(conn, incrementalAlterConfigsCodec, 0, {
    resources: [
      {
        resourceType: 2,
        resourceName: TOPIC,
        configs: [{ name, configOperation: ConfigOperation.Set, value }],
      },
    ],
    validateOnly: false,
  });
  const r = res.responses[0];
  if (r === undefined || r.errorCode !== 0)
    throw new Error(
      `IncrementalAlterConfigs ${name}=${value}: error ${r?.errorCode} ${r?.errorMessage ?? ""}`,
    );
}

const CLEAN_LINE =
  /log cleaner: cleaned (\S+) up to offset (\d+): ([\d.]+) -> ([\d.]+) MB, (\d+) record\(s\) removed \((\d+) tombstone\(s\)\) in ([\d.]+) ms/g;

function cleanLines(output: string): CleanLine[] {
  const out: CleanLine[] = [];
  for (const m of output.matchAll(CLEAN_LINE)) {
    if (m[1] !== `${TOPIC}-0`) continue;
    out.push({
      upTo: Number(m[2]),
      readMiB: Number(m[3]),
      writtenMiB: Number(m[4]),
      removed: Number(m[5]),
      tombstones: Number(m[6]),
      ms: Number(m[7]),
    });
  }
  return out;
}

/** Any "log cleaner:" line that is not a clean's report (an error), and a broker gone. */
function cleanerTrouble(b: BenchBroker): string | null {
  const bad = b.output.split("\n").filter((l) => /log cleaner:/.test(l) && !/log cleaner: cleaned /.test(l));
  return bad.length > 0 ? bad.join("\n") : null;
}

function logBytes(dir: string): number {
  let n = 0;
  for (const f of fs.readdirSync(dir)) if (f.endsWith(".log")) n += fs.statSync(join(dir, f)).size;
  return n;
}

async function waitFor(what: string, b: BenchBroker, ms: number, done: () => boolean): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    const trouble = cleanerTrouble(b);
    if (trouble) throw new Error(`compaction: the cleaner said:\n${trouble}`);
    if (Date.now() > deadline)
      throw new Error(
        `compaction: ${what} not seen in ${ms / 1000} s; broker output:\n${b.output.slice(-4000)}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The active segment is empty and starts at the log end: every record is in a closed segment. */
function allClosed(dir: string, logEnd: number): boolean {
  const logs = fs
    .readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  const last = logs.at(-1);
  return (
    last !== undefined && Number(last.slice(0, 20)) === logEnd && fs.statSync(join(dir, last)).size === 0
  );
}

/**
 * Read the whole partition back (Fetch v11, records decoded) and check it is what compaction
 * must leave: one record per key produced, at the offset of its last write, with its length.
 */
async function verifyCompacted(
  conn: BenchConnection,
  log: DirtyLog,
  bases: number[],
  logEnd: number,
): Promise<number> {
  const expected = new Map<number, { offset: number; len: number }>();
  for (let bi = 0; bi < bases.length; bi++)
    for (let j = 0; j < RECORDS_PER_BATCH; j++) {
      const i = bi * RECORDS_PER_BATCH + j;
      expected.set(log.keys[i], { offset: bases[bi] + j, len: log.valueLens[i] });
    }
  const seen = new Map<string, number>();
  let next = 0;
  let corr = 100;
  while (next < logEnd) {
    const w = new Writer(128);
    startRequestFrame(w, { apiKey: ApiKey.Fetch, apiVersion: 11, correlationId: ++corr, clientId: "bench" });
    fetchCodec.encodeRequest(
      w,
      11,
      consumerFetch(TOPIC, 0, next, { maxBytes: 8 * MiB, partitionMaxBytes: 8 * MiB }),
    );
    finishFrame(w);
    const body = await request(conn, Buffer.from(w.view()));
    const r = new Reader(body);
    decodeResponseHeader(r, ApiKey.Fetch, 11);
    const p = fetchCodec.decodeResponse(r, 11).responses[0]?.partitions[0];
    if (p === undefined || p.errorCode !== 0)
      throw new Error(`compaction: fetch error ${p?.errorCode} at ${next}`);
    const data = Buffer.from(fetchRecordsBuffer(p.records));
    let at = 0;
    const from = next;
    while (at + LOG_OVERHEAD <= data.length) {
      const size = data.readInt32BE(at + BATCH_LENGTH) + LOG_OVERHEAD;
      if (at + size > data.length) break;
      const batch = data.subarray(at, at + size);
      const last = readInt64(batch, 0) + batch.readInt32BE(LAST_OFFSET_DELTA);
      if (last >= next) {
        for (const rec of decodeBatch(batch)) {
          if (rec.offset < next) continue;
          const key = rec.key?.toString() ?? "(null)";
          const k = Number(key.slice(4));
          const e = expected.get(k);
          if (seen.has(key))
            throw new Error(
              `compaction: key ${key} twice after cleaning (offsets ${seen.get(key)}, ${rec.offset})`,
            );
          if (e === undefined || e.offset !== rec.offset || e.len !== (rec.value?.length ?? -1))
            throw new Error(
              `compaction: ${key} at offset ${rec.offset} (value ${rec.value?.length ?? "null"} B) after cleaning; its last write was at ${e?.offset} (${e?.len} B)`,
            );
          seen.set(key, rec.offset);
        }
        next = last + 1;
      }
      at += size;
    }
    if (next === from)
      throw new Error(`compaction: fetch at ${next} returned no whole batch (log end ${logEnd})`);
  }
  if (seen.size !== expected.size)
    throw new Error(`compaction: ${seen.size} keys after cleaning, ${expected.size} produced`);
  return seen.size;
}

async function cleanerRun(
  scenario: "backlog" | "live",
  dirty: DirtyLog,
  segmentBytes: number,
  log: (l: string) => void,
): Promise<CleanerRun> {
  const b = await BenchBroker.start({ overrides: { "log.cleaner.backoff.ms": BACKOFF_MS } });
  try {
    const conn = await connect("tcp", b.kafkaPort);
    await createCompacted(conn, {
      "cleanup.policy": "compact",
      "segment.bytes": segmentBytes,
      "segment.ms": SEGMENT_MS,
      "min.cleanable.dirty.ratio": "0.01",
      ...(scenario === "backlog" ? { "min.compaction.lag.ms": HOLD_LAG_MS } : {}),
    });
    const dir = join(b.logDir, `${TOPIC}-0`);
    const cpu = new CpuMeter(b.pid);
    const { ms: produceMs, bases } = await produceFrames(conn, dirty.frames, WINDOW);
    const tAcked = performance.now();
    const logEnd = bases.at(-1)! + RECORDS_PER_BATCH;
    const records = dirty.frames.length * RECORDS_PER_BATCH;
    if (logEnd !== records) throw new Error(`compaction: log end ${logEnd} after ${records} records`);
    let beforeBytes = dirty.batchBytes;
    let t0 = tAcked;
    if (scenario === "backlog") {
      await waitFor("the last segment's roll (segment.ms)", b, 30_000, () => allClosed(dir, logEnd));
      if (cleanLines(b.output).length > 0)
        throw new Error(`compaction: cleaned while min.compaction.lag.ms held it:\n${b.output.slice(-2000)}`);
      beforeBytes = logBytes(dir);
      if (beforeBytes !== dirty.batchBytes)
        log(`  compaction: note: ${beforeBytes} .log bytes before the clean, ${dirty.batchBytes} produced`);
      t0 = performance.now();
      await setTopicConfig(conn, "min.compaction.lag.ms", "0");
    }
    await waitFor(`a clean up to offset ${logEnd}`, b, 180_000, () =>
      cleanLines(b.output).some((c) => c.upTo === logEnd),
    );
    const settleMs = performance.now() - t0;
    const others = cpu.stop().others;
    const cleans = cleanLines(b.output);
    const afterBytes = logBytes(dir);
    const keysKept = await verifyCompacted(conn, dirty, bases, logEnd);
    conn.close();
    const readMiB = cleans.reduce((a, c) => a + c.readMiB, 0);
    const cleanMs = cleans.reduce((a, c) => a + c.ms, 0);
    log(
      `  compaction ${scenario}: produced ${(dirty.batchBytes / 1e6).toFixed(0)} MB in ${produceMs.toFixed(0)} ms; ` +
        `${cleans.length} clean(s), ${readMiB.toFixed(1)} MiB in ${cleanMs} ms ` +
        `(${((readMiB * MiB) / 1e3 / cleanMs).toFixed(0)} MB/s); .log ${(beforeBytes / 1e6).toFixed(1)} -> ` +
        `${(afterBytes / 1e6).toFixed(1)} MB; ${fmtInt(keysKept)} keys checked (others ${others.toFixed(0)}%)`,
    );
    return {
      scenario,
      produceMs,
      producedBytes: dirty.batchBytes,
      records,
      logEnd,
      beforeBytes,
      afterBytes,
      cleans,
      settleMs,
      keysKept,
      others,
    };
  } finally {
    const code = await b.stop();
    if (code !== 0) log(`  compaction: broker exited with ${code}:\n${b.output.slice(-4000)}`);
  }
}

// ---- transactions through kafkajs ----

const TXN_MODES: TxnMode[] = [
  "idempotent",
  "transactional, commit every send",
  "transactional, commit every 10 sends",
];

async function txnRuns(
  quick: boolean,
  reps: number,
  records: number,
  quietMs: number,
  log: (l: string) => void,
): Promise<{ txn: TxnRun[]; consume: ConsumeRun[] }> {
  const perSend = 1000;
  const messages = Array.from({ length: perSend }, () => ({ value: Buffer.alloc(100, 0x61) }));
  const b = await BenchBroker.start();
  // kafkajs logs each retried request at ERROR: counted, to tell its retry backoff (300 ms at first,
  // kafkajs issue 304) from the broker's own time. CONCURRENT_TRANSACTIONS is the broker's answer to
  // AddPartitionsToTxn while the previous transaction's markers are still being written (Kafka's too).
  const retries = { concurrent: 0, other: 0, backoffMs: 0, otherErrors: new Set<string>() };
  const kafka = new Kafka({
    clientId: "bench-txn",
    brokers: [`127.0.0.1:${b.kafkaPort}`],
    logLevel: logLevel.ERROR,
    logCreator:
      () =>
      ({ namespace, log: entry }) => {
        const msg = String(entry.message);
        if (namespace !== "Producer" || !msg.startsWith("Failed to send messages")) return;
        if (msg.includes("another concurrent operation on the same transaction")) retries.concurrent++;
        else {
          retries.other++;
          retries.otherErrors.add(msg);
        }
        retries.backoffMs += Number(entry.retryTime ?? 0);
      },
  });
  const admin = kafka.admin();
  const txn: TxnRun[] = [];
  const consume: ConsumeRun[] = [];
  let producers = 0;
  let groups = 0;
  const producerFor = (mode: TxnMode) =>
    kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      ...(mode === "idempotent" ? {} : { transactionalId: `bench-txn-${++producers}` }),
    });
  const sendsPerTxn = (mode: TxnMode) => (mode === "transactional, commit every send" ? 1 : 10);
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "txn-warmup", numPartitions: 1 }] });
    for (const mode of TXN_MODES) {
      const p = producerFor(mode);
      await p.connect();
      for (let i = 0; i < (quick ? 5 : 20); i++) {
        if (mode === "idempotent") await p.send({ topic: "txn-warmup", messages });
        else {
          const t = await p.transaction();
          await t.send({ topic: "txn-warmup", messages });
          await t.commit();
        }
      }
      await p.disconnect();
    }
    for (let rep = 0; rep < reps; rep++) {
      const order = TXN_MODES.map((_, i) => TXN_MODES[(i + rep) % TXN_MODES.length]);
      for (const mode of order) {
        const topic = `txn-${rep}-${TXN_MODES.indexOf(mode)}`;
        await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
        const p = producerFor(mode);
        await p.connect();
        await waitForQuiet(quietMs);
        const cpu = new CpuMeter(b.pid);
        Object.assign(retries, { concurrent: 0, other: 0, backoffMs: 0 });
        const t0 = performance.now();
        let sent = 0;
        if (mode === "idempotent") {
          while (sent < records) {
            await p.send({ topic, messages });
            sent += perSend;
          }
        } else {
          const n = sendsPerTxn(mode);
          while (sent < records) {
            const t = await p.transaction();
            for (let i = 0; i < n && sent < records; i++) {
              await t.send({ topic, messages });
              sent += perSend;
            }
            await t.commit();
          }
        }
        const ms = performance.now() - t0;
        const share = cpu.stop();
        const others = share.others;
        await p.disconnect();
        txn.push({
          mode,
          ms,
          records: sent,
          broker: share.brokerTotal,
          client: share.client,
          others,
          concurrentRetries: retries.concurrent,
          otherRetries: retries.other,
          backoffMs: retries.backoffMs,
        });
        log(
          `  ${mode}: ${fmtInt((sent / ms) * 1000)} records/s (others ${others.toFixed(0)}%); kafkajs retried ` +
            `${retries.concurrent} CONCURRENT_TRANSACTIONS, ${retries.other} other, ${retries.backoffMs.toFixed(0)} ms of backoff` +
            (retries.otherErrors.size > 0 ? `: ${[...retries.otherErrors].join("; ")}` : ""),
        );
        retries.otherErrors.clear();
      }
      // The commit-every-send topic, read back under both isolation levels.
      const topic = `txn-${rep}-1`;
      const levels = ["read_committed", "read_uncommitted"] as const;
      for (const isolation of rep % 2 === 0 ? levels : [...levels].reverse()) {
        const consumer = kafka.consumer({
          groupId: `bench-txn-read-${++groups}`,
          readUncommitted: isolation === "read_uncommitted",
          maxBytesPerPartition: 8 << 20,
          maxWaitTimeInMs: 500,
        });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await waitForQuiet(quietMs);
        let n = 0;
        let t0 = 0;
        let cpu: CpuMeter | null = null;
        let resolve!: () => void;
        const done = new Promise<void>((r) => {
          resolve = r;
        });
        consumer.on(consumer.events.GROUP_JOIN, () => {
          cpu = new CpuMeter(b.pid);
          t0 = performance.now();
        });
        await consumer.run({
          eachBatchAutoResolve: true,
          eachBatch: async ({ batch }) => {
            n += batch.messages.length;
            if (n >= records) resolve();
          },
        });
        const timeout = setTimeout(() => resolve(), 120_000);
        await done;
        clearTimeout(timeout);
        const ms = performance.now() - t0;
        const share = (cpu as CpuMeter | null)?.stop();
        const others = share?.others ?? 0;
        await consumer.disconnect();
        if (n !== records)
          throw new Error(`compaction: ${isolation} read ${n} records of ${records} from ${topic}`);
        consume.push({
          isolation,
          ms,
          records: n,
          broker: share?.brokerTotal ?? 0,
          client: share?.client ?? 0,
          others,
        });
        log(`  consume ${isolation}: ${fmtInt((n / ms) * 1000)} records/s (others ${others.toFixed(0)}%)`);
      }
      for (let i = 0; i < TXN_MODES.length; i++) await admin.deleteTopics({ topics: [`txn-${rep}-${i}`] });
    }
  } finally {
    await admin.disconnect().catch(() => {});
    const code = await b.stop();
    if (code !== 0) log(`  transactions: broker exited with ${code}:\n${b.output.slice(-4000)}`);
  }
  return { txn, consume };
}

export async function measureCompaction(
  quick: boolean,
  reps: number,
  quietMs: number,
  log: (l: string) => void,
): Promise<CompactionResult> {
  const dirtyBytes = (quick ? 32 : 256) * MiB;
  const segmentBytes = (quick ? 4 : 16) * MiB;
  const txnRecords = quick ? 50_000 : 200_000;
  const dirty = buildDirtyLog(dirtyBytes);
  log(
    `  compaction: dirty log of ${fmtInt(dirty.keys.length)} records (${(dirty.batchBytes / 1e6).toFixed(0)} MB) ` +
      `over ${fmtInt(new Set(dirty.keys).size)} keys, ${RECORDS_PER_BATCH} per batch`,
  );
  const cleaner: CleanerRun[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? (["backlog", "live"] as const) : (["live", "backlog"] as const);
    for (const s of order) {
      await waitForQuiet(quietMs);
      cleaner.push(await cleanerRun(s, dirty, segmentBytes, log));
    }
  }
  const { txn, consume } = await txnRuns(quick, reps, txnRecords, quietMs, log);
  return {
    dirtyBytes: dirty.batchBytes,
    segmentBytes,
    records: dirty.keys.length,
    reps,
    cleaner,
    txnRecords,
    txn,
    consume,
  };
}

export function compactionIntro(r: CompactionResult): string {
  return (
    `Log cleaner: one compacted partition (segment.bytes ${r.segmentBytes / MiB} MiB, segment.ms ${SEGMENT_MS}, ` +
    `min.cleanable.dirty.ratio 0.01, log.cleaner.backoff.ms ${BACKOFF_MS}, one cleaner thread), ` +
    `${(r.dirtyBytes / 1e6).toFixed(0)} MB of dirty log (${fmtInt(r.records)} records of ${VALUE_MIN}-${VALUE_MAX} B ` +
    `over ${fmtInt(KEYS)} random keys, ${RECORDS_PER_BATCH} per batch) from the lean client, ${WINDOW} in flight. ` +
    "_backlog_: held by min.compaction.lag.ms while produced, then released (one clean of the whole log); " +
    "_live_: cleaned while produced. MB/s = sum of what the broker's clean lines say was read / sum of their " +
    "times; per clean = median of each line's; disk = the partition's .log bytes before any clean and after " +
    "the clean up to the log end (the log is then read back and checked: one record per key, its last write); " +
    "others' CPU = the rest of the machine from the first produce to the last clean. " +
    `Transactions: kafkajs, ${fmtInt(r.txnRecords)} x 100 B per run, send()s of 1,000 one at a time ` +
    "(maxInFlightRequests 1, acks=-1), the same client for every mode; then the commit-every-send topic read " +
    "by a kafkajs group consumer (timed from its join). CPU: % of one core, broker = every thread of it, " +
    "client = this process (kafkajs). kafkajs retries: requests it retried in the run (CONCURRENT_TRANSACTIONS " +
    "unless said: an AddPartitionsToTxn that arrived while the previous transaction's markers were still " +
    "being written) and the backoff it waited for them, summed; the last column takes that wait out of the " +
    "run's time (what the broker's transactions cost with a client that retried at once). " +
    (r.reps > 1 ? `Median of ${r.reps} runs, modes interleaved.` : "One run.")
  );
}

const cpuCell = (runs: { broker: number; client: number }[]) =>
  `${median(runs.map((x) => x.broker)).toFixed(0)}% / ${median(runs.map((x) => x.client)).toFixed(0)}%`;

export function compactionTables(
  r: CompactionResult,
  table: (h: string[], right: boolean[], rows: string[][]) => string,
): string {
  const mbs = (mib: number, ms: number) => (ms > 0 ? (mib * MiB) / 1e3 / ms : Number.NaN);
  const cleanerRows = (["backlog", "live"] as const).flatMap((s) => {
    const runs = r.cleaner.filter((c) => c.scenario === s);
    if (runs.length === 0) return [];
    const total = runs.map((c) =>
      mbs(
        c.cleans.reduce((a, x) => a + x.readMiB, 0),
        c.cleans.reduce((a, x) => a + x.ms, 0),
      ),
    );
    const perClean = runs.map((c) => median(c.cleans.map((x) => mbs(x.readMiB, x.ms))));
    const before = median(runs.map((c) => c.beforeBytes));
    const after = median(runs.map((c) => c.afterBytes));
    return [
      [
        s,
        fmtInt(median(runs.map((c) => (c.producedBytes / c.produceMs) * 1e-3))),
        runs.map((c) => String(c.cleans.length)).join(", "),
        median(runs.map((c) => c.cleans.reduce((a, x) => a + x.readMiB, 0) * 1.048576)).toFixed(0),
        fmtInt(median(total)),
        fmtInt(median(perClean)),
        total.map((x, i) => `${fmtInt(x)} (${runs[i].others.toFixed(0)}%)`).join(", "),
        `${fmtInt(runs[0].records)} -> ${fmtInt(runs[0].keysKept)}`,
        `${(before / 1e6).toFixed(1)} -> ${(after / 1e6).toFixed(1)} MB`,
        `${((before - after) / 1e6).toFixed(1)} MB (${(before / after).toFixed(0)}:1)`,
        `${fmtInt(median(runs.map((c) => c.settleMs)))} ms`,
      ],
    ];
  });
  const a = table(
    [
      "case",
      "produce MB/s",
      "cleans per run",
      "MB read by cleans",
      "clean MB/s (sum / sum)",
      "per clean (median)",
      "each run, MB/s (others' CPU)",
      "records",
      ".log before -> after",
      "reclaimed",
      "to the last clean",
    ],
    [false, true, false, true, true, true, false, false, false, false, true],
    cleanerRows,
  );
  const idem = median(r.txn.filter((t) => t.mode === "idempotent").map((t) => (t.records / t.ms) * 1000));
  const b = table(
    [
      "producer (kafkajs)",
      "records/s (median)",
      "vs idempotent",
      "transactions/s",
      "each run (others' CPU)",
      "CPU: broker / client (median)",
      "kafkajs retries per run (its backoff)",
      "records/s, its backoff taken out",
    ],
    [false, true, true, true, false, false, false, true],
    TXN_MODES.flatMap((mode) => {
      const runs = r.txn.filter((t) => t.mode === mode);
      if (runs.length === 0) return [];
      const rate = median(runs.map((t) => (t.records / t.ms) * 1000));
      const perTxn = mode === "idempotent" ? 0 : mode === "transactional, commit every send" ? 1000 : 10_000;
      return [
        [
          mode,
          fmtInt(rate),
          `${(rate / idem).toFixed(2)}x`,
          perTxn > 0 ? (rate / perTxn).toFixed(0) : "",
          runs.map((t) => `${fmtInt((t.records / t.ms) * 1000)} (${t.others.toFixed(0)}%)`).join(", "),
          cpuCell(runs),
          runs
            .map(
              (t) =>
                `${t.concurrentRetries + t.otherRetries}${t.otherRetries > 0 ? ` (${t.otherRetries} not CONCURRENT_TRANSACTIONS)` : ""} (${fmtInt(t.backoffMs)} ms)`,
            )
            .join(", "),
          fmtInt(median(runs.map((t) => (t.records / (t.ms - t.backoffMs)) * 1000))),
        ],
      ];
    }),
  );
  if (r.consume.length === 0) return `${a}\n\n${b}`;
  const unc = median(
    r.consume.filter((c) => c.isolation === "read_uncommitted").map((c) => (c.records / c.ms) * 1000),
  );
  const c = table(
    [
      "consumer (kafkajs), commit-every-send topic",
      "records/s (median)",
      "vs read_uncommitted",
      "each run (others' CPU)",
      "CPU: broker / client (median)",
    ],
    [false, true, true, false, false],
    (["read_committed", "read_uncommitted"] as const).map((iso) => {
      const runs = r.consume.filter((x) => x.isolation === iso);
      const rate = median(runs.map((x) => (x.records / x.ms) * 1000));
      return [
        iso,
        fmtInt(rate),
        `${(rate / unc).toFixed(2)}x`,
        runs.map((x) => `${fmtInt((x.records / x.ms) * 1000)} (${x.others.toFixed(0)}%)`).join(", "),
        cpuCell(runs),
      ];
    }),
  );
  return `${a}\n\n${b}\n\n${c}`;
}
