// Broker-side schema validation of produced record sets (src/schema_registry/validation.ts):
// which topic configs turn it on, key and value sides, tombstones, ids of other subjects,
// payload decoding per format, compressed (gzip, lz4) and several batches in one record set.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { registerLz4 } from "../../src/protocol/lz4_node.ts";
import { Compression } from "../../src/protocol/record_batch_layout.ts";
import { encodeBatch, type NewRecord } from "../../src/protocol/records.ts";
import { SchemaRegistry } from "../../src/schema_registry/registry.ts";
import { checkRecordSet, validationOf } from "../../src/schema_registry/validation.ts";

registerLz4();

const wire = (id: number, payload: Buffer | string = Buffer.alloc(0)) => {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(id, 1);
  return Buffer.concat([head, Buffer.from(payload)]);
};

async function setup() {
  const r = new SchemaRegistry(async () => {}, { maxSchemas: 100, maxSubjectLength: 255, maxReferences: 10 });
  const avro = await r.register("t-value", { schema: '"string"', schemaType: "AVRO", references: [] });
  const key = await r.register("t-key", { schema: '"long"', schemaType: "AVRO", references: [] });
  const json = await r.register("j-value", {
    schema: JSON.stringify({ type: "object", required: ["a"] }),
    schemaType: "JSON",
    references: [],
  });
  const proto = await r.register("p-value", {
    schema: 'syntax = "proto3"; message A { string s = 1; } message B { int32 n = 1; }',
    schemaType: "PROTOBUF",
    references: [],
  });
  return { r, avro, key, json, proto };
}

const batch = (records: NewRecord[], compression: number = Compression.NONE) =>
  encodeBatch(records, compression);
const VALUE = { key: false, value: true, payload: false };

describe("broker-side schema validation", () => {
  it("is on only when a topic's overrides say so", () => {
    assert.equal(validationOf(new Map()), null);
    assert.equal(validationOf(new Map([["retention.ms", "1"]])), null);
    assert.equal(validationOf(new Map([["schema.validation.payload", "true"]])), null);
    assert.deepEqual(validationOf(new Map([["key.schema.validation", "true"]])), {
      key: true,
      value: false,
      payload: false,
    });
  });

  it("checks values (or keys) for the magic byte and an id of the topic's subject", async () => {
    const { r, avro, key } = await setup();
    const check = (records: NewRecord[], sides = VALUE, c: number = Compression.NONE) =>
      checkRecordSet(r, "t", sides, batch(records, c), 1 << 20);
    assert.equal(check([{ value: wire(avro) }, { value: null }]), null);
    assert.match(
      check([{ value: wire(avro) }, { value: "plain" }]) ?? "",
      /Record 1: its value has no schema id/,
    );
    assert.match(
      check([{ value: wire(key) }]) ?? "",
      /schema id \d+, which is not a registered schema of subject t-value/,
    );
    assert.match(check([{ value: wire(999) }]) ?? "", /999/);
    // Keys: only when key.schema.validation is on.
    const both = { key: true, value: true, payload: false };
    assert.equal(check([{ key: "k", value: wire(avro) }]), null);
    assert.match(check([{ key: "k", value: wire(avro) }], both) ?? "", /its key has no schema id/);
    assert.equal(
      check(
        [
          { key: wire(key), value: wire(avro) },
          { key: null, value: wire(avro) },
        ],
        both,
      ),
      null,
    );
    // Compressed batches are decompressed first.
    for (const c of [Compression.GZIP, Compression.LZ4]) {
      assert.equal(check([{ value: wire(avro) }], VALUE, c), null);
      assert.match(check([{ value: wire(avro) }, { value: "x" }], VALUE, c) ?? "", /Record 1/);
    }
    // Several batches in one record set: every one is checked.
    const two = Buffer.concat([batch([{ value: wire(avro) }]), batch([{ value: "plain" }])]);
    assert.match(checkRecordSet(r, "t", VALUE, two, 1 << 20) ?? "", /no schema id/);
    // Bytes that are not a batch are refused, not thrown.
    const cut = batch([{ value: wire(avro) }, { value: wire(avro) }]);
    cut.writeInt32BE(9, 57); // record count beyond the records
    assert.match(checkRecordSet(r, "t", VALUE, cut, 1 << 20) ?? "", /could not be read/);
  });

  it("with schema.validation.payload, decodes the payload with the schema (Avro, JSON, Protobuf)", async () => {
    const { r, avro, json, proto } = await setup();
    const full = { key: false, value: true, payload: true };
    const check = (topic: string, value: Buffer) =>
      checkRecordSet(r, topic, full, batch([{ value }]), 1 << 20);
    const str = Buffer.from([0x06, 0x61, 0x62, 0x63]); // Avro string "abc"
    assert.equal(check("t", wire(avro, str)), null);
    assert.match(check("t", wire(avro, Buffer.from([0x06, 0x61]))) ?? "", /does not match schema/);
    assert.match(check("t", wire(avro, Buffer.concat([str, Buffer.from([1])]))) ?? "", /does not match/);
    assert.equal(check("j", wire(json, '{"a":1}')), null);
    assert.match(check("j", wire(json, '{"b":1}')) ?? "", /required/);
    assert.match(check("j", wire(json, "{nope")) ?? "", /not JSON/);
    // Protobuf: message indexes [1] (B) then B{n: 5}; [0] is the single byte 0.
    assert.equal(check("p", wire(proto, Buffer.from([0x02, 0x02, 0x08, 0x05]))), null);
    assert.equal(check("p", wire(proto, Buffer.from([0x00, 0x0a, 0x01, 0x41]))), null);
    assert.match(check("p", wire(proto, Buffer.from([0x02, 0x08]))) ?? "", /no message at index 4/);
    assert.match(check("p", wire(proto, Buffer.from([0x00, 0x0a, 0x09]))) ?? "", /not a Protobuf message/);
  });
});
