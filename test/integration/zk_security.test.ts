// The ZooKeeper side of a cluster's users and ACLs (src/cluster/zk_security.ts) against a real
// ZooKeeper, without brokers: two "brokers" (two sessions, each with its own authorizer and
// store) writing at once lose nothing (the conditional writes with the znode version retry), and
// each learns the other's changes through the notifications. Plus the pure pieces: the config
// change entity path of a user, and merging ACL entries; notifications older than 15 minutes are
// purged.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  ANY_ACL_FILTER,
  PatternType,
  ResourceType,
} from "../../src/broker/security/acl.ts";
import { Authorizer } from "../../src/broker/security/authorizer.ts";
import { scramCredential } from "../../src/broker/security/scram.ts";
import { CHANGE_EXPIRATION_MS, purgeObsoleteNotifications } from "../../src/cluster/change_notifications.ts";
import {
  alterUserCredentials,
  readAllUserCredentials,
  userEntityPath,
  userOfEntityPath,
  withEntries,
  ZkAcls,
  ZkSaslCredentials,
} from "../../src/cluster/zk_security.ts";
import { decodeConfigChange, encodeConfigChange } from "../../src/cluster/znodes.ts";
import { ZkSession } from "../../src/cluster/zookeeper.ts";
import { eventually } from "../helpers/cluster.ts";
import { ZooKeeperServer } from "../helpers/zookeeper.ts";

const binding = (
  resourceName: string,
  principal: string,
  operation: AclOperation = AclOperation.WRITE,
): AclBinding => ({
  resourceType: ResourceType.TOPIC,
  resourceName,
  patternType: PatternType.LITERAL,
  principal,
  host: "*",
  operation,
  permissionType: AclPermissionType.ALLOW,
});

describe("users' config change notifications and ACL entries (pure)", () => {
  it("a user's entity path is sanitized as Kafka's AdminZkClient writes it, and read back", () => {
    assert.equal(userEntityPath("alice"), "users/alice");
    assert.equal(userEntityPath("CN=a b,O=x"), "users/CN%3Da%20b%2CO%3Dx");
    assert.equal(
      encodeConfigChange(userEntityPath("alice")).toString(),
      '{"version":2,"entity_path":"users/alice"}',
    );
    assert.equal(
      userOfEntityPath(decodeConfigChange(encodeConfigChange(userEntityPath("CN=a b,O=x")))!),
      "CN=a b,O=x",
    );
    assert.equal(userOfEntityPath("topics/users"), null);
    assert.equal(userOfEntityPath("users/alice/clients/app"), null, "a <user, client> quota is not a user");
    assert.equal(userOfEntityPath("users/"), null);
  });

  it("withEntries keeps what is there and adds each new entry once", () => {
    const a = binding("T", "User:a");
    const b = binding("T", "User:b");
    assert.deepEqual(
      withEntries([a], [a, b, b]).map((e) => e.principal),
      ["User:a", "User:b"],
    );
  });
});

describe("users and ACLs in a real ZooKeeper, two writers at once", () => {
  let server: ZooKeeperServer;
  const sessions: ZkSession[] = [];

  before(async () => {
    server = await ZooKeeperServer.start();
  });

  after(async () => {
    for (const s of sessions) s.close();
    await server?.destroy();
  });

  const session = async () => {
    const s = await ZkSession.connect(server.connect(`/zk-security-${randomBytes(4).toString("hex")}`), {
      sessionTimeoutMs: 10_000,
      connectionTimeoutMs: 10_000,
    });
    sessions.push(s);
    return s;
  };

  it("every broker of a cluster derives unknown users' fake SCRAM salts from one secret", async () => {
    const chroot = `/secret-${randomBytes(4).toString("hex")}`;
    const stores = await Promise.all(
      [1, 2, 3].map(async () => {
        const zk = await ZkSession.connect(server.connect(chroot), {
          sessionTimeoutMs: 10_000,
          connectionTimeoutMs: 10_000,
        });
        sessions.push(zk);
        const store = new ZkSaslCredentials(() => zk, randomBytes(32));
        await store.loadAll(zk);
        return store;
      }),
    );
    assert.equal(stores[0].secret.length, 32);
    for (const s of stores) assert.deepEqual(s.secret, stores[0].secret);
  });

  it("change notifications older than the expiration are purged, oldest first, as Kafka does", async () => {
    const zk = await session();
    const dir = "/kafka-acl-changes";
    await zk.mkdirp(dir);
    for (let i = 0; i < 2; i++)
      await zk.createSequential(`${dir}/acl_changes_`, Buffer.from(`TOPIC:old${i}`));
    await new Promise((r) => setTimeout(r, 400));
    await zk.createSequential(`${dir}/acl_changes_`, Buffer.from("TOPIC:young"));
    const names = async () => (await zk.children(dir)).sort();
    // Nothing is 15 minutes old yet.
    assert.equal(await purgeObsoleteNotifications(zk, dir, await names()), 0);
    assert.equal((await names()).length, 3);
    // With a 200 ms expiration the two older ones go; the scan stops at the young one.
    assert.equal(await purgeObsoleteNotifications(zk, dir, await names(), Date.now(), 200), 2);
    const left = await names();
    assert.equal(left.length, 1);
    assert.equal((await zk.get(`${dir}/${left[0]}`))?.data.toString(), "TOPIC:young");
    // 16 minutes from now, with Kafka's expiration: every one.
    assert.equal(await purgeObsoleteNotifications(zk, dir, left, Date.now() + 16 * 60_000), 1);
    assert.deepEqual(await names(), []);
    assert.equal(CHANGE_EXPIRATION_MS, 15 * 60_000);
  });

  it("concurrent CreateAcls on one resource from two brokers keep every ACL, and each broker learns the other's", async () => {
    const chroot = `/acls-${randomBytes(4).toString("hex")}`;
    const connect = server.connect(chroot);
    const brokers = await Promise.all(
      [1, 2].map(async () => {
        const zk = await ZkSession.connect(connect, {
          sessionTimeoutMs: 10_000,
          connectionTimeoutMs: 10_000,
        });
        sessions.push(zk);
        const authorizer = new Authorizer();
        const acls = new ZkAcls(
          authorizer,
          () => zk,
          () => {},
        );
        await acls.loadAll(zk);
        return { zk, authorizer, acls };
      }),
    );
    const writes = [];
    for (let i = 0; i < 8; i++)
      for (const [n, b] of brokers.entries())
        writes.push(b.acls.createAcls([binding("T", `User:u${n}-${i}`)]));
    const results = (await Promise.all(writes)).flat();
    assert.ok(
      results.every((r) => r.errorCode === 0),
      JSON.stringify(results),
    );
    const znode = await brokers[0].zk.get("/kafka-acl/Topic/T");
    assert.equal(JSON.parse(znode!.data.toString()).acls.length, 16, "no write lost to a race");
    for (const b of brokers)
      await eventually(() => b.authorizer.acls().length === 16, 5000, "every ACL in both authorizers");
    // A deletion through one is seen by the other; the emptied znode is deleted, as Kafka does.
    const deleted = await brokers[1].acls.deleteAcls([ANY_ACL_FILTER]);
    assert.equal(deleted[0].deleted.length, 16);
    assert.equal(await brokers[0].zk.get("/kafka-acl/Topic/T"), null);
    await eventually(
      () => brokers[0].authorizer.acls().length === 0,
      5000,
      "the deletion at the other broker",
    );
    assert.equal(
      brokers[0].authorizer.authorize("User:u0-0", "h", AclOperation.WRITE, ResourceType.TOPIC, "T"),
      false,
    );
  });

  it("concurrent credential changes of one user keep both, other config keys stay", async () => {
    const zk1 = await session();
    await zk1.mkdirp("/config/users");
    // A quota Kafka's kafka-configs.sh put there: kept through credential changes.
    await zk1.create(
      "/config/users/erin",
      Buffer.from('{"version":1,"config":{"producer_byte_rate":"1024"}}'),
    );
    await Promise.all([
      alterUserCredentials(zk1, "erin", (c) => {
        c["SCRAM-SHA-256"] = scramCredential("SCRAM-SHA-256", "x", 4096);
      }),
      alterUserCredentials(zk1, "erin", (c) => {
        c["SCRAM-SHA-512"] = scramCredential("SCRAM-SHA-512", "y", 4096);
      }),
    ]);
    const doc = JSON.parse((await zk1.get("/config/users/erin"))!.data.toString());
    assert.deepEqual(Object.keys(doc.config).sort(), [
      "SCRAM-SHA-256",
      "SCRAM-SHA-512",
      "producer_byte_rate",
    ]);
    const store = new ZkSaslCredentials(() => zk1, Buffer.alloc(32));
    await store.loadAll(zk1);
    assert.deepEqual(store.users(), ["erin"]);
    await store.alter(
      [],
      [
        { user: "erin", mechanism: "SCRAM-SHA-256" },
        { user: "erin", mechanism: "SCRAM-SHA-512" },
      ],
    );
    assert.deepEqual(store.users(), []);
    // The quota keeps the znode.
    assert.deepEqual(JSON.parse((await zk1.get("/config/users/erin"))!.data.toString()), {
      version: 1,
      config: { producer_byte_rate: "1024" },
    });
    assert.equal((await readAllUserCredentials(zk1)).size, 0);
  });
});
