// The workload drivers: one per (system, client, transport). Each runs the same workloads its
// own way, the way a savvy user of that system would (pipelined, a bounded number of
// unacknowledged messages), and reports first-send-to-last-ack (or first-fetch-to-last-record)
// times. README.md says what each driver does; the shapes are:
//
//   milena client     Milena's own client (src/index.ts), over WebSocket or TCP: producer.send()
//                     of 1,000 messages per call, as many calls as its bufferMemory admits;
//                     consumer.batches() (records decoded) from offset 0
//   milena lean       the lean client (client.ts): pre-built 16 KiB batches, 64 requests in
//                     flight; fetches walk batch headers only (what the broker alone can do)
//   milena client,    the same with the client's defaults (16 KiB batches, 5 requests in
//     defaults        flight, 1 MiB per partition per fetch): what a user gets untuned
//   kafkajs           kafkajs 2.2.4 over TCP: send() of 1,000 messages, 8 in flight; a group
//                     consumer with eachBatch
//   kcat              kcat (librdkafka) over TCP, at its defaults and with 16 KiB batches:
//                     kcat -P of newline-separated values from a file; kcat -C -o beginning -c N;
//                     and 16 KiB batches with enable.idempotence=true (acks=-1 only, 5 in flight:
//                     what Milena's producer does by default)
//   nats lean         raw NATS protocol (nats_lean.ts): PUB with a reply subject, pipelines of
//                     1,000, 8 in flight; an ack-none pull consumer, batches of 10,000, 2 pulls
//                     in flight; a push consumer for latency
//   nats.js           npm `nats`: js.publish() x 1,000 without awaiting each, 8 groups in
//                     flight; the ordered consumer's consume()
//   redis lean        raw RESP (redis_lean.ts): pipelines of 1,000 XADD, 8 in flight; XRANGE
//                     COUNT 10,000; XREAD BLOCK for latency
//   ioredis           npm `ioredis`: pipeline() of 1,000 XADD, 8 in flight; xrangeBuffer COUNT
//                     10,000; xreadBuffer BLOCK for latency

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import {
  DeliverPolicy,
  type JetStreamClient,
  type NatsConnection,
  connect as natsConnect,
  StorageType,
} from "nats";
import { type Message, Milena } from "../src/index.ts";
import { consumeAll, createTopic, connect as leanConnect, produceAll, type TransportName } from "./client.ts";
import { buildBatches } from "./e2e.ts";
import { NatsLean, pubFrame, streamConfig } from "./nats_lean.ts";
import { encodeCommand, RedisLean } from "./redis_lean.ts";

export type System = "milena" | "nats" | "redis";

export type Phase =
  | "W1 produce acks=1"
  | "W1 produce acks=-1"
  | "W2 produce 1 KiB"
  | "W3 consume"
  | "W3 consume x4"
  | "W5 fewer partitions"
  | "W5 more partitions";

/** In this order within a driver's turn. W5 runs over cfg.partitionCounts (fewer, more). */
export const PHASES: Phase[] = [
  "W1 produce acks=1",
  "W3 consume",
  "W3 consume x4",
  "W1 produce acks=-1",
  "W2 produce 1 KiB",
  "W5 fewer partitions",
  "W5 more partitions",
];

export interface Outcome {
  ms: number;
  records: number;
  /** Bytes as they cross the wire and are stored (record batches for Kafka; 0 when not counted). */
  wireBytes: number;
}

export interface Driver {
  /** Row label, e.g. "milena client / websocket". */
  readonly label: string;
  readonly system: System;
  readonly client: string;
  readonly transport: string;
  /** The server's pid (CPU accounting). */
  readonly serverPid: number;
  /** Throughput phases this driver runs. */
  readonly phases: Phase[];
  /** Whether it runs W4 (latency). */
  readonly latency: boolean;
  /**
   * Share of the workload's records it runs (stock clients: their own CPU bounds them, so their
   * rate does not depend on the count, and a full million would take minutes). 1 when absent.
   */
  readonly scale?: number;
  /** The same for W5 alone (NATS: one stream per partition makes W5 slow). */
  readonly w5Scale?: number;
  /** The client is a child process (kcat): its CPU, once it exits, is the client's. */
  readonly childClient?: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Create the stream/topic (not timed), then produce `records` values round-robin over
   * `partitions`; `onStart` is called right before the timed part.
   */
  produce(
    name: string,
    partitions: number,
    records: number,
    valueBytes: number,
    acks: 1 | -1,
    onStart: () => void,
  ): Promise<Outcome>;
  /** Read back what produce() wrote to `name` (one partition), `chains` fetches in flight (lean only). */
  consume(
    name: string,
    records: number,
    valueBytes: number,
    chains: number,
    onStart: () => void,
  ): Promise<Outcome>;
  drop(name: string, partitions: number): Promise<void>;
  /**
   * W4: a producer at `rate` msg/s for `seconds` (messages stamped with performance.now() in
   * their first 8 bytes), a consumer tailing; returns every latency in ms.
   */
  latencyRun(name: string, rate: number, seconds: number, valueBytes: number): Promise<number[]>;
}

/** Messages per send call / pipeline, and pipelines in flight, for the peers and kafkajs. */
export const PIPELINE = 1000;
export const IN_FLIGHT = 8;
/** nats.js: unacknowledged js.publish() calls (the window of peers-on-this-machine.md). */
export const NATSJS_WINDOW = 256;

function values(n: number, bytes: number): Buffer[] {
  return Array.from({ length: n }, () => randomBytes(bytes));
}

/**
 * The W4 producer loop: every timer turn (~1 ms) sends the messages due by now at `rate`,
 * stamped with the current time. Resolves when `seconds` have passed with the count sent.
 */
export function paced(
  rate: number,
  seconds: number,
  send: (count: number, stamp: number) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const total = Math.round(rate * seconds);
    let sent = 0;
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * rate)) - sent;
      if (due > 0) {
        send(due, now);
        sent += due;
      }
      if (sent >= total) resolve(sent);
      else setTimeout(tick, 1);
    };
    tick();
  });
}

/** A stamped value: performance.now() as a float64 in the first 8 bytes. */
function stamped(template: Buffer, stamp: number): Buffer {
  const b = Buffer.from(template);
  b.writeDoubleLE(stamp, 0);
  return b;
}

/** Wait until `got()` reaches `want` (or time out). */
async function until(got: () => number, want: number, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (got() < want) {
    if (Date.now() > deadline) throw new Error(`${what}: ${got()} of ${want} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---------------------------------------------------------------------------------------------
// Milena, its own client

/** How the own-client driver creates its topics (absent: the broker's defaults). */
export interface TopicSettings {
  replicationFactor?: number;
  configEntries?: { name: string; value: string }[];
}

/**
 * The own client's producer settings for throughput, as a user would pick them: batches of up to
 * 512 KiB (the default 16 KiB caps a request at 150 records of 100 B, and the per-request cost
 * then bounds the rate), shrunk with the partition count so that one open batch per partition
 * still fits in bufferMemory (32 MiB) several times over; lingerMs 0 (batches grow by themselves
 * while the request slots are busy); 16 requests in flight.
 */
export function producerTuning(partitions: number): { batchSize: number; maxInFlightRequests: number } {
  const batchSize = Math.max(
    16 << 10,
    Math.min(512 << 10, 2 ** Math.floor(Math.log2((32 << 20) / (4 * partitions)))),
  );
  return { batchSize, maxInFlightRequests: 16 };
}

export class MilenaClientDriver implements Driver {
  readonly system = "milena";
  /** "milena client" heads the summary table; the idempotence-off variant is listed apart. */
  readonly client: string;
  readonly label: string;
  readonly phases: Phase[] = [
    "W1 produce acks=1",
    "W3 consume",
    "W1 produce acks=-1",
    "W2 produce 1 KiB",
    "W5 fewer partitions",
    "W5 more partitions",
  ];
  readonly latency: boolean = true;
  private milena!: Milena;
  private admin!: ReturnType<Milena["admin"]>;
  private readonly pools = new Map<string, Message[]>();

  /**
   * idempotent false: the client's producer with idempotence off, for W1 acks=-1 only (the one
   * phase where the default producer is idempotent), to measure what idempotence costs.
   * topic: how its topics are created (the cluster part: replication factor 3 and
   * min.insync.replicas 2; default: the broker's defaults).
   */
  /**
   * defaults: the producer and consumer with the client's defaults (batchSize 16 KiB, lingerMs 0,
   * 5 requests in flight; 1 MiB per partition per fetch): W1 and W3 only, listed apart.
   */
  constructor(
    readonly transport: TransportName,
    private readonly bootstrap: string,
    readonly serverPid: number,
    private readonly idempotent = true,
    private readonly topic: TopicSettings = {},
    private readonly defaults = false,
  ) {
    const variant = defaults ? ", defaults" : idempotent ? "" : ", idempotence off";
    this.client = `milena client${variant}`;
    this.label = `milena client / ${transport}${variant}`;
    if (!idempotent) {
      this.phases = ["W1 produce acks=-1"];
      this.latency = false;
    }
    if (defaults) {
      this.phases = ["W1 produce acks=1", "W3 consume", "W1 produce acks=-1"];
      this.latency = false;
    }
  }

  async open(): Promise<void> {
    this.milena = new Milena({ bootstrap: this.bootstrap, clientId: `bench-${this.transport}` });
    this.admin = this.milena.admin();
    await this.admin.connect();
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  /** PIPELINE messages, partition i % partitions (one array reused for every send call). */
  private messages(partitions: number, valueBytes: number): Message[] {
    const key = `${partitions}/${valueBytes}`;
    let m = this.pools.get(key);
    if (m === undefined) {
      const vs = values(PIPELINE, valueBytes);
      m = vs.map((value, i) => (partitions > 1 ? { value, partition: i % partitions } : { value }));
      this.pools.set(key, m);
    }
    return m;
  }

  async produce(
    name: string,
    partitions: number,
    records: number,
    valueBytes: number,
    acks: 1 | -1,
    onStart: () => void,
  ) {
    await this.admin.createTopics({ topics: [{ topic: name, numPartitions: partitions, ...this.topic }] });
    const producer = this.milena.producer(
      this.defaults
        ? { acks }
        : { acks, ...producerTuning(partitions), ...(this.idempotent ? {} : { idempotent: false }) },
    );
    await producer.connect();
    const msgs = this.messages(partitions, valueBytes);
    // Not timed: the producer's first metadata lookup for the topic.
    await producer.send({ topic: name, messages: [] }).catch(() => {});
    onStart();
    const t0 = performance.now();
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < records; i += PIPELINE)
      sends.push(
        producer.send({ topic: name, messages: records - i >= PIPELINE ? msgs : msgs.slice(0, records - i) }),
      );
    await Promise.all(sends);
    const ms = performance.now() - t0;
    await producer.disconnect();
    return { ms, records, wireBytes: 0 };
  }

  async consume(name: string, records: number, _valueBytes: number, _chains: number, onStart: () => void) {
    const consumer = this.milena.consumer(
      this.defaults
        ? { autoOffsetReset: "earliest" }
        : { autoOffsetReset: "earliest", maxBytesPerPartition: 8 << 20 },
    );
    await consumer.connect();
    await consumer.assign([{ topic: name, offset: 0 }]);
    onStart();
    const t0 = performance.now();
    let n = 0;
    for await (const b of consumer.batches()) {
      n += b.records.length;
      for (const r of b.records) if (r.value === null) throw new Error("a null value");
      if (n >= records) break;
    }
    const ms = performance.now() - t0;
    await consumer.disconnect();
    if (n !== records) throw new Error(`${this.label}: consumed ${n} of ${records}`);
    return { ms, records: n, wireBytes: 0 };
  }

  async drop(name: string): Promise<void> {
    await this.admin.deleteTopics({ topics: [name] });
  }

  /** acks: 1 in W4; the cluster part also runs it with -1. */
  async latencyRun(
    name: string,
    rate: number,
    seconds: number,
    valueBytes: number,
    acks: 1 | -1 = 1,
  ): Promise<number[]> {
    await this.admin.createTopics({ topics: [{ topic: name, numPartitions: 1, ...this.topic }] });
    // Latency: lingerMs 0 (the default: a batch goes as soon as a request slot is free), fetches
    // answered as soon as one byte is there (minBytes 1), a short long-poll.
    const producer = this.milena.producer({ acks, lingerMs: 0 });
    await producer.connect();
    await producer.send({ topic: name, messages: [] }).catch(() => {});
    const consumer = this.milena.consumer({
      autoOffsetReset: "earliest",
      maxWaitTimeInMs: 100,
      minBytes: 1,
    });
    await consumer.connect();
    await consumer.assign([{ topic: name, offset: 0 }]);
    const lat: number[] = [];
    let stop = false;
    const reading = (async () => {
      for await (const b of consumer.batches()) {
        const now = performance.now();
        for (const r of b.records) lat.push(now - r.value!.readDoubleLE(0));
        if (stop) break;
      }
    })();
    const template = randomBytes(valueBytes);
    const sends: Promise<unknown>[] = [];
    const total = await paced(rate, seconds, (count, stamp) => {
      const v = stamped(template, stamp);
      const messages: Message[] = [];
      for (let i = 0; i < count; i++) messages.push({ value: v });
      sends.push(producer.send({ topic: name, messages }));
    });
    await Promise.all(sends);
    await until(() => lat.length, total, 10_000, `${this.label} latency`);
    stop = true;
    await consumer.disconnect();
    await reading.catch(() => {});
    await producer.disconnect();
    await this.drop(name);
    return lat;
  }
}

// ---------------------------------------------------------------------------------------------
// Milena, the lean client

export class MilenaLeanDriver implements Driver {
  readonly system = "milena";
  readonly client = "milena lean";
  readonly label: string;
  phases: Phase[] = [
    "W1 produce acks=1",
    "W3 consume",
    "W3 consume x4",
    "W1 produce acks=-1",
    "W2 produce 1 KiB",
  ];
  readonly latency = false;
  private readonly batches = new Map<string, ReturnType<typeof buildBatches>>();

  constructor(
    readonly transport: TransportName,
    private readonly port: number,
    readonly serverPid: number,
    private readonly window: number,
    private readonly fetchBytes: number,
  ) {
    this.label = `milena lean / ${transport}`;
    // 4 fetches of 8 MiB in flight over WebSocket exceed the broker's WebSocket backpressure
    // bound (16 MiB) and uWebSockets.js closes the connection: measured over TCP only.
    if (transport === "websocket") this.phases = this.phases.filter((p) => p !== "W3 consume x4");
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  private built(records: number, valueBytes: number) {
    const key = `${records}/${valueBytes}`;
    let b = this.batches.get(key);
    if (b === undefined) {
      // As many records as fit a 16 KiB batch (150 x 100 B, 15 x 1 KiB).
      const perBatch = Math.max(1, Math.floor((16384 - 61) / (valueBytes + 9)));
      b = buildBatches(records, Math.min(perBatch, 150), valueBytes);
      this.batches.set(key, b);
    }
    return b;
  }

  async produce(
    name: string,
    _partitions: number,
    records: number,
    valueBytes: number,
    acks: 1 | -1,
    onStart: () => void,
  ) {
    const b = this.built(records, valueBytes);
    const conn = await leanConnect(this.transport, this.port);
    try {
      await createTopic(conn, name);
      onStart();
      const r = await produceAll(conn, name, acks, b.full, b.tail, this.window);
      return { ms: r.ms, records: r.records, wireBytes: r.batchBytes };
    } finally {
      conn.close();
    }
  }

  async consume(name: string, records: number, _valueBytes: number, chains: number, onStart: () => void) {
    const conn = await leanConnect(this.transport, this.port);
    try {
      onStart();
      const r = await consumeAll(conn, name, 0, records, this.fetchBytes, chains);
      if (r.records !== records) throw new Error(`${this.label}: consumed ${r.records} of ${records}`);
      return { ms: r.ms, records: r.records, wireBytes: r.batchBytes };
    } finally {
      conn.close();
    }
  }

  async drop(): Promise<void> {
    // The lean client has no DeleteTopics; the topics go with the broker's temp dir.
  }

  latencyRun(): Promise<number[]> {
    throw new Error("not measured");
  }
}

// ---------------------------------------------------------------------------------------------
// kafkajs against Milena (reference)

export class KafkajsDriver implements Driver {
  readonly system = "milena";
  readonly client = "kafkajs";
  readonly transport = "tcp";
  readonly label = "kafkajs / tcp";
  readonly phases: Phase[] = ["W1 produce acks=1", "W3 consume", "W2 produce 1 KiB"];
  readonly latency = true;
  readonly scale = 0.2;
  private kafka: Kafka;
  private admin!: ReturnType<Kafka["admin"]>;
  private readonly pools = new Map<number, { value: Buffer }[]>();
  private groups = 0;

  constructor(
    port: number,
    readonly serverPid: number,
  ) {
    this.kafka = new Kafka({
      clientId: "bench-kafkajs",
      brokers: [`127.0.0.1:${port}`],
      logLevel: logLevel.NOTHING,
    });
  }

  async open(): Promise<void> {
    this.admin = this.kafka.admin();
    await this.admin.connect();
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
  }

  async produce(
    name: string,
    partitions: number,
    records: number,
    valueBytes: number,
    acks: 1 | -1,
    onStart: () => void,
  ) {
    await this.admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }] });
    let msgs = this.pools.get(valueBytes);
    if (msgs === undefined) {
      msgs = values(PIPELINE, valueBytes).map((value) => ({ value }));
      this.pools.set(valueBytes, msgs);
    }
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    onStart();
    // kafkajs sends one send() as one batch: keep it under message.max.bytes (1,000,000).
    const per = Math.min(PIPELINE, Math.floor(800_000 / (valueBytes + 20)));
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < records) {
        const n = Math.min(per, records - next);
        next += n;
        await producer.send({ topic: name, acks, messages: n === msgs.length ? msgs : msgs.slice(0, n) });
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    const ms = performance.now() - t0;
    await producer.disconnect();
    return { ms, records, wireBytes: 0 };
  }

  async consume(name: string, records: number, _valueBytes: number, _chains: number, onStart: () => void) {
    const consumer = this.kafka.consumer({
      groupId: `bench-kafkajs-${++this.groups}`,
      maxBytesPerPartition: 8 << 20,
      maxWaitTimeInMs: 500,
    });
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    let n = 0;
    let t0 = 0;
    let resolve!: () => void;
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    // Timed from the group join (kafkajs joins before its first fetch) to the last record.
    consumer.on(consumer.events.GROUP_JOIN, () => {
      onStart();
      t0 = performance.now();
    });
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        n += batch.messages.length;
        if (n >= records) resolve();
      },
    });
    await done;
    const ms = performance.now() - t0;
    await consumer.disconnect();
    return { ms, records: n, wireBytes: 0 };
  }

  async drop(name: string): Promise<void> {
    await this.admin.deleteTopics({ topics: [name] });
  }

  async latencyRun(name: string, rate: number, seconds: number, valueBytes: number): Promise<number[]> {
    await this.admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }] });
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const consumer = this.kafka.consumer({ groupId: `bench-kafkajs-${++this.groups}`, maxWaitTimeInMs: 500 });
    await consumer.connect();
    await consumer.subscribe({ topic: name, fromBeginning: true });
    const lat: number[] = [];
    let joined!: () => void;
    const isJoined = new Promise<void>((r) => {
      joined = r;
    });
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const now = performance.now();
        for (const m of batch.messages) lat.push(now - m.value!.readDoubleLE(0));
      },
    });
    await isJoined;
    const template = randomBytes(valueBytes);
    const sends: Promise<unknown>[] = [];
    const total = await paced(rate, seconds, (count, stamp) => {
      const v = stamped(template, stamp);
      sends.push(
        producer.send({
          topic: name,
          acks: 1,
          messages: Array.from({ length: count }, () => ({ value: v })),
        }),
      );
    });
    await Promise.all(sends);
    await until(() => lat.length, total, 15_000, "kafkajs latency");
    await consumer.disconnect();
    await producer.disconnect();
    await this.drop(name);
    return lat;
  }
}

// ---------------------------------------------------------------------------------------------
// kcat (librdkafka) against Milena: the fastest real client, as a reference for Milena's own

export const KCAT = "/usr/bin/kcat";

/**
 * Run kcat; resolves once it exits 0 with its wall time, its stdout byte count, when its first
 * stdout bytes came (ms after spawn; -1: none) and how many, and its stderr.
 */
function runKcat(
  args: string[],
  stdinFile: string | null,
): Promise<{ ms: number; outBytes: number; firstMs: number; firstBytes: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const stdin = stdinFile === null ? "ignore" : fs.openSync(stdinFile, "r");
    const t0 = performance.now();
    const child = spawn(KCAT, args, { stdio: [stdin, "pipe", "pipe"] });
    if (typeof stdin === "number") fs.closeSync(stdin);
    let outBytes = 0;
    let firstMs = -1;
    let firstBytes = 0;
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => {
      if (firstMs < 0) {
        firstMs = performance.now() - t0;
        firstBytes = d.length;
      }
      outBytes += d.length;
    });
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, outBytes, firstMs, firstBytes, stderr });
      else reject(new Error(`kcat ${args.join(" ")} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

/**
 * kcat -P / -C against Milena over TCP. Produce: kcat -P reads newline-separated values (100 B
 * of printable random bytes, so no delimiter inside) from a file written once, and exits when
 * every message is acknowledged; consume: kcat -C -p 0 -o beginning -c N -e, one byte printed per
 * message (counted). Produce time: kcat's spawn to its exit, minus its start-up (process,
 * librdkafka, bootstrap metadata, connection: what Milena's driver does before its timed part),
 * measured in open() as the median of 3 runs of one message. Consume time: from kcat's first
 * output (its first stdout chunk, a few thousand records in) to its exit, scaled to every record. Its CPU is the client column
 * (kcat's, read once it exits: cutime/cstime). batchSize: librdkafka's batch.size
 * (default 1,000,000, with batch.num.messages 10,000 and linger.ms 5); absent = kcat's defaults.
 */
export class KcatDriver implements Driver {
  readonly system = "milena";
  readonly client: string;
  readonly transport = "tcp";
  readonly label: string;
  readonly phases: Phase[];
  readonly latency = false;
  readonly childClient = true;
  private admin!: ReturnType<Milena["admin"]>;
  private milena: Milena;
  private readonly dir = fs.mkdtempSync(join(tmpdir(), "milena-bench-kcat-"));
  private readonly inputs = new Map<string, string>();
  private produceStartMs = 0;
  private consumeStartMs = 0;

  constructor(
    private readonly port: number,
    readonly serverPid: number,
    private readonly batchSize?: number,
    /**
     * enable.idempotence=true: acks=-1 only, at most 5 requests in flight per partition, as
     * Milena's producer by default (kcat's default is not idempotent, with up to 1,000,000 in
     * flight): the like-for-like row beside Milena's client at its defaults.
     */
    private readonly idempotent = false,
  ) {
    const variant =
      (batchSize === undefined ? "" : `, ${batchSize >> 10} KiB batches`) +
      (idempotent ? ", idempotent" : "");
    this.phases = idempotent
      ? ["W1 produce acks=-1"]
      : ["W1 produce acks=1", "W3 consume", "W1 produce acks=-1"];
    this.client = `kcat${variant}`;
    this.label = `kcat / tcp${variant}`;
    this.milena = new Milena({ bootstrap: `127.0.0.1:${port}`, clientId: "bench-kcat-admin" });
  }

  private common(): string[] {
    return ["-b", `127.0.0.1:${this.port}`, "-q", "-X", "api.version.request=true"];
  }

  private produceArgs(topic: string, acks: number): string[] {
    // Idempotence is acks=all only (librdkafka refuses acks=1 with it): its warm-up and start-up
    // sends are acks=-1 too.
    const a = this.idempotent ? -1 : acks;
    const args = ["-P", ...this.common(), "-t", topic, "-p", "0", "-X", `acks=${a}`];
    if (this.batchSize !== undefined) args.push("-X", `batch.size=${this.batchSize}`);
    if (this.idempotent) args.push("-X", "enable.idempotence=true");
    return args;
  }

  private consumeArgs(topic: string, count: number): string[] {
    return [
      "-C",
      ...this.common(),
      "-t",
      topic,
      "-p",
      "0",
      "-o",
      "beginning",
      "-c",
      String(count),
      "-e",
      "-f",
      ".",
    ];
  }

  /** A file of `records` newline-terminated printable values of `valueBytes` (written once). */
  private input(records: number, valueBytes: number): string {
    const key = `${records}/${valueBytes}`;
    let path = this.inputs.get(key);
    if (path === undefined) {
      path = join(this.dir, `in-${records}-${valueBytes}`);
      const fd = fs.openSync(path, "w");
      const chunk = 10_000;
      for (let done = 0; done < records; done += chunk) {
        const n = Math.min(chunk, records - done);
        const b = randomBytes(n * (valueBytes + 1));
        for (let i = 0; i < b.length; i++) b[i] = 33 + (b[i] % 94); // printable ASCII
        for (let r = 1; r <= n; r++) b[r * (valueBytes + 1) - 1] = 10;
        fs.writeSync(fd, b);
      }
      fs.closeSync(fd);
      this.inputs.set(key, path);
    }
    return path;
  }

  async open(): Promise<void> {
    if (!fs.existsSync(KCAT)) throw new Error(`${KCAT} not found (apt-get install kcat)`);
    this.admin = this.milena.admin();
    await this.admin.connect();
    const topic = `kcat-start-${this.batchSize ?? "default"}`;
    await this.admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
    const one = this.input(1, 100);
    const p: number[] = [];
    const c: number[] = [];
    for (let i = 0; i < 3; i++) {
      p.push((await runKcat(this.produceArgs(topic, 1), one)).ms);
      c.push((await runKcat(this.consumeArgs(topic, 1), null)).ms);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
    this.produceStartMs = median(p);
    this.consumeStartMs = median(c);
    await this.admin.deleteTopics({ topics: [topic] });
  }

  async close(): Promise<void> {
    await this.admin.disconnect();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async produce(
    name: string,
    _partitions: number,
    records: number,
    valueBytes: number,
    acks: 1 | -1,
    onStart: () => void,
  ) {
    await this.admin.createTopics({ topics: [{ topic: name, numPartitions: 1 }] });
    const input = this.input(records, valueBytes);
    onStart();
    const r = await runKcat(this.produceArgs(name, acks), input);
    if (/fail|error/i.test(r.stderr)) throw new Error(`${this.label}: ${r.stderr.slice(-2000)}`);
    const offsets = await this.admin.fetchTopicOffsets(name);
    const stored = Number(offsets[0]?.high ?? -1);
    if (stored !== records) throw new Error(`${this.label}: ${stored} of ${records} records stored`);
    return { ms: Math.max(1, r.ms - this.produceStartMs), records, wireBytes: 0 };
  }

  async consume(name: string, records: number, _valueBytes: number, _chains: number, onStart: () => void) {
    onStart();
    const r = await runKcat(this.consumeArgs(name, records), null);
    if (r.outBytes !== records) throw new Error(`${this.label}: consumed ${r.outBytes} of ${records}`);
    // From its first output (one byte per record, so the first chunk's records are left out) to
    // its exit: no start-up in it. The start-up estimate is the fallback for a single chunk.
    if (r.firstMs >= 0 && r.firstBytes < records && r.ms - r.firstMs > 0)
      return { ms: ((r.ms - r.firstMs) * records) / (records - r.firstBytes), records, wireBytes: 0 };
    return { ms: Math.max(1, r.ms - this.consumeStartMs), records, wireBytes: 0 };
  }

  async drop(name: string): Promise<void> {
    await this.admin.deleteTopics({ topics: [name] });
  }

  latencyRun(): Promise<number[]> {
    throw new Error("not measured");
  }
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream, lean

/** Streams of a W5 run: one per partition (a NATS stream is NATS's unit of storage and order). */
function natsStreams(name: string, partitions: number): string[] {
  return partitions === 1 ? [name] : Array.from({ length: partitions }, (_, i) => `${name}_${i}`);
}

export class NatsLeanDriver implements Driver {
  readonly system = "nats";
  readonly client = "nats lean";
  readonly transport = "tcp";
  readonly label = "nats lean / tcp";
  readonly w5Scale = 0.2;
  readonly phases: Phase[] = [
    "W1 produce acks=1",
    "W3 consume",
    "W2 produce 1 KiB",
    "W5 fewer partitions",
    "W5 more partitions",
  ];
  readonly latency = true;
  private c!: NatsLean;

  constructor(
    private readonly port: number,
    readonly serverPid: number,
  ) {}

  async open(): Promise<void> {
    this.c = await NatsLean.connect(this.port);
  }

  async close(): Promise<void> {
    this.c.close();
  }

  private async createStreams(name: string, partitions: number): Promise<void> {
    await Promise.all(
      natsStreams(name, partitions).map((s) =>
        this.c.request(`$JS.API.STREAM.CREATE.${s}`, streamConfig(s, [`${s}.m`])),
      ),
    );
  }

  async produce(
    name: string,
    partitions: number,
    records: number,
    valueBytes: number,
    _acks: 1 | -1,
    onStart: () => void,
  ) {
    if (records % PIPELINE !== 0) throw new Error("records must be a multiple of the pipeline");
    await this.createStreams(name, partitions);
    const streams = natsStreams(name, partitions);
    const ackSubject = `${this.c.inbox}.ack.${name}`;
    const vs = values(PIPELINE, valueBytes);
    const frames = Buffer.concat(vs.map((v, i) => pubFrame(`${streams[i % partitions]}.m`, ackSubject, v)));
    const total = records / PIPELINE;
    let errors = 0;
    let acked = 0;
    let sent = 0;
    let t0 = 0;
    const ms = await new Promise<number>((resolve) => {
      const sid = this.c.subscribe(ackSubject, (p) => {
        if (p[2] !== 115 /* {"stream": */) errors++;
        if (++acked % PIPELINE === 0) {
          if (sent < total) {
            sent++;
            this.c.write(frames);
          } else if (acked === records) {
            this.c.unsubscribe(sid);
            resolve(performance.now() - t0);
          }
        }
      });
      void this.c.flush().then(() => {
        onStart();
        t0 = performance.now();
        for (; sent < Math.min(IN_FLIGHT, total); sent++) this.c.write(frames);
      });
    });
    if (errors > 0) throw new Error(`nats: ${errors} publish errors`);
    return { ms, records, wireBytes: 0 };
  }

  async consume(name: string, records: number, _valueBytes: number, _chains: number, onStart: () => void) {
    const info = await this.c.request<{ name: string }>(`$JS.API.CONSUMER.CREATE.${name}`, {
      stream_name: name,
      config: { ack_policy: "none", deliver_policy: "all", inactive_threshold: 60e9 },
    });
    const batch = 10_000;
    const inbox = `${this.c.inbox}.pull.${name}`;
    const pull = `$JS.API.CONSUMER.MSG.NEXT.${name}.${info.name}`;
    const req = JSON.stringify({ batch, expires: 10e9 });
    const pullFrame = `PUB ${pull} ${inbox} ${req.length}\r\n${req}\r\n`;
    let n = 0;
    let pulled = 0;
    onStart();
    const t0 = performance.now();
    const ms = await new Promise<number>((resolve) => {
      const sid = this.c.subscribe(inbox, (_p, status) => {
        if (status !== 0) return; // 404/408: a pull ended empty
        n++;
        if (n === records) {
          this.c.unsubscribe(sid);
          resolve(performance.now() - t0);
        } else if (n % batch === 0 && pulled < records) {
          pulled += batch;
          this.c.write(pullFrame);
        }
      });
      for (let i = 0; i < 2; i++) {
        pulled += batch;
        this.c.write(pullFrame);
      }
    });
    await this.c.request(`$JS.API.CONSUMER.DELETE.${name}.${info.name}`, undefined);
    return { ms, records: n, wireBytes: 0 };
  }

  async drop(name: string, partitions: number): Promise<void> {
    await Promise.all(
      natsStreams(name, partitions).map((s) => this.c.request(`$JS.API.STREAM.DELETE.${s}`, undefined)),
    );
  }

  async latencyRun(name: string, rate: number, seconds: number, valueBytes: number): Promise<number[]> {
    await this.createStreams(name, 1);
    const deliver = `${this.c.inbox}.push.${name}`;
    const lat: number[] = [];
    const sid = this.c.subscribe(deliver, (p, status) => {
      if (status === 0) lat.push(performance.now() - p.readDoubleLE(0));
    });
    await this.c.request(`$JS.API.CONSUMER.CREATE.${name}`, {
      stream_name: name,
      config: { ack_policy: "none", deliver_policy: "new", deliver_subject: deliver },
    });
    const ackSubject = `${this.c.inbox}.lack.${name}`;
    let acked = 0;
    const ackSid = this.c.subscribe(ackSubject, () => {
      acked++;
    });
    const template = randomBytes(valueBytes);
    const total = await paced(rate, seconds, (count, stamp) => {
      const frame = pubFrame(`${name}.m`, ackSubject, stamped(template, stamp));
      this.c.write(count === 1 ? frame : Buffer.concat(Array.from({ length: count }, () => frame)));
    });
    await until(() => Math.min(acked, lat.length), total, 10_000, "nats lean latency");
    this.c.unsubscribe(sid);
    this.c.unsubscribe(ackSid);
    await this.drop(name, 1);
    return lat;
  }
}

// ---------------------------------------------------------------------------------------------
// NATS JetStream, nats.js

export class NatsJsDriver implements Driver {
  readonly system = "nats";
  readonly client = "nats.js";
  readonly transport = "tcp";
  readonly label = "nats.js / tcp";
  readonly phases: Phase[] = ["W1 produce acks=1", "W3 consume", "W2 produce 1 KiB"];
  readonly latency = true;
  readonly scale = 0.1;
  private nc!: NatsConnection;
  private js!: JetStreamClient;
  private readonly pools = new Map<number, Buffer[]>();

  constructor(
    private readonly port: number,
    readonly serverPid: number,
  ) {}

  async open(): Promise<void> {
    this.nc = await natsConnect({ servers: `127.0.0.1:${this.port}` });
    this.js = this.nc.jetstream();
  }

  async close(): Promise<void> {
    await this.nc.close();
  }

  private async create(name: string): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    await jsm.streams.add({ name, subjects: [`${name}.m`], storage: StorageType.File });
  }

  async produce(
    name: string,
    _partitions: number,
    records: number,
    valueBytes: number,
    _acks: 1 | -1,
    onStart: () => void,
  ) {
    await this.create(name);
    let vs = this.pools.get(valueBytes);
    if (vs === undefined) {
      vs = values(PIPELINE, valueBytes);
      this.pools.set(valueBytes, vs);
    }
    const subject = `${name}.m`;
    onStart();
    const t0 = performance.now();
    // A sliding window of NATSJS_WINDOW unacknowledged publishes: nats.js keeps a timer and a
    // promise per request, so thousands in flight cost more than they gain.
    await new Promise<void>((resolve, reject) => {
      let sent = 0;
      let acked = 0;
      const one = () => {
        const v = vs[sent % vs.length];
        sent++;
        this.js.publish(subject, v).then(() => {
          if (++acked === records) resolve();
          else if (sent < records) one();
        }, reject);
      };
      while (sent < Math.min(NATSJS_WINDOW, records)) one();
    });
    return { ms: performance.now() - t0, records, wireBytes: 0 };
  }

  async consume(name: string, records: number, _valueBytes: number, _chains: number, onStart: () => void) {
    const c = await this.js.consumers.get(name);
    onStart();
    const t0 = performance.now();
    const msgs = await c.consume({ max_messages: 10_000 });
    let n = 0;
    for await (const _m of msgs) {
      if (++n >= records) break;
    }
    const ms = performance.now() - t0;
    await msgs.close().catch(() => {});
    return { ms, records: n, wireBytes: 0 };
  }

  async drop(name: string): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    await jsm.streams.delete(name);
  }

  async latencyRun(name: string, rate: number, seconds: number, valueBytes: number): Promise<number[]> {
    await this.create(name);
    const c = await this.js.consumers.get(name, { deliver_policy: DeliverPolicy.New });
    const msgs = await c.consume({ max_messages: 1000 });
    const lat: number[] = [];
    const reading = (async () => {
      for await (const m of msgs)
        lat.push(performance.now() - Buffer.from(m.data.buffer, m.data.byteOffset).readDoubleLE(0));
    })();
    // Let the ordered consumer's first pull reach the server before publishing.
    await this.nc.flush();
    await new Promise((r) => setTimeout(r, 100));
    const template = randomBytes(valueBytes);
    const acks: Promise<unknown>[] = [];
    const subject = `${name}.m`;
    const total = await paced(rate, seconds, (count, stamp) => {
      const v = stamped(template, stamp);
      // nats.js falls seconds behind at this rate: a long timeout, not its default 5 s.
      for (let i = 0; i < count; i++) acks.push(this.js.publish(subject, v, { timeout: 120_000 }));
    });
    await Promise.all(acks);
    await until(() => lat.length, total, 60_000, "nats.js latency");
    await msgs.close().catch(() => {});
    await reading.catch(() => {});
    await this.drop(name);
    return lat;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis Streams, lean

function redisKeys(name: string, partitions: number): string[] {
  return partitions === 1 ? [name] : Array.from({ length: partitions }, (_, i) => `${name}:${i}`);
}

export class RedisLeanDriver implements Driver {
  readonly system = "redis";
  readonly client = "redis lean";
  readonly transport = "tcp";
  readonly label = "redis lean / tcp";
  readonly phases: Phase[] = [
    "W1 produce acks=1",
    "W3 consume",
    "W2 produce 1 KiB",
    "W5 fewer partitions",
    "W5 more partitions",
  ];
  readonly latency = true;
  private c!: RedisLean;
  private tail!: RedisLean;

  constructor(
    private readonly port: number,
    readonly serverPid: number,
  ) {}

  async open(): Promise<void> {
    this.c = await RedisLean.connect(this.port);
    this.tail = await RedisLean.connect(this.port);
  }

  async close(): Promise<void> {
    this.c.close();
    this.tail.close();
  }

  async produce(
    name: string,
    partitions: number,
    records: number,
    valueBytes: number,
    _acks: 1 | -1,
    onStart: () => void,
  ) {
    if (records % PIPELINE !== 0) throw new Error("records must be a multiple of the pipeline");
    const keys = redisKeys(name, partitions);
    const vs = values(PIPELINE, valueBytes);
    const pipeline = Buffer.concat(
      vs.map((v, i) => encodeCommand(["XADD", keys[i % keys.length], "*", "v", v])),
    );
    const total = records / PIPELINE;
    let sent = 0;
    let done = 0;
    let error: string | undefined;
    onStart();
    const t0 = performance.now();
    const ms = await new Promise<number>((resolve) => {
      const onDone = (g: { error?: string }) => {
        error ??= g.error;
        if (++done === total) resolve(performance.now() - t0);
        else if (sent < total) send();
      };
      const send = () => {
        sent++;
        this.c.send(pipeline, { remaining: PIPELINE, done: onDone });
      };
      while (sent < Math.min(IN_FLIGHT, total)) send();
    });
    if (error) throw new Error(`redis: ${error}`);
    return { ms, records, wireBytes: 0 };
  }

  async consume(name: string, records: number, valueBytes: number, _chains: number, onStart: () => void) {
    let n = 0;
    let last = "-";
    onStart();
    const t0 = performance.now();
    while (n < records) {
      let lastId = "";
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        this.c.send(encodeCommand(["XRANGE", name, last, "+", "COUNT", "10000"]), {
          remaining: 1,
          onBulk: (b, s, e, depth) => {
            if (depth === 3) lastId = b.toString("latin1", s, e);
            else if (depth === 4 && e - s === valueBytes) got++;
          },
          done: (g) => (g.error ? reject(new Error(g.error)) : resolve()),
        });
      });
      if (got === 0) throw new Error(`redis XRANGE from ${last}: nothing`);
      n += got;
      last = `(${lastId}`;
    }
    return { ms: performance.now() - t0, records: n, wireBytes: 0 };
  }

  async drop(name: string, partitions: number): Promise<void> {
    await this.c.call("DEL", ...redisKeys(name, partitions));
  }

  async latencyRun(name: string, rate: number, seconds: number, valueBytes: number): Promise<number[]> {
    const lat: number[] = [];
    let last = "0-0";
    let stop = false;
    const reading = (async () => {
      while (!stop) {
        await new Promise<void>((resolve, reject) => {
          this.tail.send(encodeCommand(["XREAD", "COUNT", "1000", "BLOCK", "200", "STREAMS", name, last]), {
            remaining: 1,
            onBulk: (b, s, e, depth) => {
              if (depth === 5) last = b.toString("latin1", s, e);
              else if (depth === 6 && e - s === valueBytes) lat.push(performance.now() - b.readDoubleLE(s));
            },
            done: (g) => (g.error ? reject(new Error(g.error)) : resolve()),
          });
        });
      }
    })();
    const template = randomBytes(valueBytes);
    let acked = 0;
    const total = await paced(rate, seconds, (count, stamp) => {
      const cmd = encodeCommand(["XADD", name, "*", "v", stamped(template, stamp)]);
      this.c.send(count === 1 ? cmd : Buffer.concat(Array.from({ length: count }, () => cmd)), {
        remaining: count,
        done: () => {
          acked += count;
        },
      });
    });
    await until(() => Math.min(acked, lat.length), total, 10_000, "redis lean latency");
    stop = true;
    await reading;
    await this.drop(name, 1);
    return lat;
  }
}

// ---------------------------------------------------------------------------------------------
// Redis Streams, ioredis

export class IoredisDriver implements Driver {
  readonly system = "redis";
  readonly client = "ioredis";
  readonly transport = "tcp";
  readonly label = "ioredis / tcp";
  readonly phases: Phase[] = ["W1 produce acks=1", "W3 consume", "W2 produce 1 KiB"];
  readonly latency = true;
  readonly scale = 0.2;
  private r!: Redis;
  private tail!: Redis;

  constructor(
    private readonly port: number,
    readonly serverPid: number,
  ) {}

  async open(): Promise<void> {
    this.r = new Redis({ host: "127.0.0.1", port: this.port, lazyConnect: true });
    this.tail = new Redis({ host: "127.0.0.1", port: this.port, lazyConnect: true });
    await this.r.connect();
    await this.tail.connect();
  }

  async close(): Promise<void> {
    this.r.disconnect();
    this.tail.disconnect();
  }

  async produce(
    name: string,
    _partitions: number,
    records: number,
    valueBytes: number,
    _acks: 1 | -1,
    onStart: () => void,
  ) {
    const vs = values(PIPELINE, valueBytes);
    onStart();
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < records) {
        const n = Math.min(PIPELINE, records - next);
        next += n;
        const p = this.r.pipeline();
        for (let i = 0; i < n; i++) p.xadd(name, "*", "v", vs[i]);
        const res = await p.exec();
        const bad = res?.find(([e]: [Error | null, unknown]) => e !== null);
        if (bad) throw bad[0];
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    return { ms: performance.now() - t0, records, wireBytes: 0 };
  }

  async consume(name: string, records: number, _valueBytes: number, _chains: number, onStart: () => void) {
    let n = 0;
    let start = "-";
    onStart();
    const t0 = performance.now();
    while (n < records) {
      const entries = await this.r.xrangeBuffer(name, start, "+", "COUNT", 10_000);
      if (entries.length === 0) throw new Error(`ioredis XRANGE from ${start}: nothing`);
      n += entries.length;
      start = `(${entries[entries.length - 1][0].toString()}`;
    }
    return { ms: performance.now() - t0, records: n, wireBytes: 0 };
  }

  async drop(name: string): Promise<void> {
    await this.r.del(name);
  }

  async latencyRun(name: string, rate: number, seconds: number, valueBytes: number): Promise<number[]> {
    const lat: number[] = [];
    let last = "0-0";
    let stop = false;
    const reading = (async () => {
      while (!stop) {
        const res = await this.tail.xreadBuffer("COUNT", 1000, "BLOCK", 200, "STREAMS", name, last);
        if (res === null) continue;
        const now = performance.now();
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            lat.push(now - fields[1].readDoubleLE(0));
            last = id.toString();
          }
        }
      }
    })();
    const template = randomBytes(valueBytes);
    const sends: Promise<unknown>[] = [];
    const total = await paced(rate, seconds, (count, stamp) => {
      const v = stamped(template, stamp);
      const p = this.r.pipeline();
      for (let i = 0; i < count; i++) p.xadd(name, "*", "v", v);
      sends.push(p.exec());
    });
    await Promise.all(sends);
    await until(() => lat.length, total, 10_000, "ioredis latency");
    stop = true;
    await reading;
    await this.drop(name);
    return lat;
  }
}
