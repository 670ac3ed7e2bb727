// A view of the cluster for one producer, consumer or admin (each has its own connections, so a
// consumer's long-polling fetches never delay a producer's acknowledgements): the bootstrap
// addresses, the brokers and partition leaders learnt from Metadata, and one connection per
// broker, opened on demand and reopened after a failure.
//
// The transport is chosen by the bootstrap address ("host:port" = TCP, "ws://..." = WebSocket)
// and kept for every broker found in Metadata: a broker answers a WebSocket client with its
// WebSocket listener's address, so the client reaches it at ws://host:port (same path).

import { ErrorCode } from "../protocol/error_codes.ts";
import { type MetadataResponse, metadataCodec, metadataRequest } from "../protocol/metadata.ts";
import { Connection, type ConnectionOptions } from "./connection.ts";
import { ConnectionError, LeaderNotAvailableError, NotConnectedError, protocolError } from "./errors.ts";
import type { Platform } from "./platform.ts";
import { type Retry, withRetry } from "./retry.ts";
import { type BrokerAddress, brokerAddress } from "./transport.ts";

export interface PartitionInfo {
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  partitionErrorCode: number;
}

export interface TopicInfo {
  name: string;
  isInternal: boolean;
  partitions: PartitionInfo[];
}

export interface ClusterOptions extends ConnectionOptions {
  bootstrap: BrokerAddress[];
  retry: Retry;
}

export class Cluster {
  readonly brokers = new Map<number, BrokerAddress>();
  readonly topics = new Map<string, TopicInfo>();
  controllerId = -1;
  clusterId: string | null = null;
  private readonly conns = new Map<string, Promise<Connection>>();
  private readonly open = new Map<string, Connection>();
  /** The bootstrap entry that answered: its transport is used for every broker. */
  private via: BrokerAddress;
  private closed = false;
  /** Backoff sleeps and timers, cut short by disconnect() so that nothing lingers after it. */
  private readonly timers = new Map<ReturnType<typeof setTimeout>, () => void>();

  constructor(
    readonly platform: Platform,
    readonly opts: ClusterOptions,
  ) {
    if (opts.bootstrap.length === 0) throw new Error("no bootstrap address");
    this.via = opts.bootstrap[0];
  }

  /** Reach a bootstrap broker and learn the cluster's brokers. */
  async connect(): Promise<void> {
    this.closed = false;
    await this.withRetry(() => this.metadata([]));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Wait ms (resolves at once when the cluster is disconnected meanwhile). */
  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.set(t, resolve);
    });
  }

  /** Run fn after ms unless the cluster is disconnected first. */
  later(fn: () => void, ms: number): void {
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.set(t, () => {});
  }

  /** withRetry, with backoff sleeps that end (and give up) when the cluster is disconnected. */
  withRetry<T>(fn: (attempt: number) => Promise<T>, retry: Retry = this.opts.retry): Promise<T> {
    return withRetry(retry, fn, { sleep: (ms) => this.sleep(ms), stopped: () => this.closed });
  }

  /** An open connection to any broker (a known one first, else a bootstrap address in turn). */
  async anyConnection(): Promise<Connection> {
    for (const c of this.open.values()) if (!c.closed) return c;
    let last: unknown = null;
    for (const id of this.brokers.keys()) {
      try {
        return await this.connection(id);
      } catch (e) {
        last = e;
      }
    }
    for (const a of this.opts.bootstrap) {
      try {
        const c = await this.connectTo(a);
        this.via = a;
        return c;
      } catch (e) {
        last = e;
      }
    }
    throw last instanceof Error ? last : new ConnectionError("no broker reachable");
  }

  /** The open connection to a broker, or null (use connection() to open it). */
  peek(nodeId: number): Connection | null {
    const a = this.brokers.get(nodeId);
    if (a === undefined) return null;
    const c = this.open.get(a.label);
    return c !== undefined && !c.closed ? c : null;
  }

  /** The connection to a broker, opening it if needed. */
  connection(nodeId: number): Promise<Connection> {
    const a = this.brokers.get(nodeId);
    if (a === undefined)
      return Promise.reject(new LeaderNotAvailableError(`broker ${nodeId} is not in the cluster metadata`));
    return this.connectTo(a);
  }

  private connectTo(a: BrokerAddress): Promise<Connection> {
    if (this.closed) return Promise.reject(new NotConnectedError("the client is disconnected"));
    const existing = this.conns.get(a.label);
    if (existing !== undefined) return existing;
    const p = Connection.open(this.platform, a, this.opts).then(
      (c) => {
        if (this.closed) {
          c.close();
          throw new NotConnectedError("the client is disconnected");
        }
        this.open.set(a.label, c);
        c.onClose(() => {
          if (this.open.get(a.label) === c) this.open.delete(a.label);
          if (this.conns.get(a.label) === p) this.conns.delete(a.label);
        });
        return c;
      },
      (e) => {
        this.conns.delete(a.label);
        throw e;
      },
    );
    this.conns.set(a.label, p);
    return p;
  }

  /**
   * A Metadata request (topics: null = all, [] = brokers only); updates brokers, controller
   * and the topics it names.
   */
  async metadata(topics: string[] | null, allowAutoTopicCreation = true): Promise<MetadataResponse> {
    const conn = await this.anyConnection();
    const res = await conn.request(metadataCodec, metadataRequest(topics, allowAutoTopicCreation));
    // Asked by name, every topic is answered with its name (only v12's asks by id leave it null).
    for (const t of res.topics) t.name ??= "";
    const via = conn.address.kind === this.via.kind ? this.via : conn.address;
    for (const b of res.brokers) this.brokers.set(b.nodeId, brokerAddress(via, b.host, b.port));
    this.controllerId = res.controllerId;
    this.clusterId = res.clusterId;
    for (const t of res.topics) {
      const name = t.name ?? "";
      if (t.errorCode !== 0) {
        this.topics.delete(name);
        continue;
      }
      this.topics.set(name, {
        name,
        isInternal: t.isInternal,
        partitions: t.partitions
          .map((p) => ({
            partitionId: p.partitionIndex,
            leader: p.leaderId,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas,
            partitionErrorCode: p.errorCode,
          }))
          .sort((x, y) => x.partitionId - y.partitionId),
      });
    }
    return res;
  }

  /**
   * A topic's partitions with a leader each, asking Metadata (and retrying retriable errors:
   * a topic being created, a leader being elected) when not known or when `refresh`.
   */
  async topic(
    name: string,
    opts: { refresh?: boolean; allowAutoTopicCreation?: boolean } = {},
  ): Promise<TopicInfo> {
    const known = this.topics.get(name);
    if (known !== undefined && !opts.refresh) return known;
    return this.withRetry(async () => {
      const res = await this.metadata([name], opts.allowAutoTopicCreation ?? true);
      const t = res.topics.find((x) => x.name === name);
      if (t === undefined)
        throw protocolError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "not in the Metadata reply", {
          topic: name,
        });
      if (t.errorCode !== 0) throw protocolError(t.errorCode, null, { topic: name });
      const info = this.topics.get(name)!;
      const leaderless = info.partitions.find((p) => p.leader < 0 || !this.brokers.has(p.leader));
      if (leaderless !== undefined)
        throw protocolError(
          leaderless.partitionErrorCode !== 0
            ? leaderless.partitionErrorCode
            : ErrorCode.LEADER_NOT_AVAILABLE,
          null,
          { topic: name, partition: leaderless.partitionId },
        );
      return info;
    });
  }

  /** Close every connection. */
  disconnect(): void {
    this.closed = true;
    for (const [t, wake] of this.timers) {
      clearTimeout(t);
      wake();
    }
    this.timers.clear();
    for (const c of this.open.values()) c.close();
    this.open.clear();
    for (const p of this.conns.values())
      p.then(
        (c) => c.close(),
        () => {},
      );
    this.conns.clear();
  }
}
