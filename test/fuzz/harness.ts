// Protocol fuzz harness (issue 8, "Hardening"): for a given time, against a running broker
// (test/helpers/broker_process.ts), it opens connections over TCP (4-byte size-prefixed frames)
// and WebSocket (one binary message = one frame) and sends random frames, odd size prefixes,
// mutated valid requests of every advertised API version (test/fuzz/corpus.ts,
// test/fuzz/mutate.ts), Produce requests with corrupted RecordBatch v2 payloads, pipelined bursts,
// and frames cut off by an abrupt close. Each connection sends a few things, reads whatever comes
// back without waiting for it, and closes (or is closed by the broker).
//
// Deterministic: connection i draws from its own generator, seeded from (seed, i), so
// `runFuzz({ seed, only: [i] })` sends exactly what connection i sent. While it runs it watches
// the broker: its process exiting (death), ApiVersions on a fresh connection failing (hang), and
// error lines in its output (uncaught errors, handler failures, unencodable responses). Each
// finding is dumped with the last frames of the connections that may have caused it, as hex, to
// /tmp/milena-fuzz-findings/ (replay them with test/fuzz/replay.ts). runFuzz never throws
// because of what the broker does: it reports, and the caller decides (test/fuzz/checks.ts).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import path from "node:path";
import WebSocket from "ws";
import type { ApiVersionRange } from "../../src/protocol/api_versions.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { Reader } from "../../src/protocol/reader.ts";
import type { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient, requestFrame } from "../integration/raw_client.ts";
import {
  apiName,
  buildCorpus,
  type Corpus,
  type CorpusEntry,
  FUZZ_PARTITIONS,
  FUZZ_TOPICS,
  produceFrame,
} from "./corpus.ts";
import { corruptBatch, mutateFrame, validBatch } from "./mutate.ts";
import { deriveSeed, Rng } from "./prng.ts";

export type Transport = "tcp" | "ws";
export type RequestKind = "valid" | "mutated" | "batch" | "random";

export const FINDINGS_DIR = "/tmp/milena-fuzz-findings";

export interface FuzzOptions {
  broker: BrokerProcess;
  seed: number;
  durationMs: number;
  transports?: readonly Transport[];
  /** Connections open at a time (default 8). */
  concurrency?: number;
  /** Replay: run only these connection indices, one after another (durationMs still bounds it). */
  only?: readonly number[];
  /**
   * Only these kinds of request (default all: valid, mutated, batch, random); for narrowing a
   * finding down. Changes what every connection sends, so a seed replays only with the same.
   */
  kinds?: readonly RequestKind[];
  /** Only corpus entries of these api keys (default all). */
  apiKeys?: readonly number[];
  /** First connection index (a second run on the same seed can continue where one stopped). */
  firstConnection?: number;
  findingsDir?: string;
  /** Progress and finding lines (default: none). */
  log?: (line: string) => void;
}

export interface Finding {
  kind: "death" | "hang" | "log" | "offline";
  /** offline: the partition ("topic/partition") that stopped taking valid batches. */
  target?: string;
  /** What identifies it among others (numbers and ports stripped). */
  signature: string;
  /** The broker's line(s), or what was observed. */
  message: string;
  /** How many times it was seen in this run. */
  count: number;
  seed: number;
  /** ms since the run started. */
  at: number;
  /** Connection indices whose frames may have caused it, most likely first. */
  suspects: number[];
  /** Where its reproducer was written. */
  dir?: string;
}

export interface FuzzStats {
  seed: number;
  durationMs: number;
  connections: { tcp: number; ws: number };
  connectFailures: number;
  /** Frames (or raw writes) sent, per kind. */
  sent: Record<string, number>;
  /** Valid and mutated requests sent, per "Api vN". */
  sentByApi: Record<string, number>;
  pipelines: number;
  bytesSent: number;
  responses: number;
  responseBytes: number;
  closedByBroker: number;
  closedByUs: number;
  brokerDied: boolean;
  hang: boolean;
  maxRssBytes: number;
  /** Broker RSS (MiB) at each probe, every 2 s. */
  rssTrendMiB: number[];
  findings: Finding[];
  /** Advertised versions without a corpus entry (they get random bodies only). */
  corpusMissing: string[];
  corpusSize: number;
  /** Index of the next connection (for a continuation run). */
  nextConnection: number;
}

// ---- what each connection sent, kept for the reproducer ----

/** Bytes kept per send; larger ones keep their head (random ones can be regenerated). */
const KEEP_BYTES = 64 * 1024;
const SENDS_PER_CONNECTION = 16;
/** Closed connections kept for blame, bounded by count and bytes. */
const RECENT_CONNECTIONS = 256;
const RECENT_BYTES = 32 * 1024 * 1024;
/** Batches kept per fuzz partition (for an offline partition's reproducer). */
const PRODUCED_PER_PARTITION = 200;

export interface SendRecord {
  seq: number;
  /** ms since the run started. */
  t: number;
  kind: string;
  detail: string;
  /** Api key and version its (first) header names, as "Fetch v8" ("?" when too short). */
  api: string;
  /** "frame": TCP, size prefix added; "raw": TCP bytes as they are; "ws", "ws-text", "ws-part". */
  wire: "frame" | "raw" | "ws" | "ws-text" | "ws-part";
  length: number;
  bytes: Buffer;
  /** bytes holds only the head of the send. */
  truncated: boolean;
  /** Random bytes: regenerate with new Rng(seed).bytes(length). */
  regen?: number;
}

export interface ConnectionRecord {
  index: number;
  transport: Transport;
  localPort: number;
  openedAt: number;
  closedAt: number;
  closedBy: "broker" | "us" | null;
  responses: number;
  sends: SendRecord[];
  keptBytes: number;
}

// ---- transports ----

export interface FuzzSocket {
  /** One request frame (TCP: size prefix added). */
  frame(b: Buffer): void;
  /** TCP bytes exactly as given (no-op on WebSocket). */
  raw(b: Buffer): void;
  /** WebSocket only: a text message, or the first fragment of a binary message. */
  text(b: Buffer): void;
  fragment(b: Buffer): void;
  destroy(): void;
  readonly closed: boolean;
  readonly closedPromise: Promise<void>;
  localPort: number;
}

/** Counts response frames on TCP without keeping their bytes. */
class FrameCounter {
  private header = Buffer.alloc(4);
  private headerFill = 0;
  private remaining = 0;
  constructor(private readonly onFrame: (size: number) => void) {}
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - at);
        this.remaining -= n;
        at += n;
        continue;
      }
      this.header[this.headerFill++] = chunk[at++];
      if (this.headerFill === 4) {
        this.headerFill = 0;
        const size = this.header.readInt32BE(0);
        this.onFrame(size);
        this.remaining = Math.max(0, size);
      }
    }
  }
}

export function openTcp(
  host: string,
  port: number,
  onResponse: (bytes: number) => void,
  onBrokerClose: () => void,
): Promise<FuzzSocket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    let closed = false;
    let byUs = false;
    let markClosed!: () => void;
    const closedPromise = new Promise<void>((r) => {
      markClosed = r;
    });
    const counter = new FrameCounter((size) => onResponse(size));
    socket.on("data", (d: Buffer) => counter.push(d));
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      if (!byUs) onBrokerClose();
      markClosed();
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("TCP connect timed out"));
    }, 3000);
    socket.once("connect", () => {
      clearTimeout(timer);
      const s: FuzzSocket = {
        frame(b) {
          if (closed) return;
          const size = Buffer.alloc(4);
          size.writeInt32BE(b.length);
          socket.write(Buffer.concat([size, b]));
        },
        raw(b) {
          if (!closed) socket.write(b);
        },
        text() {},
        fragment() {},
        destroy() {
          if (!closed) byUs = true;
          socket.destroy();
        },
        get closed() {
          return closed;
        },
        closedPromise,
        localPort: socket.localPort ?? 0,
      };
      resolve(s);
    });
    socket.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export function openWs(
  url: string,
  onResponse: (bytes: number) => void,
  onBrokerClose: () => void,
): Promise<FuzzSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { handshakeTimeout: 3000, perMessageDeflate: false });
    ws.binaryType = "nodebuffer";
    let closed = false;
    let byUs = false;
    let markClosed!: () => void;
    const closedPromise = new Promise<void>((r) => {
      markClosed = r;
    });
    ws.on("message", (data: Buffer) => onResponse(data.length));
    ws.on("error", () => {});
    ws.on("close", () => {
      closed = true;
      if (!byUs) onBrokerClose();
      markClosed();
    });
    const send = (b: Buffer, opts: { binary: boolean; fin?: boolean }) => {
      if (closed || ws.readyState !== WebSocket.OPEN) return;
      try {
        ws.send(b, opts);
      } catch {
        // a send after the broker closed: nothing to do
      }
    };
    ws.once("open", () => {
      const underlying = (ws as unknown as { _socket?: net.Socket })._socket;
      const s: FuzzSocket = {
        frame: (b) => send(b, { binary: true }),
        raw() {},
        text: (b) => send(b, { binary: false }),
        fragment: (b) => send(b, { binary: true, fin: false }),
        destroy() {
          if (!closed) byUs = true;
          ws.terminate();
        },
        get closed() {
          return closed;
        },
        closedPromise,
        localPort: underlying?.localPort ?? 0,
      };
      resolve(s);
    });
    ws.once("error", reject);
  });
}

// ---- the run ----

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** CPU time (user + system) a process has used, in seconds; -1 when it cannot be read. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return -1;
  }
}

/** p, or a rejection after ms. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${ms} ms`)), ms);
  });
  p.catch(() => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether the broker process still runs: no exit seen, and /proc has it, not as a zombie (a
 * signal death leaves exitCode null, so that alone does not tell).
 */
export function brokerAlive(broker: BrokerProcess): boolean {
  if (broker.exitCode !== null || broker.pid === undefined) return false;
  try {
    const status = readFileSync(`/proc/${broker.pid}/status`, "utf8");
    return !/^State:\s+[ZX]/m.test(status);
  } catch {
    return false;
  }
}

/** ApiVersions v2 on a fresh TCP connection; resolves with the error code, rejects on timeout. */
export async function probeApiVersions(broker: BrokerProcess, timeoutMs: number): Promise<number> {
  let client: RawClient | null = null;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ApiVersions answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const answer = (async () => {
      client = await RawClient.tcp(broker.bootstrap);
      return (await client.apiVersions(2)).errorCode;
    })();
    answer.catch(() => {});
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
    (client as RawClient | null)?.close();
  }
}

/** The broker's advertised versions (ApiVersions v2). */
export async function advertisedVersions(broker: BrokerProcess): Promise<ApiVersionRange[]> {
  const c = await RawClient.tcp(broker.bootstrap);
  try {
    const res = await c.request(apiVersionsCodec, 2, {
      clientSoftwareName: "milena-fuzz",
      clientSoftwareVersion: "1",
    });
    return res.apiKeys;
  } finally {
    c.close();
  }
}

/**
 * Create the fuzzer's topics (already there is fine) and put a few batches in each partition, so
 * fetches and offset lookups have data to read (a replay on a new broker starts the same way).
 */
export async function prepareFuzzTopics(broker: BrokerProcess): Promise<void> {
  const c = await RawClient.tcp(broker.bootstrap);
  try {
    await c.request(createTopicsCodec, 3, {
      topics: FUZZ_TOPICS.map((name) => ({
        name,
        numPartitions: FUZZ_PARTITIONS,
        replicationFactor: 1,
        assignments: [],
        configs: [],
      })),
      timeoutMs: 5000,
      validateOnly: false,
    });
    const rng = new Rng(7);
    for (const name of FUZZ_TOPICS) {
      for (let p = 0; p < FUZZ_PARTITIONS; p++) {
        for (let i = 0; i < 4; i++) {
          await c.request(produceCodec, 7, {
            transactionalId: null,
            acks: 1,
            timeoutMs: 5000,
            topics: [{ name, partitions: [{ partitionIndex: p, records: validBatch(rng) }] }],
          });
        }
      }
    }
  } finally {
    c.close();
  }
}

/**
 * The partitions ("topic/partition") of these topics that answer a valid Produce (acks=1) with
 * KAFKA_STORAGE_ERROR. Other errors (a topic deleted or reconfigured by the fuzz) do not count.
 */
export async function offlinePartitions(
  broker: BrokerProcess,
  topics: readonly { name: string; partitions: number }[],
): Promise<string[]> {
  const c = await RawClient.tcp(broker.bootstrap);
  const out: string[] = [];
  try {
    const res = await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topics: topics.map(({ name, partitions }) => ({
        name,
        partitions: Array.from({ length: partitions }, (_, p) => ({
          partitionIndex: p,
          records: validBatch(new Rng(p)),
        })),
      })),
    });
    for (const t of res.responses)
      for (const p of t.partitions)
        if (p.errorCode === ErrorCode.KAFKA_STORAGE_ERROR) out.push(`${t.name}/${p.partitionIndex}`);
  } finally {
    c.close();
  }
  return out;
}

/** Digits, ports and hex runs out, so the same defect seen twice has one signature. */
export function signatureOf(line: string): string {
  return line
    .replace(/\/tmp\/milena-test-\w+[^\s':,]*/g, "<path>")
    .replace(/[0-9a-f]{16,}/gi, "H")
    .replace(/127\.0\.0\.1(:\d+)?/g, "<remote>")
    .replace(/\b(v|version )\d+/g, "vN")
    .replace(/\b(topic|group|member) \S+/g, "$1 X")
    .replace(/0x[0-9a-f]+/gi, "N")
    .replace(/\d+/g, "N")
    .replace(/\s+/g, " ")
    .slice(0, 200);
}

/** Broker output lines that are findings (not the expected "closing connection" refusals). */
export const FINDING_LINE =
  /uncaught error|unhandled rejection|error handling |cannot encode|storage error|fatal|failed:|out of memory|heap|RangeError|TypeError|Assertion/i;
export const EXPECTED_LINE =
  /^\s*(\[milena[^\]]*\]\s*)?(closing connection|refused|\(\d[\d,]* more )|max\.broker\.partitions|max\.partitions\.per\.request/;

class Run {
  readonly stats: FuzzStats;
  private readonly t0 = Date.now();
  private readonly active = new Map<number, ConnectionRecord>();
  private readonly recent: ConnectionRecord[] = [];
  private recentBytes = 0;
  private readonly byPort = new Map<number, ConnectionRecord>();
  private readonly findingsBySig = new Map<string, Finding>();
  private readonly produced = new Map<
    string,
    { transport: Transport; connection: number; send: SendRecord }[]
  >();
  private readonly offline = new Set<string>();
  private outputSeen: number;
  private seq = 0;
  stopping = false;
  private probeFailures = 0;
  private readonly host: string;
  private readonly port: number;
  private readonly transports: readonly Transport[];
  private readonly produceVersions: number[];
  /** (api, version) keys of the corpus, for uniform coverage. */
  private readonly versionKeys: string[];
  private readonly kindWeights: readonly (readonly [RequestKind, number])[];

  constructor(
    readonly opts: FuzzOptions,
    readonly corpus: Corpus,
  ) {
    const [host, port] = opts.broker.bootstrap.split(":");
    this.host = host;
    this.port = Number(port);
    this.transports = (opts.transports ?? ["tcp", "ws"]).filter((t) => t === "tcp" || opts.broker.wsPort > 0);
    const produce = corpus.advertised.find((a) => a.apiKey === produceCodec.key);
    this.produceVersions = [];
    if (produce) for (let v = produce.minVersion; v <= produce.maxVersion; v++) this.produceVersions.push(v);
    this.versionKeys = [...corpus.byVersion.keys()]
      .filter((k) => opts.apiKeys === undefined || opts.apiKeys.includes(Number(k.split("/")[0])))
      .sort();
    const kinds = opts.kinds ?? ["valid", "mutated", "batch", "random"];
    this.kindWeights = (
      [
        ["valid", 2],
        ["mutated", 8],
        ["batch", 4],
        ["random", 2],
      ] as const
    ).filter(
      ([k]) => kinds.includes(k) && (this.versionKeys.length > 0 || (k !== "valid" && k !== "mutated")),
    );
    this.outputSeen = opts.broker.output.length;
    this.stats = {
      seed: opts.seed,
      durationMs: 0,
      connections: { tcp: 0, ws: 0 },
      connectFailures: 0,
      sent: {},
      sentByApi: {},
      pipelines: 0,
      bytesSent: 0,
      responses: 0,
      responseBytes: 0,
      closedByBroker: 0,
      closedByUs: 0,
      brokerDied: false,
      hang: false,
      maxRssBytes: 0,
      rssTrendMiB: [],
      findings: [],
      corpusMissing: corpus.missing,
      corpusSize: corpus.entries.length,
      nextConnection: opts.firstConnection ?? 0,
    };
  }

  private log(line: string): void {
    this.opts.log?.(line);
  }

  private now(): number {
    return Date.now() - this.t0;
  }

  // ---- watching the broker ----

  checkAlive(): void {
    if (this.stats.brokerDied || brokerAlive(this.opts.broker)) return;
    this.stats.brokerDied = true;
    this.stopping = true;
    const tail = this.opts.broker.output.slice(-4000);
    const cause = tail
      .split("\n")
      .filter((l) => FINDING_LINE.test(l) && !EXPECTED_LINE.test(l))
      .at(-1);
    this.addFinding(
      "death",
      cause ? signatureOf(cause) : `exit code ${this.opts.broker.exitCode}`,
      `broker exited (code ${this.opts.broker.exitCode}); last output:\n${tail}`,
      this.allSuspects(),
    );
  }

  async probe(): Promise<void> {
    if (this.stopping) return;
    try {
      const rss = this.opts.broker.rssBytes();
      this.stats.maxRssBytes = Math.max(this.stats.maxRssBytes, rss);
      this.stats.rssTrendMiB.push(Math.round(rss / 1048576));
    } catch {
      // process gone: checkAlive reports it
    }
    try {
      await probeApiVersions(this.opts.broker, 5000);
      this.probeFailures = 0;
    } catch (e) {
      if (!brokerAlive(this.opts.broker)) return;
      this.probeFailures++;
      this.log(`probe failed (${this.probeFailures}): ${(e as Error).message}`);
      if (this.probeFailures >= 2 && !this.stats.hang) {
        this.stats.hang = true;
        this.stopping = true;
        this.addFinding(
          "hang",
          "broker stopped answering ApiVersions",
          `ApiVersions on a fresh TCP connection failed twice in a row (${(e as Error).message}); last output:\n${this.opts.broker.output.slice(-3000)}`,
          this.allSuspects(),
        );
      }
      return;
    }
    try {
      await withTimeout(this.checkWritable(), 10_000, "a Produce to the fuzz partitions");
    } catch (e) {
      this.log(`checking the fuzz partitions: ${(e as Error).message}`);
    }
  }

  /** A valid batch to every fuzz partition: KAFKA_STORAGE_ERROR means a request took it offline. */
  private async checkWritable(): Promise<void> {
    const offline = await offlinePartitions(
      this.opts.broker,
      FUZZ_TOPICS.map((name) => ({ name, partitions: FUZZ_PARTITIONS })),
    );
    for (const t of offline) {
      if (this.offline.has(t)) continue;
      this.offline.add(t);
      const batches = this.produced.get(t) ?? [];
      const records: ConnectionRecord[] = batches.map((b, k) => ({
        index: -1 - k,
        transport: b.transport,
        localPort: 0,
        openedAt: b.send.t,
        closedAt: b.send.t,
        closedBy: null,
        responses: 0,
        sends: [b.send],
        keptBytes: b.send.bytes.length,
      }));
      this.addFinding(
        "offline",
        `partition ${t} went offline`,
        `partition ${t} answers a valid Produce with KAFKA_STORAGE_ERROR (it went offline); the broker printed nothing about it at the time; ${batches.length} batches sent to it recorded (each replayed as its own connection)`,
        [],
        { target: t, records },
      );
    }
  }

  /**
   * After a hang, with the fuzz stopped: does the broker come back (overload) or not (stuck),
   * and how busy is it meanwhile? Noted in the finding and next to its dump.
   */
  async recovery(): Promise<void> {
    const f = this.stats.findings.find((x) => x.kind === "hang");
    const pid = this.opts.broker.pid;
    if (!f || pid === undefined) return;
    const t0 = Date.now();
    const cpu0 = cpuSeconds(pid);
    let back = -1;
    while (Date.now() - t0 < 30_000 && brokerAlive(this.opts.broker)) {
      try {
        await probeApiVersions(this.opts.broker, 2000);
        back = Date.now() - t0;
        break;
      } catch {
        await sleep(500);
      }
    }
    const secs = (Date.now() - t0) / 1000;
    const cpu = cpu0 >= 0 ? Math.round(((cpuSeconds(pid) - cpu0) / secs) * 100) : -1;
    const note =
      back >= 0
        ? `recovered ${back} ms after the fuzz stopped (broker CPU ${cpu}% meanwhile)`
        : `still not answering 30 s after the fuzz stopped (broker CPU ${cpu}% of a core meanwhile)`;
    f.message = `${note}; ${f.message}`;
    this.log(`hang: ${note}`);
    if (f.dir) writeFileSync(path.join(f.dir, "recovery.txt"), `${note}\n`);
  }

  scanOutput(): void {
    const out = this.opts.broker.output;
    if (out.length <= this.outputSeen) return;
    // Whole lines only; the rest waits for the next scan.
    const end = out.lastIndexOf("\n");
    if (end < this.outputSeen) return;
    const chunk = out.slice(this.outputSeen, end);
    this.outputSeen = end + 1;
    const lines = chunk.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (!FINDING_LINE.test(line) || EXPECTED_LINE.test(line)) continue;
      // A stack trace follows on the next lines: keep a few for the message.
      let message = line;
      while (i + 1 < lines.length && /^\s+at |^\s*\w*Error\b/.test(lines[i + 1])) {
        if (message.split("\n").length < 8) message += `\n${lines[i + 1]}`;
        i++;
      }
      const firstStack = message.split("\n").find((l) => /^\s+at /.test(l)) ?? "";
      this.addFinding(
        "log",
        `${signatureOf(line)} ${signatureOf(firstStack)}`.trim(),
        message,
        this.blame(line),
      );
    }
  }

  /**
   * Connections that may have caused a broker line: the one whose port it names (TCP), else the
   * ones that sent the API version it names (newest first), else the open WebSocket ones.
   */
  private blame(line: string): number[] {
    const port = /127\.0\.0\.1:(\d+)/.exec(line);
    const byPort = port ? this.byPort.get(Number(port[1])) : undefined;
    if (byPort) return [byPort.index];
    const ws = port === null && /127\.0\.0\.1/.test(line);
    const api = /(?:handling|encoding|encode) (\w+ v-?\d+)/.exec(line)?.[1];
    const all = [
      ...this.recent,
      ...[...this.active.values()].sort((a, b) => a.openedAt - b.openedAt),
    ].reverse();
    const fits = all.filter(
      (c) => (!ws || c.transport === "ws") && (api === undefined || c.sends.some((s) => s.api === api)),
    );
    if (fits.length > 0) return fits.slice(0, 16).map((c) => c.index);
    return all
      .filter((c) => !ws || c.transport === "ws")
      .slice(0, 16)
      .map((c) => c.index);
  }

  private allSuspects(): number[] {
    const active = [...this.active.values()].sort((a, b) => b.openedAt - a.openedAt).map((c) => c.index);
    const recent = this.recent
      .slice(-32)
      .reverse()
      .map((c) => c.index);
    return [...active, ...recent];
  }

  private addFinding(
    kind: Finding["kind"],
    signature: string,
    message: string,
    suspects: number[],
    extra: { target?: string; records?: ConnectionRecord[] } = {},
  ): void {
    const sig = `${kind}: ${signature}`;
    const known = this.findingsBySig.get(sig);
    if (known) {
      known.count++;
      return;
    }
    const f: Finding = {
      kind,
      signature: sig,
      message,
      count: 1,
      seed: this.opts.seed,
      at: this.now(),
      suspects,
      target: extra.target,
    };
    this.findingsBySig.set(sig, f);
    this.stats.findings.push(f);
    if (this.stats.findings.length <= 100) f.dir = this.dump(f, extra.records ?? []);
    this.log(
      `FINDING (${kind}) at ${f.at} ms: ${message.split("\n")[0].slice(0, 300)}${f.dir ? ` -> ${f.dir}` : ""}`,
    );
  }

  private record(index: number): ConnectionRecord | undefined {
    return this.active.get(index) ?? this.recent.find((c) => c.index === index);
  }

  /** Write a finding and its suspects' last sends (hex) under the findings dir. */
  private dump(f: Finding, records: ConnectionRecord[]): string | undefined {
    try {
      const root = this.opts.findingsDir ?? FINDINGS_DIR;
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const dir = path.join(root, `${stamp}-seed${this.opts.seed}-${f.kind}-${this.stats.findings.length}`);
      mkdirSync(dir, { recursive: true });
      const connections = [
        ...records,
        ...f.suspects.map((i) => this.record(i)).filter((c): c is ConnectionRecord => c !== undefined),
      ].map((c) => ({
        index: c.index,
        transport: c.transport,
        localPort: c.localPort,
        openedAt: c.openedAt,
        closedAt: c.closedAt,
        closedBy: c.closedBy,
        responses: c.responses,
        sends: c.sends.map((s) => ({
          seq: s.seq,
          t: s.t,
          kind: s.kind,
          detail: s.detail,
          api: s.api,
          wire: s.wire,
          length: s.length,
          truncated: s.truncated,
          regen: s.regen,
          hex: s.bytes.toString("hex"),
        })),
      }));
      const finding = { ...f, dir, broker: { overrides: this.opts.broker.overrides }, connections };
      writeFileSync(path.join(dir, "finding.json"), `${JSON.stringify(finding, null, 1)}\n`);
      const lines = [
        `${f.kind}: ${f.message}`,
        "",
        `seed ${f.seed}, ${f.at} ms into the run; suspects (most likely first): ${f.suspects.join(", ")}`,
        `replay one connection: FUZZ_SEED=${f.seed} FUZZ_CONN=<index> node --import tsx test/fuzz/run.ts`,
        `replay these frames on a fresh broker: node --import tsx test/fuzz/replay.ts ${dir}`,
        "",
      ];
      for (const c of connections) {
        lines.push(
          `== connection ${c.index} (${c.transport}, port ${c.localPort}, closed by ${c.closedBy ?? "-"})`,
        );
        for (const s of c.sends) {
          const shown = s.hex.length > 512 ? `${s.hex.slice(0, 512)}... (${s.length} bytes)` : s.hex;
          lines.push(
            `  #${s.seq} +${s.t}ms ${s.kind} ${s.detail} [${s.wire}, ${s.length} B]`,
            `    ${shown}`,
          );
        }
      }
      writeFileSync(path.join(dir, "frames.txt"), `${lines.join("\n")}\n`);
      writeFileSync(path.join(dir, "broker-output.txt"), this.opts.broker.output.slice(-20000));
      return dir;
    } catch (e) {
      this.log(`could not write the finding: ${(e as Error).message}`);
      return undefined;
    }
  }

  // ---- connections ----

  private remember(c: ConnectionRecord): void {
    this.active.delete(c.index);
    this.recent.push(c);
    this.recentBytes += c.keptBytes;
    while (this.recent.length > RECENT_CONNECTIONS || this.recentBytes > RECENT_BYTES) {
      const old = this.recent.shift()!;
      this.recentBytes -= old.keptBytes;
      if (this.byPort.get(old.localPort) === old) this.byPort.delete(old.localPort);
    }
  }

  private note(
    c: ConnectionRecord,
    kind: string,
    detail: string,
    wire: SendRecord["wire"],
    bytes: Buffer,
    regen?: number,
    targets?: string[],
  ): void {
    this.stats.sent[kind] = (this.stats.sent[kind] ?? 0) + 1;
    this.stats.bytesSent += bytes.length;
    const truncated = bytes.length > KEEP_BYTES;
    const kept = truncated ? Buffer.from(bytes.subarray(0, 4096)) : bytes;
    const h = wire === "raw" ? 4 : 0;
    const s: SendRecord = {
      seq: this.seq++,
      t: this.now(),
      kind,
      detail,
      api: bytes.length >= h + 4 ? `${apiName(bytes.readInt16BE(h))} v${bytes.readInt16BE(h + 2)}` : "?",
      wire,
      length: bytes.length,
      bytes: kept,
      truncated,
      regen,
    };
    c.sends.push(s);
    c.keptBytes += kept.length;
    // Batches per partition, for blame when a partition goes offline (sent alone on replay: the
    // pipelined frames of TCP go as single frames, which a replay sends the same way).
    for (const t of targets ?? []) {
      let ring = this.produced.get(t);
      if (!ring) this.produced.set(t, (ring = []));
      ring.push({
        transport: c.transport,
        connection: c.index,
        send: { ...s, wire: c.transport === "tcp" ? "frame" : "ws" },
      });
      if (ring.length > PRODUCED_PER_PARTITION) ring.shift();
    }
    if (c.sends.length > SENDS_PER_CONNECTION) c.keptBytes -= c.sends.shift()!.bytes.length;
  }

  /** A corpus entry, chosen uniformly over (api, version) first. */
  private entry(rng: Rng): CorpusEntry {
    const list = this.corpus.byVersion.get(rng.pick(this.versionKeys))!;
    return rng.pick(list);
  }

  /** One request frame to send (no size prefix), with its kind and a description. */
  private request(
    rng: Rng,
    correlationId: number,
  ): { frame: Buffer; kind: string; detail: string; targets?: string[] } {
    const kind = rng.weighted(this.kindWeights);
    if (kind === "valid" || kind === "mutated") {
      const e = this.entry(rng);
      const frame = Buffer.from(e.frame);
      if (frame.length >= 8) frame.writeInt32BE(correlationId, 4);
      const api = `${e.apiName} v${e.version}`;
      this.stats.sentByApi[api] = (this.stats.sentByApi[api] ?? 0) + 1;
      if (kind === "valid") return { frame, kind, detail: `${api} (${e.source})` };
      const m = mutateFrame(rng, frame, this.corpus.advertised);
      return { frame: m.frame, kind, detail: `${api} (${e.source}) ${m.ops.join(" ")}` };
    }
    if (kind === "batch") {
      const versions = this.produceVersions.filter((v) => v >= 3);
      const version =
        versions.length > 0 && rng.chance(0.9) ? rng.pick(versions) : rng.pick(this.produceVersions);
      const topic = rng.chance(0.9) ? rng.pick(FUZZ_TOPICS) : rng.pick(["fuzz-missing", "", "fuzz-0\u0000"]);
      const sets: { partition: number; records: Buffer }[] = [];
      const ops: string[] = [];
      const n = rng.chance(0.8) ? 1 : 2;
      for (let i = 0; i < n; i++) {
        const b = corruptBatch(rng);
        ops.push(...b.ops);
        sets.push({
          partition: rng.chance(0.95) ? rng.int(FUZZ_PARTITIONS) : rng.pick([-1, 99]),
          records: b.records,
        });
      }
      const acks = rng.pick([1, 1, -1, 0]);
      const frame = produceFrame(version, topic, sets, acks);
      frame.writeInt32BE(correlationId, 4);
      this.stats.sentByApi[`Produce v${version} (batch)`] =
        (this.stats.sentByApi[`Produce v${version} (batch)`] ?? 0) + 1;
      return {
        frame,
        kind,
        detail: `Produce v${version} ${topic} acks=${acks} ${ops.join(" ")}`,
        targets: sets.map((x) => `${topic}/${x.partition}`),
      };
    }
    return this.randomFrame(rng, correlationId);
  }

  /** Random bytes, sometimes behind a valid request header so they reach an API's decoder. */
  private randomFrame(rng: Rng, correlationId: number) {
    const size = rng.weighted([
      [0, 1],
      [rng.range(1, 16), 3],
      [rng.range(17, 512), 3],
      [rng.range(513, 64 * 1024), 1],
    ] as const);
    const body = rng.bytes(size);
    if (rng.chance(0.5)) {
      const a = rng.pick(this.corpus.advertised);
      const v = rng.range(a.minVersion, a.maxVersion);
      const frame = requestFrame(
        a.apiKey,
        v,
        correlationId,
        (w) => w.raw(body),
        rng.chance(0.8) ? "fuzz" : null,
      );
      return { frame, kind: "random", detail: `${apiName(a.apiKey)} v${v} header + ${size} random bytes` };
    }
    return { frame: body, kind: "random", detail: `${size} random bytes` };
  }

  async connection(index: number): Promise<void> {
    const rng = new Rng(deriveSeed(this.opts.seed, index));
    const transport = rng.pick(this.transports);
    const c: ConnectionRecord = {
      index,
      transport,
      localPort: 0,
      openedAt: this.now(),
      closedAt: -1,
      closedBy: null,
      responses: 0,
      sends: [],
      keptBytes: 0,
    };
    let sock: FuzzSocket;
    const onResponse = (bytes: number) => {
      c.responses++;
      this.stats.responses++;
      this.stats.responseBytes += Math.max(0, bytes);
    };
    const onBrokerClose = () => {
      c.closedBy = "broker";
      this.stats.closedByBroker++;
    };
    try {
      sock =
        transport === "tcp"
          ? await openTcp(this.host, this.port, onResponse, onBrokerClose)
          : await openWs(this.opts.broker.wsUrl, onResponse, onBrokerClose);
    } catch {
      this.stats.connectFailures++;
      return;
    }
    this.stats.connections[transport]++;
    c.localPort = sock.localPort;
    this.active.set(index, c);
    if (c.localPort > 0) this.byPort.set(c.localPort, c);
    const hardStop = setTimeout(() => sock.destroy(), 5000);
    try {
      await this.act(rng, c, sock);
      // Read whatever comes back for a moment, then go.
      await Promise.race([sock.closedPromise, sleep(rng.chance(0.3) ? rng.int(300) : rng.int(40))]);
    } catch (e) {
      this.log(`connection ${index}: harness error ${(e as Error).stack ?? e}`);
    } finally {
      clearTimeout(hardStop);
      if (!sock.closed) {
        c.closedBy = "us";
        this.stats.closedByUs++;
        sock.destroy();
      }
      c.closedAt = this.now();
      this.remember(c);
    }
  }

  private async act(rng: Rng, c: ConnectionRecord, sock: FuzzSocket): Promise<void> {
    const tcp = c.transport === "tcp";
    const actions = rng.range(1, 6);
    let correlationId = rng.chance(0.9) ? rng.int(1000) : rng.pick([-1, 0x7fffffff, -0x80000000]);
    const cid = () => {
      const v = correlationId;
      correlationId = (correlationId + 1) | 0;
      return v;
    };
    for (let i = 0; i < actions && !sock.closed && !this.stopping; i++) {
      const what = rng.weighted([
        ["request", 10],
        ["pipeline", 2],
        ["abort", 1],
        ["large", 0.15],
        ["size", tcp ? 1.5 : 0],
        ["trickle", tcp ? 0.5 : 0],
        ["text", tcp ? 0 : 0.2],
        ["fragments", tcp ? 0 : 0.5],
      ] as const);
      switch (what) {
        case "request": {
          const r = this.request(rng, cid());
          this.note(c, r.kind, r.detail, tcp ? "frame" : "ws", r.frame, undefined, r.targets);
          sock.frame(r.frame);
          break;
        }
        case "pipeline": {
          // Several requests in one write (TCP) or back to back (WebSocket), no waiting.
          this.stats.pipelines++;
          const n = rng.range(2, 16);
          const frames: Buffer[] = [];
          for (let k = 0; k < n; k++) {
            const r = this.request(rng, cid());
            const wire = tcp ? "frame" : "ws";
            this.note(c, r.kind, `pipelined ${k + 1}/${n}: ${r.detail}`, wire, r.frame, undefined, r.targets);
            frames.push(r.frame);
          }
          if (tcp) {
            const parts: Buffer[] = [];
            for (const f of frames) {
              const size = Buffer.alloc(4);
              size.writeInt32BE(f.length);
              parts.push(size, f);
            }
            sock.raw(Buffer.concat(parts));
          } else for (const f of frames) sock.frame(f);
          break;
        }
        case "abort": {
          // A frame cut off by an abrupt close.
          const r = this.request(rng, cid());
          const cut = rng.int(Math.max(1, r.frame.length));
          if (tcp) {
            const size = Buffer.alloc(4);
            size.writeInt32BE(r.frame.length);
            const bytes = Buffer.concat([size, r.frame.subarray(0, cut)]);
            this.note(c, "abort-mid-frame", `${cut} of ${r.frame.length} bytes of ${r.detail}`, "raw", bytes);
            sock.raw(bytes);
          } else {
            this.note(
              c,
              "abort-mid-frame",
              `first fragment (${r.frame.length} B) of ${r.detail}`,
              "ws-part",
              r.frame,
            );
            sock.fragment(r.frame);
          }
          await sleep(rng.int(5));
          sock.destroy();
          return;
        }
        case "large": {
          const n = rng.range(64 * 1024, 1024 * 1024);
          const sub = rng.u32();
          const bytes = new Rng(sub).bytes(n);
          if (rng.chance(0.5) && n >= 8) {
            // behind a plausible header: api key and version of something served
            const a = rng.pick(this.corpus.advertised);
            bytes.writeInt16BE(a.apiKey, 0);
            bytes.writeInt16BE(rng.range(a.minVersion, a.maxVersion), 2);
            bytes.writeInt16BE(-1, 8);
          }
          this.note(c, "random-large", `${n} random bytes (Rng ${sub})`, tcp ? "frame" : "ws", bytes, sub);
          sock.frame(bytes);
          break;
        }
        case "size": {
          const r = this.request(rng, cid());
          const variant = rng.pick(["negative", "huge", "short", "long", "zero", "limit"]);
          const declared =
            variant === "negative"
              ? rng.pick([-1, -0x80000000, -rng.range(2, 1 << 30)])
              : variant === "huge"
                ? rng.pick([0x7fffffff, 0x40000000, 104857601, 0x10000000])
                : variant === "short"
                  ? rng.int(Math.max(1, r.frame.length))
                  : variant === "long"
                    ? r.frame.length + rng.range(1, 4096)
                    : variant === "limit"
                      ? 104857600
                      : 0;
          const size = Buffer.alloc(4);
          size.writeInt32BE(declared | 0);
          const bytes = Buffer.concat([size, r.frame]);
          this.note(
            c,
            "tcp-size",
            `size ${declared} (${variant}) then ${r.frame.length} B: ${r.detail}`,
            "raw",
            bytes,
          );
          sock.raw(bytes);
          if (variant !== "short" && rng.chance(0.5)) {
            await sleep(rng.int(20));
            sock.destroy();
            return;
          }
          break;
        }
        case "trickle": {
          // One frame in small pieces: the size prefix split, the body in a few writes.
          const r = this.request(rng, cid());
          const size = Buffer.alloc(4);
          size.writeInt32BE(r.frame.length);
          const bytes = Buffer.concat([size, r.frame]);
          this.note(c, "tcp-trickle", r.detail, "raw", bytes);
          let at = 0;
          while (at < bytes.length && !sock.closed) {
            const n = Math.min(bytes.length - at, rng.range(1, 8) * (at < 4 ? 1 : 64));
            sock.raw(bytes.subarray(at, at + n));
            at += n;
            await sleep(rng.int(3));
          }
          break;
        }
        case "text": {
          const r = this.request(rng, cid());
          this.note(c, "ws-text", r.detail, "ws-text", r.frame);
          sock.text(r.frame);
          break;
        }
        case "fragments": {
          // A valid binary message sent as several WebSocket fragments.
          const r = this.request(rng, cid());
          this.note(c, "ws-fragmented", r.detail, "ws", r.frame);
          const cut = rng.int(r.frame.length + 1);
          sock.fragment(r.frame.subarray(0, cut));
          sock.frame(r.frame.subarray(cut));
          break;
        }
      }
      if (rng.chance(0.5)) await sleep(rng.int(30));
    }
  }
}

/** Run the fuzzer against a running broker; returns what it sent and found. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzStats> {
  const t0 = Date.now();
  const advertised = await advertisedVersions(opts.broker);
  await prepareFuzzTopics(opts.broker).catch((e) => opts.log?.(`preparing topics: ${(e as Error).message}`));
  const corpus = buildCorpus(advertised);
  const run = new Run(opts, corpus);
  opts.log?.(
    `fuzz seed ${opts.seed}: ${corpus.entries.length} corpus frames over ${corpus.byVersion.size} api versions` +
      (corpus.missing.length > 0 ? ` (no corpus for ${corpus.missing.join(", ")})` : ""),
  );
  const end = t0 + opts.durationMs;
  const concurrency = opts.concurrency ?? 8;
  const watch = setInterval(() => {
    run.checkAlive();
    run.scanOutput();
  }, 100);
  let probing: Promise<void> = Promise.resolve();
  const prober = setInterval(() => {
    probing = probing.then(() => run.probe());
  }, 2000);
  try {
    if (opts.only) {
      for (const i of opts.only) {
        if (run.stopping || Date.now() >= end) break;
        await run.connection(i);
        await sleep(200);
        run.checkAlive();
      }
    } else {
      const active = new Set<Promise<void>>();
      let next = opts.firstConnection ?? 0;
      while (!run.stopping && Date.now() < end) {
        while (active.size < concurrency && !run.stopping && Date.now() < end) {
          const p: Promise<void> = run.connection(next++).finally(() => active.delete(p));
          active.add(p);
        }
        await Promise.race([...active, sleep(50)]);
      }
      await Promise.allSettled([...active]);
      run.stats.nextConnection = next;
    }
    // Let the broker's last lines arrive, then look at them and at the process once more.
    await sleep(300);
    run.scanOutput();
    run.checkAlive();
    await withTimeout(probing, 20_000, "the last probe").catch(() => {});
    if (run.stats.hang) await run.recovery();
  } catch (e) {
    opts.log?.(`harness error: ${(e as Error).stack ?? e}`);
  } finally {
    clearInterval(watch);
    clearInterval(prober);
  }
  run.stats.durationMs = Date.now() - t0;
  return run.stats;
}

/** A few lines summarising a run. */
export function formatStats(s: FuzzStats): string {
  const kinds = Object.entries(s.sent)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(", ");
  const apis = Object.keys(s.sentByApi).length;
  const lines = [
    `seed ${s.seed}: ${(s.durationMs / 1000).toFixed(1)} s, connections tcp ${s.connections.tcp} ws ${s.connections.ws} (connect failures ${s.connectFailures})`,
    `sent: ${kinds}; pipelines ${s.pipelines}; ${(s.bytesSent / 1048576).toFixed(1)} MiB`,
    `requests of ${apis} (api, version) kinds; corpus ${s.corpusSize} frames${s.corpusMissing.length ? `, missing ${s.corpusMissing.join(", ")}` : ""}`,
    `responses ${s.responses} (${(s.responseBytes / 1048576).toFixed(1)} MiB); closed by broker ${s.closedByBroker}, by us ${s.closedByUs}`,
    `broker died: ${s.brokerDied}, hang: ${s.hang}, max RSS ${(s.maxRssBytes / 1048576).toFixed(0)} MiB; RSS every 10 s: ${s.rssTrendMiB.filter((_, i) => i % 5 === 0).join(" ")} MiB`,
    `findings: ${s.findings.length}`,
  ];
  for (const f of s.findings) {
    lines.push(
      `  [${f.kind}] x${f.count} ${f.message.split("\n")[0].slice(0, 240)}${f.dir ? `\n    -> ${f.dir}` : ""}`,
    );
  }
  return lines.join("\n");
}

/** Decode helper for callers that want to look at a frame (e.g. replay output). */
export function describeFrame(frame: Buffer): string {
  if (frame.length < 4) return `${frame.length} bytes`;
  const r = new Reader(frame);
  const key = r.int16();
  const version = r.int16();
  return `${apiName(key)} v${version}, ${frame.length} bytes`;
}
