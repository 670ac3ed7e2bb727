// Replica assignment (Kafka's AdminUtilsTest.testReplicaAssignment) and the znode JSON of
// src/cluster/znodes.ts in Kafka's exact shapes.

import assert from "node:assert/strict";
import { test } from "node:test";
import { AssignmentError, assignReplicas } from "../../src/cluster/assignment.ts";
import {
  decodeBroker,
  decodePartitionState,
  decodeTopic,
  encodeBroker,
  encodePartitionState,
  encodeTopic,
} from "../../src/cluster/znodes.ts";
import { parseConnect } from "../../src/cluster/zookeeper.ts";

test("rack-unaware assignment matches Kafka's for 5 brokers, 10 partitions, replication factor 3", () => {
  const got = assignReplicas([0, 1, 2, 3, 4], 10, 3, { start: 0, shift: 0 });
  assert.deepEqual(got, [
    [0, 1, 2],
    [1, 2, 3],
    [2, 3, 4],
    [3, 4, 0],
    [4, 0, 1],
    [0, 2, 3],
    [1, 3, 4],
    [2, 4, 0],
    [3, 0, 1],
    [4, 1, 2],
  ]);
});

test("assignment spreads leaders evenly and never repeats a broker in a partition", () => {
  const got = assignReplicas([3, 1, 2], 30, 3);
  const leaders = new Map<number, number>();
  for (const r of got) {
    assert.equal(new Set(r).size, 3);
    leaders.set(r[0], (leaders.get(r[0]) ?? 0) + 1);
  }
  assert.deepEqual([...leaders.values()], [10, 10, 10]);
});

test("a replication factor above the broker count is refused", () => {
  assert.throws(() => assignReplicas([1, 2], 1, 3), AssignmentError);
  assert.throws(() => assignReplicas([1, 2], 1, 0), AssignmentError);
});

test("znodes round-trip in Kafka's JSON", () => {
  const id = Buffer.alloc(16, 7);
  const t = JSON.parse(
    encodeTopic({
      partitions: [
        [1, 2],
        [2, 1],
      ],
      topicId: id,
    }).toString(),
  );
  assert.deepEqual(t.partitions, { "0": [1, 2], "1": [2, 1] });
  assert.equal(t.version, 3);
  assert.deepEqual(decodeTopic("t", Buffer.from(JSON.stringify(t))), {
    partitions: [
      [1, 2],
      [2, 1],
    ],
    topicId: id,
    adding: new Map(),
    removing: new Map(),
  });
  // A reassignment in progress (KIP-455's fields).
  const moving = encodeTopic({
    partitions: [[1, 2, 3]],
    topicId: id,
    adding: new Map([[0, [3]]]),
    removing: new Map([[0, [1]]]),
  });
  assert.deepEqual(JSON.parse(moving.toString()).adding_replicas, { "0": [3] });
  assert.deepEqual(decodeTopic("t", moving).removing, new Map([[0, [1]]]));
  const s = { leader: 2, leaderEpoch: 5, isr: [2, 1], controllerEpoch: 3 };
  assert.deepEqual(JSON.parse(encodePartitionState(s).toString()), {
    controller_epoch: 3,
    leader: 2,
    version: 1,
    leader_epoch: 5,
    isr: [2, 1],
  });
  assert.deepEqual(decodePartitionState("x", encodePartitionState(s)), s);
  const b = encodeBroker(
    [
      { name: "PLAINTEXT", host: "10.0.0.1", port: 9092 },
      { name: "WEBSOCKET", host: "10.0.0.1", port: 9094 },
    ],
    "r1",
  );
  const j = JSON.parse(b.toString());
  assert.deepEqual(j.endpoints, ["PLAINTEXT://10.0.0.1:9092", "WEBSOCKET://10.0.0.1:9094"]);
  assert.equal(j.port, 9092);
  assert.equal(j.host, "10.0.0.1");
  const back = decodeBroker(1, b, 42n);
  assert.deepEqual(back.endpoints, [
    { name: "PLAINTEXT", host: "10.0.0.1", port: 9092 },
    { name: "WEBSOCKET", host: "10.0.0.1", port: 9094 },
  ]);
  assert.equal(back.rack, "r1");
  assert.throws(() => decodePartitionState("x", Buffer.from("{")));
});

test("zookeeper.connect: hosts and chroot", () => {
  assert.deepEqual(parseConnect("a:1,b:2/kafka/x"), { hosts: "a:1,b:2", chroot: "/kafka/x" });
  assert.deepEqual(parseConnect("a:1"), { hosts: "a:1", chroot: "" });
  assert.deepEqual(parseConnect("a:1/"), { hosts: "a:1", chroot: "" });
});
