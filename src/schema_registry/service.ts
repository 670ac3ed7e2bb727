// The Schema Registry inside the broker: its state (registry.ts) kept in the compacted topic
// `_schemas` (one partition, an internal topic like __consumer_offsets: created on the first
// write, written only here, acks=all so a change is answered once fsynced), replayed when the
// broker starts, so a restarted broker has the same subjects, versions and ids; and its REST
// listeners (server.ts) on schema.registry.listeners.
//
// In a cluster (zookeeper.connect) it works as Confluent's does with several instances: one
// primary writes, every broker serves reads, writes received elsewhere are forwarded to it.
//   - `_schemas` has replication factor min(3, live brokers), min.insync.replicas min(2, that).
//     Every broker's registry follows it (ClusterTail below: Fetch requests as a consumer,
//     replica id -1, to the partition's leader over the inter-broker listener and its security,
//     reading up to the high watermark) and applies each record, so every view converges on the
//     log. A broker serves no request but `GET /` until it has read the log to its end once
//     (bounded: 50002 after).
//   - The primary is the leader of `_schemas` partition 0 (its own replica says so). Before
//     each change it reads the log to its end (the leader's log end offset, which after a
//     failover may hold records of the old leader not yet applied here), so ids and versions are
//     allocated from the whole log by one writer; its own records are applied when they come
//     back through the log, the answer waits for that.
//   - Each broker publishes its registry's URL in ZooKeeper, /milena/schema_registry/<broker id>
//     (ephemeral, {"version":1,"url":"http://h:p"}). A write (register, deletes, config, mode
//     PUT/DELETE) received by another broker is sent over HTTP to the URL of the leader the
//     cluster metadata names, with the caller's Authorization header, and marked forwarded (the
//     primary handles it or refuses it, never forwards it again). The primary's answer carries
//     the log offset its view had reached (x-milena-schemas-offset); the forwarding broker
//     answers once its own view reached it too (read-your-writes), at most 10 s later.
//   - No leader known within 5 s, or not the primary when a forwarded write arrives: 50004. The
//     primary unreachable or failing to answer within 30 s: 50003. Never a hang.

import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { BrokerContext } from "../broker/context.ts";
import { InternalTopic } from "../broker/internal_topic.ts";
import { verifyPlainAsync } from "../broker/security/plain.ts";
import type { SaslCredentials } from "../broker/security/sasl_store.ts";
import { BrokerChannel } from "../cluster/broker_channel.ts";
import { interBrokerSecurity } from "../cluster/inter_broker_security.ts";
import type { ClusterNode } from "../cluster/node.ts";
import { ZK_NO_NODE, ZK_NODE_EXISTS, ZkError, type ZkSession } from "../cluster/zookeeper.ts";
import { replayRecords } from "../log/replay.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { fetchCodec, fetchRecordsBuffer } from "../protocol/fetch.ts";
import { ATTR_CONTROL, ATTRIBUTES } from "../protocol/record_batch.ts";
import { decodeBatch, readBatchHeader, splitBatches } from "../protocol/records.ts";
import { Errors } from "./errors.ts";
import { SchemaRegistry } from "./registry.ts";
import {
  decodeSchemasRecord,
  encodeKey,
  encodeValue,
  SCHEMAS_TOPIC,
  type SchemasRecord,
} from "./schemas_records.ts";
import {
  type ClusterHooks,
  type ForwardedAnswer,
  type ForwardRequest,
  OFFSET_HEADER,
  type RegistryServer,
  startRegistryServer,
} from "./server.ts";

/** Where each broker publishes its registry's URL (under the chroot of zookeeper.connect). */
export const REGISTRY_ZNODES = "/milena/schema_registry";
export const registryZnode = (brokerId: number) => `${REGISTRY_ZNODES}/${brokerId}`;

const FETCH_VERSION = 12;
/** How long a write looks for a primary (a leader being elected) before 50004. */
const PRIMARY_WAIT_MS = 5000;
/** How long a forwarded write waits for the primary's answer before 50003. */
const FORWARD_TIMEOUT_MS = 30_000;
/** How long a forwarding broker waits for its view to include the write (read-your-writes). */
const READ_YOUR_WRITES_MS = 10_000;
/** How long a request waits for the first read of the whole log at start before 50002. */
const FIRST_CATCH_UP_MS = 15_000;

export class SchemaRegistryService {
  readonly registry: SchemaRegistry;
  private readonly topic: InternalTopic<SchemasRecord>;
  private readonly servers: RegistryServer[] = [];
  readonly ports: number[] = [];
  /** A cluster: the follower of `_schemas` (null on a single broker). */
  private readonly tail: ClusterTail | null;
  /** The URL this registry publishes (its first listener, at its bound port). */
  private url = "";
  private stopped = false;
  private publishTimer: NodeJS.Timeout | null = null;
  private published: ZkSession | null = null;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly users: SaslCredentials,
  ) {
    const c = ctx.config;
    const cluster = ctx.cluster;
    this.topic = new InternalTopic(ctx, {
      name: SCHEMAS_TOPIC,
      partitions: 1,
      // Confluent's kafkastore.topic.replication.factor (3), capped to the live brokers.
      replicationFactor: cluster === null ? c.offsetsTopicReplicationFactor : 3,
      // A cluster: min.insync.replicas 2 (capped to the replication factor), so a primary cut off
      // from the others (a zombie whose ISR shrank to itself) cannot commit an id alone that the
      // new primary would hand out again.
      ...(cluster === null ? {} : { minInsyncReplicas: 2 }),
      segmentBytes: c.offsetsTopicSegmentBytes,
      timeoutMs: c.offsetsCommitTimeoutMs,
      replay: (dir) =>
        Promise.resolve(replayRecords(dir, (key, value) => decodeSchemasRecord(key, value)).records),
    });
    this.tail = cluster === null ? null : new ClusterTail(ctx, cluster, (r) => this.registry.apply(r));
    this.registry = new SchemaRegistry(
      (records) => this.append(records),
      {
        maxSchemas: c.schemaRegistry?.maxSchemas ?? 10000,
        maxSubjectLength: 255,
        maxReferences: 100,
      },
      this.tail === null ? {} : { beforeChange: () => this.catchUpAsPrimary(), appliesOwnWrites: false },
    );
  }

  private async append(records: SchemasRecord[]): Promise<void> {
    const code = await this.topic.append(
      0,
      records.map((r) => ({ key: encodeKey(r), value: encodeValue(r) })),
    );
    if (code !== 0)
      throw Errors.storeError(`Error while writing to ${SCHEMAS_TOPIC} (Kafka error code ${code})`);
    if (this.tail === null) return;
    // Applied when read back from the log (the one path every broker's view takes).
    const end = this.ctx.logs.partitionOf(SCHEMAS_TOPIC, 0)?.reader.logEndOffset ?? 0;
    if (!(await this.tail.waitFor(end, this.ctx.config.offsetsCommitTimeoutMs)))
      throw Errors.timeout(`Written to ${SCHEMAS_TOPIC}, not yet read back at offset ${end}`);
  }

  /** The primary, before a change: every record of the log applied (its leader's log end). */
  private async catchUpAsPrimary(): Promise<void> {
    if (!this.isPrimary()) throw Errors.unknownPrimary("this broker no longer leads _schemas");
    const end = this.ctx.logs.partitionOf(SCHEMAS_TOPIC, 0)?.reader.logEndOffset ?? 0;
    if (!(await this.tail!.waitFor(end, this.ctx.config.offsetsCommitTimeoutMs)))
      throw Errors.timeout(`The primary has not read ${SCHEMAS_TOPIC} up to its end (${end}) yet`);
  }

  /** Whether this broker leads `_schemas` partition 0 (its replica says so, not only the metadata). */
  private isPrimary(): boolean {
    const cluster = this.ctx.cluster;
    const entry = this.ctx.logs.partitionOf(SCHEMAS_TOPIC, 0);
    return (
      cluster !== null && entry !== undefined && cluster.replicas.leaderProblem(entry) === ErrorCode.NONE
    );
  }

  /** A write: null to handle it here (the primary), or the URL of the primary's registry. */
  private async primaryUrl(forwarded: boolean): Promise<string | null> {
    const cluster = this.ctx.cluster!;
    try {
      await this.topic.ensure();
    } catch (e) {
      throw Errors.unknownPrimary(`cannot create ${SCHEMAS_TOPIC}: ${(e as Error).message}`);
    }
    const deadline = Date.now() + PRIMARY_WAIT_MS;
    let why = `no leader of ${SCHEMAS_TOPIC}`;
    for (;;) {
      if (this.isPrimary()) return null;
      if (forwarded) throw Errors.unknownPrimary(`broker ${this.ctx.config.brokerId} is not the primary`);
      const leader = cluster.cache.partition(SCHEMAS_TOPIC, 0)?.leader ?? -1;
      if (leader >= 0 && leader !== this.ctx.config.brokerId) {
        const url = await this.urlOf(leader).catch(() => null);
        if (url !== null) return url;
        why = `broker ${leader} leads ${SCHEMAS_TOPIC} but publishes no registry URL`;
      }
      if (Date.now() > deadline || this.stopped) throw Errors.unknownPrimary(why);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async urlOf(broker: number): Promise<string | null> {
    const zk = this.ctx.cluster?.zk;
    if (zk === null || zk === undefined) return null;
    const got = await zk.get(registryZnode(broker));
    if (got === null) return null;
    const v = JSON.parse(got.data.toString("utf8")) as { url?: unknown };
    return typeof v.url === "string" ? v.url : null;
  }

  private async forward(r: ForwardRequest): Promise<ForwardedAnswer | null> {
    const url = await this.primaryUrl(r.forwarded);
    if (url === null) return null;
    return this.send(url, r);
  }

  private send(base: string, r: ForwardRequest): Promise<ForwardedAnswer> {
    const target = new URL(r.path, base);
    const headers: http.OutgoingHttpHeaders = {
      "content-length": r.body.length,
      "x-milena-forwarded": String(this.ctx.config.brokerId),
    };
    if (r.authorization !== undefined) headers.authorization = r.authorization;
    if (r.contentType !== undefined) headers["content-type"] = r.contentType;
    const ssl = this.ctx.config.ssl;
    return new Promise((resolve, reject) => {
      const done = (e: Error) => reject(Errors.forwardingFailed(`${base}: ${e.message}`));
      const opts: https.RequestOptions = { method: r.method, headers, timeout: FORWARD_TIMEOUT_MS };
      if (target.protocol === "https:" && ssl.caLocation !== null) opts.ca = fs.readFileSync(ssl.caLocation);
      const req = (target.protocol === "https:" ? https : http).request(target, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", done);
        res.on("end", () => {
          const offset = Number(res.headers[OFFSET_HEADER] ?? "-1");
          resolve({
            status: res.statusCode ?? 500,
            contentType: String(res.headers["content-type"] ?? "application/json"),
            body: Buffer.concat(chunks),
            ...(Number.isSafeInteger(offset) && offset >= 0 ? { offset } : {}),
          });
        });
      });
      req.on("timeout", () => req.destroy(new Error(`no answer in ${FORWARD_TIMEOUT_MS} ms`)));
      req.on("error", done);
      req.end(r.body);
    });
  }

  private clusterHooks(): ClusterHooks | undefined {
    const tail = this.tail;
    if (tail === null) return undefined;
    return {
      ready: async () => {
        if (!(await tail.waitCaughtUp(FIRST_CATCH_UP_MS)))
          throw Errors.timeout(`This broker has not read ${SCHEMAS_TOPIC} to its end yet`);
      },
      forward: (r) => this.forward(r),
      appliedOffset: () => tail.next,
      waitApplied: async (offset) => {
        await tail.waitFor(offset, READ_YOUR_WRITES_MS);
      },
    };
  }

  /** Replay `_schemas` (a single broker; a cluster's follows it from joinCluster()), then listen. */
  async start(): Promise<void> {
    const c = this.ctx.config.schemaRegistry;
    if (c === null) return;
    let n = 0;
    if (this.tail === null)
      for (const part of await this.topic.replay())
        for (const r of part) {
          this.registry.apply(r);
          n++;
        }
    if (n > 0)
      this.ctx.log(
        `replayed ${n} record(s) of ${SCHEMAS_TOPIC}: ${this.registry.listSubjects(true).length} subject(s), ${this.registry.schemaCount} schema version(s)`,
      );
    const ssl = this.ctx.config.ssl;
    const cluster = this.clusterHooks();
    for (const l of c.listeners) {
      let server: RegistryServer;
      try {
        server = await startRegistryServer(this.registry, {
          host: l.host,
          port: l.port,
          tls: l.tls
            ? {
                key: fs.readFileSync(ssl.keyLocation!),
                cert: fs.readFileSync(ssl.certificateLocation!),
                ...(ssl.keyPassword === null ? {} : { passphrase: ssl.keyPassword }),
              }
            : null,
          maxRequestBytes: c.maxRequestBytes,
          failedAuthenticationDelayMs: this.ctx.config.connectionFailedAuthenticationDelayMs,
          authenticate:
            c.authentication === "BASIC"
              ? async (user, password) => {
                  try {
                    await verifyPlainAsync(
                      Buffer.from(`\u0000${user}\u0000${password}`),
                      (u) => this.users.user(u),
                      {
                        fakeCredentialSecret: this.users.secret,
                      },
                    );
                    return true;
                  } catch {
                    return false;
                  }
                }
              : null,
          log: (l) => this.ctx.logger.limited("schema registry", l),
          ...(cluster === undefined ? {} : { cluster }),
        });
      } catch (e) {
        throw new Error(
          `schema.registry.listeners: cannot listen on ${l.host}:${l.port}: ${(e as Error).message}`,
        );
      }
      this.servers.push(server);
      this.ports.push(server.port);
      if (this.url === "") this.url = `${l.tls ? "https" : "http"}://${this.urlHost(l.host)}:${server.port}`;
      this.ctx.log(
        `Schema Registry listening on ${l.tls ? "https" : "http"}://${l.host}:${server.port} (authentication ${c.authentication})`,
      );
      if (c.authentication === "BASIC" && !l.tls)
        this.ctx.log(
          `warning: the Schema Registry on http://${l.host}:${server.port} takes HTTP Basic passwords in clear text; use https:// in schema.registry.listeners`,
        );
    }
  }

  /** A wildcard listener host is published as the broker's advertised inter-broker host. */
  private urlHost(host: string): string {
    if (host !== "" && host !== "0.0.0.0" && host !== "::" && host !== "[::]") return host;
    const c = this.ctx.config;
    return (
      c.advertised.find((l) => l.name === c.interBrokerListenerName)?.host ?? c.advertised[0]?.host ?? host
    );
  }

  /** A cluster, once the broker is registered: follow `_schemas` and publish this registry's URL. */
  joinCluster(): void {
    if (this.tail === null || this.stopped) return;
    this.tail.start();
    const tick = () => void this.publish().catch(() => {});
    tick();
    this.publishTimer = setInterval(tick, 1000);
    this.publishTimer.unref();
  }

  /** The ephemeral /milena/schema_registry/<id> of this session (again after a new session). */
  private async publish(): Promise<void> {
    const cluster = this.ctx.cluster;
    const zk = cluster?.zk ?? null;
    if (zk === null || zk === this.published || !zk.connected || this.url === "" || this.stopped) return;
    const path = registryZnode(this.ctx.config.brokerId);
    const data = Buffer.from(JSON.stringify({ version: 1, url: this.url }));
    await zk.mkdirp(REGISTRY_ZNODES);
    const held = await zk.get(path);
    if (
      held !== null &&
      BigInt.asUintN(64, held.stat.ephemeralOwner).toString(16).padStart(16, "0") !== zk.sessionId
    )
      await zk.delete(path).catch((e) => {
        if (!(e instanceof ZkError && e.code === ZK_NO_NODE)) throw e;
      });
    try {
      await zk.create(path, data, true);
    } catch (e) {
      if (!(e instanceof ZkError && e.code === ZK_NODE_EXISTS)) throw e;
      await zk.set(path, data, -1);
    }
    this.published = zk;
    this.ctx.log(`Schema Registry URL ${this.url} published at ${path}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.publishTimer !== null) clearInterval(this.publishTimer);
    this.tail?.stop();
    await Promise.all(this.servers.map((s) => s.close()));
  }
}

/**
 * A cluster broker's reading of `_schemas` partition 0: Fetch (as a consumer) from its leader,
 * every record applied in log order, `next` the offset after the last one read. Waiters resolve
 * once `next` reaches their offset.
 */
class ClusterTail {
  next = 0;
  /** Read the whole log (up to a high watermark) at least once. */
  caughtUp = false;
  private stopped = false;
  private running: Promise<void> | null = null;
  private channel: BrokerChannel | null = null;
  private waiters = new Set<() => void>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly cluster: ClusterNode,
    private readonly apply: (r: SchemasRecord) => void,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.channel?.close();
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves true once `next` >= offset, false after `ms`. */
  waitFor(offset: number, ms: number): Promise<boolean> {
    return this.until(() => this.next >= offset, ms);
  }

  waitCaughtUp(ms: number): Promise<boolean> {
    return this.until(() => this.caughtUp, ms);
  }

  private until(ok: () => boolean, ms: number): Promise<boolean> {
    if (ok()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!ok() && !this.stopped) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(ok());
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(ok());
      }, ms);
      this.waiters.add(check);
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!(await this.once())) await new Promise((r) => setTimeout(r, 200));
      } catch (e) {
        this.ctx.logger.limited("schema registry", `reading ${SCHEMAS_TOPIC}: ${(e as Error).message}`);
        this.channel?.reset();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }

  /** One fetch; false when there was nothing to ask (no leader yet) or it was refused. */
  private async once(): Promise<boolean> {
    const p = this.cluster.cache.partition(SCHEMAS_TOPIC, 0);
    if (p === undefined) {
      // Not in the metadata: no topic yet (nothing to read: caught up), or not told yet.
      if (!this.caughtUp && !(await this.cluster.topicExists(SCHEMAS_TOPIC))) {
        this.caughtUp = true;
        this.wake();
      }
      return false;
    }
    const ep =
      p.leader < 0
        ? undefined
        : this.cluster.cache.endpoint(p.leader, this.ctx.config.interBrokerListenerName);
    if (ep === undefined) return false;
    let ch = this.channel;
    if (
      ch === null ||
      ch.brokerId !== p.leader ||
      ch.endpoint.host !== ep.host ||
      ch.endpoint.port !== ep.port
    ) {
      ch?.close();
      ch = new BrokerChannel(
        p.leader,
        { host: ep.host, port: ep.port },
        `milena-schema-registry-${this.ctx.config.brokerId}`,
        interBrokerSecurity(this.ctx.config),
      );
      this.channel = ch;
    }
    const maxWaitMs = 500;
    const res = await ch.request(
      fetchCodec,
      FETCH_VERSION,
      {
        replicaId: -1,
        maxWaitMs,
        minBytes: 1,
        maxBytes: 8 * 1024 * 1024,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: SCHEMAS_TOPIC,
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: this.next,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: 8 * 1024 * 1024,
              },
            ],
          },
        ],
        forgottenTopicsData: [],
        rackId: "",
      },
      maxWaitMs,
    );
    if (this.stopped) return true;
    if (res.errorCode !== ErrorCode.NONE) throw new Error(`Fetch answered error ${res.errorCode}`);
    const part = res.responses[0]?.partitions[0];
    if (part === undefined) throw new Error("Fetch answered no partition");
    if (part.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && part.logStartOffset > this.next) {
      // Below the log start (records deleted): what is left starts there.
      this.next = part.logStartOffset;
      return true;
    }
    if (
      part.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE &&
      part.highWatermark >= 0 &&
      part.highWatermark < this.next
    )
      // Only reads up to a high watermark: a leader behind them has lost acknowledged records
      // (an unclean election); this view keeps them and says so.
      this.ctx.logger.limited(
        "schema registry",
        `${SCHEMAS_TOPIC} at broker ${p.leader} ends at ${part.highWatermark}, before ${this.next} read here: records lost by an unclean leader election`,
      );
    if (part.errorCode !== ErrorCode.NONE) {
      this.ctx.logger.limited(
        "schema registry",
        `reading ${SCHEMAS_TOPIC} from broker ${p.leader}: error ${part.errorCode}`,
      );
      return false;
    }
    for (const batch of splitBatches(fetchRecordsBuffer(part.records))) {
      const h = readBatchHeader(batch);
      const end = h.baseOffset + h.lastOffsetDelta + 1;
      if (end <= this.next) continue;
      if ((batch.readInt16BE(ATTRIBUTES) & ATTR_CONTROL) === 0)
        for (const r of decodeBatch(batch)) {
          if (r.offset < this.next || r.key === null) continue;
          const rec = decodeSchemasRecord(r.key, r.value);
          if (rec !== null) this.apply(rec);
        }
      this.next = end;
    }
    if (this.next >= part.highWatermark) this.caughtUp = true;
    this.wake();
    return true;
  }
}
