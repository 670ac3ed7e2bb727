import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { fetchCodec } from "../../src/protocol/fetch.ts";
import { isFlexibleVersion } from "../../src/protocol/header.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { apiVersionsKeys, CODECS, codecFor, isSupported } from "../../src/protocol/registry.ts";

describe("registry", () => {
  test("advertised ranges (kafka-protocol.md §2)", () => {
    assert.deepStrictEqual(apiVersionsKeys(), [
      { apiKey: ApiKey.Produce, minVersion: 0, maxVersion: 7 },
      { apiKey: ApiKey.Fetch, minVersion: 4, maxVersion: 11 },
      { apiKey: ApiKey.ListOffsets, minVersion: 0, maxVersion: 3 },
      { apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 6 },
      { apiKey: ApiKey.OffsetCommit, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.OffsetFetch, minVersion: 0, maxVersion: 4 },
      { apiKey: ApiKey.FindCoordinator, minVersion: 0, maxVersion: 2 },
      { apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 3 },
      { apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 2 },
      { apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 3 },
      { apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 2 },
      { apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 2 },
      { apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 4 },
      { apiKey: ApiKey.CreateTopics, minVersion: 0, maxVersion: 3 },
      { apiKey: ApiKey.DeleteTopics, minVersion: 0, maxVersion: 1 },
      { apiKey: ApiKey.InitProducerId, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.OffsetForLeaderEpoch, minVersion: 0, maxVersion: 4 },
      { apiKey: ApiKey.DescribeConfigs, minVersion: 0, maxVersion: 2 },
      { apiKey: ApiKey.AlterConfigs, minVersion: 0, maxVersion: 1 },
      { apiKey: ApiKey.CreatePartitions, minVersion: 0, maxVersion: 3 },
      { apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 1 },
      { apiKey: ApiKey.IncrementalAlterConfigs, minVersion: 0, maxVersion: 0 },
      { apiKey: ApiKey.DescribeCluster, minVersion: 0, maxVersion: 1 },
    ]);
  });

  test("the key list is built from the codecs", () => {
    for (const c of CODECS) {
      const k = apiVersionsKeys().find((k) => k.apiKey === c.key);
      assert.deepStrictEqual(
        k,
        { apiKey: c.key, minVersion: c.minVersion, maxVersion: c.maxVersion },
        c.name,
      );
    }
    assert.deepStrictEqual(apiVersionsKeys([fetchCodec, produceCodec]), [
      { apiKey: 0, minVersion: 0, maxVersion: 7 },
      { apiKey: 1, minVersion: 4, maxVersion: 11 },
    ]);
  });

  test("lookup by api key", () => {
    assert.equal(codecFor(ApiKey.Produce), produceCodec);
    assert.equal(codecFor(ApiKey.ApiVersions), apiVersionsCodec);
    assert.equal(codecFor(31), undefined); // DeleteAcls: not served
    assert.equal(codecFor(-1), undefined);
    assert.equal(codecFor(10_000), undefined);
  });

  test("isSupported follows the advertised ranges", () => {
    assert.equal(isSupported(ApiKey.Fetch, 3), false);
    assert.equal(isSupported(ApiKey.Fetch, 4), true);
    assert.equal(isSupported(ApiKey.Fetch, 11), true);
    assert.equal(isSupported(ApiKey.Fetch, 12), false);
    assert.equal(isSupported(ApiKey.Produce, 0), true);
    assert.equal(isSupported(ApiKey.Heartbeat, 4), false);
  });

  test("the flexible versions served: ApiVersions v3 and those of the spec-derived codecs", () => {
    const flexible: string[] = [];
    for (const c of CODECS)
      for (let v = c.minVersion; v <= c.maxVersion; v++)
        if (isFlexibleVersion(c.key, v)) flexible.push(`${c.name} v${v}`);
    assert.deepStrictEqual(flexible.sort(), [
      "ApiVersions v3",
      "ApiVersions v4",
      "CreatePartitions v2",
      "CreatePartitions v3",
      "DescribeCluster v0",
      "DescribeCluster v1",
      "InitProducerId v2",
      "InitProducerId v3",
      "InitProducerId v4",
      "InitProducerId v5",
      "OffsetForLeaderEpoch v4",
    ]);
  });

  test("names and keys are unique", () => {
    assert.equal(new Set(CODECS.map((c) => c.key)).size, CODECS.length);
    assert.equal(new Set(CODECS.map((c) => c.name)).size, CODECS.length);
  });
});
