// The client's consumer-group pieces that need no broker: the assignors against Kafka's own
// documented examples (RangeAssignor / RoundRobinAssignor javadoc), the browser-safe
// Subscription / Assignment codec against the broker-side one and kafkajs's, and the
// member-host shown for TCP and WebSocket connections.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { clientHost } from "../../src/broker/handlers/groups.ts";
import {
  type AssignContext,
  type GroupMemberSubscription,
  kafkajsRoundRobinAssigner,
  rangeAssigner,
  resolveAssigners,
  roundRobinAssigner,
} from "../../src/client/assigners.ts";
import { InvalidArgumentError } from "../../src/client/errors.ts";
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
  normalizeTopicPartitions,
} from "../../src/client/group_protocol.ts";
import * as server from "../../src/protocol/consumer_protocol.ts";
import type { RequestContext } from "../../src/transport/connection.ts";

const kafkajs = createRequire(import.meta.url)("kafkajs/src/consumer/assignerProtocol") as {
  MemberMetadata: { encode(m: { version: number; topics: string[] }): Buffer; decode(b: Buffer): unknown };
  MemberAssignment: {
    encode(a: { version: number; assignment: { [topic: string]: number[] } }): Buffer;
    decode(b: Buffer): unknown;
  };
};

const member = (
  memberId: string,
  topics: string[],
  groupInstanceId: string | null = null,
): GroupMemberSubscription => ({
  memberId,
  groupInstanceId,
  topics,
  userData: null,
});

const parts = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("assignors", () => {
  // Two consumers C0 and C1, both subscribed to t0 and t1, three partitions each.
  const twoByTwo: AssignContext = {
    members: [member("C1", ["t0", "t1"]), member("C0", ["t0", "t1"])],
    partitions: new Map([
      ["t0", parts(3)],
      ["t1", parts(3)],
    ]),
  };

  test("range (Kafka's RangeAssignor javadoc example)", () => {
    assert.deepEqual(rangeAssigner.assign(twoByTwo), {
      C0: { t0: [0, 1], t1: [0, 1] },
      C1: { t0: [2], t1: [2] },
    });
  });

  test("range: the first (partitions % members) members get one more; non-subscribers nothing", () => {
    const r = rangeAssigner.assign({
      members: [member("a", ["t"]), member("b", ["t"]), member("c", ["t"]), member("d", ["other"])],
      partitions: new Map([["t", parts(7)]]),
    });
    assert.deepEqual(r, { a: { t: [0, 1, 2] }, b: { t: [3, 4] }, c: { t: [5, 6] }, d: {} });
  });

  test("roundrobin (Kafka's RoundRobinAssignor javadoc examples)", () => {
    assert.deepEqual(roundRobinAssigner.assign(twoByTwo), {
      C0: { t0: [0, 2], t1: [1] },
      C1: { t0: [1], t1: [0, 2] },
    });
    // C0 subscribes to t0; C1 to t0, t1; C2 to t0, t1, t2 (1, 2 and 3 partitions).
    assert.deepEqual(
      roundRobinAssigner.assign({
        members: [member("C2", ["t0", "t1", "t2"]), member("C0", ["t0"]), member("C1", ["t0", "t1"])],
        partitions: new Map([
          ["t0", parts(1)],
          ["t1", parts(2)],
          ["t2", parts(3)],
        ]),
      }),
      { C0: { t0: [0] }, C1: { t1: [0] }, C2: { t1: [1], t2: [0, 1, 2] } },
    );
  });

  test("static members first (by instance id), then member ids", () => {
    const r = roundRobinAssigner.assign({
      members: [member("a", ["t"]), member("z", ["t"], "instance-1"), member("b", ["t"])],
      partitions: new Map([["t", parts(3)]]),
    });
    assert.deepEqual(r, { z: { t: [0] }, a: { t: [1] }, b: { t: [2] } });
  });

  test("kafkajs's RoundRobinAssigner name assigns as kafkajs does for one shared subscription", () => {
    const members = [member("m-2", ["t"]), member("m-1", ["t"])];
    const r = kafkajsRoundRobinAssigner.assign({ members, partitions: new Map([["t", parts(6)]]) });
    assert.deepEqual(r, { "m-1": { t: [0, 2, 4] }, "m-2": { t: [1, 3, 5] } });
  });

  test("names and defaults", () => {
    assert.deepEqual(
      resolveAssigners(undefined).map((a) => a.name),
      ["range", "roundrobin", "RoundRobinAssigner"],
    );
    assert.deepEqual(
      resolveAssigners(["roundrobin", rangeAssigner, "roundrobin"]).map((a) => a.name),
      ["roundrobin", "range"],
    );
    assert.throws(() => resolveAssigners(["sticky" as "range"]), InvalidArgumentError);
    assert.throws(() => resolveAssigners([]), InvalidArgumentError);
  });
});

describe("client Subscription / Assignment codec", () => {
  test("the broker-side codec and kafkajs read ours", () => {
    const sub = encodeSubscription(["a", "b"], new Uint8Array([1, 2]));
    assert.deepEqual(server.decodeSubscription(Buffer.from(sub)), {
      version: 0,
      topics: ["a", "b"],
      userData: Buffer.from([1, 2]),
      ownedPartitions: [],
    });
    assert.deepEqual(kafkajs.MemberMetadata.decode(Buffer.from(encodeSubscription(["a"]))), {
      version: 0,
      topics: ["a"],
      userData: Buffer.alloc(0),
    });
    const asg = encodeAssignment([{ topic: "t", partitions: [0, 3] }]);
    assert.deepEqual(server.decodeAssignment(Buffer.from(asg)), {
      version: 0,
      assignedPartitions: [{ topic: "t", partitions: [0, 3] }],
      userData: Buffer.alloc(0),
    });
    assert.deepEqual(kafkajs.MemberAssignment.decode(Buffer.from(asg)), {
      version: 0,
      assignment: { t: [0, 3] },
      userData: Buffer.alloc(0),
    });
  });

  test("we read the broker-side codec's (v0, v1 with owned partitions) and kafkajs's", () => {
    const v1 = server.encodeSubscription({
      version: 1,
      topics: ["x"],
      userData: null,
      ownedPartitions: [{ topic: "x", partitions: [4] }],
    });
    const s = decodeSubscription(v1);
    assert.deepEqual(
      { ...s, userData: s.userData },
      { version: 1, topics: ["x"], userData: null, ownedPartitions: [{ topic: "x", partitions: [4] }] },
    );
    const theirs = decodeAssignment(
      kafkajs.MemberAssignment.encode({ version: 0, assignment: { t: [1, 2] } }),
    );
    assert.deepEqual(theirs.assignedPartitions, [{ topic: "t", partitions: [1, 2] }]);
    assert.deepEqual(decodeAssignment(new Uint8Array(0)), {
      version: 0,
      assignedPartitions: [],
      userData: null,
    });
  });

  test("normalizeTopicPartitions merges, sorts and drops empty topics", () => {
    assert.deepEqual(
      normalizeTopicPartitions([
        { topic: "b", partitions: [3, 1] },
        { topic: "a", partitions: [] },
        { topic: "b", partitions: [1, 0] },
      ]),
      [{ topic: "b", partitions: [0, 1, 3] }],
    );
  });
});

describe("a member's host", () => {
  const rc = (remote: string, listener: "PLAINTEXT" | "WEBSOCKET") =>
    ({ connection: { sink: { remote, listener } } }) as unknown as Pick<RequestContext, "connection">;

  test("TCP remotes lose their port; WebSocket ones (no port) stay whole", () => {
    assert.equal(clientHost(rc("127.0.0.1:53412", "PLAINTEXT")), "/127.0.0.1");
    assert.equal(clientHost(rc("::1:53412", "PLAINTEXT")), "/::1");
    // Was "/127.0.0." (the last character cut as if it were a port).
    assert.equal(clientHost(rc("127.0.0.1", "WEBSOCKET")), "/127.0.0.1");
    assert.equal(clientHost(rc("::1", "WEBSOCKET")), "/::1");
  });
});
