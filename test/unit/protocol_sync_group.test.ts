import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { decodeAssignment, encodeAssignment } from "../../src/protocol/consumer_protocol.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { Reader } from "../../src/protocol/reader.ts";
import {
  type SyncGroupRequest,
  type SyncGroupResponse,
  syncGroupCodec,
} from "../../src/protocol/sync_group.ts";
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

const codec = syncGroupCodec;

/** The versions kafkajs 2.2.4 implements (and fixtures were captured of). */
const KAFKAJS = [0, 1, 2, 3];

/** As a Buffer: decoded bytes are Buffers (views of the frame), and deepStrictEqual tells them apart. */
const buf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

interface KafkaJsAssignerProtocol {
  MemberAssignment: { decode(b: Buffer): unknown };
}
const kafkajsAssignerProtocol = (): KafkaJsAssignerProtocol =>
  createRequire(import.meta.url)("kafkajs/src/consumer/assignerProtocol") as KafkaJsAssignerProtocol;

const assignment = (topic: string, ...partitions: number[]): Buffer =>
  buf(encodeAssignment({ version: 0, assignedPartitions: [{ topic, partitions }], userData: null }));

const request = (v: number): SyncGroupRequest => ({
  groupId: "group-a",
  generationId: 3,
  memberId: "member-1",
  groupInstanceId: v >= 3 ? "instance-1" : null,
  protocolType: v >= 5 ? "consumer" : null,
  protocolName: v >= 5 ? "range" : null,
  assignments: [
    { memberId: "member-1", assignment: assignment("topic-a", 0, 2) },
    { memberId: "member-2", assignment: Buffer.alloc(0) },
  ],
});

const response = (v: number, errorCode = 0): SyncGroupResponse => ({
  throttleTimeMs: v >= 1 ? 8 : 0,
  errorCode,
  // v5 names the group's protocol (null on errors, as the coordinator answers them).
  protocolType: v >= 5 && errorCode === 0 ? "consumer" : null,
  protocolName: v >= 5 && errorCode === 0 ? "range" : null,
  assignment: errorCode === 0 ? assignment("topic-a", 1) : Buffer.alloc(0),
});

/** A decoded request with each assignment decoded too. */
const withAssignments = (req: SyncGroupRequest) => ({
  ...req,
  assignments: req.assignments.map((a) => ({
    memberId: a.memberId,
    assignment: decodeAssignment(a.assignment),
  })),
});

describe("SyncGroup codec", () => {
  test("advertises 0-5", () => {
    assert.equal(codec.key, ApiKey.SyncGroup);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      // A follower's sync: no assignments.
      requestRoundTrip(codec, v, { ...request(v), memberId: "member-2", assignments: [] });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
      responseRoundTrip(codec, v, response(v, ErrorCode.REBALANCE_IN_PROGRESS));
    });
  }

  test("below v5 the protocol type and name are not sent, and decode as null", () => {
    const req = encodeWith((w) => codec.encodeRequest(w, 4, request(5)));
    assert.deepStrictEqual(codec.decodeRequest(new Reader(req), 4), {
      ...request(5),
      protocolType: null,
      protocolName: null,
    });
    const res = encodeWith((w) => codec.encodeResponse(w, 4, response(5)));
    assert.deepStrictEqual(codec.decodeResponse(new Reader(res), 4), {
      ...response(5),
      protocolType: null,
      protocolName: null,
    });
  });

  test("v4 is flexible, v5 adds protocol type and name (compact nullable strings)", () => {
    const req = (v: number): SyncGroupRequest => ({
      groupId: "g",
      generationId: 1,
      memberId: "m",
      groupInstanceId: null,
      protocolType: v >= 5 ? "c" : null,
      protocolName: v >= 5 ? "r" : null,
      assignments: [{ memberId: "m", assignment: Buffer.from("ab", "hex") }],
    });
    // "g", generation 1, "m", instance null; then (v5) "c", "r"; 1 assignment: "m", 1 byte ab, its
    // tags; the message's tags.
    const head = "0267" + "00000001" + "026d" + "00";
    const tail = "02" + "026d" + "02ab" + "00" + "00";
    assert.equal(requestRoundTrip(codec, 4, req(4)).toString("hex"), head + tail);
    assert.equal(requestRoundTrip(codec, 5, req(5)).toString("hex"), `${head}02630272${tail}`);
    // The response: throttle, error, (v5) type and name, assignment, tags.
    const res = {
      throttleTimeMs: 0,
      errorCode: 0,
      protocolType: "c",
      protocolName: "r",
      assignment: Buffer.from("ab", "hex"),
    };
    assert.equal(
      responseRoundTrip(codec, 5, res).toString("hex"),
      "00000000" + "0000" + "0263" + "0272" + "02ab" + "00",
    );
    assert.equal(
      responseRoundTrip(codec, 5, {
        ...res,
        errorCode: ErrorCode.INCONSISTENT_GROUP_PROTOCOL,
        protocolType: null,
        protocolName: null,
        assignment: Buffer.alloc(0),
      }).toString("hex"),
      "00000000" + "0017" + "00" + "00" + "01" + "00",
    );
  });
});

describe("SyncGroup and kafkajs 2.2.4", () => {
  for (const v of KAFKAJS) {
    test(`v${v} request fixture`, () => {
      const req = decodeRequestFixture(codec, v, "kafkajs", `sync_group_v${v}`);
      const userData = Buffer.alloc(0); // kafkajs writes 0 bytes, not null
      assert.deepStrictEqual(withAssignments(req), {
        groupId: "group-a",
        generationId: 3,
        memberId: "member-1",
        groupInstanceId: null,
        protocolType: null,
        protocolName: null,
        assignments: [
          {
            memberId: "member-1",
            assignment: {
              version: 0,
              assignedPartitions: [
                { topic: "topic-a", partitions: [0, 2] },
                { topic: "topic-b", partitions: [0] },
              ],
              userData,
            },
          },
          {
            memberId: "member-2",
            assignment: { version: 0, assignedPartitions: [{ topic: "topic-a", partitions: [1] }], userData },
          },
        ],
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const res = response(v);
      const decoded = await kafkajsDecode(
        "syncGroup",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, res)),
      );
      assert.deepStrictEqual(decoded, {
        ...(v === 1 ? { throttleTime: 8 } : v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 8 } : {}),
        errorCode: 0,
        memberAssignment: res.assignment,
      });
      const { MemberAssignment } = kafkajsAssignerProtocol();
      assert.deepStrictEqual(MemberAssignment.decode(buf(res.assignment)), {
        version: 0,
        assignment: { "topic-a": [1] },
        userData: null,
      });
    });

    test(`v${v} kafkajs sees an error`, async () => {
      const m = kafkajsResponse("syncGroup", v);
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, response(v, ErrorCode.REBALANCE_IN_PROGRESS)),
      );
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "REBALANCE_IN_PROGRESS" });
    });
  }
});

describe("SyncGroup and librdkafka 2.0.2 (kcat -G)", () => {
  test("v3 request fixture: the leader's assignment (range)", () => {
    const { header, req } = decodeKcatFixture(codec, "sync_group_v3");
    assert.equal(header.apiVersion, 3);
    assert.deepStrictEqual(withAssignments(req), {
      groupId: "group-kcat",
      generationId: 1,
      memberId: "rdkafka-member-1",
      groupInstanceId: null,
      protocolType: null,
      protocolName: null,
      assignments: [
        {
          memberId: "rdkafka-member-1",
          // librdkafka: Assignment v0, user_data 0 bytes (not null).
          assignment: {
            version: 0,
            assignedPartitions: [{ topic: "topic-a", partitions: [0, 1] }],
            userData: Buffer.alloc(0),
          },
        },
      ],
    });
    assert.deepStrictEqual(
      buf(encodeAssignment(decodeAssignment(req.assignments[0].assignment))),
      req.assignments[0].assignment,
    );
  });
});
