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

const request = (v: number): OffsetCommitRequest => ({
  groupId: "group-a",
  generationId: 3,
  memberId: "member-1",
  retentionTimeMs: v <= 4 ? 86400000 : -1,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, committedOffset: 2 ** 40, committedMetadata: null },
        { partitionIndex: 1, committedOffset: 0, committedMetadata: "meta" },
      ],
    },
    { name: "topic-b", partitions: [] },
  ],
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
  test("advertises 0-5", () => {
    assert.equal(codec.key, ApiKey.OffsetCommit);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5]);
  });

  // Below v2 no kafkajs fixture was captured: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check those versions.
  for (const v of versions(codec).filter((v) => v >= 2)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      // A commit outside any generation (kcat's legacy consumer, memberless groups).
      requestRoundTrip(codec, v, { ...request(v), generationId: -1, memberId: "", topics: [] });
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
});

describe("OffsetCommit and kafkajs 2.2.4", () => {
  // Below v2 no kafkajs fixture was captured: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check those versions.
  for (const v of versions(codec).filter((v) => v >= 2)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `offset_commit_v${v}`), {
        groupId: "group-a",
        generationId: 3,
        memberId: "member-1",
        retentionTimeMs: v <= 4 ? 86400000 : -1,
        topics: [
          {
            name: "topic-a",
            partitions: [
              { partitionIndex: 0, committedOffset: 42, committedMetadata: null },
              { partitionIndex: 1, committedOffset: 7, committedMetadata: "meta" },
            ],
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
      generationId: 1,
      memberId: "rdkafka-member-1",
      retentionTimeMs: -1,
      // librdkafka writes an empty string, not null, as metadata.
      topics: [
        { name: "topic-a", partitions: [{ partitionIndex: 0, committedOffset: 1, committedMetadata: "" }] },
      ],
    });
  });
});
