import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type ListOffsetsRequest,
  type ListOffsetsResponse,
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

const request = (v: number): ListOffsetsRequest => ({
  replicaId: -1,
  isolationLevel: v >= 2 ? 1 : 0,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, timestamp: -1 },
        { partitionIndex: 1, timestamp: -2 },
        { partitionIndex: 2, timestamp: 1700000000000 },
      ],
    },
  ],
});

const response = (v: number): ListOffsetsResponse => ({
  throttleTimeMs: v >= 2 ? 3 : 0,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, errorCode: 0, timestamp: -1, offset: 2 ** 45 },
        { partitionIndex: 1, errorCode: 0, timestamp: -1, offset: 0 },
      ],
    },
  ],
});

describe("ListOffsets codec", () => {
  test("advertises 0-3", () => {
    assert.equal(codec.key, ApiKey.ListOffsets);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3]);
  });

  // v0 has no captured kafkajs fixture: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check it.
  for (const v of versions(codec).filter((v) => v >= 1)) {
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
  });
});

describe("ListOffsets and kafkajs 2.2.4", () => {
  // v0 has no captured kafkajs fixture: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check it.
  for (const v of versions(codec).filter((v) => v >= 1)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `list_offsets_v${v}`), {
        replicaId: -1,
        isolationLevel: v >= 2 ? 1 : 0,
        topics: [
          {
            name: "topic-a",
            partitions: [
              { partitionIndex: 0, timestamp: -1 },
              { partitionIndex: 1, timestamp: -2 },
              { partitionIndex: 2, timestamp: 1700000000000 },
            ],
          },
        ],
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "listOffsets",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
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
              { partition: 1, errorCode: 0, timestamp: "-1", offset: "0" },
            ],
          },
        ],
      });
    });
  }
});
