// The group consumer: Kafka's consumer-group membership (eager rebalancing) on top of the
// assign/seek Consumer (consumer.ts), which does all the fetching. Shaped like kafkajs's:
//
//   const consumer = milena.consumer({ groupId: "billing" });
//   await consumer.connect();
//   await consumer.subscribe({ topics: ["invoices"], fromBeginning: true });
//   await consumer.run({ eachMessage: async ({ topic, partition, message }) => { ... } });
//   ...
//   await consumer.disconnect(); // commits what was processed, then LeaveGroup
//
// The membership loop: FindCoordinator → JoinGroup (a first join is answered MEMBER_ID_REQUIRED
// with an id to rejoin with, KIP-394) → the leader runs the chosen assignor (assigners.ts) over
// the members' Subscriptions → SyncGroup → OffsetFetch → the inner Consumer is assigned the
// partitions at their committed offsets (without one: "earliest" when subscribed fromBeginning,
// else autoOffsetReset) → the handler runs. A heartbeat loop runs beside it, on its own
// connections to the coordinator (never behind a long-polling Fetch). When the coordinator
// answers REBALANCE_IN_PROGRESS (or UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION: the member was dropped
// or missed a generation), the loop stops the handler after the record in progress, commits what
// was processed (while the generation still allows it), calls onPartitionsRevoked, and rejoins.
//
// At-least-once: only offsets of records whose handler finished are committed (eachBatch: the
// resolved ones, every one of the batch when eachBatchAutoResolve). autoCommit commits them every
// autoCommitInterval, at each rebalance and at disconnect(); with autoCommit false,
// commitOffsets() does. A handler that throws is not skipped: its partition goes back to the
// failed record and is retried after a backoff (the error goes to run()'s onError).
//
// Not done: static membership (group.instance.id), cooperative rebalancing, regex
// subscriptions, and noticing partitions added to a subscribed topic (a rejoin does).

import type { ApiCodec } from "../protocol/api.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import { coordinatorOf, findCoordinatorCodec, findCoordinatorRequest } from "../protocol/find_coordinator.ts";
import { heartbeatCodec } from "../protocol/heartbeat.ts";
import { type JoinGroupResponse, joinGroupCodec } from "../protocol/join_group.ts";
import { leaveGroupCodec, leaveGroupError, leaveGroupRequest } from "../protocol/leave_group.ts";
import { offsetCommitCodec } from "../protocol/offset_commit.ts";
import { offsetFetchCodec, offsetFetchGroup, offsetFetchRequest } from "../protocol/offset_fetch.ts";
import type { SyncGroupAssignment } from "../protocol/sync_group.ts";
import { syncGroupCodec } from "../protocol/sync_group.ts";
import {
  type AssignerName,
  type GroupMemberSubscription,
  type PartitionAssigner,
  resolveAssigners,
} from "./assigners.ts";
import type { Cluster } from "./cluster.ts";
import type { Connection, RequestOptions } from "./connection.ts";
import {
  type ConsumedBatch,
  Consumer,
  type ConsumerConfig,
  type EachMessagePayload,
  type Offset,
  type RunConfig,
  type SeekTarget,
} from "./consumer.ts";
import {
  CoordinatorNotAvailableError,
  InvalidArgumentError,
  KafkaProtocolError,
  MilenaAggregateError,
  type MilenaError,
  NotConnectedError,
  protocolError,
} from "./errors.ts";
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  normalizeTopicPartitions,
  type TopicPartitions,
} from "./group_protocol.ts";
import type { Platform } from "./platform.ts";
import { backoffMs, isRetriableError, type Retry, retryDefaults } from "./retry.ts";
import { Sleeps } from "./sleeps.ts";

export interface GroupInfo {
  groupId: string;
  memberId: string;
  generationId: number;
  leaderId: string;
  isLeader: boolean;
  /** The assignor the coordinator chose. */
  protocol: string;
}

export interface GroupConsumerConfig extends ConsumerConfig {
  groupId: string;
  /** The coordinator drops a member not heard from for this long, in ms. Default 30000. */
  sessionTimeout?: number;
  /** How long the coordinator waits for members to rejoin in a rebalance, in ms. Default 60000. */
  rebalanceTimeout?: number;
  /** Heartbeat period in ms. Default 3000. */
  heartbeatInterval?: number;
  /** Commit processed offsets by itself. Default true. */
  autoCommit?: boolean;
  /** Auto-commit period in ms (also: at each rebalance and at disconnect). Default 5000. */
  autoCommitInterval?: number;
  /**
   * Assignors offered, in order of preference: objects or "range" / "roundrobin" /
   * "RoundRobinAssigner". Default all three, range first.
   */
  partitionAssigners?: (PartitionAssigner | AssignerName)[];
  /** After each rebalance, before the first record of the new assignment. */
  onPartitionsAssigned?: (partitions: TopicPartitions[], group: GroupInfo) => void | Promise<void>;
  /** Before the partitions are given up (rebalance, disconnect), after the last commit of them. */
  onPartitionsRevoked?: (partitions: TopicPartitions[], group: GroupInfo) => void | Promise<void>;
}

export interface GroupEachMessagePayload<B extends Uint8Array = Uint8Array> extends EachMessagePayload<B> {
  /** Send a heartbeat now if one is due (heartbeats run in the background anyway). */
  heartbeat(): Promise<void>;
  /** Pause this partition (after this message); returns the function that resumes it. */
  pause(): () => void;
}

export interface GroupEachBatchPayload<B extends Uint8Array = Uint8Array> {
  batch: ConsumedBatch<B>;
  /** Mark a record processed (its offset + 1 becomes committable). */
  resolveOffset(offset: number | string | bigint): void;
  heartbeat(): Promise<void>;
  /** Commit what was resolved so far (with autoCommit). */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once the consumer stops processing (rebalance, stop, disconnect). */
  isRunning(): boolean;
  /** True once a rebalance is under way: the batch's partition may be someone else's next. */
  isStale(): boolean;
  pause(): () => void;
}

export interface ErrorContext {
  /** The membership loop gave up: the consumer left its group and processes nothing more. */
  fatal: boolean;
  topic?: string;
  partition?: number;
  /** The record whose handler threw (it is retried). */
  offset?: number;
}

export interface GroupRunConfig<B extends Uint8Array = Uint8Array> {
  eachMessage?: (payload: GroupEachMessagePayload<B>) => Promise<void> | void;
  eachBatch?: (payload: GroupEachBatchPayload<B>) => Promise<void> | void;
  /** Resolve every record of a batch when eachBatch returns. Default true. */
  eachBatchAutoResolve?: boolean;
  /**
   * Errors while running: a handler that threw (its record is retried after a backoff), a
   * partition that failed to fetch (retried), a failed commit, or (fatal) the membership loop
   * giving up. Default: console.error.
   */
  onError?: (error: unknown, context: ErrorContext) => void;
}

export interface CommitOffset {
  topic: string;
  partition: number;
  /** The next offset to consume (the last processed one + 1), as kafkajs takes it. */
  offset: number | string | bigint;
}

type Phase = "idle" | "joining" | "assigning" | "stable" | "revoking";

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
  settled: boolean;
}

function deferred(): Deferred {
  const d = { settled: false } as Deferred;
  d.promise = new Promise<void>((resolve, reject) => {
    d.resolve = () => {
      d.settled = true;
      resolve();
    };
    d.reject = (e) => {
      d.settled = true;
      reject(e);
    };
  });
  d.promise.catch(() => {});
  return d;
}

const REJOIN_CODES = new Set<number>([
  ErrorCode.REBALANCE_IN_PROGRESS,
  ErrorCode.ILLEGAL_GENERATION,
  ErrorCode.UNKNOWN_MEMBER_ID,
]);

/** A commit refused because the member is no longer in the generation (a rebalance deals with it). */
function isRejoinError(e: unknown): boolean {
  if (e instanceof MilenaAggregateError) return e.errors.length > 0 && e.errors.every(isRejoinError);
  return e instanceof KafkaProtocolError && REJOIN_CODES.has(e.code);
}

const COORDINATOR_CODES = new Set<number>([
  ErrorCode.NOT_COORDINATOR,
  ErrorCode.COORDINATOR_NOT_AVAILABLE,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);

export class GroupConsumer<B extends Uint8Array = Uint8Array> {
  readonly groupId: string;
  private readonly sessionTimeout: number;
  private readonly rebalanceTimeout: number;
  private readonly heartbeatInterval: number;
  private readonly autoCommit: boolean;
  private readonly autoCommitInterval: number;
  private readonly assigners: PartitionAssigner[];
  private readonly retry: Retry;

  private state: "new" | "connected" | "running" | "closed" = "new";
  private readonly topics: string[] = [];
  private fromBeginning = false;
  private inner: Consumer<B> | null = null;
  private runConfig: GroupRunConfig<B> | null = null;
  private wrapped: RunConfig<B> | null = null;

  // membership
  private member = "";
  private generation = -1;
  private leader = "";
  private protocol = "";
  private coordinatorId = -1;
  private finding: Promise<Connection> | null = null;
  private phase: Phase = "idle";
  private assigned: TopicPartitions[] = [];
  private owned = new Set<string>();
  private notifiedAssigned = false;
  private rejoinReason: string | null = null;
  private wakeLoop: (() => void) | null = null;
  private closing = false;
  private loop: Promise<void> | null = null;
  private readonly loopSleeps = new Sleeps();

  // background: heartbeats and auto-commits
  private ticking = false;
  private ticks: Promise<void>[] = [];
  private readonly tickSleeps = new Sleeps();
  private lastHeartbeat = 0;
  private heartbeatInFlight: Promise<void> | null = null;

  // processing
  private processingOn = false;
  private processing: Promise<void> | null = null;
  private readonly processSleeps = new Sleeps();
  /** Next offset to commit per partition: records whose handler finished. */
  private readonly processed = new Map<string, { topic: string; partition: number; offset: number }>();
  /** What is known committed per partition. */
  private readonly committed = new Map<string, number>();
  private commitChain: Promise<void> = Promise.resolve();
  private readonly userPaused = new Set<string>();
  private readonly backoffs = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly handlerFailures = new Map<string, number>();

  constructor(
    private readonly fetchCluster: Cluster,
    private readonly coord: Cluster,
    private readonly platform: Platform,
    private readonly config: GroupConsumerConfig,
  ) {
    if (typeof config.groupId !== "string" || config.groupId === "")
      throw new InvalidArgumentError("a group consumer needs a groupId");
    this.groupId = config.groupId;
    this.sessionTimeout = config.sessionTimeout ?? 30_000;
    this.rebalanceTimeout = config.rebalanceTimeout ?? 60_000;
    this.heartbeatInterval = config.heartbeatInterval ?? 3000;
    this.autoCommit = config.autoCommit ?? true;
    this.autoCommitInterval = config.autoCommitInterval ?? 5000;
    for (const [name, v] of [
      ["sessionTimeout", this.sessionTimeout],
      ["rebalanceTimeout", this.rebalanceTimeout],
      ["autoCommitInterval", this.autoCommitInterval],
    ] as const)
      if (!Number.isFinite(v) || v <= 0)
        throw new InvalidArgumentError(`${name} must be a positive number of ms`);
    if (this.heartbeatInterval <= 0 || this.heartbeatInterval >= this.sessionTimeout)
      throw new InvalidArgumentError("heartbeatInterval must be positive and below sessionTimeout");
    this.assigners = resolveAssigners(config.partitionAssigners);
    this.retry = retryDefaults(config.retry);
  }

  // ---- the group as it stands ----

  get memberId(): string {
    return this.member;
  }

  get generationId(): number {
    return this.generation;
  }

  get isLeader(): boolean {
    return this.member !== "" && this.member === this.leader;
  }

  private info(): GroupInfo {
    return {
      groupId: this.groupId,
      memberId: this.member,
      generationId: this.generation,
      leaderId: this.leader,
      isLeader: this.isLeader,
      protocol: this.protocol,
    };
  }

  /** The partitions of the current generation (empty during a rebalance). */
  assignment(): TopicPartitions[] {
    return this.assigned.map((t) => ({ topic: t.topic, partitions: [...t.partitions] }));
  }

  // ---- lifecycle ----

  async connect(): Promise<void> {
    if (this.state === "closed") throw new NotConnectedError("the consumer is disconnected");
    if (this.state !== "new") return;
    await this.fetchCluster.connect();
    await this.coord.connect();
    this.state = "connected";
  }

  private check(): void {
    if (this.state === "new") throw new NotConnectedError("consumer.connect() first");
    if (this.state === "closed") throw new NotConnectedError("the consumer is disconnected");
  }

  /** Add topics to the subscription (before run()). */
  async subscribe(opts: { topics?: string[]; topic?: string; fromBeginning?: boolean }): Promise<void> {
    this.check();
    if (this.state === "running")
      throw new InvalidArgumentError("subscribe() before run() (or after stop())");
    const topics = [...(opts.topics ?? []), ...(opts.topic !== undefined ? [opts.topic] : [])];
    if (topics.length === 0) throw new InvalidArgumentError("subscribe() needs topics");
    for (const t of topics) {
      if (typeof t !== "string" || t === "") throw new InvalidArgumentError(`bad topic ${String(t)}`);
      await this.fetchCluster.topic(t, {
        refresh: true,
        allowAutoTopicCreation: this.config.allowAutoTopicCreation ?? false,
      });
      if (!this.topics.includes(t)) this.topics.push(t);
    }
    if (opts.fromBeginning !== undefined) this.fromBeginning = opts.fromBeginning;
  }

  /**
   * Join the group and process records with eachMessage or eachBatch. Resolves once the
   * first assignment is in place and processing has started (as kafkajs's run()); rejects if
   * the first join fails for good.
   */
  async run(config: GroupRunConfig<B>): Promise<void> {
    this.check();
    if (this.state === "running") throw new InvalidArgumentError("the consumer is already running");
    if (this.topics.length === 0) throw new InvalidArgumentError("subscribe() before run()");
    if (config.eachMessage === undefined && config.eachBatch === undefined)
      throw new InvalidArgumentError("run() needs eachMessage or eachBatch");
    this.runConfig = config;
    this.wrapped = this.wrap(config);
    if (this.inner === null) {
      const reset = this.config.autoOffsetReset ?? (this.fromBeginning ? "earliest" : "latest");
      this.inner = new Consumer<B>(this.fetchCluster, this.platform, {
        ...this.config,
        autoOffsetReset: reset,
      });
    }
    await this.inner.connect();
    this.state = "running";
    this.closing = false;
    this.ticking = true;
    this.ticks = [this.heartbeatLoop()];
    if (this.autoCommit) this.ticks.push(this.autoCommitLoop());
    const started = deferred();
    this.loop = this.groupLoop(started);
    try {
      await started.promise;
    } catch (e) {
      await this.shutdown();
      throw e;
    }
  }

  /** Stop processing and leave the group (committing first); run() may be called again. */
  async stop(): Promise<void> {
    if (this.state !== "running") return;
    await this.shutdown();
  }

  /** Stop, commit what was processed, leave the group (LeaveGroup), close the connections. */
  async disconnect(): Promise<void> {
    if (this.state === "closed") return;
    await this.shutdown();
    this.state = "closed";
    if (this.inner !== null) await this.inner.disconnect();
    else this.fetchCluster.disconnect();
    this.coord.disconnect();
  }

  private async shutdown(): Promise<void> {
    const loop = this.loop;
    if (loop !== null) {
      this.closing = true;
      this.loopSleeps.wakeAll();
      this.wake();
      // A JoinGroup or SyncGroup waiting on the coordinator: leaving ends it at once.
      if (this.phase === "joining") void this.leave(); // never rejects
      let timer: ReturnType<typeof setTimeout> | null = null;
      await Promise.race([
        loop,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, this.sessionTimeout);
        }),
      ]);
      if (timer !== null) clearTimeout(timer);
    }
    this.ticking = false;
    this.tickSleeps.wakeAll();
    await Promise.allSettled(this.ticks);
    this.ticks = [];
    await this.leave();
    this.loop = null;
    if (this.state === "running") this.state = "connected";
  }

  private async leave(): Promise<void> {
    const member = this.member;
    if (member === "") return;
    this.member = "";
    this.generation = -1;
    try {
      const res = await this.coordRequest(leaveGroupCodec, leaveGroupRequest(this.groupId, member));
      const code = leaveGroupError(res);
      if (code !== 0 && code !== ErrorCode.UNKNOWN_MEMBER_ID)
        this.report(protocolError(code, "LeaveGroup"), { fatal: false });
    } catch {
      // the coordinator drops the member when its session runs out
    }
  }

  // ---- the membership loop ----

  private wake(): void {
    const w = this.wakeLoop;
    this.wakeLoop = null;
    w?.();
  }

  /** Ask the membership loop to rejoin; `reset` forgets the generation or the member id too. */
  private requestRejoin(reason: string, reset?: "generation" | "member"): void {
    // A late answer about the generation being left: the JoinGroup under way learns it itself.
    if (this.phase === "joining") return;
    if (reset === "member") {
      this.member = "";
      this.generation = -1;
    } else if (reset === "generation") this.generation = -1;
    if (this.rejoinReason === null) this.rejoinReason = reason;
    this.wake();
  }

  private untilRejoin(): Promise<void> {
    if (this.rejoinReason !== null || this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeLoop = resolve;
    });
  }

  private async groupLoop(started: Deferred): Promise<void> {
    let failures = 0;
    try {
      while (!this.closing) {
        try {
          await this.joinAndSync();
          await this.takeAssignment();
          failures = 0;
          if (this.closing) break;
          this.phase = "stable";
          this.startProcessing();
          started.resolve();
          await this.untilRejoin();
        } catch (e) {
          if (this.closing) break;
          if (!isRetriableError(e) && !isRejoinError(e)) {
            if (!started.settled) started.reject(e);
            else this.report(e, { fatal: true });
            break;
          }
          failures++;
          await this.revoke();
          await this.loopSleeps.sleep(backoffMs(this.retry, failures));
          continue;
        }
        await this.revoke();
      }
    } finally {
      await this.revoke();
      this.phase = "idle";
      if (!started.settled) started.resolve();
      if (!this.closing) {
        // gave up: out of the group
        this.ticking = false;
        this.tickSleeps.wakeAll();
        await this.leave();
      }
    }
  }

  private closingError(): MilenaError {
    return new NotConnectedError("the consumer is stopping");
  }

  private async joinAndSync(): Promise<void> {
    this.phase = "joining";
    this.rejoinReason = null;
    let attempts = 0;
    for (;;) {
      if (this.closing) throw this.closingError();
      if (++attempts > 3) await this.loopSleeps.sleep(backoffMs(this.retry, Math.min(attempts - 3, 6)));
      if (this.closing) throw this.closingError();
      const join = await this.coordRequest(
        joinGroupCodec,
        {
          groupId: this.groupId,
          sessionTimeoutMs: this.sessionTimeout,
          rebalanceTimeoutMs: this.rebalanceTimeout,
          memberId: this.member,
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: this.assigners.map((a) => ({
            name: a.name,
            metadata: encodeSubscription(this.topics, a.userData?.() ?? null) as Buffer,
          })),
        },
        { extraTimeoutMs: this.rebalanceTimeout },
      );
      if (join.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
        this.member = join.memberId;
        attempts = 0;
        continue;
      }
      if (join.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.member = "";
        this.generation = -1;
        continue;
      }
      if (join.errorCode === ErrorCode.REBALANCE_IN_PROGRESS) continue;
      if (join.errorCode !== 0) throw this.groupError(join.errorCode, "JoinGroup");
      this.member = join.memberId;
      this.generation = join.generationId;
      this.leader = join.leader;
      this.protocol = join.protocolName ?? "";
      const assignments = join.leader === join.memberId ? await this.leaderAssign(join) : [];
      if (this.closing) throw this.closingError();
      const sync = await this.coordRequest(
        syncGroupCodec,
        {
          groupId: this.groupId,
          generationId: this.generation,
          memberId: this.member,
          groupInstanceId: null,
          // v5+: the protocol this member joined with
          protocolType: "consumer",
          protocolName: this.protocol,
          assignments,
        },
        { extraTimeoutMs: this.rebalanceTimeout },
      );
      if (sync.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) {
        this.member = "";
        this.generation = -1;
        continue;
      }
      if (
        sync.errorCode === ErrorCode.REBALANCE_IN_PROGRESS ||
        sync.errorCode === ErrorCode.ILLEGAL_GENERATION
      )
        continue;
      if (sync.errorCode !== 0) throw this.groupError(sync.errorCode, "SyncGroup");
      let assignment: TopicPartitions[];
      try {
        assignment = decodeAssignment(sync.assignment).assignedPartitions;
      } catch (e) {
        throw new InvalidArgumentError(`the leader's assignment does not decode: ${(e as Error).message}`);
      }
      this.assigned = normalizeTopicPartitions(assignment);
      this.lastHeartbeat = Date.now();
      return;
    }
  }

  /** The leader's part: the chosen assignor over every member's subscription. */
  private async leaderAssign(join: JoinGroupResponse): Promise<SyncGroupAssignment[]> {
    const assigner = this.assigners.find((a) => a.name === join.protocolName);
    if (assigner === undefined)
      throw new InvalidArgumentError(
        `the group chose assignor "${join.protocolName}", which this member lacks`,
      );
    const members: GroupMemberSubscription[] = join.members.map((m) => {
      try {
        const s = decodeSubscription(m.metadata);
        return {
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          topics: s.topics,
          userData: s.userData,
        };
      } catch {
        return { memberId: m.memberId, groupInstanceId: m.groupInstanceId, topics: [], userData: null };
      }
    });
    const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
    const partitions = new Map<string, number[]>();
    if (topics.length > 0) {
      const res = await this.fetchCluster.withRetry(() => this.fetchCluster.metadata(topics, false));
      for (const t of res.topics) {
        if (t.errorCode !== 0 || t.name === null) continue;
        partitions.set(
          t.name,
          t.partitions.map((p) => p.partitionIndex).sort((a, b) => a - b),
        );
      }
    }
    const result = await assigner.assign({ members, partitions });
    return members.map((m) => ({
      memberId: m.memberId,
      assignment: encodeAssignment(
        normalizeTopicPartitions(
          Object.entries(result[m.memberId] ?? {}).map(([topic, ps]) => ({ topic, partitions: ps })),
        ),
      ) as Buffer,
    }));
  }

  /** OffsetFetch the new partitions and hand them to the inner consumer; then onPartitionsAssigned. */
  private async takeAssignment(): Promise<void> {
    this.phase = "assigning";
    const assigned = this.assigned;
    const committed = new Map<string, number>();
    if (assigned.length > 0) {
      const res = await this.coord.withRetry(async () => {
        const r = offsetFetchGroup(
          await this.coordRequest(
            offsetFetchCodec,
            offsetFetchRequest(
              this.groupId,
              assigned.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })),
            ),
          ),
        );
        if (r.errorCode !== 0) throw this.groupError(r.errorCode, "OffsetFetch");
        return r;
      });
      for (const t of res.topics)
        for (const p of t.partitions)
          if (p.errorCode === 0 && p.committedOffset >= 0)
            committed.set(key(t.name, p.partitionIndex), p.committedOffset);
    }
    const noCommit: Offset | undefined = this.fromBeginning
      ? "earliest"
      : this.config.autoOffsetReset === "none"
        ? undefined
        : (this.config.autoOffsetReset ?? "latest");
    const inner = this.inner!;
    this.processed.clear();
    this.committed.clear();
    for (const [k, o] of committed) this.committed.set(k, o);
    this.owned = new Set(assigned.flatMap((t) => t.partitions.map((p) => key(t.topic, p))));
    await inner.assign(
      assigned.flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.topic,
          partitions: [p],
          offset: committed.get(key(t.topic, p)) ?? noCommit,
        })),
      ),
    );
    const paused = assigned
      .map((t) => ({
        topic: t.topic,
        partitions: t.partitions.filter((p) => this.userPaused.has(key(t.topic, p))),
      }))
      .filter((t) => t.partitions.length > 0);
    if (paused.length > 0) inner.pause(paused);
    this.notifiedAssigned = true;
    await this.callback("onPartitionsAssigned", this.assignment());
  }

  /** Give up the partitions: stop the handler, commit, onPartitionsRevoked, unassign. */
  private async revoke(): Promise<void> {
    if (this.phase === "idle") return;
    this.phase = "revoking";
    await this.stopProcessing();
    if (this.autoCommit && this.processed.size > 0 && this.generation >= 0) {
      try {
        await this.coord.withRetry(() => this.commitProcessed());
      } catch (e) {
        if (!isRejoinError(e)) this.report(e, { fatal: false });
      }
    }
    if (this.notifiedAssigned) {
      this.notifiedAssigned = false;
      await this.callback("onPartitionsRevoked", this.assignment());
    }
    for (const t of this.backoffs.values()) clearTimeout(t);
    this.backoffs.clear();
    this.handlerFailures.clear();
    this.owned = new Set();
    this.assigned = [];
    this.processed.clear();
    this.committed.clear();
    if (this.inner !== null && this.inner.assignment().length > 0)
      await this.inner.assign([]).catch(() => {});
    this.phase = "idle";
  }

  private async callback(name: "onPartitionsAssigned" | "onPartitionsRevoked", parts: TopicPartitions[]) {
    const cb = this.config[name];
    if (cb === undefined) return;
    try {
      await cb(parts, this.info());
    } catch (e) {
      this.report(e, { fatal: false });
    }
  }

  // ---- the coordinator ----

  private groupError(code: number, what: string): KafkaProtocolError {
    if (COORDINATOR_CODES.has(code)) this.coordinatorId = -1;
    return protocolError(code, `${what} for group ${this.groupId}`);
  }

  private coordinator(): Promise<Connection> {
    if (this.coordinatorId >= 0 && this.coord.brokers.has(this.coordinatorId))
      return this.coord.connection(this.coordinatorId);
    this.finding ??= this.findCoordinator().finally(() => {
      this.finding = null;
    });
    return this.finding;
  }

  private async findCoordinator(): Promise<Connection> {
    const res = await this.coord.withRetry(async () => {
      const conn = await this.coord.anyConnection();
      const r = coordinatorOf(await conn.request(findCoordinatorCodec, findCoordinatorRequest(this.groupId)));
      if (r.errorCode !== 0)
        throw protocolError(r.errorCode, r.errorMessage ?? `FindCoordinator for ${this.groupId}`);
      if (!this.coord.brokers.has(r.nodeId)) await this.coord.metadata([]);
      if (!this.coord.brokers.has(r.nodeId))
        throw new CoordinatorNotAvailableError(`coordinator ${r.nodeId} is not in the cluster metadata`);
      return r;
    });
    this.coordinatorId = res.nodeId;
    return this.coord.connection(res.nodeId);
  }

  /** A request to the coordinator; a lost connection or a coordinator error means finding it again. */
  private async coordRequest<Req, Res, ReqIn>(
    codec: ApiCodec<Req, Res, ReqIn, unknown>,
    req: ReqIn,
    opts?: RequestOptions,
  ): Promise<Res> {
    try {
      const conn = await this.coordinator();
      return await conn.request(codec, req, opts);
    } catch (e) {
      if (isRetriableError(e)) this.coordinatorId = -1;
      throw e;
    }
  }

  // ---- heartbeats and auto-commits ----

  private async heartbeatLoop(): Promise<void> {
    while (this.ticking) {
      const due = this.lastHeartbeat + this.heartbeatInterval - Date.now();
      if (due > 0) {
        await this.tickSleeps.sleep(due);
        continue;
      }
      if (this.phase === "assigning" || this.phase === "stable" || this.phase === "revoking")
        await this.heartbeatOnce();
      else await this.tickSleeps.sleep(this.heartbeatInterval);
    }
  }

  private heartbeatOnce(): Promise<void> {
    if (this.heartbeatInFlight !== null) return this.heartbeatInFlight;
    const generation = this.generation;
    const member = this.member;
    this.lastHeartbeat = Date.now();
    if (generation < 0 || member === "") return Promise.resolve();
    this.heartbeatInFlight = (async () => {
      try {
        const res = await this.coordRequest(heartbeatCodec, {
          groupId: this.groupId,
          generationId: generation,
          memberId: member,
          groupInstanceId: null,
        });
        if (generation !== this.generation || member !== this.member) return;
        const code = res.errorCode;
        if (code === 0) return;
        if (code === ErrorCode.REBALANCE_IN_PROGRESS) this.requestRejoin("the group is rebalancing");
        else if (code === ErrorCode.ILLEGAL_GENERATION)
          this.requestRejoin("generation is stale", "generation");
        else if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.requestRejoin("member is unknown", "member");
        else if (COORDINATOR_CODES.has(code)) this.coordinatorId = -1;
        else this.report(protocolError(code, `Heartbeat for group ${this.groupId}`), { fatal: false });
      } catch {
        // a lost coordinator: found again on the next beat (the session outlives a few misses)
      } finally {
        this.heartbeatInFlight = null;
      }
    })();
    return this.heartbeatInFlight;
  }

  private heartbeatIfDue(): Promise<void> {
    if (Date.now() - this.lastHeartbeat < this.heartbeatInterval) return Promise.resolve();
    return this.heartbeatOnce();
  }

  private async autoCommitLoop(): Promise<void> {
    while (this.ticking) {
      await this.tickSleeps.sleep(this.autoCommitInterval);
      if (!this.ticking || this.phase !== "stable") continue;
      try {
        await this.commitProcessed();
      } catch (e) {
        if (!isRejoinError(e) && !isRetriableError(e)) this.report(e, { fatal: false });
      }
    }
  }

  // ---- commits ----

  /** Commit the offsets of processed records not yet committed (serialized with other commits). */
  private commitProcessed(): Promise<void> {
    const next = this.commitChain.then(() => {
      const todo = [...this.processed]
        .filter(([k, v]) => this.committed.get(k) !== v.offset)
        .map(([, v]) => v);
      return todo.length === 0 ? undefined : this.sendCommit(todo);
    });
    this.commitChain = next.catch(() => {});
    return next;
  }

  /**
   * Commit offsets (the next offset to consume, per partition) in the current generation.
   * Without arguments: what was processed and not yet committed.
   */
  commitOffsets(offsets?: CommitOffset[]): Promise<void> {
    if (offsets === undefined) return this.commitProcessed();
    const list = offsets.map((o) => {
      const offset = Number(o.offset);
      if (!Number.isSafeInteger(offset) || offset < 0)
        throw new InvalidArgumentError(`bad offset ${String(o.offset)} for ${o.topic}-${o.partition}`);
      return { topic: o.topic, partition: o.partition, offset };
    });
    const next = this.commitChain.then(() => this.sendCommit(list));
    this.commitChain = next.catch(() => {});
    return next;
  }

  private async sendCommit(offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
    const generation = this.generation;
    const member = this.member;
    if (generation < 0 || member === "")
      throw protocolError(ErrorCode.REBALANCE_IN_PROGRESS, `not in a generation of group ${this.groupId}`);
    const byTopic = new Map<
      string,
      { partitionIndex: number; committedOffset: number; committedMetadata: null }[]
    >();
    for (const o of offsets) {
      const l = byTopic.get(o.topic) ?? [];
      l.push({ partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: null });
      byTopic.set(o.topic, l);
    }
    const res = await this.coordRequest(offsetCommitCodec, {
      groupId: this.groupId,
      generationIdOrMemberEpoch: generation,
      memberId: member,
      retentionTimeMs: -1,
      topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
    });
    const errors: KafkaProtocolError[] = [];
    for (const t of res.topics)
      for (const p of t.partitions) {
        const o = offsets.find((x) => x.topic === t.name && x.partition === p.partitionIndex);
        if (p.errorCode === 0) {
          if (o !== undefined && generation === this.generation)
            this.committed.set(key(t.name, p.partitionIndex), o.offset);
        } else
          errors.push(
            protocolError(p.errorCode, "OffsetCommit", { topic: t.name, partition: p.partitionIndex }),
          );
      }
    if (errors.length === 0) return;
    const code = errors[0].code;
    if (generation === this.generation && member === this.member) {
      if (code === ErrorCode.REBALANCE_IN_PROGRESS) this.requestRejoin("the group is rebalancing");
      else if (code === ErrorCode.ILLEGAL_GENERATION) this.requestRejoin("generation is stale", "generation");
      else if (code === ErrorCode.UNKNOWN_MEMBER_ID) this.requestRejoin("member is unknown", "member");
    }
    if (COORDINATOR_CODES.has(code)) this.coordinatorId = -1;
    if (errors.length === 1) throw errors[0];
    throw new MilenaAggregateError(`OffsetCommit: ${errors.map((e) => e.message).join("; ")}`, errors);
  }

  // ---- processing ----

  private report(error: unknown, context: ErrorContext): void {
    const onError = this.runConfig?.onError;
    try {
      if (onError !== undefined) onError(error, context);
      else console.error(`milena group ${this.groupId}:`, error);
    } catch {
      // the hook's own failure is not ours to handle
    }
  }

  private markProcessed(topic: string, partition: number, next: number): void {
    const k = key(topic, partition);
    if (!this.owned.has(k)) return;
    this.processed.set(k, { topic, partition, offset: next });
    this.handlerFailures.delete(k);
  }

  private pauseFn(topic: string, partition: number): () => void {
    this.pause([{ topic, partitions: [partition] }]);
    return () => this.resume([{ topic, partitions: [partition] }]);
  }

  private wrap(cfg: GroupRunConfig<B>): RunConfig<B> {
    const eachBatch = cfg.eachBatch;
    if (eachBatch !== undefined) {
      const autoResolve = cfg.eachBatchAutoResolve ?? true;
      return {
        eachBatch: async ({ batch }) => {
          const { topic, partition } = batch;
          let resolved = -1;
          try {
            await eachBatch({
              batch,
              resolveOffset: (offset) => {
                const o = Number(offset);
                if (o > resolved) resolved = o;
                this.markProcessed(topic, partition, o + 1);
              },
              heartbeat: () => this.heartbeatIfDue(),
              commitOffsetsIfNecessary: () => (this.autoCommit ? this.commitProcessed() : Promise.resolve()),
              isRunning: () => this.processingOn,
              isStale: () => this.rejoinReason !== null || !this.owned.has(key(topic, partition)),
              pause: () => this.pauseFn(topic, partition),
            });
            const last = batch.records[batch.records.length - 1];
            if (autoResolve && last !== undefined) this.markProcessed(topic, partition, last.offset + 1);
          } catch (e) {
            const failed = batch.records.find((r) => r.offset > resolved) ?? batch.records[0];
            this.handlerFailed(topic, partition, failed.offset, e);
          }
        },
      };
    }
    const eachMessage = cfg.eachMessage!;
    return {
      eachMessage: async (payload) => {
        const { topic, partition, message } = payload;
        try {
          await eachMessage({
            ...payload,
            heartbeat: () => this.heartbeatIfDue(),
            pause: () => this.pauseFn(topic, partition),
          });
          this.markProcessed(topic, partition, message.offset + 1);
        } catch (e) {
          this.handlerFailed(topic, partition, message.offset, e);
        }
      },
    };
  }

  /** The handler threw at `offset`: back to it, and retry the partition after a backoff. */
  private handlerFailed(topic: string, partition: number, offset: number, e: unknown): void {
    const k = key(topic, partition);
    const n = (this.handlerFailures.get(k) ?? 0) + 1;
    this.handlerFailures.set(k, n);
    this.report(e, { fatal: false, topic, partition, offset });
    const inner = this.inner;
    if (inner === null || !this.owned.has(k)) return;
    void inner.seek({ topic, partition, offset }).catch(() => {});
    inner.pause([{ topic, partitions: [partition] }]);
    const previous = this.backoffs.get(k);
    if (previous !== undefined) clearTimeout(previous);
    this.backoffs.set(
      k,
      setTimeout(
        () => {
          this.backoffs.delete(k);
          if (this.owned.has(k) && !this.userPaused.has(k))
            inner.resume([{ topic, partitions: [partition] }]);
        },
        backoffMs(this.retry, n),
      ),
    );
  }

  private startProcessing(): void {
    if (this.processingOn) return;
    this.processingOn = true;
    const inner = this.inner!;
    this.processing = (async () => {
      let failures = 0;
      while (this.processingOn) {
        try {
          await inner.run(this.wrapped!);
          return;
        } catch (e) {
          if (!this.processingOn) return;
          failures++;
          this.report(e, {
            fatal: false,
            topic: (e as MilenaError).topic,
            partition: (e as MilenaError).partition,
          });
          this.recover(e);
          await this.processSleeps.sleep(backoffMs(this.retry, failures));
        }
      }
    })();
  }

  /** A partition the inner consumer stopped (fetch failed for good): start it again where it was. */
  private recover(e: unknown): void {
    const inner = this.inner;
    const t = (e as MilenaError).topic;
    const p = (e as MilenaError).partition;
    if (inner === null || t === undefined || p === undefined || !this.owned.has(key(t, p))) return;
    const position = inner.position(t, p);
    const fallback = this.committed.get(key(t, p)) ?? (this.fromBeginning ? "earliest" : "latest");
    void inner.seek({ topic: t, partition: p, offset: position >= 0 ? position : fallback }).catch(() => {});
  }

  private async stopProcessing(): Promise<void> {
    if (!this.processingOn) return;
    this.processingOn = false;
    this.processSleeps.wakeAll();
    await this.inner?.stop();
    await this.processing;
    this.processing = null;
  }

  // ---- positions and flow ----

  /** Move a partition of the assignment (kafkajs's seek): the next record handed out is there. */
  seek(
    target: SeekTarget | { topic: string; partition: number; offset: number | string | bigint },
  ): Promise<void> {
    this.check();
    const k = key(target.topic, target.partition);
    if (this.inner === null || !this.owned.has(k))
      return Promise.reject(new InvalidArgumentError(`${target.topic}-${target.partition} is not assigned`));
    return this.inner.seek(target as SeekTarget);
  }

  /** Pause partitions (default: every partition of the topic); kept paused across rebalances. */
  pause(topics: { topic: string; partitions?: number[] }[]): void {
    for (const t of topics) {
      const parts = t.partitions ?? this.assigned.find((a) => a.topic === t.topic)?.partitions ?? [];
      for (const p of parts) this.userPaused.add(key(t.topic, p));
    }
    this.inner?.pause(topics);
  }

  resume(topics: { topic: string; partitions?: number[] }[]): void {
    const resumable: { topic: string; partitions: number[] }[] = [];
    for (const t of topics) {
      const parts =
        t.partitions ??
        [...this.userPaused]
          .filter((k) => k.startsWith(`${t.topic}\u0000`))
          .map((k) => Number(k.split("\u0000")[1]));
      for (const p of parts) this.userPaused.delete(key(t.topic, p));
      resumable.push({
        topic: t.topic,
        partitions: parts.filter((p) => !this.backoffs.has(key(t.topic, p))),
      });
    }
    this.inner?.resume(resumable.filter((t) => t.partitions.length > 0));
  }

  /** The partitions paused by pause(). */
  paused(): { topic: string; partitions: number[] }[] {
    const byTopic = new Map<string, number[]>();
    for (const k of this.userPaused) {
      const [topic, p] = k.split("\u0000");
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), Number(p)]);
    }
    return [...byTopic].map(([topic, partitions]) => ({
      topic,
      partitions: partitions.sort((a, b) => a - b),
    }));
  }
}

export type { TopicPartitions } from "./group_protocol.ts";
