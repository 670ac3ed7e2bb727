import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { alterConfigsCodec } from "../../src/protocol/alter_configs.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { isFlexibleVersion } from "../../src/protocol/header.ts";
import {
  ConfigOperation,
  type IncrementalAlterConfigsRequest,
  type IncrementalAlterConfigsResponse,
  incrementalAlterConfigsCodec,
} from "../../src/protocol/incremental_alter_configs.ts";
import { Reader } from "../../src/protocol/reader.ts";
import {
  decodeAll,
  encodeWith,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = incrementalAlterConfigsCodec;
const TOPIC = 2;
const BROKER = 4;

// kafkajs 2.2.4 has no IncrementalAlterConfigs: the fixtures are computed by hand from the
// grammar (IncrementalAlterConfigsRequest.json / IncrementalAlterConfigsResponse.json, v0 and
// v1, the flexible one).

const REQUEST: IncrementalAlterConfigsRequest = {
  resources: [
    {
      resourceType: TOPIC,
      resourceName: "t1",
      configs: [
        { name: "a", configOperation: ConfigOperation.Set, value: "1" },
        { name: "b", configOperation: ConfigOperation.Delete, value: null },
      ],
    },
    {
      resourceType: BROKER,
      resourceName: "0",
      configs: [
        { name: "l", configOperation: ConfigOperation.Append, value: "x,y" },
        { name: "l", configOperation: ConfigOperation.Subtract, value: "" },
      ],
    },
  ],
  validateOnly: true,
};

const REQUEST_HEX = [
  "00000002", // resources: 2
  "02", //         resource_type: 2 (topic)
  "00027431", //   resource_name: "t1"
  "00000002", //   configs: 2
  "000161", //       name: "a"
  "00", //           config_operation: 0 (SET)
  "000131", //       value: "1"
  "000162", //       name: "b"
  "01", //           config_operation: 1 (DELETE)
  "ffff", //         value: null
  "04", //         resource_type: 4 (broker)
  "000130", //     resource_name: "0"
  "00000002", //   configs: 2
  "00016c", //       name: "l"
  "02", //           config_operation: 2 (APPEND)
  "0003782c79", //   value: "x,y"
  "00016c", //       name: "l"
  "03", //           config_operation: 3 (SUBTRACT)
  "0000", //         value: ""
  "01", //       validate_only: true
].join("");

const RESPONSE: IncrementalAlterConfigsResponse = {
  throttleTimeMs: 7,
  responses: [
    { errorCode: 0, errorMessage: null, resourceType: TOPIC, resourceName: "t1" },
    { errorCode: ErrorCode.INVALID_CONFIG, errorMessage: "bad", resourceType: BROKER, resourceName: "0" },
  ],
};

const RESPONSE_HEX = [
  "00000007", // throttle_time_ms: 7
  "00000002", // responses: 2
  "0000", //       error_code: 0
  "ffff", //       error_message: null
  "02", //         resource_type: 2
  "00027431", //   resource_name: "t1"
  "0028", //       error_code: 40 (INVALID_CONFIG)
  "0003626164", // error_message: "bad"
  "04", //         resource_type: 4
  "000130", //     resource_name: "0"
].join("");

// v1: compact arrays (count + 1) and strings (length + 1, 0 null), a tag buffer per struct
const REQUEST_V1_HEX = [
  "03", //         resources: 2
  "02", //           resource_type: 2 (topic)
  "037431", //       resource_name: "t1"
  "03", //           configs: 2
  "0261", //           name: "a"
  "00", //             config_operation: 0 (SET)
  "0231", //           value: "1"
  "00", //             (tags)
  "0262", //           name: "b"
  "01", //             config_operation: 1 (DELETE)
  "00", //             value: null
  "00", //             (tags)
  "00", //           (tags)
  "04", //           resource_type: 4 (broker)
  "0230", //         resource_name: "0"
  "03", //           configs: 2
  "026c", //           name: "l"
  "02", //             config_operation: 2 (APPEND)
  "04782c79", //       value: "x,y"
  "00", //             (tags)
  "026c", //           name: "l"
  "03", //             config_operation: 3 (SUBTRACT)
  "01", //             value: ""
  "00", //             (tags)
  "00", //           (tags)
  "01", //         validate_only: true
  "00", //         (tags)
].join("");

const RESPONSE_V1_HEX = [
  "00000007", // throttle_time_ms: 7
  "03", //       responses: 2
  "0000", //       error_code: 0
  "00", //         error_message: null
  "02", //         resource_type: 2
  "037431", //     resource_name: "t1"
  "00", //         (tags)
  "0028", //       error_code: 40 (INVALID_CONFIG)
  "04626164", //   error_message: "bad"
  "04", //         resource_type: 4
  "0230", //       resource_name: "0"
  "00", //         (tags)
  "00", //       (tags)
].join("");

describe("IncrementalAlterConfigs codec", () => {
  test("advertises 0-1 (v1 is flexible)", () => {
    assert.equal(codec.key, ApiKey.IncrementalAlterConfigs);
    assert.equal(codec.key, 44);
    assert.deepStrictEqual(versions(codec), [0, 1]);
    assert.equal(isFlexibleVersion(codec.key, 0), false);
    assert.equal(isFlexibleVersion(codec.key, 1), true);
  });

  test("config operations", () => {
    assert.deepStrictEqual(ConfigOperation, { Set: 0, Delete: 1, Append: 2, Subtract: 3 });
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, REQUEST);
      requestRoundTrip(codec, v, { ...REQUEST, validateOnly: false });
      requestRoundTrip(codec, v, { resources: [], validateOnly: false });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, RESPONSE);
      responseRoundTrip(codec, v, { throttleTimeMs: 0, responses: [] });
    });
  }

  test("v0 request: the exact bytes", () => {
    assert.equal(encodeWith((w) => codec.encodeRequest(w, 0, REQUEST)).toString("hex"), REQUEST_HEX);
    assert.deepStrictEqual(
      decodeAll(Buffer.from(REQUEST_HEX, "hex"), (r) => codec.decodeRequest(r, 0)),
      REQUEST,
    );
  });

  test("v0 response: the exact bytes", () => {
    assert.equal(encodeWith((w) => codec.encodeResponse(w, 0, RESPONSE)).toString("hex"), RESPONSE_HEX);
    assert.deepStrictEqual(
      decodeAll(Buffer.from(RESPONSE_HEX, "hex"), (r) => codec.decodeResponse(r, 0)),
      RESPONSE,
    );
  });

  test("v1 request: the exact bytes", () => {
    assert.equal(encodeWith((w) => codec.encodeRequest(w, 1, REQUEST)).toString("hex"), REQUEST_V1_HEX);
    assert.deepStrictEqual(
      decodeAll(Buffer.from(REQUEST_V1_HEX, "hex"), (r) => codec.decodeRequest(r, 1)),
      REQUEST,
    );
  });

  test("v1 response: the exact bytes", () => {
    assert.equal(encodeWith((w) => codec.encodeResponse(w, 1, RESPONSE)).toString("hex"), RESPONSE_V1_HEX);
    assert.deepStrictEqual(
      decodeAll(Buffer.from(RESPONSE_V1_HEX, "hex"), (r) => codec.decodeResponse(r, 1)),
      RESPONSE,
    );
  });

  test("an unknown config operation decodes as sent (the broker rejects it)", () => {
    const bytes = Buffer.from(REQUEST_HEX.replace("00016201ffff", "0001627fffff"), "hex"); // "b": op 127
    const req = codec.decodeRequest(new Reader(bytes), 0);
    assert.equal(req.resources[0].configs[1].configOperation, 127);
  });

  test("the response has AlterConfigs' layout (v0 as AlterConfigs v0, v1 as AlterConfigs v2)", () => {
    assert.equal(
      encodeWith((w) => alterConfigsCodec.encodeResponse(w, 0, RESPONSE)).toString("hex"),
      RESPONSE_HEX,
    );
    assert.equal(
      encodeWith((w) => alterConfigsCodec.encodeResponse(w, 2, RESPONSE)).toString("hex"),
      RESPONSE_V1_HEX,
    );
  });
});
