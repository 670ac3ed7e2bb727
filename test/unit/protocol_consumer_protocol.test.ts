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

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
const u8 = (text: string): Uint8Array => new TextEncoder().encode(text);

const subscription = (version: number, userData: Uint8Array | null): ConsumerSubscription => ({
  version,
  topics: ["topic-a", "topic-b"],
  userData,
  ownedPartitions: version >= 1 ? [{ topic: "topic-a", partitions: [0, 3] }] : [],
});

const assignment = (userData: Uint8Array | null): ConsumerAssignment => ({
  version: 0,
  assignedPartitions: [
    { topic: "topic-a", partitions: [0, 2] },
    { topic: "topic-b", partitions: [] },
  ],
  userData,
});

/** Where an array of strings that starts at `at` ends (int32 count, int16-prefixed UTF-8). */
const afterStrings = (at: number, items: readonly string[]): number =>
  items.reduce((n, t) => n + 2 + u8(t).length, at + 4);

/** Where an array of topic partitions (string, [int32]) that starts at `at` ends. */
const afterTopicPartitions = (
  at: number,
  items: readonly { topic: string; partitions: number[] }[],
): number => items.reduce((n, t) => n + 2 + u8(t.topic).length + 4 + 4 * t.partitions.length, at + 4);

/**
 * Every prefix of `bytes` throws ProtocolError, except the cuts in `decodes` (Kafka's and the
 * clients' lenient reading of a struct that ends early), which decode to the value given.
 */
function truncations<T>(bytes: Uint8Array, decode: (b: Uint8Array) => T, decodes: Map<number, T>): void {
  for (const n of decodes.keys()) assert.ok(n > 0 && n < bytes.length, `cut ${n} is inside the bytes`);
  for (let n = 1; n < bytes.length; n++) {
    const cut = bytes.slice(0, n);
    const expected = decodes.get(n);
    if (expected === undefined) assert.throws(() => decode(cut), ProtocolError, `${n} bytes`);
    else assert.deepStrictEqual(decode(cut), expected, `${n} bytes decode`);
  }
}

describe("consumer protocol Subscription", () => {
  for (const version of [0, 1])
    for (const userData of [null, new Uint8Array(0), u8("ud")])
      test(`v${version} round trip, user_data ${userData === null ? "null" : userData.length}`, () => {
        const s = subscription(version, userData);
        const bytes = encodeSubscription(s);
        assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
        assert.deepStrictEqual(decodeSubscription(bytes), s);
        assert.deepStrictEqual(encodeSubscription(decodeSubscription(bytes)), bytes);
        // Cut right after the topics: user_data null (and no owned partitions). A v1 cut right
        // after user_data: owned_partitions []. Any other cut throws.
        const afterTopics = afterStrings(2, s.topics);
        const decodes = new Map<number, ConsumerSubscription>([
          [afterTopics, { ...s, userData: null, ownedPartitions: [] }],
        ]);
        if (version >= 1)
          decodes.set(afterTopics + 4 + (userData?.length ?? 0), { ...s, ownedPartitions: [] });
        truncations(bytes, decodeSubscription, decodes);
      });

  test("v0 layout: version, topics, user_data; v1 appends owned_partitions", () => {
    const v0 = encodeSubscription({ version: 0, topics: ["t"], userData: null, ownedPartitions: [] });
    assert.equal(hex(v0), "0000" + "00000001" + "000174" + "ffffffff");
    const v1 = encodeSubscription({
      version: 1,
      topics: ["t"],
      userData: null,
      ownedPartitions: [{ topic: "t", partitions: [5] }],
    });
    assert.equal(
      hex(v1),
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

  test("a Subscription that ends right after its topics decodes with user_data null", () => {
    // librdkafka and older clients may leave user_data out; Kafka's ConsumerProtocol reads null
    const v0 = Uint8Array.from(Buffer.from("0000" + "00000001" + "000174", "hex"));
    assert.deepStrictEqual(decodeSubscription(v0), {
      version: 0,
      topics: ["t"],
      userData: null,
      ownedPartitions: [],
    });
    const v1 = Uint8Array.from(Buffer.from("0001" + "00000001" + "000174", "hex"));
    assert.deepStrictEqual(decodeSubscription(v1), {
      version: 1,
      topics: ["t"],
      userData: null,
      ownedPartitions: [],
    });
  });

  test("a v1 Subscription without owned_partitions decodes with []", () => {
    const bytes = Uint8Array.from(Buffer.from("0001" + "00000001" + "000174" + "00000002" + "7564", "hex"));
    assert.deepStrictEqual(decodeSubscription(bytes), {
      version: 1,
      topics: ["t"],
      userData: u8("ud"),
      ownedPartitions: [],
    });
  });

  test("only v0 and v1 encode; a negative version does not decode", () => {
    assert.throws(() => encodeSubscription(subscription(2, null)));
    assert.throws(() => decodeSubscription(Buffer.from("ffff00000000ffffffff", "hex")), ProtocolError);
  });

  test("kafkajs reads ours and we read kafkajs's", () => {
    for (const version of [0, 1]) {
      const s = subscription(version, u8("ud"));
      // kafkajs reads version, topics and user_data (and ignores v1's owned_partitions).
      assert.deepStrictEqual(kafkajs.MemberMetadata.decode(Buffer.from(encodeSubscription(s))), {
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
  for (const userData of [null, new Uint8Array(0), u8("ud")])
    test(`v0 round trip, user_data ${userData === null ? "null" : userData.length}`, () => {
      const a = assignment(userData);
      const bytes = encodeAssignment(a);
      assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
      assert.deepStrictEqual(decodeAssignment(bytes), a);
      assert.deepStrictEqual(encodeAssignment(decodeAssignment(bytes)), bytes);
      // Cut right after the assigned partitions: user_data null. Any other cut throws.
      const afterPartitions = afterTopicPartitions(2, a.assignedPartitions);
      truncations(bytes, decodeAssignment, new Map([[afterPartitions, { ...a, userData: null }]]));
    });

  test("an Assignment that ends right after its partitions decodes with user_data null", () => {
    const bytes = Uint8Array.from(
      Buffer.from("0000" + "00000001" + "000174" + "00000001" + "00000007", "hex"),
    );
    assert.deepStrictEqual(decodeAssignment(bytes), {
      version: 0,
      assignedPartitions: [{ topic: "t", partitions: [7] }],
      userData: null,
    });
  });

  test("v0 layout: version, [topic, [partitions]], user_data", () => {
    const bytes = encodeAssignment({
      version: 0,
      assignedPartitions: [{ topic: "t", partitions: [1, 2] }],
      userData: null,
    });
    assert.equal(
      hex(bytes),
      "0000" + "00000001" + "000174" + "00000002" + "00000001" + "00000002" + "ffffffff",
    );
  });

  test("zero bytes (an error's or an unassigned member's) decode as an empty assignment", () => {
    assert.deepStrictEqual(decodeAssignment(new Uint8Array(0)), {
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
    assert.deepStrictEqual(
      kafkajs.MemberAssignment.decode(Buffer.from(encodeAssignment(assignment(u8("ud"))))),
      {
        version: 0,
        assignment: { "topic-a": [0, 2], "topic-b": [] },
        userData: Buffer.from("ud"),
      },
    );
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
