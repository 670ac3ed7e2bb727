import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { type DeleteGroupsResponse, deleteGroupsCodec } from "../../src/protocol/delete_groups.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = deleteGroupsCodec;

/** The versions kafkajs 2.2.4 implements (and fixtures were captured of). */
const KAFKAJS = [0, 1];

const response = (errorCode = 0): DeleteGroupsResponse => ({
  throttleTimeMs: 1,
  results: [
    { groupId: "group-a", errorCode: 0 },
    { groupId: "group-b", errorCode },
  ],
});

describe("DeleteGroups codec", () => {
  test("advertises 0-2 under key 42", () => {
    assert.equal(codec.key, 42);
    assert.equal(ApiKey.DeleteGroups, 42);
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, { groupsNames: ["group-a", "group-b"] });
      requestRoundTrip(codec, v, { groupsNames: [] });
    });
    test(`v${v} response round trip (throttle_time_ms from v0)`, () => {
      const bytes = responseRoundTrip(codec, v, response(ErrorCode.NON_EMPTY_GROUP));
      assert.equal(bytes.readInt32BE(0), 1);
    });
  }

  test("v2 is flexible: compact array of compact strings, tagged fields", () => {
    const req = requestRoundTrip(codec, 2, { groupsNames: ["a", "bc"] });
    // 2 names (3): "a" (2), "bc" (3); the message's tags.
    assert.equal(req.toString("hex"), "03" + "0261" + "036263" + "00");
    const res = responseRoundTrip(codec, 2, {
      throttleTimeMs: 1,
      results: [{ groupId: "a", errorCode: ErrorCode.GROUP_ID_NOT_FOUND }],
    });
    // throttle 1, 1 result (2): "a", 69, its tags; the message's tags.
    assert.equal(res.toString("hex"), "00000001" + "02" + "0261" + "0045" + "00" + "00");
  });
});

describe("DeleteGroups and kafkajs 2.2.4", () => {
  for (const v of KAFKAJS) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `delete_groups_v${v}`), {
        groupsNames: ["group-a", "group-b"],
      });
    });

    test(`v${v} kafkajs reads our response, per-group errors attached`, async () => {
      const m = kafkajsResponse("deleteGroups", v);
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(ErrorCode.GROUP_ID_NOT_FOUND)));
      const decoded = (await m.parse(await m.decode(bytes))) as {
        throttleTimeMs: number;
        results: { groupId: string; errorCode: number; error?: { type: string } }[];
      };
      assert.equal(decoded.throttleTimeMs, 1);
      assert.deepStrictEqual(
        decoded.results.map((r) => [r.groupId, r.errorCode, r.error?.type]),
        [
          ["group-a", 0, undefined],
          ["group-b", ErrorCode.GROUP_ID_NOT_FOUND, "GROUP_ID_NOT_FOUND"],
        ],
      );
    });
  }
});
