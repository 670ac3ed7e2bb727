import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { type DeleteTopicsResponse, deleteTopicsCodec } from "../../src/protocol/delete_topics.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = deleteTopicsCodec;

const response = (v: number, errorCode = 0): DeleteTopicsResponse => ({
  throttleTimeMs: v >= 1 ? 2 : 0,
  responses: [
    { name: "topic-b", errorCode },
    { name: "topic-a", errorCode: 0 },
  ],
});

describe("DeleteTopics codec", () => {
  test("advertises 0-1", () => {
    assert.equal(codec.key, ApiKey.DeleteTopics);
    assert.deepStrictEqual(versions(codec), [0, 1]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, { topicNames: ["a", "b", ""], timeoutMs: 30000 });
      requestRoundTrip(codec, v, { topicNames: [], timeoutMs: 0 });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, 3));
    });
  }
});

describe("DeleteTopics and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `delete_topics_v${v}`), {
        topicNames: ["topic-a", "topic-b"],
        timeoutMs: 5000,
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "deleteTopics",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      );
      assert.deepStrictEqual(decoded, {
        ...(v >= 1 ? { throttleTime: 0, clientSideThrottleTime: 2 } : {}),
        topicErrors: [
          { topic: "topic-a", errorCode: 0 },
          { topic: "topic-b", errorCode: 0 },
        ],
      });
    });

    test(`v${v} kafkajs sees a topic error`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, 3)));
      const m = kafkajsResponse("deleteTopics", v);
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "UNKNOWN_TOPIC_OR_PARTITION" });
    });
  }
});
