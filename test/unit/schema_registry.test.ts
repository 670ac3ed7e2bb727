// The Schema Registry's state machine (src/schema_registry/registry.ts) over an in-memory log:
// ids shared across subjects, versions, soft and permanent deletes in Confluent's order, modes,
// the bounds, and a replay of the `_schemas` records (encoded and decoded as Confluent writes
// them) giving back the same state; the REST route table on top (server.ts route()).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RegistryError } from "../../src/schema_registry/errors.ts";
import { SchemaRegistry } from "../../src/schema_registry/registry.ts";
import {
  decodeSchemasRecord,
  encodeKey,
  encodeValue,
  type SchemasRecord,
} from "../../src/schema_registry/schemas_records.ts";
import { pathParts, route } from "../../src/schema_registry/server.ts";

function registry(maxSchemas = 100) {
  const log: { key: Buffer; value: Buffer | null }[] = [];
  const r = new SchemaRegistry(
    async (records: SchemasRecord[]) => {
      for (const x of records) log.push({ key: encodeKey(x), value: encodeValue(x) });
    },
    { maxSchemas, maxSubjectLength: 255, maxReferences: 10 },
  );
  /** A new registry replaying the log (as a restart does). */
  const replayed = () => {
    const again = new SchemaRegistry(async () => {}, {
      maxSchemas,
      maxSubjectLength: 255,
      maxReferences: 10,
    });
    for (const { key, value } of log) {
      const rec = decodeSchemasRecord(key, value);
      assert.ok(rec !== null, key.toString());
      again.apply(rec);
    }
    return again;
  };
  return { r, log, replayed };
}

const avro = (fields: object[]) => ({
  schema: JSON.stringify({ type: "record", name: "R", fields }),
  schemaType: "AVRO" as const,
  references: [],
});
const code = (e: unknown) => (e instanceof RegistryError ? e.errorCode : -1);

describe("SchemaRegistry", () => {
  it("gives the same schema one id in every subject, a new one the next id", async () => {
    const { r } = registry();
    const a = await r.register("s1", avro([]));
    assert.equal(await r.register("s2", avro([])), a);
    // Whitespace does not make another schema.
    assert.equal(
      await r.register("s1", { ...avro([]), schema: ' {"type": "record", "name": "R",  "fields": [] }' }),
      a,
    );
    const b = await r.register("s1", avro([{ name: "x", type: "int", default: 1 }]));
    assert.equal(b, a + 1);
    assert.deepEqual(r.listVersions("s1", false), [1, 2]);
    assert.deepEqual(r.subjectVersionsOfId(a, false), [
      { subject: "s1", version: 1 },
      { subject: "s2", version: 1 },
    ]);
  });

  it("deletes softly first, permanently after, and replays to the same state", async () => {
    const { r, replayed } = registry();
    await r.register("s", avro([]));
    await r.register("s", avro([{ name: "x", type: "int", default: 1 }]));
    await r.setCompatibility("s", "FULL");
    await assert.rejects(r.deleteVersion("s", "1", true), (e) => code(e) === 40407);
    assert.equal(await r.deleteVersion("s", "1", false), 1);
    assert.deepEqual(r.listVersions("s", false), [2]);
    assert.deepEqual(r.listVersions("s", true), [1, 2]);
    assert.throws(
      () => r.getVersion("s", "1", false),
      (e) => code(e) === 40402,
    );
    assert.equal(await r.deleteVersion("s", "1", true), 1);
    await r.register("t", avro([]));
    await assert.rejects(r.deleteSubject("t", true), (e) => code(e) === 40405);
    assert.deepEqual(await r.deleteSubject("t", false), [1]);
    await assert.rejects(r.deleteSubject("t", false), (e) => code(e) === 40404);
    const again = replayed();
    assert.deepEqual(again.listSubjects(false), ["s"]);
    assert.deepEqual(again.listSubjects(true), ["s", "t"]);
    assert.deepEqual(again.listVersions("s", true), [2]);
    assert.equal(again.compatibilityOf("s"), "FULL");
    assert.equal(again.getVersion("s", "latest", false).id, r.getVersion("s", "latest", false).id);
    // The permanently deleted subject is gone after replay too; its id stays known while used.
    await r.deleteSubject("t", true);
    assert.deepEqual(replayed().listSubjects(true), ["s"]);
  });

  it("honours READONLY and IMPORT modes", async () => {
    const { r } = registry();
    await r.setMode("ro", "READONLY");
    await assert.rejects(r.register("ro", avro([])), (e) => code(e) === 42205);
    await r.setMode(null, "IMPORT");
    assert.equal(await r.register("imp", { ...avro([]), id: 77, version: 3 }), 77);
    assert.deepEqual(r.listVersions("imp", false), [3]);
    // Importing does not check compatibility, and another schema cannot take a used id.
    await assert.rejects(
      r.register("imp2", { ...avro([{ name: "y", type: "int" }]), id: 77 }),
      (e) => code(e) === 42205,
    );
  });

  it("bounds schema versions and subject-level settings", async () => {
    const { r } = registry(2);
    await r.register("a", avro([]));
    await r.register("b", avro([{ name: "x", type: "int", default: 0 }]));
    await assert.rejects(
      r.register("c", avro([{ name: "z", type: "int", default: 0 }])),
      (e) => code(e) === 42205,
    );
    await r.setCompatibility("a", "NONE");
    await r.setCompatibility("b", "NONE");
    await assert.rejects(r.setCompatibility("c", "NONE"), (e) => code(e) === 42205);
    await r.setCompatibility("a", "FULL"); // changing an existing one is fine
    // Schema text is bounded too.
    const small = new SchemaRegistry(async () => {}, {
      maxSchemas: 100,
      maxSubjectLength: 255,
      maxReferences: 10,
      maxSchemaBytes: 60,
    });
    await small.register("a", avro([]));
    await assert.rejects(
      small.register("b", avro([{ name: "long_field_name", type: "int" }])),
      (e) => code(e) === 42205,
    );
    assert.equal(await small.register("b", avro([])), 1); // the same schema costs nothing more
    assert.throws(
      () => r.register("x".repeat(256), avro([])),
      (e) => e instanceof RegistryError && e.status === 400,
    );
  });
});

describe("REST routes", () => {
  const noBody = async () => {
    throw new Error("no body expected");
  };
  it("decode subjects with slashes, answer Confluent's shapes and errors", async () => {
    const { r } = registry();
    assert.deepEqual(pathParts("/subjects/a%2Fb/versions"), ["subjects", "a/b", "versions"]);
    assert.equal(pathParts("/subjects/%E0%A4%A"), null);
    const reg = await route(r, "POST", ["subjects", "a/b", "versions"], new URLSearchParams(), async () => ({
      schema: '"string"',
    }));
    assert.deepEqual(reg.body, { id: 1 });
    const v = await route(r, "GET", ["subjects", "a/b", "versions", "latest"], new URLSearchParams(), noBody);
    assert.deepEqual(v.body, { subject: "a/b", version: 1, id: 1, schema: '"string"' });
    const raw = await route(r, "GET", ["schemas", "ids", "1", "schema"], new URLSearchParams(), noBody);
    assert.equal(raw.raw, true);
    const cfg = await route(r, "GET", ["config", "a/b"], new URLSearchParams("defaultToGlobal=true"), noBody);
    assert.deepEqual(cfg.body, { compatibilityLevel: "BACKWARD" });
    await assert.rejects(
      route(r, "GET", ["config", "a/b"], new URLSearchParams(), noBody),
      (e) => code(e) === 40408,
    );
    const compat = await route(
      r,
      "POST",
      ["compatibility", "subjects", "a/b", "versions", "latest"],
      new URLSearchParams("verbose=true"),
      async () => ({ schema: '"int"' }),
    );
    assert.equal((compat.body as { is_compatible: boolean }).is_compatible, false);
    assert.ok(((compat.body as { messages: string[] }).messages ?? []).length > 0);
    await assert.rejects(
      route(r, "POST", ["subjects", "a/b", "versions"], new URLSearchParams(), async () => ({ schema: 5 })),
      (e) => code(e) === 42201,
    );
    await assert.rejects(
      route(r, "POST", ["subjects", "a/b", "versions"], new URLSearchParams(), async () => ({
        schema: '"string"',
        schemaType: "XML",
      })),
      (e) => code(e) === 42201,
    );
    await assert.rejects(
      route(r, "PUT", ["subjects"], new URLSearchParams(), noBody),
      (e) => code(e) === 405,
    );
    await assert.rejects(
      route(r, "POST", ["subjects", "a/b", "versions"], new URLSearchParams(), async () => ({
        schema: '"long"',
      })),
      (e) => code(e) === 409, // string -> long is not BACKWARD
    );
    await r.setCompatibility("a/b", "NONE");
    await route(r, "POST", ["subjects", "a/b", "versions"], new URLSearchParams(), async () => ({
      schema: '"long"',
    }));
    const all = await route(r, "GET", ["schemas"], new URLSearchParams(), noBody);
    assert.deepEqual(
      (all.body as { version: number }[]).map((v) => v.version),
      [1, 2],
    );
    const latest = await route(
      r,
      "GET",
      ["schemas"],
      new URLSearchParams("latestOnly=true&subjectPrefix=a"),
      noBody,
    );
    assert.deepEqual(latest.body, [{ subject: "a/b", version: 2, id: 2, schema: '"long"' }]);
    assert.deepEqual((await route(r, "GET", ["contexts"], new URLSearchParams(), noBody)).body, [":.:"]);
  });
});
