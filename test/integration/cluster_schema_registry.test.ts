// The Schema Registry in a three-broker cluster: every broker serves it, one primary (the leader
// of `_schemas`) writes, the others forward writes to it. A schema registered via one broker is
// served by id and by subject/version by the others with the same id; a write on a non-primary
// is forwarded and read back at once from that broker (read-your-writes); an incompatible schema
// is refused with 409 through @kafkajs/confluent-schema-registry on another broker; after a
// kill -9 of the primary a write is refused with 50003/50004 without hanging, then a new primary
// takes the writes with ids that continue (none reused); the killed broker, restarted, catches up.
// A primary paused past its ZooKeeper session (a zombie) gives way to a new one; resumed, it
// publishes its URL again and takes writes (forwarded) without handing out an old id.
// With BASIC authentication every broker checks the credentials, and a forwarded write carries
// the caller's Authorization header to the primary, which checks it again.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { SchemaRegistry as RegistryClient, SchemaType } from "@kafkajs/confluent-schema-registry";
import { ZkSession } from "../../src/cluster/zookeeper.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { run } from "../helpers/broker_process.ts";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { RawClient } from "./raw_client.ts";

const CT = "application/vnd.schemaregistry.v1+json";

function avro(fields: string[]): string {
  return JSON.stringify({
    type: "record",
    name: "User",
    namespace: "test.cluster",
    fields: fields.map((f) =>
      f === "name" ? { name: f, type: "string" } : { name: f, type: "int", default: 0 },
    ),
  });
}

/** The field names of an Avro record schema's text. */
function fieldsOf(text: unknown): string[] {
  return (JSON.parse(String(text)) as { fields: { name: string }[] }).fields.map((f) => f.name);
}

interface Answer {
  status: number;
  body: Record<string, unknown> & { id?: number; error_code?: number };
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": CT },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

describe("Schema Registry in a cluster", () => {
  let cluster: TestCluster;
  const url = (id: number) => cluster.broker(id).schemaRegistryUrl;
  /** Every id handed out so far, by schema text. */
  const ids = new Map<string, number>();

  /** The leader of `_schemas` partition 0 as broker `via` knows it. */
  async function primary(via: number): Promise<number> {
    const c = await RawClient.tcp(cluster.broker(via).bootstrap);
    try {
      const md = await c.request(metadataCodec, 9, metadataRequest(["_schemas"], false));
      return md.topics[0]?.partitions[0]?.leaderId ?? -1;
    } finally {
      c.close();
    }
  }

  before(async () => {
    cluster = await TestCluster.start({ brokers: 3 });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("serves a schema registered via one broker from every broker, with the same id", async () => {
    const schema = avro(["name"]);
    const reg = await call(url(1), "POST", "/subjects/users-value/versions", { schema });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    const id = reg.body.id!;
    assert.ok(Number.isInteger(id) && id > 0);
    ids.set(schema, id);
    // _schemas: one partition, replicated on all three brokers, two of them in sync for a write.
    const c = await RawClient.tcp(cluster.broker(1).bootstrap);
    try {
      const md = await c.request(metadataCodec, 9, metadataRequest(["_schemas"], false));
      assert.equal(md.topics[0].partitions.length, 1);
      assert.equal(md.topics[0].partitions[0].replicaNodes.length, 3);
    } finally {
      c.close();
    }
    const zk = await ZkSession.connect(cluster.connect, {
      sessionTimeoutMs: 10_000,
      connectionTimeoutMs: 10_000,
    });
    try {
      const conf = await zk.get("/config/topics/_schemas");
      assert.ok(conf !== null);
      const config = JSON.parse(conf.data.toString()).config;
      assert.equal(config["min.insync.replicas"], "2");
      assert.equal(config["cleanup.policy"], "compact");
    } finally {
      zk.close();
    }
    for (const b of [2, 3]) {
      const byId = await eventually(
        async () => {
          const r = await call(url(b), "GET", `/schemas/ids/${id}`);
          return r.status === 200 ? r : undefined;
        },
        20_000,
        `broker ${b} to serve id ${id}`,
      );
      assert.equal(JSON.parse(byId.body.schema as string).name, "User");
      const v = await call(url(b), "GET", "/subjects/users-value/versions/1");
      assert.equal(v.status, 200);
      assert.equal(v.body.id, id);
      assert.equal(v.body.version, 1);
    }
  });

  it("forwards a write on a non-primary and reads it back there at once", async () => {
    const p = await primary(1);
    assert.ok(p >= 1 && p <= 3, `primary ${p}`);
    const other = [1, 2, 3].find((b) => b !== p)!;
    const schema = avro(["name", "age"]);
    const reg = await call(url(other), "POST", "/subjects/users-value/versions", { schema });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.ok(reg.body.id! > Math.max(...ids.values()), "a new id, above the earlier ones");
    ids.set(schema, reg.body.id!);
    // Read-your-writes: no waiting on the broker that forwarded the write.
    const v = await call(url(other), "GET", "/subjects/users-value/versions/latest");
    assert.equal(v.status, 200);
    assert.equal(v.body.version, 2);
    assert.equal(v.body.id, reg.body.id);
    // Many in a row, each read back at once (a view that waited for nothing would lose some).
    for (let i = 0; i < 20; i++) {
      const r = await call(url(other), "POST", `/subjects/ryw-${i}/versions`, { schema: avro(["name"]) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const back = await call(url(other), "GET", `/subjects/ryw-${i}/versions/1`);
      assert.equal(back.status, 200, `ryw-${i} not read back at once: ${JSON.stringify(back.body)}`);
    }
    // A config change forwarded the same way.
    const third = [1, 2, 3].find((b) => b !== p && b !== other)!;
    const put = await call(url(third), "PUT", "/config/users-value", { compatibility: "BACKWARD" });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const got = await call(url(third), "GET", "/config/users-value");
    assert.equal(got.body.compatibilityLevel, "BACKWARD");
  });

  it("refuses an incompatible schema with 409 through @kafkajs/confluent-schema-registry", async () => {
    const client = new RegistryClient({ host: url(3) });
    // A new field without a default: not BACKWARD compatible.
    const bad = {
      type: "record",
      name: "User",
      namespace: "test.cluster",
      fields: [
        { name: "name", type: "string" },
        { name: "email", type: "string" },
      ],
    };
    let err: (Error & { status?: number }) | null = null;
    try {
      await client.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(bad) },
        { subject: "users-value" },
      );
    } catch (e) {
      err = e as Error & { status?: number };
    }
    assert.ok(err !== null, "the incompatible schema was accepted");
    assert.equal(err.status, 409, err.message);
    // And a compatible one goes through the same client, served by id from another broker.
    const { id } = await client.register(
      { type: SchemaType.AVRO, schema: avro(["name", "age", "score"]) },
      { subject: "users-value" },
    );
    assert.ok(![...ids.values()].includes(id));
    ids.set(avro(["name", "age", "score"]), id);
    const fromTwo = new RegistryClient({ host: url(2) });
    const schema = await eventually(
      () => fromTwo.getSchema(id).catch(() => undefined),
      20_000,
      "id on broker 2",
    );
    assert.ok(schema !== undefined);
  });

  it("after kill -9 of the primary, refuses writes without hanging, then a new primary takes them", async () => {
    const dead = await primary(1);
    assert.ok(dead >= 1);
    const alive = [1, 2, 3].filter((b) => b !== dead);
    await cluster.broker(dead).kill();
    // The metadata still names the dead broker: a forwarded write fails fast with Confluent's code.
    const t0 = Date.now();
    const refused = await call(url(alive[0]), "POST", "/subjects/other-value/versions", {
      schema: avro(["name", "refused"]),
    });
    assert.ok(Date.now() - t0 < 15_000, `answered after ${Date.now() - t0} ms`);
    assert.equal(refused.status, 500, JSON.stringify(refused.body));
    assert.ok(
      refused.body.error_code === 50003 || refused.body.error_code === 50004,
      JSON.stringify(refused.body),
    );
    // Reads go on meanwhile, from each broker's own view.
    const [anyText, anyId] = [...ids][0];
    const read = await call(url(alive[1]), "GET", `/schemas/ids/${anyId}`);
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.deepEqual(fieldsOf(read.body.schema), fieldsOf(anyText));
    // A new primary within a bounded time: the write succeeds with a fresh id.
    const schema = avro(["name", "after"]);
    const start = Date.now();
    const reg = await eventually(
      async () => {
        const r = await call(url(alive[1]), "POST", "/subjects/other-value/versions", { schema });
        return r.status === 200 ? r : undefined;
      },
      45_000,
      "a write after the failover",
    );
    assert.ok(Date.now() - start < 45_000);
    const newPrimary = await primary(alive[0]);
    assert.ok(alive.includes(newPrimary), `new primary ${newPrimary}`);
    const id = reg.body.id!;
    assert.ok(id > Math.max(...ids.values()), `id ${id} continues after ${[...ids.values()]}`);
    ids.set(schema, id);
    // Every earlier id still names its schema on the survivors.
    for (const b of alive)
      for (const [text, known] of ids) {
        const r = await eventually(
          async () => {
            const x = await call(url(b), "GET", `/schemas/ids/${known}`);
            return x.status === 200 ? x : undefined;
          },
          20_000,
          `id ${known} on broker ${b}`,
        );
        assert.deepEqual(fieldsOf(r.body.schema), fieldsOf(text));
      }
  });

  it("a restarted broker catches up with what was written while it was down", async () => {
    const down = cluster.brokers.findIndex((b) => !b.alive) + 1;
    assert.ok(down >= 1, "one broker is down");
    await cluster.restart(down);
    await cluster.settled();
    for (const [text, id] of ids) {
      const r = await eventually(
        async () => {
          const x = await call(url(down), "GET", `/schemas/ids/${id}`);
          return x.status === 200 ? x : undefined;
        },
        30_000,
        `id ${id} on the restarted broker ${down}`,
      );
      assert.deepEqual(fieldsOf(r.body.schema), fieldsOf(text));
    }
    const versions = await call(url(down), "GET", "/subjects/other-value/versions");
    assert.deepEqual(versions.body, [1]);
    // It takes writes too (forwarded, or as primary).
    const reg = await call(url(down), "POST", "/subjects/third-value/versions", {
      schema: avro(["name", "x"]),
    });
    assert.equal(reg.status, 200, JSON.stringify(reg.body));
    assert.ok(reg.body.id! > Math.max(...ids.values()));
  });

  it("a paused primary, resumed after its session ended, republishes its URL and allocates no old id", async () => {
    const old = await primary(1);
    assert.ok(old >= 1);
    const others = [1, 2, 3].filter((b) => b !== old);
    const zk = await ZkSession.connect(cluster.connect, {
      sessionTimeoutMs: 10_000,
      connectionTimeoutMs: 10_000,
    });
    try {
      const before = await zk.get(`/milena/schema_registry/${old}`);
      assert.ok(before !== null, "the primary published its URL");
      assert.equal(JSON.parse(before.data.toString()).url, url(old));
      const pid = cluster.broker(old).pid!;
      process.kill(pid, "SIGSTOP");
      let id: number;
      try {
        const schema = avro(["name", "paused"]);
        const reg = await eventually(
          async () => {
            const r = await call(url(others[0]), "POST", "/subjects/zombie-value/versions", { schema });
            return r.status === 200 ? r : undefined;
          },
          90_000,
          "a write while the primary is paused",
        );
        id = reg.body.id!;
        assert.ok(id > Math.max(...ids.values()), `id ${id} continues`);
        ids.set(schema, id);
      } finally {
        process.kill(pid, "SIGCONT");
      }
      // Back, with a new session: its URL published again, and a write through it gets a new id.
      await eventually(
        async () => {
          const now = await zk.get(`/milena/schema_registry/${old}`);
          return now !== null && now.stat.ephemeralOwner !== before.stat.ephemeralOwner;
        },
        60_000,
        "the resumed broker to publish its URL again",
      );
      const schema = avro(["name", "paused", "back"]);
      const reg = await eventually(
        async () => {
          const r = await call(url(old), "POST", "/subjects/zombie-value/versions", { schema });
          return r.status === 200 ? r : undefined;
        },
        60_000,
        "a write through the resumed broker",
      );
      assert.ok(reg.body.id! > id, `id ${reg.body.id} after ${id}`);
      const versions = await call(url(old), "GET", "/subjects/zombie-value/versions");
      assert.deepEqual(versions.body, [1, 2]);
    } finally {
      zk.close();
    }
  });
});

describe("Schema Registry in a cluster with BASIC authentication", () => {
  let cluster: TestCluster;
  const ROOT = fileURLToPath(new URL("../..", import.meta.url));
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

  async function post(id: number, path: string, body: unknown, authorization?: string) {
    const res = await fetch(`${cluster.broker(id).schemaRegistryUrl}${path}`, {
      method: "POST",
      headers: { "content-type": CT, ...(authorization === undefined ? {} : { authorization }) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, body: (await res.json()) as Answer["body"] };
  }

  before(async () => {
    cluster = await TestCluster.start({
      brokers: 2,
      overrides: {
        "schema.registry.authentication.method": "BASIC",
        "connection.failed.authentication.delay.ms": 10,
      },
      beforeBrokers: async (connect) => {
        const r = await run(
          process.execPath,
          [
            "--import",
            "tsx",
            join(ROOT, "src/cli/main.ts"),
            "users",
            "add",
            "alice",
            "--password",
            "alice-secret",
            "--zookeeper",
            connect,
          ],
          { timeoutMs: 30_000 },
        );
        assert.equal(r.code, 0, r.stderr + r.stdout);
      },
    });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("checks Basic credentials on every broker and forwards the caller's to the primary", async () => {
    const alice = basic("alice", "alice-secret");
    const first = await post(1, "/subjects/auth-value/versions", { schema: avro(["name"]) }, alice);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const c = await RawClient.tcp(cluster.broker(1).bootstrap);
    let primary: number;
    try {
      const md = await c.request(metadataCodec, 9, metadataRequest(["_schemas"], false));
      primary = md.topics[0].partitions[0].leaderId;
    } finally {
      c.close();
    }
    const other = primary === 1 ? 2 : 1;
    for (const id of [1, 2]) {
      const none = await post(id, "/subjects/auth-value/versions", { schema: avro(["name", "n"]) });
      assert.equal(none.status, 401, `broker ${id} without credentials`);
      const wrong = await post(
        id,
        "/subjects/auth-value/versions",
        { schema: avro(["name", "n"]) },
        basic("alice", "nope"),
      );
      assert.equal(wrong.status, 401, `broker ${id} with a wrong password`);
    }
    // Forwarded by the non-primary with alice's header (the primary checks it too).
    const fwd = await post(other, "/subjects/auth-value/versions", { schema: avro(["name", "n"]) }, alice);
    assert.equal(fwd.status, 200, JSON.stringify(fwd.body));
    assert.ok(fwd.body.id! > first.body.id!);
  });
});
