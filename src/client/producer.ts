// The producer: kafkajs's send()/sendBatch() over Kafka's batching model (the Java producer's
// accumulator and sender).
//
// - send() encodes each message straight into the open batch of its partition (one buffer of
//   batchSize bytes, src/client/batch.ts; buffers are reused once acknowledged) and resolves once
//   every batch holding its messages is acknowledged (acks 1 / -1) or written (acks 0).
// - A batch closes when it reaches batchSize, when it has waited lingerMs, on flush(), or (with
//   lingerMs 0, the default) as soon as a request slot to its leader is free: while the
//   maxInFlightRequests slots are busy, records pile into the open batch, so batches grow with
//   load by themselves. Requests carry one batch per partition, for all the partitions a broker
//   leads, up to maxRequestSize; they are pipelined up to maxInFlightRequests per connection.
// - Memory: every batch reserves its buffer from bufferMemory (a compressed batch keeps only its
//   compressed size) and gives it back when acknowledged. When the buffer is full, send() waits (in
//   arrival order) until acknowledgements free enough; memory never grows past the bound.
// - Keys go through Kafka's murmur2 partitioner; null keys stick to one random partition until
//   its batch closes (KIP-480).
// - Retriable errors (partition errors Kafka marks retriable, lost connections, timeouts) put the
//   batch back at the head of its partition's queue after a backoff and refresh metadata, up to
//   retry.retries times; then the sends it carries reject with the typed error.
// - Idempotent by default (as Kafka's Java producer is since 3.0, when acks is -1): connect()
//   asks InitProducerId for a producer id; each acks=-1 batch carries it, its epoch and the
//   partition's next sequence number (given as the batch closes, checked as it is first sent: a
//   partition's batches go out, and are retried, in queue order, at most 5 in flight), so the
//   broker stores a retried batch once and answers it with its first offset. When the broker
//   lost a batch's sequence (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
//   INVALID_PRODUCER_EPOCH), or a sent batch failed for good, the producer waits for what is in
//   flight, takes a new producer id (KIP-360's way out) and restamps the batches not yet
//   stored. Without idempotence (idempotent: false, acks 0 or 1, a send with its own acks 0 or
//   1, or a broker without InitProducerId) a retry may reorder or duplicate batches when several
//   are in flight, as in Kafka.

import { ApiKey } from "../protocol/api_keys.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { initProducerIdCodec } from "../protocol/init_producer_id.ts";
import { type ProduceResponse, type ProduceTopicData, produceCodec } from "../protocol/produce.ts";
import {
  ATTRIBUTES,
  BASE_SEQUENCE,
  CRC,
  PRODUCER_EPOCH,
  PRODUCER_ID,
} from "../protocol/record_batch_layout.ts";
import {
  BATCH_HEADER_BYTES,
  BatchBuilder,
  headersSize,
  type MessageHeaders,
  recordBodySize,
  uvarintSize,
} from "./batch.ts";
import type { Cluster, TopicInfo } from "./cluster.ts";
import type { Connection } from "./connection.ts";
import {
  ConnectionError,
  InvalidArgumentError,
  KafkaProtocolError,
  kafkaErrorName,
  MessageTooLargeError,
  MilenaError,
  NotConnectedError,
  protocolError,
  UnknownTopicOrPartitionError,
  UnsupportedCompressionTypeError,
  UnsupportedVersionError,
} from "./errors.ts";
import { murmur2, type PartitionerArgs, type PartitionerFactory, toPositive } from "./partitioner.ts";
import { type CompressionType, CompressionTypes, type Platform } from "./platform.ts";
import { backoffMs, isRetriableError, type Retry, type RetryOptions, retryDefaults } from "./retry.ts";

export type Compression = CompressionType | "none" | "gzip" | "snappy" | "lz4" | "zstd";

export interface ProducerConfig {
  /** 0 (no reply), 1 (leader wrote it) or -1 (all in-sync replicas; Milena: fsynced). Default -1. */
  acks?: number;
  /** Default none. */
  compression?: Compression;
  /** Largest batch in bytes (records bigger than this get a batch of their own). Default 16384. */
  batchSize?: number;
  /** How long a batch may wait for more records before it is sent. Default 0. */
  lingerMs?: number;
  /** Bound on the bytes of batches not yet acknowledged; send() waits when full. Default 32 MiB. */
  bufferMemory?: number;
  /**
   * Produce requests in flight per broker connection. Default 5 with idempotence (Kafka's Java
   * producer); without it, no bound but bufferMemory's (as librdkafka's 1,000,000 and kafkajs's
   * none).
   */
  maxInFlightRequests?: number;
  /** The Produce request's timeout_ms (how long the broker may wait for acks). Default 30000. */
  timeout?: number;
  /** Largest Produce request (and record). Default 1 MiB. */
  maxRequestSize?: number;
  retry?: RetryOptions;
  /** A kafkajs-style partitioner; default: murmur2 for keys, sticky for null keys. */
  createPartitioner?: PartitionerFactory;
  /** Let a send to an unknown topic create it (when the broker allows). Default true. */
  allowAutoTopicCreation?: boolean;
  /**
   * Exactly-once writes per partition across retries (producer id + sequence numbers). Default:
   * on when acks is -1 (Kafka's default), off otherwise; true with acks 0 or 1 is refused.
   */
  idempotent?: boolean;
}

/** Batches of one partition in flight at once with idempotence: the broker remembers five. */
const IDEMPOTENT_MAX_IN_FLIGHT = 5;

/**
 * The producer connection's bound on requests in flight: the config's, else 5 with idempotence
 * (its default with acks -1), else none: every batch in flight holds its bytes of bufferMemory,
 * which bounds them. One partition's rate at 16 KiB batches is requests in flight x batch / round
 * trip, so 5 would leave a non-idempotent producer waiting on the broker's round trip (measured
 * here: 0.85 M records/s of 100 B at 5, 1.3-1.6 M unbounded, the 16 KiB-batch librdkafka rate
 * ~0.9 M in the same run).
 */
export function producerMaxInFlight(config: ProducerConfig): number {
  if (config.maxInFlightRequests !== undefined) return Math.max(1, config.maxInFlightRequests);
  return mayBeIdempotent(config) ? IDEMPOTENT_MAX_IN_FLIGHT : Number.POSITIVE_INFINITY;
}

/** Whether the producer's batches may carry a producer id: acks -1 (the default) and not turned off. */
function mayBeIdempotent(config: ProducerConfig): boolean {
  return config.idempotent !== false && (config.acks ?? -1) === -1;
}
/** Sequence numbers wrap at int32 (Kafka's DefaultRecordBatch.incrementSequence). */
const SEQUENCE_WRAP = 2 ** 31;

export interface Message {
  key?: Uint8Array | string | null;
  value: Uint8Array | string | null;
  /** Send to this partition instead of the partitioner's choice. */
  partition?: number;
  headers?: MessageHeaders;
  /** Milliseconds since the epoch (kafkajs passes a string); default now. */
  timestamp?: number | string;
}

export interface ProducerRecord {
  topic: string;
  messages: Message[];
  acks?: number;
  compression?: Compression;
}

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

export interface ProducerBatch {
  topicMessages: TopicMessages[];
  acks?: number;
  compression?: Compression;
}

/** One per topic-partition a send wrote to (kafkajs's RecordMetadata; offsets as numbers). */
export interface RecordMetadata {
  topicName: string;
  partition: number;
  errorCode: number;
  /** Offset of the send's first record in this partition (-1 with acks 0). */
  baseOffset: number;
  /** -1 unless the topic uses LogAppendTime. */
  logAppendTime: number;
  logStartOffset: number;
}

const COMPRESSION_NAMES: { [k: string]: number } = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 };

export function compressionId(c: Compression | undefined): number {
  if (c === undefined) return CompressionTypes.None;
  if (typeof c === "number") return c;
  const id = COMPRESSION_NAMES[c.toLowerCase()];
  if (id === undefined) throw new InvalidArgumentError(`unknown compression "${c}"`);
  return id;
}

/** Full-size batch buffers kept for reuse once acknowledged (counted within bufferMemory). */
const POOL_MAX = 16;

class SendTracker {
  pending = 0;
  sealed = false;
  settled = false;
  /** Memory granted to this send while it waited, not yet used by a batch. */
  credit = 0;
  /** Pooled buffers handed over with that memory (counted in it), for its next full-size batches. */
  bufs: Uint8Array[] | null = null;
  /** Some of its messages are appended: it waits at the head of the memory queue. */
  started = false;
  /**
   * One RecordMetadata per partition written to: the first inline (most sends write to one),
   * the others in a Map made when a second partition answers.
   */
  private firstPs: PartitionState | null = null;
  private first: RecordMetadata | null = null;
  private more: Map<PartitionState, RecordMetadata> | null = null;
  readonly promise: Promise<RecordMetadata[]>;
  private resolve!: (r: RecordMetadata[]) => void;
  private reject!: (e: Error) => void;

  constructor() {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  done(ps: PartitionState, baseOffset: number, logAppendTime: number, logStartOffset: number): void {
    const r = this.firstPs === ps ? this.first : (this.more?.get(ps) ?? null);
    if (r === null) {
      const m: RecordMetadata = {
        topicName: ps.topic.name,
        partition: ps.index,
        errorCode: 0,
        baseOffset,
        logAppendTime,
        logStartOffset,
      };
      if (this.first === null) {
        this.firstPs = ps;
        this.first = m;
      } else (this.more ??= new Map()).set(ps, m);
    } else if (baseOffset >= 0 && (r.baseOffset < 0 || baseOffset < r.baseOffset)) r.baseOffset = baseOffset;
    this.pending--;
    this.check();
  }

  seal(): void {
    this.sealed = true;
    this.check();
  }

  private check(): void {
    if (this.sealed && this.pending === 0 && !this.settled) {
      this.settled = true;
      const out: RecordMetadata[] = this.first === null ? [] : [this.first];
      if (this.more !== null) for (const m of this.more.values()) out.push(m);
      this.resolve(out);
    }
  }

  fail(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(e);
  }
}

class TopicState {
  partitions: PartitionState[] = [];
  info: TopicInfo | null = null;
  loading: Promise<void> | null = null;
  refreshing: Promise<void> | null = null;
  /** Sticky partition for null keys, and the batch it was filling. */
  sticky = -1;
  stickyBatch: Batch | null = null;
  partitionMetadata: { partitionId: number; leader: number }[] = [];
  constructor(readonly name: string) {}
}

class PartitionState {
  leader = -1;
  /** The open batch of the producer's default acks/compression, and of others (by lane). */
  open: Batch | null = null;
  others: Map<number, Batch> | null = null;
  /** Closed batches waiting to be sent, oldest first. */
  readonly queue: Batch[] = [];
  /** No send before this time (a retry's backoff). */
  blockedUntil = 0;
  /**
   * Idempotence: the base sequence the next closing batch is given, the one the next batch sent
   * for the first time must carry (else it is restamped), and batches sent and not answered.
   */
  nextSequence = 0;
  sendSequence = 0;
  inFlight = 0;
  constructor(
    readonly topic: TopicState,
    readonly index: number,
  ) {}
}

let batchSeq = 0;
const EMPTY = new Uint8Array(0);

class Batch {
  readonly seq = ++batchSeq;
  readonly builder: BatchBuilder;
  readonly trackers: SendTracker[] = [];
  readonly firsts: number[] = [];
  lastTracker: SendTracker | null = null;
  /** An open batch that may be sent now (linger over, lingerMs 0, flush, memory pressure). */
  sendable = false;
  closed = false;
  /** The finished RecordBatch; null while open or compressing. */
  bytes: Uint8Array | null = null;
  attempts = 0;
  done = false;
  lingerTimer: ReturnType<typeof setTimeout> | null = null;
  /** Its place in the partition's queue: creation order. */
  readonly order: number;
  /** Sent and not yet answered. */
  inFlight = false;
  /**
   * Idempotence: the producer id generation and base sequence its bytes carry (-1: none), and
   * the generation it was last sent under.
   */
  stampGeneration = -1;
  baseSequence = -1;
  sentGeneration = -1;
  /** Its last send failed without an answer (a lost connection, a timeout): it may be stored. */
  outcomeUnknown = false;

  constructor(
    platform: Platform,
    readonly ps: PartitionState,
    readonly lane: number,
    readonly acks: number,
    readonly compression: number,
    public reserved: number,
    buf: Uint8Array | undefined,
  ) {
    this.builder = new BatchBuilder(platform, reserved, buf);
    this.order = this.seq;
  }

  track(t: SendTracker): void {
    if (this.lastTracker === t) return;
    this.lastTracker = t;
    this.trackers.push(t);
    this.firsts.push(this.builder.count);
    t.pending++;
  }
}

interface MemoryWaiter {
  n: number;
  tracker: SendTracker;
  resolve: () => void;
}

function laneOf(acks: number, compression: number): number {
  return acks * 8 + compression;
}

export class Producer {
  private readonly acks: number;
  private readonly compression: number;
  private readonly defaultLane: number;
  private readonly batchSize: number;
  private readonly lingerMs: number;
  private readonly bufferMemory: number;
  private readonly timeoutMs: number;
  private readonly maxRequestSize: number;
  private readonly retry: Retry;
  private readonly partitioner: ((args: PartitionerArgs) => number) | null;
  private readonly allowAutoTopicCreation: boolean;
  /** Idempotence asked for (true), defaulted (null: on with acks -1 if the broker can), or off. */
  private readonly idempotence: boolean | null;
  /** The producer id and epoch (InitProducerId); -1 without idempotence. */
  private producerId = -1;
  private producerEpoch = -1;
  /** Bumped with each new producer id: batches stamped with an older one are restamped. */
  private idGeneration = 0;
  /** A new producer id being fetched (sends wait), or null. */
  private resetting: Promise<void> | null = null;

  private state: "new" | "connected" | "closing" | "closed" = "new";
  private readonly topics = new Map<string, TopicState>();
  private readonly pendingByBroker = new Map<number, Set<PartitionState>>();
  private readonly brokerBlockedUntil = new Map<number, number>();
  private readonly connectFailures = new Map<number, number>();
  private readonly connecting = new Set<number>();
  private drainScheduled = false;
  private drainTimer: ReturnType<typeof setTimeout> | null = null;
  private drainTimerAt = 0;
  private bufferedBytes_ = 0;
  private readonly memWaiters: MemoryWaiter[] = [];
  /** Free full-size batch buffers, and their bytes (bufferedBytes + pooled <= bufferMemory). */
  private readonly pool: Uint8Array[] = [];
  private pooled = 0;
  private liveBatches = 0;
  private flushing = 0;
  private readonly flushWaiters: (() => void)[] = [];
  private scratch: Uint8Array;

  constructor(
    private readonly cluster: Cluster,
    private readonly platform: Platform,
    config: ProducerConfig = {},
  ) {
    this.acks = config.acks ?? -1;
    this.compression = compressionId(config.compression);
    this.defaultLane = laneOf(this.acks, this.compression);
    this.batchSize = Math.max(BATCH_HEADER_BYTES + 16, config.batchSize ?? 16384);
    this.lingerMs = config.lingerMs ?? 0;
    this.bufferMemory = config.bufferMemory ?? 32 * 1024 * 1024;
    this.timeoutMs = config.timeout ?? 30_000;
    this.maxRequestSize = config.maxRequestSize ?? 1024 * 1024;
    this.retry = retryDefaults(config.retry);
    this.partitioner = config.createPartitioner ? config.createPartitioner() : null;
    this.allowAutoTopicCreation = config.allowAutoTopicCreation ?? true;
    if (config.idempotent === true && this.acks !== -1)
      throw new InvalidArgumentError(`an idempotent producer needs acks -1, not ${this.acks}`);
    // (A send with its own acks 0 or 1 goes without idempotence: its batches carry no id.)
    this.idempotence = mayBeIdempotent(config) ? (config.idempotent ?? null) : false;
    this.scratch = platform.alloc(256);
    if (this.bufferMemory < this.batchSize)
      throw new InvalidArgumentError(
        `bufferMemory (${this.bufferMemory}) is smaller than batchSize (${this.batchSize})`,
      );
  }

  /** Bytes of batches not yet acknowledged (open, waiting, in flight): at most bufferMemory. */
  get bufferedBytes(): number {
    return this.bufferedBytes_;
  }

  /** Sends waiting for buffer memory. */
  get waitingSends(): number {
    return this.memWaiters.length;
  }

  async connect(): Promise<void> {
    if (this.state === "connected") return;
    await this.cluster.connect();
    if (this.idempotence !== false && this.producerId < 0) await this.initProducerId();
    this.state = "connected";
  }

  /** Whether batches carry a producer id and sequence numbers. */
  get idempotent(): boolean {
    return this.producerId >= 0;
  }

  /** A producer id and epoch for idempotent batches (a defaulted idempotence falls back when the broker has no InitProducerId). */
  private async initProducerId(): Promise<void> {
    const res = await this.cluster.withRetry(async () => {
      const conn = await this.cluster.anyConnection();
      if (conn.version(ApiKey.InitProducerId) < 0) return null;
      const r = await conn.request(initProducerIdCodec, {
        transactionalId: null,
        transactionTimeoutMs: this.timeoutMs,
      });
      if (r.errorCode !== 0) throw protocolError(r.errorCode, "InitProducerId");
      return r;
    });
    if (res === null) {
      if (this.idempotence === true)
        throw new UnsupportedVersionError(
          "the broker does not serve InitProducerId: idempotence is not available",
        );
      return;
    }
    this.producerId = res.producerId;
    this.producerEpoch = res.producerEpoch;
  }

  /** Send messages to one topic; resolves when they are all acknowledged. */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    return this.sendBatch({
      topicMessages: [{ topic: record.topic, messages: record.messages }],
      acks: record.acks,
      compression: record.compression,
    });
  }

  /**
   * Send messages to several topics at once. As far as it can, synchronously: when its topics'
   * metadata is known and the buffer has room (the usual case), the messages are encoded now and
   * the send's own promise is all it makes; otherwise the rest waits (sendRest).
   */
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (this.state !== "connected")
      return Promise.reject(
        new NotConnectedError(
          this.state === "new" ? "producer.connect() first" : "the producer is disconnected",
        ),
      );
    let acks: number;
    let compression: number;
    try {
      acks = batch.acks ?? this.acks;
      compression = batch.compression === undefined ? this.compression : compressionId(batch.compression);
      if (compression !== 0 && !this.platform.codecs.has(compression))
        throw new UnsupportedCompressionTypeError(
          `compression codec ${compression} is not available in this client`,
        );
    } catch (e) {
      return Promise.reject(e);
    }
    const lane = laneOf(acks, compression);
    const tracker = new SendTracker();
    const now = Date.now();
    try {
      const tms = batch.topicMessages;
      for (let k = 0; k < tms.length; k++) {
        const tm = tms[k];
        const t = this.topics.get(tm.topic);
        // metadata to load, or sends waiting for memory before this one (arrival order)
        if (t === undefined || t.info === null || (this.memWaiters.length > 0 && !tracker.started))
          return this.sendRest(batch, k, 0, false, lane, acks, compression, tracker, now);
        const msgs = tm.messages;
        if (msgs.length === 0) continue;
        const i = this.appendMessages(t, msgs, 0, lane, acks, compression, tracker, now);
        if (i < msgs.length) return this.sendRest(batch, k, i, true, lane, acks, compression, tracker, now);
        tracker.started = true;
      }
    } catch (e) {
      tracker.fail(e as Error);
    }
    return this.endSend(tracker);
  }

  /**
   * The rest of a send, from topic k, message i on: after its topic's metadata, or after memory
   * when `forMemory` (appendMessages stopped at i for this.memoryNeeded bytes).
   */
  private async sendRest(
    batch: ProducerBatch,
    k: number,
    i: number,
    forMemory: boolean,
    lane: number,
    acks: number,
    compression: number,
    tracker: SendTracker,
    now: number,
  ): Promise<RecordMetadata[]> {
    try {
      const tms = batch.topicMessages;
      for (; k < tms.length; k++, i = 0, forMemory = false) {
        const tm = tms[k];
        let t = this.topics.get(tm.topic);
        if (t === undefined || t.info === null) t = await this.loadTopic(tm.topic);
        const msgs = tm.messages;
        if (!forMemory && this.memWaiters.length > 0 && !tracker.started)
          await this.waitForMemory(0, tracker, false); // arrival order
        for (;;) {
          if (forMemory) {
            await this.waitForMemory(this.memoryNeeded, tracker, tracker.started);
            tracker.started = true;
          }
          if (i >= msgs.length) break;
          i = this.appendMessages(t, msgs, i, lane, acks, compression, tracker, now);
          if (i >= msgs.length) {
            tracker.started = true;
            break;
          }
          forMemory = true;
        }
      }
    } catch (e) {
      tracker.fail(e as Error);
    }
    return this.endSend(tracker);
  }

  /** Every message of a send is appended (or it failed): give back unused memory, seal it. */
  private endSend(tracker: SendTracker): Promise<RecordMetadata[]> {
    if (tracker.credit > 0 || (tracker.bufs !== null && tracker.bufs.length > 0)) {
      this.bufferedBytes_ -= tracker.credit;
      tracker.credit = 0;
      if (tracker.bufs !== null) for (const buf of tracker.bufs.splice(0)) this.recycle(buf);
      this.wake();
    }
    tracker.seal();
    this.scheduleDrain();
    return tracker.promise;
  }

  private memoryNeeded = 0;

  /**
   * Append messages from index i on, synchronously; returns the index reached (< length when a
   * new batch needs memory that is not free: this.memoryNeeded says how much).
   */
  private appendMessages(
    t: TopicState,
    msgs: readonly Message[],
    i: number,
    lane: number,
    acks: number,
    compression: number,
    tracker: SendTracker,
    now: number,
  ): number {
    const pl = this.platform;
    const count = t.partitions.length;
    for (; i < msgs.length; i++) {
      const m = msgs[i];
      const key = m.key ?? null;
      const value = m.value ?? null;
      const keyLen = key === null ? -1 : typeof key === "string" ? pl.utf8Length(key) : key.length;
      const valueLen = value === null ? -1 : typeof value === "string" ? pl.utf8Length(value) : value.length;
      if (!(keyLen >= -1) || !(valueLen >= -1))
        throw new InvalidArgumentError("message keys and values must be strings, Uint8Arrays or null");
      const hdrSize = m.headers === undefined ? 1 : headersSize(pl, m.headers);
      const ts =
        m.timestamp === undefined ? now : typeof m.timestamp === "number" ? m.timestamp : Number(m.timestamp);

      // partition
      let p: number;
      let sticky = false;
      if (m.partition !== undefined && m.partition !== null) p = m.partition;
      else if (this.partitioner !== null)
        p = this.partitioner({ topic: t.name, partitionMetadata: t.partitionMetadata, message: m });
      else if (key !== null) {
        if (typeof key === "string") {
          if (this.scratch.length < keyLen) this.scratch = pl.alloc(keyLen * 2);
          pl.utf8Write(this.scratch, 0, key);
          p = toPositive(murmur2(this.scratch, 0, keyLen)) % count;
        } else p = toPositive(murmur2(key)) % count;
      } else if (count === 1) p = 0;
      else {
        sticky = true;
        p = t.sticky >= 0 ? t.sticky : this.pickSticky(t, -1);
      }
      if (!(p >= 0 && p < count && Number.isInteger(p)))
        throw new UnknownTopicOrPartitionError(`partition ${p} does not exist (${count} partitions)`, {
          topic: t.name,
          partition: p,
        });
      let ps = t.partitions[p];
      let b = lane === this.defaultLane ? ps.open : (ps.others?.get(lane) ?? null);
      if (
        sticky &&
        t.stickyBatch !== null &&
        (b !== t.stickyBatch || !this.fits(b, ts, keyLen, valueLen, hdrSize))
      ) {
        // the sticky partition's batch is closed or full: move on to another partition
        p = this.pickSticky(t, p);
        ps = t.partitions[p];
        b = lane === this.defaultLane ? ps.open : (ps.others?.get(lane) ?? null);
      }
      if (b !== null) {
        const body = b.builder.bodySize(ts, keyLen, valueLen, hdrSize);
        const size = body + uvarintSize(body * 2);
        const builder = b.builder;
        if (builder.used + size <= builder.capacity) {
          b.track(tracker);
          builder.append(body, ts, key, keyLen, value, valueLen, m.headers);
          if (sticky) t.stickyBatch = b;
          continue;
        }
        this.closeBatch(b); // full
      }
      // a new batch
      const body = recordBodySize(0, 0, keyLen, valueLen, hdrSize);
      const need = BATCH_HEADER_BYTES + body + uvarintSize(body * 2);
      if (need > this.maxRequestSize || need > this.bufferMemory)
        throw new MessageTooLargeError(
          `a record of ${need} bytes exceeds ${need > this.maxRequestSize ? `maxRequestSize (${this.maxRequestSize})` : `bufferMemory (${this.bufferMemory})`}`,
          { topic: t.name, partition: p },
        );
      // Full-size batches, as Kafka's producer allocates them (a record above batchSize gets a
      // batch of its own size).
      const limit = this.batchLimit();
      const cap = Math.max(need, limit);
      if (!this.tryReserve(cap, tracker)) {
        this.memoryNeeded = cap;
        return i;
      }
      b = this.newBatch(ps, lane, acks, compression, cap, tracker);
      b.track(tracker);
      b.builder.append(body, ts, key, keyLen, value, valueLen, m.headers);
      if (sticky) t.stickyBatch = b;
    }
    return i;
  }

  private batchLimit(): number {
    return Math.min(this.batchSize, this.maxRequestSize);
  }

  private fits(b: Batch | null, ts: number, keyLen: number, valueLen: number, hdrSize: number): boolean {
    if (b === null) return false;
    const body = b.builder.bodySize(ts, keyLen, valueLen, hdrSize);
    return b.builder.used + body + uvarintSize(body * 2) <= this.batchLimit();
  }

  private pickSticky(t: TopicState, previous: number): number {
    const n = t.partitions.length;
    let p = Math.floor(Math.random() * n);
    if (n > 1 && p === previous) p = (p + 1 + Math.floor(Math.random() * (n - 1))) % n;
    t.sticky = p;
    t.stickyBatch = null;
    return p;
  }

  private newBatch(
    ps: PartitionState,
    lane: number,
    acks: number,
    compression: number,
    cap: number,
    tracker: SendTracker,
  ): Batch {
    let buf: Uint8Array | undefined;
    if (cap === this.batchLimit()) {
      buf = tracker.bufs?.pop();
      if (buf === undefined && this.pool.length > 0) {
        buf = this.pool.pop()!;
        this.pooled -= buf.length;
      }
    }
    const b = new Batch(this.platform, ps, lane, acks, compression, cap, buf);
    this.liveBatches++;
    if (lane === this.defaultLane) ps.open = b;
    else {
      if (ps.others === null) ps.others = new Map();
      ps.others.set(lane, b);
    }
    if (this.lingerMs <= 0 || this.flushing > 0 || this.memWaiters.length > 0) {
      b.sendable = true;
      this.markPending(ps);
    } else {
      b.lingerTimer = setTimeout(() => {
        b.lingerTimer = null;
        if (b.closed) return;
        b.sendable = true;
        this.markPending(ps);
      }, this.lingerMs);
    }
    return b;
  }

  /** Close an open batch: finish its bytes and queue it for sending. */
  private closeBatch(b: Batch): void {
    if (b.closed) return;
    b.closed = true;
    const ps = b.ps;
    if (ps.open === b) ps.open = null;
    else ps.others?.delete(b.lane);
    if (b.lingerTimer !== null) {
      clearTimeout(b.lingerTimer);
      b.lingerTimer = null;
    }
    let idem: { producerId: number; producerEpoch: number; baseSequence: number } | null = null;
    if (this.producerId >= 0 && b.acks === -1) {
      // The sequence it will most likely go with; checked (and fixed) at its first send.
      idem = {
        producerId: this.producerId,
        producerEpoch: this.producerEpoch,
        baseSequence: ps.nextSequence,
      };
      b.stampGeneration = this.idGeneration;
      b.baseSequence = ps.nextSequence;
      ps.nextSequence = (ps.nextSequence + b.builder.count) % SEQUENCE_WRAP;
    }
    insertBySeq(ps.queue, b);
    const codec = b.compression === 0 ? null : (this.platform.codecs.get(b.compression) ?? null);
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = b.builder.finish(b.compression, codec === null ? null : (d) => codec.compress(d), idem);
    } catch (e) {
      this.failBatch(
        b,
        new MilenaError(`compressing a batch failed: ${(e as Error).message}`, false, { cause: e }),
      );
      return;
    }
    if (out instanceof Promise) {
      out.then(
        (bytes) => {
          this.setBytes(b, bytes);
          this.markPending(ps);
        },
        (e) =>
          this.failBatch(
            b,
            new MilenaError(`compressing a batch failed: ${(e as Error).message}`, false, { cause: e }),
          ),
      );
    } else {
      this.setBytes(b, out);
      this.markPending(ps);
    }
  }

  private setBytes(b: Batch, bytes: Uint8Array): void {
    b.bytes = bytes;
    if (b.compression !== 0) {
      // The compressed batch is a new buffer: recycle the records buffer, keep the smaller reservation.
      this.recycle(b.builder.buf);
      b.builder.buf = EMPTY;
      if (bytes.length < b.reserved) {
        const freed = b.reserved - bytes.length;
        b.reserved = bytes.length;
        this.release(freed);
      }
    }
  }

  /** Register a partition as having something to send with its leader. */
  private markPending(ps: PartitionState): void {
    if (ps.leader < 0) {
      this.refreshTopic(ps.topic);
      return;
    }
    let set = this.pendingByBroker.get(ps.leader);
    if (set === undefined) {
      set = new Set();
      this.pendingByBroker.set(ps.leader, set);
    }
    set.add(ps);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => this.drain());
  }

  private drainAt(at: number): void {
    if (this.drainTimer !== null && this.drainTimerAt <= at) return;
    if (this.drainTimer !== null) clearTimeout(this.drainTimer);
    this.drainTimerAt = at;
    this.drainTimer = setTimeout(
      () => {
        this.drainTimer = null;
        this.drain();
      },
      Math.max(0, at - Date.now()),
    );
  }

  private drain(): void {
    this.drainScheduled = false;
    if (this.state === "closed") return;
    const now = Date.now();
    for (const [node, set] of this.pendingByBroker) {
      if (set.size === 0) continue;
      const blocked = this.brokerBlockedUntil.get(node) ?? 0;
      if (blocked > now) {
        this.drainAt(blocked);
        continue;
      }
      const conn = this.cluster.peek(node);
      if (conn === null) {
        this.connectBroker(node);
        continue;
      }
      if (!conn.canSend) continue;
      // Slots often free together (the broker answers a burst at once): one write for them all.
      conn.cork();
      try {
        while (set.size > 0 && conn.canSend) if (!this.sendOne(conn, node, set, now)) break;
      } finally {
        conn.uncork();
      }
    }
  }

  private connectBroker(node: number): void {
    if (this.connecting.has(node)) return;
    this.connecting.add(node);
    this.cluster.connection(node).then(
      () => {
        this.connecting.delete(node);
        this.connectFailures.delete(node);
        this.scheduleDrain();
      },
      (e: Error) => {
        this.connecting.delete(node);
        const failures = (this.connectFailures.get(node) ?? 0) + 1;
        this.connectFailures.set(node, failures);
        const set = this.pendingByBroker.get(node);
        if (failures > this.retry.retries || !isRetriableError(e)) {
          this.connectFailures.delete(node);
          // Give up on what waits for this broker.
          if (set !== undefined)
            for (const ps of [...set]) {
              set.delete(ps);
              for (const b of ps.queue.splice(0)) this.failBatch(b, e);
              for (const b of this.openBatches(ps)) {
                this.closeBatch(b);
                for (const q of ps.queue.splice(0)) this.failBatch(q, e);
              }
            }
          return;
        }
        const at = Date.now() + backoffMs(this.retry, failures);
        this.brokerBlockedUntil.set(node, at);
        if (set !== undefined) for (const ps of set) this.refreshTopic(ps.topic);
        this.drainAt(at);
      },
    );
  }

  private openBatches(ps: PartitionState): Batch[] {
    const out: Batch[] = [];
    if (ps.open !== null) out.push(ps.open);
    if (ps.others !== null) for (const b of ps.others.values()) out.push(b);
    return out;
  }

  private sendableOpen(ps: PartitionState): Batch | null {
    if (ps.open?.sendable) return ps.open;
    if (ps.others !== null) for (const b of ps.others.values()) if (b.sendable) return b;
    return null;
  }

  private hasWork(ps: PartitionState): boolean {
    return ps.queue.length > 0 || this.sendableOpen(ps) !== null;
  }

  /** Build and send one Produce request from the partitions pending on a broker. */
  private sendOne(conn: Connection, node: number, set: Set<PartitionState>, now: number): boolean {
    let acks: number | null = null;
    const batches: Batch[] = [];
    let size = 0;
    for (const ps of set) {
      if (ps.leader !== node) {
        set.delete(ps);
        this.markPending(ps);
        continue;
      }
      if (ps.blockedUntil > now) {
        this.drainAt(ps.blockedUntil);
        continue;
      }
      if (this.resetting !== null) return false; // a new producer id first
      if (this.producerId >= 0 && ps.inFlight >= IDEMPOTENT_MAX_IN_FLIGHT) continue;
      if (ps.queue.length === 0) {
        const open = this.sendableOpen(ps);
        if (open === null) {
          set.delete(ps);
          continue;
        }
        this.closeBatch(open);
      }
      const b = ps.queue[0];
      if (b === undefined || b.bytes === null) continue; // compressing
      if (acks === null) acks = b.acks;
      else if (b.acks !== acks) continue;
      if (batches.length > 0 && size + b.bytes.length > this.maxRequestSize) continue;
      ps.queue.shift();
      batches.push(b);
      size += b.bytes.length;
      if (!this.hasWork(ps)) set.delete(ps);
    }
    if (batches.length === 0) return false;
    this.sendRequest(conn, acks!, batches);
    return true;
  }

  private sendRequest(conn: Connection, acks: number, batches: Batch[]): void {
    const topics: ProduceTopicData[] = [];
    for (const b of batches) {
      if (b.stampGeneration >= 0) this.checkStamp(b);
      b.attempts++;
      b.inFlight = true;
      b.ps.inFlight++;
      const name = b.ps.topic.name;
      let td =
        topics.length > 0 && topics[topics.length - 1].name === name ? topics[topics.length - 1] : undefined;
      if (td === undefined) td = topics.find((x) => x.name === name);
      if (td === undefined) {
        td = { name, partitions: [] };
        topics.push(td);
      }
      td.partitions.push({ partitionIndex: b.ps.index, records: b.bytes as never });
    }
    const version = conn.version(ApiKey.Produce);
    if (version < 0) {
      const e = new UnsupportedVersionError(`${conn.address.label} does not serve Produce v3-7`);
      for (const b of batches) this.failBatch(b, e);
      return;
    }
    const req = { transactionalId: null, acks, timeoutMs: this.timeoutMs, topics };
    if (acks === 0) {
      conn.sendNoReply(produceCodec, version, req).then(
        () => {
          for (const b of batches) this.succeed(b, -1, -1, -1);
          this.scheduleDrain();
        },
        (e) => {
          for (const b of batches) this.retryOrFail(b, e);
          this.scheduleDrain();
        },
      );
      return;
    }
    conn.send(produceCodec, version, req).then(
      (res) => {
        this.onResponse(batches, res, conn);
        // Now, not after the microtasks queued meanwhile: replies often come in a burst (their
        // slots all free already) and the sends their memory woke would first encode a batch
        // each; the next requests, from batches already closed, go out before that, in one write.
        this.drain();
      },
      (e) => {
        for (const b of batches) this.retryOrFail(b, e);
        this.scheduleDrain();
      },
    );
  }

  /**
   * Before an idempotent batch goes out. A retry goes as it went (same id, same sequence). Its
   * first send under the current producer id takes the partition's next sequence: when its
   * header says otherwise (a new id since it closed, batches closed out of queue order), the
   * header is rewritten (id, epoch, base sequence) and the CRC computed again.
   */
  private checkStamp(b: Batch): void {
    if (b.sentGeneration === this.idGeneration) return;
    const ps = b.ps;
    if (b.stampGeneration !== this.idGeneration || b.baseSequence !== ps.sendSequence) {
      restamp(this.platform, b.bytes!, this.producerId, this.producerEpoch, ps.sendSequence);
      b.stampGeneration = this.idGeneration;
      b.baseSequence = ps.sendSequence;
    }
    b.sentGeneration = this.idGeneration;
    ps.sendSequence = (b.baseSequence + b.builder.count) % SEQUENCE_WRAP;
  }

  /** Batches in flight over all partitions. */
  private inFlightBatches(): number {
    let n = 0;
    for (const t of this.topics.values())
      for (const ps of t.partitions) if (ps !== undefined) n += ps.inFlight;
    return n;
  }

  /**
   * A new producer id: sends stop, what is in flight is answered (or times out), InitProducerId
   * gives a new id, and every partition's sequences start over at 0; batches not yet stored are
   * restamped as they are sent.
   */
  private resetProducerId(why: string): void {
    if (this.resetting !== null || this.producerId < 0 || this.state === "closed") return;
    const reset = async () => {
      const deadline = Date.now() + this.timeoutMs + 5000;
      while (this.inFlightBatches() > 0 && Date.now() < deadline && this.state !== "closed")
        await new Promise((r) => setTimeout(r, 5));
      await this.initProducerId();
      this.idGeneration++;
      // A batch sent under the old id whose answer never came may be stored: sent again under
      // the new id it would be stored twice, so it fails instead (Kafka's unresolved sequence).
      const unknown = new MilenaError(
        "a batch whose outcome is unknown (no answer came) is not sent again under a new producer id: it may be stored",
        false,
      );
      for (const t of this.topics.values())
        for (const ps of t.partitions) {
          if (ps === undefined) continue;
          for (const b of [...ps.queue]) if (b.attempts > 0 && b.outcomeUnknown) this.failBatch(b, unknown);
        }
      for (const t of this.topics.values())
        for (const ps of t.partitions) {
          if (ps === undefined) continue;
          ps.nextSequence = 0;
          ps.sendSequence = 0;
        }
    };
    this.resetting = reset()
      .catch((e) => {
        // No new id: what waits fails with the reason.
        const err = new MilenaError(
          `a new producer id (after ${why}) failed: ${(e as Error).message}`,
          true,
          { cause: e },
        );
        for (const t of this.topics.values())
          for (const ps of t.partitions)
            if (ps !== undefined) for (const b of ps.queue.splice(0)) this.failBatch(b, err);
      })
      .finally(() => {
        this.resetting = null;
        for (const t of this.topics.values())
          for (const ps of t.partitions) if (ps !== undefined && this.hasWork(ps)) this.markPending(ps);
        this.scheduleDrain();
      });
  }

  /** A batch's request was answered (or failed): its partition may send another. */
  private landed(b: Batch): void {
    if (!b.inFlight) return;
    b.inFlight = false;
    b.ps.inFlight--;
  }

  private onResponse(batches: Batch[], res: ProduceResponse, conn: Connection): void {
    for (const b of batches) {
      this.landed(b);
      const name = b.ps.topic.name;
      let found = false;
      for (const t of res.responses) {
        if (t.name !== name) continue;
        for (const p of t.partitions) {
          if (p.partitionIndex !== b.ps.index) continue;
          found = true;
          if (p.errorCode === 0) this.succeed(b, p.baseOffset, p.logAppendTimeMs, p.logStartOffset);
          // Stored before, and older than the five batches the broker remembers: it is in the
          // log, at an offset the broker no longer knows (Kafka's producer counts it a success).
          else if (p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER && b.stampGeneration >= 0)
            this.succeed(b, -1, -1, -1);
          else if (
            b.stampGeneration >= 0 &&
            LOST_SEQUENCE.has(p.errorCode) &&
            b.attempts <= this.retry.retries
          ) {
            // Not stored, and not storable under this id: a new producer id, then again, restamped.
            b.outcomeUnknown = false;
            this.resetProducerId(kafkaErrorName(p.errorCode));
            this.requeue(b);
          } else
            this.retryOrFail(
              b,
              protocolError(p.errorCode, null, {
                topic: name,
                partition: b.ps.index,
                broker: conn.address.label,
              }),
            );
          break;
        }
        if (found) break;
      }
      if (!found)
        this.retryOrFail(
          b,
          new ConnectionError(
            `Produce reply from ${conn.address.label} has no answer for ${name}-${b.ps.index}`,
          ),
        );
    }
  }

  private succeed(b: Batch, baseOffset: number, logAppendTime: number, logStartOffset: number): void {
    if (b.done) return;
    b.done = true;
    this.landed(b); // (acks=0 batches land here without a response)
    const ps = b.ps;
    for (let i = 0; i < b.trackers.length; i++)
      b.trackers[i].done(ps, baseOffset >= 0 ? baseOffset + b.firsts[i] : -1, logAppendTime, logStartOffset);
    this.finishBatch(b);
  }

  private failBatch(b: Batch, e: Error): void {
    if (b.done) return;
    b.done = true;
    this.landed(b);
    // A sent idempotent batch given up leaves a gap in its partition's sequence: the batches
    // after it would all be OUT_OF_ORDER_SEQUENCE_NUMBER, so they go under a new producer id.
    if (b.sentGeneration >= 0 && b.sentGeneration === this.idGeneration) this.resetProducerId(e.message);
    const q = b.ps.queue.indexOf(b);
    if (q >= 0) b.ps.queue.splice(q, 1);
    for (const t of b.trackers) t.fail(e);
    this.finishBatch(b);
  }

  private finishBatch(b: Batch): void {
    this.liveBatches--;
    const r = b.reserved;
    b.reserved = 0;
    b.bytes = null;
    const buf = b.builder.buf;
    b.builder.buf = EMPTY;
    // Acknowledged (or given up): nothing refers to the buffer any more (TCP and ws wrote it).
    // Pooled before the memory is released, so that a send waiting for memory gets this buffer
    // rather than a new one (under backpressure every batch would otherwise be a fresh allocation).
    this.bufferedBytes_ -= r;
    if (b.compression === 0) this.recycle(buf);
    this.wake();
    if (this.liveBatches === 0) for (const w of this.flushWaiters.splice(0)) w();
  }

  private retryOrFail(b: Batch, e: unknown): void {
    if (b.done) return;
    this.landed(b);
    const err = e instanceof Error ? e : new Error(String(e));
    b.outcomeUnknown = !(err instanceof KafkaProtocolError);
    if (this.state === "closed" || !isRetriableError(err) || b.attempts > this.retry.retries) {
      this.failBatch(b, err);
      return;
    }
    this.requeue(b);
    this.refreshTopic(b.ps.topic);
  }

  /** Back into its partition's queue (by order), sent again after a backoff. */
  private requeue(b: Batch): void {
    const ps = b.ps;
    insertBySeq(ps.queue, b);
    ps.blockedUntil = Math.max(ps.blockedUntil, Date.now() + backoffMs(this.retry, b.attempts));
    this.markPending(ps);
  }

  /** Metadata again for a topic (leaders may have moved); re-registers pending partitions. */
  private refreshTopic(t: TopicState): void {
    if (t.refreshing !== null || this.state === "closed") return;
    t.refreshing = this.cluster
      .topic(t.name, { refresh: true, allowAutoTopicCreation: this.allowAutoTopicCreation })
      .then(
        (info) => this.applyInfo(t, info),
        (e) => {
          // Could not learn the leaders: fail what waits on partitions without one.
          for (const ps of t.partitions)
            if (ps.leader < 0) {
              for (const b of ps.queue.splice(0)) this.failBatch(b, e);
            }
        },
      )
      .finally(() => {
        t.refreshing = null;
        for (const ps of t.partitions) if (ps.leader >= 0 && this.hasWork(ps)) this.markPending(ps);
      });
  }

  private applyInfo(t: TopicState, info: TopicInfo): void {
    t.info = info;
    for (const p of info.partitions) {
      let ps = t.partitions[p.partitionId];
      if (ps === undefined) t.partitions[p.partitionId] = ps = new PartitionState(t, p.partitionId);
      ps.leader = p.leader;
    }
    t.partitionMetadata = info.partitions.map((p) => ({ partitionId: p.partitionId, leader: p.leader }));
  }

  private loadTopic(name: string): Promise<TopicState> {
    let t = this.topics.get(name);
    if (t === undefined) {
      t = new TopicState(name);
      this.topics.set(name, t);
    }
    const state = t;
    if (state.info !== null) return Promise.resolve(state);
    if (state.loading === null) {
      state.loading = this.cluster
        .topic(name, { allowAutoTopicCreation: this.allowAutoTopicCreation })
        .then((info) => this.applyInfo(state, info))
        .finally(() => {
          state.loading = null;
        });
    }
    return state.loading.then(() => state);
  }

  // ---- memory ----

  private tryReserve(n: number, t: SendTracker): boolean {
    if (t.credit >= n) {
      t.credit -= n;
      return true;
    }
    if (this.memWaiters.length === 0 && this.bufferedBytes_ + n <= this.bufferMemory) {
      this.grant(n, t);
      return true;
    }
    return false;
  }

  /**
   * Reserve n bytes for a send; a full-size reservation takes a pooled buffer along (before the
   * pool is trimmed to the bound, which would otherwise drop the very buffer the batch needs).
   */
  private grant(n: number, t: SendTracker): void {
    this.bufferedBytes_ += n;
    if (n === this.batchLimit() && this.pool.length > 0) {
      (t.bufs ??= []).push(this.pool.pop()!);
      this.pooled -= n;
    }
    this.trimPool();
  }

  /** Keep a free full-size batch buffer for the next batch, when within bounds. */
  private recycle(buf: Uint8Array): void {
    const n = buf.length;
    if (n !== this.batchLimit() || this.pool.length >= POOL_MAX) return;
    if (this.bufferedBytes_ + this.pooled + n > this.bufferMemory) return;
    this.pool.push(buf);
    this.pooled += n;
  }

  /** Drop pooled buffers while reserved + pooled bytes exceed bufferMemory. */
  private trimPool(): void {
    while (this.pool.length > 0 && this.bufferedBytes_ + this.pooled > this.bufferMemory)
      this.pooled -= this.pool.pop()!.length;
  }

  private waitForMemory(n: number, tracker: SendTracker, front: boolean): Promise<void> {
    // Whatever is open goes out now, so that acknowledgements can free memory.
    for (const t of this.topics.values())
      for (const ps of t.partitions)
        for (const b of this.openBatches(ps))
          if (!b.sendable) {
            b.sendable = true;
            this.markPending(ps);
          }
    return new Promise((resolve) => {
      if (front) this.memWaiters.unshift({ n, tracker, resolve });
      else this.memWaiters.push({ n, tracker, resolve });
      this.wake();
    });
  }

  private release(n: number): void {
    this.bufferedBytes_ -= n;
    this.wake();
  }

  private wake(): void {
    while (this.memWaiters.length > 0) {
      const w = this.memWaiters[0];
      if (this.bufferedBytes_ + w.n > this.bufferMemory) break;
      this.memWaiters.shift();
      this.grant(w.n, w.tracker);
      w.tracker.credit += w.n;
      w.resolve();
    }
  }

  /** Send everything buffered now and wait until it is all acknowledged. */
  async flush(): Promise<void> {
    if (this.liveBatches === 0) return;
    this.flushing++;
    try {
      for (const t of this.topics.values())
        for (const ps of t.partitions)
          for (const b of this.openBatches(ps)) {
            b.sendable = true;
            this.markPending(ps);
          }
      await new Promise<void>((resolve) => this.flushWaiters.push(resolve));
    } finally {
      this.flushing--;
    }
  }

  /** Flush, then close the connections. */
  async disconnect(): Promise<void> {
    if (this.state === "closed" || this.state === "new") {
      this.state = "closed";
      this.cluster.disconnect();
      return;
    }
    this.state = "closing";
    try {
      await this.flush();
    } finally {
      this.state = "closed";
      if (this.drainTimer !== null) clearTimeout(this.drainTimer);
      this.cluster.disconnect();
    }
  }
}

/** Errors that say the broker did not store an idempotent batch and will not under this id. */
const LOST_SEQUENCE = new Set<number>([
  ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  ErrorCode.UNKNOWN_PRODUCER_ID,
  ErrorCode.INVALID_PRODUCER_EPOCH,
]);

/** Rewrite a finished batch's producer id, epoch and base sequence, and its CRC. */
function restamp(
  platform: Platform,
  b: Uint8Array,
  producerId: number,
  epoch: number,
  baseSequence: number,
): void {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  v.setInt32(PRODUCER_ID, Math.floor(producerId / 4294967296));
  v.setUint32(PRODUCER_ID + 4, producerId >>> 0);
  v.setInt16(PRODUCER_EPOCH, epoch);
  v.setInt32(BASE_SEQUENCE, baseSequence);
  v.setUint32(CRC, platform.crc32c(b.subarray(ATTRIBUTES)));
}

/** Into a partition's queue by order (creation). */
function insertBySeq(queue: Batch[], b: Batch): void {
  let i = queue.length;
  while (i > 0 && queue[i - 1].order > b.order) i--;
  queue.splice(i, 0, b);
}
