import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { decodeAssignment, encodeAssignment } from "../../src/protocol/consumer_protocol.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
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

interface KafkaJsAssignerProtocol {
  MemberAssignment: { decode(b: Buffer): unknown };
}
const kafkajsAssignerProtocol = (): KafkaJsAssignerProtocol =>
  createRequire(import.meta.url)("kafkajs/src/consumer/assignerProtocol") as KafkaJsAssignerProtocol;

const assignment = (topic: string, ...partitions: number[]): Buffer =>
  encodeAssignment({ version: 0, assignedPartitions: [{ topic, partitions }], userData: null });

const request = (v: number): SyncGroupRequest => ({
  groupId: "group-a",
  generationId: 3,
  memberId: "member-1",
  groupInstanceId: v >= 3 ? "instance-1" : null,
  assignments: [
    { memberId: "member-1", assignment: assignment("topic-a", 0, 2) },
    { memberId: "member-2", assignment: Buffer.alloc(0) },
  ],
});

const response = (v: number, errorCode = 0): SyncGroupResponse => ({
  throttleTimeMs: v >= 1 ? 8 : 0,
  errorCode,
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
  test("advertises 0-3", () => {
    assert.equal(codec.key, ApiKey.SyncGroup);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3]);
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
});

describe("SyncGroup and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      const req = decodeRequestFixture(codec, v, "kafkajs", `sync_group_v${v}`);
      const userData = Buffer.alloc(0); // kafkajs writes 0 bytes, not null
      assert.deepStrictEqual(withAssignments(req), {
        groupId: "group-a",
        generationId: 3,
        memberId: "member-1",
        groupInstanceId: null,
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
      assert.deepStrictEqual(MemberAssignment.decode(res.assignment), {
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
      encodeAssignment(decodeAssignment(req.assignments[0].assignment)),
      req.assignments[0].assignment,
    );
  });
});
