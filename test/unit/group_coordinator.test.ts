// The group coordinator (src/broker/groups/coordinator.ts) on its own, with an in-memory
// OffsetsLog: offsets expiry (offsets.retention.minutes, Kafka's
// GroupMetadata.removeExpiredOffsets: a consumer group's offsets expire with the group, counted
// from when it became Empty; a standalone consumer's, each from its own last commit), the
// tombstones those leave in __consumer_offsets, the offsets of a deleted topic, and a replay of
// everything appended giving back the same state.

import assert from "node:assert/strict";
import { afterEach, describe, it, mock } from "node:test";
import { type ClientInfo, GroupCoordinator, type OffsetsLog } from "../../src/broker/groups/coordinator.ts";
import { decodeOffsetsRecord, type OffsetsRecord } from "../../src/broker/groups/offsets_records.ts";
import { encodeAssignment, encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";

const MINUTE = 60_000;
const RETENTION_MS = 24 * 60 * MINUTE;
const TOPIC = "t";
const CLIENT: ClientInfo = { clientId: "unit", clientHost: "/127.0.0.1" };

/** __consumer_offsets in memory: every append kept, in order. */
class FakeOffsetsLog implements OffsetsLog {
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

function coordinator(log: OffsetsLog): GroupCoordinator {
  return new GroupCoordinator(
    {
      groupMinSessionTimeoutMs: 1000,
      groupMaxSessionTimeoutMs: 60_000,
      groupInitialRebalanceDelayMs: 0,
      offsetsRetentionMs: RETENTION_MS,
      offsetsRetentionCheckIntervalMs: 1000,
      offsetMetadataMaxBytes: 4096,
      offsetsTopicPartitions: 3,
    },
    log,
    () => {},
  );
}

async function commit(
  c: GroupCoordinator,
  groupId: string,
  offsets: Record<number, number>,
  member = { generationId: -1, memberId: "" },
  topic = TOPIC,
): Promise<number[]> {
  const res = await c.commit({
    groupId,
    ...member,
    retentionTimeMs: -1,
    topics: [
      {
        name: topic,
        partitions: Object.entries(offsets).map(([p, o]) => ({
          partitionIndex: Number(p),
          committedOffset: o,
          committedMetadata: null,
        })),
      },
    ],
  });
  return res.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));
}

function committed(c: GroupCoordinator, groupId: string, topic = TOPIC): number[] {
  const res = c.fetchOffsets({ groupId, topics: [{ name: topic, partitionIndexes: [0, 1, 2] }] });
  return res.topics[0].partitions.map((p) => p.committedOffset);
}

/** One member through JoinGroup v5 (MEMBER_ID_REQUIRED, then with the id) and SyncGroup. */
async function stableMember(c: GroupCoordinator, groupId: string) {
  const req = {
    groupId,
    sessionTimeoutMs: 30_000,
    rebalanceTimeoutMs: 30_000,
    groupInstanceId: null,
    protocolType: "consumer",
    protocols: [
      {
        name: "roundrobin",
        metadata: encodeSubscription({ version: 0, topics: [TOPIC], userData: null, ownedPartitions: [] }),
      },
    ],
  };
  const first = await c.join({ ...req, memberId: "" }, 5, CLIENT);
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  const j = await c.join({ ...req, memberId: first.memberId }, 5, CLIENT);
  assert.equal(j.errorCode, 0);
  const assignment = encodeAssignment({
    version: 0,
    assignedPartitions: [{ topic: TOPIC, partitions: [0, 1, 2] }],
    userData: null,
  });
  const s = await c.sync({
    groupId,
    generationId: j.generationId,
    memberId: j.memberId,
    groupInstanceId: null,
    assignments: [{ memberId: j.memberId, assignment }],
  });
  assert.equal(s.errorCode, 0);
  return { generationId: j.generationId, memberId: j.memberId };
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
    assert.equal(c.leave({ groupId: "cg", memberId: m.memberId }).errorCode, 0);
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
      {
        groupId: "g",
        sessionTimeoutMs: 30_000,
        rebalanceTimeoutMs: 30_000,
        memberId: "",
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [{ name: "range", metadata: Buffer.alloc(0) }],
      },
      5,
      CLIENT,
    );
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.equal(c.groups.get("g")!.pendingMembers.size, 1);
    assert.equal(c.leave({ groupId: "g", memberId: first.memberId }).errorCode, 0);
    assert.equal(c.groups.get("g")!.pendingMembers.size, 0);
    c.stop();
  });
});
