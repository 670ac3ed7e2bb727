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

const subscription = (...topics: string[]): Buffer =>
  encodeSubscription({ version: 0, topics, userData: null, ownedPartitions: [] });

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
});

const response = (v: number, errorCode = 0): JoinGroupResponse => ({
  throttleTimeMs: v >= 2 ? 7 : 0,
  errorCode,
  generationId: 4,
  protocolName: "range",
  leader: "member-1",
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

describe("JoinGroup codec", () => {
  test("advertises 0-5", () => {
    assert.equal(codec.key, ApiKey.JoinGroup);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      requestRoundTrip(codec, v, { ...request(v), memberId: "member-1", protocols: [] });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
      // A follower's (or a failed) join: no members; on error generation -1, protocol "".
      responseRoundTrip(codec, v, {
        ...response(v, ErrorCode.UNKNOWN_MEMBER_ID),
        generationId: -1,
        protocolName: "",
        leader: "",
        members: [],
      });
    });
  }

  test("fields a version lacks decode to their defaults", () => {
    const v0 = encodeWith((w) => codec.encodeRequest(w, 0, request(5)));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(v0), 0), {
      ...request(5),
      rebalanceTimeoutMs: -1,
      groupInstanceId: null,
    });
    const r4 = encodeWith((w) => codec.encodeResponse(w, 4, response(5)));
    assert.equal(codec.decodeResponse(new Reader(r4), 4).members[0].groupInstanceId, null);
  });
});

describe("JoinGroup and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
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
        codec.encodeResponse(w, v, {
          ...response(v, ErrorCode.MEMBER_ID_REQUIRED),
          generationId: -1,
          protocolName: "",
          leader: "",
          memberId: "assigned-7",
          members: [],
        }),
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
      },
    );
    for (const p of req.protocols)
      assert.deepStrictEqual(encodeSubscription(decodeSubscription(p.metadata)), p.metadata);
  });
});
