import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  type ListGroupsRequest,
  type ListGroupsResponse,
  listGroupsCodec,
} from "../../src/protocol/list_groups.ts";
import { Reader } from "../../src/protocol/reader.ts";
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

/** The versions kafkajs 2.2.4 implements (and fixtures were captured of). */
const KAFKAJS = [0, 1, 2];

const str = (s: string) => (s.length + 1).toString(16).padStart(2, "0") + Buffer.from(s).toString("hex");

/** v4 filters by state, v5 by type too. */
const request = (v: number): ListGroupsRequest => ({
  statesFilter: v >= 4 ? ["Stable", "Empty"] : [],
  typesFilter: v >= 5 ? ["classic"] : [],
});

const response = (v: number, errorCode = 0): ListGroupsResponse => ({
  throttleTimeMs: v >= 1 ? 2 : 0,
  errorCode,
  groups: [
    {
      groupId: "group-a",
      protocolType: "consumer",
      groupState: v >= 4 ? "Stable" : "",
      groupType: v >= 5 ? "classic" : "",
    },
    {
      groupId: "group-b",
      protocolType: "",
      groupState: v >= 4 ? "Empty" : "",
      groupType: v >= 5 ? "classic" : "",
    },
  ],
});

describe("ListGroups codec", () => {
  test("advertises 0-5", () => {
    assert.equal(codec.key, ApiKey.ListGroups);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      const empty = requestRoundTrip(codec, v, { statesFilter: [], typesFilter: [] });
      // An empty body below v3; then the tagged fields' count, and empty filters (v4, v5: 1 each).
      assert.equal(empty.toString("hex"), ["", "", "", "00", "0100", "010100"][v]);
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, ErrorCode.COORDINATOR_NOT_AVAILABLE));
      responseRoundTrip(codec, v, { throttleTimeMs: 0, errorCode: 0, groups: [] });
    });
  }

  test("v4 states filter, v5 types filter: compact arrays of compact strings", () => {
    assert.equal(
      requestRoundTrip(codec, 4, { statesFilter: ["Stable"], typesFilter: [] }).toString("hex"),
      `02${str("Stable")}00`,
    );
    assert.equal(
      requestRoundTrip(codec, 5, { statesFilter: [], typesFilter: ["classic", "consumer"] }).toString("hex"),
      `0103${str("classic")}${str("consumer")}00`,
    );
    // A group: id, protocol type, (v4) state, (v5) type, its tags.
    const one = (v: number): ListGroupsResponse => ({
      throttleTimeMs: 0,
      errorCode: 0,
      groups: [{ groupId: "g", protocolType: "c", groupState: "Empty", groupType: v >= 5 ? "classic" : "" }],
    });
    const head = `00000000000002${str("g")}${str("c")}${str("Empty")}`;
    assert.equal(responseRoundTrip(codec, 4, one(4)).toString("hex"), `${head}0000`);
    assert.equal(responseRoundTrip(codec, 5, one(5)).toString("hex"), `${head + str("classic")}0000`);
  });

  test("fields a version lacks decode to their defaults", () => {
    const req = encodeWith((w) => codec.encodeRequest(w, 4, request(5)));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(req), 4), { ...request(5), typesFilter: [] });
    const res = encodeWith((w) => codec.encodeResponse(w, 3, response(5)));
    assert.deepStrictEqual(codec.decodeResponse(new Reader(res), 3), response(3));
  });
});

describe("ListGroups and kafkajs 2.2.4", () => {
  for (const v of KAFKAJS) {
    test(`v${v} request fixture (empty body)`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `list_groups_v${v}`), {
        statesFilter: [],
        typesFilter: [],
      });
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
        groups: response(v).groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType })),
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
