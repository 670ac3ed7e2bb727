import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type ApiVersionsRequest,
  type ApiVersionsResponse,
  apiVersionsCodec,
  encodeUnsupportedApiVersionsResponse,
} from "../../src/protocol/api_versions.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { decodeRequestHeader, encodeRequestHeader } from "../../src/protocol/header.ts";
import { metadataCodec } from "../../src/protocol/metadata.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { apiVersionsKeys } from "../../src/protocol/registry.ts";
import { KCAT, runKcat } from "../fixtures/protocol/capture_kcat.ts";
import {
  decodeAll,
  decodeRequestFixture,
  encodeWith,
  fixture,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = apiVersionsCodec;

/** The tagged fields (v3+) as decoding fills them when they are not sent: their defaults. */
const NO_FEATURES = {
  supportedFeatures: [],
  finalizedFeaturesEpoch: -1,
  finalizedFeatures: [],
  zkMigrationReady: false,
};

const response = (version: number): ApiVersionsResponse => ({
  errorCode: 0,
  apiKeys: [
    { apiKey: 0, minVersion: 0, maxVersion: 7 },
    { apiKey: 18, minVersion: 0, maxVersion: 3 },
  ],
  throttleTimeMs: version >= 1 ? 12 : 0,
  ...NO_FEATURES,
});

/** v3+ with every tagged field set (what a KRaft Kafka answers). */
const withFeatures = (version: number): ApiVersionsResponse => ({
  ...response(version),
  supportedFeatures: [{ name: "metadata.version", minVersion: version >= 4 ? 0 : 1, maxVersion: 21 }],
  finalizedFeaturesEpoch: 42,
  finalizedFeatures: [{ name: "metadata.version", maxVersionLevel: 21, minVersionLevel: 21 }],
  zkMigrationReady: true,
});

describe("ApiVersions codec", () => {
  test("advertises 0-4", () => {
    assert.equal(codec.key, ApiKey.ApiVersions);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      const req: ApiVersionsRequest =
        v >= 3
          ? { clientSoftwareName: "milena", clientSoftwareVersion: "0.1.0" }
          : { clientSoftwareName: "", clientSoftwareVersion: "" };
      const bytes = requestRoundTrip(codec, v, req);
      assert.equal(bytes.length, v >= 3 ? 1 + 6 + 1 + 5 + 1 : 0);
    });

    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v), response(v), { lenient: true });
    });

    if (v >= 3)
      test(`v${v} response round trip with every tagged field (features, epoch, zk migration)`, () => {
        const bytes = responseRoundTrip(codec, v, withFeatures(v), withFeatures(v), { lenient: true });
        const plain = encodeWith((w) => codec.encodeResponse(w, v, response(v)));
        assert.ok(bytes.length > plain.length, "the tagged fields are written");
        // the body's tag buffer replaces plain's last byte (0 tags): 4 tags, in tag order
        assert.equal(
          bytes.subarray(0, plain.length - 1).toString("hex"),
          plain.subarray(0, -1).toString("hex"),
        );
        assert.equal(bytes[plain.length - 1], 4);
        assert.equal(bytes[plain.length], 0, "tag 0 (supported_features) first");
      });
    else
      test(`v${v} response: features are not in this version, decoded as their defaults`, () => {
        const bytes = encodeWith((w) => codec.encodeResponse(w, v, withFeatures(3)));
        assert.deepStrictEqual(
          decodeAll(bytes, (r) => codec.decodeResponse(r, v)),
          { ...response(v), throttleTimeMs: v >= 1 ? 12 : 0 },
        );
      });
  }

  test("an encoder input may leave fields out: they are written as the spec's defaults", () => {
    for (const v of versions(codec)) {
      const full = encodeWith((w) => codec.encodeResponse(w, v, response(v)));
      const partial = encodeWith((w) =>
        codec.encodeResponse(w, v, {
          apiKeys: response(v).apiKeys,
          throttleTimeMs: response(v).throttleTimeMs,
        }),
      );
      assert.deepStrictEqual(partial, full, `v${v}`);
    }
  });

  test("v3 response bytes: compact array, entry tags, throttle, body tags", () => {
    const bytes = encodeWith((w) => codec.encodeResponse(w, 3, response(3)));
    assert.equal(
      bytes.toString("hex"),
      "0000" + "03" + "000000000007" + "00" + "001200000003" + "00" + "0000000c" + "00",
    );
  });

  test("v0 and v1 response bytes", () => {
    const keys = "00000002" + "000000000007" + "001200000003";
    assert.equal(encodeWith((w) => codec.encodeResponse(w, 0, response(0))).toString("hex"), `0000${keys}`);
    assert.equal(
      encodeWith((w) => codec.encodeResponse(w, 1, response(1))).toString("hex"),
      `0000${keys}0000000c`,
    );
  });

  test("v3 response keeps unknown tagged fields and writes them back", () => {
    // one entry with a tag (tag 0, 1 byte), then the body's tag buffer with tag 9 of 8 bytes
    const bytes = Uint8Array.from(
      Buffer.from(
        "0000" + "02" + "001200000003" + "010001ff" + "00000000" + "01" + "0908ffffffffffffffff",
        "hex",
      ),
    );
    const r = new Reader(bytes);
    const res = codec.decodeResponse(r, 3);
    assert.equal(r.remaining, 0);
    assert.deepStrictEqual(res, {
      errorCode: 0,
      apiKeys: [
        { apiKey: 18, minVersion: 0, maxVersion: 3, _unknownTags: [{ tag: 0, data: Uint8Array.of(0xff) }] },
      ],
      throttleTimeMs: 0,
      ...NO_FEATURES,
      _unknownTags: [{ tag: 9, data: new Uint8Array(8).fill(0xff) }],
    });
    assert.equal(
      encodeWith((w) => codec.encodeResponse(w, 3, res)).toString("hex"),
      Buffer.from(bytes).toString("hex"),
    );
  });

  test("UNSUPPORTED_VERSION answer: a v0 body with error 35 and [{18, 0, max}]", () => {
    const bytes = encodeWith((w) => encodeUnsupportedApiVersionsResponse(w));
    assert.equal(bytes.toString("hex"), "0023" + "00000001" + "001200000004");
    const expected = {
      errorCode: ErrorCode.UNSUPPORTED_VERSION,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      ...NO_FEATURES,
    };
    // Read as asked (v1..v3) it falls back to v0, like Kafka's ApiVersionsResponse.parse.
    for (const v of versions(codec))
      assert.deepStrictEqual(codec.decodeResponse(new Reader(bytes), v), expected);
    assert.equal(
      encodeWith((w) => encodeUnsupportedApiVersionsResponse(w, 2)).toString("hex"),
      "0023" + "00000001" + "001200000002",
    );
  });
});

describe("ApiVersions and kafkajs 2.2.4", () => {
  for (const v of [0, 1, 2]) {
    test(`v${v} request fixture (empty body)`, () => {
      assert.equal(fixture("kafkajs", `api_versions_v${v}`).length, 0);
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `api_versions_v${v}`), {
        clientSoftwareName: "",
        clientSoftwareVersion: "",
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const keys = apiVersionsKeys();
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, { errorCode: 0, apiKeys: keys, throttleTimeMs: 0 }),
      );
      const decoded = (await kafkajsDecode("apiVersions", v, bytes)) as {
        errorCode: number;
        apiVersions: unknown;
      };
      assert.equal(decoded.errorCode, 0);
      assert.deepStrictEqual(decoded.apiVersions, keys);
    });
  }

  test("kafkajs sees UNSUPPORTED_VERSION in our fallback answer (and retries lower)", async () => {
    const bytes = encodeWith((w) => encodeUnsupportedApiVersionsResponse(w));
    for (const v of [0, 1, 2]) {
      await assert.rejects(kafkajsResponse("apiVersions", v).decode(bytes), { type: "UNSUPPORTED_VERSION" });
    }
  });
});

describe("ApiVersions and librdkafka 2.0.2 (kcat)", () => {
  test("v3 request fixture: header v2 + flexible body", () => {
    const bytes = fixture("kcat", "api_versions_v3");
    const r = new Reader(bytes);
    const header = decodeRequestHeader(r);
    assert.deepStrictEqual(header, { apiKey: 18, apiVersion: 3, correlationId: 1, clientId: "rdkafka" });
    const req = codec.decodeRequest(r, 3);
    assert.equal(r.remaining, 0);
    assert.deepStrictEqual(req, { clientSoftwareName: "librdkafka", clientSoftwareVersion: "2.0.2" });
    const again = encodeWith((w) => {
      encodeRequestHeader(w, header);
      codec.encodeRequest(w, 3, req);
    });
    assert.deepStrictEqual(again, bytes);
  });

  test("Metadata v4 request fixtures: brokers only ([]), then all topics (null)", () => {
    for (const [name, topics, allowAutoTopicCreation] of [
      ["metadata_v4_brokers_only", [], false],
      ["metadata_v4_all_topics", null, true],
    ] as const) {
      const bytes = fixture("kcat", name);
      const r = new Reader(bytes);
      const h = decodeRequestHeader(r);
      assert.equal(h.apiKey, ApiKey.Metadata);
      assert.equal(h.apiVersion, 4);
      const body = bytes.subarray(r.offset);
      const req = decodeAll(body, (r) => metadataCodec.decodeRequest(r, 4));
      assert.deepStrictEqual(req, {
        topics,
        allowAutoTopicCreation,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.deepStrictEqual(
        encodeWith((w) => metadataCodec.encodeRequest(w, 4, req)),
        body,
      );
    }
  });

  test("kcat -L reads our ApiVersions v3 and Metadata v4 responses", {
    skip: !existsSync(KCAT),
  }, async () => {
    const run = await runKcat(["-L", "-m", "5"], true);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, / 1 brokers:\n {2}broker 1 at 127\.0\.0\.1:\d+ \(controller\)/);
    assert.match(run.stdout, /topic "topic-a" with 2 partitions:/);
    assert.match(run.stdout, /partition 1, leader 1, replicas: 1, isrs: 1/);
    assert.equal(run.frames[0].readInt16BE(0), ApiKey.ApiVersions);
    assert.equal(run.frames[0].readInt16BE(2), 3);
  });
});
