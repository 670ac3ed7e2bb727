// The mirror's configuration (src/mirror/config.ts): MirrorMaker 2's keys, flow overrides over
// top-level defaults, per-cluster security, and every mistake an error naming its line.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MirrorConfigError, parseMirrorConfig } from "../../src/mirror/config.ts";

const BASE = `clusters = A, B
A.bootstrap.servers = 127.0.0.1:9092
B.bootstrap.servers = 127.0.0.1:9093, ws://127.0.0.1:9094
`;

test("flows, defaults and per-flow overrides", () => {
  const c = parseMirrorConfig(
    `${BASE}A->B.enabled = true
B->A.enabled: true
topics = orders.*, payments
A->B.topics.exclude = .*\\.tmp
offset.lag.max = 50
B->A.offset.lag.max = 7
emit.checkpoints.interval.seconds = 0.5
replication.policy.separator = _
`,
    "f",
  );
  assert.equal(c.policy, "default");
  assert.equal(c.separator, "_");
  assert.deepEqual([...c.clusters.keys()].sort(), ["A", "B"]);
  assert.deepEqual(c.clusters.get("B")!.bootstrap, ["127.0.0.1:9093", "ws://127.0.0.1:9094"]);
  assert.deepEqual(c.clusters.get("A")!.security, {});
  const ab = c.flows.find((f) => f.source === "A")!;
  const ba = c.flows.find((f) => f.source === "B")!;
  assert.equal(c.flows.length, 2);
  assert.equal(ab.target, "B");
  assert.equal(ab.offsetLagMax, 50);
  assert.equal(ba.offsetLagMax, 7);
  assert.equal(ab.emitCheckpointsIntervalMs, 500);
  assert.equal(ab.emitHeartbeatsIntervalMs, 1000); // MM2's default
  assert.equal(ab.syncGroupOffsets, false);
  assert.equal(ab.refreshTopicsIntervalMs, 600_000);
  // topics: whole-name matches
  assert.ok(ab.topics.some((r) => r.test("orders-eu")));
  assert.ok(!ab.topics.some((r) => r.test("xorders")));
  assert.ok(ab.topics.some((r) => r.test("payments")));
  assert.ok(!ab.topics.some((r) => r.test("payments2")));
  assert.ok(ab.topicsExclude.some((r) => r.test("orders.tmp")));
  // B->A keeps the default exclude list, not A->B's
  assert.ok(!ba.topicsExclude.some((r) => r.test("orders.tmp")));
  assert.ok(ba.topicsExclude.some((r) => r.test("__consumer_offsets")));
  assert.ok(ab.configPropertiesExclude.some((r) => r.test("min.insync.replicas")));
  assert.ok(ab.groupsExclude.some((r) => r.test("console-consumer-123")));
});

test("a flow not enabled is not run; Kafka's policy class names are accepted", () => {
  const c = parseMirrorConfig(
    `${BASE}A->B.enabled = true\nB->A.enabled = false\nreplication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy\n`,
    "f",
  );
  assert.equal(c.flows.length, 1);
  assert.equal(c.policy, "identity");
  assert.equal(c.flows[0].exactlyOnce, false);
  const eos = parseMirrorConfig(
    `${BASE}A->B.enabled = true\nA->B.exactly.once.source.support = enabled\n`,
    "f",
  );
  assert.equal(eos.flows[0].exactlyOnce, true);
  assert.equal(eos.metricsListener, null);
  const ml = parseMirrorConfig(`${BASE}A->B.enabled = true\nmetrics.listener = 127.0.0.1:9645\n`, "f");
  assert.deepEqual(ml.metricsListener, { host: "127.0.0.1", port: 9645 });
});

test("per-cluster security, with Kafka's sasl.jaas.config", () => {
  const c = parseMirrorConfig(
    `${BASE}A->B.enabled = true
A.security.protocol = SASL_PLAINTEXT
A.sasl.mechanism = SCRAM-SHA-512
A.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="a=b";
`,
    "f",
  );
  assert.deepEqual(c.clusters.get("A")!.security, {
    sasl: { mechanism: "scram-sha-512", username: "alice", password: "a=b" },
  });
  assert.deepEqual(c.clusters.get("B")!.security, {});
});

test("mistakes stop startup with the line named", () => {
  const cases: [string, RegExp][] = [
    [
      `${BASE}A->B.enabled = true\nA->B.topicz = x\n`,
      /f line 5: A->B\.topicz: unknown flow setting "topicz"/,
    ],
    [`${BASE}A->B.enabled = true\ntasks.max = 4\n`, /f line 5: tasks\.max: unknown key/],
    [`${BASE}A->C.enabled = true\n`, /f line 4: A->C\.enabled: "C" is not in clusters/],
    [`${BASE}A->B.enabled = yes\n`, /f line 4: A->B\.enabled: "yes" is not true or false/],
    [
      `${BASE}A->B.enabled = true\noffset.lag.max = ten\n`,
      /f line 5: offset\.lag\.max: "ten" is not an integer/,
    ],
    [
      `${BASE}A->B.enabled = true\nA->B.offset.lag.max = 0\n`,
      /f line 5: A->B\.offset\.lag\.max: must be at least 1/,
    ],
    [`${BASE}A->B.enabled = true\ntopics = (unclosed\n`, /f line 5: topics: bad regular expression/],
    [
      `${BASE}A->B.enabled = true\nA.bootstrap.servers = x\n`,
      /f line 5: A\.bootstrap\.servers given twice \(first on line 2\)/,
    ],
    [`${BASE}A->B.enabled = true\njust words\n`, /f line 5: expected key=value/],
    [`${BASE}A->B.enabled = true\nA.color = red\n`, /f line 5: A\.color: unknown cluster setting/],
    [
      `${BASE}A->B.enabled = true\nexactly.once.source.support = preparing\n`,
      /f line 5: exactly\.once\.source\.support: "preparing" is not enabled or disabled/,
    ],
    [
      `${BASE}A->B.enabled = true\nA.sasl.mechanism = PLAIN\n`,
      /f line 5: A\.sasl\.mechanism: set, but security\.protocol PLAINTEXT does not use SASL/,
    ],
    [
      `${BASE}A->B.enabled = true\nA.security.protocol = SASL_SSL\nA.sasl.mechanism = PLAIN\nA.sasl.jaas.config = x required;\n`,
      /f line 7: A\.sasl\.jaas\.config: needs username/,
    ],
    [
      `${BASE}A->B.enabled = true\nB->A.enabled = true\nreplication.policy.class = IdentityReplicationPolicy\n`,
      /f line 6: replication\.policy\.class: .*would loop/,
    ],
    [
      `${BASE}A->B.enabled = true\nreplication.policy.class = Fancy\n`,
      /f line 5: replication\.policy\.class: "Fancy"/,
    ],
    [
      `${BASE}A->B.enabled = true\nmetrics.listener = 9645\n`,
      /f line 5: metrics\.listener: "9645" is not host:port/,
    ],
    [
      `${BASE}A->B.enabled = true\nA.bootstrap.servers = nope\n`.replace(
        "A.bootstrap.servers = 127.0.0.1:9092\n",
        "",
      ),
      /A\.bootstrap\.servers: "nope" is not host:port/,
    ],
    [`clusters = A, B\nA->B.enabled = true\n`, /A\.bootstrap\.servers: required/],
    [`${BASE}`, /no flow is enabled/],
    [`A.bootstrap.servers = x:1\n`, /clusters: required/],
    [`clusters = A, A\n`, /f line 1: clusters: names a cluster twice/],
  ];
  for (const [text, pattern] of cases)
    assert.throws(
      () => parseMirrorConfig(text, "f"),
      (e: unknown) => e instanceof MirrorConfigError && pattern.test(e.message),
      `${JSON.stringify(text)} should fail with ${pattern}`,
    );
});
