import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { findCoordinatorCodec } from "../../src/protocol/find_coordinator.ts";
import { encodeWith, requestRoundTrip, responseRoundTrip, versions } from "../fixtures/protocol/helpers.ts";

const codec = findCoordinatorCodec;

describe("FindCoordinator codec", () => {
  test("advertises 0-2 (librdkafka needs v0 for LZ4 and groups)", () => {
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
  });

  for (const v of versions(codec)) {
    test(`v${v} round trips`, () => {
      requestRoundTrip(codec, v, { key: "group-a", keyType: 0 });
      responseRoundTrip(codec, v, {
        throttleTimeMs: v >= 1 ? 3 : 0,
        errorCode: 0,
        errorMessage: v >= 1 ? "m" : null,
        nodeId: 7,
        host: "127.0.0.1",
        port: 9092,
      });
    });
  }

  test("v0 response bytes: error_code node_id host port", () => {
    const bytes = encodeWith((w) =>
      codec.encodeResponse(w, 0, {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: 1,
        host: "h",
        port: 2,
      }),
    );
    assert.equal(bytes.toString("hex"), "0000" + "00000001" + "0001" + "68" + "00000002");
  });

  test("v1 request bytes: key key_type", () => {
    const bytes = encodeWith((w) => codec.encodeRequest(w, 1, { key: "g", keyType: 0 }));
    assert.equal(bytes.toString("hex"), "0001" + "67" + "00");
  });
});
