// One replication flow, source -> target (MirrorMaker 2's source, checkpoint and heartbeat
// connectors in one loop):
//
// - Topics: every refresh.topics.interval the source's topics go through the policy's filter
//   (policy.ts); each one copied gets its remote topic on the target with the source's partition
//   count and topic configs (those set on the topic, minus config.properties.exclude); the
//   configs are brought up to date every sync.topic.configs.interval, and a remote topic grows
//   when its source did (the group then rejoins to take the new partitions).
// - Records: a consumer group on the source (milena-mirror-<source>-<target>, so several
//   `milena mirror` processes with the same flow share its partitions) hands over fetched
//   batches; each goes to the same partition of the remote topic with its key, value, headers and
//   timestamp, through an idempotent producer (acks=all). The group commits a batch's offsets only
//   after the target acknowledged all of it: after a crash the flow resumes from the last commit,
//   so records may be copied twice (at least once) but none is lost.
//   With exactly.once.source.support each batch is instead one transaction on the target holding
//   its records and the flow's position (transactional.ts), and a partition starts from the
//   position kept there: each record once for read_committed consumers.
// - Offset syncs (offsets.ts): for records the target acknowledged, to
//   mm2-offset-syncs.<target>.internal on the source; read back from there (so a restart, or
//   another process's partitions, count too).
// - Checkpoints: every emit.checkpoints.interval, each source group's (groups listed every
//   refresh.groups.interval, filtered by groups / groups.exclude) committed offsets of
//   copied topics, translated, to <source>.checkpoints.internal on the target; with
//   sync.group.offsets.enabled, also committed for the group on the target while it has no
//   members there (never moving a target commit backwards).
// - Heartbeats: every emit.heartbeats.interval a record to the target's `heartbeats` topic.
// - Progress: every progress.log.interval a line with records copied, records/s and lag.
//
// Failures: any error (a cluster gone, a refused request) ends the session: its clients are
// closed (the group commits what the target acknowledged), the error is logged, and a new session
// starts after a backoff (1 s doubling to 30 s). The flow never exits on its own.

import { Cluster } from "../client/cluster.ts";
import type { Consumer } from "../client/consumer.ts";
import type { GroupConsumer } from "../client/group_consumer.ts";
import type { ConsumedRecord } from "../client/records.ts";
import { retryDefaults } from "../client/retry.ts";
import { saslOptionsOf, tlsOptionsOf } from "../client/security.ts";
import { Sleeps } from "../client/sleeps.ts";
import { parseAddress } from "../client/transport.ts";
import { type Admin, ConfigResourceTypes, ConfigSource, Milena, type Producer } from "../index.ts";
import { type ClusterConfig, type FlowConfig, matchesAny } from "./config.ts";
import {
  type Checkpoint,
  decodeOffsetSync,
  encodeCheckpoint,
  encodeHeartbeat,
  encodeOffsetSync,
  needsSync,
  type OffsetSync,
  OffsetSyncStore,
} from "./offsets.ts";
import { HEARTBEATS_TOPIC, mirrorGroupId, type ReplicationPolicy, shouldReplicateGroup } from "./policy.ts";
import { TransactionalWriter } from "./transactional.ts";

export type Log = (line: string) => void;

/** Largest send of one partition's records: offset syncs are per send. */
const MAX_CHUNK = 10_000;
const BACKOFF_MIN_MS = 1000;
/** Largest transaction of the exactly-once copy, in record bytes (well under max.message.bytes). */
const TXN_CHUNK_BYTES = 512 * 1024;
const BACKOFF_MAX_MS = 30_000;

export interface FlowStats {
  copied: number;
  /** Source partition -> records behind the source's high watermark, at its last fetch. */
  lag: Map<string, number>;
  syncs: number;
  checkpoints: number;
  heartbeats: number;
  sessions: number;
}

class Stopped extends Error {}

/** A Cluster (the client's connections) of a configured cluster, for the transactional writer. */
function clusterOf(c: ClusterConfig, m: Milena, clientId: string): Cluster {
  return new Cluster(m.platform, {
    bootstrap: c.bootstrap.map(parseAddress),
    clientId,
    connectionTimeoutMs: 5000,
    requestTimeoutMs: 30_000,
    maxInFlight: 4,
    tls: tlsOptionsOf(c.security.ssl),
    sasl: saslOptionsOf(c.security.sasl),
    retry: retryDefaults({ retries: 5, initialRetryTime: 200, maxRetryTime: 5000 }),
  });
}

function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, new Promise<undefined>((r) => setTimeout(() => r(undefined), ms).unref())]);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Headers of a consumed record as the producer takes them (values of a repeated key in order). */
function headersOf(r: ConsumedRecord<Buffer>): { key: string; value: Buffer | null }[] | undefined {
  const out: { key: string; value: Buffer | null }[] = [];
  for (const k in r.headers) {
    const v = r.headers[k];
    if (Array.isArray(v)) for (const x of v) out.push({ key: k, value: x });
    else out.push({ key: k, value: v });
  }
  return out.length === 0 ? undefined : out;
}

export class Flow {
  readonly name: string;
  readonly stats: FlowStats = {
    copied: 0,
    lag: new Map(),
    syncs: 0,
    checkpoints: 0,
    heartbeats: 0,
    sessions: 0,
  };
  private stopping = false;
  private readonly sleeps = new Sleeps();
  private failure: unknown = null;
  private readonly store = new OffsetSyncStore();
  /** Source topic -> remote topic, of the topics being copied. */
  private topics = new Map<string, string>();
  /** Source topic -> its partition count at the last refresh. */
  private partitionCounts = new Map<string, number>();
  /** exactly.once.source.support = enabled: this session's transactional writer. */
  private writer: TransactionalWriter | null = null;
  /** A remote topic was given more partitions since the producer was made. */
  private grown = false;
  private lastSync = new Map<string, { upstreamOffset: number; downstreamOffset: number }>();
  private running: Promise<void> | null = null;
  /** The source's groups, listed every refresh.groups.interval. */
  private groups: string[] | null = null;
  private groupsListedAt = 0;

  constructor(
    readonly config: FlowConfig,
    private readonly source: ClusterConfig,
    private readonly target: ClusterConfig,
    private readonly policy: ReplicationPolicy,
    private readonly log: Log,
  ) {
    this.name = `${config.source}->${config.target}`;
  }

  /** Topics the flow copies now. */
  get topicCount(): number {
    return this.topics.size;
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeps.wakeAll();
    await this.running;
  }

  private client(c: ClusterConfig, role: string): Milena {
    return new Milena({
      bootstrap: c.bootstrap,
      clientId: `milena-mirror-${this.config.source}-${this.config.target}-${role}`,
      ssl: c.security.ssl,
      sasl: c.security.sasl,
      connectionTimeout: 5000,
      requestTimeout: 30_000,
      retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 5000 },
    });
  }

  /** End session `session` (an error from a later one's clients, or after it ended, is ignored). */
  private fail(e: unknown, session: number): void {
    if (session !== this.stats.sessions) return;
    if (this.failure === null) this.failure = e;
    this.sleeps.wakeAll();
  }

  private check(): void {
    if (this.stopping) throw new Stopped();
    if (this.failure !== null) throw this.failure;
  }

  private async loop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopping) {
      const started = Date.now();
      this.stats.sessions++;
      try {
        await this.session();
      } catch (e) {
        if (e instanceof Stopped || this.stopping) break;
        this.log(`[mirror ${this.name}] ${describe(e)}; starting again in ${(backoff / 1000).toFixed(1)} s`);
      }
      if (this.stopping) break;
      if (Date.now() - started > 60_000) backoff = BACKOFF_MIN_MS;
      await this.sleeps.sleep(backoff);
      backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
    }
  }

  /** One run of the flow with fresh clients, until an error or stop(). */
  private async session(): Promise<void> {
    this.failure = null;
    const session = this.stats.sessions;
    this.topics = new Map();
    this.partitionCounts = new Map();
    this.lastSync = new Map();
    this.groups = null;
    const cfg = this.config;
    const closers: (() => Promise<unknown>)[] = [];
    const src = this.client(this.source, "source");
    const tgt = this.client(this.target, "target");
    let consumer: GroupConsumer<Buffer> | null = null;
    try {
      const srcAdmin = src.admin();
      const tgtAdmin = tgt.admin();
      closers.push(
        () => srcAdmin.disconnect(),
        () => tgtAdmin.disconnect(),
      );
      await srcAdmin.connect();
      await tgtAdmin.connect();
      const newProducer = () => tgt.producer({ acks: -1, batchSize: 512 * 1024, lingerMs: 0 });
      let producer = newProducer();
      closers.push(() => producer.disconnect());
      await producer.connect();
      if (cfg.exactlyOnce) {
        const w = new TransactionalWriter(
          clusterOf(this.target, tgt, `milena-mirror-${cfg.source}-${cfg.target}-txn`),
          mirrorGroupId(cfg.source, cfg.target),
          mirrorGroupId(cfg.source, cfg.target),
        );
        closers.push(async () => {
          w.disconnect();
          this.writer = null;
        });
        await w.connect();
        this.writer = w;
      }
      const syncProducer = src.producer({ acks: 1, idempotent: false });
      closers.push(() => syncProducer.disconnect());
      await syncProducer.connect();

      const syncsTopic = this.policy.offsetSyncsTopic(cfg.target);
      const checkpointsTopic = this.policy.checkpointsTopic(cfg.source);
      const compact = [{ name: "cleanup.policy", value: "compact" }];
      await srcAdmin.createTopics({
        topics: [{ topic: syncsTopic, numPartitions: 1, configEntries: compact }],
      });
      if (cfg.emitCheckpoints)
        await tgtAdmin.createTopics({
          topics: [{ topic: checkpointsTopic, numPartitions: 1, configEntries: compact }],
        });
      if (cfg.emitHeartbeats)
        await tgtAdmin.createTopics({
          topics: [{ topic: HEARTBEATS_TOPIC, numPartitions: 1, configEntries: compact }],
        });

      // The offset syncs of every process of this flow, from the start of the topic.
      const syncReader = src.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 200 });
      closers.push(() => syncReader.disconnect());
      await syncReader.connect();
      await syncReader.assign([{ topic: syncsTopic, offset: "earliest" }]);
      void this.readSyncs(syncReader, session);

      // Heartbeats, checkpoints and config syncs run beside the loop (one of each at a time), so
      // one waiting out a cluster's retries holds nothing else up; their errors end the session.
      let live = true;
      const busy = new Set<string>();
      const background = (what: string, fn: () => Promise<void>) => {
        if (busy.has(what)) return;
        busy.add(what);
        fn()
          .catch((e) => {
            if (live) this.fail(new Error(`${what}: ${describe(e)}`), session);
          })
          .finally(() => busy.delete(what));
      };
      // The progress line on a timer of its own: it goes on while a cluster is away.
      let progressFrom = { at: Date.now(), copied: this.stats.copied };
      const progress =
        cfg.progressLogIntervalMs > 0
          ? setInterval(() => {
              const now = Date.now();
              const secs = (now - progressFrom.at) / 1000;
              const rate = secs > 0 ? (this.stats.copied - progressFrom.copied) / secs : 0;
              progressFrom = { at: now, copied: this.stats.copied };
              let lag = 0;
              for (const l of this.stats.lag.values()) lag += l;
              this.log(
                `[mirror ${this.name}] ${this.stats.copied} records copied, ${rate.toFixed(1)} records/s, lag ${lag} records over ${this.stats.lag.size} partitions, ${this.topics.size} topics, ${this.stats.syncs} offset syncs, ${this.stats.checkpoints} checkpoints`,
              );
            }, cfg.progressLogIntervalMs)
          : null;
      closers.push(async () => {
        live = false;
        if (progress !== null) clearInterval(progress);
      });
      let nextTopics = 0;
      let nextConfigs = Date.now() + cfg.syncTopicConfigsIntervalMs;
      let nextCheckpoint = Date.now() + cfg.emitCheckpointsIntervalMs;
      let nextGroupSync = Date.now() + cfg.syncGroupOffsetsIntervalMs;
      let nextHeartbeat = 0;
      for (;;) {
        this.check();
        const now = Date.now();
        if (now >= nextTopics) {
          nextTopics = now + cfg.refreshTopicsIntervalMs;
          const changed = await this.refreshTopics(srcAdmin, tgtAdmin);
          if (changed) {
            if (this.grown) {
              // The producer knows the old partition counts: a new one sees the new ones.
              if (consumer !== null) await consumer.stop();
              this.grown = false;
              const old = producer;
              producer = newProducer();
              await producer.connect();
              await old.disconnect();
            }
            if (consumer !== null) await consumer.stop();
            else {
              consumer = src.consumer({
                groupId: mirrorGroupId(cfg.source, cfg.target),
                autoOffsetReset: "earliest",
                autoCommit: true,
                autoCommitInterval: 1000,
                sessionTimeout: 10_000,
                heartbeatInterval: 1000,
                rebalanceTimeout: 10_000,
                maxWaitTimeInMs: 200,
                onPartitionsAssigned: async (parts) => {
                  if (this.writer !== null) await this.seekToTargetPosition(tgtAdmin, consumer!, parts);
                  const own = new Set(parts.map((t) => t.topic));
                  for (const k of [...this.stats.lag.keys()])
                    if (!own.has(k.slice(0, k.lastIndexOf("-")))) this.stats.lag.delete(k);
                  this.log(
                    `[mirror ${this.name}] assigned ${parts.map((t) => `${t.topic}:${[...t.partitions].sort((x, y) => x - y).join(",")}`).join(" ") || "nothing"}`,
                  );
                },
              });
              const c = consumer;
              closers.unshift(() => c.disconnect());
              await c.connect();
            }
            this.check();
            await consumer.subscribe({ topics: [...this.topics.keys()], fromBeginning: true });
            await consumer.run({
              eachBatch: async ({ batch }) => {
                await this.copy(producer, syncProducer, syncsTopic, batch);
              },
              onError: (e, ctx) => {
                if (ctx.fatal) this.fail(e, session);
                else if (!this.stopping) {
                  this.log(
                    `[mirror ${this.name}] ${ctx.topic !== undefined ? `${ctx.topic}-${ctx.partition}: ` : ""}${describe(e)} (retrying)`,
                  );
                  // A failed copy means the target's producer is in doubt: start afresh.
                  if (ctx.offset !== undefined) this.fail(e, session);
                }
              },
            });
          }
        }
        if (cfg.syncTopicConfigs && now >= nextConfigs) {
          nextConfigs = now + cfg.syncTopicConfigsIntervalMs;
          const topics = [...this.topics];
          background("topic config sync", async () => {
            for (const [topic, remote] of topics) await this.syncConfigs(srcAdmin, tgtAdmin, topic, remote);
          });
        }
        if (cfg.emitHeartbeats && now >= nextHeartbeat) {
          nextHeartbeat = now + cfg.emitHeartbeatsIntervalMs;
          background("heartbeat", async () => {
            const hb = encodeHeartbeat(cfg.source, cfg.target, now);
            await producer.send({ topic: HEARTBEATS_TOPIC, messages: [{ key: hb.key, value: hb.value }] });
            this.stats.heartbeats++;
          });
        }
        if (cfg.emitCheckpoints && now >= nextCheckpoint) {
          nextCheckpoint = now + cfg.emitCheckpointsIntervalMs;
          const syncGroups = cfg.syncGroupOffsets && now >= nextGroupSync;
          if (syncGroups) nextGroupSync = now + cfg.syncGroupOffsetsIntervalMs;
          background("checkpoints", () =>
            this.checkpoint(srcAdmin, tgtAdmin, producer, checkpointsTopic, syncGroups),
          );
        }
        const next = Math.min(
          nextTopics,
          cfg.syncTopicConfigs ? nextConfigs : Number.POSITIVE_INFINITY,
          cfg.emitHeartbeats ? nextHeartbeat : Number.POSITIVE_INFINITY,
          cfg.emitCheckpoints ? nextCheckpoint : Number.POSITIVE_INFINITY,
        );
        await this.sleeps.sleep(Math.min(1000, next - Date.now()));
      }
    } finally {
      // The group consumer first: its disconnect commits what the target acknowledged.
      for (const close of closers)
        await within(
          close().catch(() => {}),
          10_000,
        );
      this.stats.lag.clear();
    }
  }

  private async readSyncs(reader: Consumer<Buffer>, session: number): Promise<void> {
    try {
      await reader.run({
        eachMessage: ({ message }) => {
          if (message.key === null || message.value === null) return;
          try {
            this.store.add(decodeOffsetSync(message.key, message.value));
          } catch (e) {
            this.log(`[mirror ${this.name}] offset sync at ${message.offset} unreadable: ${describe(e)}`);
          }
        },
      });
    } catch (e) {
      if (!this.stopping) this.fail(e, session);
    }
  }

  /**
   * Find the topics to copy; create what is missing on the target, grow remote topics whose
   * source grew. True when the topics or their partition counts changed (the group rejoins).
   */
  private async refreshTopics(srcAdmin: Admin, tgtAdmin: Admin): Promise<boolean> {
    const all = await srcAdmin.listTopics();
    const wanted = all.filter((t) => this.policy.shouldReplicateTopic(this.config, t)).sort();
    const { topics: meta } =
      wanted.length === 0 ? { topics: [] } : await srcAdmin.fetchTopicMetadata({ topics: wanted });
    const changed =
      meta.length !== this.topics.size ||
      meta.some((t) => this.partitionCounts.get(t.name) !== t.partitions.length);
    if (!changed) return false;
    const existing = new Set(await tgtAdmin.listTopics());
    for (const t of meta) {
      const remote = this.policy.formatRemoteTopic(this.config.source, t.name);
      const count = t.partitions.length;
      if (!existing.has(remote)) {
        const configs = await this.wantedConfigs(srcAdmin, t.name);
        await tgtAdmin.createTopics({
          topics: [
            {
              topic: remote,
              numPartitions: count,
              replicationFactor: this.config.replicationFactor,
              configEntries: [...configs].map(([name, value]) => ({ name, value })),
            },
          ],
        });
        this.log(
          `[mirror ${this.name}] created ${remote} (${count} partitions${configs.size > 0 ? `, ${[...configs].map(([k, v]) => `${k}=${v}`).join(" ")}` : ""})`,
        );
        continue;
      }
      if (this.config.syncTopicConfigs && !this.topics.has(t.name))
        await this.syncConfigs(srcAdmin, tgtAdmin, t.name, remote);
      const { topics: rm } = await tgtAdmin.fetchTopicMetadata({ topics: [remote] });
      const have = rm[0]?.partitions.length ?? 0;
      if (have < count) {
        await tgtAdmin.createPartitions({ topicPartitions: [{ topic: remote, count }] });
        this.grown = true;
        this.log(`[mirror ${this.name}] grew ${remote} from ${have} to ${count} partitions, as ${t.name}`);
      }
    }
    this.topics = new Map(
      meta.map((t) => [t.name, this.policy.formatRemoteTopic(this.config.source, t.name)]),
    );
    this.partitionCounts = new Map(meta.map((t) => [t.name, t.partitions.length]));
    this.log(
      `[mirror ${this.name}] copying ${this.topics.size} topics: ${[...this.topics.keys()].join(", ")}`,
    );
    return this.topics.size > 0;
  }

  /** The configs set on a source topic that the flow copies. */
  private async wantedConfigs(srcAdmin: Admin, topic: string): Promise<Map<string, string>> {
    const res = await srcAdmin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic }],
    });
    const out = new Map<string, string>();
    for (const e of res.resources[0]?.configEntries ?? [])
      if (
        e.configSource === ConfigSource.TOPIC_CONFIG &&
        e.configValue !== null &&
        !e.isSensitive &&
        !matchesAny(e.configName, this.config.configPropertiesExclude)
      )
        out.set(e.configName, e.configValue);
    return out;
  }

  /** Make the remote topic's own configs the source topic's (those copied). */
  private async syncConfigs(srcAdmin: Admin, tgtAdmin: Admin, topic: string, remote: string): Promise<void> {
    const wanted = await this.wantedConfigs(srcAdmin, topic);
    const res = await tgtAdmin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: remote }],
    });
    const have = new Map<string, string>();
    for (const e of res.resources[0]?.configEntries ?? [])
      if (e.configSource === ConfigSource.TOPIC_CONFIG && e.configValue !== null)
        have.set(e.configName, e.configValue);
    // Target-only overrides of excluded configs stay (they are the target's business).
    const keep = [...have].filter(([k]) => matchesAny(k, this.config.configPropertiesExclude));
    const desired = new Map([...keep, ...wanted]);
    const same = desired.size === have.size && [...desired].every(([k, v]) => have.get(k) === v);
    if (same) return;
    await tgtAdmin.alterConfigs({
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: remote,
          configEntries: [...desired].map(([name, value]) => ({ name, value })),
        },
      ],
    });
    this.log(
      `[mirror ${this.name}] configs of ${remote} set to ${[...desired].map(([k, v]) => `${k}=${v}`).join(" ")}`,
    );
  }

  /** Copy one fetched batch of a source partition; resolves once the target acknowledged it all. */
  private async copy(
    producer: Producer,
    syncProducer: Producer,
    syncsTopic: string,
    batch: { topic: string; partition: number; highWatermark: number; records: ConsumedRecord<Buffer>[] },
  ): Promise<void> {
    const records = batch.records;
    if (records.length === 0) return;
    const remote = this.topics.get(batch.topic);
    if (remote === undefined) throw new Error(`no remote topic for ${batch.topic}`);
    const L = this.config.offsetLagMax;
    const k = `${batch.topic}\u0000${batch.partition}`;
    const syncs: OffsetSync[] = [];
    const candidate = (upstreamOffset: number, downstreamOffset: number) => {
      if (!needsSync(this.lastSync.get(k), upstreamOffset, downstreamOffset, L)) return;
      const s = { topic: batch.topic, partition: batch.partition, upstreamOffset, downstreamOffset };
      this.lastSync.set(k, s);
      // Not into this.store: it learns syncs from the topic only, in the topic's order (a sync
      // read back after newer local ones would otherwise drop them, see OffsetSyncStore.add).
      syncs.push(s);
    };
    if (this.writer !== null) {
      // One transaction per chunk of at most TXN_CHUNK_BYTES: its records in one batch (so record
      // i is at baseOffset + i: every record can be a sync) and the position after it.
      let at = 0;
      while (at < records.length) {
        let end = at;
        let bytes = 0;
        while (end < records.length && (end === at || bytes < TXN_CHUNK_BYTES)) {
          const r = records[end];
          bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0) + 64;
          end++;
        }
        const chunk = records.slice(at, end);
        const base = await this.writer.write(
          remote,
          batch.partition,
          chunk.map((r) => ({
            key: r.key,
            value: r.value,
            headers: headersOf(r) ?? [],
            timestamp: r.timestamp,
          })),
          chunk[chunk.length - 1].offset + 1,
        );
        for (let i = 0; i < chunk.length; i++) candidate(chunk[i].offset, base + i);
        at = end;
      }
    } else {
      await this.copyIdempotent(producer, remote, batch, candidate);
    }
    this.stats.copied += records.length;
    this.stats.lag.set(
      `${batch.topic}-${batch.partition}`,
      Math.max(0, batch.highWatermark - records[records.length - 1].offset - 1),
    );
    if (syncs.length > 0) {
      this.stats.syncs += syncs.length;
      // Not awaited: a lost sync only makes a translation older (never wrong).
      syncProducer
        .send({ topic: syncsTopic, messages: syncs.map((s) => ({ ...encodeOffsetSync(s), partition: 0 })) })
        .catch((e) => this.log(`[mirror ${this.name}] offset syncs not written: ${describe(e)}`));
    }
  }

  /** At least once: the batch through the idempotent producer, sends split at sync windows. */
  private async copyIdempotent(
    producer: Producer,
    remote: string,
    batch: { partition: number; records: ConsumedRecord<Buffer>[] },
    candidate: (upstreamOffset: number, downstreamOffset: number) => void,
  ): Promise<void> {
    const records = batch.records;
    const L = this.config.offsetLagMax;
    const chunks: [number, number][] = [];
    let start = 0;
    for (let i = 1; i < records.length; i++)
      if (
        i - start >= MAX_CHUNK ||
        Math.floor(records[i].offset / L) !== Math.floor(records[start].offset / L)
      ) {
        chunks.push([start, i]);
        start = i;
      }
    chunks.push([start, records.length]);
    // All sends at once: they pile into the partition's open batches, in order.
    const results = await Promise.all(
      chunks.map(([a, b]) =>
        producer.send({
          topic: remote,
          messages: records.slice(a, b).map((r) => ({
            key: r.key,
            value: r.value,
            headers: headersOf(r),
            timestamp: r.timestamp,
            partition: batch.partition,
          })),
        }),
      ),
    );
    for (let c = 0; c < chunks.length; c++) {
      const md = results[c].find((m) => m.partition === batch.partition);
      if (md !== undefined && md.baseOffset >= 0) candidate(records[chunks[c][0]].offset, md.baseOffset);
    }
  }

  /**
   * Exactly once: the flow's position is what its transactions committed for its group on the
   * target (remote topic, partition -> the source's next offset); start each partition there.
   */
  private async seekToTargetPosition(
    tgtAdmin: Admin,
    consumer: GroupConsumer<Buffer>,
    parts: { topic: string; partitions: number[] }[],
  ): Promise<void> {
    const byRemote = new Map<string, string>();
    for (const t of parts) {
      const remote = this.topics.get(t.topic);
      if (remote !== undefined) byRemote.set(remote, t.topic);
    }
    if (byRemote.size === 0) return;
    const offsets = await tgtAdmin.fetchOffsets({
      groupId: mirrorGroupId(this.config.source, this.config.target),
      topics: [...byRemote.keys()],
    });
    for (const t of offsets) {
      const topic = byRemote.get(t.topic)!;
      const mine = parts.find((x) => x.topic === topic)?.partitions ?? [];
      for (const p of t.partitions)
        if (p.offset >= 0 && mine.includes(p.partition))
          await consumer.seek({ topic, partition: p.partition, offset: p.offset });
    }
  }

  /** Translate the source groups' commits of copied topics; emit checkpoints, maybe commit them on the target. */
  private async checkpoint(
    srcAdmin: Admin,
    tgtAdmin: Admin,
    producer: Producer,
    checkpointsTopic: string,
    syncGroups: boolean,
  ): Promise<void> {
    if (this.topics.size === 0) return;
    if (this.groups === null || Date.now() >= this.groupsListedAt + this.config.refreshGroupsIntervalMs) {
      this.groups = (await srcAdmin.listGroups()).groups.map((g) => g.groupId);
      this.groupsListedAt = Date.now();
    }
    const groups = this.groups;
    const checkpoints: Checkpoint[] = [];
    for (const groupId of groups) {
      if (!shouldReplicateGroup(this.config, groupId)) continue;
      const offsets = await srcAdmin.fetchOffsets({ groupId });
      for (const t of offsets) {
        const remote = this.topics.get(t.topic);
        if (remote === undefined) continue;
        for (const p of t.partitions) {
          if (p.offset < 0) continue;
          const downstream = this.store.translate(t.topic, p.partition, p.offset);
          if (downstream === null) continue;
          checkpoints.push({
            group: groupId,
            topic: remote,
            partition: p.partition,
            upstreamOffset: p.offset,
            downstreamOffset: downstream,
            metadata: p.metadata ?? "",
          });
        }
      }
    }
    if (checkpoints.length === 0) return;
    await producer.send({
      topic: checkpointsTopic,
      messages: checkpoints.map((c) => ({ ...encodeCheckpoint(c), partition: 0 })),
    });
    this.stats.checkpoints += checkpoints.length;
    if (!syncGroups) return;
    const byGroup = new Map<string, Checkpoint[]>();
    for (const c of checkpoints) {
      const list = byGroup.get(c.group) ?? [];
      list.push(c);
      byGroup.set(c.group, list);
    }
    for (const [group, list] of byGroup) {
      const { groups: desc } = await tgtAdmin.describeGroups([group]);
      const state = desc[0]?.state ?? "Dead";
      // A group with members on the target is consuming there: its own commits rule.
      if (state !== "Empty" && state !== "Dead") continue;
      const current = new Map<string, number>();
      for (const t of await tgtAdmin.fetchOffsets({ groupId: group }))
        for (const p of t.partitions) current.set(`${t.topic}\u0000${p.partition}`, p.offset);
      const byTopic = new Map<string, { partition: number; offset: number }[]>();
      for (const c of list) {
        const have = current.get(`${c.topic}\u0000${c.partition}`) ?? -1;
        if (have >= c.downstreamOffset) continue;
        const parts = byTopic.get(c.topic) ?? [];
        parts.push({ partition: c.partition, offset: c.downstreamOffset });
        byTopic.set(c.topic, parts);
      }
      for (const [topic, partitions] of byTopic) {
        try {
          await tgtAdmin.setOffsets({ groupId: group, topic, partitions });
        } catch (e) {
          // A member joined meanwhile: the group is the target's now.
          this.log(`[mirror ${this.name}] offsets of group ${group} on ${topic} not synced: ${describe(e)}`);
        }
      }
    }
  }
}
