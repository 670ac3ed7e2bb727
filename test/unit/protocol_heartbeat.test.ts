import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { type HeartbeatRequest, heartbeatCodec } from "../../src/protocol/heartbeat.ts";
import { Reader } from "../../src/protocol/reader.ts";
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

/** The versions kafkajs 2.2.4 implements (and fixtures were captured of). */
const KAFKAJS = [0, 1, 2, 3];

const request = (v: number, groupInstanceId: string | null = "instance-1"): HeartbeatRequest => ({
  groupId: "group-a",
  generationId: 3,
  memberId: "member-1",
  groupInstanceId: v >= 3 ? groupInstanceId : null,
});

describe("Heartbeat codec", () => {
  test("advertises 0-4", () => {
    assert.equal(codec.key, ApiKey.Heartbeat);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4]);
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
      // v4 ends with an empty tagged field section.
      assert.equal(bytes.toString("hex"), v === 0 ? "001b" : v <= 3 ? "00000009001b" : "00000009001b00");
    });
  }

  test("v3 appends group_instance_id (null = -1)", () => {
    const v2 = encodeWith((w) => codec.encodeRequest(w, 2, request(3)));
    const v3 = encodeWith((w) => codec.encodeRequest(w, 3, request(3, null)));
    assert.deepStrictEqual(v3, Buffer.concat([v2, Buffer.from("ffff", "hex")]));
    // Below v3 it is not sent, and decodes as null.
    assert.equal(codec.decodeRequest(new Reader(v2), 2).groupInstanceId, null);
  });

  test("v4 is flexible: compact strings, compact null, tagged fields", () => {
    const bytes = requestRoundTrip(codec, 4, {
      groupId: "g",
      generationId: 3,
      memberId: "m",
      groupInstanceId: null,
    });
    // "g" (length+1), generation 3, "m", null (0), no tagged fields.
    assert.equal(bytes.toString("hex"), "0267" + "00000003" + "026d" + "00" + "00");
    const withInstance = requestRoundTrip(codec, 4, request(4));
    assert.equal(withInstance[0], "group-a".length + 1);
  });

  test("v4: an unknown tagged field is kept and written back", () => {
    // The response of above plus tag 7 (2 bytes: beef) in its tagged field section.
    const bytes = Buffer.from("00000009001b" + "01" + "07" + "02" + "beef", "hex");
    const r = new Reader(bytes);
    const res = codec.decodeResponse(r, 4);
    assert.equal(r.remaining, 0);
    assert.equal(res.errorCode, ErrorCode.REBALANCE_IN_PROGRESS);
    assert.deepStrictEqual(res._unknownTags, [{ tag: 7, data: Uint8Array.from([0xbe, 0xef]) }]);
    assert.deepStrictEqual(
      encodeWith((w) => codec.encodeResponse(w, 4, res)),
      bytes,
    );
  });
});

describe("Heartbeat and kafkajs 2.2.4", () => {
  for (const v of KAFKAJS) {
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
