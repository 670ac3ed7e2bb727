// Milena's client serializers (src/client/schema_serdes.ts) against the broker's Schema Registry:
// Avro, JSON Schema and Protobuf values serialized in Confluent's wire format, produced to a topic
// with value.schema.validation and schema.validation.payload on, consumed and deserialized back;
// an Avro value written with an older schema read with a newer one; bytes the registry client
// cannot place refused. Also the REST API's error answers (Confluent's codes and bounds), and
// HTTP Basic authentication against the SCRAM users when the broker has a SASL listener.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SchemaRegistry } from "@kafkajs/confluent-schema-registry";
import {
  avroSerde,
  jsonSchemaSerde,
  protobufSerde,
  readSchemaId,
  SchemaRegistryClient,
  SchemaRegistryError,
} from "../../src/client/schema_serdes.ts";
import { type Admin, type ConsumedRecord, type Consumer, Milena } from "../../src/index.ts";
import { addUser, BrokerProcess } from "../helpers/broker_process.ts";

async function take(c: Consumer<Buffer>, n: number): Promise<ConsumedRecord<Buffer>[]> {
  const out: ConsumedRecord<Buffer>[] = [];
  const it = c.records();
  const deadline = Date.now() + 20_000;
  while (out.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${out.length} of ${n} records`);
    const r = await it.next();
    if (r.done) throw new Error("iterator ended");
    out.push(r.value);
  }
  return out;
}

const PROTO = `syntax = "proto3";
package shop;
message Other { string x = 1; }
message Order {
  int64 id = 1;
  string item = 2;
  message Line { int32 qty = 1; }
  repeated Line lines = 3;
}
`;

describe("schema serializers of Milena's client", () => {
  let broker: BrokerProcess;
  let milena: Milena;
  let admin: Admin;
  let registry: SchemaRegistryClient;

  before(async () => {
    broker = await BrokerProcess.start();
    milena = new Milena({ bootstrap: broker.bootstrap });
    admin = milena.admin();
    await admin.connect();
    registry = new SchemaRegistryClient({ url: broker.schemaRegistryUrl });
  });

  after(async () => {
    await admin?.disconnect();
    await broker?.destroy();
  });

  for (const format of ["avro", "json", "protobuf"] as const) {
    it(`${format}: serialized, validated by the broker, consumed and deserialized`, async () => {
      const topic = `serde-${format}`;
      await admin.createTopics({
        topics: [
          {
            topic,
            numPartitions: 1,
            configEntries: [
              { name: "value.schema.validation", value: "true" },
              { name: "schema.validation.payload", value: "true" },
            ],
          },
        ],
      });
      const subject = `${topic}-value`;
      const serde =
        format === "avro"
          ? avroSerde(registry, subject, {
              type: "record",
              name: "Order",
              fields: [
                { name: "id", type: "long" },
                { name: "item", type: "string" },
              ],
            })
          : format === "json"
            ? jsonSchemaSerde(registry, subject, {
                type: "object",
                properties: { id: { type: "integer" }, item: { type: "string" } },
                required: ["id", "item"],
              })
            : protobufSerde(registry, subject, PROTO, "shop.Order");
      const value =
        format === "protobuf" ? { id: "42", item: "tea", lines: [{ qty: 2 }] } : { id: 42, item: "tea" };
      const bytes = await serde.serialize(value as never);
      const id = readSchemaId(bytes);
      assert.equal((await registry.version(subject)).id, id);
      if (format === "protobuf") assert.deepEqual([...bytes.subarray(5, 7)], [2, 2]); // indexes [1]: count 1, index 1 (zigzag)
      const producer = milena.producer({ acks: -1 });
      await producer.connect();
      await producer.send({ topic, messages: [{ value: bytes }] });
      // The payload is checked against the schema: an id alone does not pass.
      const forged = Buffer.concat([bytes.subarray(0, 5), Buffer.from("not the payload")]);
      await assert.rejects(
        producer.send({ topic, messages: [{ value: forged }] }),
        /INVALID_RECORD|validation|schema/i,
      );
      await producer.disconnect();
      const consumer = milena.consumer({ autoOffsetReset: "earliest" });
      await consumer.connect();
      await consumer.assign([{ topic }]);
      const [r] = await take(consumer as Consumer<Buffer>, 1);
      await consumer.disconnect();
      assert.ok(r.value !== null);
      const back = await serde.deserialize(r.value);
      if (format === "protobuf") assert.deepEqual(back, value);
      else assert.deepEqual({ ...(back as object) }, value);
    });
  }

  it("Avro: data of an older version is read with the newer schema; the kafkajs client reads ours", async () => {
    const v1 = { type: "record", name: "P", fields: [{ name: "a", type: "string" }] };
    const v2 = { ...v1, fields: [...v1.fields, { name: "b", type: "int", default: 7 }] };
    const old = avroSerde(registry, "evolve-value", v1);
    const bytes = await old.serialize({ a: "x" });
    const next = avroSerde<{ a: string; b: number }>(registry, "evolve-value", v2);
    await next.serialize({ a: "y", b: 1 }); // registers v2
    assert.deepEqual({ ...(await next.deserialize(bytes)) }, { a: "x", b: 7 });
    const kafkajsClient = new SchemaRegistry({ host: broker.schemaRegistryUrl });
    assert.deepEqual({ ...(await kafkajsClient.decode(bytes)) }, { a: "x" });
    await assert.rejects(next.deserialize(Buffer.from("plain")), /wire format/);
    // An incompatible schema: Confluent's 409 as a typed error.
    const bad = avroSerde(registry, "evolve-value", {
      type: "record",
      name: "P",
      fields: [{ name: "a", type: "int" }],
    });
    await assert.rejects(
      bad.serialize({ a: 1 }),
      (e) => e instanceof SchemaRegistryError && e.errorCode === 409,
    );
  });

  it("the REST API answers Confluent's error codes and bounds what it reads", async () => {
    const url = broker.schemaRegistryUrl;
    const call = async (
      method: string,
      path: string,
      body?: string,
      type = "application/vnd.schemaregistry.v1+json",
    ) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { "content-type": type },
        body,
      });
      return { status: res.status, body: (await res.json()) as { error_code?: number } };
    };
    assert.equal((await call("GET", "/subjects/nope/versions")).body.error_code, 40401);
    await registry.register("codes-value", { schema: '"string"' });
    assert.equal((await call("GET", "/subjects/codes-value/versions/9")).body.error_code, 40402);
    assert.equal((await call("GET", "/schemas/ids/999999")).body.error_code, 40403);
    const badVersion = await call("GET", "/subjects/codes-value/versions/zero");
    assert.deepEqual([badVersion.status, badVersion.body.error_code], [422, 42202]);
    const badJson = await call("POST", "/subjects/codes-value/versions", "{oops");
    assert.deepEqual([badJson.status, badJson.body.error_code], [400, 400]);
    const badSchema = await call(
      "POST",
      "/subjects/codes-value/versions",
      JSON.stringify({ schema: "{nope" }),
    );
    assert.deepEqual([badSchema.status, badSchema.body.error_code], [422, 42201]);
    const badShape = await call("POST", "/subjects/codes-value/versions", JSON.stringify([1, 2]));
    assert.equal(badShape.status, 422);
    const badLevel = await call("PUT", "/config", JSON.stringify({ compatibility: "SIDEWAYS" }));
    assert.deepEqual([badLevel.status, badLevel.body.error_code], [422, 42203]);
    assert.equal((await call("POST", "/subjects/x/versions", "{}", "text/plain")).status, 415);
    assert.equal((await call("GET", "/no/such/path")).status, 404);
    assert.equal((await call("PATCH", "/subjects")).status, 405);
    const huge = JSON.stringify({
      schema: JSON.stringify({ type: "enum", name: "E", symbols: ["A"], doc: "x".repeat(2_000_000) }),
    });
    assert.equal((await call("POST", "/subjects/huge-value/versions", huge)).status, 413);
    // Soft then permanent delete, as Confluent orders them.
    assert.equal((await call("DELETE", "/subjects/codes-value?permanent=true")).body.error_code, 40405);
    assert.equal((await call("DELETE", "/subjects/codes-value")).status, 200);
    assert.equal((await call("GET", "/subjects/codes-value/versions")).body.error_code, 40401);
    assert.equal((await call("DELETE", "/subjects/codes-value?permanent=true")).status, 200);
    // Junk of every kind (methods, paths, bodies, content types) gets answers, never a crash.
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const segments = [
      "subjects",
      "schemas",
      "ids",
      "versions",
      "config",
      "mode",
      "compatibility",
      "latest",
      "-1",
      "%zz",
      "0",
      "99999999999",
      "x",
      "",
    ];
    const bodies = [
      "",
      "{",
      "null",
      "[]",
      '{"schema":null}',
      '{"schema":"\\"int\\"","schemaType":"PROTOBUF"}',
      '{"compatibility":1}',
      '{"mode":"IMPORT"}',
      '{"schema":"{}","schemaType":"JSON","references":[{"name":1}]}',
    ];
    for (let i = 0; i < 150; i++) {
      const path = `/${Array.from({ length: 1 + rnd(5) }, () => segments[rnd(segments.length)]).join("/")}`;
      const method = ["GET", "POST", "PUT", "DELETE"][rnd(4)];
      const res = await fetch(`${url}${path}?deleted=${rnd(2) === 0}&permanent=true`, {
        method,
        headers: { "content-type": "application/json" },
        body: method === "GET" ? undefined : bodies[rnd(bodies.length)],
      });
      assert.ok(res.status < 500, `${method} ${path}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer().catch(() => {});
    }
    // The broker is still serving.
    assert.ok(broker.alive);
    const types = await (await fetch(`${url}/schemas/types`)).json();
    assert.deepEqual([...types].sort(), ["AVRO", "JSON", "PROTOBUF"]);
  });
});

describe("Schema Registry authentication on a broker with SASL", () => {
  let broker: BrokerProcess;

  before(async () => {
    const logDir = fs.mkdtempSync(join(tmpdir(), "milena-sr-auth-"));
    await addUser("alice", "alice-secret", ["--file", join(logDir, "sasl-credentials.json")]);
    broker = await BrokerProcess.start({
      logDir,
      overrides: { listeners: "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0" },
    });
  });

  after(async () => {
    await broker?.destroy();
  });

  it("asks for HTTP Basic credentials and checks them against the SCRAM users", async () => {
    const url = broker.schemaRegistryUrl;
    const none = await fetch(`${url}/subjects`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Basic/);
    assert.equal(((await none.json()) as { error_code: number }).error_code, 401);
    const basic = (u: string, p: string) => ({
      authorization: `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`,
    });
    assert.equal((await fetch(`${url}/subjects`, { headers: basic("alice", "wrong") })).status, 401);
    assert.equal((await fetch(`${url}/subjects`, { headers: basic("mallory", "alice-secret") })).status, 401);
    const ok = await fetch(`${url}/subjects`, { headers: basic("alice", "alice-secret") });
    assert.equal(ok.status, 200);
    // Milena's client and the kafkajs one with credentials.
    const mine = new SchemaRegistryClient({ url, username: "alice", password: "alice-secret" });
    const id = await mine.register("auth-value", { schema: '"string"' });
    const theirs = new SchemaRegistry({ host: url, auth: { username: "alice", password: "alice-secret" } });
    assert.equal(await theirs.getLatestSchemaId("auth-value"), id);
    const anonymous = new SchemaRegistryClient({ url });
    await assert.rejects(
      anonymous.schemaById(id),
      (e) => e instanceof SchemaRegistryError && e.status === 401,
    );
    assert.match(broker.output, /authentication BASIC/);
  });
});

describe("Schema Registry listener", () => {
  it("empty schema.registry.listeners turns it off; a port in use stops startup naming the key", async () => {
    const off = await BrokerProcess.start({ overrides: { "schema.registry.listeners": "" } });
    try {
      assert.equal(off.schemaRegistryPort, 0);
      assert.match(off.output, /schema\.registry=off/);
    } finally {
      await off.destroy();
    }
    const taken = net.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
    const port = (taken.address() as net.AddressInfo).port;
    const b = await BrokerProcess.start({
      overrides: { "schema.registry.listeners": `http://127.0.0.1:${port}` },
      expectStart: false,
    });
    try {
      assert.equal(b.exitCode, 1);
      assert.match(b.output, /schema\.registry\.listeners: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    } finally {
      await b.destroy();
      taken.close();
    }
  });
});
