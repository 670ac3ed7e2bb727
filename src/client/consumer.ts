// The consumer: assigned partitions (no consumer group), positions set by seek (an offset,
// earliest, latest, or a timestamp through ListOffsets), a fetch loop per leader broker that
// keeps a bounded prefetch, and records handed out by async iteration (or kafkajs-style
// run({ eachMessage / eachBatch })).
//
// - Fetch: one Fetch in flight per broker (as Kafka's consumer), for every assigned partition it
//   leads that is not paused, blocked in a retry backoff or failed. A fetch is only sent while
//   the prefetched bytes (fetched, not yet consumed) are under maxPrefetchBytes, and asks for at
//   most what is left of that bound (one whole batch may exceed it, KIP-74): the prefetch never
//   grows without bound however slow the reader.
// - Records are decoded lazily (src/client/records.ts): a fetched record set is split into
//   batches by header only; a record is decoded when the iterator reaches it.
// - Seek drops what was prefetched for the partition; replies of fetches sent before the seek
//   are ignored for it (an epoch per partition).
// - Errors: OFFSET_OUT_OF_RANGE resets per autoOffsetReset ("earliest" / "latest"), or with
//   "none" stops the partition and is thrown by the iterator. Retriable errors (and lost
//   connections) back off and retry with fresh metadata, up to retry.retries times in a row;
//   then, like non-retriable ones, the partition stops and the iterator throws the typed error
//   (once; seek() on the partition starts it again).

import { type FetchRequest, type FetchResponse, fetchCodec, ZERO_TOPIC_ID } from "../protocol/fetch.ts";
import { type ListOffsetsResponse, listOffsetsCodec } from "../protocol/list_offsets.ts";
import { RECORDS } from "../protocol/record_batch_layout.ts";
import type { Cluster } from "./cluster.ts";
import {
  ConnectionError,
  InvalidArgumentError,
  MilenaError,
  NotConnectedError,
  OffsetOutOfRangeError,
  protocolError,
} from "./errors.ts";
import type { Platform } from "./platform.ts";
import {
  BatchReader,
  type ConsumedRecord,
  compressionOf,
  isControlBatch,
  type RawBatch,
  splitRecordSet,
} from "./records.ts";
import { backoffMs, isRetriableError, type Retry, type RetryOptions, retryDefaults } from "./retry.ts";

export interface ConsumerConfig {
  /** Fetch max_wait_ms: how long the broker may hold a fetch for minBytes. Default 500. */
  maxWaitTimeInMs?: number;
  /** Fetch min_bytes. Default 1. */
  minBytes?: number;
  /** Fetch max_bytes (per request). Default 50 MiB. */
  maxBytes?: number;
  /** Fetch partition_max_bytes. Default 1 MiB. */
  maxBytesPerPartition?: number;
  /** Bound on fetched, not yet consumed bytes; fetching pauses above it. Default 32 MiB. */
  maxPrefetchBytes?: number;
  /** Where a partition without a position starts, and what OFFSET_OUT_OF_RANGE does. Default "latest". */
  autoOffsetReset?: "earliest" | "latest" | "none";
  retry?: RetryOptions;
  /** Let assigning an unknown topic create it (when the broker allows). Default false. */
  allowAutoTopicCreation?: boolean;
}

/** A position: an offset, or where to look it up. */
export type Offset = number | bigint | string | "earliest" | "latest";

export interface Assignment {
  topic: string;
  /** Default: every partition of the topic. */
  partitions?: number[];
  /** Start here (default: autoOffsetReset). */
  offset?: Offset;
}

export interface SeekTarget {
  topic: string;
  partition: number;
  /** An offset, "earliest" or "latest"... */
  offset?: Offset;
  /** ... or the first record with a timestamp at or after this (ms); past the end: the end. */
  timestamp?: number;
}

export interface ConsumedBatch<B extends Uint8Array = Uint8Array> {
  topic: string;
  partition: number;
  /** The partition's log end offset at the fetch. */
  highWatermark: number;
  records: ConsumedRecord<B>[];
}

export interface EachMessagePayload<B extends Uint8Array = Uint8Array> {
  topic: string;
  partition: number;
  message: ConsumedRecord<B>;
}

export interface RunConfig<B extends Uint8Array = Uint8Array> {
  eachMessage?: (payload: EachMessagePayload<B>) => Promise<void> | void;
  eachBatch?: (payload: { batch: ConsumedBatch<B> }) => Promise<void> | void;
}

type Lookup = { kind: "earliest" } | { kind: "latest" } | { kind: "timestamp"; timestamp: number };

class Cursor {
  leader = -1;
  /** Next offset to fetch; -1 while it must be looked up. */
  fetchOffset = -1;
  /** Next offset to hand out. */
  position = -1;
  lookup: Lookup | null = null;
  lookupWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  readonly batches: RawBatch[] = [];
  batchHead = 0;
  reader: BatchReader | null = null;
  /** Decompressing the next batch (async codec). */
  decoding: Promise<void> | null = null;
  bufferedBytes = 0;
  epoch = 0;
  paused = false;
  failed: MilenaError | null = null;
  failures = 0;
  blockedUntil = 0;
  highWatermark = -1;
  inReady = false;
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

function parseOffset(o: Offset): number | "earliest" | "latest" {
  if (o === "earliest" || o === "latest") return o;
  const n = typeof o === "number" ? o : Number(o);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`bad offset ${String(o)}`);
  return n;
}

export class Consumer<B extends Uint8Array = Uint8Array> implements AsyncIterable<ConsumedRecord<B>> {
  private readonly maxWait: number;
  private readonly minBytes: number;
  private readonly maxBytes: number;
  private readonly maxBytesPerPartition: number;
  private readonly maxPrefetch: number;
  private readonly reset: "earliest" | "latest" | "none";
  private readonly retry: Retry;
  private readonly allowAutoTopicCreation: boolean;

  private state: "new" | "connected" | "closed" = "new";
  private readonly cursors = new Map<string, Cursor>();
  private readonly loops = new Map<number, Promise<void>>();
  private readonly ready: Cursor[] = [];
  private readonly errors: MilenaError[] = [];
  private prefetched = 0;
  /** Woken when data, an error or a close arrives (the iterator). */
  private dataWaiter: (() => void) | null = null;
  /** Woken when fetching may proceed (consumption, seek, assign, resume). */
  private fetchWaiters: (() => void)[] = [];
  private running = 0;
  private lookupsRunning = false;

  constructor(
    private readonly cluster: Cluster,
    private readonly platform: Platform,
    config: ConsumerConfig = {},
  ) {
    this.maxWait = config.maxWaitTimeInMs ?? 500;
    this.minBytes = config.minBytes ?? 1;
    this.maxBytes = config.maxBytes ?? 50 * 1024 * 1024;
    this.maxBytesPerPartition = config.maxBytesPerPartition ?? 1024 * 1024;
    this.maxPrefetch = config.maxPrefetchBytes ?? 32 * 1024 * 1024;
    this.reset = config.autoOffsetReset ?? "latest";
    this.retry = retryDefaults(config.retry);
    this.allowAutoTopicCreation = config.allowAutoTopicCreation ?? false;
  }

  /** Fetched bytes not yet consumed (at most maxPrefetchBytes plus one batch). */
  get prefetchedBytes(): number {
    return this.prefetched;
  }

  async connect(): Promise<void> {
    if (this.state === "connected") return;
    await this.cluster.connect();
    this.state = "connected";
  }

  private checkConnected(): void {
    if (this.state !== "connected")
      throw new NotConnectedError(
        this.state === "new" ? "consumer.connect() first" : "the consumer is disconnected",
      );
  }

  /**
   * Consume these partitions (replacing the previous assignment; partitions kept keep their
   * position). Resolves once partitions, leaders and starting positions are known.
   */
  async assign(assignments: Assignment[]): Promise<void> {
    this.checkConnected();
    const next = new Map<string, { topic: string; partition: number; offset?: Offset }>();
    for (const a of assignments) {
      let parts = a.partitions;
      if (parts === undefined) {
        const info = await this.cluster.topic(a.topic, {
          allowAutoTopicCreation: this.allowAutoTopicCreation,
        });
        parts = info.partitions.map((p) => p.partitionId);
      }
      for (const p of parts) next.set(key(a.topic, p), { topic: a.topic, partition: p, offset: a.offset });
    }
    for (const [k, c] of this.cursors)
      if (!next.has(k)) {
        this.dropBuffered(c);
        c.epoch++;
        this.cursors.delete(k);
        for (const w of c.lookupWaiters.splice(0)) w.reject(new InvalidArgumentError("partition unassigned"));
      }
    const topics = new Set<string>();
    for (const [k, a] of next) {
      let c = this.cursors.get(k);
      if (c === undefined) {
        c = new Cursor(a.topic, a.partition);
        this.cursors.set(k, c);
        if (a.offset === undefined) {
          if (this.reset !== "none") c.lookup = { kind: this.reset };
        } else this.setPosition(c, parseOffset(a.offset));
      } else if (a.offset !== undefined) this.setPosition(c, parseOffset(a.offset));
      topics.add(a.topic);
    }
    for (const t of topics) await this.refreshLeaders(t);
    const lookups: Promise<void>[] = [];
    for (const c of this.cursors.values()) {
      if (c.fetchOffset < 0 && c.lookup === null && c.failed === null) {
        c.failed = new OffsetOutOfRangeError("no position and autoOffsetReset is none: seek() first", {
          topic: c.topic,
          partition: c.partition,
        });
        this.errors.push(c.failed);
        this.wakeReader();
      }
      if (c.lookup !== null && c.failed === null)
        lookups.push(new Promise<void>((resolve, reject) => c.lookupWaiters.push({ resolve, reject })));
    }
    this.kick();
    // Positions known (a failed lookup is reported by the iterator).
    await Promise.allSettled(lookups);
  }

  /** The assigned partitions. */
  assignment(): { topic: string; partition: number }[] {
    return [...this.cursors.values()].map((c) => ({ topic: c.topic, partition: c.partition }));
  }

  /** The next offset the iterator will hand out for a partition (-1 while being looked up). */
  position(topic: string, partition: number): number {
    return this.cursors.get(key(topic, partition))?.position ?? -1;
  }

  /**
   * Move a partition: to an offset, to "earliest" / "latest", or to a timestamp. Resolves when the
   * new position is known (at once for an offset).
   */
  seek(target: SeekTarget): Promise<void> {
    this.checkConnected();
    const c = this.cursors.get(key(target.topic, target.partition));
    if (c === undefined)
      return Promise.reject(new InvalidArgumentError(`${target.topic}-${target.partition} is not assigned`));
    c.failed = null;
    c.failures = 0;
    c.blockedUntil = 0;
    if (target.timestamp !== undefined) {
      this.dropBuffered(c);
      c.epoch++;
      c.fetchOffset = -1;
      c.position = -1;
      c.lookup =
        target.timestamp < 0 ? { kind: "earliest" } : { kind: "timestamp", timestamp: target.timestamp };
    } else {
      const o = parseOffset(target.offset ?? "latest");
      this.setPosition(c, o);
    }
    const done =
      c.lookup === null
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => c.lookupWaiters.push({ resolve, reject }));
    this.kick();
    return done;
  }

  private setPosition(c: Cursor, o: number | "earliest" | "latest"): void {
    this.dropBuffered(c);
    c.epoch++;
    if (typeof o === "number") {
      c.fetchOffset = o;
      c.position = o;
      c.lookup = null;
      for (const w of c.lookupWaiters.splice(0)) w.resolve();
    } else {
      c.fetchOffset = -1;
      c.position = -1;
      c.lookup = { kind: o };
    }
  }

  /** Stop fetching and handing out these partitions (what was prefetched waits for resume()). */
  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const c of this.select(topics)) c.paused = true;
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    for (const c of this.select(topics)) {
      c.paused = false;
      if (!c.inReady && (c.reader !== null || c.batches.length > c.batchHead)) {
        c.inReady = true;
        this.ready.push(c);
      }
    }
    this.wakeReader();
    this.kick();
  }

  private select(topics: { topic: string; partitions?: number[] }[]): Cursor[] {
    const out: Cursor[] = [];
    for (const c of this.cursors.values())
      for (const t of topics)
        if (t.topic === c.topic && (t.partitions === undefined || t.partitions.includes(c.partition)))
          out.push(c);
    return out;
  }

  private dropBuffered(c: Cursor): void {
    this.prefetched -= c.bufferedBytes;
    c.bufferedBytes = 0;
    c.batches.length = 0;
    c.batchHead = 0;
    c.reader = null;
    c.decoding = null;
    if (c.inReady) {
      const i = this.ready.indexOf(c);
      if (i >= 0) this.ready.splice(i, 1);
      c.inReady = false;
    }
  }

  private async refreshLeaders(topic: string): Promise<void> {
    try {
      const info = await this.cluster.topic(topic, {
        refresh: true,
        allowAutoTopicCreation: this.allowAutoTopicCreation,
      });
      for (const c of this.cursors.values()) {
        if (c.topic !== topic) continue;
        const p = info.partitions.find((x) => x.partitionId === c.partition);
        if (p === undefined) {
          c.failed = protocolError(3, `partition ${c.partition} does not exist`, {
            topic,
            partition: c.partition,
          });
          this.errors.push(c.failed);
          this.wakeReader();
        } else c.leader = p.leader;
      }
    } catch (e) {
      for (const c of this.cursors.values())
        if (c.topic === topic && c.leader < 0) this.partitionError(c, e as Error);
    }
  }

  /** Start what has work: offset lookups and a fetch loop per leader. */
  private kick(): void {
    if (this.state !== "connected") return;
    for (const w of this.fetchWaiters.splice(0)) w();
    let lookups = false;
    for (const c of this.cursors.values()) {
      if (c.lookup !== null && c.failed === null) lookups = true;
      if (c.leader >= 0 && !this.loops.has(c.leader)) {
        const node = c.leader;
        this.loops.set(
          node,
          this.fetchLoop(node).finally(() => this.loops.delete(node)),
        );
      }
    }
    if (lookups && !this.lookupsRunning) {
      this.runLookups().catch((e) => {
        this.errors.push(
          e instanceof MilenaError
            ? e
            : new MilenaError(`offset lookups failed: ${(e as Error).message}`, false, { cause: e }),
        );
        this.wakeReader();
      });
    }
  }

  // ---- offset lookups (ListOffsets) ----

  private async runLookups(): Promise<void> {
    this.lookupsRunning = true;
    try {
      for (;;) {
        const byNode = new Map<number, Cursor[]>();
        const now = Date.now();
        let waitUntil = 0;
        for (const c of this.cursors.values()) {
          if (c.lookup === null || c.failed !== null) continue;
          if (c.leader < 0 || c.blockedUntil > now) {
            waitUntil = Math.max(waitUntil, c.blockedUntil);
            continue;
          }
          const list = byNode.get(c.leader) ?? [];
          list.push(c);
          byNode.set(c.leader, list);
        }
        if (byNode.size === 0) {
          if (waitUntil > now) {
            await this.cluster.sleep(waitUntil - now);
            continue;
          }
          return;
        }
        await Promise.all([...byNode].map(([node, list]) => this.lookupOn(node, list)));
        if (this.state !== "connected") return;
      }
    } finally {
      this.lookupsRunning = false;
    }
  }

  private async lookupOn(node: number, list: Cursor[]): Promise<void> {
    const asked = list.map((c) => ({ c, lookup: c.lookup!, epoch: c.epoch }));
    const topics = new Map<string, { partitionIndex: number; timestamp: number }[]>();
    for (const a of asked) {
      const ts = a.lookup.kind === "earliest" ? -2 : a.lookup.kind === "latest" ? -1 : a.lookup.timestamp;
      const l = topics.get(a.c.topic) ?? [];
      l.push({ partitionIndex: a.c.partition, timestamp: ts });
      topics.set(a.c.topic, l);
    }
    let res: ListOffsetsResponse;
    try {
      const conn = await this.cluster.connection(node);
      res = await conn.request(listOffsetsCodec, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      });
    } catch (e) {
      for (const a of asked) this.partitionError(a.c, e as Error);
      return;
    }
    for (const a of asked) {
      const c = a.c;
      if (c.epoch !== a.epoch || c.lookup !== a.lookup) continue; // moved meanwhile
      const p = res.topics
        .find((t) => t.name === c.topic)
        ?.partitions.find((x) => x.partitionIndex === c.partition);
      if (p === undefined) {
        this.partitionError(
          c,
          new ConnectionError(`ListOffsets reply has no answer for ${c.topic}-${c.partition}`),
        );
        continue;
      }
      if (p.errorCode !== 0) {
        this.partitionError(c, protocolError(p.errorCode, null, { topic: c.topic, partition: c.partition }));
        continue;
      }
      if (p.offset < 0 && a.lookup.kind === "timestamp") {
        c.lookup = { kind: "latest" }; // no record at or after the time: the end
        continue;
      }
      c.failures = 0;
      c.lookup = null;
      c.fetchOffset = p.offset;
      c.position = p.offset;
      for (const w of c.lookupWaiters.splice(0)) w.resolve();
    }
    this.kick();
  }

  // ---- fetching ----

  private async fetchLoop(node: number): Promise<void> {
    while (this.state === "connected") {
      const now = Date.now();
      const parts: Cursor[] = [];
      let wakeAt = 0;
      for (const c of this.cursors.values()) {
        if (c.leader !== node || c.paused || c.failed !== null || c.fetchOffset < 0) continue;
        if (c.blockedUntil > now) {
          wakeAt = wakeAt === 0 ? c.blockedUntil : Math.min(wakeAt, c.blockedUntil);
          continue;
        }
        parts.push(c);
      }
      const room = this.maxPrefetch - this.prefetched;
      if (parts.length === 0 || room <= 0) {
        if (parts.length === 0 && wakeAt === 0 && ![...this.cursors.values()].some((c) => c.leader === node))
          return;
        await this.waitForFetchWork(wakeAt > 0 ? wakeAt - now : 0);
        continue;
      }
      await this.fetchOnce(node, parts, room);
    }
  }

  private waitForFetchWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const done = () => {
        if (timer !== null) clearTimeout(timer);
        resolve();
      };
      this.fetchWaiters.push(done);
      if (ms > 0) timer = setTimeout(done, ms);
    });
  }

  private async fetchOnce(node: number, parts: Cursor[], room: number): Promise<void> {
    const epochs = parts.map((c) => c.epoch);
    const offsets = parts.map((c) => c.fetchOffset);
    const byTopic = new Map<string, Cursor[]>();
    for (const c of parts) {
      const l = byTopic.get(c.topic) ?? [];
      l.push(c);
      byTopic.set(c.topic, l);
    }
    const maxBytes = Math.max(1, Math.min(this.maxBytes, room));
    const req: FetchRequest = {
      replicaId: -1,
      maxWaitMs: this.maxWait,
      minBytes: this.minBytes,
      maxBytes,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [...byTopic].map(([topic, cs]) => ({
        topic,
        topicId: ZERO_TOPIC_ID,
        partitions: cs.map((c) => ({
          partition: c.partition,
          currentLeaderEpoch: -1,
          fetchOffset: c.fetchOffset,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: Math.min(this.maxBytesPerPartition, maxBytes),
        })),
      })),
      forgottenTopicsData: [],
      rackId: "",
    };
    let res: FetchResponse;
    try {
      const conn = await this.cluster.connection(node);
      res = await conn.request(fetchCodec, req, { extraTimeoutMs: this.maxWait });
    } catch (e) {
      if (this.state !== "connected") return;
      for (let i = 0; i < parts.length; i++)
        if (parts[i].epoch === epochs[i]) this.partitionError(parts[i], e as Error);
      return;
    }
    if (res.errorCode !== 0) {
      const e = protocolError(res.errorCode, "Fetch failed");
      for (const c of parts) this.partitionError(c, e);
      return;
    }
    let added = false;
    for (const t of res.responses) {
      for (const p of t.partitions) {
        const i = parts.findIndex((c) => c.topic === t.topic && c.partition === p.partitionIndex);
        if (i < 0) continue;
        const c = parts[i];
        if (c.epoch !== epochs[i] || c.fetchOffset !== offsets[i]) continue; // seeked meanwhile
        if (p.errorCode !== 0) {
          this.fetchError(c, p.errorCode);
          continue;
        }
        c.failures = 0;
        c.highWatermark = p.highWatermark;
        if (p.records.length === 0) continue;
        const batches = splitRecordSet(p.records[0]);
        for (const b of batches) {
          if (b.lastOffset < c.fetchOffset) continue; // before the position (fetch from inside a batch)
          c.batches.push(b);
          c.bufferedBytes += b.data.length;
          this.prefetched += b.data.length;
          c.fetchOffset = b.lastOffset + 1;
          added = true;
        }
        if (c.batches.length > c.batchHead && !c.inReady) {
          c.inReady = true;
          this.ready.push(c);
        }
      }
    }
    if (added) this.wakeReader();
  }

  private fetchError(c: Cursor, code: number): void {
    const e = protocolError(code, null, { topic: c.topic, partition: c.partition });
    if (e instanceof OffsetOutOfRangeError && this.reset !== "none") {
      this.dropBuffered(c);
      c.epoch++;
      c.fetchOffset = -1;
      c.position = -1;
      c.lookup = { kind: this.reset };
      this.kick();
      return;
    }
    this.partitionError(c, e);
  }

  /** A failed fetch or lookup for a partition: back off and retry, or stop it and report. */
  private partitionError(c: Cursor, e: Error): void {
    if (this.state !== "connected" || c.failed !== null) return;
    c.failures++;
    if (isRetriableError(e) && c.failures <= this.retry.retries) {
      c.blockedUntil = Date.now() + backoffMs(this.retry, c.failures);
      // refreshLeaders never rejects (it turns failures into partition errors).
      void this.refreshLeaders(c.topic).then(() => this.kick());
      this.cluster.later(() => this.kick(), c.blockedUntil - Date.now() + 1);
      return;
    }
    c.failed = e as MilenaError;
    for (const w of c.lookupWaiters.splice(0)) w.reject(e);
    this.errors.push(c.failed);
    this.wakeReader();
  }

  private wakeReader(): void {
    const w = this.dataWaiter;
    if (w !== null) {
      this.dataWaiter = null;
      w();
    }
  }

  // ---- handing out records ----

  /**
   * The next record that is ready, a promise when a batch must be decompressed first, or null
   * when nothing is ready.
   */
  private take(): ConsumedRecord<B> | Promise<void> | null {
    while (this.ready.length > 0) {
      const c = this.ready[0];
      if (c.paused) {
        // held back until resume() (what it had fetched stays buffered)
        this.ready.shift();
        c.inReady = false;
        continue;
      }
      if (c.decoding !== null) return c.decoding;
      if (c.reader !== null) {
        const r = c.reader.next();
        if (r !== null) {
          if (r.offset < c.position) continue; // inside a batch fetched from its middle
          c.position = r.offset + 1;
          return r as ConsumedRecord<B>;
        }
        this.finishBatch(c);
        continue;
      }
      const b = c.batches[c.batchHead];
      if (b === undefined) {
        this.ready.shift();
        c.inReady = false;
        continue;
      }
      if (isControlBatch(b) || b.lastOffset < c.position) {
        c.reader = null;
        this.finishBatch(c);
        continue;
      }
      const codecId = compressionOf(b);
      if (codecId === 0) {
        c.reader = new BatchReader(b, b.data.subarray(RECORDS), c.topic, c.partition);
        continue;
      }
      const codec = this.platform.codecs.get(codecId);
      if (codec === undefined) {
        this.stopPartition(
          c,
          protocolError(76, `compression codec ${codecId} is not available in this client`, {
            topic: c.topic,
            partition: c.partition,
          }),
        );
        continue;
      }
      let out: Uint8Array | Promise<Uint8Array>;
      try {
        out = codec.decompress(b.data.subarray(RECORDS));
      } catch (e) {
        this.stopPartition(
          c,
          protocolError(2, `decompressing a batch failed: ${(e as Error).message}`, {
            topic: c.topic,
            partition: c.partition,
          }),
        );
        continue;
      }
      if (out instanceof Promise) {
        const epoch = c.epoch;
        c.decoding = out.then(
          (d) => {
            if (c.epoch !== epoch) return;
            c.decoding = null;
            c.reader = new BatchReader(b, d, c.topic, c.partition);
          },
          (e) => {
            if (c.epoch !== epoch) return;
            c.decoding = null;
            this.stopPartition(
              c,
              protocolError(2, `decompressing a batch failed: ${(e as Error).message}`, {
                topic: c.topic,
                partition: c.partition,
              }),
            );
          },
        );
        return c.decoding;
      }
      c.reader = new BatchReader(b, out, c.topic, c.partition);
    }
    return null;
  }

  /** Done with the current batch of the head cursor: free its bytes, rotate to the next partition. */
  private finishBatch(c: Cursor): void {
    const b = c.batches[c.batchHead];
    c.reader = null;
    if (b !== undefined) {
      c.batches[c.batchHead++] = undefined as never;
      c.bufferedBytes -= b.data.length;
      this.prefetched -= b.data.length;
      if (b.lastOffset + 1 > c.position) c.position = b.lastOffset + 1;
      if (c.batchHead === c.batches.length) {
        c.batches.length = 0;
        c.batchHead = 0;
      }
      for (const w of this.fetchWaiters.splice(0)) w();
    }
    // next partition's turn
    if (this.ready[0] === c) {
      this.ready.shift();
      if (c.batches.length > c.batchHead) this.ready.push(c);
      else c.inReady = false;
    }
  }

  private stopPartition(c: Cursor, e: MilenaError): void {
    this.dropBuffered(c);
    c.failed = e;
    this.errors.push(e);
  }

  /** Async iteration over records, across the assigned partitions, as they arrive. */
  records(): AsyncIterableIterator<ConsumedRecord<B>> {
    return this.recordIterator(-1);
  }

  private recordIterator(generation: number): AsyncIterableIterator<ConsumedRecord<B>> {
    const it: AsyncIterableIterator<ConsumedRecord<B>> = {
      next: () => {
        // Fast path: a record is ready, no async function, no waiting.
        if (!this.ended(generation) && this.errors.length === 0) {
          const r = this.take();
          if (r !== null && !(r instanceof Promise)) return Promise.resolve({ value: r, done: false });
        }
        return this.nextRecord(generation);
      },
      return: async () => ({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsumedRecord<B>> {
    return this.records();
  }

  /** Whether an iterator of run() number `generation` (-1: not run()'s) must end. */
  private ended(generation: number): boolean {
    return this.state !== "connected" || (generation >= 0 && this.running !== generation);
  }

  private async nextRecord(generation: number): Promise<IteratorResult<ConsumedRecord<B>>> {
    for (;;) {
      if (this.ended(generation)) return { value: undefined, done: true };
      if (this.errors.length > 0) throw this.errors.shift();
      const r = this.take();
      if (r === null) await new Promise<void>((resolve) => (this.dataWaiter = resolve));
      else if (r instanceof Promise) await r;
      else return { value: r, done: false };
    }
  }

  /** Async iteration over whole batches (each decoded at once), as kafkajs's eachBatch sees them. */
  batches(): AsyncIterableIterator<ConsumedBatch<B>> {
    return this.batchIterator(-1);
  }

  private batchIterator(generation: number): AsyncIterableIterator<ConsumedBatch<B>> {
    const it: AsyncIterableIterator<ConsumedBatch<B>> = {
      next: () => this.nextBatch(generation),
      return: async () => ({ value: undefined, done: true }),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  private async nextBatch(generation: number): Promise<IteratorResult<ConsumedBatch<B>>> {
    for (;;) {
      if (this.ended(generation)) return { value: undefined, done: true };
      if (this.errors.length > 0) throw this.errors.shift();
      const first = this.take();
      if (first === null) {
        await new Promise<void>((resolve) => (this.dataWaiter = resolve));
        continue;
      }
      if (first instanceof Promise) {
        await first;
        continue;
      }
      const c = this.ready[0];
      const records: ConsumedRecord<B>[] = [first];
      const reader = c.reader;
      for (let r = reader?.next() ?? null; r !== null; r = reader!.next()) {
        if (r.offset < c.position) continue;
        c.position = r.offset + 1;
        records.push(r as ConsumedRecord<B>);
      }
      if (c.reader === reader) this.finishBatch(c);
      return {
        value: { topic: c.topic, partition: c.partition, highWatermark: c.highWatermark, records },
        done: false,
      };
    }
  }

  /**
   * kafkajs-style processing: calls eachBatch or eachMessage for what arrives, awaiting each,
   * until stop() or disconnect(). The promise settles then (rejecting with an error the handler
   * or the consumer throws); it does not resolve at once as kafkajs's does.
   */
  async run(config: RunConfig<B>): Promise<void> {
    this.checkConnected();
    if (config.eachBatch === undefined && config.eachMessage === undefined)
      throw new InvalidArgumentError("run() needs eachMessage or eachBatch");
    const generation = ++this.running;
    if (config.eachBatch !== undefined) {
      for await (const batch of this.batchIterator(generation)) await config.eachBatch({ batch });
    } else {
      const each = config.eachMessage!;
      for await (const message of this.recordIterator(generation))
        await each({ topic: message.topic, partition: message.partition, message });
    }
  }

  /** Stop run() (after the handler in progress); fetching and prefetch continue. */
  async stop(): Promise<void> {
    this.running++;
    this.wakeReader();
  }

  async disconnect(): Promise<void> {
    this.state = "closed";
    this.running++;
    for (const w of this.fetchWaiters.splice(0)) w();
    this.wakeReader();
    for (const c of this.cursors.values())
      for (const w of c.lookupWaiters.splice(0))
        w.reject(new NotConnectedError("the consumer is disconnected"));
    this.cluster.disconnect();
    await Promise.allSettled([...this.loops.values()]);
  }
}
