// A secured cluster keeps its SCRAM users and ACLs in ZooKeeper, as Kafka's ZooKeeper mode does:
// three real brokers over a real ZooKeeper, a PLAINTEXT inter-broker listener (User:ANONYMOUS,
// a super user) and a SASL_PLAINTEXT client listener, the ACL authorizer on.
//   - a user made with `milena users --zookeeper` before any broker starts authenticates at all;
//   - a user added through broker 1's AlterUserScramCredentials authenticates at broker 3 within
//     seconds, and once deleted through broker 2, broker 1 refuses it;
//   - an ACL created through broker 2 (alice may WRITE topic A) is enforced by brokers 1 and 3
//     (the leaders of A's partitions): alice writes A, is refused B (TOPIC_AUTHORIZATION_FAILED);
//   - a restarted broker has the users and ACLs (read from ZooKeeper);
//   - the znodes are Kafka's layout and JSON;
//   - a broker whose super.users forgets User:ANONYMOUS says so at start, and logs each refused
//     inter-broker request.

import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { ZkSession } from "../../src/cluster/zookeeper.ts";
import {
  alterUserScramCredentialsCodec,
  createAclsCodec,
  describeUserScramCredentialsCodec,
} from "../../src/protocol/security.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { RawClient } from "./raw_client.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SECURED = {
  listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
  "inter.broker.listener.name": "PLAINTEXT",
  "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
  "super.users": "User:admin;User:ANONYMOUS",
  "connection.failed.authentication.delay.ms": 10,
  "offsets.topic.replication.factor": 1,
};

// Codes of the ACL model (Kafka's).
const TOPIC = 2;
const LITERAL = 3;
const PREFIXED = 4;
const READ = 3;
const WRITE = 4;
const ALLOW = 3;
const SCRAM_SHA_512 = 2;

describe("a secured cluster: users and ACLs in ZooKeeper", () => {
  let cluster: TestCluster;
  let zk: ZkSession;

  const milenaUsers = async (...args: string[]) => {
    const r = await run(
      process.execPath,
      ["--import", "tsx", join(ROOT, "src/cli/main.ts"), "users", ...args],
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return r.stdout;
  };

  /** A kafkajs client of one broker's SASL listener, as `user`. */
  const kafkaAt = (id: number, user: string, password = `${user}-secret`) =>
    new Kafka({
      clientId: "cluster-security",
      brokers: [`127.0.0.1:${cluster.broker(id).ports.SASL_PLAINTEXT}`],
      sasl: { mechanism: "scram-sha-512", username: user, password },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
      connectionTimeout: 3000,
    });

  /** Whether `user` authenticates at broker `id` (an admin connection and one request). */
  const authenticates = async (id: number, user: string): Promise<boolean> => {
    const admin = kafkaAt(id, user).admin();
    try {
      await admin.connect();
      await admin.describeCluster();
      return true;
    } catch (e) {
      if (/SASL|authentication/i.test(`${(e as Error).name} ${(e as Error).message}`)) return false;
      throw e;
    } finally {
      await admin.disconnect().catch(() => {});
    }
  };

  /** A raw client of broker `id`'s PLAINTEXT (inter-broker) listener: User:ANONYMOUS, a super user. */
  const plain = (id: number) => RawClient.tcp(cluster.broker(id).bootstrap);

  const addUser = async (id: number, user: string) => {
    const c = await plain(id);
    try {
      const salt = randomBytes(24);
      const saltedPassword = pbkdf2Sync(`${user}-secret`, salt, 4096, 64, "sha512");
      const r = await c.request(alterUserScramCredentialsCodec, 0, {
        deletions: [],
        upsertions: [{ name: user, mechanism: SCRAM_SHA_512, iterations: 4096, salt, saltedPassword }],
      });
      assert.deepEqual(r.results, [{ user, errorCode: 0, errorMessage: null }]);
    } finally {
      c.close();
    }
  };

  before(async () => {
    cluster = await TestCluster.start({
      brokers: 3,
      overrides: SECURED,
      beforeBrokers: async (connect) => {
        for (const user of ["admin", "alice"])
          await milenaUsers("add", user, "--password", `${user}-secret`, "--zookeeper", connect);
        assert.match(
          await milenaUsers("list", "--zookeeper", connect),
          /^admin\tSCRAM-SHA-256 \(4096 iterations\), SCRAM-SHA-512/m,
        );
      },
    });
    zk = await ZkSession.connect(cluster.connect, { sessionTimeoutMs: 10_000, connectionTimeoutMs: 10_000 });
    const admin = kafkaAt(1, "admin").admin();
    await admin.connect();
    try {
      // A's and B's partition 0 on broker 1, partition 1 on broker 3: each broker is asked.
      for (const topic of ["A", "B"])
        await admin.createTopics({
          topics: [
            {
              topic,
              replicaAssignment: [
                { partition: 0, replicas: [1] },
                { partition: 1, replicas: [3] },
              ],
            },
          ],
          waitForLeaders: true,
        });
    } finally {
      await admin.disconnect();
    }
  });

  after(async () => {
    zk?.close();
    await cluster?.destroy();
  });

  it("a user made with `milena users --zookeeper` before the start authenticates at every broker", async () => {
    for (const id of [1, 2, 3]) assert.ok(await authenticates(id, "admin"), `admin at broker ${id}`);
    assert.equal(await authenticates(2, "nobody"), false);
  });

  it("a user added through broker 1 authenticates at broker 3; deleted through broker 2, broker 1 refuses it", async () => {
    assert.equal(await authenticates(3, "carol"), false);
    await addUser(1, "carol");
    await addUser(1, "dave");
    await eventually(() => authenticates(3, "carol"), 5000, "carol at broker 3");
    const described = async () => {
      const c = await plain(2);
      try {
        const d = await c.request(describeUserScramCredentialsCodec, 0, { users: null });
        return d.results.map((x) => x.user).sort();
      } finally {
        c.close();
      }
    };
    await eventually(async () => (await described()).includes("dave"), 5000, "dave described by broker 2");
    assert.deepEqual(await described(), ["admin", "alice", "carol", "dave"]);
    assert.ok(await authenticates(1, "dave"));
    const c = await plain(2);
    try {
      const r = await c.request(alterUserScramCredentialsCodec, 0, {
        deletions: [{ name: "dave", mechanism: SCRAM_SHA_512 }],
        upsertions: [],
      });
      assert.deepEqual(r.results, [{ user: "dave", errorCode: 0, errorMessage: null }]);
    } finally {
      c.close();
    }
    await eventually(async () => !(await authenticates(1, "dave")), 5000, "broker 1 to refuse dave");
  });

  it("an ACL created through broker 2 is enforced at brokers 1 and 3", async () => {
    const c = await plain(2);
    try {
      const r = await c.request(createAclsCodec, 1, {
        creations: [
          {
            resourceType: TOPIC,
            resourceName: "A",
            resourcePatternType: LITERAL,
            principal: "User:alice",
            host: "*",
            operation: WRITE,
            permissionType: ALLOW,
          },
          {
            resourceType: TOPIC,
            resourceName: "logs-",
            resourcePatternType: PREFIXED,
            principal: "User:alice",
            host: "*",
            operation: READ,
            permissionType: ALLOW,
          },
        ],
      });
      assert.deepEqual(
        r.results.map((x) => x.errorCode),
        [0, 0],
      );
    } finally {
      c.close();
    }
    const producer = kafkaAt(1, "alice").producer();
    await producer.connect();
    try {
      // Partition 0 is led by broker 1, partition 1 by broker 3.
      for (const partition of [0, 1])
        await eventually(
          () =>
            producer.send({ topic: "A", messages: [{ partition, value: "from alice" }] }).then(() => true),
          5000,
          `alice writing A-${partition}`,
        );
      for (const partition of [0, 1])
        await assert.rejects(
          producer.send({ topic: "B", messages: [{ partition, value: "refused" }] }),
          (e: Error & { type?: string }) =>
            e.type === "TOPIC_AUTHORIZATION_FAILED" || /TOPIC_AUTHORIZATION_FAILED|authoriz/i.test(e.message),
        );
    } finally {
      await producer.disconnect();
    }
  });

  it("keeps Kafka's znode layout", async () => {
    const json = async (path: string) => {
      const got = await zk.get(path);
      assert.ok(got !== null, `${path} exists`);
      return JSON.parse(got.data.toString("utf8"));
    };
    const carol = await json("/config/users/carol");
    assert.deepEqual(Object.keys(carol).sort(), ["config", "version"]);
    assert.equal(carol.version, 1);
    assert.deepEqual(Object.keys(carol.config), ["SCRAM-SHA-512"]);
    assert.match(
      carol.config["SCRAM-SHA-512"],
      /^salt=[A-Za-z0-9+/]+=*,stored_key=[A-Za-z0-9+/]+=*,server_key=[A-Za-z0-9+/]+=*,iterations=4096$/,
    );
    const admin = await json("/config/users/admin");
    assert.deepEqual(Object.keys(admin.config).sort(), ["SCRAM-SHA-256", "SCRAM-SHA-512"]);
    // dave's last credential went: Kafka 3.x deletes the emptied user znode.
    assert.equal(await zk.get("/config/users/dave"), null);
    const changes = (await zk.children("/config/changes")).filter((n) => /^config_change_\d{10}$/.test(n));
    const entities = await Promise.all(changes.map(async (n) => await json(`/config/changes/${n}`)));
    for (const user of ["admin", "alice", "carol", "dave"])
      assert.ok(
        entities.some((e) => e.version === 2 && e.entity_path === `users/${user}`),
        `a change of users/${user}`,
      );
    assert.deepEqual(await json("/kafka-acl/Topic/A"), {
      version: 1,
      acls: [{ principal: "User:alice", permissionType: "Allow", operation: "Write", host: "*" }],
    });
    assert.deepEqual(await json("/kafka-acl-extended/prefixed/Topic/logs-"), {
      version: 1,
      acls: [{ principal: "User:alice", permissionType: "Allow", operation: "Read", host: "*" }],
    });
    const literal = await Promise.all(
      (await zk.children("/kafka-acl-changes")).map(async (n) => {
        assert.match(n, /^acl_changes_\d{10}$/);
        return (await zk.get(`/kafka-acl-changes/${n}`))!.data.toString();
      }),
    );
    assert.deepEqual(literal, ["TOPIC:A"]);
    const extended = await Promise.all(
      (await zk.children("/kafka-acl-extended-changes")).map(
        async (n) => await json(`/kafka-acl-extended-changes/${n}`),
      ),
    );
    assert.deepEqual(extended, [
      { version: 1, resourceType: "TOPIC", name: "logs-", patternType: "PREFIXED" },
    ]);
  });

  it("a restarted broker has the users and ACLs from ZooKeeper", async () => {
    await cluster.restart(3);
    await cluster.settled();
    assert.ok(await authenticates(3, "admin"));
    assert.ok(await authenticates(3, "carol"));
    assert.equal(await authenticates(3, "dave"), false);
    const producer = kafkaAt(3, "alice").producer();
    await producer.connect();
    try {
      await eventually(
        () =>
          producer
            .send({ topic: "A", messages: [{ partition: 1, value: "after restart" }] })
            .then(() => true),
        10_000,
        "alice writing A-1 at the restarted broker 3",
      );
      await assert.rejects(producer.send({ topic: "B", messages: [{ partition: 1, value: "refused" }] }));
    } finally {
      await producer.disconnect();
    }
  });

  it("a broker whose super.users forgets User:ANONYMOUS says so, and logs the refused inter-broker requests", async () => {
    const b = await BrokerProcess.start({
      overrides: { ...cluster.brokers[0].overrides, "broker.id": 4, "super.users": "User:admin" },
    });
    try {
      assert.match(
        b.output,
        /warning: the inter-broker listener PLAINTEXT is PLAINTEXT, so brokers reach each other as User:ANONYMOUS/,
      );
      // The controller tells the new broker of the cluster: refused, and said.
      await eventually(
        () =>
          /UpdateMetadata from User:ANONYMOUS at 127\.0\.0\.1 refused: CLUSTER_ACTION on the cluster is not allowed/.test(
            b.output,
          ),
        10_000,
        "the refusal in broker 4's log",
      );
    } finally {
      await b.destroy();
    }
  });
});
