import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  createTopicsCodec,
} from "../../src/protocol/create_topics.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = createTopicsCodec;

const request = (v: number): CreateTopicsRequest => ({
  topics: [
    {
      name: "t1",
      numPartitions: 3,
      replicationFactor: 1,
      assignments: [],
      configs: [
        { name: "retention.ms", value: "1000" },
        { name: "cleanup.policy", value: null },
      ],
    },
    {
      name: "t2",
      numPartitions: -1,
      replicationFactor: -1,
      assignments: [{ partitionIndex: 0, brokerIds: [1, 2] }],
      configs: [],
    },
  ],
  timeoutMs: 60000,
  validateOnly: v >= 1,
});

const response = (v: number): CreateTopicsResponse => ({
  throttleTimeMs: v >= 2 ? 4 : 0,
  topics: [
    { name: "t2", errorCode: 0, errorMessage: null },
    { name: "t1", errorCode: 36, errorMessage: v >= 1 ? "Topic 't1' already exists." : null },
  ],
});

describe("CreateTopics codec", () => {
  test("advertises 0-3", () => {
    assert.equal(codec.key, ApiKey.CreateTopics);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }
});

describe("CreateTopics and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `create_topics_v${v}`), {
        topics: [
          {
            name: "new-topic",
            numPartitions: 3,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: "cleanup.policy", value: "compact" }],
          },
          {
            name: "manual-topic",
            numPartitions: -1,
            replicationFactor: -1,
            assignments: [
              { partitionIndex: 0, brokerIds: [0] },
              { partitionIndex: 1, brokerIds: [0] },
            ],
            configs: [],
          },
        ],
        timeoutMs: 5000,
        validateOnly: v >= 1,
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const ok: CreateTopicsResponse = {
        throttleTimeMs: v >= 2 ? 4 : 0,
        topics: [
          { name: "t2", errorCode: 0, errorMessage: null },
          { name: "t1", errorCode: 0, errorMessage: null },
        ],
      };
      const decoded = await kafkajsDecode(
        "createTopics",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, ok)),
      );
      const message = v >= 1 ? { errorMessage: null } : {};
      assert.deepStrictEqual(decoded, {
        ...(v === 2 ? { throttleTime: 4 } : v === 3 ? { throttleTime: 0, clientSideThrottleTime: 4 } : {}),
        topicErrors: [
          { topic: "t1", errorCode: 0, ...message },
          { topic: "t2", errorCode: 0, ...message },
        ],
      });
    });

    test(`v${v} kafkajs sees TOPIC_ALREADY_EXISTS`, async () => {
      const m = kafkajsResponse("createTopics", v);
      const decoded = await m.decode(encodeWith((w) => codec.encodeResponse(w, v, response(v))));
      await assert.rejects(m.parse(decoded), (e: { errors: { type: string; topic: string }[] }) => {
        assert.equal(e.errors[0].type, "TOPIC_ALREADY_EXISTS");
        assert.equal(e.errors[0].topic, "t1");
        return true;
      });
    });
  }
});
