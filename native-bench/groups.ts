// Consumer-group figures (issue #5), with raw-protocol group members driven here (JoinGroup v5,
// SyncGroup v3, Heartbeat v3, LeaveGroup v2 through src/protocol's codecs, each member on its
// own TCP connection, the leader assigning ranges as Kafka's RangeAssignor does):
//
//   rebalance   10 members over a 100-partition topic, stable; then one member leaves
//               (LeaveGroup) or dies (its socket closed, nothing sent). Measured from the
//               leave/death to the moment every remaining member holds its new assignment (its
//               SyncGroup reply of the new generation). Members heartbeat every 100 ms, so they
//               learn of a rebalance within that; "notice" is when the last of them did. A death
//               is only seen when the member's session times out: that timeout dominates, and is
//               printed with the figure.
//   consume     the W1 load spread over 8 partitions, read back from offset 0 by one consumer (all
//               8 partitions, one fetch in flight) and by a group of 4 (2 partitions each, 4
//               connections, one fetch in flight each), Fetch v11 max_bytes 50 MiB,
//               partition_max_bytes 8 MiB, batch headers only.

import { decodeAssignment, encodeAssignment, encodeSubscription } from "../src/protocol/consumer_protocol.ts";
import { heartbeatCodec } from "../src/protocol/heartbeat.ts";
import { type JoinGroupMember, joinGroupCodec } from "../src/protocol/join_group.ts";
import { leaveGroupCodec } from "../src/protocol/leave_group.ts";
import { syncGroupCodec } from "../src/protocol/sync_group.ts";
import { BenchBroker } from "./broker.ts";
import {
  type BenchConnection,
  connect,
  createTopic,
  fetchPartitions,
  produceFrameMulti,
  produceRepeated,
  rpc,
} from "./client.ts";
import { buildBatches, fmtInt } from "./e2e.ts";

const MEMBER_ID_REQUIRED = 79;
const REBALANCE_IN_PROGRESS = 27;
const UNKNOWN_MEMBER_ID = 25;
const ILLEGAL_GENERATION = 22;

export const HEARTBEAT_MS = 100;

class Member {
  memberId = "";
  generation = -1;
  partitions: number[] = [];
  assignedAt = 0;
  noticedAt = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    readonly conn: BenchConnection,
    private readonly group: string,
    private readonly topic: string,
    private readonly partitionCount: number,
    private readonly sessionTimeoutMs: number,
  ) {}

  async joinAndSync(): Promise<void> {
    for (;;) {
      const j = await rpc(this.conn, joinGroupCodec, 5, {
        groupId: this.group,
        sessionTimeoutMs: this.sessionTimeoutMs,
        rebalanceTimeoutMs: 30_000,
        memberId: this.memberId,
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [
          {
            name: "range",
            metadata: encodeSubscription({
              version: 0,
              topics: [this.topic],
              userData: null,
              ownedPartitions: [],
            }),
          },
        ],
      });
      if (j.errorCode === MEMBER_ID_REQUIRED) {
        this.memberId = j.memberId;
        continue;
      }
      if (j.errorCode === UNKNOWN_MEMBER_ID) {
        this.memberId = "";
        continue;
      }
      if (j.errorCode !== 0) throw new Error(`JoinGroup: error ${j.errorCode}`);
      this.memberId = j.memberId;
      const assignments = j.leader === j.memberId ? this.assign(j.members) : [];
      const s = await rpc(this.conn, syncGroupCodec, 3, {
        groupId: this.group,
        generationId: j.generationId,
        memberId: this.memberId,
        groupInstanceId: null,
        assignments,
      });
      if (s.errorCode === REBALANCE_IN_PROGRESS || s.errorCode === ILLEGAL_GENERATION) continue;
      if (s.errorCode !== 0) throw new Error(`SyncGroup: error ${s.errorCode}`);
      this.generation = j.generationId;
      this.partitions = decodeAssignment(s.assignment).assignedPartitions.flatMap((t) => t.partitions);
      this.assignedAt = performance.now();
      return;
    }
  }

  /** Kafka's RangeAssignor for one topic: members sorted by id, contiguous ranges. */
  private assign(members: JoinGroupMember[]): { memberId: string; assignment: Uint8Array }[] {
    const ids = members.map((m) => m.memberId).sort();
    const per = Math.floor(this.partitionCount / ids.length);
    const extra = this.partitionCount % ids.length;
    let next = 0;
    return ids.map((memberId, i) => {
      const n = per + (i < extra ? 1 : 0);
      const partitions = Array.from({ length: n }, (_, k) => next + k);
      next += n;
      return {
        memberId,
        assignment: encodeAssignment({
          version: 0,
          assignedPartitions: [{ topic: this.topic, partitions }],
          userData: null,
        }),
      };
    });
  }

  startHeartbeats(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await new Promise((r) => setTimeout(r, HEARTBEAT_MS));
        if (this.stopped) return;
        const h = await rpc(this.conn, heartbeatCodec, 3, {
          groupId: this.group,
          generationId: this.generation,
          memberId: this.memberId,
          groupInstanceId: null,
        });
        if (this.stopped) return;
        if (h.errorCode === 0) continue;
        if (h.errorCode === REBALANCE_IN_PROGRESS) this.noticedAt = performance.now();
        else if (h.errorCode === UNKNOWN_MEMBER_ID) this.memberId = "";
        else if (h.errorCode !== ILLEGAL_GENERATION) throw new Error(`Heartbeat: error ${h.errorCode}`);
        await this.joinAndSync();
      }
    })();
    this.loop.catch(() => {});
  }

  async stopHeartbeats(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => {});
  }

  async leave(): Promise<void> {
    this.stopped = true;
    await rpc(this.conn, leaveGroupCodec, 2, { groupId: this.group, memberId: this.memberId });
    this.conn.close();
  }

  die(): void {
    this.stopped = true;
    this.conn.close();
  }
}

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`groups: ${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Every member on the same, latest generation, the partitions all assigned exactly once. */
function stable(members: Member[], partitions: number): boolean {
  const gen = members[0].generation;
  if (gen < 0 || members.some((m) => m.generation !== gen)) return false;
  const seen = new Set<number>();
  for (const m of members) for (const p of m.partitions) seen.add(p);
  return seen.size === partitions && members.reduce((n, m) => n + m.partitions.length, 0) === partitions;
}

async function formGroup(
  port: number,
  group: string,
  topic: string,
  partitions: number,
  size: number,
  sessionTimeoutMs: number,
): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 0; i < size; i++)
    members.push(new Member(await connect("tcp", port), group, topic, partitions, sessionTimeoutMs));
  await Promise.all(members.map((m) => m.joinAndSync()));
  for (const m of members) m.startHeartbeats();
  await until(() => stable(members, partitions), 30_000, `a stable group of ${size}`);
  return members;
}

export interface RebalanceRow {
  event: "leave" | "death";
  /** Leave/death to every remaining member assigned, ms (median). */
  ms: number;
  runs: number[];
  /** Leave/death to the last remaining member's REBALANCE_IN_PROGRESS heartbeat, ms (median). */
  noticeMs: number;
  sessionTimeoutMs: number;
}

export interface GroupConsumeRow {
  consumers: number;
  msgs: number;
  runs: number[];
}

export interface GroupsResult {
  rebalance: RebalanceRow[];
  consume: GroupConsumeRow[];
  records: number;
  members: number;
  partitions: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function measureGroups(
  quick: boolean,
  records: number,
  log: (line: string) => void,
): Promise<GroupsResult> {
  const reps = quick ? 1 : 3;
  const sessionTimeoutMs = quick ? 1000 : 6000;
  const size = 10;
  const partitions = 100;
  // group.min.session.timeout.ms lowered so that QUICK can use 1 s; the initial rebalance delay
  // off so that forming a group (not measured) does not wait 3 s.
  const broker = await BenchBroker.start({
    overrides: { "group.min.session.timeout.ms": 1000, "group.initial.rebalance.delay.ms": 0 },
  });
  try {
    const admin = await connect("tcp", broker.kafkaPort);
    await createTopic(admin, "groups-rebalance", partitions);
    const rebalance: RebalanceRow[] = [];
    const trials = new Map<string, { ms: number[]; notice: number[] }>();
    for (let rep = 1; rep <= reps; rep++) {
      for (const event of ["leave", "death"] as const) {
        const members = await formGroup(
          broker.kafkaPort,
          `bench-rebalance-${event}-${rep}`,
          "groups-rebalance",
          partitions,
          size,
          sessionTimeoutMs,
        );
        const g0 = members[0].generation;
        const victim = members[size - 1];
        const rest = members.slice(0, size - 1);
        const t0 = performance.now();
        if (event === "leave") await victim.leave();
        else victim.die();
        await until(
          () => rest.every((m) => m.generation > g0) && stable(rest, partitions),
          sessionTimeoutMs + 30_000,
          `the group after a ${event}`,
        );
        const ms = Math.max(...rest.map((m) => m.assignedAt)) - t0;
        const notice = Math.max(...rest.map((m) => m.noticedAt)) - t0;
        const t = trials.get(event) ?? { ms: [], notice: [] };
        t.ms.push(ms);
        t.notice.push(notice);
        trials.set(event, t);
        log(
          `groups: rep ${rep}, ${event}: all ${size - 1} reassigned after ${ms.toFixed(0)} ms (last notice ${notice.toFixed(0)} ms)`,
        );
        for (const m of rest) await m.stopHeartbeats();
        for (const m of rest) m.conn.close();
      }
    }
    for (const [event, t] of trials)
      rebalance.push({
        event: event as "leave" | "death",
        ms: median(t.ms),
        runs: t.ms,
        noticeMs: median(t.notice),
        sessionTimeoutMs,
      });

    // Group consume: the W1 load over 8 partitions.
    const consumeParts = 8;
    const { full } = buildBatches(150, 150, 100);
    const batchesPerPartition = Math.ceil(records / consumeParts / full.records);
    const total = batchesPerPartition * full.records * consumeParts;
    await createTopic(admin, "groups-consume", consumeParts);
    await produceRepeated(
      admin,
      produceFrameMulti(
        "groups-consume",
        full.batch,
        1,
        Array.from({ length: consumeParts }, (_, i) => i),
      ),
      batchesPerPartition,
      32,
    );
    admin.close();
    const perPartitionEnd = batchesPerPartition * full.records;
    const runs = new Map<number, number[]>();
    for (let rep = 1; rep <= reps; rep++) {
      for (const n of [1, 4]) {
        const members = await formGroup(
          broker.kafkaPort,
          `bench-consume-${n}-${rep}`,
          "groups-consume",
          consumeParts,
          n,
          sessionTimeoutMs,
        );
        for (const m of members) await m.stopHeartbeats();
        const t0 = performance.now();
        const got = await Promise.all(
          members.map((m) =>
            fetchPartitions(
              m.conn,
              "groups-consume",
              new Map(m.partitions.map((p) => [p, perPartitionEnd])),
              50 << 20,
              8 << 20,
            ),
          ),
        );
        const ms = performance.now() - t0;
        const read = got.reduce((a, g) => a + g.records, 0);
        if (read !== total) throw new Error(`groups: ${n} consumer(s) read ${read} of ${total}`);
        const rate = (total / ms) * 1000;
        runs.set(n, [...(runs.get(n) ?? []), rate]);
        log(`groups: rep ${rep}, ${n} consumer(s): ${fmtInt(rate)} msg/s`);
        for (const m of members) m.conn.close();
      }
    }
    return {
      rebalance,
      consume: [...runs].map(([consumers, rs]) => ({ consumers, msgs: median(rs), runs: rs })),
      records: total,
      members: size,
      partitions,
    };
  } finally {
    await broker.stop();
  }
}
