import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  type LeaveGroupRequest,
  type LeaveGroupResponse,
  leaveGroupCodec,
} from "../../src/protocol/leave_group.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { decodeKcatFixture } from "../fixtures/protocol/capture_kcat.ts";
import {
  decodeAll,
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsRequestBody,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = leaveGroupCodec;

/** The versions kafkajs 2.2.4 implements; fixtures were captured of 0-2. */
const KAFKAJS = [0, 1, 2, 3];

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

const hex = (s: string) => Buffer.from(s).toString("hex");

/** v0-2 name one member; v3+ a batch: one by member id, one by group instance id (static). */
const request = (v: number): LeaveGroupRequest =>
  v <= 2
    ? { groupId: "g", memberId: "m-1", members: [] }
    : {
        groupId: "g",
        memberId: "",
        members: [
          { memberId: "m-1", groupInstanceId: null, reason: v >= 5 ? "the consumer is being closed" : null },
          { memberId: "", groupInstanceId: "instance-2", reason: null },
        ],
      };

const response = (v: number): LeaveGroupResponse => ({
  throttleTimeMs: v >= 1 ? 3 : 0,
  errorCode: v <= 2 ? ErrorCode.UNKNOWN_MEMBER_ID : 0,
  members:
    v <= 2
      ? []
      : [
          { memberId: "m-1", groupInstanceId: null, errorCode: 0 },
          { memberId: "", groupInstanceId: "instance-2", errorCode: ErrorCode.UNKNOWN_MEMBER_ID },
        ],
});

describe("LeaveGroup codec", () => {
  test("advertises 0-5", () => {
    assert.equal(codec.key, ApiKey.LeaveGroup);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      if (v >= 3) requestRoundTrip(codec, v, { ...request(v), members: [] });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
      // A group-level error (v3+: no member answers).
      responseRoundTrip(codec, v, { ...response(v), errorCode: ErrorCode.NOT_COORDINATOR, members: [] });
    });
  }

  test("v0-2: group_id and member_id", () => {
    for (const v of [0, 1, 2])
      assert.equal(
        encodeWith((w) => codec.encodeRequest(w, v, request(v))).toString("hex"),
        `0001670003${hex("m-1")}`,
      );
  });

  test("v3 replaces member_id with members; v4 is flexible; v5 adds a reason per member", () => {
    const req = (v: number): LeaveGroupRequest => ({
      groupId: "g",
      memberId: "",
      members: [{ memberId: "m-1", groupInstanceId: null, reason: v >= 5 ? "r" : null }],
    });
    // v3: "g", 1 member: "m-1", instance null (int16 -1).
    assert.equal(requestRoundTrip(codec, 3, req(3)).toString("hex"), `000167000000010003${hex("m-1")}ffff`);
    // v4: compact "g", 1 member (2): "m-1" (4), null (0), its tags; the message's tags.
    assert.equal(requestRoundTrip(codec, 4, req(4)).toString("hex"), `02670204${hex("m-1")}000000`);
    // v5: the reason after the instance id.
    assert.equal(
      requestRoundTrip(codec, 5, req(5)).toString("hex"),
      `02670204${hex("m-1")}0002${hex("r")}0000`,
    );
    // v4 response: throttle, error, 1 member: "m-1", null, UNKNOWN_MEMBER_ID (25), tags.
    assert.equal(
      responseRoundTrip(codec, 4, {
        throttleTimeMs: 0,
        errorCode: 0,
        members: [{ memberId: "m-1", groupInstanceId: null, errorCode: ErrorCode.UNKNOWN_MEMBER_ID }],
      }).toString("hex"),
      `0000000000000204${hex("m-1")}0000190000`,
    );
  });

  test("fields a version lacks decode to their defaults", () => {
    // v2 has no members (decodes []), v3 no member_id (decodes "").
    const v2 = encodeWith((w) => codec.encodeRequest(w, 2, { ...request(5), memberId: "m-1" }));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(v2), 2), {
      groupId: "g",
      memberId: "m-1",
      members: [],
    });
    const v3 = encodeWith((w) => codec.encodeRequest(w, 3, { ...request(5), memberId: "m-1" }));
    const dv3 = codec.decodeRequest(new Reader(v3), 3);
    assert.equal(dv3.memberId, "");
    assert.deepStrictEqual(
      dv3.members.map((m) => m.reason),
      [null, null],
    );
    const r2 = encodeWith((w) => codec.encodeResponse(w, 2, response(5)));
    assert.deepStrictEqual(codec.decodeResponse(new Reader(r2), 2).members, []);
  });
});

describe("LeaveGroup and kafkajs 2.2.4", () => {
  test("kafkajs implements 0-3 and sends min(its max, ours) = v3", () => {
    const { lookup, requests } = createRequire(import.meta.url)(
      "kafkajs/src/protocol/requests",
    ) as KafkaJsLookup;
    const request = lookup({ [ApiKey.LeaveGroup]: { minVersion: 0, maxVersion: codec.maxVersion } })(
      ApiKey.LeaveGroup,
      requests.LeaveGroup,
    )({ groupId: "g", memberId: "m" }).request;
    assert.equal(request.apiVersion, 3);
  });

  for (const v of [0, 1, 2]) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `leave_group_v${v}`), {
        groupId: "group-a",
        memberId: "member-1",
        members: [],
      });
    });
  }

  test("v3 request as kafkajs encodes it: one member, instance id null", async () => {
    const bytes = await kafkajsRequestBody("leaveGroup", 3, {
      groupId: "group-a",
      members: [{ memberId: "member-1" }],
    });
    const req = decodeAll(bytes, (r) => codec.decodeRequest(r, 3));
    assert.deepStrictEqual(req, {
      groupId: "group-a",
      memberId: "",
      members: [{ memberId: "member-1", groupInstanceId: null, reason: null }],
    });
    assert.deepStrictEqual(
      encodeWith((w) => codec.encodeRequest(w, 3, req)),
      bytes,
    );
  });

  for (const v of KAFKAJS) {
    test(`v${v} kafkajs reads our response`, async () => {
      const members = [{ memberId: "member-1", groupInstanceId: null, errorCode: 0 }];
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, { throttleTimeMs: 3, errorCode: 0, members }),
      );
      assert.deepStrictEqual(await kafkajsDecode("leaveGroup", v, bytes), {
        ...(v === 1 ? { throttleTime: 3 } : v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 3 } : {}),
        errorCode: 0,
        ...(v >= 3 ? { members } : {}),
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

  test("v3 kafkajs sees a member's error", async () => {
    const m = kafkajsResponse("leaveGroup", 3);
    const bytes = encodeWith((w) => codec.encodeResponse(w, 3, response(3)));
    await assert.rejects(m.parse(await m.decode(bytes)), { type: "UNKNOWN_MEMBER_ID" });
  });
});

describe("LeaveGroup and librdkafka 2.0.2 (kcat -G)", () => {
  test("v1 request fixture (librdkafka's maximum), sent on close", () => {
    const { header, req } = decodeKcatFixture(codec, "leave_group_v1");
    assert.equal(header.apiVersion, 1);
    assert.deepStrictEqual(req, { groupId: "group-kcat", memberId: "rdkafka-member-1", members: [] });
  });
});
