// Group coordinator error answers over a raw TCP connection (hand-built frames through Milena's
// codecs), as GroupCoordinator.scala gives them: stale generations (ILLEGAL_GENERATION 22),
// unknown members (UNKNOWN_MEMBER_ID 25), a foreign protocol type or assignor
// (INCONSISTENT_GROUP_PROTOCOL 23), an empty group id (INVALID_GROUP_ID 24), session timeouts
// outside group.{min,max}.session.timeout.ms (INVALID_SESSION_TIMEOUT 26), KIP-394's
// MEMBER_ID_REQUIRED (79); after each, the group is unchanged and nothing is committed. Then
// what is accepted: a memberless commit (kcat's simple consumer), a commit while the group
// prepares a rebalance (kafkajs commits on REBALANCE_IN_PROGRESS before it rejoins); OffsetFetch
// answering every requested partition; DeleteGroups (NON_EMPTY_GROUP 68, GROUP_ID_NOT_FOUND 69,
// deletion that survives a restart); the offsets of a deleted topic going with it; commits for
// an unknown topic or partition (UNKNOWN_TOPIC_OR_PARTITION 3).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeAssignment, encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { deleteGroupsCodec } from "../../src/protocol/delete_groups.ts";
import { deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import { describeGroupsCodec } from "../../src/protocol/describe_groups.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { heartbeatCodec } from "../../src/protocol/heartbeat.ts";
import { type JoinGroupResponse, joinGroupCodec } from "../../src/protocol/join_group.ts";
import { leaveGroupCodec } from "../../src/protocol/leave_group.ts";
import { listGroupsCodec } from "../../src/protocol/list_groups.ts";
import { type OffsetCommitResponse, offsetCommitCodec } from "../../src/protocol/offset_commit.ts";
import { offsetFetchCodec } from "../../src/protocol/offset_fetch.ts";
import { syncGroupCodec } from "../../src/protocol/sync_group.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const TOPIC = "grp-errors";
const PARTITIONS = 3;
const MIN_SESSION_MS = 1000;
const MAX_SESSION_MS = 60_000;
const SESSION_MS = 10_000;
const ALL = Array.from({ length: PARTITIONS }, (_, i) => i);

const subscription = (topics: string[] = [TOPIC]): Uint8Array =>
  encodeSubscription({ version: 0, topics, userData: null, ownedPartitions: [] });

interface JoinOptions {
  memberId?: string;
  version?: number;
  sessionTimeoutMs?: number;
  protocolType?: string;
  protocols?: string[];
}

function join(c: RawClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
  return c.request(joinGroupCodec, o.version ?? 5, {
    groupId,
    sessionTimeoutMs: o.sessionTimeoutMs ?? SESSION_MS,
    rebalanceTimeoutMs: 5000,
    memberId: o.memberId ?? "",
    groupInstanceId: null,
    protocolType: o.protocolType ?? "consumer",
    protocols: (o.protocols ?? ["roundrobin"]).map((name) => ({ name, metadata: subscription() })),
  });
}

/** JoinGroup v5 as a new member: MEMBER_ID_REQUIRED, then again with the id handed out. */
async function joinNew(c: RawClient, groupId: string, o: JoinOptions = {}): Promise<JoinGroupResponse> {
  const first = await join(c, groupId, { ...o, memberId: "" });
  assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
  return join(c, groupId, { ...o, memberId: first.memberId });
}

function sync(c: RawClient, groupId: string, generationId: number, memberId: string, assign: string[] = []) {
  return c.request(syncGroupCodec, 3, {
    groupId,
    generationId,
    memberId,
    groupInstanceId: null,
    assignments: assign.map((m) => ({
      memberId: m,
      assignment: encodeAssignment({
        version: 0,
        assignedPartitions: [{ topic: TOPIC, partitions: ALL }],
        userData: null,
      }),
    })),
  });
}

function heartbeat(c: RawClient, groupId: string, generationId: number, memberId: string) {
  return c.request(heartbeatCodec, 3, { groupId, generationId, memberId, groupInstanceId: null });
}

function commit(
  c: RawClient,
  groupId: string,
  generationId: number,
  memberId: string,
  offsets: { topic?: string; partition: number; offset: number }[],
): Promise<OffsetCommitResponse> {
  const byTopic = new Map<
    string,
    { partitionIndex: number; committedOffset: number; committedMetadata: string }[]
  >();
  for (const o of offsets) {
    const t = o.topic ?? TOPIC;
    byTopic.set(t, [
      ...(byTopic.get(t) ?? []),
      { partitionIndex: o.partition, committedOffset: o.offset, committedMetadata: "" },
    ]);
  }
  return c.request(offsetCommitCodec, 5, {
    groupId,
    generationIdOrMemberEpoch: generationId,
    memberId,
    retentionTimeMs: -1,
    topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
  });
}

/** Every partition's error code of a commit response, in request order. */
const commitCodes = (r: OffsetCommitResponse): number[] =>
  r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode));

/** Committed offsets of a topic's partitions (-1 where none). */
async function committed(c: RawClient, groupId: string, topic = TOPIC, partitions = ALL): Promise<number[]> {
  const res = await c.request(offsetFetchCodec, 4, {
    groupId,
    topics: [{ name: topic, partitionIndexes: partitions }],
  });
  assert.equal(res.errorCode, 0);
  assert.equal(res.topics.length, 1);
  assert.equal(res.topics[0].name, topic);
  assert.deepEqual(
    res.topics[0].partitions.map((p) => p.partitionIndex),
    partitions,
    "every requested partition is answered, in order",
  );
  for (const p of res.topics[0].partitions) assert.equal(p.errorCode, 0);
  return res.topics[0].partitions.map((p) => p.committedOffset);
}

async function describeGroup(c: RawClient, groupId: string) {
  const res = await c.request(describeGroupsCodec, 2, { groups: [groupId] });
  assert.equal(res.groups.length, 1);
  return res.groups[0];
}

async function listedGroups(c: RawClient): Promise<Map<string, string>> {
  const res = await c.request(listGroupsCodec, 2, {});
  assert.equal(res.errorCode, 0);
  return new Map(res.groups.map((g) => [g.groupId, g.protocolType]));
}

describe("group coordinator errors (raw client)", () => {
  let broker: BrokerProcess;
  let c: RawClient;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "auto.create.topics.enable": false,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "group.min.session.timeout.ms": MIN_SESSION_MS,
        "group.max.session.timeout.ms": MAX_SESSION_MS,
      },
    });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic(TOPIC, PARTITIONS)).errorCode, 0);
  });

  after(async () => {
    c?.close();
    await broker?.destroy();
  });

  it("JoinGroup v4+ with an empty member id gets MEMBER_ID_REQUIRED and an id; v3 joins at once", async () => {
    const first = await join(c, "g-kip394", { version: 4 });
    assert.equal(first.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    assert.notEqual(first.memberId, "");
    assert.equal(first.generationId, -1);
    assert.equal(first.protocolName, "");
    assert.equal(first.leader, "");
    const again = await join(c, "g-kip394", { version: 4, memberId: first.memberId });
    assert.equal(again.errorCode, 0);
    assert.equal(again.memberId, first.memberId);
    assert.equal(again.leader, first.memberId);
    assert.equal(again.generationId, 1);
    assert.equal(again.protocolName, "roundrobin");
    assert.equal(again.members.length, 1);

    const v3 = await RawClient.tcp(broker.bootstrap);
    try {
      const old = await join(v3, "g-kip394-v3", { version: 3 });
      assert.equal(old.errorCode, 0);
      assert.notEqual(old.memberId, "");
      assert.equal(old.generationId, 1);
    } finally {
      v3.close();
    }
    assert.deepEqual(await committed(c, "g-kip394"), [-1, -1, -1]);
  });

  it("rejects stale generations, unknown members and bad joins; the group and its offsets stay as they were", async () => {
    const G = "g-errors";
    // Generation 1, then the leader rejoins: generation 2, so generation 1 is a stale one.
    const j1 = await joinNew(c, G);
    assert.equal(j1.errorCode, 0);
    assert.equal(j1.generationId, 1);
    const me = j1.memberId;
    assert.equal((await sync(c, G, 1, me, [me])).errorCode, 0);
    const j2 = await join(c, G, { memberId: me });
    assert.equal(j2.errorCode, 0);
    assert.equal(j2.generationId, 2);
    const s2 = await sync(c, G, 2, me, [me]);
    assert.equal(s2.errorCode, 0);
    assert.ok(s2.assignment.length > 0);

    const offsets = ALL.map((partition) => ({ partition, offset: 5 }));
    const nothingCommitted = async (what: string) =>
      assert.deepEqual(await committed(c, G), [-1, -1, -1], `${what}: nothing committed`);

    // OffsetCommit with a stale generation / an unknown member.
    assert.deepEqual(commitCodes(await commit(c, G, 1, me, offsets)), [22, 22, 22]);
    await nothingCommitted("stale generation");
    assert.deepEqual(commitCodes(await commit(c, G, 2, "nobody", offsets)), [25, 25, 25]);
    await nothingCommitted("unknown member");
    assert.deepEqual(commitCodes(await commit(c, G, 3, me, offsets)), [22, 22, 22]);
    await nothingCommitted("future generation");
    // A memberless commit while the group has members.
    for (const code of commitCodes(await commit(c, G, -1, "", offsets))) assert.notEqual(code, 0);
    await nothingCommitted("memberless commit to a group with members");
    // An empty group id.
    assert.deepEqual(commitCodes(await commit(c, "", -1, "", offsets)), [24, 24, 24]);

    // Heartbeat: unknown group, unknown member, stale generation.
    assert.equal((await heartbeat(c, "g-nonexistent", 1, "someone")).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await heartbeat(c, G, 2, "nobody")).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await heartbeat(c, G, 1, me)).errorCode, ErrorCode.ILLEGAL_GENERATION);

    // SyncGroup with a wrong generation, from an unknown member, for an unknown group.
    assert.equal((await sync(c, G, 1, me, [me])).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(c, G, 7, me, [me])).errorCode, ErrorCode.ILLEGAL_GENERATION);
    assert.equal((await sync(c, G, 2, "nobody")).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    assert.equal((await sync(c, "g-nonexistent", 1, "x")).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);

    // JoinGroup: another protocol type, or no assignor in common, against the existing group.
    for (const o of [
      { protocolType: "connect" },
      { protocols: ["range"] },
      { memberId: me, protocolType: "connect" },
      { memberId: me, protocols: ["range"] },
    ] satisfies JoinOptions[]) {
      const r = await join(c, G, o);
      assert.equal(r.errorCode, ErrorCode.INCONSISTENT_GROUP_PROTOCOL, JSON.stringify(o));
      assert.equal(r.generationId, -1);
      assert.equal(r.protocolName, "");
      assert.equal(r.leader, "");
      assert.deepEqual(r.members, []);
    }
    await nothingCommitted("inconsistent protocols");
    // Session timeouts outside [group.min.session.timeout.ms, group.max.session.timeout.ms].
    for (const sessionTimeoutMs of [MIN_SESSION_MS - 1, MAX_SESSION_MS + 1]) {
      assert.equal((await join(c, G, { sessionTimeoutMs })).errorCode, ErrorCode.INVALID_SESSION_TIMEOUT);
      assert.equal(
        (await join(c, G, { sessionTimeoutMs, memberId: me })).errorCode,
        ErrorCode.INVALID_SESSION_TIMEOUT,
      );
    }
    // An unknown member id (not handed out by MEMBER_ID_REQUIRED).
    assert.equal((await join(c, G, { memberId: "made-up" })).errorCode, ErrorCode.UNKNOWN_MEMBER_ID);
    // An empty group id.
    const empty = await join(c, "");
    assert.equal(empty.errorCode, ErrorCode.INVALID_GROUP_ID);
    assert.equal(empty.generationId, -1);
    await nothingCommitted("bad joins");

    // None of that disturbed the group: still Stable at generation 2 with its one member.
    assert.equal((await heartbeat(c, G, 2, me)).errorCode, 0);
    const d = await describeGroup(c, G);
    assert.equal(d.groupState, "Stable");
    assert.deepEqual(
      d.members.map((m) => m.memberId),
      [me],
    );
    // And the member itself can commit.
    assert.deepEqual(commitCodes(await commit(c, G, 2, me, offsets)), [0, 0, 0]);
    assert.deepEqual(await committed(c, G), [5, 5, 5]);
    assert.equal((await c.request(leaveGroupCodec, 1, { groupId: G, memberId: me })).errorCode, 0);
    assert.equal((await c.request(leaveGroupCodec, 1, { groupId: G, memberId: me })).errorCode, 25);
  });

  it("a member may commit while the group prepares a rebalance (before it rejoins)", async () => {
    const G = "g-commit-preparing";
    const j = await joinNew(c, G);
    assert.equal(j.errorCode, 0);
    assert.equal((await sync(c, G, j.generationId, j.memberId, [j.memberId])).errorCode, 0);
    // A second member joins on its own connection (its JoinGroup waits for the first to rejoin).
    const other = await RawClient.tcp(broker.bootstrap);
    try {
      const id = (await join(other, G)).memberId;
      const pendingJoin = join(other, G, { memberId: id });
      pendingJoin.catch(() => {}); // awaited below; closed in `finally` if the test fails first
      let state = "";
      for (let i = 0; i < 50 && state !== "PreparingRebalance"; i++) {
        state = (await describeGroup(c, G)).groupState;
        if (state !== "PreparingRebalance") await sleep(20);
      }
      assert.equal(state, "PreparingRebalance");
      assert.equal(
        (await heartbeat(c, G, j.generationId, j.memberId)).errorCode,
        ErrorCode.REBALANCE_IN_PROGRESS,
      );
      // Kafka accepts it: the member's generation is still the group's (kafkajs commits what it
      // consumed when a heartbeat says REBALANCE_IN_PROGRESS, then rejoins).
      assert.deepEqual(
        commitCodes(await commit(c, G, j.generationId, j.memberId, [{ partition: 0, offset: 7 }])),
        [0],
      );
      assert.deepEqual(await committed(c, G), [7, -1, -1]);
      // The first member rejoins: generation 2 with both.
      const [a, b] = await Promise.all([join(c, G, { memberId: j.memberId }), pendingJoin]);
      assert.equal(a.errorCode, 0);
      assert.equal(b.errorCode, 0);
      assert.equal(a.generationId, j.generationId + 1);
      assert.equal(b.generationId, a.generationId);
      // A commit with the old generation is stale now.
      assert.deepEqual(
        commitCodes(await commit(c, G, j.generationId, j.memberId, [{ partition: 1, offset: 9 }])),
        [22],
      );
      assert.deepEqual(await committed(c, G), [7, -1, -1]);
    } finally {
      other.close();
    }
  });

  it("a memberless commit (generation -1, member '') is accepted; OffsetFetch answers every requested partition", async () => {
    const G = "g-simple";
    assert.deepEqual(
      commitCodes(
        await commit(c, G, -1, "", [
          { partition: 1, offset: 42 },
          { partition: 2, offset: 0 },
        ]),
      ),
      [0, 0],
    );
    assert.deepEqual(await committed(c, G), [-1, 42, 0]);
    // Partitions out of range, an unknown topic, an unknown group: answered with -1, error 0.
    assert.deepEqual(await committed(c, G, TOPIC, [2, 0, 9, 1]), [0, -1, -1, 42]);
    assert.deepEqual(await committed(c, G, "no-such-topic", [0, 1]), [-1, -1]);
    assert.deepEqual(await committed(c, "g-never-seen", TOPIC, ALL), [-1, -1, -1]);
    const two = await c.request(offsetFetchCodec, 4, {
      groupId: G,
      topics: [
        { name: "no-such-topic", partitionIndexes: [3] },
        { name: TOPIC, partitionIndexes: [1] },
      ],
    });
    assert.deepEqual(
      two.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]),
      [
        ["no-such-topic", [[3, -1]]],
        [TOPIC, [[1, 42]]],
      ],
    );
    // v2+ null topics: every committed partition.
    const all = await c.request(offsetFetchCodec, 4, { groupId: G, topics: null });
    assert.deepEqual(
      all.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.committedOffset])]),
      [
        [
          TOPIC,
          [
            [1, 42],
            [2, 0],
          ],
        ],
      ],
    );
    // A later memberless commit overwrites; the group is listed (no protocol type) and Empty.
    assert.deepEqual(commitCodes(await commit(c, G, -1, "", [{ partition: 1, offset: 43 }])), [0]);
    assert.deepEqual(await committed(c, G), [-1, 43, 0]);
    assert.equal((await listedGroups(c)).get(G), "");
    assert.equal((await describeGroup(c, G)).groupState, "Empty");
  });

  it("a commit for an unknown topic or partition gets UNKNOWN_TOPIC_OR_PARTITION; the rest is committed", async () => {
    const G = "g-unknown-tp";
    const res = await commit(c, G, -1, "", [
      { partition: 0, offset: 3 },
      { partition: PARTITIONS, offset: 3 },
      { topic: "no-such-topic", partition: 0, offset: 3 },
    ]);
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
      [
        [
          TOPIC,
          [
            [0, 0],
            [PARTITIONS, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
          ],
        ],
        ["no-such-topic", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
      ],
    );
    assert.deepEqual(await committed(c, G, TOPIC, [0, 1, 2, PARTITIONS]), [3, -1, -1, -1]);
    assert.deepEqual(await committed(c, G, "no-such-topic", [0]), [-1]);
    // Only unknown ones: nothing committed, the answer is per partition.
    const only = await commit(c, "g-unknown-only", -1, "", [
      { topic: "no-such-topic", partition: 0, offset: 1 },
    ]);
    assert.deepEqual(commitCodes(only), [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.deepEqual(await committed(c, "g-unknown-only", "no-such-topic", [0]), [-1]);
  });

  it("DeleteGroups: NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND, and an empty group goes with its offsets (also after a restart)", async () => {
    const busy = "g-del-busy";
    const doomed = "g-del-doomed";
    const kept = "g-del-kept";
    const j = await joinNew(c, busy);
    assert.equal((await sync(c, busy, j.generationId, j.memberId, [j.memberId])).errorCode, 0);
    assert.deepEqual(
      commitCodes(await commit(c, busy, j.generationId, j.memberId, [{ partition: 0, offset: 1 }])),
      [0],
    );
    // A group that had a member, committed and emptied.
    const d = await joinNew(c, doomed);
    assert.equal((await sync(c, doomed, d.generationId, d.memberId, [d.memberId])).errorCode, 0);
    assert.deepEqual(
      commitCodes(
        await commit(
          c,
          doomed,
          d.generationId,
          d.memberId,
          ALL.map((partition) => ({ partition, offset: 10 + partition })),
        ),
      ),
      [0, 0, 0],
    );
    assert.equal(
      (await c.request(leaveGroupCodec, 1, { groupId: doomed, memberId: d.memberId })).errorCode,
      0,
    );
    // A memberless one, kept.
    assert.deepEqual(commitCodes(await commit(c, kept, -1, "", [{ partition: 2, offset: 20 }])), [0]);

    let states = "";
    for (let i = 0; i < 50 && states !== "Empty"; i++) {
      states = (await describeGroup(c, doomed)).groupState;
      if (states !== "Empty") await sleep(20);
    }
    assert.equal(states, "Empty");

    const res = await c.request(deleteGroupsCodec, 1, { groupsNames: [busy, "g-del-unknown", doomed] });
    assert.deepEqual(
      res.results.map((r) => [r.groupId, r.errorCode]),
      [
        [busy, ErrorCode.NON_EMPTY_GROUP],
        ["g-del-unknown", ErrorCode.GROUP_ID_NOT_FOUND],
        [doomed, 0],
      ],
    );
    assert.deepEqual(await committed(c, doomed), [-1, -1, -1]);
    assert.equal((await describeGroup(c, doomed)).groupState, "Dead");
    let listed = await listedGroups(c);
    assert.equal(listed.has(doomed), false);
    assert.equal(listed.get(busy), "consumer");
    assert.equal(listed.get(kept), "");
    // Deleting it again: gone.
    const again = await c.request(deleteGroupsCodec, 1, { groupsNames: [doomed] });
    assert.deepEqual(
      again.results.map((r) => r.errorCode),
      [ErrorCode.GROUP_ID_NOT_FOUND],
    );
    // The busy group is untouched.
    assert.equal((await heartbeat(c, busy, j.generationId, j.memberId)).errorCode, 0);
    assert.deepEqual(await committed(c, busy), [1, -1, -1]);

    c.close();
    await broker.restart();
    c = await RawClient.tcp(broker.bootstrap);
    assert.deepEqual(await committed(c, doomed), [-1, -1, -1]);
    assert.deepEqual(await committed(c, kept), [-1, -1, 20]);
    assert.deepEqual(await committed(c, busy), [1, -1, -1]);
    listed = await listedGroups(c);
    assert.equal(listed.has(doomed), false);
    assert.equal(listed.has(kept), true);
    assert.equal(listed.has(busy), true);
    // After the restart the busy group has no members (their sessions are gone): deletable.
    const after = await c.request(deleteGroupsCodec, 1, { groupsNames: [busy, doomed] });
    assert.deepEqual(
      after.results.map((r) => [r.groupId, r.errorCode]),
      [
        [busy, 0],
        [doomed, ErrorCode.GROUP_ID_NOT_FOUND],
      ],
    );
    assert.deepEqual(await committed(c, busy), [-1, -1, -1]);
  });

  // DeleteTopics reaches the coordinator (this failed while handleDeleteTopics did not call
  // ctx.topicDeleted).
  it("the offsets of a deleted topic are gone, also when it is created again and after a restart", async () => {
    const T = "grp-doomed-topic";
    const G = "g-topic-deleted";
    assert.equal((await c.createTopic(T, 2)).errorCode, 0);
    assert.deepEqual(
      commitCodes(
        await commit(c, G, -1, "", [
          { topic: T, partition: 0, offset: 4 },
          { topic: T, partition: 1, offset: 5 },
          { partition: 0, offset: 6 },
        ]),
      ),
      [0, 0, 0],
    );
    assert.deepEqual(await committed(c, G, T, [0, 1]), [4, 5]);
    const del = await c.request(deleteTopicsCodec, 1, { topicNames: [T], timeoutMs: 5000 });
    assert.equal(del.responses[0].errorCode, 0);
    assert.deepEqual(await committed(c, G, T, [0, 1]), [-1, -1]);
    assert.deepEqual(await committed(c, G, TOPIC, [0]), [6], "other topics' offsets stay");
    assert.equal((await c.createTopic(T, 2)).errorCode, 0);
    assert.deepEqual(await committed(c, G, T, [0, 1]), [-1, -1]);
    c.close();
    await broker.restart();
    c = await RawClient.tcp(broker.bootstrap);
    assert.deepEqual(await committed(c, G, T, [0, 1]), [-1, -1]);
    assert.deepEqual(await committed(c, G, TOPIC, [0]), [6]);
  });
});
