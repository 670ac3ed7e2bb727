// Compatibility rules of the Schema Registry (src/schema_registry/compatibility.ts and the
// per-format checks), as Confluent computes them: BACKWARD (the new schema reads the previous
// one's data), FORWARD (the previous reads the new's), FULL (both), the _TRANSITIVE forms against
// every version, NONE; Avro, JSON Schema and Protobuf.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CompatibilityLevel,
  checkCompatibility,
  parseLevel,
} from "../../src/schema_registry/compatibility.ts";
import { RegistryError } from "../../src/schema_registry/errors.ts";
import { parseSchema } from "../../src/schema_registry/formats.ts";
import type { SchemaType } from "../../src/schema_registry/schemas_records.ts";

const parse = (type: SchemaType, s: string | object) =>
  parseSchema(type, typeof s === "string" ? s : JSON.stringify(s));

/** The error types found registering `next` after `previous` (oldest first) at `level`. */
function findings(
  type: SchemaType,
  level: CompatibilityLevel,
  previous: (string | object)[],
  next: string | object,
) {
  return checkCompatibility(
    level,
    parse(type, next),
    previous.map((p, i) => ({ version: i + 1, schema: parse(type, p) })),
  ).map((f) => f.errorType);
}

const rec = (fields: object[], name = "R") => ({ type: "record", name, fields });

describe("Avro compatibility", () => {
  const a = rec([{ name: "a", type: "int" }]);
  const aB = rec([
    { name: "a", type: "int" },
    { name: "b", type: "string" },
  ]);
  const aBdefault = rec([
    { name: "a", type: "int" },
    { name: "b", type: "string", default: "" },
  ]);

  it("BACKWARD: a field added needs a default; a field removed is fine", () => {
    assert.deepEqual(findings("AVRO", "BACKWARD", [a], aB), ["READER_FIELD_MISSING_DEFAULT_VALUE"]);
    assert.deepEqual(findings("AVRO", "BACKWARD", [a], aBdefault), []);
    assert.deepEqual(findings("AVRO", "BACKWARD", [aB], a), []);
  });

  it("FORWARD is BACKWARD the other way round; FULL is both", () => {
    // The old schema must read the new one's data: removing a field without default breaks it.
    assert.deepEqual(findings("AVRO", "FORWARD", [aB], a), ["READER_FIELD_MISSING_DEFAULT_VALUE"]);
    assert.deepEqual(findings("AVRO", "FORWARD", [a], aB), []);
    assert.deepEqual(findings("AVRO", "FULL", [a], aB), ["READER_FIELD_MISSING_DEFAULT_VALUE"]);
    assert.deepEqual(findings("AVRO", "FULL", [a], aBdefault), []);
    assert.deepEqual(findings("AVRO", "NONE", [a], rec([{ name: "a", type: "string" }])), []);
  });

  it("type promotions, unions, enums, names", () => {
    const long = rec([{ name: "a", type: "long" }]);
    assert.deepEqual(findings("AVRO", "BACKWARD", [a], long), []); // int written, long read
    assert.deepEqual(findings("AVRO", "BACKWARD", [long], a), ["TYPE_MISMATCH"]);
    const union = rec([{ name: "a", type: ["null", "int"] }]);
    assert.deepEqual(findings("AVRO", "BACKWARD", [a], union), []);
    assert.deepEqual(findings("AVRO", "BACKWARD", [union], a), ["TYPE_MISMATCH"]);
    const e1 = { type: "enum", name: "E", symbols: ["A", "B"] };
    const e2 = { type: "enum", name: "E", symbols: ["A"] };
    assert.deepEqual(findings("AVRO", "BACKWARD", [e1], e2), ["MISSING_ENUM_SYMBOLS"]);
    assert.deepEqual(findings("AVRO", "BACKWARD", [e2], e1), []);
    assert.deepEqual(findings("AVRO", "BACKWARD", [a], rec([{ name: "a", type: "int" }], "Other")), [
      "NAME_MISMATCH",
    ]);
  });

  it("_TRANSITIVE checks every earlier version, the plain level only the latest", () => {
    const v1 = rec([{ name: "x", type: "int" }]);
    const v2 = rec([]);
    const v3 = rec([{ name: "x", type: "string", default: "" }]);
    assert.deepEqual(findings("AVRO", "BACKWARD", [v1, v2], v3), []);
    assert.deepEqual(findings("AVRO", "BACKWARD_TRANSITIVE", [v1, v2], v3), ["TYPE_MISMATCH"]);
    assert.deepEqual(findings("AVRO", "FORWARD", [v1, v2], v3), []);
    assert.deepEqual(findings("AVRO", "FORWARD_TRANSITIVE", [v1, v2], v3), ["TYPE_MISMATCH"]);
    assert.deepEqual(findings("AVRO", "FULL_TRANSITIVE", [v1, v2], v3).includes("TYPE_MISMATCH"), true);
    // The first version of a subject is compatible with nothing before it.
    assert.deepEqual(findings("AVRO", "FULL_TRANSITIVE", [], v3), []);
  });

  it("levels parse case-insensitively; invalid Avro is 42201", () => {
    assert.equal(parseLevel("full_transitive"), "FULL_TRANSITIVE");
    assert.equal(parseLevel("SIDEWAYS"), null);
    assert.throws(
      () => parse("AVRO", { type: "recrd" }),
      (e) => e instanceof RegistryError && e.errorCode === 42201 && e.status === 422,
    );
    assert.throws(
      () => parse("AVRO", "{not json"),
      (e) => e instanceof RegistryError && e.errorCode === 42201,
    );
  });
});

describe("JSON Schema compatibility", () => {
  const closed = (properties: object, required: string[] = []) => ({
    type: "object",
    properties,
    required,
    additionalProperties: false,
  });
  const open = (properties: object) => ({ type: "object", properties });

  it("a property added to a closed model is compatible, to an open one is not (BACKWARD)", () => {
    assert.deepEqual(
      findings(
        "JSON",
        "BACKWARD",
        [closed({ a: { type: "string" } })],
        closed({ a: { type: "string" }, b: { type: "integer" } }),
      ),
      [],
    );
    assert.deepEqual(
      findings(
        "JSON",
        "BACKWARD",
        [open({ a: { type: "string" } })],
        open({ a: { type: "string" }, b: { type: "integer" } }),
      ),
      ["PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL"],
    );
  });

  it("types narrowed or changed, requirements added", () => {
    assert.deepEqual(findings("JSON", "BACKWARD", [{ type: "integer" }], { type: "number" }), []);
    assert.deepEqual(findings("JSON", "BACKWARD", [{ type: "number" }], { type: "integer" }), [
      "TYPE_CHANGED",
    ]);
    assert.deepEqual(findings("JSON", "BACKWARD", [{ type: ["string", "null"] }], { type: "string" }), [
      "TYPE_NARROWED",
    ]);
    assert.deepEqual(
      findings(
        "JSON",
        "BACKWARD",
        [closed({ a: { type: "string" } })],
        closed({ a: { type: "string" } }, ["a"]),
      ),
      ["REQUIRED_ATTRIBUTE_ADDED"],
    );
    assert.deepEqual(findings("JSON", "BACKWARD", [{ type: "string" }], { type: "string", maxLength: 5 }), [
      "MAX_LENGTH_ADDED",
    ]);
    assert.deepEqual(findings("JSON", "FORWARD", [{ type: "string" }], { type: "string", maxLength: 5 }), []);
  });

  it("FULL and the transitive forms", () => {
    const v1 = closed({ a: { type: "string" } });
    const v2 = closed({});
    const v3 = closed({ a: { type: "integer" } });
    assert.deepEqual(findings("JSON", "BACKWARD", [v1, v2], v3), []);
    assert.deepEqual(findings("JSON", "BACKWARD_TRANSITIVE", [v1, v2], v3), ["TYPE_CHANGED"]);
    assert.ok(findings("JSON", "FULL", [v2], closed({ a: { type: "string" } }, ["a"])).length > 0);
  });

  it("a schema that is not JSON Schema is 42201", () => {
    assert.throws(
      () => parse("JSON", { type: 12 }),
      (e) => e instanceof RegistryError && e.errorCode === 42201,
    );
    assert.throws(
      () => parse("JSON", "12"),
      (e) => e instanceof RegistryError && e.errorCode === 42201,
    );
  });
});

describe("Protobuf compatibility", () => {
  const proto = (body: string) => `syntax = "proto3";\npackage t;\n${body}\n`;
  const m1 = proto("message M { string a = 1; int32 b = 2; }");

  it("fields added or removed are compatible; a changed wire type is not", () => {
    assert.deepEqual(
      findings("PROTOBUF", "BACKWARD", [m1], proto("message M { string a = 1; int32 b = 2; bool c = 3; }")),
      [],
    );
    assert.deepEqual(findings("PROTOBUF", "BACKWARD", [m1], proto("message M { string a = 1; }")), []);
    // int32 -> int64 share a wire type (compatible); string -> int32 do not.
    assert.deepEqual(
      findings("PROTOBUF", "BACKWARD", [m1], proto("message M { string a = 1; int64 b = 2; }")),
      [],
    );
    assert.deepEqual(
      findings("PROTOBUF", "BACKWARD", [m1], proto("message M { int32 a = 1; int32 b = 2; }")),
      ["FIELD_SCALAR_KIND_CHANGED"],
    );
  });

  it("a message removed is incompatible; transitive checks every version", () => {
    const two = proto("message M { string a = 1; } message N { int32 x = 1; }");
    assert.deepEqual(findings("PROTOBUF", "BACKWARD", [two], proto("message M { string a = 1; }")), [
      "MESSAGE_REMOVED",
    ]);
    const v1 = proto("message M { string a = 1; }");
    const v2 = proto("message M { }");
    const v3 = proto("message M { int32 a = 1; }");
    assert.deepEqual(findings("PROTOBUF", "BACKWARD", [v1, v2], v3), []);
    assert.deepEqual(findings("PROTOBUF", "BACKWARD_TRANSITIVE", [v1, v2], v3), [
      "FIELD_SCALAR_KIND_CHANGED",
    ]);
  });

  it("a schema of another type is incompatible; invalid .proto is 42201", () => {
    assert.deepEqual(
      checkCompatibility("BACKWARD", parse("JSON", { type: "string" }), [
        { version: 1, schema: parse("AVRO", '"string"') },
      ]).map((f) => f.errorType),
      ["TYPE_MISMATCH"],
    );
    assert.throws(
      () => parse("PROTOBUF", "message {"),
      (e) => e instanceof RegistryError && e.errorCode === 42201,
    );
  });
});
