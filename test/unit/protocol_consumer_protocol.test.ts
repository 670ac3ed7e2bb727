import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import {
  type ConsumerAssignment,
  type ConsumerSubscription,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from "../../src/protocol/consumer_protocol.ts";
import { ProtocolError } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";

/** kafkajs 2.2.4's consumer protocol (src/consumer/assignerProtocol.js). */
interface KafkaJsAssignerProtocol {
  MemberMetadata: {
    encode(m: { version: number; topics: string[]; userData?: Buffer }): Buffer;
    decode(b: Buffer): unknown;
  };
  MemberAssignment: {
    encode(a: { version: number; assignment: { [topic: string]: number[] }; userData?: Buffer }): Buffer;
    decode(b: Buffer): unknown;
  };
}
const kafkajs = createRequire(import.meta.url)(
  "kafkajs/src/consumer/assignerProtocol",
) as KafkaJsAssignerProtocol;

const subscription = (version: number, userData: Buffer | null): ConsumerSubscription => ({
  version,
  topics: ["topic-a", "topic-b"],
  userData,
  ownedPartitions: version >= 1 ? [{ topic: "topic-a", partitions: [0, 3] }] : [],
});

const assignment = (userData: Buffer | null): ConsumerAssignment => ({
  version: 0,
  assignedPartitions: [
    { topic: "topic-a", partitions: [0, 2] },
    { topic: "topic-b", partitions: [] },
  ],
  userData,
});

function truncatedThrows(bytes: Buffer, decode: (b: Buffer) => unknown): void {
  for (let n = 1; n < bytes.length; n++)
    assert.throws(() => decode(bytes.subarray(0, n)), ProtocolError, `${n} bytes`);
}

describe("consumer protocol Subscription", () => {
  for (const version of [0, 1])
    for (const userData of [null, Buffer.alloc(0), Buffer.from("ud")])
      test(`v${version} round trip, user_data ${userData === null ? "null" : userData.length}`, () => {
        const s = subscription(version, userData);
        const bytes = encodeSubscription(s);
        assert.deepStrictEqual(decodeSubscription(bytes), s);
        assert.deepStrictEqual(encodeSubscription(decodeSubscription(bytes)), bytes);
        truncatedThrows(bytes, decodeSubscription);
      });

  test("v0 layout: version, topics, user_data; v1 appends owned_partitions", () => {
    const v0 = encodeSubscription({ version: 0, topics: ["t"], userData: null, ownedPartitions: [] });
    assert.equal(v0.toString("hex"), "0000" + "00000001" + "000174" + "ffffffff");
    const v1 = encodeSubscription({
      version: 1,
      topics: ["t"],
      userData: null,
      ownedPartitions: [{ topic: "t", partitions: [5] }],
    });
    assert.equal(
      v1.toString("hex"),
      "0001" + "00000001" + "000174" + "ffffffff" + "00000001" + "000174" + "00000001" + "00000005",
    );
  });

  test("a newer version reads as v1, later fields ignored (v2 appends generation_id)", () => {
    const w = new Writer();
    w.raw(encodeSubscription(subscription(1, null)));
    w.int32(17);
    const bytes = Buffer.from(w.view());
    bytes.writeInt16BE(2, 0);
    assert.deepStrictEqual(decodeSubscription(bytes), { ...subscription(1, null), version: 2 });
  });

  test("only v0 and v1 encode; a negative version does not decode", () => {
    assert.throws(() => encodeSubscription(subscription(2, null)));
    assert.throws(() => decodeSubscription(Buffer.from("ffff00000000ffffffff", "hex")), ProtocolError);
  });

  test("kafkajs reads ours and we read kafkajs's", () => {
    for (const version of [0, 1]) {
      const s = subscription(version, Buffer.from("ud"));
      // kafkajs reads version, topics and user_data (and ignores v1's owned_partitions).
      assert.deepStrictEqual(kafkajs.MemberMetadata.decode(encodeSubscription(s)), {
        version,
        topics: s.topics,
        userData: Buffer.from("ud"),
      });
    }
    const theirs = kafkajs.MemberMetadata.encode({ version: 0, topics: ["topic-a"] });
    assert.deepStrictEqual(decodeSubscription(theirs), {
      version: 0,
      topics: ["topic-a"],
      userData: Buffer.alloc(0), // kafkajs's default user_data: 0 bytes, not null
      ownedPartitions: [],
    });
  });
});

describe("consumer protocol Assignment", () => {
  for (const userData of [null, Buffer.alloc(0), Buffer.from("ud")])
    test(`v0 round trip, user_data ${userData === null ? "null" : userData.length}`, () => {
      const a = assignment(userData);
      const bytes = encodeAssignment(a);
      assert.deepStrictEqual(decodeAssignment(bytes), a);
      assert.deepStrictEqual(encodeAssignment(decodeAssignment(bytes)), bytes);
      truncatedThrows(bytes, decodeAssignment);
    });

  test("v0 layout: version, [topic, [partitions]], user_data", () => {
    const bytes = encodeAssignment({
      version: 0,
      assignedPartitions: [{ topic: "t", partitions: [1, 2] }],
      userData: null,
    });
    assert.equal(
      bytes.toString("hex"),
      "0000" + "00000001" + "000174" + "00000002" + "00000001" + "00000002" + "ffffffff",
    );
  });

  test("zero bytes (an error's or an unassigned member's) decode as an empty assignment", () => {
    assert.deepStrictEqual(decodeAssignment(Buffer.alloc(0)), {
      version: 0,
      assignedPartitions: [],
      userData: null,
    });
  });

  test("a newer version reads like v0, later fields ignored", () => {
    const bytes = Buffer.concat([encodeAssignment(assignment(null)), Buffer.from("00000005", "hex")]);
    bytes.writeInt16BE(2, 0);
    assert.deepStrictEqual(decodeAssignment(bytes), { ...assignment(null), version: 2 });
  });

  test("only v0 encodes", () => {
    assert.throws(() => encodeAssignment({ ...assignment(null), version: 1 }));
  });

  test("kafkajs reads ours and we read kafkajs's", () => {
    assert.deepStrictEqual(kafkajs.MemberAssignment.decode(encodeAssignment(assignment(Buffer.from("ud")))), {
      version: 0,
      assignment: { "topic-a": [0, 2], "topic-b": [] },
      userData: Buffer.from("ud"),
    });
    const theirs = kafkajs.MemberAssignment.encode({ version: 0, assignment: { "topic-a": [1, 3] } });
    assert.deepStrictEqual(decodeAssignment(theirs), {
      version: 0,
      assignedPartitions: [{ topic: "topic-a", partitions: [1, 3] }],
      userData: Buffer.alloc(0),
    });
    // kafkajs reads zero bytes as "no assignment" too.
    assert.equal(kafkajs.MemberAssignment.decode(Buffer.alloc(0)), null);
  });
});
