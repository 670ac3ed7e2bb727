import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { type MetadataRequest, type MetadataResponse, metadataCodec } from "../../src/protocol/metadata.ts";
import { Reader } from "../../src/protocol/reader.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = metadataCodec;

const response = (v: number): MetadataResponse => ({
  throttleTimeMs: v >= 3 ? 5 : 0,
  brokers: [
    { nodeId: 1, host: "broker-1.local", port: 9092, rack: "rack-a" },
    { nodeId: 2, host: "10.0.0.2", port: 19092, rack: null },
  ],
  clusterId: v >= 2 ? "milena-cluster" : null,
  controllerId: 1,
  topics: [
    {
      errorCode: 0,
      name: "topic-a",
      isInternal: false,
      partitions: [
        {
          errorCode: 0,
          partitionIndex: 0,
          leaderId: 1,
          replicaNodes: [1, 2],
          isrNodes: [1, 2],
          offlineReplicas: v >= 5 ? [2] : [],
        },
        {
          errorCode: 5,
          partitionIndex: 1,
          leaderId: -1,
          replicaNodes: [2],
          isrNodes: [],
          offlineReplicas: [],
        },
      ],
    },
    { errorCode: 3, name: "missing", isInternal: false, partitions: [] },
    { errorCode: 0, name: "__consumer_offsets", isInternal: true, partitions: [] },
  ],
});

describe("Metadata codec", () => {
  test("advertises 0-6", () => {
    assert.equal(codec.key, ApiKey.Metadata);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6]);
  });

  // v0 has no captured kafkajs fixture: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check it.
  for (const v of versions(codec).filter((v) => v >= 1)) {
    test(`v${v} request round trip: named, none ([]), all (null)`, () => {
      const auto = v < 4; // v4 added the flag; below it decodes as true
      const cases: MetadataRequest[] = [
        { topics: ["a", "b"], allowAutoTopicCreation: auto },
        { topics: [], allowAutoTopicCreation: auto },
        { topics: null, allowAutoTopicCreation: auto },
      ];
      for (const req of cases) requestRoundTrip(codec, v, req);
      const nullBytes = encodeWith((w) => codec.encodeRequest(w, v, cases[2]));
      assert.equal(nullBytes.subarray(0, 4).toString("hex"), "ffffffff");
    });

    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v1-3 requests decode allow_auto_topic_creation as true (Kafka's default)", () => {
    const bytes = Buffer.from("ffffffff", "hex");
    for (const v of [1, 2, 3])
      assert.equal(codec.decodeRequest(new Reader(bytes), v).allowAutoTopicCreation, true);
  });

  test("version gates change the byte layout", () => {
    const sizes = versions(codec)
      .filter((v) => v >= 1)
      .map((v) => encodeWith((w) => codec.encodeResponse(w, v, response(v))).length);
    // v2 adds cluster_id (2 + 14), v3 adds throttle_time_ms (4), v5 adds offline_replicas (4 per partition + 4)
    assert.equal(sizes[1] - sizes[0], 16);
    assert.equal(sizes[2] - sizes[1], 4);
    assert.equal(sizes[3] - sizes[2], 0);
    assert.equal(sizes[4] - sizes[3], 4 * 2 + 4);
    assert.equal(sizes[5] - sizes[4], 0);
  });
});

describe("Metadata and kafkajs 2.2.4", () => {
  // v0 has no captured kafkajs fixture: test/integration/old_versions.test.ts and
  // spec_conformance.test.ts check it.
  for (const v of versions(codec).filter((v) => v >= 1)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `metadata_v${v}`), {
        topics: ["topic-a", "topic-b"],
        allowAutoTopicCreation: v < 4,
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const res = response(v);
      res.topics = res.topics.filter((t) => t.errorCode === 0); // kafkajs parse throws on topic errors
      res.topics[0].partitions = res.topics[0].partitions.slice(0, 1);
      const decoded = await kafkajsDecode(
        "metadata",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, res)),
      );
      assert.deepStrictEqual(decoded, {
        ...(v >= 3 ? (v >= 6 ? { throttleTime: 0, clientSideThrottleTime: 5 } : { throttleTime: 5 }) : {}),
        brokers: [
          { nodeId: 1, host: "broker-1.local", port: 9092, rack: "rack-a" },
          { nodeId: 2, host: "10.0.0.2", port: 19092, rack: null },
        ],
        ...(v >= 2 ? { clusterId: "milena-cluster" } : {}),
        controllerId: 1,
        topicMetadata: [
          {
            topicErrorCode: 0,
            topic: "topic-a",
            isInternal: false,
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
          { topicErrorCode: 0, topic: "__consumer_offsets", isInternal: true, partitionMetadata: [] },
        ],
      });
    });
  }

  test("v6 with no topics: kafkajs sends a null array (all topics)", () => {
    assert.deepStrictEqual(decodeRequestFixture(codec, 6, "kafkajs", "metadata_v6_all_topics"), {
      topics: null,
      allowAutoTopicCreation: true,
    });
  });
});
