// This broker as a member of a ZooKeeper cluster (zookeeper.connect set): its session and
// registration (/brokers/ids/<id>, ephemeral, with every advertised listener), the controller
// election (/controller, ephemeral: whoever creates it runs the Controller until its session
// ends), the inter-broker requests it serves (LeaderAndIsr, UpdateMetadata, StopReplica from the
// controller; ControlledShutdown when it is the controller), and the admin paths that go
// through ZooKeeper (topic creation writes /brokers/topics/<t>, deletion /admin/delete_topics/<t>;
// the controller does the rest). When the session expires the broker stops leading and stops
// being controller, then builds a new session and registers again.

import { randomBytes } from "node:crypto";
import type { BrokerConfig } from "../broker/config.ts";
import type { LogManager, PartitionEntry } from "../broker/log_manager.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type {
  ControlledShutdownRequest,
  ControlledShutdownResponse,
  LeaderAndIsrRequest,
  LeaderAndIsrResponse,
  StopReplicaRequest,
  StopReplicaResponse,
  UpdateMetadataRequest,
  UpdateMetadataResponse,
} from "../protocol/inter_broker.ts";
import { CONTROLLED_SHUTDOWN_VERSION, controlledShutdownCodec } from "../protocol/inter_broker.ts";
import type {
  AlterPartitionReassignmentsRequest,
  AlterPartitionReassignmentsResponse,
  ListPartitionReassignmentsRequest,
  ListPartitionReassignmentsResponse,
} from "../protocol/reassignments.ts";
import { assignReplicas } from "./assignment.ts";
import { BrokerChannel, type Endpoint } from "./broker_channel.ts";
import { purgeObsoleteNotifications } from "./change_notifications.ts";
import { Controller } from "./controller.ts";
import { interBrokerSecurity } from "./inter_broker_security.ts";
import { MetadataCache } from "./metadata_cache.ts";
import { FetcherManager } from "./replica_fetcher.ts";
import { type ReplicaLog, ReplicaManager } from "./replicas.ts";
import { userOfEntityPath } from "./zk_security.ts";
import {
  decodeClusterId,
  decodeConfigChange,
  decodeController,
  decodeTopic,
  decodeTopicConfig,
  encodeBroker,
  encodeClusterId,
  encodeConfigChange,
  encodeController,
  encodeTopic,
  encodeTopicConfig,
  PERSISTENT_PATHS,
  Z,
} from "./znodes.ts";
import { ZK_BAD_VERSION, ZK_NODE_EXISTS, ZkError, ZkSession } from "./zookeeper.ts";

/** How often a broker that does not control checks that someone holds /controller (checkElection). */
const ELECTION_CHECK_MS = 3000;

export class ClusterStartError extends Error {
  override name = "ClusterStartError";
}

export interface ClusterDeps {
  config: BrokerConfig;
  logs: LogManager;
  replicaLog: ReplicaLog;
  appendReplica(
    entry: PartitionEntry,
    records: Uint8Array,
  ): Promise<{ errorCode: number; logEndOffset: number }>;
  log(line: string): void;
  limited(kind: string, line: string): void;
  /** min.insync.replicas for a topic. */
  minInsync(topic: string): number;
  /** A local partition became leader here, or stopped being. */
  onRoleChange(entry: PartitionEntry, role: "leader" | "follower" | "none"): void;
  /** Delete a local topic (StopReplica with delete, or a topic gone from the cluster). */
  deleteLocalTopic(topic: string): Promise<void>;
  /** A topic's config overrides changed in the cluster: apply them to its local partitions. */
  applyTopicConfig(topic: string, overrides: Map<string, string>): Promise<void>;
  /** The cluster's users and ACLs (zk_security.ts), read at each new session and kept up to date. */
  security?: ClusterSecurity;
}

/** What a session's security state needs from the node (implemented over zk_security.ts). */
export interface ClusterSecurity {
  /** Read every user and ACL afresh and watch the ACL changes (each new session). */
  load(zk: ZkSession): Promise<void>;
  /** A user's config change notification: read that user again. */
  userChanged(zk: ZkSession, user: string): Promise<void>;
}

export class ClusterNode {
  zk: ZkSession | null = null;
  clusterId = "";
  readonly cache = new MetadataCache();
  readonly replicas: ReplicaManager;
  readonly fetchers: FetcherManager;
  controller: Controller | null = null;
  /** Czxid of our registration znode: Kafka's broker epoch. */
  brokerEpoch = -1n;
  private stopping = false;
  private readonly leaderEndpoints = new Map<number, Endpoint>();
  private readonly brokerId: number;

  constructor(private readonly deps: ClusterDeps) {
    const c = deps.config;
    this.brokerId = c.brokerId;
    this.fetchers = new FetcherManager(
      {
        brokerId: c.brokerId,
        numReplicaFetchers: c.numReplicaFetchers,
        replicaFetchMaxBytes: c.replicaFetchMaxBytes,
        replicaFetchResponseMaxBytes: c.replicaFetchResponseMaxBytes,
        replicaFetchWaitMaxMs: c.replicaFetchWaitMaxMs,
        security: interBrokerSecurity(c),
        replicaFetchMinBytes: c.replicaFetchMinBytes,
        replicaFetchBackoffMs: c.replicaFetchBackoffMs,
        log: deps.limited,
      },
      {
        endpointOf: (b) => this.endpointOf(b),
        appendReplica: deps.appendReplica,
        log: deps.replicaLog,
      },
    );
    this.replicas = new ReplicaManager(
      {
        brokerId: c.brokerId,
        replicaLagTimeMaxMs: c.replicaLagTimeMaxMs,
        log: deps.log,
        minInsync: deps.minInsync,
        onRoleChange: deps.onRoleChange,
      },
      deps.replicaLog,
      () => this.zk,
      this.fetchers,
    );
    this.fetchers.replicas = this.replicas;
  }

  private endpointOf(b: number): Endpoint | undefined {
    const l = this.leaderEndpoints.get(b);
    if (l !== undefined) return l;
    const e = this.cache.endpoint(b, this.deps.config.interBrokerListenerName);
    return e === undefined ? undefined : { host: e.host, port: e.port };
  }

  private async session(): Promise<ZkSession> {
    const c = this.deps.config;
    return ZkSession.connect(c.zookeeperConnect!, {
      sessionTimeoutMs: c.zookeeperSessionTimeoutMs,
      connectionTimeoutMs: c.zookeeperConnectionTimeoutMs,
    });
  }

  /**
   * Before the logs open: connect, create Kafka's persistent paths, read (or make) the cluster
   * id, and refuse to start when this broker id is registered by a live broker.
   */
  async connect(): Promise<string> {
    const c = this.deps.config;
    try {
      this.zk = await this.session();
    } catch (e) {
      throw new ClusterStartError(`zookeeper.connect=${c.zookeeperConnect}: ${(e as Error).message}`);
    }
    for (const p of PERSISTENT_PATHS) await this.zk.mkdirp(p);
    this.clusterId = await this.readClusterId(this.zk);
    // Users and ACLs before the listeners open: the first clients authenticate against them.
    await this.loadSecurity(this.zk);
    const held = await this.zk.get(Z.broker(this.brokerId));
    if (held !== null)
      throw new ClusterStartError(
        `broker.id ${this.brokerId} is already registered in ZooKeeper (${Z.broker(this.brokerId)}, session 0x${held.stat.ephemeralOwner.toString(16)}): another broker with this id is running; give each broker its own broker.id`,
      );
    return this.clusterId;
  }

  private async readClusterId(zk: ZkSession): Promise<string> {
    const got = await zk.get(Z.clusterId);
    if (got !== null) return decodeClusterId(got.data);
    const id = this.deps.logs.clusterId || randomBytes(16).toString("base64url").slice(0, 22);
    try {
      await zk.mkdirp("/cluster");
      await zk.create(Z.clusterId, encodeClusterId(id));
      return id;
    } catch (e) {
      if (e instanceof ZkError && e.code === ZK_NODE_EXISTS) {
        const again = await zk.get(Z.clusterId);
        if (again !== null) return decodeClusterId(again.data);
      }
      throw e;
    }
  }

  /** After the listeners are bound: register, watch the session, take part in the election. */
  async register(): Promise<void> {
    this.replicas.start(this.deps.config.logDirs);
    await this.registerWith(this.zk!);
  }

  private async registerWith(zk: ZkSession): Promise<void> {
    const c = this.deps.config;
    zk.onExpired(() => void this.onExpired());
    try {
      await zk.create(
        Z.broker(this.brokerId),
        encodeBroker(c.advertised, c.brokerRack, c.listenerSecurity),
        true,
      );
    } catch (e) {
      if (e instanceof ZkError && e.code === ZK_NODE_EXISTS) {
        // Our old session's znode, not yet expired (a quick restart) or another broker.
        throw new ClusterStartError(
          `broker.id ${this.brokerId} is already registered in ZooKeeper (${Z.broker(this.brokerId)}): another broker with this id is running`,
        );
      }
      throw e;
    }
    await this.loadSecurity(zk);
    await this.watchConfigChanges(zk);
    const me = await zk.get(Z.broker(this.brokerId));
    this.brokerEpoch = me?.stat.czxid ?? -1n;
    this.replicas.registered = true;
    this.deps.log(
      `registered in ZooKeeper as broker ${this.brokerId} (cluster ${this.clusterId}, broker epoch ${this.brokerEpoch})`,
    );
    await this.elect(zk);
    this.checkElection(zk);
  }

  /**
   * A safety net under the /controller watch (one lost to a ZooKeeper restart or a reconnect
   * would leave the cluster without a controller once the current one dies): while this session
   * lasts and this broker does not control, /controller is read every few seconds (no watch
   * added) and the election run again when nobody holds it.
   */
  private checkElection(zk: ZkSession): void {
    const t = setInterval(() => {
      if (this.stopping || zk !== this.zk || zk.isClosed) {
        clearInterval(t);
        return;
      }
      if (this.controller !== null || !zk.connected) return;
      void zk
        .get(Z.controller)
        .then((cur) => (cur === null ? this.elect(zk) : undefined))
        .catch(() => {}); // the next round tries again
    }, ELECTION_CHECK_MS);
    t.unref();
  }

  /** The highest config change notification handled (its sequence number). */
  private configChangeSeen = -1;
  /** The session whose notifications were noted and users and ACLs read (loadSecurity). */
  private securityLoaded: ZkSession | null = null;

  /**
   * Once per session, before its config change watch: note the newest config change (what came
   * before is in what this broker reads now: the topics it opens read their config, the users
   * are all read), then read the cluster's users and ACLs (and watch the ACL changes).
   */
  private async loadSecurity(zk: ZkSession): Promise<void> {
    if (this.securityLoaded === zk) return;
    await this.watchConfigChanges(zk, true);
    await this.deps.security?.load(zk);
    this.securityLoaded = zk;
  }

  /**
   * /config/changes: an entity's config changed somewhere in the cluster (Kafka's config change
   * notifications, entity_path "topics/<t>" or "users/<sanitized user>"): re-read
   * /config/topics/<t> and apply it here, or re-read /config/users/<user>. With `first` only the
   * newest sequence is noted (loadSecurity).
   */
  private async watchConfigChanges(zk: ZkSession, first = false): Promise<void> {
    if (this.stopping || zk !== this.zk) return;
    if (first) {
      const names = await zk.children(Z.configChanges);
      for (const n of names) {
        const seq = Number(n.slice(n.lastIndexOf("_") + 1));
        if (Number.isInteger(seq)) this.configChangeSeen = Math.max(this.configChangeSeen, seq);
      }
      return;
    }
    const names = await zk.children(
      Z.configChanges,
      () =>
        void this.watchConfigChanges(zk).catch((e) =>
          this.deps.limited("config change", `reading config changes failed: ${(e as Error).message}`),
        ),
    );
    const seqs = names
      .map((n) => ({ n, seq: Number(n.slice(n.lastIndexOf("_") + 1)) }))
      .filter((x) => Number.isInteger(x.seq))
      .sort((a, b) => a.seq - b.seq);
    for (const { n, seq } of seqs) {
      if (seq <= this.configChangeSeen) continue;
      this.configChangeSeen = seq;
      const got = await zk.get(`${Z.configChanges}/${n}`);
      const entity = got === null ? null : decodeConfigChange(got.data);
      if (entity === null) continue;
      const user = userOfEntityPath(entity);
      if (user !== null) {
        await this.deps.security
          ?.userChanged(zk, user)
          .catch((e) =>
            this.deps.limited("config change", `reading user ${user} failed: ${(e as Error).message}`),
          );
        continue;
      }
      if (!entity.startsWith("topics/")) continue;
      const topic = entity.slice("topics/".length);
      if (!this.deps.logs.topics.has(topic)) continue;
      await this.deps.applyTopicConfig(topic, await this.topicOverrides(topic));
    }
    await purgeObsoleteNotifications(
      zk,
      Z.configChanges,
      seqs.map((x) => x.n),
    ).catch((e) =>
      this.deps.limited("config change", `purging config changes failed: ${(e as Error).message}`),
    );
  }

  /** A topic's config overrides, as the cluster keeps them (/config/topics/<t>). */
  async topicConfig(name: string): Promise<Map<string, string> | null> {
    if (!(await this.topicExists(name))) return null;
    return this.topicOverrides(name);
  }

  /** Store a topic's overrides in the cluster and tell every broker (a config change notification). */
  async setTopicConfig(name: string, overrides: ReadonlyMap<string, string>): Promise<void> {
    const zk = this.zk;
    if (zk === null) throw new Error("not connected to ZooKeeper");
    const data = encodeTopicConfig(overrides);
    try {
      await zk.set(Z.topicConfig(name), data, -1);
    } catch (e) {
      if (!(e instanceof ZkError && e.code === -101)) throw e;
      await zk.mkdirp(Z.topicConfigs);
      await zk.create(Z.topicConfig(name), data);
    }
    await zk.mkdirp(Z.configChanges);
    await zk.createSequential(Z.configChange, encodeConfigChange(`topics/${name}`));
  }

  /** Try to become controller; watch /controller to try again when it goes. */
  private async elect(zk: ZkSession): Promise<void> {
    if (this.stopping || zk !== this.zk) return;
    const watch = () =>
      void this.elect(zk).catch((e) => this.deps.log(`controller election failed: ${(e as Error).message}`));
    const cur = await zk.get(Z.controller, watch);
    if (cur !== null) {
      const id = decodeController(cur.data);
      if (id !== this.brokerId && this.controller !== null) this.resignController();
      return;
    }
    try {
      await zk.create(Z.controller, encodeController(this.brokerId), true);
    } catch (e) {
      if (e instanceof ZkError && e.code === ZK_NODE_EXISTS) return; // someone else won; the watch fires
      throw e;
    }
    const ctl = new Controller(zk, {
      brokerId: this.brokerId,
      uncleanLeaderElection: this.deps.config.uncleanLeaderElectionEnable,
      autoLeaderRebalance: this.deps.config.autoLeaderRebalanceEnable,
      imbalanceCheckIntervalMs: this.deps.config.leaderImbalanceCheckIntervalMs,
      imbalancePercentage: this.deps.config.leaderImbalancePerBrokerPercentage,
      interBrokerListener: this.deps.config.interBrokerListenerName,
      security: interBrokerSecurity(this.deps.config),
      log: this.deps.log,
    });
    this.controller = ctl;
    await ctl.start();
    // The watch set by get() above fires when /controller is deleted (ours or not).
    await zk.get(Z.controller, watch);
  }

  private resignController(): void {
    this.controller?.resign();
    this.controller = null;
  }

  /** The session ended: fence, then a new session and a new registration (retried). */
  private async onExpired(): Promise<void> {
    if (this.stopping) return;
    this.deps.log("ZooKeeper session expired: no longer leading or controlling until registered again");
    this.resignController();
    this.replicas.fence();
    this.zk = null;
    for (let attempt = 0; !this.stopping; attempt++) {
      try {
        const zk = await this.session();
        if (this.stopping) {
          zk.close();
          return;
        }
        this.zk = zk;
        await this.registerWith(zk);
        return;
      } catch (e) {
        this.deps.log(`re-registering in ZooKeeper failed: ${(e as Error).message}`);
        // A session that failed halfway holds nothing useful: closed, so its znodes go.
        this.zk?.close();
        this.zk = null;
        this.replicas.registered = false;
        await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
      }
    }
  }

  /**
   * Controlled shutdown (SIGTERM): ask the controller to move this broker's leaderships away,
   * retried until nothing remains or the attempts run out (controlled.shutdown.max.retries).
   */
  async controlledShutdown(): Promise<void> {
    const c = this.deps.config;
    // Only a registered broker hands over (one refused at start never led anything, and must not
    // ask for the shutdown of the broker that holds its id).
    if (!c.controlledShutdownEnable || this.zk === null || this.brokerEpoch < 0n || !this.replicas.registered)
      return;
    for (let attempt = 0; attempt <= c.controlledShutdownMaxRetries; attempt++) {
      try {
        let timer: NodeJS.Timeout | undefined;
        const remaining = await Promise.race([
          this.askControlledShutdown(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error("no answer from the controller in 30 s")), 30_000);
          }),
        ]).finally(() => clearTimeout(timer));
        if (remaining === 0) {
          this.deps.log("controlled shutdown: leadership moved away");
          return;
        }
        this.deps.log(
          `controlled shutdown: ${remaining} partition(s) still led here (no other in-sync replica)`,
        );
      } catch (e) {
        this.deps.log(`controlled shutdown attempt failed: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, c.controlledShutdownRetryBackoffMs));
    }
  }

  private async askControlledShutdown(): Promise<number> {
    if (this.controller !== null) {
      const r = await this.controller.controlledShutdown(this.brokerId, this.brokerEpoch);
      if (r === null) throw new Error("the controller does not know this registration");
      return r.length;
    }
    const id = this.cache.controllerId;
    const ep = id >= 0 ? this.cache.endpoint(id, this.deps.config.interBrokerListenerName) : undefined;
    if (ep === undefined) throw new Error("no controller known");
    const ch = new BrokerChannel(
      id,
      { host: ep.host, port: ep.port },
      `milena-broker-${this.brokerId}`,
      interBrokerSecurity(this.deps.config),
    );
    try {
      const res = await ch.request(controlledShutdownCodec, CONTROLLED_SHUTDOWN_VERSION, {
        brokerId: this.brokerId,
        brokerEpoch: Number(this.brokerEpoch),
      });
      if (res.errorCode !== 0) throw new Error(`controller answered error ${res.errorCode}`);
      return res.remainingPartitions.length;
    } finally {
      ch.close();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.fetchers.stop();
    this.resignController();
    await this.replicas.stop();
    this.zk?.close();
    this.zk = null;
  }

  // --- requests from the controller ---

  private staleEpoch(controllerEpoch: number, brokerEpoch: number): number {
    if (controllerEpoch < this.replicas.controllerEpoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    // Kafka's check: a request for an older registration of this broker id is stale.
    if (brokerEpoch >= 0 && BigInt(brokerEpoch) < this.brokerEpoch) return ErrorCode.STALE_BROKER_EPOCH;
    return ErrorCode.NONE;
  }

  async handleLeaderAndIsr(req: LeaderAndIsrRequest): Promise<LeaderAndIsrResponse> {
    const stale = this.staleEpoch(req.controllerEpoch, req.brokerEpoch);
    if (stale !== 0) return { errorCode: stale, partitionErrors: [], topics: [] };
    this.replicas.controllerEpoch = req.controllerEpoch;
    for (const l of req.liveLeaders) this.leaderEndpoints.set(l.brokerId, { host: l.hostName, port: l.port });
    const topics: LeaderAndIsrResponse["topics"] = [];
    for (const t of req.topicStates) {
      const partitionErrors: LeaderAndIsrResponse["topics"][number]["partitionErrors"] = [];
      const local = this.deps.logs.topics.get(t.topicName);
      if (local !== undefined && Buffer.compare(Buffer.from(local.topicId), Buffer.from(t.topicId)) !== 0) {
        // A topic of the same name that was deleted while we were away.
        this.deps.log(`topic ${t.topicName} here has another id than the cluster's: deleting the old one`);
        for (const p of local.partitions) if (p !== undefined) this.replicas.forget(p);
        await this.deps.deleteLocalTopic(t.topicName);
      }
      const overrides = await this.topicOverrides(t.topicName);
      for (const s of t.partitionStates) {
        let code: number = ErrorCode.NONE;
        try {
          const entry = await this.deps.logs.ensureReplica(
            t.topicName,
            s.partitionIndex,
            Buffer.from(t.topicId),
            overrides,
          );
          code = await this.replicas.applyState(entry, s);
        } catch (e) {
          this.deps.log(
            `LeaderAndIsr for ${t.topicName}-${s.partitionIndex} failed: ${(e as Error).message}`,
          );
          code = ErrorCode.KAFKA_STORAGE_ERROR;
        }
        partitionErrors.push({ topicName: t.topicName, partitionIndex: s.partitionIndex, errorCode: code });
      }
      topics.push({ topicId: t.topicId, partitionErrors });
    }
    return { errorCode: 0, partitionErrors: [], topics };
  }

  /**
   * A topic's overrides from /config/topics/<t> (none when the znode does not exist). Retried a
   * few times when ZooKeeper cannot be read, then an error: a replica made with the defaults
   * instead would drop min.insync.replicas, or __consumer_offsets' retention.ms=-1.
   */
  private async topicOverrides(topic: string): Promise<Map<string, string>> {
    for (let attempt = 0; ; attempt++) {
      const zk = this.zk;
      try {
        if (zk === null) throw new Error("not connected to ZooKeeper");
        const got = await zk.get(Z.topicConfig(topic));
        return got === null ? new Map() : decodeTopicConfig(topic, got.data);
      } catch (e) {
        if (attempt >= 5)
          throw new Error(`cannot read the config of topic ${topic}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
      }
    }
  }

  handleUpdateMetadata(req: UpdateMetadataRequest): UpdateMetadataResponse {
    const stale = this.staleEpoch(req.controllerEpoch, req.brokerEpoch);
    if (stale !== 0) return { errorCode: stale };
    this.replicas.controllerEpoch = Math.max(this.replicas.controllerEpoch, req.controllerEpoch);
    this.cache.apply(req);
    // The newest word on a broker's endpoint wins: from now on the cache's (a restarted broker
    // has new ports; LeaderAndIsr's live leaders may be older).
    for (const b of req.liveBrokers) this.leaderEndpoints.delete(b.id);
    this.fetchers.endpointsChanged();
    return { errorCode: 0 };
  }

  async handleStopReplica(req: StopReplicaRequest): Promise<StopReplicaResponse> {
    const stale = this.staleEpoch(req.controllerEpoch, req.brokerEpoch);
    if (stale !== 0) return { errorCode: stale, partitionErrors: [] };
    const partitionErrors: StopReplicaResponse["partitionErrors"] = [];
    for (const t of req.topicStates) {
      let deleteTopic = false;
      for (const p of t.partitionStates) {
        const entry = this.deps.logs.partitionOf(t.topicName, p.partitionIndex);
        if (entry !== undefined) this.replicas.forget(entry);
        // Kafka's leader epoch -2 (EpochDuringDelete): the topic is being deleted; otherwise a
        // reassignment moved this replica away.
        if (p.deletePartition && p.leaderEpoch === -2) deleteTopic = true;
        else if (p.deletePartition) await this.deps.logs.deleteReplica(t.topicName, p.partitionIndex);
        partitionErrors.push({ topicName: t.topicName, partitionIndex: p.partitionIndex, errorCode: 0 });
      }
      if (deleteTopic) await this.deps.deleteLocalTopic(t.topicName);
    }
    return { errorCode: 0, partitionErrors };
  }

  async handleControlledShutdown(req: ControlledShutdownRequest): Promise<ControlledShutdownResponse> {
    if (this.controller === null) return { errorCode: ErrorCode.NOT_CONTROLLER, remainingPartitions: [] };
    const remaining = await this.controller.controlledShutdown(req.brokerId, BigInt(req.brokerEpoch));
    // Kafka's check: the request must come from the broker's current registration.
    if (remaining === null) return { errorCode: ErrorCode.STALE_BROKER_EPOCH, remainingPartitions: [] };
    return {
      errorCode: 0,
      remainingPartitions: remaining.map((r) => ({ topicName: r.topic, partitionIndex: r.partition })),
    };
  }

  /** AlterPartitionReassignments: the controller starts (or cancels) each partition's move. */
  async handleAlterPartitionReassignments(
    req: AlterPartitionReassignmentsRequest,
  ): Promise<AlterPartitionReassignmentsResponse> {
    const ctl = this.controller;
    if (ctl === null)
      return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null, responses: [] };
    const responses: AlterPartitionReassignmentsResponse["responses"] = [];
    for (const t of req.topics) {
      const partitions = [];
      for (const p of t.partitions) {
        const r = await ctl.reassign(t.name, p.partitionIndex, p.replicas);
        partitions.push({
          partitionIndex: p.partitionIndex,
          errorCode: r.errorCode,
          errorMessage: r.message,
        });
      }
      responses.push({ name: t.name, partitions });
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, responses };
  }

  /** ListPartitionReassignments: the controller's moves in progress (all, or the partitions asked). */
  handleListPartitionReassignments(
    req: ListPartitionReassignmentsRequest,
  ): ListPartitionReassignmentsResponse {
    const ctl = this.controller;
    if (ctl === null)
      return { throttleTimeMs: 0, errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: null, topics: [] };
    const byTopic = new Map<string, ListPartitionReassignmentsResponse["topics"][number]>();
    for (const m of ctl.reassignments()) {
      if (
        req.topics !== null &&
        !req.topics.some((t) => t.name === m.topic && t.partitionIndexes.includes(m.partition))
      )
        continue;
      let t = byTopic.get(m.topic);
      if (t === undefined) byTopic.set(m.topic, (t = { name: m.topic, partitions: [] }));
      t.partitions.push({
        partitionIndex: m.partition,
        replicas: m.replicas,
        addingReplicas: m.adding,
        removingReplicas: m.removing,
      });
    }
    return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, topics: [...byTopic.values()] };
  }

  // --- admin through ZooKeeper ---

  /**
   * Live broker ids, from ZooKeeper's registrations (what Kafka's admin path reads: a broker that
   * just registered counts before the controller has told everyone); the metadata cache when
   * ZooKeeper cannot be read.
   */
  async liveBrokers(): Promise<number[]> {
    const ids = await this.zk?.children(Z.brokerIds).catch(() => null);
    if (ids === undefined || ids === null) return [...this.cache.brokers.keys()];
    return ids.map(Number).filter((n) => Number.isInteger(n));
  }

  /**
   * Create a topic in the cluster: the assignment (given, or Kafka's round robin over the live
   * brokers) and the config overrides written to ZooKeeper; the controller elects the leaders
   * and creates the replicas. Resolves once this broker's metadata shows every partition with a
   * leader, or after `timeoutMs` (false).
   */
  async createTopic(
    name: string,
    assignment: number[][],
    overrides: ReadonlyMap<string, string>,
    topicId: Buffer,
    timeoutMs: number,
  ): Promise<boolean> {
    const zk = this.zk;
    if (zk === null) throw new Error("not connected to ZooKeeper");
    if (overrides.size > 0) {
      await zk.mkdirp(Z.topicConfigs);
      await zk.set(Z.topicConfig(name), encodeTopicConfig(overrides), -1).catch(async (e) => {
        if (e instanceof ZkError && e.code === -101)
          await zk.create(Z.topicConfig(name), encodeTopicConfig(overrides));
        else throw e;
      });
    }
    await zk.create(Z.topic(name), encodeTopic({ partitions: assignment, topicId }));
    return this.cache.waitFor(() => {
      const t = this.cache.topics.get(name);
      return (
        t !== undefined &&
        t.partitions.length === assignment.length &&
        t.partitions.every((p) => p !== undefined && p.leader >= 0)
      );
    }, timeoutMs);
  }

  assign(brokers: number[], partitions: number, replicationFactor: number): number[][] {
    return assignReplicas(brokers, partitions, replicationFactor);
  }

  /** Whether the topic exists in the cluster (ZooKeeper, not only this broker's cache). */
  async topicExists(name: string): Promise<boolean> {
    if (this.cache.topics.has(name)) return true;
    return ((await this.zk?.get(Z.topic(name))) ?? null) !== null;
  }

  /**
   * CreatePartitions in the cluster: the topic's assignment grows in ZooKeeper (the given
   * replicas, or Kafka's round robin continued from the topic's first partition), written at the
   * version read, and the controller elects the new partitions' leaders. Resolves to a Kafka error
   * code and message; NONE once this broker's metadata shows them led (or REQUEST_TIMED_OUT).
   */
  async addPartitions(
    name: string,
    count: number,
    given: number[][] | null,
    validateOnly: boolean,
    timeoutMs: number,
  ): Promise<{ errorCode: number; message: string | null }> {
    const zk = this.zk;
    if (zk === null) return { errorCode: ErrorCode.NOT_CONTROLLER, message: "not connected to ZooKeeper" };
    const got = await zk.get(Z.topic(name));
    if (got === null)
      return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message: `Topic '${name}' does not exist.` };
    const a = decodeTopic(name, got.data);
    const current = a.partitions.length;
    if (count <= current)
      return {
        errorCode: ErrorCode.INVALID_PARTITIONS,
        message:
          count === current
            ? `Topic already has ${current} partitions.`
            : `Topic currently has ${current} partitions, which is higher than the requested ${count}.`,
      };
    const rf = a.partitions[0]?.length ?? 1;
    const live = await this.liveBrokers();
    let added: number[][];
    if (given !== null) {
      if (given.length !== count - current)
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: `Increasing the number of partitions by ${count - current} but ${given.length} assignments provided.`,
        };
      for (const r of given) {
        if (r.length !== rf || new Set(r).size !== r.length)
          return {
            errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
            message: `each new partition needs ${rf} distinct replicas, got ${r.join(",")}`,
          };
        const gone = r.find((b) => !live.includes(b));
        if (gone !== undefined)
          return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `broker ${gone} is not alive` };
      }
      added = given;
    } else {
      if (rf > live.length)
        return {
          errorCode: ErrorCode.INVALID_REPLICATION_FACTOR,
          message: `Replication factor: ${rf} larger than available brokers: ${live.length}.`,
        };
      const sorted = [...live].sort((x, y) => x - y);
      const first = sorted.indexOf(a.partitions[0]?.[0] ?? -1);
      added = assignReplicas(live, count - current, rf, {
        start: first >= 0 ? first : undefined,
        firstPartition: current,
      });
    }
    if (validateOnly) return { errorCode: ErrorCode.NONE, message: null };
    try {
      await zk.set(
        Z.topic(name),
        encodeTopic({ partitions: [...a.partitions, ...added], topicId: a.topicId }),
        got.stat.version,
      );
    } catch (e) {
      if (e instanceof ZkError && e.code === ZK_BAD_VERSION)
        return {
          errorCode: ErrorCode.REASSIGNMENT_IN_PROGRESS,
          message: `topic ${name} changed meanwhile: try again`,
        };
      throw e;
    }
    const ready = await this.cache.waitFor(() => {
      const t = this.cache.topics.get(name);
      return (
        t !== undefined &&
        t.partitions.length >= count &&
        t.partitions.every((p) => p !== undefined && p.leader >= 0)
      );
    }, timeoutMs);
    return ready || timeoutMs <= 0
      ? { errorCode: ErrorCode.NONE, message: null }
      : {
          errorCode: ErrorCode.REQUEST_TIMED_OUT,
          message: `the new partitions of ${name} have no leaders yet`,
        };
  }

  /** Mark a topic for deletion; the controller deletes it on every replica. */
  async deleteTopic(name: string): Promise<void> {
    const zk = this.zk;
    if (zk === null) throw new Error("not connected to ZooKeeper");
    try {
      await zk.create(Z.deleteTopic(name), Buffer.alloc(0));
    } catch (e) {
      if (!(e instanceof ZkError && e.code === ZK_NODE_EXISTS)) throw e;
    }
  }
}
