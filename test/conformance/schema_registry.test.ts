// Milena's Schema Registry through @kafkajs/confluent-schema-registry, the common Node client of
// Confluent's: Avro and JSON Schema registered, fetched by id, evolved compatibly; an incompatible
// change refused with HTTP 409 and Confluent's error_code 409; records encoded by the client
// decoded back. Broker-side validation (value.schema.validation) seen through kafkajs: a record
// without a registered schema id is refused with INVALID_RECORD, one encoded by the registry
// client is accepted, and schema.validation.payload checks the bytes after the id. A restart
// keeps the subjects, versions and ids.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SchemaRegistry, SchemaType } from "@kafkajs/confluent-schema-registry";
import kafkajs, { type Admin, Kafka, logLevel, type Producer } from "kafkajs";
import { BrokerProcess } from "../helpers/broker_process.ts";

const { ConfigResourceTypes } = kafkajs;

const userV1 = {
  type: "record",
  name: "User",
  namespace: "test.milena",
  fields: [{ name: "name", type: "string" }],
};
const userV2 = { ...userV1, fields: [...userV1.fields, { name: "age", type: "int", default: 0 }] };
const userBad = { ...userV1, fields: [...userV1.fields, { name: "email", type: "string" }] };

const orderV1 = {
  $schema: "http://json-schema.org/draft-07/schema#",
  type: "object",
  properties: { id: { type: "integer" } },
  required: ["id"],
  additionalProperties: false,
};
const orderV2 = { ...orderV1, properties: { ...orderV1.properties, note: { type: "string" } } };
const orderBad = { ...orderV1, properties: { id: { type: "string" } } };

async function rejection(p: Promise<unknown>): Promise<Error & { status?: number; type?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { status?: number };
  }
  assert.fail("expected a rejection");
}

describe("Schema Registry with @kafkajs/confluent-schema-registry", () => {
  let broker: BrokerProcess;
  let registry: SchemaRegistry;
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  const ids: Record<string, number> = {};

  before(async () => {
    broker = await BrokerProcess.start();
    registry = new SchemaRegistry({ host: broker.schemaRegistryUrl });
    kafka = new Kafka({
      clientId: "sr",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 1 },
    });
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ retry: { retries: 0 } });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.destroy();
  });

  it("registers, fetches and evolves an Avro schema; refuses an incompatible one with 409", async () => {
    const { id: v1 } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject: "users-value" },
    );
    assert.ok(v1 > 0);
    // The same schema again: the same id, no new version.
    const again = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject: "users-value" },
    );
    assert.equal(again.id, v1);
    const encoded = await registry.encode(v1, { name: "ada" });
    assert.equal(encoded[0], 0);
    assert.equal(encoded.readInt32BE(1), v1);
    // A fresh client (empty cache) fetches the schema by id to decode.
    const fresh = new SchemaRegistry({ host: broker.schemaRegistryUrl });
    assert.deepEqual({ ...(await fresh.decode(encoded)) }, { name: "ada" });

    const { id: v2 } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV2) },
      { subject: "users-value" },
    );
    assert.notEqual(v2, v1);
    assert.equal(await fresh.getLatestSchemaId("users-value"), v2);
    assert.equal(await fresh.getRegistryId("users-value", 1), v1);
    // Data written with v1 read with v2 (the default filled in).
    const readWithV2 = await fresh.decode(encoded, {
      [SchemaType.AVRO]: { readerSchema: userV2 as never },
    });
    assert.deepEqual({ ...readWithV2 }, { name: "ada", age: 0 });

    const e = await rejection(
      registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(userBad) },
        { subject: "users-value" },
      ),
    );
    assert.equal(e.status, 409, e.message);
    assert.match(e.message, /incompatible/);
    // The body as Confluent's: error_code 409 and the finding.
    const res = await fetch(`${broker.schemaRegistryUrl}/subjects/users-value/versions`, {
      method: "POST",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      body: JSON.stringify({ schema: JSON.stringify(userBad) }),
    });
    assert.equal(res.status, 409);
    assert.match(res.headers.get("content-type") ?? "", /application\/vnd\.schemaregistry\.v1\+json/);
    const body = (await res.json()) as { error_code: number; message: string };
    assert.equal(body.error_code, 409);
    assert.match(body.message, /READER_FIELD_MISSING_DEFAULT_VALUE/);
    const versions = await (await fetch(`${broker.schemaRegistryUrl}/subjects/users-value/versions`)).json();
    assert.deepEqual(versions, [1, 2]);
    ids.userV1 = v1;
    ids.userV2 = v2;
  });

  it("registers, fetches and evolves a JSON Schema; refuses an incompatible one with 409", async () => {
    const { id: v1 } = await registry.register(
      { type: SchemaType.JSON, schema: JSON.stringify(orderV1) },
      { subject: "orders-value" },
    );
    const encoded = await registry.encode(v1, { id: 7 });
    const fresh = new SchemaRegistry({ host: broker.schemaRegistryUrl });
    assert.deepEqual(await fresh.decode(encoded), { id: 7 });
    const fetched = await (await fetch(`${broker.schemaRegistryUrl}/schemas/ids/${v1}`)).json();
    assert.equal(fetched.schemaType, "JSON");
    assert.deepEqual(JSON.parse(fetched.schema), orderV1);

    // A new optional property of a closed content model: old data still valid (BACKWARD).
    const { id: v2 } = await registry.register(
      { type: SchemaType.JSON, schema: JSON.stringify(orderV2) },
      { subject: "orders-value" },
    );
    assert.notEqual(v2, v1);
    assert.equal(await fresh.getLatestSchemaId("orders-value"), v2);
    // The client validates against the schema when encoding.
    await rejection(registry.encode(v2, { id: "seven" }));

    const e = await rejection(
      registry.register(
        { type: SchemaType.JSON, schema: JSON.stringify(orderBad) },
        { subject: "orders-value" },
      ),
    );
    assert.equal(e.status, 409, e.message);
    assert.match(e.message, /TYPE_CHANGED/);
  });

  it("BACKWARD_TRANSITIVE checks every version, BACKWARD only the latest", async () => {
    const a = { type: "record", name: "T", fields: [{ name: "x", type: "int" }] };
    const b = { type: "record", name: "T", fields: [] };
    const c = { type: "record", name: "T", fields: [{ name: "x", type: "string", default: "" }] };
    const put = (subject: string, compatibility: string) =>
      fetch(`${broker.schemaRegistryUrl}/config/${subject}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ compatibility }),
      });
    const reg = (subject: string, s: object) =>
      fetch(`${broker.schemaRegistryUrl}/subjects/${subject}/versions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ schema: JSON.stringify(s) }),
      });
    assert.equal((await put("t-backward", "BACKWARD")).status, 200);
    assert.equal((await put("t-transitive", "BACKWARD_TRANSITIVE")).status, 200);
    for (const subject of ["t-backward", "t-transitive"]) {
      assert.equal((await reg(subject, a)).status, 200);
      assert.equal((await reg(subject, b)).status, 200);
    }
    // c reads b's data (x defaulted), not a's (int x is not a string).
    assert.equal((await reg("t-backward", c)).status, 200);
    const r = await reg("t-transitive", c);
    assert.equal(r.status, 409);
    assert.equal(((await r.json()) as { error_code: number }).error_code, 409);
  });

  it("value.schema.validation refuses a record without a registered schema id (INVALID_RECORD)", async () => {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: "plain", numPartitions: 1 },
        {
          topic: "checked",
          numPartitions: 1,
          configEntries: [{ name: "value.schema.validation", value: "true" }],
        },
      ],
    });
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject: "checked-value" },
    );
    // A topic without validation takes anything.
    await producer.send({ topic: "plain", messages: [{ value: "no schema here" }] });
    const e = await rejection(producer.send({ topic: "checked", messages: [{ value: "no schema here" }] }));
    assert.equal(e.type, "INVALID_RECORD", e.message);
    // An id of another subject is refused too.
    const other = await registry.encode(ids.userV2, { name: "x", age: 1 });
    const e2 = await rejection(producer.send({ topic: "checked", messages: [{ value: other }] }));
    assert.equal(e2.type, "INVALID_RECORD", e2.message);
    // Registered for the subject: accepted, and readable back.
    const good = await registry.encode(id, { name: "grace" });
    const [meta] = await producer.send({ topic: "checked", messages: [{ value: good }, { value: null }] });
    assert.equal(meta.errorCode, 0);
    // compressed batches are checked too
    const eGzip = await rejection(
      producer.send({
        topic: "checked",
        compression: kafkajs.CompressionTypes.GZIP,
        messages: [{ value: good }, { value: "plain" }],
      }),
    );
    assert.equal(eGzip.type, "INVALID_RECORD", eGzip.message);

    // Without payload validation the bytes after the id are not looked at; with it they must decode.
    const garbage = Buffer.concat([good.subarray(0, 5), Buffer.from([0xff, 0xff, 0xff])]);
    await producer.send({ topic: "checked", messages: [{ value: garbage }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: ConfigResourceTypes.TOPIC,
          name: "checked",
          configEntries: [
            { name: "value.schema.validation", value: "true" },
            { name: "schema.validation.payload", value: "true" },
          ],
        },
      ],
    });
    const e3 = await rejection(producer.send({ topic: "checked", messages: [{ value: garbage }] }));
    assert.equal(e3.type, "INVALID_RECORD", e3.message);
    await producer.send({ topic: "checked", messages: [{ value: good }] });
  });

  it("a restart keeps subjects, versions and ids; the next id is new", async () => {
    const before = await (await fetch(`${broker.schemaRegistryUrl}/subjects`)).json();
    await broker.restart();
    const fresh = new SchemaRegistry({ host: broker.schemaRegistryUrl });
    assert.deepEqual(await (await fetch(`${broker.schemaRegistryUrl}/subjects`)).json(), before);
    assert.equal(await fresh.getLatestSchemaId("users-value"), ids.userV2);
    assert.equal(await fresh.getRegistryId("users-value", 1), ids.userV1);
    const schema = (await fresh.getSchema(ids.userV1)) as unknown as { name: string };
    assert.equal(schema.name, "test.milena.User");
    const { id } = await fresh.register(
      { type: SchemaType.AVRO, schema: JSON.stringify({ type: "record", name: "New", fields: [] }) },
      { subject: "new-value" },
    );
    const all = await (await fetch(`${broker.schemaRegistryUrl}/schemas/ids/${id}/versions`)).json();
    assert.deepEqual(all, [{ subject: "new-value", version: 1 }]);
    assert.ok(id > ids.userV2, `${id} is a new id`);
  });
});
