import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type CreatableTopicResult,
  type CreateTopicsRequest,
  type CreateTopicsResponse,
  createTopicsCodec,
} from "../../src/protocol/create_topics.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = createTopicsCodec;

const NO_ID = new Uint8Array(16);
const ID_T1 = Uint8Array.from({ length: 16 }, (_, i) => 0x30 + i);

/**
 * encodeResponse, decodeResponse from a plain Uint8Array (so a topic id decodes as a Uint8Array,
 * not a Buffer), compare, re-encode to the same bytes; a frame one byte short throws.
 */
function responseRoundTrip<Req, Res>(c: ApiCodec<Req, Res, unknown, Res>, v: number, res: Res): Uint8Array {
  const w = new Writer(16);
  c.encodeResponse(w, v, res);
  const bytes = w.view().slice();
  const r = new Reader(bytes);
  const decoded = c.decodeResponse(r, v);
  assert.equal(r.remaining, 0, "bytes left after decoding");
  assert.deepStrictEqual(decoded, res);
  const again = new Writer(16);
  c.encodeResponse(again, v, decoded);
  assert.deepStrictEqual(again.view(), bytes, "re-encoding the decoded value gives other bytes");
  assert.throws(() => c.decodeResponse(new Reader(bytes.subarray(0, bytes.length - 1)), v), ProtocolError);
  return bytes;
}

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

/**
 * One topic's answer with every field; those the version does not carry hold the spec's defaults
 * (topic_id zero below v7; num_partitions and replication_factor -1, configs [] and
 * topic_config_error_code 0 below v5; error_message "" at v0).
 */
function result(v: number, r: Partial<CreatableTopicResult> & { name: string }): CreatableTopicResult {
  return {
    name: r.name,
    topicId: v >= 7 ? (r.topicId ?? NO_ID) : NO_ID,
    errorCode: r.errorCode ?? 0,
    errorMessage: v >= 1 ? (r.errorMessage ?? null) : "",
    topicConfigErrorCode: v >= 5 ? (r.topicConfigErrorCode ?? 0) : 0,
    numPartitions: v >= 5 ? (r.numPartitions ?? -1) : -1,
    replicationFactor: v >= 5 ? (r.replicationFactor ?? -1) : -1,
    configs: v >= 5 ? (r.configs === undefined ? [] : r.configs) : [],
  };
}

const response = (v: number): CreateTopicsResponse => ({
  throttleTimeMs: v >= 2 ? 4 : 0,
  topics: [
    result(v, {
      name: "t2",
      topicId: ID_T1,
      numPartitions: 2,
      replicationFactor: 1,
      // KIP-525: the topic's configs in the answer (v5+)
      configs: [
        { name: "cleanup.policy", value: "delete", readOnly: false, configSource: 5, isSensitive: false },
        { name: "sasl.jaas.config", value: null, readOnly: true, configSource: 4, isSensitive: true },
      ],
    }),
    result(v, { name: "t1", errorCode: 36, errorMessage: "Topic 't1' already exists.", configs: null }),
    // the configs could not be described: topic_config_error_code (a tagged field, v5+)
    result(v, {
      name: "t3",
      topicConfigErrorCode: 29,
      numPartitions: 1,
      replicationFactor: 1,
      configs: null,
    }),
  ],
});

describe("CreateTopics codec", () => {
  test("advertises 0-7", () => {
    assert.equal(codec.key, ApiKey.CreateTopics);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v7 response: topic id, partitions, replication factor, configs, tagged config error", () => {
    const bytes = responseRoundTrip(codec, 7, response(7));
    const decoded = codec.decodeResponse(new Reader(bytes), 7);
    assert.deepStrictEqual(decoded.topics[0].topicId, ID_T1);
    assert.equal(decoded.topics[0].configs?.length, 2);
    assert.equal(decoded.topics[2].topicConfigErrorCode, 29);
    assert.equal(decoded.topics[2].configs, null);
    // the tagged field is written only when it is not its default (0): the last topic (t3) ends
    // with configs null (0) and its tag buffer (1 field, tag 0, 2 bytes, 29), then the body's (0)
    assert.equal(Buffer.from(bytes.subarray(-7)).toString("hex"), "00" + "010002001d" + "00");
    const t2Tags = encodeWith((w) => codec.encodeResponse(w, 7, { topics: [response(7).topics[0]] }));
    assert.equal(t2Tags.subarray(-2).toString("hex"), "0000", "t2: no tagged field (its default)");
  });

  test("response bytes: v4, v5 (flexible: partitions, replication factor, configs), v7 (topic id)", () => {
    const one = (v: number) =>
      encodeWith((w) =>
        codec.encodeResponse(w, v, {
          throttleTimeMs: 0,
          topics: [
            {
              name: "t",
              errorCode: 0,
              errorMessage: null,
              numPartitions: 1,
              replicationFactor: 1,
              configs: [],
            },
          ],
        }),
      ).toString("hex");
    assert.equal(one(4), "00000000" + "00000001" + "000174" + "0000" + "ffff");
    assert.equal(
      one(5),
      "00000000" + "02" + "0274" + "0000" + "00" + "00000001" + "0001" + "01" + "00" + "00",
    );
    assert.equal(
      one(7),
      `00000000${"02"}${"0274"}${"00".repeat(16)}${"0000"}${"00"}${"00000001"}${"0001"}${"01"}${"00"}${"00"}`,
    );
  });
});

describe("CreateTopics and kafkajs 2.2.4", () => {
  for (const v of [0, 1, 2, 3]) {
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
        topics: [result(v, { name: "t2" }), result(v, { name: "t1" })],
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
