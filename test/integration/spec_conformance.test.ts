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
import type { MessageSpec } from "../../src/protocol/schema.ts";
import { decodeMessage, encodeMessage } from "../../src/protocol/schema_codec.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { specRequest } from "../helpers/spec_requests.ts";
import { RawClient } from "./raw_client.ts";

function specFor(apiKey: number, type: "request" | "response"): MessageSpec {
  const s = Object.values(MESSAGES).find((m) => m.apiKey === apiKey && m.type === type);
  assert.ok(s, `no spec for api ${apiKey} ${type}`);
  return s;
}

const TOPIC = "spec-topic";
const requestOf = (spec: MessageSpec, version: number) =>
  specRequest(spec, version, TOPIC, "spec-conformance");

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
