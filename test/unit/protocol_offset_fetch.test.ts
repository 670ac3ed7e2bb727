import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
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

const request: OffsetFetchRequest = {
  groupId: "group-a",
  topics: [
    { name: "topic-a", partitionIndexes: [0, 1] },
    { name: "topic-b", partitionIndexes: [] },
  ],
};

const response = (v: number, partitionError = 0, groupError = 0): OffsetFetchResponse => ({
  throttleTimeMs: v >= 3 ? 5 : 0,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, committedOffset: 42, metadata: "meta", errorCode: partitionError },
        // No commit: offset -1, metadata "" (kafka-protocol.md §5: list every requested partition).
        { partitionIndex: 1, committedOffset: -1, metadata: "", errorCode: 0 },
        { partitionIndex: 2, committedOffset: 2 ** 40, metadata: null, errorCode: 0 },
      ],
    },
  ],
  errorCode: v >= 2 ? groupError : 0,
});

describe("OffsetFetch codec", () => {
  test("advertises 0-4", () => {
    assert.equal(codec.key, ApiKey.OffsetFetch);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4]);
  });

  // Below v1 no kafkajs fixture was captured: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check those versions.
  for (const v of versions(codec).filter((v) => v >= 1)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request);
      requestRoundTrip(codec, v, { groupId: "g", topics: [] });
      if (v >= 2) requestRoundTrip(codec, v, { groupId: "g", topics: null });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, 3, v >= 2 ? 16 : 0));
    });
  }

  test("null topics (all) are v2+: v1 refuses to encode them and reads a -1 count as []", () => {
    assert.throws(() => encodeWith((w) => codec.encodeRequest(w, 1, { groupId: "g", topics: null })));
    const bytes = encodeWith((w) => codec.encodeRequest(w, 2, { groupId: "g", topics: null }));
    assert.equal(bytes.toString("hex"), "000167ffffffff");
    assert.deepStrictEqual(codec.decodeRequest(new Reader(bytes), 1), { groupId: "g", topics: [] });
  });

  test("the top-level error_code follows the topics (v2+)", () => {
    const bytes = encodeWith((w) =>
      codec.encodeResponse(w, 2, { throttleTimeMs: 0, topics: [], errorCode: 16 }),
    );
    assert.equal(bytes.toString("hex"), "00000000" + "0010");
    assert.throws(() => codec.decodeResponse(new Reader(bytes.subarray(0, 5)), 2), ProtocolError);
  });
});

describe("OffsetFetch and kafkajs 2.2.4", () => {
  // Below v1 no kafkajs fixture was captured: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check those versions.
  for (const v of versions(codec).filter((v) => v >= 1)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `offset_fetch_v${v}`), {
        groupId: "group-a",
        topics: [
          { name: "topic-a", partitionIndexes: [0, 1] },
          { name: "topic-b", partitionIndexes: [0] },
        ],
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
      { groupId: "group-a", topics: null },
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
    });
  });
});
