// The group coordinator (src/broker/groups/coordinator.ts) on its own, with an in-memory
// OffsetsLog: offsets expiry (offsets.retention.minutes, Kafka's
// GroupMetadata.removeExpiredOffsets: a consumer group's offsets expire with the group, counted
// from when it became Empty; a standalone consumer's, each from its own last commit), the
// tombstones those leave in __consumer_offsets, the offsets of a deleted topic, and a replay of
// everything appended giving back the same state; and what the newer versions of the group APIs
// bring (batch and static LeaveGroup v3+, OffsetFetch v8+ groups, ListGroups v4+ filters,
// SyncGroup v5 protocol checks, OffsetCommit v6+ leader epochs).

import assert from "node:assert/strict";
import { afterEach, describe, it, mock } from "node:test";
import { type ClientInfo, GroupCoordinator, type OffsetsLog } from "../../src/broker/groups/coordinator.ts";
import { decodeOffsetsRecord, type OffsetsRecord } from "../../src/broker/groups/offsets_records.ts";
import { encodeAssignment, encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import type { JoinGroupRequest } from "../../src/protocol/join_group.ts";
import type { LeaveGroupRequest, LeaveGroupRequestMemberIdentity } from "../../src/protocol/leave_group.ts";
import type { OffsetCommitRequest } from "../../src/protocol/offset_commit.ts";
import { type OffsetFetchRequest, offsetFetchCodec } from "../../src/protocol/offset_fetch.ts";
import type { SyncGroupRequest } from "../../src/protocol/sync_group.ts";
import { encodeWith } from "../fixtures/protocol/helpers.ts";

const MINUTE = 60_000;
const RETENTION_MS = 24 * 60 * MINUTE;
const TOPIC = "t";
const CLIENT: ClientInfo = { clientId: "unit", clientHost: "/127.0.0.1" };

/** __consumer_offsets in memory: every append kept, in order. */
class FakeOffsetsLog implements OffsetsLog {
  coordinates(): number {
    return 0;
  }

  readonly appended: { partition: number; key: Buffer; value: Buffer | null }[] = [];
  readonly topics = new Map<string, number>([[TOPIC, 3]]);

  async append(partition: number, records: { key: Buffer; value: Buffer | null }[]): Promise<number> {
    for (const r of records) this.appended.push({ partition, ...r });
    return 0;
  }

  partitionExists(topic: string, partition: number): boolean {
    const n = this.topics.get(topic);
    return n !== undefined && partition >= 0 && partition < n;
  }

  /** Everything appended, decoded, as a replay at startup reads it. */
  records(): OffsetsRecord[] {
    return this.appended.map((r) => decodeOffsetsRecord(r.key, r.value)!);
  }

  /** Offset tombstones appended since `from`: "group/topic/partition". */
  offsetTombstones(from = 0): string[] {
    return this.records()
      .slice(from)
      .flatMap((r) =>
        r.kind === "offset" && r.value === null ? [`${r.key.group}/${r.key.topic}/${r.key.partition}`] : [],
      );
  }
}

/** initialDelayMs: group.initial.rebalance.delay.ms (static members joining a new group together need one). */
function coordinator(log: OffsetsLog, initialDelayMs = 0): GroupCoordinator {
  return new GroupCoordinator(
    {
      groupMinSessionTimeoutMs: 1000,
      groupMaxSessionTimeoutMs: 60_000,
      groupInitialRebalanceDelayMs: initialDelayMs,
      offsetsRetentionMs: RETENTION_MS,
      offsetsRetentionCheckIntervalMs: 1000,
      offsetMetadataMaxBytes: 4096,
      offsetsTopicPartitions: 3,
    },
    log,
    () => {},
  );
}

// Full requests, as the codecs decode them (every field of the spec, at its default where a
// version lacks it): the defaults, then what a test sets.

const SUBSCRIPTION = encodeSubscription({ version: 0, topics: [TOPIC], userData: null, ownedPartitions: [] });

const joinReq = (r: Partial<JoinGroupRequest> & { groupId: string }): JoinGroupRequest => ({
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 30_000,
  memberId: "",
  groupInstanceId: null,
  protocolType: "consumer",
  protocols: [{ name: "roundrobin", metadata: SUBSCRIPTION }],
  reason: null,
  ...r,
});

const syncReq = (
  r: Partial<SyncGroupRequest> & Pick<SyncGroupRequest, "groupId" | "generationId" | "memberId">,
): SyncGroupRequest => ({
  groupInstanceId: null,
  protocolType: null,
  protocolName: null,
  assignments: [],
  ...r,
});

/** v0-2 (one member) when given memberId, v3+ (a batch) when given members. */
const leaveReq = (r: Partial<LeaveGroupRequest> & { groupId: string }): LeaveGroupRequest => ({
  memberId: "",
  members: [],
  ...r,
});

const leaving = (
  memberId: string,
  groupInstanceId: string | null = null,
): LeaveGroupRequestMemberIdentity => ({
  memberId,
  groupInstanceId,
  reason: null,
});

const commitReq = (r: Partial<OffsetCommitRequest> & { groupId: string }): OffsetCommitRequest => ({
  generationIdOrMemberEpoch: -1,
  memberId: "",
  groupInstanceId: null,
  retentionTimeMs: -1,
  topics: [],
  ...r,
});

/** v0-7 (one group) when given groupId, v8+ when given groups. */
const fetchReq = (r: Partial<OffsetFetchRequest>): OffsetFetchRequest => ({
  groupId: "",
  topics: [],
  groups: [],
  requireStable: false,
  ...r,
});

async function commit(
  c: GroupCoordinator,
  groupId: string,
  offsets: Record<number, number>,
  member = { generationId: -1, memberId: "" },
  topic = TOPIC,
  committedLeaderEpoch = -1,
): Promise<number[]> {
  const res = await c.commit(
    commitReq({
      groupId,
      generationIdOrMemberEpoch: member.generationId,
      memberId: member.memberId,
      topics: [
        {
          name: topic,
          partitions: Object.entries(offsets).map(([p, o]) => ({
            partitionIndex: Number(p),
            committedOffset: o,
            committedLeaderEpoch,
            commitTimestamp: -1,
            committedMetadata: null,
          })),
        },
      ],
    }),
  );
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

function committed(c: GroupCoordinator, groupId: string, topic = TOPIC): number[] {
  const res = c.fetchOffsets(
    fetchReq({ groupId, topics: [{ name: topic, partitionIndexes: [0, 1, 2] }] }),
    7,
  );
  return res.topics[0].partitions.map((p) => p.committedOffset);
}

/** One member through JoinGroup v5 (MEMBER_ID_REQUIRED, then with the id) and SyncGroup. */
async function stableMember(c: GroupCoordinator, groupId: string) {
  const [m] = await stableGroup(c, groupId, [null]);
  return m;
}

/**
 * Members (with these group instance ids) through JoinGroup v5 (a dynamic member first gets
 * MEMBER_ID_REQUIRED; a static one its id with its join, KIP-345), all joining together: one
 * generation; then SyncGroup (the leader gives each one partition).
 */
async function stableGroup(c: GroupCoordinator, groupId: string, instanceIds: (string | null)[]) {
  const ids: string[] = [];
  for (const groupInstanceId of instanceIds) {
    if (groupInstanceId !== null) {
      ids.push("");
      continue;
    }
    const first = await c.join(joinReq({ groupId, groupInstanceId }), 5, CLIENT);
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    // No protocol yet: null (written "" below v7).
    assert.equal(first.protocolType, null);
    assert.equal(first.protocolName, null);
    ids.push(first.memberId);
  }
  const joins = await Promise.all(
    ids.map((memberId, i) =>
      c.join(joinReq({ groupId, memberId, groupInstanceId: instanceIds[i] }), 5, CLIENT),
    ),
  );
  for (const j of joins) {
    assert.equal(j.errorCode, 0);
    assert.equal(j.generationId, joins[0].generationId);
    assert.equal(j.protocolType, "consumer");
    assert.equal(j.protocolName, "roundrobin");
    assert.equal(j.skipAssignment, false);
  }
  const syncs = await Promise.all(
    joins.map((j) =>
      c.sync(
        syncReq({
          groupId,
          generationId: j.generationId,
          memberId: j.memberId,
          assignments:
            j.memberId === j.leader
              ? j.members.map((m, p) => ({
                  memberId: m.memberId,
                  assignment: encodeAssignment({
                    version: 0,
                    assignedPartitions: [{ topic: TOPIC, partitions: [p] }],
                    userData: null,
                  }),
                }))
              : [],
        }),
      ),
    ),
  );
  for (const s of syncs) assert.equal(s.errorCode, 0);
  assert.equal(c.describe([groupId]).groups[0].groupState, "Stable");
  return joins.map((j) => ({ generationId: j.generationId, memberId: j.memberId }));
}

describe("GroupCoordinator.expireOffsets", () => {
  afterEach(() => mock.timers.reset());

  it("a consumer group's offsets expire with the group, offsets.retention.minutes after it became Empty", async () => {
    const T0 = 1_700_000_000_000;
    mock.timers.enable({ apis: ["Date"], now: T0 });
    const log = new FakeOffsetsLog();
    const c = coordinator(log);
    const m = await stableMember(c, "cg");
    assert.deepEqual(await commit(c, "cg", { 0: 10, 1: 11 }, m), [0, 0]);
    // Members for a long time (longer than the retention): nothing expires while it has members.
    mock.timers.setTime(T0 + 3 * RETENTION_MS);
    await c.expireOffsets(T0 + 3 * RETENTION_MS);
    assert.deepEqual(committed(c, "cg"), [10, 11, -1]);
    assert.equal(c.describe(["cg"]).groups[0].groupState, "Stable");
    // It empties now; its offsets are older than the retention, but the count starts here.
    assert.equal(c.leave(leaveReq({ groupId: "cg", memberId: m.memberId }), 2).errorCode, 0);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.describe(["cg"]).groups[0].groupState, "Empty");
    const emptyAt = T0 + 3 * RETENTION_MS;
    await c.expireOffsets(emptyAt + RETENTION_MS - MINUTE);
    assert.deepEqual(committed(c, "cg"), [10, 11, -1]);
    assert.deepEqual(log.offsetTombstones(), []);
    const before = log.appended.length;
    await c.expireOffsets(emptyAt + RETENTION_MS + MINUTE);
    assert.deepEqual(committed(c, "cg"), [-1, -1, -1]);
    assert.equal(c.describe(["cg"]).groups[0].groupState, "Dead");
    assert.deepEqual(c.list().groups, []);
    // Tombstones for both offsets and the group, so a replay agrees.
    assert.deepEqual(log.offsetTombstones(before).sort(), ["cg/t/0", "cg/t/1"]);
    assert.ok(
      log
        .records()
        .slice(before)
        .some((r) => r.kind === "group" && r.value === null),
    );
    const replayed = coordinator(log);
    replayed.replay(log.records());
    assert.equal(replayed.groups.size, 0);
  });

  it("a standalone consumer's offsets expire each offsets.retention.minutes after its own last commit", async () => {
    const T0 = 1_700_000_000_000;
    mock.timers.enable({ apis: ["Date"], now: T0 });
    const log = new FakeOffsetsLog();
    const c = coordinator(log);
    // Memberless commits (generation -1, member ""): the group only stores offsets.
    assert.deepEqual(await commit(c, "solo", { 0: 5, 1: 6 }), [0, 0]);
    // A day minus an hour later it commits partition 1 again: that one is fresh.
    mock.timers.setTime(T0 + RETENTION_MS - 60 * MINUTE);
    assert.deepEqual(await commit(c, "solo", { 1: 7 }), [0]);
    const before = log.appended.length;
    await c.expireOffsets(T0 + RETENTION_MS + MINUTE);
    assert.deepEqual(committed(c, "solo"), [-1, 7, -1], "only the offset older than the retention expires");
    assert.deepEqual(log.offsetTombstones(before), ["solo/t/0"]);
    assert.equal(c.describe(["solo"]).groups[0].groupState, "Empty");
    // The replay agrees.
    const replayed = coordinator(log);
    replayed.replay(log.records());
    assert.deepEqual(committed(replayed, "solo"), [-1, 7, -1]);
    // Its last offset's retention runs out: the group goes with it.
    await c.expireOffsets(T0 + 2 * RETENTION_MS);
    assert.deepEqual(committed(c, "solo"), [-1, -1, -1]);
    assert.equal(c.groups.has("solo"), false);
    const replayed2 = coordinator(log);
    replayed2.replay(log.records());
    assert.equal(replayed2.groups.has("solo"), false);
  });

  it("an empty group younger than the retention is kept, with its offsets", async () => {
    const log = new FakeOffsetsLog();
    const c = coordinator(log);
    const now = Date.now();
    assert.deepEqual(await commit(c, "young", { 2: 1 }), [0]);
    await c.expireOffsets(now + RETENTION_MS - MINUTE);
    assert.deepEqual(committed(c, "young"), [-1, -1, 1]);
    assert.deepEqual(log.offsetTombstones(), []);
  });
});

describe("GroupCoordinator.topicDeleted", () => {
  it("tombstones the deleted topic's offsets in every group, and only those", async () => {
    const log = new FakeOffsetsLog();
    log.topics.set("other", 3);
    const c = coordinator(log);
    assert.deepEqual(await commit(c, "a", { 0: 1, 2: 3 }), [0, 0]);
    assert.deepEqual(await commit(c, "a", { 0: 9 }, undefined, "other"), [0]);
    assert.deepEqual(await commit(c, "b", { 1: 4 }), [0]);
    const before = log.appended.length;
    await c.topicDeleted(TOPIC);
    assert.deepEqual(committed(c, "a"), [-1, -1, -1]);
    assert.deepEqual(committed(c, "b"), [-1, -1, -1]);
    assert.deepEqual(committed(c, "a", "other"), [9, -1, -1]);
    assert.deepEqual(log.offsetTombstones(before).sort(), ["a/t/0", "a/t/2", "b/t/1"]);
    const replayed = coordinator(log);
    replayed.replay(log.records());
    assert.deepEqual(committed(replayed, "a"), [-1, -1, -1]);
    assert.deepEqual(committed(replayed, "a", "other"), [9, -1, -1]);
  });
});

describe("Kafka's answers in the corners (GroupCoordinator.handleCommitOffsets / handleLeaveGroup)", () => {
  it("a memberless commit to a group with members: UNKNOWN_MEMBER_ID", async () => {
    const c = coordinator(new FakeOffsetsLog());
    await stableMember(c, "busy");
    assert.deepEqual(await commit(c, "busy", { 0: 5 }), [ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.deepEqual(committed(c, "busy"), [-1, -1, -1]);
    c.stop();
  });

  it("a commit with a generation to a group that does not exist: ILLEGAL_GENERATION", async () => {
    const c = coordinator(new FakeOffsetsLog());
    assert.deepEqual(await commit(c, "nobody", { 0: 5 }, { generationId: 3, memberId: "m" }), [
      ErrorCode.ILLEGAL_GENERATION,
    ]);
    assert.deepEqual(committed(c, "nobody"), [-1, -1, -1]);
  });

  it("LeaveGroup with an id from MEMBER_ID_REQUIRED that never joined forgets it", async () => {
    const c = coordinator(new FakeOffsetsLog());
    const first = await c.join(
      joinReq({ groupId: "g", protocols: [{ name: "range", metadata: Buffer.alloc(0) }] }),
      5,
      CLIENT,
    );
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(c.groups.get("g")!.pendingMembers.size, 1);
    assert.equal(c.leave(leaveReq({ groupId: "g", memberId: first.memberId }), 2).errorCode, 0);
    assert.equal(c.groups.get("g")!.pendingMembers.size, 0);
    c.stop();
  });

  it("LeaveGroup v0-2 of an unknown member: UNKNOWN_MEMBER_ID at the top, no member answers", async () => {
    const c = coordinator(new FakeOffsetsLog());
    const [m] = await stableGroup(c, "g", [null]);
    assert.deepStrictEqual(c.leave(leaveReq({ groupId: "g", memberId: "nobody" }), 2), {
      throttleTimeMs: 0,
      errorCode: ErrorCode.UNKNOWN_MEMBER_ID,
      members: [],
    });
    assert.ok(c.groups.get("g")!.members.has(m.memberId));
    c.stop();
  });
});

describe("GroupCoordinator and the newer versions of the group APIs", () => {
  it("LeaveGroup v3: a batch, answered per member; an unknown one gets UNKNOWN_MEMBER_ID, the others leave", async () => {
    const c = coordinator(new FakeOffsetsLog());
    const [a, b, d] = await stableGroup(c, "batch", [null, null, null]);
    const res = c.leave(
      leaveReq({
        groupId: "batch",
        members: [
          { ...leaving(a.memberId), reason: "the consumer is being closed" },
          leaving("nobody"),
          leaving(b.memberId),
        ],
      }),
      3,
    );
    assert.deepStrictEqual(res, {
      throttleTimeMs: 0,
      errorCode: 0,
      members: [
        { memberId: a.memberId, groupInstanceId: null, errorCode: 0 },
        { memberId: "nobody", groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
        { memberId: b.memberId, groupInstanceId: null, errorCode: 0 },
      ],
    });
    const g = c.groups.get("batch")!;
    assert.deepStrictEqual([...g.members.keys()], [d.memberId]);
    assert.equal(g.state, "PreparingRebalance");
    // The one left rejoins alone: a new generation of one.
    const j = await c.join(joinReq({ groupId: "batch", memberId: d.memberId }), 5, CLIENT);
    assert.equal(j.errorCode, 0);
    assert.equal(j.generationId, d.generationId + 1);
    assert.deepStrictEqual(
      j.members.map((m) => m.memberId),
      [d.memberId],
    );
    c.stop();
  });

  it("LeaveGroup v3 by group instance id (static members): an empty member id, or the matching one", async () => {
    const c = coordinator(new FakeOffsetsLog(), 50);
    const [a, b, d] = await stableGroup(c, "static", ["instance-a", "instance-b", "instance-d"]);
    const g = c.groups.get("static")!;
    assert.equal(g.members.get(a.memberId)!.groupInstanceId, "instance-a");
    const res = c.leave(
      leaveReq({
        groupId: "static",
        members: [
          leaving("", "instance-a"),
          // A member id that is not the instance's: fenced, and it stays.
          leaving("someone-else", "instance-b"),
          leaving("", "instance-unknown"),
          leaving(d.memberId, "instance-d"),
        ],
      }),
      4,
    );
    assert.deepStrictEqual(res.members, [
      { memberId: "", groupInstanceId: "instance-a", errorCode: 0 },
      { memberId: "someone-else", groupInstanceId: "instance-b", errorCode: ErrorCode.FENCED_INSTANCE_ID },
      { memberId: "", groupInstanceId: "instance-unknown", errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
      { memberId: d.memberId, groupInstanceId: "instance-d", errorCode: 0 },
    ]);
    assert.equal(res.errorCode, 0);
    assert.deepStrictEqual([...g.members.keys()], [b.memberId]);
    c.stop();
  });

  it("OffsetFetch v8: two groups in one request, each answered with its own offsets", async () => {
    const c = coordinator(new FakeOffsetsLog());
    assert.deepEqual(await commit(c, "g1", { 0: 10, 1: 11 }), [0, 0]);
    assert.deepEqual(await commit(c, "g2", { 2: 22 }), [0]);
    const none = { committedLeaderEpoch: -1, metadata: "", errorCode: 0 };
    const res = c.fetchOffsets(
      fetchReq({
        groups: [
          {
            groupId: "g1",
            memberId: null,
            memberEpoch: -1,
            topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }],
          },
          // null: every offset the group committed.
          { groupId: "g2", memberId: null, memberEpoch: -1, topics: null },
        ],
      }),
      8,
    );
    assert.deepStrictEqual(res, {
      throttleTimeMs: 0,
      topics: [],
      errorCode: 0,
      groups: [
        {
          groupId: "g1",
          topics: [
            {
              name: TOPIC,
              partitions: [
                { partitionIndex: 0, committedOffset: 10, ...none },
                { partitionIndex: 1, committedOffset: 11, ...none },
                { partitionIndex: 2, committedOffset: -1, ...none },
              ],
            },
          ],
          errorCode: 0,
        },
        {
          groupId: "g2",
          topics: [{ name: TOPIC, partitions: [{ partitionIndex: 2, committedOffset: 22, ...none }] }],
          errorCode: 0,
        },
      ],
    });
    // The same answer as one v7 request per group.
    const v7 = c.fetchOffsets(
      fetchReq({ groupId: "g1", topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }] }),
      7,
    );
    assert.deepStrictEqual(v7.topics, res.groups[0].topics);
    assert.deepStrictEqual(v7.groups, []);
    // And it is what v8 can carry.
    const bytes = encodeWith((w) => offsetFetchCodec.encodeResponse(w, 8, res));
    assert.ok(bytes.length > 0);
  });

  it("ListGroups v4+: a states filter (any case), v5 a types filter; each group with its state and type", async () => {
    const c = coordinator(new FakeOffsetsLog());
    await stableMember(c, "busy");
    assert.deepEqual(await commit(c, "idle", { 0: 1 }), [0]);
    const names = (states: string[], types: string[] = []) =>
      c
        .list(states, types)
        .groups.map((g) => g.groupId)
        .sort();
    assert.deepStrictEqual(names([]), ["busy", "idle"]);
    assert.deepStrictEqual(names(["Stable"]), ["busy"]);
    assert.deepStrictEqual(names(["Empty"]), ["idle"]);
    assert.deepStrictEqual(names(["empty", "STABLE"]), ["busy", "idle"]);
    assert.deepStrictEqual(names(["PreparingRebalance", "Dead"]), []);
    assert.deepStrictEqual(names([], ["classic"]), ["busy", "idle"]);
    assert.deepStrictEqual(names([], ["consumer"]), []);
    assert.deepStrictEqual(names(["Stable"], ["Classic"]), ["busy"]);
    assert.deepStrictEqual(c.list(["Stable"]), {
      throttleTimeMs: 0,
      errorCode: 0,
      groups: [{ groupId: "busy", protocolType: "consumer", groupState: "Stable", groupType: "classic" }],
    });
    c.stop();
  });

  it("SyncGroup v5: a protocol type or name not the group's is INCONSISTENT_GROUP_PROTOCOL; the answer names them", async () => {
    const c = coordinator(new FakeOffsetsLog());
    const m = await stableMember(c, "named");
    const base = { groupId: "named", ...m };
    const wrongName = await c.sync(syncReq({ ...base, protocolType: "consumer", protocolName: "range" }));
    assert.equal(wrongName.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    assert.equal(wrongName.protocolName, null);
    const wrongType = await c.sync(syncReq({ ...base, protocolType: "connect", protocolName: "roundrobin" }));
    assert.equal(wrongType.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    const right = await c.sync(syncReq({ ...base, protocolType: "consumer", protocolName: "roundrobin" }));
    assert.equal(right.errorCode, 0);
    assert.equal(right.protocolType, "consumer");
    assert.equal(right.protocolName, "roundrobin");
    assert.ok(right.assignment.length > 0);
    // Below v5 (both null) nothing is checked.
    assert.equal((await c.sync(syncReq(base))).errorCode, 0);
    c.stop();
  });

  it("OffsetCommit v6+: the committed leader epoch comes back in OffsetFetch v5+, also after a replay", async () => {
    const log = new FakeOffsetsLog();
    const c = coordinator(log);
    assert.deepEqual(await commit(c, "epochs", { 0: 100 }, undefined, TOPIC, 7), [0]);
    assert.deepEqual(await commit(c, "epochs", { 1: 50 }), [0]);
    const fetch = (x: GroupCoordinator) =>
      x
        .fetchOffsets(
          fetchReq({ groupId: "epochs", topics: [{ name: TOPIC, partitionIndexes: [0, 1, 2] }] }),
          7,
        )
        .topics[0].partitions.map((p) => [p.committedOffset, p.committedLeaderEpoch]);
    assert.deepStrictEqual(fetch(c), [
      [100, 7],
      [50, -1],
      [-1, -1],
    ]);
    const replayed = coordinator(log);
    replayed.replay(log.records());
    assert.deepStrictEqual(fetch(replayed), fetch(c));
    // v8+ too.
    const v8 = c.fetchOffsets(
      fetchReq({ groups: [{ groupId: "epochs", memberId: null, memberEpoch: -1, topics: null }] }),
      8,
    );
    assert.deepStrictEqual(
      v8.groups[0].topics[0].partitions.map((p) => [p.partitionIndex, p.committedLeaderEpoch]),
      [
        [0, 7],
        [1, -1],
      ],
    );
  });

  it("JoinGroup v5 static members (KIP-345): an id at once; a restarted instance replaces its old self, whose id is fenced", async () => {
    const c = coordinator(new FakeOffsetsLog());
    const first = await c.join(joinReq({ groupId: "st", groupInstanceId: "inst-1" }), 5, CLIENT);
    assert.equal(first.errorCode, 0, "no MEMBER_ID_REQUIRED round for a static member");
    assert.notEqual(first.memberId, "");
    const old = first.memberId;
    // The same instance again with an empty member id (a restart): a new id, the old one fenced.
    const again = await c.join(joinReq({ groupId: "st", groupInstanceId: "inst-1" }), 5, CLIENT);
    assert.equal(again.errorCode, 0);
    assert.notEqual(again.memberId, old);
    const g = c.groups.get("st")!;
    assert.deepEqual([...g.members.keys()], [again.memberId]);
    // The old id, with the instance id, is FENCED_INSTANCE_ID everywhere.
    const stale = await c.join(
      joinReq({ groupId: "st", memberId: old, groupInstanceId: "inst-1" }),
      5,
      CLIENT,
    );
    assert.equal(stale.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    assert.equal(
      c.heartbeat({
        groupId: "st",
        generationId: again.generationId,
        memberId: old,
        groupInstanceId: "inst-1",
      }).errorCode,
      ErrorCode.FENCED_INSTANCE_ID,
    );
    const sync = await c.sync(
      syncReq({ groupId: "st", generationId: again.generationId, memberId: old, groupInstanceId: "inst-1" }),
    );
    assert.equal(sync.errorCode, ErrorCode.FENCED_INSTANCE_ID);
    c.stop();
  });

  it("a static member replaced while its JoinGroup waits gets FENCED_INSTANCE_ID there, not UNKNOWN_MEMBER_ID", async () => {
    const c = coordinator(new FakeOffsetsLog());
    const first = await c.join(joinReq({ groupId: "st2", groupInstanceId: "inst-1" }), 5, CLIENT);
    assert.equal(first.errorCode, 0);
    await c.sync(
      syncReq({
        groupId: "st2",
        generationId: first.generationId,
        memberId: first.memberId,
        groupInstanceId: "inst-1",
      }),
    );
    // A dynamic member joins: a rebalance; the static one rejoins and waits for it.
    const dyn = await c.join(joinReq({ groupId: "st2" }), 5, CLIENT);
    const dynJoin = c.join(joinReq({ groupId: "st2", memberId: dyn.memberId }), 5, CLIENT);
    const waiting = c.join(
      joinReq({ groupId: "st2", memberId: first.memberId, groupInstanceId: "inst-1" }),
      5,
      CLIENT,
    );
    // A second process with the same instance id replaces it.
    const replacement = c.join(joinReq({ groupId: "st2", groupInstanceId: "inst-1" }), 5, CLIENT);
    assert.equal((await waiting).errorCode, ErrorCode.FENCED_INSTANCE_ID);
    const [r, d] = await Promise.all([replacement, dynJoin]);
    assert.deepEqual([r.errorCode, d.errorCode], [0, 0]);
    c.stop();
  });
});

describe("GroupCoordinator: a store of an earlier generation in flight", () => {
  /** Holds the first append until released (a slow offsets log). */
  class SlowFirstAppend extends FakeOffsetsLog {
    private release: (() => void) | null = null;
    private held = false;
    readonly gate = new Promise<void>((r) => {
      this.release = r;
    });
    override async append(
      partition: number,
      records: { key: Buffer; value: Buffer | null }[],
    ): Promise<number> {
      if (!this.held) {
        this.held = true;
        await this.gate;
      }
      return super.append(partition, records);
    }
    open(): void {
      this.release?.();
    }
  }

  it("the next generation's SyncGroup is answered (it hung: the leader's assignment was ignored)", async () => {
    const log = new SlowFirstAppend();
    const c = coordinator(log);
    const groupId = "slow-store";
    const a0 = await c.join(joinReq({ groupId }), 5, CLIENT);
    const a1 = await c.join(joinReq({ groupId, memberId: a0.memberId }), 5, CLIENT);
    // Generation 1: its leader's assignment goes to the (held) log.
    const firstSync = c.sync(syncReq({ groupId, generationId: a1.generationId, memberId: a1.memberId }));
    // A second member joins: generation 2 while generation 1's store is still in flight.
    const b0 = await c.join(joinReq({ groupId }), 5, CLIENT);
    const bJoin = c.join(joinReq({ groupId, memberId: b0.memberId }), 5, CLIENT);
    const aJoin = c.join(joinReq({ groupId, memberId: a1.memberId }), 5, CLIENT);
    const [a2, b2] = await Promise.all([aJoin, bJoin]);
    assert.equal(a2.generationId, b2.generationId);
    const leader = a2.memberId === a2.leader ? a2 : b2;
    const syncs = [a2, b2].map((j) =>
      c.sync(
        syncReq({
          groupId,
          generationId: j.generationId,
          memberId: j.memberId,
          assignments:
            j === leader
              ? leader.members.map((m) => ({ memberId: m.memberId, assignment: Buffer.from("x") }))
              : [],
        }),
      ),
    );
    log.open();
    await firstSync;
    const answered = await Promise.race([
      Promise.all(syncs).then((r) => r.map((x) => x.errorCode)),
      new Promise<string>((r) => setTimeout(() => r("hung"), 2000).unref()),
    ]);
    assert.deepEqual(answered, [0, 0]);
    assert.equal(c.describe([groupId]).groups[0].groupState, "Stable");
    c.stop();
  });
});
