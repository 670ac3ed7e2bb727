import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type MetadataRequest,
  type MetadataResponse,
  metadataCodec,
  metadataRequest,
} from "../../src/protocol/metadata.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";
import {
  decodeAll,
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsRequestBody,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = metadataCodec;

const NO_ID = new Uint8Array(16);
const ID_A = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const ID_B = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);
/** Kafka's "no authorized operations asked for" (the spec's default). */
const NO_OPS = -2147483648;

/**
 * Encode, decode (from a plain Uint8Array, so byte fields decode as Uint8Array views, not Buffer),
 * compare with `expected`, re-encode to the same bytes, and check that a frame one byte short throws.
 */
function roundTrip<T>(
  encode: (w: Writer, value: T) => void,
  decode: (r: Reader) => T,
  value: T,
  expected = value,
): Uint8Array {
  const w = new Writer(16);
  encode(w, value);
  const bytes = w.view().slice();
  const r = new Reader(bytes);
  const decoded = decode(r);
  assert.equal(r.remaining, 0, "bytes left after decoding");
  assert.deepStrictEqual(decoded, expected);
  const again = new Writer(16);
  encode(again, decoded);
  assert.deepStrictEqual(again.view(), bytes, "re-encoding the decoded value gives other bytes");
  assert.throws(() => decode(new Reader(bytes.subarray(0, bytes.length - 1))), ProtocolError);
  return bytes;
}

/** What `fn` writes, as a plain Uint8Array of its own. */
function encoded(fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(16);
  fn(w);
  return w.view().slice();
}

/** Decode all of `bytes` (a plain Uint8Array: byte fields decode as Uint8Array, not Buffer). */
function decodedAll<T>(bytes: Uint8Array, decode: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const out = decode(r);
  assert.equal(r.remaining, 0, "bytes left after decoding");
  return out;
}

const requestRoundTrip = <Req, Res>(
  c: ApiCodec<Req, Res, Req, unknown>,
  v: number,
  req: Req,
  expected = req,
) =>
  roundTrip<Req>(
    (w, x) => c.encodeRequest(w, v, x),
    (r) => c.decodeRequest(r, v),
    req,
    expected,
  );
const responseRoundTrip = <Req, Res>(
  c: ApiCodec<Req, Res, unknown, Res>,
  v: number,
  res: Res,
  expected = res,
) =>
  roundTrip<Res>(
    (w, x) => c.encodeResponse(w, v, x),
    (r) => c.decodeResponse(r, v),
    res,
    expected,
  );

/** Every field of every version; those a version does not carry hold the spec's defaults. */
const response = (v: number): MetadataResponse => ({
  throttleTimeMs: v >= 3 ? 5 : 0,
  brokers: [
    { nodeId: 1, host: "broker-1.local", port: 9092, rack: v >= 1 ? "rack-a" : null },
    { nodeId: 2, host: "10.0.0.2", port: 19092, rack: null },
  ],
  clusterId: v >= 2 ? "milena-cluster" : null,
  controllerId: v >= 1 ? 1 : -1,
  topics: [
    {
      errorCode: 0,
      name: "topic-a",
      topicId: v >= 10 ? ID_A : NO_ID,
      isInternal: false,
      partitions: [
        {
          errorCode: 0,
          partitionIndex: 0,
          leaderId: 1,
          leaderEpoch: v >= 7 ? 3 : -1,
          replicaNodes: [1, 2],
          isrNodes: [1, 2],
          offlineReplicas: v >= 5 ? [2] : [],
        },
        {
          errorCode: 5,
          partitionIndex: 1,
          leaderId: -1,
          leaderEpoch: v >= 7 ? 0 : -1,
          replicaNodes: [2],
          isrNodes: [],
          offlineReplicas: [],
        },
      ],
      topicAuthorizedOperations: v >= 8 ? 0x0ff8 : NO_OPS,
    },
    {
      errorCode: 3,
      name: "missing",
      topicId: NO_ID,
      isInternal: false,
      partitions: [],
      topicAuthorizedOperations: NO_OPS,
    },
    {
      errorCode: 0,
      name: "__consumer_offsets",
      topicId: v >= 10 ? ID_B : NO_ID,
      isInternal: v >= 1,
      partitions: [],
      topicAuthorizedOperations: v >= 8 ? 0 : NO_OPS,
    },
  ],
  clusterAuthorizedOperations: v >= 8 && v <= 10 ? 0x0180 : NO_OPS,
});

/** A request for topics by name, every field set for the version. */
const request = (v: number, topics: string[] | null): MetadataRequest => ({
  topics: topics === null ? null : topics.map((name) => ({ topicId: NO_ID, name })),
  allowAutoTopicCreation: v < 4, // v4 added the flag; below it decodes as true
  includeClusterAuthorizedOperations: v >= 8 && v <= 10,
  includeTopicAuthorizedOperations: v >= 8,
});

describe("Metadata codec", () => {
  test("advertises 0-12", () => {
    assert.equal(codec.key, ApiKey.Metadata);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test("v0 request: [] means every topic, null cannot be sent", () => {
    const bytes = requestRoundTrip(codec, 0, request(0, []));
    assert.equal(Buffer.from(bytes).toString("hex"), "00000000");
    requestRoundTrip(codec, 0, request(0, ["a", "b"]));
    assert.throws(() => encodeWith((w) => codec.encodeRequest(w, 0, request(0, null))), RangeError);
    assert.throws(
      () => codec.decodeRequest(new Reader(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), 0),
      ProtocolError,
    );
  });

  for (const v of versions(codec).filter((v) => v >= 1)) {
    test(`v${v} request round trip: named, none ([]), all (null)`, () => {
      const cases = [request(v, ["a", "b"]), request(v, []), request(v, null)];
      for (const req of cases) requestRoundTrip(codec, v, req);
      const nullBytes = encodeWith((w) => codec.encodeRequest(w, v, cases[2]));
      // null: int32 -1, or from v9 (flexible) uvarint 0
      assert.equal(nullBytes.subarray(0, v >= 9 ? 1 : 4).toString("hex"), v >= 9 ? "00" : "ffffffff");
    });
  }

  for (const v of versions(codec)) {
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v12: a topic asked for by id (name null), answered with its id and name", () => {
    const req: MetadataRequest = {
      topics: [
        { topicId: ID_A, name: null },
        { topicId: NO_ID, name: "by-name" },
      ],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: true,
    };
    const bytes = requestRoundTrip(codec, 12, req);
    // compact array of 2 + (uuid, null compact string, tag buffer) first
    assert.equal(
      Buffer.from(bytes.subarray(0, 19)).toString("hex"),
      `03${Buffer.from(ID_A).toString("hex")}${"00"}${"00"}`,
    );
    const res: MetadataResponse = {
      ...response(12),
      topics: [
        { ...response(12).topics[0], topicId: ID_A },
        // an unknown id: UNKNOWN_TOPIC_ID (100), the name null (nullable from v12)
        {
          errorCode: 100,
          name: null,
          topicId: ID_B,
          isInternal: false,
          partitions: [],
          topicAuthorizedOperations: NO_OPS,
        },
      ],
    };
    const decoded = codec.decodeResponse(new Reader(responseRoundTrip(codec, 12, res)), 12);
    assert.deepStrictEqual(decoded.topics[0].topicId, ID_A);
    assert.equal(decoded.topics[1].name, null);
  });

  test("before v10 a topic id cannot be asked for; before v12 a topic name cannot be null", () => {
    const byId: MetadataRequest = { ...request(9, []), topics: [{ topicId: ID_A, name: null }] };
    // v9 has no topic_id: it is not written (the name is required, so null does not encode)
    assert.throws(() => encodeWith((w) => codec.encodeRequest(w, 9, byId)), RangeError);
    const named = decodedAll(
      encoded((w) => codec.encodeRequest(w, 9, { ...byId, topics: [{ topicId: ID_A, name: "t" }] })),
      (r) => codec.decodeRequest(r, 9),
    );
    assert.deepStrictEqual(named.topics, [{ topicId: NO_ID, name: "t" }]);
    const res: MetadataResponse = { ...response(11), topics: [{ ...response(11).topics[0], name: null }] };
    assert.throws(() => encodeWith((w) => codec.encodeResponse(w, 11, res)), RangeError);
  });

  test("v1-3 requests decode allow_auto_topic_creation as true (Kafka's default)", () => {
    const bytes = Uint8Array.of(0xff, 0xff, 0xff, 0xff);
    for (const v of [1, 2, 3])
      assert.equal(codec.decodeRequest(new Reader(bytes), v).allowAutoTopicCreation, true);
  });

  test("metadataRequest writes names (null: every topic)", () => {
    for (const v of versions(codec).filter((v) => v >= 1)) {
      const named = decodedAll(
        encoded((w) => codec.encodeRequest(w, v, metadataRequest(["a"], false))),
        (r) => codec.decodeRequest(r, v),
      );
      assert.deepStrictEqual(named, {
        ...request(v, ["a"]),
        allowAutoTopicCreation: v < 4, // not sent below v4: Kafka's default, true
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      const all = decodedAll(
        encoded((w) => codec.encodeRequest(w, v, metadataRequest(null))),
        (r) => codec.decodeRequest(r, v),
      );
      assert.equal(all.topics, null);
    }
  });

  test("version gates change the byte layout", () => {
    const sizes = versions(codec).map(
      (v) => encodeWith((w) => codec.encodeResponse(w, v, response(v))).length,
    );
    // v1 adds rack (2 + 6, then 2 for null), controller_id (4), is_internal (1 per topic)
    assert.equal(sizes[1] - sizes[0], 8 + 2 + 4 + 3);
    // v2 adds cluster_id (2 + 14), v3 adds throttle_time_ms (4), v5 adds offline_replicas (4 per partition + 4)
    assert.equal(sizes[2] - sizes[1], 16);
    assert.equal(sizes[3] - sizes[2], 4);
    assert.equal(sizes[4] - sizes[3], 0);
    assert.equal(sizes[5] - sizes[4], 4 * 2 + 4);
    assert.equal(sizes[6] - sizes[5], 0);
    // v7 adds leader_epoch (4 per partition), v8 the topics' (4 each) and the cluster's (4) authorized operations
    assert.equal(sizes[7] - sizes[6], 4 * 2);
    assert.equal(sizes[8] - sizes[7], 4 * 3 + 4);
    // v10 adds topic_id (16 per topic), v11 drops the cluster's authorized operations, v12 the same layout
    assert.equal(sizes[10] - sizes[9], 16 * 3);
    assert.equal(sizes[11] - sizes[10], -4);
    assert.equal(sizes[12] - sizes[11], 0);
  });
});

describe("Metadata and kafkajs 2.2.4", () => {
  test("v0 kafkajs request (no captured fixture) decodes and re-encodes identically", async () => {
    const body = await kafkajsRequestBody("metadata", 0, { topics: ["topic-a", "topic-b"] });
    const req = decodeAll(body, (r) => codec.decodeRequest(r, 0));
    assert.deepStrictEqual(req, request(0, ["topic-a", "topic-b"]));
    assert.deepStrictEqual(
      encodeWith((w) => codec.encodeRequest(w, 0, req)),
      body,
    );
  });

  for (const v of [1, 2, 3, 4, 5, 6]) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `metadata_v${v}`), {
        ...request(v, ["topic-a", "topic-b"]),
        allowAutoTopicCreation: v < 4,
      });
    });
  }

  for (const v of [0, 1, 2, 3, 4, 5, 6]) {
    test(`v${v} kafkajs reads our response`, async () => {
      const res = response(v);
      res.topics = res.topics.filter((t) => t.errorCode === 0); // kafkajs parse throws on topic errors
      res.topics[0].partitions = res.topics[0].partitions.slice(0, 1);
      const decoded = await kafkajsDecode(
        "metadata",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, res)),
      );
      const rack = (r: string | null) => (v >= 1 ? { rack: r } : {});
      const internal = (i: boolean) => (v >= 1 ? { isInternal: i } : {});
      assert.deepStrictEqual(decoded, {
        ...(v >= 3 ? (v >= 6 ? { throttleTime: 0, clientSideThrottleTime: 5 } : { throttleTime: 5 }) : {}),
        brokers: [
          { nodeId: 1, host: "broker-1.local", port: 9092, ...rack("rack-a") },
          { nodeId: 2, host: "10.0.0.2", port: 19092, ...rack(null) },
        ],
        ...(v >= 2 ? { clusterId: "milena-cluster" } : {}),
        ...(v >= 1 ? { controllerId: 1 } : {}),
        topicMetadata: [
          {
            topicErrorCode: 0,
            topic: "topic-a",
            ...internal(false),
            partitionMetadata: [
              {
                partitionErrorCode: 0,
                partitionId: 0,
                leader: 1,
                replicas: [1, 2],
                isr: [1, 2],
                ...(v >= 5 ? { offlineReplicas: [2] } : {}),
              },
            ],
          },
          { topicErrorCode: 0, topic: "__consumer_offsets", ...internal(true), partitionMetadata: [] },
        ],
      });
    });
  }

  test("v6 with no topics: kafkajs sends a null array (all topics)", () => {
    assert.deepStrictEqual(decodeRequestFixture(codec, 6, "kafkajs", "metadata_v6_all_topics"), {
      ...request(6, null),
      allowAutoTopicCreation: true,
    });
  });
});
