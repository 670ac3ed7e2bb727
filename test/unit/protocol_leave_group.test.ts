import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { leaveGroupCodec } from "../../src/protocol/leave_group.ts";
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

const codec = leaveGroupCodec;

/** kafkajs's version negotiation (src/protocol/requests/index.js). */
interface KafkaJsLookup {
  lookup(versions: object): (
    apiKey: number,
    definition: unknown,
  ) => (args: object) => {
    request: { apiVersion: number };
  };
  requests: { LeaveGroup: unknown };
}

describe("LeaveGroup codec", () => {
  test("advertises 0-2 (v3's members array is not served)", () => {
    assert.equal(codec.key, ApiKey.LeaveGroup);
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      const bytes = requestRoundTrip(codec, v, { groupId: "g", memberId: "m-1" });
      assert.equal(bytes.toString("hex"), `0001670003${Buffer.from("m-1").toString("hex")}`);
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, { throttleTimeMs: v >= 1 ? 3 : 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID });
    });
  }
});

describe("LeaveGroup and kafkajs 2.2.4", () => {
  test("kafkajs implements 0-3 and sends min(its max, ours) = v2", () => {
    const { lookup, requests } = createRequire(import.meta.url)(
      "kafkajs/src/protocol/requests",
    ) as KafkaJsLookup;
    const request = lookup({ [ApiKey.LeaveGroup]: { minVersion: 0, maxVersion: codec.maxVersion } })(
      ApiKey.LeaveGroup,
      requests.LeaveGroup,
    )({ groupId: "g", memberId: "m" }).request;
    assert.equal(request.apiVersion, 2);
  });

  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `leave_group_v${v}`), {
        groupId: "group-a",
        memberId: "member-1",
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, { throttleTimeMs: 3, errorCode: 0 }));
      assert.deepStrictEqual(await kafkajsDecode("leaveGroup", v, bytes), {
        ...(v === 1 ? { throttleTime: 3 } : v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 3 } : {}),
        errorCode: 0,
      });
    });

    test(`v${v} kafkajs sees an error`, async () => {
      const m = kafkajsResponse("leaveGroup", v);
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, { throttleTimeMs: 0, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }),
      );
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "UNKNOWN_MEMBER_ID" });
    });
  }
});

describe("LeaveGroup and librdkafka 2.0.2 (kcat -G)", () => {
  test("v1 request fixture (librdkafka's maximum), sent on close", () => {
    const { header, req } = decodeKcatFixture(codec, "leave_group_v1");
    assert.equal(header.apiVersion, 1);
    assert.deepStrictEqual(req, { groupId: "group-kcat", memberId: "rdkafka-member-1" });
  });
});
