// This broker's replicas in a ZooKeeper cluster (Kafka's ReplicaManager and Partition): each
// local partition is a leader, a follower or neither, as the controller's LeaderAndIsr last
// said, fenced by leader epoch. A leader tracks every follower's log end offset from its Fetch
// requests, keeps the high watermark at the smallest log end offset of the in-sync replicas,
// shrinks the ISR when a follower lags more than replica.lag.time.max.ms and expands it when
// one catches up (a conditional write of the partition's state znode at its known version: a
// leader deposed meanwhile fails the write and changes nothing), and answers acks=all produces
// once the high watermark passes them. Consumers read up to the high watermark only.
//
// replication-offset-checkpoint, per log dir (Kafka's name and format), the high watermarks:
//   0                       version
//   <n>                     entries
//   <topic> <partition> <high watermark>   (n lines)

import * as fs from "node:fs";
import { join } from "node:path";
import type { PartitionEntry } from "../broker/log_manager.ts";
import { writeOffsetCheckpoint } from "../broker/log_manager.ts";
import { ErrorCode } from "../protocol/error_codes.ts";
import type { LeaderAndIsrRequest } from "../protocol/inter_broker.ts";
import { decodePartitionState, encodeIsrChange, encodePartitionState, Z } from "./znodes.ts";
import { ZK_BAD_VERSION, ZkError, type ZkSession } from "./zookeeper.ts";

export const HW_CHECKPOINT = "replication-offset-checkpoint";

/** What a replica needs of its partition's writer (the log itself). */
export interface ReplicaLog {
  /** Start a leader epoch at the log end; later produced batches carry it. */
  becomeLeader(entry: PartitionEntry, leaderEpoch: number): Promise<void>;
  /** Cut the log at `offset` (Kafka's truncateTo); resolves to the new log end. */
  truncate(entry: PartitionEntry, offset: number): Promise<number>;
  /** Empty the log and restart it at `offset` (the leader's log start is past our end). */
  truncateFully(entry: PartitionEntry, offset: number): Promise<number>;
  /** The latest leader epoch of this log (-1: none) and its log end. */
  latestEpoch(entry: PartitionEntry): Promise<{ epoch: number; logEndOffset: number }>;
  /** The end offset of `leaderEpoch` in this log (OffsetForLeaderEpoch's answer). */
  epochEndOffset(
    entry: PartitionEntry,
    leaderEpoch: number,
  ): Promise<{ errorCode: number; leaderEpoch: number; endOffset: number }>;
}

export interface ReplicaOptions {
  brokerId: number;
  replicaLagTimeMaxMs: number;
  log(line: string): void;
  /** min.insync.replicas of a topic (its override or the broker's). */
  minInsync(topic: string): number;
  /** A partition's role here changed (the group coordinator loads or drops its offsets partitions). */
  onRoleChange?(entry: PartitionEntry, role: Role): void;
}

interface FollowerState {
  logEndOffset: number;
  lastCaughtUpMs: number;
  lastFetchLeaderLogEndOffset: number;
  lastFetchMs: number;
}

interface AckWaiter {
  offset: number;
  done(errorCode: number): void;
  timer: NodeJS.Timeout;
}

export type Role = "leader" | "follower" | "none";

export class PartitionReplica {
  role: Role = "none";
  leader = -1;
  leaderEpoch = -1;
  controllerEpoch = -1;
  zkVersion = -1;
  replicas: number[] = [];
  isr: number[] = [];
  highWatermark = 0;
  /** Leader: the log end when its epoch began; a follower joins the ISR only once past it. */
  epochStartOffset = 0;
  readonly followers = new Map<number, FollowerState>();
  waiters: AckWaiter[] = [];
  /** An ISR write in flight (one at a time per partition). */
  isrUpdating = false;
  /** Follower: set when it must find its divergence point before fetching (after becoming follower). */
  needsTruncation = false;
  /** Follower: no fetch before this time (ms) after an error (replica.fetch.backoff.ms). */
  fetchDelayedUntil = 0;

  constructor(readonly entry: PartitionEntry) {}
}

export class ReplicaManager {
  readonly replicas = new Map<PartitionEntry, PartitionReplica>();
  private readonly checkpointed = new Map<string, Map<string, number>>();
  private shrinkTimer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  /** Highest controller epoch seen: older controllers are refused. */
  controllerEpoch = -1;
  /** False while the ZooKeeper session is gone: nothing is led, nothing acknowledged as acks=all. */
  registered = false;
  /** ISR changes this broker made as leader (/metrics: Kafka's IsrShrinksPerSec, IsrExpandsPerSec). */
  isrShrinks = 0;
  isrExpands = 0;

  constructor(
    private readonly opts: ReplicaOptions,
    private readonly log: ReplicaLog,
    private readonly zk: () => ZkSession | null,
    /** Followers to start or stop fetching (the fetcher manager). */
    private readonly fetchers: {
      follow(r: PartitionReplica): void;
      unfollow(r: PartitionReplica): void;
    },
  ) {}

  start(logDirs: readonly string[]): void {
    for (const d of logDirs) this.checkpointed.set(d, readHwCheckpoint(join(d, HW_CHECKPOINT)));
    const every = Math.max(100, Math.floor(this.opts.replicaLagTimeMaxMs / 2));
    this.shrinkTimer = setInterval(() => this.maybeShrinkIsrs(), every);
    this.shrinkTimer.unref();
    this.checkpointTimer = setInterval(() => void this.checkpoint(), 5000);
    this.checkpointTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.shrinkTimer) clearInterval(this.shrinkTimer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    for (const r of this.replicas.values()) this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    await this.checkpoint();
  }

  get(entry: PartitionEntry): PartitionReplica {
    let r = this.replicas.get(entry);
    if (r === undefined) {
      r = new PartitionReplica(entry);
      const hw = this.checkpointed.get(entry.logDir)?.get(`${entry.topic} ${entry.partition}`) ?? 0;
      r.highWatermark = Math.min(hw, entry.reader.logEndOffset);
      this.replicas.set(entry, r);
    }
    return r;
  }

  forget(entry: PartitionEntry): void {
    const r = this.replicas.get(entry);
    if (r === undefined) return;
    this.fetchers.unfollow(r);
    this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.replicas.delete(entry);
    if (r.role === "leader") this.opts.onRoleChange?.(entry, "none");
  }

  /** The session ended: lead nothing (the controller elects others) until registered again. */
  fence(): void {
    this.registered = false;
    for (const r of this.replicas.values()) {
      if (r.role === "leader") {
        r.role = "none";
        this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
        this.opts.onRoleChange?.(r.entry, "none");
      }
    }
  }

  /** One partition of a LeaderAndIsr (the local log exists). Returns its error code. */
  async applyState(
    entry: PartitionEntry,
    s: LeaderAndIsrRequest["topicStates"][number]["partitionStates"][number],
  ): Promise<number> {
    const r = this.get(entry);
    if (s.leaderEpoch < r.leaderEpoch) return ErrorCode.STALE_CONTROLLER_EPOCH;
    const same =
      s.leaderEpoch === r.leaderEpoch &&
      s.leader === r.leader &&
      r.role !== "none" &&
      s.partitionEpoch <= r.zkVersion;
    r.replicas = s.replicas;
    r.controllerEpoch = s.controllerEpoch;
    if (same) return ErrorCode.NONE;
    r.zkVersion = s.partitionEpoch;
    const me = this.opts.brokerId;
    const was = r.role;
    if (s.leader === me) {
      if (r.role !== "leader" || r.leaderEpoch !== s.leaderEpoch) {
        this.fetchers.unfollow(r);
        await this.log.becomeLeader(entry, s.leaderEpoch);
        r.epochStartOffset = entry.reader.logEndOffset;
        r.followers.clear();
        const now = Date.now();
        for (const f of s.replicas)
          if (f !== me)
            r.followers.set(f, {
              logEndOffset: -1,
              lastCaughtUpMs: s.isr.includes(f) ? now : 0,
              lastFetchLeaderLogEndOffset: -1,
              lastFetchMs: 0,
            });
      }
      r.role = "leader";
      r.leader = me;
      r.leaderEpoch = s.leaderEpoch;
      r.isr = s.isr;
      this.opts.log(
        `became leader of ${entry.topic}-${entry.partition} (epoch ${s.leaderEpoch}, isr ${s.isr.join(",")})`,
      );
      this.maybeAdvanceHw(r);
      if (was !== "leader") this.opts.onRoleChange?.(entry, "leader");
    } else {
      this.failWaiters(r, ErrorCode.NOT_LEADER_OR_FOLLOWER);
      if (was === "leader") this.opts.onRoleChange?.(entry, "follower");
      const changed = r.role !== "follower" || r.leader !== s.leader || r.leaderEpoch !== s.leaderEpoch;
      r.role = "follower";
      r.leader = s.leader;
      r.leaderEpoch = s.leaderEpoch;
      r.isr = s.isr;
      r.followers.clear();
      if (changed) {
        this.fetchers.unfollow(r);
        if (s.leader >= 0) {
          r.needsTruncation = true;
          this.fetchers.follow(r);
          this.opts.log(
            `following broker ${s.leader} for ${entry.topic}-${entry.partition} (epoch ${s.leaderEpoch})`,
          );
        }
      }
    }
    return ErrorCode.NONE;
  }

  /** The replica of a local partition, when this broker leads it; else the error to answer. */
  leaderProblem(entry: PartitionEntry, currentLeaderEpoch = -1): number {
    const r = this.replicas.get(entry);
    if (r === undefined || r.role !== "leader" || !this.registered) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (currentLeaderEpoch >= 0 && currentLeaderEpoch !== r.leaderEpoch)
      return currentLeaderEpoch < r.leaderEpoch
        ? ErrorCode.FENCED_LEADER_EPOCH
        : ErrorCode.UNKNOWN_LEADER_EPOCH;
    return ErrorCode.NONE;
  }

  highWatermark(entry: PartitionEntry): number {
    return this.replicas.get(entry)?.highWatermark ?? 0;
  }

  leaderEpoch(entry: PartitionEntry): number {
    return this.replicas.get(entry)?.leaderEpoch ?? -1;
  }

  /** acks=all before the append: NOT_ENOUGH_REPLICAS when the ISR is below min.insync.replicas. */
  appendProblem(entry: PartitionEntry, acks: number): number {
    const p = this.leaderProblem(entry);
    if (p !== ErrorCode.NONE) return p;
    if (acks !== -1) return ErrorCode.NONE;
    const r = this.replicas.get(entry)!;
    return r.isr.length < this.opts.minInsync(entry.topic) ? ErrorCode.NOT_ENOUGH_REPLICAS : ErrorCode.NONE;
  }

  /**
   * acks=all after the leader's append: resolves with 0 once the high watermark reaches
   * `endOffset` (NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR shrank below min.insync.replicas
   * meanwhile), NOT_LEADER_OR_FOLLOWER when leadership is lost, REQUEST_TIMED_OUT after
   * `timeoutMs`.
   */
  awaitReplication(entry: PartitionEntry, endOffset: number, timeoutMs: number): Promise<number> {
    const r = this.replicas.get(entry);
    if (r === undefined || r.role !== "leader" || !this.registered)
      return Promise.resolve(ErrorCode.NOT_LEADER_OR_FOLLOWER);
    this.maybeAdvanceHw(r);
    if (r.highWatermark >= endOffset) return Promise.resolve(this.enoughIsr(r));
    return new Promise((resolve) => {
      const w: AckWaiter = {
        offset: endOffset,
        done: (code) => {
          clearTimeout(w.timer);
          resolve(code);
        },
        timer: setTimeout(
          () => {
            r.waiters = r.waiters.filter((x) => x !== w);
            resolve(ErrorCode.REQUEST_TIMED_OUT);
          },
          Math.max(1, timeoutMs),
        ),
      };
      r.waiters.push(w);
    });
  }

  private enoughIsr(r: PartitionReplica): number {
    return r.isr.length < this.opts.minInsync(r.entry.topic)
      ? ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND
      : ErrorCode.NONE;
  }

  private failWaiters(r: PartitionReplica, code: number): void {
    const ws = r.waiters;
    r.waiters = [];
    for (const w of ws) w.done(code);
  }

  /** The leader appended (a produce): with no other in-sync replica the high watermark moves now. */
  onLocalAppend(entry: PartitionEntry): void {
    const r = this.replicas.get(entry);
    if (r !== undefined && r.role === "leader") this.maybeAdvanceHw(r);
  }

  /**
   * A follower's Fetch (replica_id `follower`) at `fetchOffset`: its log end offset now (Kafka's
   * updateFollowerFetchState), the ISR expanded when it caught up, the high watermark advanced.
   */
  followerFetched(entry: PartitionEntry, follower: number, fetchOffset: number): number {
    const r = this.replicas.get(entry);
    if (r === undefined || r.role !== "leader") return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    if (!r.replicas.includes(follower)) return ErrorCode.NOT_LEADER_OR_FOLLOWER;
    let f = r.followers.get(follower);
    if (f === undefined) {
      f = { logEndOffset: -1, lastCaughtUpMs: 0, lastFetchLeaderLogEndOffset: -1, lastFetchMs: 0 };
      r.followers.set(follower, f);
    }
    const now = Date.now();
    const leo = entry.reader.logEndOffset;
    if (fetchOffset >= leo) f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, now);
    else if (fetchOffset >= f.lastFetchLeaderLogEndOffset)
      f.lastCaughtUpMs = Math.max(f.lastCaughtUpMs, f.lastFetchMs);
    f.logEndOffset = fetchOffset;
    f.lastFetchLeaderLogEndOffset = leo;
    f.lastFetchMs = now;
    if (!r.isr.includes(follower) && fetchOffset >= r.highWatermark && fetchOffset >= r.epochStartOffset)
      this.updateIsr(r, [...r.isr, follower]);
    this.maybeAdvanceHw(r);
    return ErrorCode.NONE;
  }

  /** Followers learn the high watermark from their leader's fetch answers. */
  followerHighWatermark(r: PartitionReplica, leaderHw: number): void {
    const hw = Math.min(leaderHw, r.entry.reader.logEndOffset);
    if (hw > r.highWatermark) r.highWatermark = hw;
  }

  private maybeAdvanceHw(r: PartitionReplica): void {
    if (r.role !== "leader") return;
    let hw = r.entry.reader.logEndOffset;
    for (const id of r.isr) {
      if (id === this.opts.brokerId) continue;
      const f = r.followers.get(id);
      hw = Math.min(hw, f === undefined ? -1 : f.logEndOffset);
    }
    if (hw <= r.highWatermark) return;
    r.highWatermark = hw;
    // Consumers long-polling at the old high watermark can read now.
    const e = r.entry;
    if (e.waiters.size > 0) {
      const ws = [...e.waiters];
      e.waiters.clear();
      for (const w of ws) w();
    }
    if (r.waiters.length > 0) {
      const ready = r.waiters.filter((w) => w.offset <= hw);
      if (ready.length > 0) {
        r.waiters = r.waiters.filter((w) => w.offset > hw);
        const code = this.enoughIsr(r);
        for (const w of ready) w.done(code);
      }
    }
  }

  /** Every replica.lag.time.max.ms / 2: drop followers that have not caught up for too long. */
  private maybeShrinkIsrs(): void {
    if (!this.registered) return;
    const now = Date.now();
    const max = this.opts.replicaLagTimeMaxMs;
    for (const r of this.replicas.values()) {
      if (r.role !== "leader" || r.isrUpdating) continue;
      const out = r.isr.filter((id) => {
        if (id === this.opts.brokerId) return false;
        const f = r.followers.get(id);
        return f === undefined || now - f.lastCaughtUpMs > max;
      });
      if (out.length === 0) continue;
      this.opts.log(
        `shrinking the ISR of ${r.entry.topic}-${r.entry.partition}: broker(s) ${out.join(", ")} behind for more than replica.lag.time.max.ms (${max} ms)`,
      );
      this.updateIsr(
        r,
        r.isr.filter((id) => !out.includes(id)),
      );
    }
  }

  /**
   * Write a new ISR to the partition's state znode at the version the controller gave (Kafka's
   * ZK-mode leader update), then notify the controller (/isr_change_notification). A version
   * conflict means the state moved under us (a new leader or epoch): nothing changes here and
   * the controller's LeaderAndIsr will say what we are now.
   */
  private updateIsr(r: PartitionReplica, isr: number[]): void {
    const zk = this.zk();
    if (zk === null || !this.registered || r.isrUpdating) return;
    r.isrUpdating = true;
    const e = r.entry;
    const path = Z.partitionState(e.topic, e.partition);
    const state = {
      leader: this.opts.brokerId,
      leaderEpoch: r.leaderEpoch,
      isr,
      controllerEpoch: r.controllerEpoch,
    };
    const epoch = r.leaderEpoch;
    void (async () => {
      try {
        const version = await zk.set(path, encodePartitionState(state), r.zkVersion);
        if (r.role !== "leader" || r.leaderEpoch !== epoch) return;
        r.zkVersion = version;
        if (isr.length < r.isr.length) this.isrShrinks++;
        else if (isr.length > r.isr.length) this.isrExpands++;
        r.isr = isr;
        this.opts.log(`ISR of ${e.topic}-${e.partition} is now ${isr.join(",")}`);
        await zk.createSequential(Z.isrChange, encodeIsrChange([{ topic: e.topic, partition: e.partition }]));
        this.maybeAdvanceHw(r);
      } catch (err) {
        if (err instanceof ZkError && err.code === ZK_BAD_VERSION) {
          // Moved under us: if it is still ours at this epoch (a controller re-wrote it), adopt it.
          const got = await zk.get(path).catch(() => null);
          if (got !== null) {
            const s = decodePartitionState(path, got.data);
            if (s.leader === this.opts.brokerId && s.leaderEpoch === r.leaderEpoch) {
              r.zkVersion = got.stat.version;
              r.isr = s.isr;
            }
          }
        } else this.opts.log(`ISR update of ${e.topic}-${e.partition} failed: ${(err as Error).message}`);
      } finally {
        r.isrUpdating = false;
      }
    })();
  }

  /** Write every log dir's high watermarks (Kafka's replication-offset-checkpoint). */
  async checkpoint(): Promise<void> {
    const perDir = new Map<string, { topic: string; partition: number; offset: number }[]>();
    for (const r of this.replicas.values()) {
      const e = r.entry;
      let l = perDir.get(e.logDir);
      if (l === undefined) perDir.set(e.logDir, (l = []));
      l.push({ topic: e.topic, partition: e.partition, offset: r.highWatermark });
    }
    for (const [dir, entries] of perDir) {
      const before = this.checkpointed.get(dir);
      // Partitions this broker has not been told about since it started keep their last value.
      const mine = new Set(entries.map((x) => `${x.topic} ${x.partition}`));
      for (const [k, offset] of before ?? []) {
        if (mine.has(k)) continue;
        const at = k.lastIndexOf(" ");
        entries.push({ topic: k.slice(0, at), partition: Number(k.slice(at + 1)), offset });
      }
      if (
        before !== undefined &&
        entries.every((x) => before.get(`${x.topic} ${x.partition}`) === x.offset) &&
        before.size === entries.length
      )
        continue;
      try {
        await writeOffsetCheckpoint(join(dir, HW_CHECKPOINT), entries);
        this.checkpointed.set(dir, new Map(entries.map((x) => [`${x.topic} ${x.partition}`, x.offset])));
      } catch (err) {
        this.opts.log(`writing ${join(dir, HW_CHECKPOINT)} failed: ${(err as Error).message}`);
      }
    }
  }
}

/** The high watermarks of a log dir's checkpoint; a missing or malformed file gives none. */
export function readHwCheckpoint(path: string): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch {
    return out;
  }
  const lines = text.split("\n").filter((l) => l !== "");
  if (lines[0] !== "0") return out;
  for (const l of lines.slice(2)) {
    const m = /^(\S+) (\d+) (\d+)$/.exec(l);
    if (m) out.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return out;
}
