import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type OffsetCommitRequest,
  type OffsetCommitResponse,
  offsetCommitCodec,
} from "../../src/protocol/offset_commit.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { decodeKcatFixture } from "../fixtures/protocol/capture_kcat.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = offsetCommitCodec;

/** The versions kafkajs 2.2.4 fixtures were captured of. */
const KAFKAJS = [2, 3, 4, 5];

/** A request as `v` carries it: every field a version lacks at its default. */
const request = (v: number): OffsetCommitRequest => ({
  groupId: "group-a",
  // v0 has no generation: a memberless commit.
  generationIdOrMemberEpoch: v >= 1 ? 3 : -1,
  memberId: v >= 1 ? "member-1" : "",
  groupInstanceId: v >= 7 ? "instance-1" : null,
  retentionTimeMs: v >= 2 && v <= 4 ? 86400000 : -1,
  topics: [
    {
      name: "topic-a",
      partitions: [
        {
          partitionIndex: 0,
          committedOffset: 2 ** 40,
          committedLeaderEpoch: v >= 6 ? 5 : -1,
          commitTimestamp: v === 1 ? 1_700_000_000_000 : -1,
          committedMetadata: null,
        },
        {
          partitionIndex: 1,
          committedOffset: 0,
          committedLeaderEpoch: -1,
          commitTimestamp: -1,
          committedMetadata: "meta",
        },
      ],
    },
    { name: "topic-b", partitions: [] },
  ],
});

/** A partition as a version without leader epoch and commit timestamp decodes it. */
const partition = (partitionIndex: number, committedOffset: number, committedMetadata: string | null) => ({
  partitionIndex,
  committedOffset,
  committedLeaderEpoch: -1,
  commitTimestamp: -1,
  committedMetadata,
});

const response = (v: number, errorCode = 0): OffsetCommitResponse => ({
  throttleTimeMs: v >= 3 ? 4 : 0,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, errorCode },
        { partitionIndex: 1, errorCode: 0 },
      ],
    },
  ],
});

describe("OffsetCommit codec", () => {
  test("advertises 0-9", () => {
    assert.equal(codec.key, ApiKey.OffsetCommit);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      // A commit outside any generation (kcat's legacy consumer, memberless groups).
      requestRoundTrip(codec, v, {
        ...request(v),
        generationIdOrMemberEpoch: -1,
        memberId: "",
        groupInstanceId: null,
        topics: [],
      });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, 22));
    });
  }

  test("v4 writes retention_time_ms, v5 does not (and decodes it as -1)", () => {
    const v4 = encodeWith((w) => codec.encodeRequest(w, 4, request(4)));
    const v5 = encodeWith((w) => codec.encodeRequest(w, 5, { ...request(4) }));
    assert.equal(v4.length, v5.length + 8);
    // group_id (2 + 7), generation_id, member_id (2 + 8), then retention_time_ms in v4.
    assert.equal(v4.readBigInt64BE(2 + 7 + 4 + 2 + 8), 86400000n);
    assert.equal(codec.decodeRequest(new Reader(v5), 5).retentionTimeMs, -1);
  });

  test("fields a version lacks decode to their defaults", () => {
    // v1 only: commit_timestamp; v0: no generation, no member.
    const v0 = codec.decodeRequest(new Reader(encodeWith((w) => codec.encodeRequest(w, 0, request(1)))), 0);
    assert.deepStrictEqual(v0, request(0));
    const v2 = codec.decodeRequest(new Reader(encodeWith((w) => codec.encodeRequest(w, 2, request(1)))), 2);
    assert.deepStrictEqual(v2, { ...request(2), retentionTimeMs: -1 });
    // v6 adds committed_leader_epoch, v7 group_instance_id.
    const v5 = codec.decodeRequest(new Reader(encodeWith((w) => codec.encodeRequest(w, 5, request(9)))), 5);
    assert.deepStrictEqual(v5, request(5));
    const v6 = codec.decodeRequest(new Reader(encodeWith((w) => codec.encodeRequest(w, 6, request(9)))), 6);
    assert.deepStrictEqual(v6, request(6));
    assert.equal(v6.topics[0].partitions[0].committedLeaderEpoch, 5);
  });

  test("v6 writes committed_leader_epoch between the offset and the metadata", () => {
    const one = (v: number) =>
      encodeWith((w) =>
        codec.encodeRequest(w, v, {
          groupId: "g",
          generationIdOrMemberEpoch: 1,
          memberId: "m",
          topics: [
            {
              name: "t",
              partitions: [
                { partitionIndex: 0, committedOffset: 7, committedLeaderEpoch: 9, committedMetadata: null },
              ],
            },
          ],
        }),
      ).toString("hex");
    const head =
      "000167" + "00000001" + "00016d" + "00000001" + "000174" + "00000001" + "00000000" + "0000000000000007";
    assert.equal(one(5), `${head}ffff`);
    assert.equal(one(6), `${head}00000009ffff`);
    assert.equal(one(7), `${head.replace("00016d", "00016d" + "ffff")}00000009ffff`);
  });

  test("v8 is flexible: compact strings and arrays, tagged fields", () => {
    const req: OffsetCommitRequest = {
      groupId: "g",
      generationIdOrMemberEpoch: 1,
      memberId: "m",
      groupInstanceId: "i",
      retentionTimeMs: -1,
      topics: [
        {
          name: "t",
          partitions: [
            {
              partitionIndex: 0,
              committedOffset: 7,
              committedLeaderEpoch: 9,
              commitTimestamp: -1,
              committedMetadata: "",
            },
          ],
        },
      ],
    };
    // "g", generation 1, "m", "i", 1 topic (2): "t", 1 partition (2): 0, offset 7, epoch 9,
    // metadata "" (1), its tags; the topic's tags; the message's tags.
    const bytes =
      "0267" +
      "00000001" +
      "026d" +
      "0269" +
      "02" +
      "0274" +
      "02" +
      "00000000" +
      "0000000000000007" +
      "00000009" +
      "01" +
      "00" +
      "00" +
      "00";
    assert.equal(requestRoundTrip(codec, 8, req).toString("hex"), bytes);
    assert.equal(requestRoundTrip(codec, 9, req).toString("hex"), bytes);
    assert.equal(
      responseRoundTrip(codec, 8, {
        throttleTimeMs: 0,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, errorCode: 22 }] }],
      }).toString("hex"),
      "00000000" + "02" + "0274" + "02" + "00000000" + "0016" + "00" + "00" + "00",
    );
  });
});

describe("OffsetCommit and kafkajs 2.2.4", () => {
  // Below v2 no kafkajs fixture was captured: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check those versions.
  for (const v of KAFKAJS) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `offset_commit_v${v}`), {
        groupId: "group-a",
        generationIdOrMemberEpoch: 3,
        memberId: "member-1",
        groupInstanceId: null,
        retentionTimeMs: v <= 4 ? 86400000 : -1,
        topics: [
          {
            name: "topic-a",
            partitions: [partition(0, 42, null), partition(1, 7, "meta")],
          },
        ],
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "offsetCommit",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      );
      assert.deepStrictEqual(decoded, {
        ...(v === 3 ? { throttleTime: 4 } : v >= 4 ? { throttleTime: 0, clientSideThrottleTime: 4 } : {}),
        responses: [
          {
            topic: "topic-a",
            partitions: [
              { partition: 0, errorCode: 0 },
              { partition: 1, errorCode: 0 },
            ],
          },
        ],
      });
    });

    test(`v${v} kafkajs sees a partition error`, async () => {
      const m = kafkajsResponse("offsetCommit", v);
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, 22)));
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "ILLEGAL_GENERATION" });
    });
  }
});

describe("OffsetCommit and librdkafka 2.0.2 (kcat -G)", () => {
  test("v5 request fixture: the commit on close, of the offset after the one record consumed", () => {
    const { header, req } = decodeKcatFixture(codec, "offset_commit_v5");
    assert.equal(header.apiVersion, 5);
    assert.equal(header.clientId, "rdkafka");
    assert.deepStrictEqual(req, {
      groupId: "group-kcat",
      generationIdOrMemberEpoch: 1,
      memberId: "rdkafka-member-1",
      groupInstanceId: null,
      retentionTimeMs: -1,
      // librdkafka writes an empty string, not null, as metadata.
      topics: [{ name: "topic-a", partitions: [partition(0, 1, "")] }],
    });
  });
});
