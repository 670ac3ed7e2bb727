// Kafka's ACLs with kafkajs and kcat over SASL: a super user creates topics and ACLs
// (CreateAcls, DescribeAcls); alice may write and read topic A but not B, and read only as group
// G; an unlisted user gets nothing; Metadata hides what a principal may not describe; the ACL
// APIs need the cluster's ALTER / DESCRIBE; the ACLs survive a restart (acls.json).

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { addUser, BrokerProcess, run } from "../helpers/broker_process.ts";

const { AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } = kafkajs;
const KCAT = "/usr/bin/kcat";

describe("ACLs (kafkajs, kcat, SASL)", () => {
  let broker: BrokerProcess;
  let dir: string;

  const kafkaAs = (username: string) =>
    new Kafka({
      clientId: `acl-${username}`,
      brokers: [`127.0.0.1:${broker.ports.SASL_PLAINTEXT}`],
      sasl: { mechanism: "scram-sha-256", username, password: `${username}-secret` },
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100 },
    });

  const kcatAs = (username: string, args: string[], input?: string) =>
    run(
      KCAT,
      [
        "-b",
        `127.0.0.1:${broker.ports.SASL_PLAINTEXT}`,
        "-X",
        "security.protocol=sasl_plaintext",
        "-X",
        "sasl.mechanisms=SCRAM-SHA-256",
        "-X",
        `sasl.username=${username}`,
        "-X",
        `sasl.password=${username}-secret`,
        "-X",
        "message.timeout.ms=4000",
        "-m",
        "4",
        ...args,
      ],
      { input, timeoutMs: 30_000 },
    );

  const start = () =>
    BrokerProcess.start({
      logDir: dir,
      overrides: {
        listeners: "SASL_PLAINTEXT://127.0.0.1:0",
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": 0,
        "connection.failed.authentication.delay.ms": 10,
      },
    });

  before(async () => {
    dir = fs.mkdtempSync(join(fs.realpathSync("/tmp"), "milena-acls-"));
    for (const user of ["admin", "alice", "bob"]) {
      await addUser(user, `${user}-secret`, ["--file", join(dir, "sasl-credentials.json")]);
    }
    broker = await start();
    const admin = kafkaAs("admin").admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "A" }, { topic: "B" }] });
    const allow = (resourceType: number, resourceName: string, operation: number) => ({
      resourceType,
      resourceName,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: "User:alice",
      host: "*",
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({
      acl: [
        allow(AclResourceTypes.TOPIC, "A", AclOperationTypes.WRITE),
        allow(AclResourceTypes.TOPIC, "A", AclOperationTypes.READ),
        allow(AclResourceTypes.GROUP, "G", AclOperationTypes.READ),
      ],
    });
    const listed = await admin.describeAcls({
      resourceType: AclResourceTypes.ANY,
      resourcePatternType: ResourcePatternTypes.ANY,
      operation: AclOperationTypes.ANY,
      permissionType: AclPermissionTypes.ANY,
    });
    assert.equal(listed.resources.length, 2);
    await admin.disconnect();
  });

  after(async () => {
    await broker?.destroy();
  });

  it("alice writes topic A but not B; bob writes nothing", async () => {
    const ok = await kcatAs("alice", ["-P", "-t", "A"], "from-alice\n");
    assert.equal(ok.code, 0, ok.stderr);
    const no = await kcatAs("alice", ["-P", "-t", "B"], "not-allowed\n");
    assert.notEqual(no.code, 0);
    assert.match(
      no.stderr,
      /Topic authorization failed|TOPIC_AUTHORIZATION_FAILED|Broker: Topic authorization failed/i,
    );
    const producer = kafkaAs("bob").producer();
    await producer.connect();
    await assert.rejects(
      producer.send({ topic: "A", messages: [{ value: "from-bob" }] }),
      (e: Error & { type?: string }) => /TOPIC_AUTHORIZATION_FAILED|authoriz/i.test(`${e.type} ${e.message}`),
    );
    await producer.disconnect();
  });

  it("alice reads topic A as group G only", async () => {
    const consume = async (groupId: string) => {
      const consumer = kafkaAs("alice").consumer({ groupId });
      await consumer.connect();
      await consumer.subscribe({ topic: "A", fromBeginning: true });
      const got: string[] = [];
      let failure: Error | null = null;
      consumer.on(consumer.events.CRASH, (e) => {
        failure = e.payload.error;
      });
      await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
      for (const until = Date.now() + 15_000; got.length === 0 && failure === null && Date.now() < until; )
        await sleep(100);
      await consumer.disconnect().catch(() => {});
      return { got, failure: failure as Error | null };
    };
    const g = await consume("G");
    assert.deepEqual(g.got, ["from-alice"]);
    const h = await consume("H");
    assert.deepEqual(h.got, []);
    assert.match(
      `${h.failure?.message} ${(h.failure as { type?: string } | null)?.type}`,
      // Refused at FindCoordinator already (DESCRIBE on the group): kafkajs cannot find it.
      /GROUP_AUTHORIZATION_FAILED|authoriz|find group coordinator/i,
    );
  });

  it("Metadata lists only what a principal may describe; the ACL APIs need the cluster's ALTER/DESCRIBE", async () => {
    const meta = await kcatAs("alice", ["-L", "-J"]);
    const topics = (JSON.parse(meta.stdout).topics as { topic: string }[]).map((t) => t.topic).sort();
    assert.deepEqual(topics, ["A"]);
    const asBob = await kcatAs("bob", ["-L", "-J"]);
    assert.deepEqual(JSON.parse(asBob.stdout).topics, []);
    const admin = kafkaAs("alice").admin();
    await admin.connect();
    // Groups and offsets: only what alice may describe (READ on G implies DESCRIBE).
    const groups = (await admin.listGroups()).groups.map((x) => x.groupId);
    assert.deepEqual(groups, ["G"]);
    const bobAdmin = kafkaAs("bob").admin();
    await bobAdmin.connect();
    assert.deepEqual((await bobAdmin.listGroups()).groups, []);
    await assert.rejects(bobAdmin.fetchTopicOffsets("A"), (e: Error & { type?: string }) =>
      /TOPIC_AUTHORIZATION_FAILED|authoriz/i.test(`${e.type} ${e.message}`),
    );
    await bobAdmin.disconnect();
    await assert.rejects(
      admin.describeAcls({
        resourceType: AclResourceTypes.ANY,
        resourcePatternType: ResourcePatternTypes.ANY,
        operation: AclOperationTypes.ANY,
        permissionType: AclPermissionTypes.ANY,
      }),
      (e: Error & { type?: string }) =>
        /CLUSTER_AUTHORIZATION_FAILED|authoriz/i.test(`${e.type} ${e.message}`),
    );
    await admin.disconnect();
  });

  it("a transactional id needs WRITE on it: alice's transactional producer is refused", async () => {
    const producer = kafkaAs("alice").producer({
      transactionalId: "alice-txn",
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    // kafkajs looks up the transaction coordinator at its first transaction: FindCoordinator
    // already needs DESCRIBE on the id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which kafkajs
    // reports as not finding the coordinator).
    await assert.rejects(producer.transaction(), (e: Error & { type?: string }) =>
      /TRANSACTIONAL_ID_AUTHORIZATION_FAILED|authoriz|find group coordinator/i.test(`${e.type} ${e.message}`),
    );
    await producer.disconnect().catch(() => {});
  });

  it("the ACLs survive a restart (acls.json)", async () => {
    await broker.stop();
    broker = await start();
    const ok = await kcatAs("alice", ["-P", "-t", "A"], "after-restart\n");
    assert.equal(ok.code, 0, ok.stderr);
    const no = await kcatAs("alice", ["-P", "-t", "B"], "still-not\n");
    assert.notEqual(no.code, 0);
    assert.ok(fs.existsSync(join(dir, "acls.json")));
  });
});
