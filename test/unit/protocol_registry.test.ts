import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { fetchCodec } from "../../src/protocol/fetch.ts";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import { isFlexibleVersion } from "../../src/protocol/header.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { apiVersionsKeys, CODECS, codecFor, isSupported } from "../../src/protocol/registry.ts";
import { inRange } from "../../src/protocol/schema.ts";

describe("registry", () => {
  // The ranges of every API served (the README's table says the same: readme_versions.test.ts).
  const RANGES: Record<string, [number, number]> = {
    Produce: [0, 11],
    Fetch: [0, 17],
    ListOffsets: [0, 9],
    Metadata: [0, 12],
    OffsetCommit: [0, 9],
    OffsetFetch: [0, 9],
    FindCoordinator: [0, 6],
    JoinGroup: [0, 9],
    Heartbeat: [0, 4],
    LeaveGroup: [0, 5],
    SyncGroup: [0, 5],
    DescribeGroups: [0, 5],
    ListGroups: [0, 5],
    ApiVersions: [0, 4],
    CreateTopics: [0, 7],
    DeleteTopics: [0, 6],
    InitProducerId: [0, 5],
    OffsetForLeaderEpoch: [0, 4],
    DescribeConfigs: [0, 4],
    AlterConfigs: [0, 2],
    CreatePartitions: [0, 3],
    DeleteGroups: [0, 2],
    IncrementalAlterConfigs: [0, 1],
    DescribeCluster: [0, 1],
    DeleteRecords: [0, 2],
    DescribeLogDirs: [0, 4],
    OffsetDelete: [0, 0],
    DescribeProducers: [0, 0],
  };

  test("advertised ranges (kafka-protocol.md §2)", () => {
    const keys = apiVersionsKeys();
    for (const [name, [minVersion, maxVersion]] of Object.entries(RANGES)) {
      const apiKey = ApiKey[name as keyof typeof ApiKey];
      assert.equal(codecFor(apiKey)?.name, name, `${name} is served`);
      assert.deepStrictEqual(
        keys.find((k) => k.apiKey === apiKey),
        { apiKey, minVersion, maxVersion },
        name,
      );
    }
    // ordered by api key, each once, each a key Kafka defines
    const order = keys.map((k) => k.apiKey);
    assert.deepStrictEqual(
      order,
      [...order].sort((a, b) => a - b),
    );
    assert.equal(new Set(order).size, order.length);
    const known = new Set<number>(Object.values(ApiKey));
    for (const k of order) assert.ok(known.has(k), `api key ${k}`);
  });

  test("every advertised range is inside what Kafka's spec defines for the API", () => {
    for (const c of CODECS) {
      const spec = MESSAGES[`${c.name}Request`];
      assert.ok(spec, c.name);
      assert.equal(spec.apiKey, c.key, c.name);
      assert.ok(c.minVersion >= spec.valid[0] && c.maxVersion <= spec.valid[1], `${c.name} ${spec.valid}`);
    }
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
      { apiKey: 0, minVersion: 0, maxVersion: 11 },
      { apiKey: 1, minVersion: 0, maxVersion: 17 },
    ]);
  });

  test("lookup by api key", () => {
    assert.equal(codecFor(ApiKey.Produce), produceCodec);
    assert.equal(codecFor(ApiKey.ApiVersions), apiVersionsCodec);
    assert.equal(codecFor(57), undefined); // UpdateFeatures: not served
    assert.equal(codecFor(-1), undefined);
    assert.equal(codecFor(10_000), undefined);
  });

  test("isSupported follows the advertised ranges", () => {
    assert.equal(isSupported(ApiKey.Fetch, -1), false);
    assert.equal(isSupported(ApiKey.Fetch, 0), true);
    assert.equal(isSupported(ApiKey.Fetch, 17), true);
    assert.equal(isSupported(ApiKey.Fetch, 18), false);
    assert.equal(isSupported(ApiKey.Produce, 0), true, "v0-2 message sets are accepted");
    assert.equal(isSupported(ApiKey.Produce, 11), true);
    assert.equal(isSupported(ApiKey.Produce, 12), false);
    assert.equal(isSupported(ApiKey.Metadata, 12), true);
    assert.equal(isSupported(ApiKey.Metadata, 13), false);
    assert.equal(isSupported(ApiKey.Heartbeat, 4), true);
    assert.equal(isSupported(ApiKey.Heartbeat, 5), false);
    assert.equal(isSupported(57, 0), false, "UpdateFeatures: not served");
  });

  test("the flexible versions served: from each spec's first flexible version on", () => {
    // [first flexible version served, last version served] of the APIs above
    const FLEXIBLE: Record<string, [number, number] | null> = {
      Produce: [9, 11],
      Fetch: [12, 17],
      ListOffsets: [6, 9],
      Metadata: [9, 12],
      OffsetCommit: [8, 9],
      OffsetFetch: [6, 9],
      FindCoordinator: [3, 6],
      JoinGroup: [6, 9],
      Heartbeat: [4, 4],
      LeaveGroup: [4, 5],
      SyncGroup: [4, 5],
      DescribeGroups: [5, 5],
      ListGroups: [3, 5],
      ApiVersions: [3, 4],
      CreateTopics: [5, 7],
      DeleteTopics: [4, 6],
      InitProducerId: [2, 5],
      OffsetForLeaderEpoch: [4, 4],
      DescribeConfigs: [4, 4],
      AlterConfigs: [2, 2],
      CreatePartitions: [2, 3],
      DeleteGroups: [2, 2],
      IncrementalAlterConfigs: [1, 1],
      DescribeCluster: [0, 1],
      DeleteRecords: [2, 2],
      DescribeLogDirs: [2, 4],
      OffsetDelete: null,
      DescribeProducers: [0, 0],
    };
    assert.deepStrictEqual(Object.keys(FLEXIBLE).sort(), Object.keys(RANGES).sort());
    for (const [name, range] of Object.entries(FLEXIBLE)) {
      const c = CODECS.find((c) => c.name === name);
      assert.ok(c, name);
      const flexible: number[] = [];
      for (let v = c.minVersion; v <= c.maxVersion; v++) if (isFlexibleVersion(c.key, v)) flexible.push(v);
      const expected =
        range === null ? [] : Array.from({ length: range[1] - range[0] + 1 }, (_, i) => range[0] + i);
      assert.deepStrictEqual(flexible, expected, name);
    }
    // and for every API served, that is exactly where its spec says flexible versions start
    for (const c of CODECS) {
      const spec = MESSAGES[`${c.name}Request`];
      for (let v = c.minVersion; v <= c.maxVersion; v++)
        assert.equal(isFlexibleVersion(c.key, v), inRange(spec.flexible, v), `${c.name} v${v}`);
    }
  });

  test("names and keys are unique", () => {
    assert.equal(new Set(CODECS.map((c) => c.key)).size, CODECS.length);
    assert.equal(new Set(CODECS.map((c) => c.name)).size, CODECS.length);
  });
});
