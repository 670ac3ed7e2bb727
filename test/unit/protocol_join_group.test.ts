import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { decodeSubscription, encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  type JoinGroupRequest,
  type JoinGroupResponse,
  joinGroupCodec,
} from "../../src/protocol/join_group.ts";
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

const codec = joinGroupCodec;

/** The versions kafkajs 2.2.4 implements (and fixtures were captured of). */
const KAFKAJS = [0, 1, 2, 3, 4, 5];

/** As a Buffer: decoded bytes are Buffers (views of the frame), and deepStrictEqual tells them apart. */
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

const subscription = (...topics: string[]): Buffer =>
  buf(encodeSubscription({ version: 0, topics, userData: null, ownedPartitions: [] }));

const request = (v: number): JoinGroupRequest => ({
  groupId: "group-a",
  sessionTimeoutMs: 30000,
  rebalanceTimeoutMs: v >= 1 ? 60000 : -1,
  memberId: "",
  groupInstanceId: v >= 5 ? "instance-1" : null,
  protocolType: "consumer",
  protocols: [
    { name: "range", metadata: subscription("topic-a") },
    { name: "roundrobin", metadata: Buffer.alloc(0) },
  ],
  reason: v >= 8 ? "rebalance failed due to MemberIdRequiredException" : null,
});

const response = (v: number, errorCode = 0): JoinGroupResponse => ({
  throttleTimeMs: v >= 2 ? 7 : 0,
  errorCode,
  generationId: 4,
  protocolType: v >= 7 ? "consumer" : null,
  protocolName: "range",
  leader: "member-1",
  skipAssignment: false,
  memberId: "member-1",
  members: [
    {
      memberId: "member-1",
      groupInstanceId: v >= 5 ? "instance-1" : null,
      metadata: subscription("topic-a"),
    },
    { memberId: "member-2", groupInstanceId: null, metadata: subscription("topic-a", "topic-b") },
  ],
});

/** A failed join: generation -1, no members; the protocol names null from v7, "" below. */
const failed = (v: number, errorCode: number, memberId = ""): JoinGroupResponse => ({
  ...response(v, errorCode),
  generationId: -1,
  protocolType: null,
  protocolName: v >= 7 ? null : "",
  leader: "",
  memberId,
  members: [],
});

describe("JoinGroup codec", () => {
  test("advertises 0-9", () => {
    assert.equal(codec.key, ApiKey.JoinGroup);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      requestRoundTrip(codec, v, { ...request(v), memberId: "member-1", protocols: [] });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
      // A follower's (or a failed) join: no members; on error generation -1, no protocol.
      responseRoundTrip(codec, v, failed(v, ErrorCode.UNKNOWN_MEMBER_ID, "member-1"));
    });
  }

  test("fields a version lacks decode to their defaults", () => {
    const v0 = encodeWith((w) => codec.encodeRequest(w, 0, request(9)));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(v0), 0), {
      ...request(9),
      rebalanceTimeoutMs: -1,
      groupInstanceId: null,
      reason: null,
    });
    const r4 = encodeWith((w) => codec.encodeResponse(w, 4, { ...response(9), skipAssignment: true }));
    const res4 = codec.decodeResponse(new Reader(r4), 4);
    assert.equal(res4.members[0].groupInstanceId, null);
    assert.equal(res4.protocolType, null);
    assert.equal(res4.skipAssignment, false);
  });

  test("fields left out of what is encoded are written as their defaults", () => {
    const bytes = encodeWith((w) =>
      codec.encodeResponse(w, 9, { errorCode: ErrorCode.MEMBER_ID_REQUIRED, memberId: "m" }),
    );
    assert.deepStrictEqual(codec.decodeResponse(new Reader(bytes), 9), {
      throttleTimeMs: 0,
      errorCode: ErrorCode.MEMBER_ID_REQUIRED,
      generationId: -1,
      protocolType: null,
      protocolName: "",
      leader: "",
      skipAssignment: false,
      memberId: "m",
      members: [],
    });
  });

  test("v6 is flexible: compact strings and bytes, tagged fields; v8 appends the reason", () => {
    const req = (v: number, reason: string | null): JoinGroupRequest => ({
      groupId: "g",
      sessionTimeoutMs: 1000,
      rebalanceTimeoutMs: 2000,
      memberId: "",
      groupInstanceId: null,
      protocolType: "c",
      protocols: [{ name: "r", metadata: Buffer.from("0102", "hex") }],
      reason: v >= 8 ? reason : null,
    });
    // group "g", session 1000, rebalance 2000, member "" (1), instance null (0), type "c",
    // 1 protocol (2): "r", 2 bytes (3) 0102, its tags; the message's tags.
    const v6 = "0267" + "000003e8" + "000007d0" + "01" + "00" + "0263" + "02" + "0272" + "030102" + "00";
    assert.equal(requestRoundTrip(codec, 6, req(6, null)).toString("hex"), `${v6}00`);
    assert.equal(requestRoundTrip(codec, 8, req(8, null)).toString("hex"), `${v6}0000`);
    assert.equal(requestRoundTrip(codec, 8, req(8, "x")).toString("hex"), `${v6}027800`);
  });

  test("v7 protocol type and name are nullable; v9 adds skip_assignment", () => {
    // throttle 7, MEMBER_ID_REQUIRED, generation -1, type null, name null, leader "", member "m", no members.
    const v7 = "00000007" + "004f" + "ffffffff" + "00" + "00" + "01";
    const tail = "026d" + "01" + "00";
    assert.equal(
      responseRoundTrip(codec, 7, failed(7, ErrorCode.MEMBER_ID_REQUIRED, "m")).toString("hex"),
      v7 + tail,
    );
    assert.equal(
      responseRoundTrip(codec, 9, failed(9, ErrorCode.MEMBER_ID_REQUIRED, "m")).toString("hex"),
      `${v7}00${tail}`,
    );
    responseRoundTrip(codec, 9, { ...response(9), skipAssignment: true });
    // Below v7 the name is a plain string: null cannot be written (handlers/groups.ts writes "").
    assert.throws(() =>
      encodeWith((w) => codec.encodeResponse(w, 6, failed(7, ErrorCode.MEMBER_ID_REQUIRED, "m"))),
    );
  });
});

describe("JoinGroup and kafkajs 2.2.4", () => {
  for (const v of KAFKAJS) {
    test(`v${v} request fixture`, () => {
      const req = decodeRequestFixture(codec, v, "kafkajs", `join_group_v${v}`);
      assert.deepStrictEqual(
        {
          ...req,
          protocols: req.protocols.map((p) => ({ name: p.name, metadata: decodeSubscription(p.metadata) })),
        },
        {
          groupId: "group-a",
          sessionTimeoutMs: 30000,
          rebalanceTimeoutMs: v >= 1 ? 60000 : -1,
          memberId: "",
          groupInstanceId: null,
          protocolType: "consumer",
          protocols: [
            {
              name: "RoundRobinAssigner",
              // kafkajs's Subscription v0 writes user_data as 0 bytes, not null.
              metadata: {
                version: 0,
                topics: ["topic-a", "topic-b"],
                userData: Buffer.alloc(0),
                ownedPartitions: [],
              },
            },
          ],
          reason: null,
        },
      );
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const res = response(v);
      const decoded = await kafkajsDecode(
        "joinGroup",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, res)),
      );
      assert.deepStrictEqual(decoded, {
        ...(v === 2 ? { throttleTime: 7 } : v >= 3 ? { throttleTime: 0, clientSideThrottleTime: 7 } : {}),
        errorCode: 0,
        generationId: 4,
        groupProtocol: "range",
        leaderId: "member-1",
        memberId: "member-1",
        members: res.members.map((m) => ({
          memberId: m.memberId,
          ...(v >= 5 ? { groupInstanceId: m.groupInstanceId } : {}),
          memberMetadata: m.metadata,
        })),
      });
    });

    test(`v${v} kafkajs sees an error`, async () => {
      const m = kafkajsResponse("joinGroup", v);
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, ErrorCode.UNKNOWN_MEMBER_ID)));
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "UNKNOWN_MEMBER_ID" });
    });
  }

  for (const v of [4, 5])
    test(`v${v} MEMBER_ID_REQUIRED hands kafkajs the id to rejoin with (KIP-394)`, async () => {
      const m = kafkajsResponse("joinGroup", v);
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, failed(v, ErrorCode.MEMBER_ID_REQUIRED, "assigned-7")),
      );
      await assert.rejects(m.parse(await m.decode(bytes)), {
        name: "KafkaJSMemberIdRequired",
        memberId: "assigned-7",
      });
    });
});

describe("JoinGroup and librdkafka 2.0.2 (kcat -G)", () => {
  test("v5 request fixture: range and roundrobin with Subscription v1", () => {
    const { header, req } = decodeKcatFixture(codec, "join_group_v5");
    assert.equal(header.apiVersion, 5);
    assert.equal(header.clientId, "rdkafka");
    // librdkafka's Subscription v1: user_data 0 bytes (not null), owned_partitions [].
    const metadata = { version: 1, topics: ["topic-a"], userData: Buffer.alloc(0), ownedPartitions: [] };
    assert.deepStrictEqual(
      {
        ...req,
        protocols: req.protocols.map((p) => ({ name: p.name, metadata: decodeSubscription(p.metadata) })),
      },
      {
        groupId: "group-kcat",
        sessionTimeoutMs: 45000, // session.timeout.ms
        rebalanceTimeoutMs: 300000, // max.poll.interval.ms
        memberId: "",
        groupInstanceId: null,
        protocolType: "consumer",
        protocols: [
          { name: "range", metadata },
          { name: "roundrobin", metadata },
        ],
        reason: null,
      },
    );
    for (const p of req.protocols)
      assert.deepStrictEqual(buf(encodeSubscription(decodeSubscription(p.metadata))), p.metadata);
  });
});
