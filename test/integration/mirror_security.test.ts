// `milena mirror`'s per-cluster security and its configuration errors, real processes: a
// SASL/SCRAM target reached with <alias>.security.protocol, .sasl.mechanism and Kafka's
// sasl.jaas.config line (a wrong password logged and retried, no exit); a bad configuration line
// stops startup naming it, a missing file argument is a usage error.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Milena } from "../../src/index.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { eventually } from "../helpers/cluster.ts";
import { MirrorProcess } from "../helpers/mirror_process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

describe("milena mirror: security and configuration", { timeout: 120_000 }, () => {
  let a: BrokerProcess;
  const mirrors: MirrorProcess[] = [];

  before(async () => {
    a = await BrokerProcess.start({ overrides: { "group.initial.rebalance.delay.ms": 0 } });
  });

  after(async () => {
    for (const m of mirrors) await m.destroy();
    await a?.destroy();
  });

  it("reaches a SASL/SCRAM target with the cluster's security settings (and is refused without them)", async () => {
    const logDir = fs.mkdtempSync(join(tmpdir(), "milena-mirror-sasl-"));
    const add = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        join(ROOT, "src/cli/main.ts"),
        "users",
        "add",
        "mirror",
        "--password",
        "mirror-secret",
        "--mechanism",
        "SCRAM-SHA-256",
        "--file",
        join(logDir, "sasl-credentials.json"),
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(add.code, 0, add.stderr);
    const secure = await BrokerProcess.start({
      logDir,
      overrides: {
        listeners: "SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256",
        "group.initial.rebalance.delay.ms": 0,
        "connection.failed.authentication.delay.ms": 50,
      },
    });
    try {
      const m = new Milena({ bootstrap: a.bootstrap });
      const admin = m.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: "secured", numPartitions: 1 }] });
      await admin.disconnect();
      const p = m.producer();
      await p.connect();
      await p.send({ topic: "secured", messages: [{ value: "over sasl" }] });
      await p.disconnect();
      const target = `127.0.0.1:${secure.ports.SASL_PLAINTEXT}`;
      const base = `clusters = A, B
A.bootstrap.servers = ${a.bootstrap}
B.bootstrap.servers = ${target}
A->B.enabled = true
A->B.topics = secured
refresh.topics.interval.seconds = 1
progress.log.interval.seconds = 1
B.security.protocol = SASL_PLAINTEXT
B.sasl.mechanism = SCRAM-SHA-256
`;
      // A wrong password: logged and retried, nothing copied, no exit.
      const wrong = await MirrorProcess.start(
        `${base}B.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="mirror" password="nope";\n`,
      );
      mirrors.push(wrong);
      await eventually(() => /SaslAuthenticationError/.test(wrong.output), 30_000, "the refusal logged");
      assert.ok(wrong.alive);
      await wrong.stop();
      const right = await MirrorProcess.start(
        `${base}B.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required username="mirror" password="mirror-secret";\n`,
      );
      mirrors.push(right);
      const reader = new Milena({
        bootstrap: target,
        sasl: { mechanism: "scram-sha-256", username: "mirror", password: "mirror-secret" },
      });
      const got = await eventually(
        async () => {
          const ad = reader.admin();
          await ad.connect();
          try {
            if (!(await ad.listTopics()).includes("A.secured")) return undefined;
            return (await ad.fetchTopicOffsets("A.secured"))[0].high === 1;
          } finally {
            await ad.disconnect();
          }
        },
        30_000,
        "the record on the SASL target",
      );
      assert.equal(got, true);
      assert.equal(await right.stop(), 0);
    } finally {
      await secure.destroy();
    }
  });

  it("a bad configuration line stops startup, naming the line", async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), "milena-mirror-bad-"));
    const file = join(dir, "bad.properties");
    fs.writeFileSync(file, "clusters = A, B\nA.bootstrap.servers = 127.0.0.1:1\nA->B.enabeld = true\n");
    const r = await run(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "mirror", file],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /configuration error: .*bad\.properties line 3: A->B\.enabeld: unknown flow setting "enabeld"/,
    );
    const usage = await run(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "mirror"], {
      timeoutMs: 30_000,
    });
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: milena mirror CONFIG-FILE/);
    fs.rmSync(dir, { recursive: true });
  });
});
