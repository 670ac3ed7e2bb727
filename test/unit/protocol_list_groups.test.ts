import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { type ListGroupsResponse, listGroupsCodec } from "../../src/protocol/list_groups.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = listGroupsCodec;

const response = (v: number, errorCode = 0): ListGroupsResponse => ({
  throttleTimeMs: v >= 1 ? 2 : 0,
  errorCode,
  groups: [
    { groupId: "group-a", protocolType: "consumer" },
    { groupId: "group-b", protocolType: "" },
  ],
});

describe("ListGroups codec", () => {
  test("advertises 0-2", () => {
    assert.equal(codec.key, ApiKey.ListGroups);
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip (empty body)`, () => {
      assert.equal(requestRoundTrip(codec, v, {}).length, 0);
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      responseRoundTrip(codec, v, { throttleTimeMs: 0, errorCode: 0, groups: [] });
    });
  }
});

describe("ListGroups and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture (empty body)`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `list_groups_v${v}`), {});
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "listGroups",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      );
      assert.deepStrictEqual(decoded, {
        ...(v === 1 ? { throttleTime: 2 } : v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 2 } : {}),
        errorCode: 0,
        groups: response(v).groups,
      });
    });

    test(`v${v} kafkajs sees the error`, async () => {
      const m = kafkajsResponse("listGroups", v);
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, response(v, ErrorCode.COORDINATOR_NOT_AVAILABLE)),
      );
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "GROUP_COORDINATOR_NOT_AVAILABLE" });
    });
  }
});
