import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  type OffsetFetchRequest,
  type OffsetFetchResponse,
  offsetFetchCodec,
} from "../../src/protocol/offset_fetch.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { decodeKcatFixture } from "../fixtures/protocol/capture_kcat.ts";
import {
  decodeAll,
  decodeRequestFixture,
  encodeWith,
  fixture,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = offsetFetchCodec;

/** The versions kafkajs 2.2.4 implements (and fixtures were captured of). */
const KAFKAJS = [1, 2, 3, 4];

const topics = [
  { name: "topic-a", partitionIndexes: [0, 1] },
  { name: "topic-b", partitionIndexes: [] },
];

/** v0-7 ask for one group (v7 may require stable offsets); v8+ for many, each with its topics. */
const request = (v: number): OffsetFetchRequest =>
  v <= 7
    ? { groupId: "group-a", topics, groups: [], requireStable: v === 7 }
    : {
        groupId: "",
        topics: [],
        groups: [
          { groupId: "group-a", memberId: v >= 9 ? "member-1" : null, memberEpoch: v >= 9 ? 4 : -1, topics },
          // null: every partition group-b committed.
          { groupId: "group-b", memberId: null, memberEpoch: -1, topics: null },
        ],
        requireStable: true,
      };

const partitions = (v: number, partitionError = 0) => [
  {
    partitionIndex: 0,
    committedOffset: 42,
    committedLeaderEpoch: v >= 5 ? 3 : -1,
    metadata: "meta",
    errorCode: partitionError,
  },
  // No commit: offset -1, metadata "" (kafka-protocol.md §5: list every requested partition).
  { partitionIndex: 1, committedOffset: -1, committedLeaderEpoch: -1, metadata: "", errorCode: 0 },
  { partitionIndex: 2, committedOffset: 2 ** 40, committedLeaderEpoch: -1, metadata: null, errorCode: 0 },
];

/** v0-7 answer one group (v2+ with a group-level error); v8+ each group in `groups`. */
const response = (v: number, partitionError = 0, groupError = 0): OffsetFetchResponse =>
  v <= 7
    ? {
        throttleTimeMs: v >= 3 ? 5 : 0,
        topics: [{ name: "topic-a", partitions: partitions(v, partitionError) }],
        errorCode: v >= 2 ? groupError : 0,
        groups: [],
      }
    : {
        throttleTimeMs: 5,
        topics: [],
        errorCode: 0,
        groups: [
          {
            groupId: "group-a",
            topics: [{ name: "topic-a", partitions: partitions(v, partitionError) }],
            errorCode: 0,
          },
          { groupId: "group-b", topics: [], errorCode: groupError },
        ],
      };

const str = (s: string) => (s.length + 1).toString(16).padStart(2, "0") + Buffer.from(s).toString("hex");

describe("OffsetFetch codec", () => {
  test("advertises 0-9", () => {
    assert.equal(codec.key, ApiKey.OffsetFetch);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      if (v <= 7) {
        requestRoundTrip(codec, v, { groupId: "g", topics: [], groups: [], requireStable: false });
        if (v >= 2)
          requestRoundTrip(codec, v, { groupId: "g", topics: null, groups: [], requireStable: false });
      } else {
        requestRoundTrip(codec, v, { ...request(v), groups: [] });
      }
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, 3, v >= 2 ? 16 : 0));
    });
  }

  test("null topics (all) are v2+: v1 refuses to encode them and to decode a -1 count", () => {
    assert.throws(() => encodeWith((w) => codec.encodeRequest(w, 1, { groupId: "g", topics: null })));
    const bytes = encodeWith((w) => codec.encodeRequest(w, 2, { groupId: "g", topics: null }));
    assert.equal(bytes.toString("hex"), "000167ffffffff");
    // Kafka's generated code: "non-nullable field topics was serialized as null".
    assert.throws(() => codec.decodeRequest(new Reader(bytes), 1), ProtocolError);
    assert.deepStrictEqual(codec.decodeRequest(new Reader(bytes), 2), {
      groupId: "g",
      topics: null,
      groups: [],
      requireStable: false,
    });
  });

  test("the top-level error_code follows the topics (v2+)", () => {
    const bytes = encodeWith((w) =>
      codec.encodeResponse(w, 2, { throttleTimeMs: 0, topics: [], errorCode: 16 }),
    );
    assert.equal(bytes.toString("hex"), "00000000" + "0010");
    assert.throws(() => codec.decodeResponse(new Reader(bytes.subarray(0, 5)), 2), ProtocolError);
  });

  test("fields a version lacks decode to their defaults", () => {
    // v4 has no committed_leader_epoch (-1), v6 no require_stable (false).
    const r4 = encodeWith((w) => codec.encodeResponse(w, 4, response(7)));
    assert.deepStrictEqual(codec.decodeResponse(new Reader(r4), 4), response(4));
    const q6 = encodeWith((w) => codec.encodeRequest(w, 6, request(7)));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(q6), 6), request(6));
    // v8 has groups but neither group_id nor topics at the top; no member id or epoch (v9).
    const q8 = encodeWith((w) => codec.encodeRequest(w, 8, { ...request(9), groupId: "x", topics: null }));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(q8), 8), request(8));
    // v7 has no groups.
    const q7 = encodeWith((w) => codec.encodeRequest(w, 7, { ...request(9), groupId: "g", topics }));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(q7), 7), {
      groupId: "g",
      topics,
      groups: [],
      requireStable: true,
    });
  });

  test("v6 is flexible: compact strings, arrays, nullable arrays (0 = null), tagged fields", () => {
    const one = [{ name: "t", partitionIndexes: [1] }];
    // "g", 1 topic (2): "t", 1 index (2): 1, its tags; the message's tags.
    assert.equal(
      requestRoundTrip(codec, 6, { groupId: "g", topics: one, groups: [], requireStable: false }).toString(
        "hex",
      ),
      `${str("g")}02${str("t")}02000000010000`,
    );
    assert.equal(
      requestRoundTrip(codec, 7, { groupId: "g", topics: null, groups: [], requireStable: true }).toString(
        "hex",
      ),
      `${str("g")}000100`,
    );
  });

  test("v8 asks for many groups, each answered with its own topics and error", () => {
    const req: OffsetFetchRequest = {
      groupId: "",
      topics: [],
      groups: [
        { groupId: "a", memberId: null, memberEpoch: -1, topics: [{ name: "t", partitionIndexes: [0] }] },
        { groupId: "b", memberId: null, memberEpoch: -1, topics: null },
      ],
      requireStable: false,
    };
    // 2 groups (3): "a", 1 topic: "t", [0], tags; tags. "b", null, tags. require_stable false; tags.
    const group8 = `${str("a")}02${str("t")}02000000000000${str("b")}0000`;
    assert.equal(requestRoundTrip(codec, 8, req).toString("hex"), `03${group8}0000`);
    // v9: member id (null) and epoch (-1) after each group id.
    const group9 =
      str("a") +
      "00" +
      "ffffffff" +
      "02" +
      str("t") +
      "02" +
      "00000000" +
      "00" +
      "00" +
      str("b") +
      "00" +
      "ffffffff" +
      "00" +
      "00";
    assert.equal(requestRoundTrip(codec, 9, req).toString("hex"), `03${group9}0000`);

    const res: OffsetFetchResponse = {
      throttleTimeMs: 0,
      topics: [],
      errorCode: 0,
      groups: [
        {
          groupId: "a",
          topics: [
            {
              name: "t",
              partitions: [
                {
                  partitionIndex: 0,
                  committedOffset: 5,
                  committedLeaderEpoch: 2,
                  metadata: null,
                  errorCode: 0,
                },
              ],
            },
          ],
          errorCode: 0,
        },
        { groupId: "b", topics: [], errorCode: ErrorCode.NOT_COORDINATOR },
      ],
    };
    assert.equal(
      responseRoundTrip(codec, 8, res).toString("hex"),
      "00000000" +
        "03" +
        str("a") +
        "02" +
        str("t") +
        "02" +
        "00000000" +
        "0000000000000005" +
        "00000002" +
        "00" +
        "0000" +
        "00" +
        "00" +
        "0000" +
        "00" +
        str("b") +
        "01" +
        "0010" +
        "00" +
        "00",
    );
  });
});

describe("OffsetFetch and kafkajs 2.2.4", () => {
  // kafkajs has no v0; v5+ are not in kafkajs 2.2.4.
  for (const v of KAFKAJS) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `offset_fetch_v${v}`), {
        groupId: "group-a",
        topics: [
          { name: "topic-a", partitionIndexes: [0, 1] },
          { name: "topic-b", partitionIndexes: [0] },
        ],
        groups: [],
        requireStable: false,
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "offsetFetch",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      );
      assert.deepStrictEqual(decoded, {
        ...(v === 3 ? { throttleTime: 5 } : v >= 4 ? { throttleTime: 0, clientSideThrottleTime: 5 } : {}),
        responses: [
          {
            topic: "topic-a",
            partitions: [
              { partition: 0, offset: "42", metadata: "meta", errorCode: 0 },
              { partition: 1, offset: "-1", metadata: "", errorCode: 0 },
              { partition: 2, offset: String(2 ** 40), metadata: null, errorCode: 0 },
            ],
          },
        ],
        ...(v >= 2 ? { errorCode: 0 } : {}),
      });
    });

    test(`v${v} kafkajs sees a partition error`, async () => {
      const m = kafkajsResponse("offsetFetch", v);
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, 3)));
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "UNKNOWN_TOPIC_OR_PARTITION" });
    });

    if (v >= 2)
      test(`v${v} kafkajs sees the top-level error`, async () => {
        const m = kafkajsResponse("offsetFetch", v);
        const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, 0, 16)));
        await assert.rejects(m.parse(await m.decode(bytes)), { type: "NOT_COORDINATOR_FOR_GROUP" });
      });
  }

  test("v4 with an empty topic list: kafkajs sends null (all topics)", () => {
    assert.deepStrictEqual(
      decodeAll(fixture("kafkajs", "offset_fetch_v4_all_topics"), (r) => codec.decodeRequest(r, 4)),
      { groupId: "group-a", topics: null, groups: [], requireStable: false },
    );
  });
});

describe("OffsetFetch and librdkafka 2.0.2 (kcat -G)", () => {
  test("v4 request fixture: the assigned partitions", () => {
    const { header, req } = decodeKcatFixture(codec, "offset_fetch_v4");
    assert.equal(header.apiVersion, 4);
    assert.deepStrictEqual(req, {
      groupId: "group-kcat",
      topics: [{ name: "topic-a", partitionIndexes: [0, 1] }],
      groups: [],
      requireStable: false,
    });
  });
});
