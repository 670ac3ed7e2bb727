// `milena acls add|remove|list` against a real broker with the authorizer on: the ACLs it adds
// are what kafkajs (as alice, over SASL) is then allowed and refused, the listing is
// kafka-acls.sh's layout, a removal takes effect, and wrong usage or a broker without an
// authorizer is a clear error with Kafka's exit codes.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { addUser, BrokerProcess, run } from "../helpers/broker_process.ts";

const BIN = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));
const milena = (args: string[]) => run(process.execPath, [BIN, ...args], { timeoutMs: 60_000 });

describe("milena acls", () => {
  let broker: BrokerProcess;
  let dir: string;
  let admin: string[];

  const alice = () =>
    new Kafka({
      clientId: "cli-acls-alice",
      brokers: [`127.0.0.1:${broker.ports.SASL_PLAINTEXT}`],
      sasl: { mechanism: "scram-sha-512", username: "alice", password: "alice-secret" },
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100 },
    });

  const produceAsAlice = async (topic: string): Promise<string> => {
    const producer = alice().producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ value: "v" }] });
      return "ok";
    } catch (e) {
      // kafkajs: TOPIC_AUTHORIZATION_FAILED from Produce, or from Metadata before it.
      const err = e as { type?: string; message: string };
      return /TOPIC_AUTHORIZATION_FAILED|Topic authorization failed/.test(`${err.type} ${err.message}`)
        ? "TOPIC_AUTHORIZATION_FAILED"
        : `${err.type}: ${err.message}`;
    } finally {
      await producer.disconnect();
    }
  };

  before(async () => {
    dir = fs.mkdtempSync(join(fs.realpathSync("/tmp"), "milena-cli-acls-"));
    await addUser("alice", "alice-secret", ["--file", join(dir, "sasl-credentials.json")]);
    broker = await BrokerProcess.start({
      logDir: dir,
      overrides: {
        // The PLAINTEXT listener is the operator's (its principal User:ANONYMOUS is a super user).
        listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:ANONYMOUS",
        "auto.create.topics.enable": false,
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
      },
    });
    admin = ["--bootstrap", `127.0.0.1:${broker.ports.PLAINTEXT}`];
    const t = await milena(["topics", "create", "A", ...admin]);
    assert.equal(t.code, 0, t.stderr);
    const u = await milena(["topics", "create", "B", ...admin]);
    assert.equal(u.code, 0, u.stderr);
  });
  after(async () => broker?.destroy());

  it("add, list, enforce, remove", async () => {
    let r = await milena(["acls", "list", ...admin]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "");
    assert.equal(await produceAsAlice("A"), "TOPIC_AUTHORIZATION_FAILED");

    r = await milena([
      "acls",
      "add",
      "--allow-principal",
      "User:alice",
      "--producer",
      "--topic",
      "A",
      ...admin,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Adding ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=A, patternType=LITERAL\)`:/,
    );
    for (const op of ["CREATE", "DESCRIBE", "WRITE"])
      assert.match(
        r.stdout,
        new RegExp(`principal=User:alice, host=\\*, operation=${op}, permissionType=ALLOW`),
      );

    r = await milena([
      "acls",
      "add",
      "--deny-principal",
      "User:alice",
      "--operation",
      "write",
      "--topic",
      "B",
      "--resource-pattern-type",
      "prefixed",
      ...admin,
    ]);
    assert.equal(r.code, 0, r.stderr);

    r = await milena(["acls", "list", ...admin]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /name=A, patternType=LITERAL/);
    assert.match(
      r.stdout,
      /name=B, patternType=PREFIXED\)`:\n\t\(principal=User:alice, host=\*, operation=WRITE, permissionType=DENY\)/,
    );
    assert.equal((r.stdout.match(/^\t\(/gm) ?? []).length, 4);

    // Listing one resource with MATCH finds the prefixed ACL that applies to it.
    r = await milena(["acls", "list", "--topic", "B", "--resource-pattern-type", "match", ...admin]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /name=A,/);
    assert.match(r.stdout, /DENY/);

    assert.equal(await produceAsAlice("A"), "ok");
    assert.equal(await produceAsAlice("B"), "TOPIC_AUTHORIZATION_FAILED");

    r = await milena([
      "acls",
      "remove",
      "--allow-principal",
      "User:alice",
      "--operation",
      "Write",
      "--topic",
      "A",
      ...admin,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Removed ACLs for resource .*name=A.*\n\t\(principal=User:alice, host=\*, operation=WRITE/,
    );
    assert.equal(await produceAsAlice("A"), "TOPIC_AUTHORIZATION_FAILED");

    r = await milena(["acls", "remove", "--topic", "A", ...admin]);
    assert.equal(r.code, 0, r.stderr);
    r = await milena(["acls", "remove", "--topic", "A", ...admin]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /No ACLs matched/);
    r = await milena(["acls", "list", "--topic", "A", ...admin]);
    assert.equal(r.stdout.trim(), "");
  });

  it("over SASL with --command-config: alice may not list ACLs (the cluster's DESCRIBE), exit 1", async () => {
    const props = join(dir, "alice.properties");
    fs.writeFileSync(
      props,
      "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.username=alice\nsasl.password=alice-secret\n",
    );
    const r = await milena([
      "acls",
      "list",
      "--bootstrap",
      `127.0.0.1:${broker.ports.SASL_PLAINTEXT}`,
      "--command-config",
      props,
    ]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /CLUSTER_AUTHORIZATION_FAILED/);
  });

  it("wrong usage exits 2 naming the mistake", async () => {
    const cases: [string[], RegExp][] = [
      [["acls", "add", "--topic", "A"], /needs --allow-principal or --deny-principal/],
      [["acls", "add", "--allow-principal", "alice", "--topic", "A"], /expected Type:name/],
      [
        ["acls", "add", "--allow-principal", "User:a", "--operation", "Fly", "--topic", "A"],
        /--operation Fly/,
      ],
      [
        ["acls", "add", "--allow-principal", "User:a", "--operation", "Read", "--cluster"],
        /does not apply to a CLUSTER/,
      ],
      [
        ["acls", "add", "--allow-principal", "User:a", "--consumer", "--topic", "A"],
        /--consumer needs --group/,
      ],
      [
        ["acls", "add", "--allow-principal", "User:a", "--topic", "A", "--resource-pattern-type", "any"],
        /one of literal, prefixed/,
      ],
      [["acls", "grant"], /unknown acls action/],
    ];
    for (const [args, message] of cases) {
      const r = await milena([...args, ...admin]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  it("a broker without an authorizer: SECURITY_DISABLED, exit 1", async () => {
    const plain = await BrokerProcess.start();
    try {
      const r = await milena(["acls", "list", "--bootstrap", plain.bootstrap]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /SECURITY_DISABLED: No Authorizer is configured/);
    } finally {
      await plain.destroy();
    }
  });
});
