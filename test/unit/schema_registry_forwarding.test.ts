// The registry's HTTP listener in a cluster (server.ts with ClusterHooks), over a real
// listener and a fake cluster: writes go to forward() with the request as received (method,
// path and query, the caller's Authorization, the body, whether it was itself forwarded) and the
// primary's answer is passed on verbatim, once this broker's view reached the offset the primary
// gave (read-your-writes); when forward() says this broker is the primary the
// write is handled here and its answer carries the offset its view reached; reads and the POSTs
// that change nothing (lookup, compatibility) are never forwarded and wait for ready(), whose
// refusal is the answer. And the registry with hooks: a change waits for beforeChange, and with
// appliesOwnWrites=false its records are applied only when they come back (here: by hand).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Errors } from "../../src/schema_registry/errors.ts";
import { SchemaRegistry } from "../../src/schema_registry/registry.ts";
import type { SchemasRecord } from "../../src/schema_registry/schemas_records.ts";
import {
  type ForwardRequest,
  isWrite,
  OFFSET_HEADER,
  type RegistryServer,
  startRegistryServer,
} from "../../src/schema_registry/server.ts";

const LIMITS = { maxSchemas: 100, maxSubjectLength: 255, maxReferences: 10 };
const SCHEMA = JSON.stringify({ type: "record", name: "R", fields: [{ name: "a", type: "string" }] });

describe("registry listener in a cluster", () => {
  let server: RegistryServer;
  let base: string;
  const registry = new SchemaRegistry(async () => {}, LIMITS);
  const forwarded: ForwardRequest[] = [];
  let primary = false;
  let ready: () => Promise<void> = async () => {};
  let readyCalls = 0;
  /** waitApplied's calls, and what it waits for (resolved at once unless a test holds it). */
  const waited: number[] = [];
  let applied: Promise<void> = Promise.resolve();

  before(async () => {
    server = await startRegistryServer(registry, {
      host: "127.0.0.1",
      port: 0,
      tls: null,
      maxRequestBytes: 1 << 20,
      authenticate: null,
      failedAuthenticationDelayMs: 0,
      log: () => {},
      cluster: {
        ready: () => {
          readyCalls++;
          return ready();
        },
        forward: async (r) => {
          forwarded.push(r);
          if (primary) return null;
          return {
            status: 200,
            contentType: "application/vnd.schemaregistry.v1+json",
            body: Buffer.from('{"id":77}'),
            offset: 9,
          };
        },
        appliedOffset: () => 42,
        waitApplied: (offset) => {
          waited.push(offset);
          return applied;
        },
      },
    });
    base = `http://127.0.0.1:${server.port}`;
  });

  after(async () => {
    await server?.close();
  });

  it("forwards writes as received and passes the primary's answer on", async () => {
    forwarded.length = 0;
    primary = false;
    const body = JSON.stringify({ schema: SCHEMA });
    const res = await fetch(`${base}/subjects/a%2Fb/versions?normalize=true`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Basic YWxpY2U6cw==" },
      body,
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 77 });
    assert.equal(forwarded.length, 1);
    const f = forwarded[0];
    assert.equal(f.method, "POST");
    assert.equal(f.path, "/subjects/a%2Fb/versions?normalize=true");
    assert.equal(f.authorization, "Basic YWxpY2U6cw==");
    assert.equal(f.contentType, "application/json");
    assert.equal(f.body.toString(), body);
    assert.equal(f.forwarded, false);
    // Nothing was registered here.
    assert.equal(registry.schemaCount, 0);
    for (const [method, path] of [
      ["DELETE", "/subjects/s"],
      ["DELETE", "/subjects/s/versions/1"],
      ["PUT", "/config"],
      ["DELETE", "/config/s"],
      ["PUT", "/mode/s"],
      ["DELETE", "/mode"],
    ]) {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { "x-milena-forwarded": "2", "content-type": "application/json" },
        body: method === "PUT" ? "{}" : undefined,
      });
      assert.equal(r.status, 200, `${method} ${path}`);
      await r.body?.cancel();
      assert.equal(forwarded.at(-1)!.path, path);
      assert.equal(forwarded.at(-1)!.forwarded, true);
    }
    assert.equal(forwarded.length, 7);
  });

  it("answers a forwarded write only once its own view reached the primary's offset", async () => {
    primary = false;
    waited.length = 0;
    let release!: () => void;
    applied = new Promise((r) => {
      release = r;
    });
    let answered = false;
    const res = fetch(`${base}/config`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '{"compatibility":"FULL"}',
    }).then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(waited, [9]);
    assert.equal(answered, false, "answered before the view reached the write");
    release();
    assert.equal((await res).status, 200);
    applied = Promise.resolve();
  });

  it("handles writes itself as primary, with the offset its view reached", async () => {
    forwarded.length = 0;
    primary = true;
    const res = await fetch(`${base}/subjects/s/versions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ schema: SCHEMA }),
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 1 });
    assert.equal(res.headers.get(OFFSET_HEADER), "42");
    assert.equal(forwarded.length, 1);
  });

  it("answers reads and the POSTs that change nothing here, after ready()", async () => {
    forwarded.length = 0;
    primary = false;
    const calls = readyCalls;
    const lookup = await fetch(`${base}/subjects/s`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ schema: SCHEMA }),
    });
    assert.equal(lookup.status, 200);
    assert.equal(((await lookup.json()) as { id: number }).id, 1);
    const compat = await fetch(`${base}/compatibility/subjects/s/versions/latest`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ schema: SCHEMA }),
    });
    assert.deepEqual(await compat.json(), { is_compatible: true });
    const byId = await fetch(`${base}/schemas/ids/1`);
    assert.equal(byId.status, 200);
    await byId.body?.cancel();
    assert.equal(forwarded.length, 0);
    assert.equal(readyCalls, calls + 3);
    ready = async () => {
      throw Errors.timeout("not caught up");
    };
    const refused = await fetch(`${base}/subjects`);
    assert.equal(refused.status, 500);
    assert.equal(((await refused.json()) as { error_code: number }).error_code, 50002);
    const root = await fetch(`${base}/`);
    assert.equal(root.status, 200, "GET / does not wait");
    await root.body?.cancel();
    ready = async () => {};
  });

  it("tells writes from reads", () => {
    assert.equal(isWrite("POST", ["subjects", "s", "versions"]), true);
    assert.equal(isWrite("POST", ["subjects", "s"]), false);
    assert.equal(isWrite("GET", ["subjects", "s", "versions"]), false);
    assert.equal(isWrite("POST", ["compatibility", "subjects", "s", "versions"]), false);
    assert.equal(isWrite("GET", ["config"]), false);
    assert.equal(isWrite("PUT", ["config"]), true);
  });
});

describe("SchemaRegistry following a log", () => {
  it("waits for beforeChange, and applies its records only when they come back", async () => {
    const written: SchemasRecord[] = [];
    let release!: () => void;
    const caughtUp = new Promise<void>((r) => {
      release = r;
    });
    const order: string[] = [];
    const r = new SchemaRegistry(
      async (records) => {
        order.push("append");
        written.push(...records);
      },
      LIMITS,
      {
        beforeChange: async () => {
          order.push("catch up");
          await caughtUp;
        },
        appliesOwnWrites: false,
      },
    );
    // Another primary's record, read from the log while the change waits: id 5 is taken.
    const pending = r.register("s", { schema: SCHEMA, schemaType: "AVRO", references: [] });
    await new Promise((x) => setTimeout(x, 20));
    assert.deepEqual(order, ["catch up"]);
    r.apply({
      keytype: "SCHEMA",
      subject: "t",
      version: 1,
      value: {
        subject: "t",
        version: 1,
        id: 5,
        schemaType: "AVRO",
        references: [],
        schema: JSON.stringify({ type: "record", name: "T", fields: [] }),
        deleted: false,
      },
    });
    release();
    assert.equal(await pending, 6, "the next id after the log's highest");
    assert.deepEqual(order, ["catch up", "append"]);
    assert.equal(written.length, 1);
    // Not applied by the registry itself: only when the log hands them back (ClusterTail).
    assert.deepEqual(r.listSubjects(false), ["t"]);
    for (const x of written) r.apply(x);
    assert.deepEqual(r.listSubjects(false), ["s", "t"]);
    assert.equal(r.schemaById(6).schema, SCHEMA);
    const refusing = new SchemaRegistry(async () => {}, LIMITS, {
      beforeChange: async () => {
        throw Errors.unknownPrimary("not the primary");
      },
      appliesOwnWrites: false,
    });
    await assert.rejects(
      refusing.register("s", { schema: SCHEMA, schemaType: "AVRO", references: [] }),
      (e: Error & { errorCode?: number }) => e.errorCode === 50004,
    );
  });
});
