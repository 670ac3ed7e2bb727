// The broker's answers against Kafka's own message specs: for every API and every version the
// broker advertises in ApiVersions, a request built from the spec (its defaults, made answerable:
// acks=1, no waiting) goes to a real broker over TCP, and the response must decode with the
// derived codec (src/protocol/schema_codec.ts over generated/messages.ts) to its last byte and
// encode back to the same bytes. A hand-written codec that drifts from the spec in any version
// (a field in the wrong version, a missing tagged-field section) fails here.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import type { FieldSpec, MessageSpec } from "../../src/protocol/schema.ts";
import { decodeMessage, defaultValue, encodeMessage, type Struct } from "../../src/protocol/schema_codec.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

function specFor(apiKey: number, type: "request" | "response"): MessageSpec {
  const s = Object.values(MESSAGES).find((m) => m.apiKey === apiKey && m.type === type);
  assert.ok(s, `no spec for api ${apiKey} ${type}`);
  return s;
}

const TOPIC = "spec-topic";

/**
 * A struct of defaults, where each topic list holds TOPIC and each partition list partition 0:
 * the answers then carry their per-topic and per-partition fields too.
 */
function structOf(fields: readonly FieldSpec[], version: number): Struct {
  const value: Struct = {};
  for (const f of fields) {
    value[f.name] = defaultValue(f, version);
    const sub = f.fields;
    if (!f.type.startsWith("[]") || sub === undefined) continue;
    const named = sub.find((x) => x.type === "string" && (x.name === "name" || x.name === "topic"));
    const indexed = sub.find(
      (x) =>
        x.type === "int32" && (x.name === "partition" || x.name === "partitionIndex" || x.name === "index"),
    );
    if (named === undefined && indexed === undefined) continue;
    const one = structOf(sub, version);
    if (named) one[named.name] = TOPIC;
    if (indexed) one[indexed.name] = 0;
    value[f.name] = [one];
  }
  return value;
}

/** What the spec gives when nothing is said, with the fields that would make no answer set. */
function requestOf(spec: MessageSpec, version: number): Struct {
  const value = structOf(spec.fields, version);
  const set = (name: string, v: unknown) => {
    if (name in value) value[name] = v;
  };
  set("acks", 1); // Produce: acks=0 gets no response
  set("timeoutMs", 5000);
  set("replicaId", -1); // Fetch, ListOffsets: a consumer, not a follower
  set("maxWaitMs", 0);
  set("maxBytes", 1024 * 1024);
  set("sessionEpoch", -1);
  set("clientSoftwareName", "milena-spec-test");
  set("clientSoftwareVersion", "1");
  set("groupId", "spec-conformance");
  set("key", "spec-conformance"); // FindCoordinator
  set("sessionTimeoutMs", 10_000);
  set("rebalanceTimeoutMs", 1000);
  set("protocolType", "consumer");
  return value;
}

describe("every advertised API version answers as Kafka's spec describes", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "group.initial.rebalance.delay.ms": 0 } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic(TOPIC, 1)).errorCode, 0);
    // One record, so Fetch answers carry a record set.
    const produced = await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topics: [
        {
          name: TOPIC,
          partitions: [{ partitionIndex: 0, records: encodeBatch([{ key: "k", value: "v" }]) }],
        },
      ],
    });
    assert.equal(produced.responses[0].partitions[0].errorCode, 0);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  it("decodes to the last byte and re-encodes identically", async () => {
    const advertised = await c.request(apiVersionsCodec, 3, {
      clientSoftwareName: "milena-spec-test",
      clientSoftwareVersion: "1",
    });
    let checked = 0;
    const problems: string[] = [];
    for (const k of advertised.apiKeys) {
      const reqSpec = specFor(k.apiKey, "request");
      const resSpec = specFor(k.apiKey, "response");
      assert.ok(
        k.minVersion >= reqSpec.valid[0] && k.maxVersion <= reqSpec.valid[1],
        `${reqSpec.name}: advertised ${k.minVersion}-${k.maxVersion}, Kafka defines ${reqSpec.valid.join("-")}`,
      );
      for (let v = k.minVersion; v <= k.maxVersion; v++) {
        const label = `${resSpec.name} v${v}`;
        try {
          const r = await c.requestRaw(k.apiKey, v, (w) =>
            encodeMessage(reqSpec, v, w, requestOf(reqSpec, v)),
          );
          const start = r.offset;
          const value = decodeMessage(resSpec, v, r);
          if (r.remaining !== 0) {
            problems.push(`${label}: ${r.remaining} bytes after the response`);
            continue;
          }
          const w = new Writer(64);
          encodeMessage(resSpec, v, w, value);
          const again = Buffer.concat(w.chunks());
          const sent = Buffer.from(r.buf.subarray(start, r.end));
          if (!again.equals(sent)) problems.push(`${label}: re-encoded bytes differ`);
          checked++;
        } catch (e) {
          problems.push(`${label}: ${(e as Error).message}`);
          if (c.closed) c = await RawClient.tcp(broker.bootstrap);
        }
      }
    }
    assert.deepEqual(problems, []);
    const total = advertised.apiKeys.reduce((n, k) => n + k.maxVersion - k.minVersion + 1, 0);
    assert.equal(checked, total);
    assert.ok(total > 70, `${total} versions advertised`);
  });
});
