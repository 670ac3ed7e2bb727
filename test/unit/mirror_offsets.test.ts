// Offset translation (src/mirror/offsets.ts), the MM2 record layouts, and the replication
// policy's naming and loop prevention (src/mirror/policy.ts).

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseMirrorConfig } from "../../src/mirror/config.ts";
import {
  decodeCheckpoint,
  decodeHeartbeat,
  decodeOffsetSync,
  encodeCheckpoint,
  encodeHeartbeat,
  encodeOffsetSync,
  needsSync,
  OffsetSyncStore,
} from "../../src/mirror/offsets.ts";
import { ReplicationPolicy, shouldReplicateGroup } from "../../src/mirror/policy.ts";

test("translation: exact at a sync, one past it between syncs, nothing below the first", () => {
  const s = new OffsetSyncStore();
  assert.equal(s.translate("t", 0, 5), null);
  s.add({ topic: "t", partition: 0, upstreamOffset: 100, downstreamOffset: 40 });
  s.add({ topic: "t", partition: 0, upstreamOffset: 200, downstreamOffset: 140 });
  s.add({ topic: "t", partition: 0, upstreamOffset: 300, downstreamOffset: 230 }); // a gap upstream
  assert.equal(s.translate("t", 0, 99), null);
  assert.equal(s.translate("t", 0, 100), 40);
  assert.equal(s.translate("t", 0, 150), 41);
  assert.equal(s.translate("t", 0, 200), 140);
  assert.equal(s.translate("t", 0, 299), 141);
  assert.equal(s.translate("t", 0, 300), 230);
  assert.equal(s.translate("t", 0, 10_000), 231);
  assert.equal(s.translate("t", 1, 150), null);
  assert.equal(s.translate("u", 0, 150), null);
  // A sync at or below the newest means the newer ones are stale: they go.
  s.add({ topic: "t", partition: 0, upstreamOffset: 200, downstreamOffset: 500 });
  assert.equal(s.translate("t", 0, 300), 501);
  assert.equal(s.latest("t", 0)?.downstreamOffset, 500);
});

test("translation never skips a record and re-reads fewer than offset.lag.max", () => {
  // Copy 10,000 records of a gapless partition into a log that already held 37 records, with the
  // copier's rule for syncs (at each window of L upstream offsets), then translate every commit.
  const L = 100;
  const s = new OffsetSyncStore();
  let last: { upstreamOffset: number; downstreamOffset: number } | undefined;
  // Sends start at window boundaries and at fetch-batch starts (here every 37 records).
  for (let u = 0; u < 10_000; u++) {
    if (u % L !== 0 && u % 37 !== 0) continue;
    const d = u + 37;
    if (needsSync(last, u, d, L)) {
      last = { upstreamOffset: u, downstreamOffset: d };
      s.add({ topic: "t", partition: 0, ...last });
    }
  }
  for (let commit = 0; commit <= 10_000; commit++) {
    const d = s.translate("t", 0, commit);
    assert.ok(d !== null);
    const exact = commit + 37;
    assert.ok(d <= exact, `commit ${commit}: ${d} skips past ${exact}`);
    assert.ok(exact - d < L, `commit ${commit}: ${d} re-reads ${exact - d}`);
  }
});

test("needsSync: first record, a new window, offsets that stop moving together", () => {
  assert.equal(needsSync(undefined, 5, 9, 100), true);
  const last = { upstreamOffset: 120, downstreamOffset: 20 };
  assert.equal(needsSync(last, 150, 50, 100), false);
  assert.equal(needsSync(last, 199, 99, 100), false);
  assert.equal(needsSync(last, 200, 100, 100), true);
  assert.equal(needsSync(last, 150, 51, 100), true); // downstream moved further
  assert.equal(needsSync(last, 150, 40, 100), true);
});

test("records in MM2's layouts, round trip and bytes", () => {
  const os = { topic: "orders", partition: 3, upstreamOffset: 2 ** 40, downstreamOffset: 17 };
  const e = encodeOffsetSync(os);
  assert.equal(e.key.toString("hex"), `0006${Buffer.from("orders").toString("hex")}00000003`);
  assert.equal(e.value.toString("hex"), "00000100000000000000000000000011");
  assert.deepEqual(decodeOffsetSync(e.key, e.value), os);
  const cp = {
    group: "g",
    topic: "A.orders",
    partition: 1,
    upstreamOffset: 10,
    downstreamOffset: 7,
    metadata: "m",
  };
  const c = encodeCheckpoint(cp);
  assert.equal(c.value.subarray(0, 2).toString("hex"), "0000");
  assert.deepEqual(decodeCheckpoint(c.key, c.value), cp);
  const hb = encodeHeartbeat("A", "B", 1234);
  assert.deepEqual(decodeHeartbeat(hb.key, hb.value), { source: "A", target: "B", timestamp: 1234 });
  assert.throws(() => decodeOffsetSync(e.key.subarray(0, 5), e.value), RangeError);
});

test("policy: names, internal topics, loops, include / exclude, groups", () => {
  const cfg = parseMirrorConfig(
    "clusters=A,B\nA.bootstrap.servers=h:1\nB.bootstrap.servers=h:2\nA->B.enabled=true\nB->A.enabled=true\nA->B.topics=orders.*, heartbeats-x\nA->B.topics.exclude=orders-secret\ngroups.exclude=skip-.*\n",
    "f",
  );
  const ab = cfg.flows.find((f) => f.source === "A")!;
  const ba = cfg.flows.find((f) => f.source === "B")!;
  const p = new ReplicationPolicy("default", ".");
  assert.equal(p.formatRemoteTopic("A", "orders"), "A.orders");
  assert.equal(p.topicSource("B.A.orders"), "B");
  assert.equal(p.upstreamTopic("B.A.orders"), "A.orders");
  assert.equal(p.offsetSyncsTopic("B"), "mm2-offset-syncs.B.internal");
  assert.equal(p.checkpointsTopic("A"), "A.checkpoints.internal");
  assert.equal(p.shouldReplicateTopic(ab, "orders"), true);
  assert.equal(p.shouldReplicateTopic(ab, "orders-eu"), true);
  assert.equal(p.shouldReplicateTopic(ab, "orders-secret"), false); // excluded
  assert.equal(p.shouldReplicateTopic(ab, "payments"), false); // not included
  assert.equal(p.shouldReplicateTopic(ab, "__consumer_offsets"), false);
  assert.equal(p.shouldReplicateTopic(ab, "mm2-offset-syncs.B.internal"), false);
  assert.equal(p.shouldReplicateTopic(ab, "B.checkpoints.internal"), false);
  assert.equal(p.shouldReplicateTopic(ab, "heartbeats"), true); // always, as MM2
  assert.equal(p.shouldReplicateTopic(ab, "B.heartbeats"), false); // B's own, come back: a loop
  // B->A: B's copies of A's topics are A's own: never back to A (the loop both directions make).
  assert.equal(p.shouldReplicateTopic(ba, "A.orders"), false);
  assert.equal(p.shouldReplicateTopic(ba, "C.A.orders"), false);
  assert.equal(p.shouldReplicateTopic(ba, "orders"), true);
  assert.equal(p.shouldReplicateTopic(ba, "A.heartbeats"), false);
  assert.equal(p.shouldReplicateTopic(ba, "C.heartbeats"), true);
  const id = new ReplicationPolicy("identity", ".");
  assert.equal(id.formatRemoteTopic("A", "orders"), "orders");
  assert.equal(id.shouldReplicateTopic(ba, "A.orders"), true); // identity cannot tell
  assert.equal(id.formatRemoteTopic("A", "heartbeats"), "A.heartbeats"); // not the target's own
  assert.equal(id.formatRemoteTopic("A", "C.heartbeats"), "A.C.heartbeats");
  assert.equal(id.shouldReplicateTopic(ba, "A.heartbeats"), false);
  assert.equal(id.shouldReplicateTopic(ba, "heartbeats"), true);
  assert.equal(id.topicSource("orders.eu"), null);
  assert.equal(shouldReplicateGroup(ab, "billing"), true);
  assert.equal(shouldReplicateGroup(ab, "skip-me"), false);
  assert.equal(shouldReplicateGroup(ab, "milena-mirror-A-B"), false);
});
