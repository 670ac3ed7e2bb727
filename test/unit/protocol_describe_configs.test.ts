import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type DescribeConfigsRequest,
  type DescribeConfigsResourceResult,
  type DescribeConfigsResponse,
  describeConfigsCodec,
} from "../../src/protocol/describe_configs.ts";
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

const request = (v: number): DescribeConfigsRequest => ({
  resources: [
    { resourceType: TOPIC, resourceName: "topic-a", configurationKeys: ["retention.ms"] },
    { resourceType: BROKER, resourceName: "1", configurationKeys: null },
    { resourceType: TOPIC, resourceName: "topic-b", configurationKeys: [] },
  ],
  includeSynonyms: v >= 1,
});

/** A config entry as decoded at version v (fields the version lacks take their defaults). */
function entry(
  v: number,
  name: string,
  value: string | null,
  isDefault: boolean,
  source: number,
): DescribeConfigsResourceResult {
  return {
    name,
    value,
    readOnly: false,
    isDefault: v === 0 ? isDefault : false,
    configSource: v >= 1 ? source : -1,
    isSensitive: false,
    synonyms: v >= 1 && !isDefault ? [{ name, value, source }] : [],
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
        entry(v, "retention.ms", "1000", false, TOPIC_CONFIG),
        entry(v, "cleanup.policy", "delete", true, DEFAULT_CONFIG),
        { ...entry(v, "secret", null, true, DEFAULT_CONFIG), isSensitive: true, readOnly: true },
      ],
    },
  ],
});

describe("DescribeConfigs codec", () => {
  test("advertises 0-2", () => {
    assert.equal(codec.key, ApiKey.DescribeConfigs);
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
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
});

describe("DescribeConfigs and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
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
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "describeConfigs",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
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
