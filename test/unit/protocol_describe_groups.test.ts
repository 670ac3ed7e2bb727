import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { encodeAssignment, encodeSubscription } from "../../src/protocol/consumer_protocol.ts";
import { type DescribeGroupsResponse, describeGroupsCodec } from "../../src/protocol/describe_groups.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = describeGroupsCodec;

const memberMetadata = encodeSubscription({
  version: 0,
  topics: ["topic-a"],
  userData: null,
  ownedPartitions: [],
});
const memberAssignment = encodeAssignment({
  version: 0,
  assignedPartitions: [{ topic: "topic-a", partitions: [0, 1] }],
  userData: null,
});

const response = (v: number, errorCode = 0): DescribeGroupsResponse => ({
  throttleTimeMs: v >= 1 ? 6 : 0,
  groups: [
    {
      errorCode: 0,
      groupId: "group-a",
      groupState: "Stable",
      protocolType: "consumer",
      protocolData: "range",
      members: [
        {
          memberId: "member-1",
          clientId: "client-1",
          clientHost: "/127.0.0.1",
          memberMetadata,
          memberAssignment,
        },
      ],
    },
    // An unknown group: Kafka describes it as Dead (error 0 at these versions); some tests put an error here.
    { errorCode, groupId: "group-b", groupState: "Dead", protocolType: "", protocolData: "", members: [] },
  ],
});

describe("DescribeGroups codec", () => {
  test("advertises 0-2", () => {
    assert.equal(codec.key, ApiKey.DescribeGroups);
    assert.deepStrictEqual(versions(codec), [0, 1, 2]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, { groups: ["group-a", "group-b"] });
      requestRoundTrip(codec, v, { groups: [] });
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS));
    });
  }
});

describe("DescribeGroups and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(decodeRequestFixture(codec, v, "kafkajs", `describe_groups_v${v}`), {
        groups: ["group-a", "group-b"],
      });
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "describeGroups",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      );
      assert.deepStrictEqual(decoded, {
        ...(v === 1 ? { throttleTime: 6 } : v >= 2 ? { throttleTime: 0, clientSideThrottleTime: 6 } : {}),
        groups: [
          {
            errorCode: 0,
            groupId: "group-a",
            state: "Stable",
            protocolType: "consumer",
            protocol: "range",
            members: [
              {
                memberId: "member-1",
                clientId: "client-1",
                clientHost: "/127.0.0.1",
                memberMetadata,
                memberAssignment,
              },
            ],
          },
          { errorCode: 0, groupId: "group-b", state: "Dead", protocolType: "", protocol: "", members: [] },
        ],
      });
    });

    test(`v${v} kafkajs sees a group error`, async () => {
      const m = kafkajsResponse("describeGroups", v);
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, ErrorCode.NOT_COORDINATOR)));
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "NOT_COORDINATOR_FOR_GROUP" });
    });
  }
});
