import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import { GROUP_CODECS } from "../../src/protocol/group_registry.ts";
import { isFlexibleVersion } from "../../src/protocol/header.ts";
import { apiVersionsKeys, CODECS, codecFor } from "../../src/protocol/registry.ts";
import { inRange } from "../../src/protocol/schema.ts";
import {
  consumedAndHeartbeated,
  GROUP_MEMBER_ID,
  GROUP_RECORD,
  KCAT,
  runKcat,
} from "../fixtures/protocol/capture_kcat.ts";

/**
 * First flexible version of each group API ("flexibleVersions" of Kafka's message JSON);
 * Infinity: never flexible (OffsetDelete).
 */
const FIRST_FLEXIBLE: [number, number][] = [
  [ApiKey.OffsetCommit, 8],
  [ApiKey.OffsetFetch, 6],
  [ApiKey.JoinGroup, 6],
  [ApiKey.Heartbeat, 4],
  [ApiKey.LeaveGroup, 4],
  [ApiKey.SyncGroup, 4],
  [ApiKey.DescribeGroups, 5],
  [ApiKey.ListGroups, 3],
  [ApiKey.DeleteGroups, 2],
  [ApiKey.OffsetDelete, Number.POSITIVE_INFINITY],
];

describe("GROUP_CODECS", () => {
  test("ranges (kafka-protocol.md §2)", () => {
    assert.deepStrictEqual(apiVersionsKeys(GROUP_CODECS), [
      { apiKey: ApiKey.OffsetCommit, minVersion: 0, maxVersion: 9 },
      { apiKey: ApiKey.OffsetFetch, minVersion: 0, maxVersion: 9 },
      { apiKey: ApiKey.JoinGroup, minVersion: 0, maxVersion: 9 },
      { apiKey: ApiKey.Heartbeat, minVersion: 0, maxVersion: 4 },
      { apiKey: ApiKey.LeaveGroup, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.SyncGroup, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.DescribeGroups, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.ListGroups, minVersion: 0, maxVersion: 5 },
      { apiKey: ApiKey.DeleteGroups, minVersion: 0, maxVersion: 2 },
      { apiKey: ApiKey.OffsetDelete, minVersion: 0, maxVersion: 0 },
    ]);
  });

  test("served: every one is in CODECS, and the keys do not collide", () => {
    for (const c of GROUP_CODECS) assert.equal(codecFor(c.key), c, c.name);
    const keys = CODECS.map((c) => c.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(new Set(GROUP_CODECS.map((c) => c.name)).size, GROUP_CODECS.length);
  });

  test("each serves the flexible versions from the first one on, as header.ts and the spec say", () => {
    for (const c of GROUP_CODECS) {
      const first = FIRST_FLEXIBLE.find(([key]) => key === c.key)![1];
      if (Number.isFinite(first)) assert.ok(first <= c.maxVersion, `${c.name} serves a flexible version`);
      for (const message of [MESSAGES[`${c.name}Request`], MESSAGES[`${c.name}Response`]])
        for (let v = c.minVersion; v <= c.maxVersion; v++) {
          assert.equal(isFlexibleVersion(c.key, v), v >= first, `${c.name} v${v} (header.ts)`);
          assert.equal(inRange(message.flexible, v), v >= first, `${message.name} v${v} (spec)`);
        }
    }
  });

  for (const [key, first] of FIRST_FLEXIBLE.filter(([, f]) => Number.isFinite(f))) {
    const name = GROUP_CODECS.find((c) => c.key === key)?.name;
    test(`header.ts knows ${name} is flexible from v${first}`, {}, () => {
      assert.equal(isFlexibleVersion(key, first - 1), false);
      assert.equal(isFlexibleVersion(key, first), true);
    });
  }
});

describe("group APIs and librdkafka 2.0.2 (kcat -G)", () => {
  test("kcat joins, syncs, consumes, commits, heartbeats and leaves with our responses", {
    skip: !existsSync(KCAT),
    timeout: 30_000,
  }, async () => {
    const run = await runKcat(["-u", "-G", "group-kcat", "topic-a"], true, {
      groups: true,
      stopWhen: consumedAndHeartbeated,
      timeoutMs: 20_000,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `${GROUP_RECORD.value}\n`);
    assert.match(
      run.stderr,
      new RegExp(`rebalanced \\(memberid ${GROUP_MEMBER_ID}\\): assigned: topic-a \\[0\\], topic-a \\[1\\]`),
    );
    const sent = (key: number) =>
      run.frames.filter((f) => f.readInt16BE(0) === key).map((f) => f.readInt16BE(2));
    // librdkafka 2.0.2's maxima, all below ours (the kcat fixtures of OffsetFetch v4 and
    // OffsetCommit v5 were captured when Milena served no more).
    assert.deepStrictEqual(sent(ApiKey.JoinGroup), [5]);
    assert.deepStrictEqual(sent(ApiKey.SyncGroup), [3]);
    assert.deepStrictEqual(sent(ApiKey.OffsetFetch), [7]);
    assert.ok(sent(ApiKey.Heartbeat).every((v) => v === 3));
    assert.ok(sent(ApiKey.OffsetCommit).length > 0 && sent(ApiKey.OffsetCommit).every((v) => v === 7));
    assert.deepStrictEqual(sent(ApiKey.LeaveGroup), [1]);
  });
});
