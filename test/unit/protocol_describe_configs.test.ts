import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type DescribeConfigsRequest,
  type DescribeConfigsResourceResult,
  type DescribeConfigsResponse,
  describeConfigsCodec,
} from "../../src/protocol/describe_configs.ts";
import { Reader } from "../../src/protocol/reader.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = describeConfigsCodec;
const TOPIC = 2;
const BROKER = 4;
const TOPIC_CONFIG = 1;
const DEFAULT_CONFIG = 5;

/** Kafka's ConfigEntry.ConfigType ids (config_type, v3+). */
const LONG = 5;
const LIST = 7;
const PASSWORD = 9;

const request = (v: number): DescribeConfigsRequest => ({
  resources: [
    { resourceType: TOPIC, resourceName: "topic-a", configurationKeys: ["retention.ms"] },
    { resourceType: BROKER, resourceName: "1", configurationKeys: null },
    { resourceType: TOPIC, resourceName: "topic-b", configurationKeys: [] },
  ],
  includeSynonyms: v >= 1,
  includeDocumentation: v >= 3,
});

/**
 * A config entry as decoded at version v (fields the version lacks take their defaults:
 * is_default false from v1, config_source -1 and synonyms [] at v0, config_type 0 and
 * documentation "" below v3).
 */
function entry(
  v: number,
  name: string,
  value: string | null,
  isDefault: boolean,
  source: number,
  type = 0,
  documentation: string | null = null,
): DescribeConfigsResourceResult {
  return {
    name,
    value,
    readOnly: false,
    isDefault: v === 0 ? isDefault : false,
    configSource: v >= 1 ? source : -1,
    isSensitive: false,
    synonyms: v >= 1 && !isDefault ? [{ name, value, source }] : [],
    configType: v >= 3 ? type : 0,
    documentation: v >= 3 ? documentation : "",
  };
}

const response = (v: number): DescribeConfigsResponse => ({
  throttleTimeMs: 6,
  results: [
    {
      errorCode: 0,
      errorMessage: null,
      resourceType: TOPIC,
      resourceName: "topic-a",
      configs: [
        entry(v, "retention.ms", "1000", false, TOPIC_CONFIG, LONG, "How long a log is kept."),
        entry(v, "cleanup.policy", "delete", true, DEFAULT_CONFIG, LIST, "delete or compact, or both."),
        { ...entry(v, "secret", null, true, DEFAULT_CONFIG, PASSWORD), isSensitive: true, readOnly: true },
      ],
    },
    {
      errorCode: 42, // INVALID_REQUEST
      errorMessage: "Unknown broker 9",
      resourceType: BROKER,
      resourceName: "9",
      configs: [],
    },
  ],
});

describe("DescribeConfigs codec", () => {
  test("advertises 0-4", () => {
    assert.equal(codec.key, ApiKey.DescribeConfigs);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v0 writes is_default, v1+ writes config_source and synonyms instead", () => {
    const c = entry(1, "a", "b", false, TOPIC_CONFIG);
    const one = (v: number) =>
      encodeWith((w) =>
        codec.encodeResponse(w, v, {
          throttleTimeMs: 0,
          results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: "t", configs: [c] }],
        }),
      );
    const tail = (b: Buffer, n: number) => b.subarray(b.length - n).toString("hex");
    // v0: ... read_only, is_default, is_sensitive
    assert.equal(tail(one(0), 3), "000000");
    // v1: ... read_only, config_source, is_sensitive, [synonyms: a "b" 1]
    assert.equal(tail(one(1), 3 + 4 + 3 + 3 + 1), "000100" + "00000001" + "000161" + "000162" + "01");
  });

  test("v3 adds config_type and documentation; v4 is flexible", () => {
    const c = entry(3, "a", "b", false, TOPIC_CONFIG, LONG, "d");
    const one = (v: number) =>
      encodeWith((w) =>
        codec.encodeResponse(w, v, {
          throttleTimeMs: 0,
          results: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: "t", configs: [c] }],
        }),
      );
    const tail = (b: Buffer, n: number) => b.subarray(b.length - n).toString("hex");
    // v3: ... [synonyms: a "b" 1], config_type 5, documentation "d"
    assert.equal(tail(one(3), 11 + 1 + 3), "00000001" + "000161" + "000162" + "01" + "05" + "000164");
    // v4: compact synonyms (a "b" 1, tags), config_type, compact "d", then the config's, the
    // result's and the body's tag buffers
    assert.equal(
      tail(one(4), 7 + 1 + 2 + 3),
      "02" + "0261" + "0262" + "01" + "00" + "05" + "0264" + "00" + "00" + "00",
    );
    const req = encodeWith((w) =>
      codec.encodeRequest(w, 4, {
        resources: [{ resourceType: TOPIC, resourceName: "t", configurationKeys: null }],
        includeSynonyms: true,
        includeDocumentation: true,
      }),
    );
    assert.equal(req.toString("hex"), "02" + "02" + "0274" + "00" + "00" + "01" + "01" + "00");
  });

  test("v4 with documentation: what a v4 client (librdkafka, @platformatic/kafka) is answered", () => {
    const decoded = codec.decodeResponse(
      new Reader(encodeWith((w) => codec.encodeResponse(w, 4, response(4)))),
      4,
    );
    assert.deepStrictEqual(
      decoded.results[0].configs.map((c) => [c.name, c.configType, c.documentation]),
      [
        ["retention.ms", LONG, "How long a log is kept."],
        ["cleanup.policy", LIST, "delete or compact, or both."],
        ["secret", PASSWORD, null],
      ],
    );
    assert.equal(decoded.results[1].errorMessage, "Unknown broker 9");
  });
});

describe("DescribeConfigs and kafkajs 2.2.4", () => {
  for (const v of [0, 1, 2]) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `describe_configs_v${v}`), {
        resources: [
          {
            resourceType: TOPIC,
            resourceName: "topic-a",
            configurationKeys: ["retention.ms", "cleanup.policy"],
          },
          { resourceType: BROKER, resourceName: "0", configurationKeys: null },
        ],
        includeSynonyms: v >= 1,
        includeDocumentation: false,
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const res = response(v);
      res.results = res.results.slice(0, 1); // kafkajs parse throws on a resource's error
      const decoded = await kafkajsDecode(
        "describeConfigs",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, res)),
      );
      const kjs = (
        name: string,
        value: string | null,
        isDefault: boolean,
        source: number,
        extra: object = {},
      ) => ({
        configName: name,
        configValue: value,
        readOnly: false,
        isDefault,
        configSource: source,
        isSensitive: false,
        ...(v >= 1
          ? {
              configSynonyms: isDefault
                ? []
                : [{ configName: name, configValue: value, configSource: source }],
            }
          : {}),
        ...extra,
      });
      assert.deepStrictEqual(decoded, {
        ...(v === 2 ? { throttleTime: 0, clientSideThrottleTime: 6 } : { throttleTime: 6 }),
        resources: [
          {
            errorCode: 0,
            errorMessage: null,
            resourceType: TOPIC,
            resourceName: "topic-a",
            configEntries: [
              kjs("retention.ms", "1000", false, TOPIC_CONFIG),
              kjs("cleanup.policy", "delete", true, DEFAULT_CONFIG),
              kjs("secret", null, true, DEFAULT_CONFIG, { isSensitive: true, readOnly: true }),
            ],
          },
        ],
      });
    });
  }
});
