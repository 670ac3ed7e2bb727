// OffsetDelete (47) and DescribeLogDirs (35) against a real broker: a group's offsets of some
// partitions go (a tombstone each, so a restart does not bring them back), those of a topic a
// member subscribes to stay; every log dir lists its partitions with their bytes on disk.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { describeLogDirsCodec } from "../../src/protocol/describe_log_dirs.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { joinGroupCodec } from "../../src/protocol/join_group.ts";
import { offsetCommitCodec } from "../../src/protocol/offset_commit.ts";
import { offsetDeleteCodec } from "../../src/protocol/offset_delete.ts";
import { offsetFetchCodec, offsetFetchGroup, offsetFetchRequest } from "../../src/protocol/offset_fetch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { syncGroupCodec } from "../../src/protocol/sync_group.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

describe("OffsetDelete and DescribeLogDirs", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({
      overrides: { "auto.create.topics.enable": false, "group.initial.rebalance.delay.ms": 0 },
    });
    c = await RawClient.tcp(broker.bootstrap);
    for (const t of ["od-a", "od-b"]) assert.equal((await c.createTopic(t, 2)).errorCode, 0);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  const commit = async (group: string, topic: string, partitions: number[], generation = -1, member = "") => {
    const res = await c.request(offsetCommitCodec, 8, {
      groupId: group,
      generationIdOrMemberEpoch: generation,
      memberId: member,
      topics: [
        { name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, committedOffset: 10 + p })) },
      ],
    });
    for (const p of res.topics[0].partitions) assert.equal(p.errorCode, 0);
  };
  const committed = async (group: string, topic: string) =>
    offsetFetchGroup(
      await c.request(
        offsetFetchCodec,
        8,
        offsetFetchRequest(group, [{ name: topic, partitionIndexes: [0, 1] }]),
      ),
    ).topics[0].partitions.map((p) => p.committedOffset);

  it("deletes an empty group's offsets of the partitions named; the others stay, also after a restart", async () => {
    await commit("od-g", "od-a", [0, 1]);
    const res = await c.request(offsetDeleteCodec, 0, {
      groupId: "od-g",
      topics: [{ name: "od-a", partitions: [{ partitionIndex: 0 }] }],
    });
    assert.equal(res.errorCode, 0);
    assert.deepEqual(res.topics[0].partitions, [{ partitionIndex: 0, errorCode: 0 }]);
    assert.deepEqual(await committed("od-g", "od-a"), [-1, 11]);
    c.close();
    await broker.restart();
    c = await RawClient.tcp(broker.bootstrap);
    assert.deepEqual(await committed("od-g", "od-a"), [-1, 11], "the tombstone was replayed");
  });

  it("an unknown group is GROUP_ID_NOT_FOUND, with no topics (Kafka's error answer)", async () => {
    const res = await c.request(offsetDeleteCodec, 0, {
      groupId: "od-nobody",
      topics: [{ name: "od-a", partitions: [{ partitionIndex: 0 }] }],
    });
    assert.deepEqual([res.errorCode, res.topics], [ErrorCode.GROUP_ID_NOT_FOUND, []]);
  });

  it("an unknown topic or partition is UNKNOWN_TOPIC_OR_PARTITION and its offset is left alone", async () => {
    await commit("od-unknown", "od-a", [1]);
    const res = await c.request(offsetDeleteCodec, 0, {
      groupId: "od-unknown",
      topics: [
        { name: "od-a", partitions: [{ partitionIndex: 1 }, { partitionIndex: 9 }] },
        { name: "od-none", partitions: [{ partitionIndex: 0 }] },
      ],
    });
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]),
      [
        ["od-a", [0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
        ["od-none", [ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
      ],
    );
  });

  it("a group with a member keeps the offsets of the topics it subscribes to (GROUP_SUBSCRIBED_TO_TOPIC)", async () => {
    const join = async (memberId: string) =>
      c.request(joinGroupCodec, 5, {
        groupId: "od-live",
        sessionTimeoutMs: 30000,
        rebalanceTimeoutMs: 30000,
        memberId,
        protocolType: "consumer",
        protocols: [
          {
            name: "range",
            metadata: encodeSubscription({
              version: 0,
              topics: ["od-a"],
              userData: null,
              ownedPartitions: [],
            }),
          },
        ],
      });
    let j = await join("");
    assert.equal(j.errorCode, ErrorCode.MEMBER_ID_REQUIRED);
    j = await join(j.memberId);
    assert.equal(j.errorCode, 0);
    const sync = await c.request(syncGroupCodec, 3, {
      groupId: "od-live",
      generationId: j.generationId,
      memberId: j.memberId,
      assignments: [{ memberId: j.memberId, assignment: new Uint8Array(0) }],
    });
    assert.equal(sync.errorCode, 0);
    await commit("od-live", "od-a", [0, 1], j.generationId, j.memberId);
    await commit("od-live", "od-b", [0, 1], j.generationId, j.memberId);
    const res = await c.request(offsetDeleteCodec, 0, {
      groupId: "od-live",
      topics: [
        { name: "od-a", partitions: [{ partitionIndex: 0 }] },
        { name: "od-b", partitions: [{ partitionIndex: 0 }, { partitionIndex: 1 }] },
      ],
    });
    assert.equal(res.errorCode, 0);
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.partitions.map((p) => p.errorCode)]),
      [
        ["od-a", [ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC]],
        ["od-b", [0, 0]],
      ],
    );
    assert.deepEqual(await committed("od-live", "od-a"), [10, 11]);
    assert.deepEqual(await committed("od-live", "od-b"), [-1, -1]);
  });

  it("DescribeLogDirs lists the log dir, every partition and its bytes; v4 the dir's space", async () => {
    await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [
        {
          name: "od-b",
          partitions: [{ partitionIndex: 1, records: encodeBatch([{ value: "x".repeat(1000) }]) }],
        },
      ],
    });
    for (const v of [0, 1, 2, 3, 4]) {
      const res = await c.request(describeLogDirsCodec, v, { topics: null });
      assert.equal(res.results.length, 1, `v${v}`);
      const dir = res.results[0];
      assert.equal(dir.errorCode, 0);
      assert.equal(dir.logDir, broker.logDir);
      const b = dir.topics.find((t) => t.name === "od-b");
      assert.ok(b, `v${v}: od-b is listed`);
      const sizes = new Map(b.partitions.map((p) => [p.partitionIndex, p.partitionSize]));
      assert.equal(sizes.get(0), 0);
      assert.ok((sizes.get(1) ?? 0) > 1000, `v${v}: the partition holding a batch has its bytes`);
      if (v >= 4) assert.ok(dir.totalBytes > 0 && dir.usableBytes > 0 && dir.usableBytes <= dir.totalBytes);
      else assert.deepEqual([dir.totalBytes, dir.usableBytes], [-1, -1]);
    }
    const some = await c.request(describeLogDirsCodec, 4, {
      topics: [
        { topic: "od-a", partitions: [1] },
        { topic: "od-none", partitions: [0] },
      ],
    });
    assert.deepEqual(
      some.results[0].topics.map((t) => [t.name, t.partitions.map((p) => p.partitionIndex)]),
      [["od-a", [1]]],
    );
  });
});
