import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { type HeartbeatRequest, heartbeatCodec } from "../../src/protocol/heartbeat.ts";
import { decodeKcatFixture } from "../fixtures/protocol/capture_kcat.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = heartbeatCodec;

const request = (v: number, groupInstanceId: string | null = "instance-1"): HeartbeatRequest => ({
  groupId: "group-a",
  generationId: 3,
  memberId: "member-1",
  groupInstanceId: v >= 3 ? groupInstanceId : null,
});

describe("Heartbeat codec", () => {
  test("advertises 0-3", () => {
    assert.equal(codec.key, ApiKey.Heartbeat);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      requestRoundTrip(codec, v, request(v, null));
    });
    test(`v${v} response round trip`, () => {
      const bytes = responseRoundTrip(codec, v, {
        throttleTimeMs: v >= 1 ? 9 : 0,
        errorCode: ErrorCode.REBALANCE_IN_PROGRESS,
      });
      assert.equal(bytes.toString("hex"), v >= 1 ? "00000009001b" : "001b");
    });
  }

  test("v3 appends group_instance_id (null = -1)", () => {
    const v2 = encodeWith((w) => codec.encodeRequest(w, 2, request(3)));
    const v3 = encodeWith((w) => codec.encodeRequest(w, 3, request(3, null)));
    assert.deepStrictEqual(v3, Buffer.concat([v2, Buffer.from("ffff", "hex")]));
  });
});

describe("Heartbeat and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `heartbeat_v${v}`), request(v, null));
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, { throttleTimeMs: 9, errorCode: 0 }));
      assert.deepStrictEqual(await kafkajsDecode("heartbeat", v, bytes), {
        ...(v === 1 ? { throttleTime: 9 } : v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 9 } : {}),
        errorCode: 0,
      });
    });

    test(`v${v} kafkajs sees REBALANCE_IN_PROGRESS`, async () => {
      const m = kafkajsResponse("heartbeat", v);
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, { throttleTimeMs: 0, errorCode: ErrorCode.REBALANCE_IN_PROGRESS }),
      );
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "REBALANCE_IN_PROGRESS" });
    });
  }
});

describe("Heartbeat and librdkafka 2.0.2 (kcat -G)", () => {
  test("v3 request fixture", () => {
    const { header, req } = decodeKcatFixture(codec, "heartbeat_v3");
    assert.equal(header.apiVersion, 3);
    assert.deepStrictEqual(req, {
      groupId: "group-kcat",
      generationId: 1,
      memberId: "rdkafka-member-1",
      groupInstanceId: null,
    });
  });
});
