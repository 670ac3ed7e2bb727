import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type ListOffsetsRequest,
  type ListOffsetsResponse,
  ListOffsetsTimestamp,
  listOffsetsCodec,
} from "../../src/protocol/list_offsets.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = listOffsetsCodec;

// Fields a version does not carry hold the spec's defaults: current_leader_epoch -1 (v4+),
// max_num_offsets 1 (v0 only), timeout_ms 0 (v10, not served); in the answer old_style_offsets
// [] (v0 only), timestamp and offset -1 (v1+), leader_epoch -1 (v4+).
const request = (v: number): ListOffsetsRequest => ({
  replicaId: -1,
  isolationLevel: v >= 2 ? 1 : 0,
  topics: [
    {
      name: "topic-a",
      partitions: [
        {
          partitionIndex: 0,
          currentLeaderEpoch: v >= 4 ? 5 : -1,
          timestamp: -1,
          maxNumOffsets: v === 0 ? 3 : 1,
        },
        { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
        {
          partitionIndex: 2,
          currentLeaderEpoch: v >= 4 ? 0 : -1,
          timestamp: 1700000000000,
          maxNumOffsets: 1,
        },
        // KIP-734's max timestamp (v7+) and the tiered-storage ones (v8+, v9+): int64s like any other
        ...(v >= 7
          ? [
              {
                partitionIndex: 3,
                currentLeaderEpoch: -1,
                timestamp: ListOffsetsTimestamp.MAX_TIMESTAMP,
                maxNumOffsets: 1,
              },
            ]
          : []),
        ...(v >= 8
          ? [
              {
                partitionIndex: 4,
                currentLeaderEpoch: -1,
                timestamp: ListOffsetsTimestamp.EARLIEST_LOCAL,
                maxNumOffsets: 1,
              },
            ]
          : []),
        ...(v >= 9
          ? [
              {
                partitionIndex: 5,
                currentLeaderEpoch: -1,
                timestamp: ListOffsetsTimestamp.LATEST_TIERED,
                maxNumOffsets: 1,
              },
            ]
          : []),
      ],
    },
    { name: "topic-b", partitions: [] },
  ],
  timeoutMs: 0,
});

const response = (v: number): ListOffsetsResponse => ({
  throttleTimeMs: v >= 2 ? 3 : 0,
  topics: [
    {
      name: "topic-a",
      partitions: [
        {
          partitionIndex: 0,
          errorCode: 0,
          oldStyleOffsets: v === 0 ? [2 ** 45] : [],
          timestamp: -1,
          offset: v >= 1 ? 2 ** 45 : -1,
          leaderEpoch: v >= 4 ? 0 : -1,
        },
        {
          partitionIndex: 1,
          errorCode: 0,
          oldStyleOffsets: v === 0 ? [0] : [],
          timestamp: v >= 1 ? 1700000000000 : -1,
          offset: v >= 1 ? 0 : -1,
          leaderEpoch: v >= 4 ? 7 : -1,
        },
        {
          partitionIndex: 2,
          errorCode: 74, // FENCED_LEADER_EPOCH
          oldStyleOffsets: [],
          timestamp: -1,
          offset: -1,
          leaderEpoch: -1,
        },
      ],
    },
  ],
});

describe("ListOffsets codec", () => {
  test("advertises 0-9 (v10's timeout is unstable in the specs vendored)", () => {
    assert.equal(codec.key, ApiKey.ListOffsets);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v2 adds isolation_level (request) and throttle_time_ms (response)", () => {
    const len = (v: number, res: boolean) =>
      encodeWith((w) =>
        res ? codec.encodeResponse(w, v, response(v)) : codec.encodeRequest(w, v, request(v)),
      ).length;
    assert.equal(len(2, false) - len(1, false), 1);
    assert.equal(len(2, true) - len(1, true), 4);
    assert.equal(len(3, false), len(2, false));
    // v4 adds current_leader_epoch (4 per partition, 3 partitions) and leader_epoch (4 per partition)
    assert.equal(len(4, false) - len(3, false), 3 * 4);
    assert.equal(len(4, true) - len(3, true), 3 * 4);
  });

  test("v0 asks for max_num_offsets and is answered in old_style_offsets", () => {
    const res = encodeWith((w) => codec.encodeResponse(w, 0, response(0)));
    // topics: 1, "topic-a", partitions: 3, partition 0: index, error, [2^45]
    assert.equal(
      res.subarray(0, 4 + 2 + 7 + 4 + 4 + 2 + 4 + 8).toString("hex"),
      "00000001" +
        "0007" +
        Buffer.from("topic-a").toString("hex") +
        "00000003" +
        "00000000" +
        "0000" +
        "00000001" +
        "0000200000000000",
    );
  });

  test("v6 is flexible: compact arrays and strings, a tag buffer per struct", () => {
    const bytes = encodeWith((w) =>
      codec.encodeRequest(w, 6, {
        replicaId: -1,
        isolationLevel: 0,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -3 }] }],
      }),
    );
    assert.equal(
      bytes.toString("hex"),
      "ffffffff" +
        "00" +
        "02" +
        "0274" +
        "02" +
        ("00000000" + "ffffffff" + "fffffffffffffffd" + "00") +
        "00" +
        "00",
    );
  });
});

describe("ListOffsets and kafkajs 2.2.4", () => {
  // kafkajs sends v1-3 (v0 has no captured fixture: test/integration/old_versions.test.ts checks it)
  for (const v of [1, 2, 3]) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `list_offsets_v${v}`), {
        replicaId: -1,
        isolationLevel: v >= 2 ? 1 : 0,
        topics: [
          {
            name: "topic-a",
            partitions: [
              { partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1, maxNumOffsets: 1 },
              { partitionIndex: 1, currentLeaderEpoch: -1, timestamp: -2, maxNumOffsets: 1 },
              { partitionIndex: 2, currentLeaderEpoch: -1, timestamp: 1700000000000, maxNumOffsets: 1 },
            ],
          },
        ],
        timeoutMs: 0,
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const res = response(v);
      res.topics[0].partitions = res.topics[0].partitions.slice(0, 2); // kafkajs parse throws on errors
      const decoded = await kafkajsDecode(
        "listOffsets",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, res)),
      );
      const throttle =
        v === 1 ? {} : v === 2 ? { throttleTime: 3 } : { throttleTime: 0, clientSideThrottleTime: 3 };
      assert.deepStrictEqual(decoded, {
        ...throttle,
        responses: [
          {
            topic: "topic-a",
            partitions: [
              { partition: 0, errorCode: 0, timestamp: "-1", offset: String(2 ** 45) },
              { partition: 1, errorCode: 0, timestamp: "1700000000000", offset: "0" },
            ],
          },
        ],
      });
    });
  }
});
