// The controller: one broker of the cluster, elected through the ephemeral /controller znode,
// decides every partition's leader and in-sync replicas and tells the brokers (Kafka's
// ZK-mode KafkaController, its essentials). Its events (brokers joining and leaving, topics
// created and deleted, ISR changes reported by leaders) run one at a time, in order. Every
// partition-state write is fenced by the controller epoch: a ZooKeeper multi that checks the
// /controller_epoch znode's version and sets the state znode at its known version, so a deposed
// controller can change nothing. Leader elections follow Kafka:
//   - a partition whose leader died: the first replica (assignment order) that is alive and in
//     the ISR; none alive in the ISR: offline (leader -1, ISR kept) unless
//     unclean.leader.election.enable, then the first live replica;
//   - a dead follower leaves the ISR;
//   - a new partition: the first live replica leads, the live replicas are the ISR;
//   - controlled shutdown: the broker's partitions move to another live ISR member first.
// Each change bumps the leader epoch and is sent to the replicas (LeaderAndIsr) and to every
// broker (UpdateMetadata).

import { ErrorCode } from "../protocol/error_codes.ts";
import type { LeaderAndIsrRequest, UpdateMetadataRequest } from "../protocol/inter_broker.ts";
import {
  LEADER_AND_ISR_VERSION,
  leaderAndIsrCodec,
  STOP_REPLICA_VERSION,
  stopReplicaCodec,
  UPDATE_METADATA_VERSION,
  updateMetadataCodec,
} from "../protocol/inter_broker.ts";
import { BrokerChannel } from "./broker_channel.ts";
import type { ChannelSecurity } from "./inter_broker_security.ts";
import {
  type BrokerRegistration,
  decodeBroker,
  decodeIsrChange,
  decodePartitionState,
  decodeTopic,
  encodePartitionState,
  encodeTopic,
  type PartitionStateZ,
  type TopicAssignment,
  Z,
} from "./znodes.ts";
import { ZK_BAD_VERSION, ZK_NO_NODE, ZK_NODE_EXISTS, ZkError, type ZkSession } from "./zookeeper.ts";

export interface ControllerOptions {
  brokerId: number;
  uncleanLeaderElection: boolean;
  /** auto.leader.rebalance.enable, leader.imbalance.check.interval.seconds (ms), leader.imbalance.per.broker.percentage. */
  autoLeaderRebalance: boolean;
  imbalanceCheckIntervalMs: number;
  imbalancePercentage: number;
  /** inter.broker.listener.name: the endpoint the controller (and followers) reach brokers on. */
  interBrokerListener: string;
  /** TLS and SASL of the connections to the brokers. */
  security: ChannelSecurity;
  log(line: string): void;
}

/** Kafka's SecurityProtocol ids (UpdateMetadata's endpoints). */
const SECURITY_PROTOCOL_ID: Record<string, number> = { PLAINTEXT: 0, SSL: 1, SASL_PLAINTEXT: 2, SASL_SSL: 3 };

interface State {
  s: PartitionStateZ;
  zkVersion: number;
}

const key = (t: string, p: number) => `${t}\u0000${p}`;

/** Kafka's leader id of a partition whose topic is being deleted (UpdateMetadata). */
const LEADER_DURING_DELETE = -2;
/** How often the controller compares the broker registrations with its own (brokersDiffer). */
const BROKER_CHECK_MS = 3000;

export class Controller {
  epoch = 0;
  private epochZkVersion = -1;
  readonly live = new Map<number, BrokerRegistration>();
  readonly topics = new Map<string, TopicAssignment>();
  readonly states = new Map<string, State>();
  private readonly channels = new Map<number, BrokerChannel>();
  private events: Promise<void> = Promise.resolve();
  private active = true;
  /** Brokers shutting down in a controlled way: no leadership goes to them. */
  private readonly shuttingDown = new Set<number>();
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private brokerCheckTimer: NodeJS.Timeout | null = null;
  /** Reassignments in progress (KIP-455): each partition's target replicas. */
  readonly moving = new Map<string, number[]>();

  constructor(
    private readonly zk: ZkSession,
    private readonly opts: ControllerOptions,
  ) {}

  /** Become controller: bump the epoch, load the cluster, elect what needs a leader, tell everyone. */
  async start(): Promise<void> {
    await this.bumpEpoch();
    this.opts.log(`controller: elected (epoch ${this.epoch})`);
    this.enqueue("startup", async () => {
      await this.loadBrokers();
      await this.loadTopics();
      const all = [...this.states.keys()];
      await this.electOffline(all);
      await this.initNewPartitions();
      await this.sendUpdateMetadata([...this.live.keys()], [...this.states.keys()]);
      for (const b of this.live.keys()) await this.sendLeaderAndIsr(b, this.replicasOn(b), false);
      await this.onIsrChanges();
      await this.onTopicDeletions();
    });
    // A safety net under the /brokers/ids watch: one lost (a ZooKeeper restart or a reconnect
    // that did not restore it) would leave a dead leader leading; the registrations are compared
    // with what the controller holds every few seconds, and a difference handled as a change.
    this.brokerCheckTimer = setInterval(
      () =>
        this.enqueue("broker check", async () => {
          if (await this.brokersDiffer()) await this.onBrokerChange();
        }),
      BROKER_CHECK_MS,
    );
    this.brokerCheckTimer.unref();
    if (this.opts.autoLeaderRebalance) {
      this.rebalanceTimer = setInterval(
        () => this.enqueue("preferred leader election", () => this.rebalanceLeaders()),
        this.opts.imbalanceCheckIntervalMs,
      );
      this.rebalanceTimer.unref();
    }
  }

  /**
   * Kafka's checkAndTriggerAutoLeaderRebalance: for each broker, the partitions whose preferred
   * replica (first assigned) it is but that another broker leads; above
   * leader.imbalance.per.broker.percentage of its preferred partitions, each of them whose
   * preferred replica is alive and in the ISR gets it back as leader (a new leader epoch).
   */
  private async rebalanceLeaders(): Promise<void> {
    const byPreferred = new Map<number, { total: number; away: string[] }>();
    for (const [name, a] of this.topics) {
      a.partitions.forEach((replicas, p) => {
        const st = this.states.get(key(name, p));
        if (st === undefined || replicas.length === 0) return;
        const preferred = replicas[0];
        let e = byPreferred.get(preferred);
        if (e === undefined) byPreferred.set(preferred, (e = { total: 0, away: [] }));
        e.total++;
        if (st.s.leader !== preferred) e.away.push(key(name, p));
      });
    }
    const changed: string[] = [];
    for (const [b, e] of byPreferred) {
      if (!this.live.has(b) || this.shuttingDown.has(b) || e.away.length === 0) continue;
      if ((e.away.length * 100) / e.total <= this.opts.imbalancePercentage) continue;
      for (const k of e.away) {
        const moved = await this.writeState(k, (s) =>
          s.isr.includes(b) && s.leader !== b ? { ...s, leader: b, leaderEpoch: s.leaderEpoch + 1 } : null,
        );
        if (moved) changed.push(k);
      }
    }
    if (changed.length > 0) {
      this.opts.log(`controller: moved ${changed.length} partition(s) back to their preferred leaders`);
      await this.announce(changed);
    }
  }

  /** Stop acting (the session ended or the broker stops): no more events, no more requests. */
  resign(): void {
    this.active = false;
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    if (this.brokerCheckTimer) clearInterval(this.brokerCheckTimer);
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
  }

  /** Wait for the events queued so far (tests, shutdown). */
  idle(): Promise<void> {
    return this.events;
  }

  /**
   * Run an event after the ones queued before it. A failed one (a ZooKeeper call lost to a
   * disconnection, whose watch was then never set) runs again after a pause, so the controller
   * never stops hearing of a change.
   */
  private enqueue(what: string, f: () => Promise<void>, attempt = 0): void {
    this.events = this.events.then(async () => {
      if (!this.active) return;
      try {
        await f();
      } catch (e) {
        if (!this.active) return;
        this.opts.log(
          `controller: ${what} failed (attempt ${attempt + 1}, retrying): ${(e as Error).message}`,
        );
        const t = setTimeout(() => this.enqueue(what, f, attempt + 1), Math.min(5000, 200 * 2 ** attempt));
        t.unref();
      }
    });
  }

  private async bumpEpoch(): Promise<void> {
    for (;;) {
      const cur = await this.zk.get(Z.controllerEpoch);
      if (cur === null) {
        try {
          await this.zk.create(Z.controllerEpoch, Buffer.from("1"));
          this.epoch = 1;
          this.epochZkVersion = 0;
          return;
        } catch (e) {
          if (e instanceof ZkError && e.code === ZK_NODE_EXISTS) continue;
          throw e;
        }
      }
      const next = (Number(cur.data.toString()) || 0) + 1;
      try {
        this.epochZkVersion = await this.zk.set(
          Z.controllerEpoch,
          Buffer.from(String(next)),
          cur.stat.version,
        );
        this.epoch = next;
        return;
      } catch (e) {
        if (e instanceof ZkError && e.code === ZK_BAD_VERSION) continue;
        throw e;
      }
    }
  }

  // --- loading, with watches that queue the matching event ---

  private async loadBrokers(): Promise<{ added: number[]; removed: number[] }> {
    const ids = (
      await this.zk.children(Z.brokerIds, () => this.enqueue("broker change", () => this.onBrokerChange()))
    )
      .map(Number)
      .filter((n) => Number.isInteger(n));
    const added: number[] = [];
    const removed: number[] = [];
    for (const id of [...this.live.keys()]) {
      if (!ids.includes(id)) {
        this.live.delete(id);
        removed.push(id);
      }
    }
    for (const id of ids) {
      const got = await this.zk.get(Z.broker(id));
      if (got === null) continue;
      const reg = decodeBroker(id, got.data, got.stat.czxid);
      const was = this.live.get(id);
      // Same id, new registration (it restarted within the watch): a failure and a startup.
      if (was !== undefined && was.epoch !== reg.epoch) removed.push(id);
      if (was === undefined || was.epoch !== reg.epoch) added.push(id);
      this.live.set(id, reg);
    }
    return { added, removed };
  }

  private async loadTopics(): Promise<string[]> {
    const names = await this.zk.children(Z.topics, () =>
      this.enqueue("topic change", () => this.onTopicChange()),
    );
    const added: string[] = [];
    for (const name of names) {
      if (this.topics.has(name)) continue;
      // Its data changes when partitions are added (CreatePartitions writes the new assignment).
      const got = await this.zk.get(Z.topic(name), () =>
        this.enqueue("partition change", () => this.onTopicData(name)),
      );
      if (got === null) continue;
      let a: TopicAssignment;
      try {
        a = decodeTopic(name, got.data);
      } catch (e) {
        this.opts.log(`controller: ignoring topic ${name}: ${(e as Error).message}`);
        continue;
      }
      this.topics.set(name, a);
      added.push(name);
      // A reassignment the previous controller started: its target is the replicas not being removed.
      for (const p of new Set([...(a.adding?.keys() ?? []), ...(a.removing?.keys() ?? [])])) {
        const removing = a.removing?.get(p) ?? [];
        if (a.partitions[p] !== undefined)
          this.moving.set(
            key(name, p),
            a.partitions[p].filter((r) => !removing.includes(r)),
          );
      }
      for (let p = 0; p < a.partitions.length; p++) {
        const st = await this.zk.get(Z.partitionState(name, p));
        if (st !== null)
          this.states.set(key(name, p), {
            s: decodePartitionState(Z.partitionState(name, p), st.data),
            zkVersion: st.stat.version,
          });
      }
    }
    return added;
  }

  // --- events ---

  /** Whether /brokers/ids holds other registrations (ids or epochs) than `live` (no watch set). */
  private async brokersDiffer(): Promise<boolean> {
    const ids = (await this.zk.children(Z.brokerIds)).map(Number).filter((n) => Number.isInteger(n));
    if (ids.length !== this.live.size || ids.some((id) => !this.live.has(id))) return true;
    for (const id of ids) {
      const got = await this.zk.get(Z.broker(id));
      if (got === null || got.stat.czxid !== this.live.get(id)?.epoch) return true;
    }
    return false;
  }

  private async onBrokerChange(): Promise<void> {
    const { added, removed } = await this.loadBrokers();
    for (const b of removed) {
      this.shuttingDown.delete(b);
      this.channels.get(b)?.close();
      this.channels.delete(b);
    }
    if (removed.length > 0) {
      this.opts.log(`controller: broker(s) ${removed.join(", ")} gone`);
      // A broker that registered again already (it restarted between two reads) is handled as a
      // failure first, without it, then as a startup (Kafka's bounced brokers): its old epochs end.
      const bounced = new Map<number, BrokerRegistration>();
      for (const b of removed) {
        const reg = this.live.get(b);
        if (reg !== undefined) bounced.set(b, reg);
        this.live.delete(b);
      }
      try {
        await this.onBrokersFailed(removed);
      } finally {
        for (const [b, reg] of bounced) this.live.set(b, reg);
      }
      // Everyone learns the broker list without it, even when no partition changed.
      if (added.length === 0) await this.sendUpdateMetadata([...this.live.keys()], [...this.states.keys()]);
    }
    if (added.length > 0) {
      this.opts.log(`controller: broker(s) ${added.join(", ")} registered`);
      await this.onBrokersStarted(added);
    }
  }

  private async onBrokersFailed(dead: number[]): Promise<void> {
    const changed: string[] = [];
    for (const [k, st] of [...this.states]) {
      if (!dead.includes(st.s.leader) && !st.s.isr.some((r) => dead.includes(r))) continue;
      // Decided on the state as it is when written (a leader may have changed the ISR meanwhile).
      const done = await this.writeState(k, (s) => {
        if (dead.includes(s.leader)) return this.decideElection(k, s);
        const isr = s.isr.filter((r) => !dead.includes(r));
        return s.leader >= 0 && isr.length > 0 && isr.length < s.isr.length
          ? { ...s, isr, leaderEpoch: s.leaderEpoch + 1 }
          : null;
      });
      if (done) changed.push(k);
    }
    await this.announce(changed);
  }

  private async onBrokersStarted(started: number[]): Promise<void> {
    // Everyone learns the new broker list and the full state; the new brokers their replicas.
    await this.initNewPartitions();
    const offline = [...this.states.entries()].filter(([, st]) => st.s.leader < 0).map(([k]) => k);
    const elected = await this.electOffline(offline);
    await this.sendUpdateMetadata([...this.live.keys()], [...this.states.keys()]);
    for (const b of started) await this.sendLeaderAndIsr(b, this.replicasOn(b), false);
    if (elected.length > 0) await this.announce(elected, started);
  }

  private async onTopicChange(): Promise<void> {
    const added = await this.loadTopics();
    if (added.length === 0) return;
    this.opts.log(`controller: new topic(s) ${added.join(", ")}`);
    await this.initNewPartitions();
  }

  /** A topic's assignment changed: partitions were added (Kafka's PartitionModifications). */
  private async onTopicData(name: string): Promise<void> {
    const got = await this.zk.get(Z.topic(name), () =>
      this.enqueue("partition change", () => this.onTopicData(name)),
    );
    const known = this.topics.get(name);
    if (got === null || known === undefined) return;
    const a = decodeTopic(name, got.data);
    if (a.partitions.length <= known.partitions.length) return;
    this.opts.log(`controller: topic ${name} grows to ${a.partitions.length} partitions`);
    // Existing partitions keep their replicas (reassignment is not built); the new ones join.
    this.topics.set(name, {
      ...known,
      partitions: [...known.partitions, ...a.partitions.slice(known.partitions.length)],
    });
    await this.initNewPartitions();
  }

  /** /isr_change_notification: leaders changed ISRs; refresh them and tell every broker. */
  async onIsrChanges(): Promise<void> {
    const names = await this.zk.children(Z.isrChanges, () => this.enqueue("isr", () => this.onIsrChanges()));
    if (names.length === 0) return;
    const keys = new Set<string>();
    for (const n of names) {
      const got = await this.zk.get(`${Z.isrChanges}/${n}`);
      if (got !== null) for (const p of decodeIsrChange(got.data)) keys.add(key(p.topic, p.partition));
    }
    for (const k of keys) await this.refresh(k);
    await this.sendUpdateMetadata(
      [...this.live.keys()],
      [...keys].filter((k) => this.states.has(k)),
    );
    for (const n of names) await this.zk.delete(`${Z.isrChanges}/${n}`).catch(() => {});
    // A reassignment finishes once its new replicas are in sync.
    for (const k of keys) if (this.moving.has(k)) await this.maybeFinishMove(k);
  }

  private async onTopicDeletions(): Promise<void> {
    const names = await this.zk.children(Z.deleteTopics, () =>
      this.enqueue("topic deletion", () => this.onTopicDeletions()),
    );
    for (const name of names) {
      const a = this.topics.get(name);
      if (a !== undefined) {
        this.opts.log(`controller: deleting topic ${name}`);
        const replicas = new Set(a.partitions.flat());
        for (const b of replicas) {
          if (!this.live.has(b)) continue;
          const partitionStates = a.partitions
            .map((r, p) => ({ partitionIndex: p, leaderEpoch: -2, deletePartition: true, r }))
            .filter((x) => x.r.includes(b))
            .map(({ r: _r, ...x }) => x);
          await this.channel(b)
            ?.request(stopReplicaCodec, STOP_REPLICA_VERSION, {
              controllerId: this.opts.brokerId,
              isKRaftController: false,
              controllerEpoch: this.epoch,
              brokerEpoch: Number(this.live.get(b)!.epoch),
              deletePartitions: true,
              ungroupedPartitions: [],
              topics: [],
              topicStates: [{ topicName: name, partitionStates }],
            })
            .catch((e) => this.opts.log(`controller: StopReplica to ${b} failed: ${(e as Error).message}`));
        }
        const keys = a.partitions.map((_r, p) => key(name, p));
        await this.sendUpdateMetadata([...this.live.keys()], keys, true);
        for (const k of keys) this.states.delete(k);
        this.topics.delete(name);
        await this.zk.deleteRecursive(Z.topic(name));
        await this.zk.deleteRecursive(Z.topicConfig(name));
      }
      await this.zk.deleteRecursive(Z.deleteTopic(name));
    }
  }

  /**
   * AlterPartitionReassignments for one partition (KIP-455, Kafka's ZK-mode flow): the replicas
   * become target ∪ current (target first) with adding/removing recorded in the topic's znode,
   * the leader epoch moves so every replica hears of it, the new replicas create the partition
   * and follow; once every target replica is in the ISR the move finishes (maybeFinishMove).
   * `target` null cancels a move in progress (back to the replicas it started from).
   */
  reassign(
    topic: string,
    partition: number,
    target: number[] | null,
  ): Promise<{ errorCode: number; message: string | null }> {
    return new Promise((resolve) => {
      this.enqueue("reassignment", async () => {
        resolve(await this.startMove(topic, partition, target));
      });
    });
  }

  private async startMove(
    topic: string,
    partition: number,
    asked: number[] | null,
  ): Promise<{ errorCode: number; message: string | null }> {
    const a = this.topics.get(topic);
    const k = key(topic, partition);
    const st = this.states.get(k);
    if (a === undefined || a.partitions[partition] === undefined || st === undefined)
      return {
        errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        message: `${topic}-${partition} does not exist`,
      };
    const current = a.partitions[partition];
    const adding = a.adding?.get(partition) ?? [];
    const original = this.moving.has(k) ? current.filter((r) => !adding.includes(r)) : current;
    if (asked === null) {
      if (!this.moving.has(k))
        return {
          errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS,
          message: `no reassignment of ${topic}-${partition} in progress`,
        };
    } else {
      if (asked.length === 0 || new Set(asked).size !== asked.length)
        return {
          errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          message: "the target replicas must be distinct and not empty",
        };
      const gone = asked.find((b) => !this.live.has(b));
      if (gone !== undefined)
        return { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, message: `broker ${gone} is not alive` };
    }
    const target = asked ?? original;
    const union = [...new Set([...target, ...original])];
    const addingNow = target.filter((r) => !original.includes(r));
    const removingNow = original.filter((r) => !target.includes(r));
    const next = {
      ...a,
      partitions: [...a.partitions],
      adding: new Map(a.adding),
      removing: new Map(a.removing),
    };
    next.partitions[partition] = union;
    if (addingNow.length > 0) next.adding.set(partition, addingNow);
    else next.adding.delete(partition);
    if (removingNow.length > 0) next.removing.set(partition, removingNow);
    else next.removing.delete(partition);
    await this.zk.set(Z.topic(topic), encodeTopic(next), -1);
    this.topics.set(topic, next);
    this.moving.set(k, target);
    this.opts.log(
      `controller: reassigning ${topic}-${partition} from ${original.join(",")} to ${target.join(",")}`,
    );
    if (await this.writeState(k, (s) => ({ ...s, leaderEpoch: s.leaderEpoch + 1 }))) await this.announce([k]);
    await this.maybeFinishMove(k);
    return { errorCode: ErrorCode.NONE, message: null };
  }

  /** Every target replica in sync: lead from the target, drop the others from ISR and disk. */
  private async maybeFinishMove(k: string): Promise<void> {
    const target = this.moving.get(k);
    const st = this.states.get(k);
    if (target === undefined || st === undefined) return;
    if (!target.every((r) => st.s.isr.includes(r))) return;
    const [topic, ps] = k.split("\u0000");
    const p = Number(ps);
    const a = this.topics.get(topic);
    if (a === undefined) return;
    const removed = a.partitions[p].filter((r) => !target.includes(r));
    const next = {
      ...a,
      partitions: [...a.partitions],
      adding: new Map(a.adding),
      removing: new Map(a.removing),
    };
    next.partitions[p] = target;
    next.adding.delete(p);
    next.removing.delete(p);
    await this.zk.set(Z.topic(topic), encodeTopic(next), -1);
    this.topics.set(topic, next);
    this.moving.delete(k);
    await this.writeState(k, (s) => {
      const isr = s.isr.filter((r) => target.includes(r));
      const leader = target.includes(s.leader) ? s.leader : (target.find((r) => isr.includes(r)) ?? -1);
      return { ...s, leader, isr, leaderEpoch: s.leaderEpoch + 1 };
    });
    this.opts.log(`controller: reassignment of ${topic}-${p} done: replicas ${target.join(",")}`);
    await this.announce([k]);
    const epoch = this.states.get(k)?.s.leaderEpoch ?? 0;
    for (const b of removed) {
      const reg = this.live.get(b);
      if (reg === undefined) continue;
      await this.channel(b)
        ?.request(stopReplicaCodec, STOP_REPLICA_VERSION, {
          controllerId: this.opts.brokerId,
          isKRaftController: false,
          controllerEpoch: this.epoch,
          brokerEpoch: Number(reg.epoch),
          deletePartitions: true,
          ungroupedPartitions: [],
          topics: [],
          topicStates: [
            {
              topicName: topic,
              partitionStates: [{ partitionIndex: p, leaderEpoch: epoch, deletePartition: true }],
            },
          ],
        })
        .catch((e) => this.opts.log(`controller: StopReplica to ${b} failed: ${(e as Error).message}`));
    }
  }

  /** The reassignments in progress (ListPartitionReassignments). */
  reassignments(): {
    topic: string;
    partition: number;
    replicas: number[];
    adding: number[];
    removing: number[];
  }[] {
    const out = [];
    for (const k of this.moving.keys()) {
      const [topic, ps] = k.split("\u0000");
      const p = Number(ps);
      const a = this.topics.get(topic);
      if (a === undefined || a.partitions[p] === undefined) continue;
      out.push({
        topic,
        partition: p,
        replicas: a.partitions[p],
        adding: a.adding?.get(p) ?? [],
        removing: a.removing?.get(p) ?? [],
      });
    }
    return out;
  }

  /**
   * A broker asks to shut down (ControlledShutdown): move its leaderships, drop it from ISRs.
   * null when `brokerEpoch` is not its current registration's (STALE_BROKER_EPOCH).
   */
  controlledShutdown(
    brokerId: number,
    brokerEpoch: bigint,
  ): Promise<{ topic: string; partition: number }[] | null> {
    // (A controller that resigns before the event runs never answers: the broker's 30 s bound.)
    if (!this.active) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.enqueue("controlled shutdown", async () => {
        if (this.live.get(brokerId)?.epoch !== brokerEpoch) {
          resolve(null);
          return;
        }
        this.shuttingDown.add(brokerId);
        const changed: string[] = [];
        const remaining: { topic: string; partition: number }[] = [];
        for (const [k, st] of this.states) {
          const s = st.s;
          if (!s.isr.includes(brokerId) && s.leader !== brokerId) continue;
          const [topic, p] = k.split("\u0000");
          const replicas = this.topics.get(topic)?.partitions[Number(p)] ?? [];
          if (replicas.length <= 1) continue;
          if (s.leader === brokerId) {
            const others = s.isr.filter(
              (r) => r !== brokerId && this.live.has(r) && !this.shuttingDown.has(r),
            );
            const next = replicas.find((r) => others.includes(r));
            if (next === undefined) {
              remaining.push({ topic, partition: Number(p) });
              continue;
            }
            const moved = await this.writeState(k, (cur) => {
              const isr = cur.isr.filter(
                (r) => r !== brokerId && this.live.has(r) && !this.shuttingDown.has(r),
              );
              const leader = replicas.find((r) => isr.includes(r));
              return cur.leader === brokerId && leader !== undefined
                ? { ...cur, leader, isr, leaderEpoch: cur.leaderEpoch + 1 }
                : null;
            });
            if (moved) changed.push(k);
            void next;
          } else {
            const moved = await this.writeState(k, (cur) => {
              const isr = cur.isr.filter((r) => r !== brokerId);
              return cur.leader !== brokerId && isr.length < cur.isr.length && isr.length > 0
                ? { ...cur, isr, leaderEpoch: cur.leaderEpoch + 1 }
                : null;
            });
            if (moved) changed.push(k);
          }
        }
        // The others hear of the new leaders; the broker stopping does not follow them (its
        // fetches would put it back into the ISRs it just left): it gets StopReplica without
        // delete for every replica it holds but still leads (Kafka's), and follows nothing more.
        await this.announce(changed, [brokerId]);
        const followed = new Map<string, number[]>();
        for (const [k, st] of this.states) {
          const [topic, p] = k.split("\u0000");
          if (
            st.s.leader === brokerId ||
            !(this.topics.get(topic)?.partitions[Number(p)] ?? []).includes(brokerId)
          )
            continue;
          let l = followed.get(topic);
          if (l === undefined) followed.set(topic, (l = []));
          l.push(Number(p));
        }
        const reg = this.live.get(brokerId);
        if (reg !== undefined && followed.size > 0)
          void this.channel(brokerId)?.requestRetrying(
            stopReplicaCodec,
            STOP_REPLICA_VERSION,
            {
              controllerId: this.opts.brokerId,
              isKRaftController: false,
              controllerEpoch: this.epoch,
              brokerEpoch: Number(reg.epoch),
              deletePartitions: false,
              ungroupedPartitions: [],
              topics: [],
              topicStates: [...followed].map(([topicName, ps]) => ({
                topicName,
                partitionStates: ps.map((partitionIndex) => ({
                  partitionIndex,
                  leaderEpoch: this.states.get(key(topicName, partitionIndex))?.s.leaderEpoch ?? -1,
                  deletePartition: false,
                })),
              })),
            },
            this.stillThere(brokerId),
            (e) => this.opts.log(`controller: StopReplica to ${brokerId} failed (retrying): ${e.message}`),
          );
        resolve(remaining);
      });
      // A controller that stops meanwhile answers nothing: the broker retries or times out.
    });
  }

  // --- elections and state writes ---

  /** Partitions of new topics without a state znode: first live replica leads, live ones in ISR. */
  private async initNewPartitions(): Promise<void> {
    const made: string[] = [];
    for (const [name, a] of this.topics) {
      for (let p = 0; p < a.partitions.length; p++) {
        const k = key(name, p);
        if (this.states.has(k)) continue;
        const live = a.partitions[p].filter((r) => this.live.has(r));
        if (live.length === 0) continue; // stays new until a replica comes
        const s: PartitionStateZ = {
          leader: live[0],
          leaderEpoch: 0,
          isr: live,
          controllerEpoch: this.epoch,
        };
        try {
          await this.zk.mkdirp(Z.partition(name, p));
          await this.zk.multi([
            { op: "check", path: Z.controllerEpoch, version: this.epochZkVersion },
            { op: "create", path: Z.partitionState(name, p), data: encodePartitionState(s) },
          ]);
          this.states.set(k, { s, zkVersion: 0 });
        } catch (e) {
          if (!(e instanceof ZkError && e.code === ZK_NODE_EXISTS)) throw e;
          await this.refresh(k);
        }
        made.push(k);
      }
    }
    if (made.length > 0) await this.announce(made, [], true);
  }

  private async electOffline(keys: string[]): Promise<string[]> {
    const changed: string[] = [];
    for (const k of keys) {
      const st = this.states.get(k);
      if (st === undefined) continue;
      if (st.s.leader >= 0 && this.live.has(st.s.leader) && !this.shuttingDown.has(st.s.leader)) continue;
      if (await this.elect(k)) changed.push(k);
    }
    return changed;
  }

  /** Elect a leader for a partition whose leader is gone. True when the state changed. */
  private elect(k: string): Promise<boolean> {
    return this.writeState(k, (s) => this.decideElection(k, s));
  }

  /** Kafka's offline-partition election on the current state: the next state, or null for none. */
  private decideElection(k: string, s: PartitionStateZ): PartitionStateZ | null {
    const [topic, p] = k.split("\u0000");
    const replicas = this.topics.get(topic)?.partitions[Number(p)] ?? [];
    const ok = (r: number) => this.live.has(r) && !this.shuttingDown.has(r);
    const liveIsr = s.isr.filter(ok);
    let leader = replicas.find((r) => liveIsr.includes(r)) ?? liveIsr[0] ?? -1;
    let isr = liveIsr;
    if (leader < 0 && this.opts.uncleanLeaderElection) {
      leader = replicas.find(ok) ?? -1;
      if (leader >= 0) {
        isr = [leader];
        this.opts.log(
          `controller: unclean leader election of ${topic}-${p}: broker ${leader} (data may be lost)`,
        );
      }
    }
    if (leader < 0) {
      if (s.leader === -1) return null;
      // No live in-sync replica: offline, the ISR kept so its members can lead again.
      this.opts.log(`controller: ${topic}-${p} has no live in-sync replica: offline`);
      return { ...s, leader: -1, leaderEpoch: s.leaderEpoch + 1 };
    }
    if (leader === s.leader && isr.length === s.isr.length) return null;
    return { ...s, leader, isr, leaderEpoch: s.leaderEpoch + 1 };
  }

  /**
   * Fenced write of a partition's state, decided on its current state. When the znode moved
   * meanwhile (a leader's ISR change) it is read again and the decision made again on it
   * (Kafka's election loop), so no decision is lost to a version race. False when there was
   * nothing to change.
   */
  private async writeState(
    k: string,
    decide: (s: PartitionStateZ) => PartitionStateZ | null,
  ): Promise<boolean> {
    const [topic, p] = k.split("\u0000");
    const path = Z.partitionState(topic, Number(p));
    for (let attempt = 0; attempt < 10; attempt++) {
      const st = this.states.get(k);
      if (st === undefined) return false;
      const next = decide(st.s);
      if (next === null) return false;
      const s = { ...next, controllerEpoch: this.epoch };
      try {
        await this.zk.multi([
          { op: "check", path: Z.controllerEpoch, version: this.epochZkVersion },
          { op: "set", path, data: encodePartitionState(s), version: st.zkVersion },
        ]);
      } catch (e) {
        if (!(e instanceof ZkError && (e.code === ZK_BAD_VERSION || e.code === ZK_NO_NODE))) throw e;
        const epoch = await this.zk.get(Z.controllerEpoch);
        if (epoch === null || epoch.stat.version !== this.epochZkVersion) {
          this.resign();
          throw new Error("another controller took over (controller epoch moved)");
        }
        await this.refresh(k);
        continue;
      }
      this.states.set(k, { s, zkVersion: st.zkVersion + 1 });
      return true;
    }
    throw new Error(`the state of ${topic}-${p} kept changing under the controller`);
  }

  private async refresh(k: string): Promise<void> {
    const [topic, p] = k.split("\u0000");
    const got = await this.zk.get(Z.partitionState(topic, Number(p)));
    if (got === null) this.states.delete(k);
    else
      this.states.set(k, {
        s: decodePartitionState(Z.partitionState(topic, Number(p)), got.data),
        zkVersion: got.stat.version,
      });
  }

  // --- telling the brokers ---

  private replicasOn(b: number): string[] {
    const out: string[] = [];
    for (const [name, a] of this.topics)
      a.partitions.forEach((r, p) => {
        if (r.includes(b) && this.states.has(key(name, p))) out.push(key(name, p));
      });
    return out;
  }

  /** Changed partitions: LeaderAndIsr to their live replicas, UpdateMetadata to every broker. */
  private async announce(keys: string[], skip: number[] = [], isNew = false): Promise<void> {
    if (keys.length === 0) return;
    const per = new Map<number, string[]>();
    for (const k of keys) {
      const [topic, p] = k.split("\u0000");
      for (const r of this.topics.get(topic)?.partitions[Number(p)] ?? []) {
        if (!this.live.has(r) || skip.includes(r)) continue;
        let l = per.get(r);
        if (l === undefined) per.set(r, (l = []));
        l.push(k);
      }
    }
    for (const [b, ks] of per) await this.sendLeaderAndIsr(b, ks, isNew);
    await this.sendUpdateMetadata([...this.live.keys()], keys);
  }

  /** Whether requests to `b` are still worth sending: this controller acts, and `b` has the same registration. */
  private stillThere(b: number): () => boolean {
    const epoch = this.live.get(b)?.epoch;
    return () => this.active && epoch !== undefined && this.live.get(b)?.epoch === epoch;
  }

  private channel(b: number): BrokerChannel | undefined {
    const reg = this.live.get(b);
    if (reg === undefined) return undefined;
    const ep = reg.endpoints.find((e) => e.name === this.opts.interBrokerListener);
    if (ep === undefined) return undefined;
    let c = this.channels.get(b);
    if (c === undefined || c.endpoint.host !== ep.host || c.endpoint.port !== ep.port) {
      c?.close();
      c = new BrokerChannel(
        b,
        { host: ep.host, port: ep.port },
        `milena-controller-${this.opts.brokerId}`,
        this.opts.security,
      );
      this.channels.set(b, c);
    }
    return c;
  }

  /** The partitions `keys` grouped by topic (with its id), each made into a request's partition state. */
  private topicStates<P>(
    keys: readonly string[],
    state: (topic: string, partition: number, a: TopicAssignment, st: State) => P,
  ): { topicName: string; topicId: Uint8Array; partitionStates: P[] }[] {
    const byTopic = new Map<string, { topicName: string; topicId: Uint8Array; partitionStates: P[] }>();
    for (const k of keys) {
      const [topic, ps] = k.split("\u0000");
      const a = this.topics.get(topic);
      const st = this.states.get(k);
      if (a === undefined || st === undefined) continue;
      let t = byTopic.get(topic);
      if (t === undefined)
        byTopic.set(topic, (t = { topicName: topic, topicId: a.topicId, partitionStates: [] }));
      t.partitionStates.push(state(topic, Number(ps), a, st));
    }
    return [...byTopic.values()];
  }

  private async sendLeaderAndIsr(b: number, keys: string[], isNew: boolean): Promise<void> {
    const reg = this.live.get(b);
    if (reg === undefined || keys.length === 0) return;
    const topicStates = this.topicStates(keys, (topic, p, a, st) => ({
      topicName: topic,
      partitionIndex: p,
      controllerEpoch: st.s.controllerEpoch,
      leader: st.s.leader,
      leaderEpoch: st.s.leaderEpoch,
      isr: st.s.isr,
      partitionEpoch: st.zkVersion,
      replicas: a.partitions[p],
      addingReplicas: [],
      removingReplicas: [],
      isNew,
      leaderRecoveryState: 0,
    }));
    const leaders = new Set<number>();
    for (const t of topicStates) for (const x of t.partitionStates) if (x.leader >= 0) leaders.add(x.leader);
    const liveLeaders = [...leaders]
      .map((l) => ({
        l,
        ep: this.live.get(l)?.endpoints.find((e) => e.name === this.opts.interBrokerListener),
      }))
      .filter((x) => x.ep !== undefined)
      .map(({ l, ep }) => ({ brokerId: l, hostName: ep!.host, port: ep!.port }));
    const req: LeaderAndIsrRequest = {
      controllerId: this.opts.brokerId,
      isKRaftController: false,
      controllerEpoch: this.epoch,
      brokerEpoch: Number(reg.epoch),
      type: 0,
      ungroupedPartitionStates: [],
      topicStates,
      liveLeaders,
    };
    // Not awaited: resent until answered while the broker stays registered (a broker that
    // registers again gets the full state anyway); the channel keeps this broker's order.
    void this.channel(b)!
      .requestRetrying(leaderAndIsrCodec, LEADER_AND_ISR_VERSION, req, this.stillThere(b), (e) =>
        this.opts.log(`controller: LeaderAndIsr to broker ${b} failed (retrying): ${e.message}`),
      )
      .then((res) => {
        if (res !== null && res.errorCode !== 0)
          this.opts.log(`controller: LeaderAndIsr to broker ${b}: error ${res.errorCode}`);
      });
  }

  private async sendUpdateMetadata(brokers: number[], keys: string[], deleting = false): Promise<void> {
    const topicStates = this.topicStates(keys, (topic, p, a, st) => ({
      topicName: topic,
      partitionIndex: p,
      controllerEpoch: st.s.controllerEpoch,
      leader: deleting ? LEADER_DURING_DELETE : st.s.leader,
      leaderEpoch: st.s.leaderEpoch,
      isr: st.s.isr,
      zkVersion: st.zkVersion,
      replicas: a.partitions[p],
      offlineReplicas: a.partitions[p].filter((r) => !this.live.has(r)),
    }));
    const liveBrokers = [...this.live.values()].map((r) => {
      const plain = r.endpoints.find((e) => e.name === "PLAINTEXT");
      return {
        id: r.id,
        v0Host: plain?.host ?? "",
        v0Port: plain?.port ?? -1,
        endpoints: r.endpoints.map((e) => ({
          port: e.port,
          host: e.host,
          listener: e.name,
          securityProtocol: SECURITY_PROTOCOL_ID[r.protocols?.[e.name] ?? "PLAINTEXT"] ?? 0,
        })),
        rack: r.rack,
      };
    });
    await Promise.all(
      brokers.map(async (b) => {
        const reg = this.live.get(b);
        if (reg === undefined) return;
        const req: UpdateMetadataRequest = {
          controllerId: this.opts.brokerId,
          isKRaftController: false,
          controllerEpoch: this.epoch,
          brokerEpoch: Number(reg.epoch),
          ungroupedPartitionStates: [],
          topicStates,
          liveBrokers,
        };
        void this.channel(b)!.requestRetrying(
          updateMetadataCodec,
          UPDATE_METADATA_VERSION,
          req,
          this.stillThere(b),
          (e) => this.opts.log(`controller: UpdateMetadata to broker ${b} failed (retrying): ${e.message}`),
        );
      }),
    );
  }
}
