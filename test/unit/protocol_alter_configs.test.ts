import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AlterConfigsRequest,
  type AlterConfigsResponse,
  alterConfigsCodec,
} from "../../src/protocol/alter_configs.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = alterConfigsCodec;
const TOPIC = 2;
const BROKER = 4;

const request = (validateOnly: boolean): AlterConfigsRequest => ({
  resources: [
    {
      resourceType: TOPIC,
      resourceName: "topic-a",
      configs: [
        { name: "retention.ms", value: "1000" },
        { name: "cleanup.policy", value: null },
        { name: "", value: "" },
      ],
    },
    { resourceType: BROKER, resourceName: "1", configs: [] },
  ],
  validateOnly,
});

const response = (errorCode = 0): AlterConfigsResponse => ({
  throttleTimeMs: 6,
  responses: [
    { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: "topic-a" },
    {
      errorCode,
      errorMessage: errorCode === 0 ? null : "bad value",
      resourceType: BROKER,
      resourceName: "1",
    },
  ],
});

describe("AlterConfigs codec", () => {
  test("advertises 0-2", () => {
    assert.equal(codec.key, ApiKey.AlterConfigs);
    assert.equal(codec.key, 33);
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(true));
      requestRoundTrip(codec, v, request(false));
      requestRoundTrip(codec, v, { resources: [], validateOnly: false });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response());
      responseRoundTrip(codec, v, response(ErrorCode.INVALID_CONFIG));
      responseRoundTrip(codec, v, { throttleTimeMs: 0, responses: [] });
    });
  }

  test("v1 has the same bytes as v0", () => {
    const req = (v: number) => encodeWith((w) => codec.encodeRequest(w, v, request(true)));
    const res = (v: number) => encodeWith((w) => codec.encodeResponse(w, v, response(40)));
    assert.deepStrictEqual(req(1), req(0));
    assert.deepStrictEqual(res(1), res(0));
  });

  test("v2 is flexible: compact arrays and strings, a tag buffer per struct", () => {
    const req = encodeWith((w) =>
      codec.encodeRequest(w, 2, {
        resources: [{ resourceType: TOPIC, resourceName: "t", configs: [{ name: "k", value: null }] }],
        validateOnly: true,
      }),
    );
    // [1 resource] type "t" [1 config] "k" null (tags) (tags) validate_only (tags)
    assert.equal(
      req.toString("hex"),
      "02" + "02" + "0274" + "02" + "026b" + "00" + "00" + "00" + "01" + "00",
    );
    const res = encodeWith((w) => codec.encodeResponse(w, 2, response(40)));
    assert.equal(
      res.toString("hex"),
      "00000006" +
        "03" +
        ("0000" + "00" + "02" + "08" + Buffer.from("topic-a").toString("hex") + "00") +
        ("0028" + "0a" + Buffer.from("bad value").toString("hex") + "04" + "0231" + "00") +
        "00",
    );
  });

  test("a null value is a -1 length, an empty one a 0 length", () => {
    const one = (value: string | null) =>
      encodeWith((w) =>
        codec.encodeRequest(w, 0, {
          resources: [{ resourceType: TOPIC, resourceName: "t", configs: [{ name: "k", value }] }],
          validateOnly: false,
        }),
      ).toString("hex");
    // [1 resource] type "t" [1 config] "k" value validate_only
    const head = "00000001" + "02" + "000174" + "00000001" + "00016b";
    assert.equal(one(null), `${head}ffff00`);
    assert.equal(one(""), `${head}000000`);
    assert.equal(one("v"), `${head}00017600`);
  });
});

describe("AlterConfigs and kafkajs 2.2.4", () => {
  // kafkajs sends v0 and v1 (v2, flexible, is checked byte for byte above)
  for (const v of [0, 1]) {
    test(`v${v} request fixture`, () => {
      const req = decodeRequestFixture(codec, v, "kafkajs", `alter_configs_v${v}`);
      assert.equal(req.resources.length, 2);
      const [topic, broker] = req.resources;
      assert.equal(topic.resourceType, TOPIC);
      assert.equal(topic.resourceName, "topic-a");
      assert.equal(topic.configs.length, 2);
      assert.equal(topic.configs[0].name, "retention.ms");
      assert.equal(topic.configs[0].value, "86400000");
      assert.equal(topic.configs[1].name, "cleanup.policy");
      assert.equal(topic.configs[1].value, null);
      assert.equal(broker.resourceType, BROKER);
      assert.equal(broker.resourceName, "0");
      assert.deepStrictEqual(broker.configs, []);
      assert.equal(req.validateOnly, v === 0); // the capture sends true at v0, false at v1
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "alterConfigs",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response())),
      );
      assert.deepStrictEqual(decoded, {
        ...(v >= 1 ? { throttleTime: 0, clientSideThrottleTime: 6 } : { throttleTime: 6 }),
        resources: [
          { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: "topic-a" },
          { errorCode: 0, errorMessage: null, resourceType: BROKER, resourceName: "1" },
        ],
      });
    });

    test(`v${v} kafkajs sees a resource error`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(ErrorCode.INVALID_CONFIG)));
      const m = kafkajsResponse("alterConfigs", v);
      const data = (await m.decode(bytes)) as { resources: { errorMessage: string | null }[] };
      assert.equal(data.resources[1].errorMessage, "bad value");
      await assert.rejects(m.parse(data), { type: "INVALID_CONFIG" });
    });
  }
});
