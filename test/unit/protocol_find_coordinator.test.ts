import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  coordinatorOf,
  type FindCoordinatorRequest,
  type FindCoordinatorResponse,
  findCoordinatorCodec,
  findCoordinatorRequest,
} from "../../src/protocol/find_coordinator.ts";
import {
  decodeAll,
  encodeWith,
  kafkajsDecode,
  kafkajsRequestBody,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = findCoordinatorCodec;

/** v0-3: one key (key, key_type); v4+: coordinator_keys. Absent fields hold their defaults. */
const request = (v: number): FindCoordinatorRequest =>
  v <= 3
    ? { key: "group-a", keyType: v >= 1 ? 1 : 0, coordinatorKeys: [] }
    : { key: "", keyType: 1, coordinatorKeys: ["group-a", "group-b", "txn-1"] };

/** v0-3: one coordinator at the top level; v4+: one per key in coordinators. */
const response = (v: number): FindCoordinatorResponse =>
  v <= 3
    ? {
        throttleTimeMs: v >= 1 ? 3 : 0,
        errorCode: 0,
        errorMessage: v >= 1 ? "m" : "", // v0 has no error_message: the spec's default ("")
        nodeId: 7,
        host: "127.0.0.1",
        port: 9092,
        coordinators: [],
      }
    : {
        throttleTimeMs: 3,
        errorCode: 0,
        errorMessage: "",
        nodeId: 0,
        host: "",
        port: 0,
        coordinators: [
          { key: "group-a", nodeId: 7, host: "127.0.0.1", port: 9092, errorCode: 0, errorMessage: null },
          { key: "group-b", nodeId: 8, host: "broker-8", port: 19092, errorCode: 0, errorMessage: null },
          {
            key: "txn-1",
            nodeId: -1,
            host: "",
            port: -1,
            errorCode: 15,
            errorMessage: "The coordinator is not available.",
          },
        ],
      };

describe("FindCoordinator codec", () => {
  test("advertises 0-6 (librdkafka needs v0 for LZ4 and groups)", () => {
    assert.equal(codec.key, ApiKey.FindCoordinator);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6]);
  });

  for (const v of versions(codec)) {
    test(`v${v} round trips`, () => {
      requestRoundTrip(codec, v, request(v));
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v0 response bytes: error_code node_id host port", () => {
    const bytes = encodeWith((w) =>
      codec.encodeResponse(w, 0, { errorCode: 0, nodeId: 1, host: "h", port: 2 }),
    );
    assert.equal(bytes.toString("hex"), "0000" + "00000001" + "0001" + "68" + "00000002");
  });

  test("v1 request bytes: key key_type", () => {
    const bytes = encodeWith((w) => codec.encodeRequest(w, 1, { key: "g", keyType: 0 }));
    assert.equal(bytes.toString("hex"), "0001" + "67" + "00");
  });

  test("v3 (flexible) bytes: compact key, key_type, tag buffer", () => {
    const req = encodeWith((w) => codec.encodeRequest(w, 3, { key: "g", keyType: 1 }));
    assert.equal(req.toString("hex"), "02" + "67" + "01" + "00");
    const res = encodeWith((w) =>
      codec.encodeResponse(w, 3, {
        throttleTimeMs: 0,
        errorCode: 0,
        errorMessage: null,
        nodeId: 1,
        host: "h",
        port: 2,
      }),
    );
    assert.equal(res.toString("hex"), "00000000" + "0000" + "00" + "00000001" + "0268" + "00000002" + "00");
  });

  test("v4 bytes: several keys in coordinator_keys, answered per key in coordinators", () => {
    const req = encodeWith((w) => codec.encodeRequest(w, 4, { keyType: 0, coordinatorKeys: ["a", "b"] }));
    assert.equal(req.toString("hex"), "00" + "03" + "0261" + "0262" + "00");
    const res = encodeWith((w) =>
      codec.encodeResponse(w, 4, {
        throttleTimeMs: 0,
        coordinators: [{ key: "a", nodeId: 1, host: "h", port: 2, errorCode: 0, errorMessage: null }],
      }),
    );
    assert.equal(
      res.toString("hex"),
      "00000000" + "02" + ("0261" + "00000001" + "0268" + "00000002" + "0000" + "00" + "00") + "00",
    );
  });

  test("findCoordinatorRequest writes the layout of the version sent", () => {
    const req = findCoordinatorRequest("group-a", 0);
    for (const v of versions(codec)) {
      const decoded = decodeAll(
        encodeWith((w) => codec.encodeRequest(w, v, req)),
        (r) => codec.decodeRequest(r, v),
      );
      if (v <= 3) assert.deepStrictEqual([decoded.key, decoded.coordinatorKeys], ["group-a", []], `v${v}`);
      else assert.deepStrictEqual([decoded.key, decoded.coordinatorKeys], ["", ["group-a"]], `v${v}`);
    }
  });

  test("coordinatorOf reads either layout", () => {
    assert.deepStrictEqual(
      { ...coordinatorOf(response(2)) },
      { ...response(2) },
      "v0-3: the top-level fields",
    );
    assert.deepStrictEqual(coordinatorOf(response(4)), response(4).coordinators[0], "v4+: the first key's");
  });
});

describe("FindCoordinator and kafkajs 2.2.4", () => {
  for (const v of [0, 1, 2]) {
    test(`v${v} kafkajs request decodes and re-encodes identically`, async () => {
      const body = await kafkajsRequestBody("findCoordinator", v, {
        groupId: "group-a",
        coordinatorKey: "group-a",
        coordinatorType: 0,
      });
      const req = decodeAll(body, (r) => codec.decodeRequest(r, v));
      assert.deepStrictEqual(req, { key: "group-a", keyType: 0, coordinatorKeys: [] });
      assert.deepStrictEqual(
        encodeWith((w) => codec.encodeRequest(w, v, req)),
        body,
      );
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = (await kafkajsDecode(
        "findCoordinator",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      )) as { errorCode: number; coordinator: unknown };
      assert.equal(decoded.errorCode, 0);
      assert.deepStrictEqual(decoded.coordinator, { nodeId: 7, host: "127.0.0.1", port: 9092 });
    });
  }
});
