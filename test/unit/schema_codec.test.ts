// The derived codec (src/protocol/schema_codec.ts over generated/messages.ts, from Kafka's own
// message specs): the generated file is what the specs give; every request a real client sent
// (kafkajs and kcat fixtures, every version captured) decodes to the end and encodes back to the
// same bytes; flexible versions' compact types and tagged fields, known and unknown, round-trip.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import { Reader } from "../../src/protocol/reader.ts";
import { inRange, type MessageSpec } from "../../src/protocol/schema.ts";
import { decodeMessage, encodeMessage, type Struct } from "../../src/protocol/schema_codec.ts";
import { outputs } from "../../src/protocol/spec/generate.ts";
import { Writer } from "../../src/protocol/writer.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/protocol/", import.meta.url));

function encoded(spec: MessageSpec, version: number, value: Struct): Buffer {
  const w = new Writer(16);
  encodeMessage(spec, version, w, value);
  return Buffer.concat(w.chunks());
}

function roundTrip(spec: MessageSpec, version: number, bytes: Buffer, from = 0): Struct {
  const r = new Reader(bytes, from);
  const value = decodeMessage(spec, version, r);
  assert.equal(r.remaining, 0, `${spec.name} v${version}: ${r.remaining} bytes left`);
  assert.deepEqual(
    encoded(spec, version, value),
    bytes.subarray(from),
    `${spec.name} v${version} re-encoded`,
  );
  return value;
}

const camel = (snake: string) => snake.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());

function specFor(apiKey: number, type: "request" | "response"): MessageSpec {
  const s = Object.values(MESSAGES).find((m) => m.apiKey === apiKey && m.type === type);
  assert.ok(s, `no spec for api ${apiKey} ${type}`);
  return s;
}

describe("generated message definitions", () => {
  it("src/protocol/generated/ is what the vendored specs give (regenerate: spec/generate.ts)", () => {
    for (const { path, text } of outputs()) {
      assert.ok(
        readFileSync(path, "utf8") === text,
        `${path} is stale: node --import tsx src/protocol/spec/generate.ts`,
      );
    }
  });

  it("holds every request and response of the APIs the broker serves, and both headers", () => {
    for (const name of [
      "RequestHeader",
      "ResponseHeader",
      "ProduceRequest",
      "FetchResponse",
      "ApiVersionsResponse",
    ])
      assert.ok(MESSAGES[name], name);
    assert.deepEqual(MESSAGES.ProduceRequest.valid, [0, 11]);
    assert.deepEqual(MESSAGES.FetchRequest.flexible, [12, 32767]);
  });
});

describe("client requests round-trip through the derived codec", () => {
  it("kafkajs 2.2.4: every captured body, every version", () => {
    let n = 0;
    for (const file of readdirSync(join(FIXTURES, "kafkajs"))) {
      const m = /^([a-z_]+?)_v(\d+)\.hex$/.exec(file);
      if (m === null || m[1] === "frame_metadata") continue;
      const spec = MESSAGES[`${camel(m[1])}Request`];
      assert.ok(spec, file);
      const bytes = Buffer.from(readFileSync(join(FIXTURES, "kafkajs", file), "utf8").trim(), "hex");
      roundTrip(spec, Number(m[2]), bytes);
      n++;
    }
    assert.ok(n >= 60, `${n} fixtures`);
  });

  it("kcat (librdkafka 2.0.2): whole frames, header v1 and v2 (flexible) included", () => {
    for (const file of readdirSync(join(FIXTURES, "kcat"))) {
      const bytes = Buffer.from(readFileSync(join(FIXTURES, "kcat", file), "utf8").trim(), "hex");
      const apiKey = bytes.readInt16BE(0);
      const version = bytes.readInt16BE(2);
      const body = specFor(apiKey, "request");
      const headerVersion = inRange(body.flexible, version) ? 2 : 1;
      const r = new Reader(bytes);
      const header = decodeMessage(MESSAGES.RequestHeader, headerVersion, r);
      assert.equal(header.clientId, "rdkafka", file);
      const headerBytes = encoded(MESSAGES.RequestHeader, headerVersion, header);
      assert.deepEqual(headerBytes, bytes.subarray(0, r.offset), `${file} header`);
      roundTrip(body, version, bytes, r.offset);
    }
  });
});

describe("flexible versions", () => {
  it("ApiVersionsResponse v3: compact arrays and strings, tagged fields known and unknown", () => {
    const spec = MESSAGES.ApiVersionsResponse;
    const value: Struct = {
      errorCode: 0,
      apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }],
      throttleTimeMs: 0,
      supportedFeatures: [{ name: "metadata.version", minVersion: 1, maxVersion: 21 }],
      finalizedFeaturesEpoch: 7,
      finalizedFeatures: [],
      zkMigrationReady: false,
    };
    const bytes = encoded(spec, 3, value);
    const back = roundTrip(spec, 3, bytes);
    assert.deepEqual(back.supportedFeatures, value.supportedFeatures);
    assert.equal(back.finalizedFeaturesEpoch, 7);
    // finalizedFeatures ([]) and zkMigrationReady (false) are their defaults: not written.
    // An unknown tag (99) is kept and written back, after the known ones (tag order).
    const tagged = encoded(spec, 3, { ...back, _unknownTags: [{ tag: 99, data: Buffer.from([1, 2, 3]) }] });
    const again = roundTrip(spec, 3, tagged);
    assert.deepEqual(again._unknownTags, [{ tag: 99, data: Uint8Array.from([1, 2, 3]) }]);
  });

  it("null and non-null strings, compact (flexible) and int16-prefixed alike", () => {
    const value: Struct = {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      clusterId: "c-1",
      controllerId: 1,
      brokers: [{ brokerId: 1, host: "h", port: 9092, rack: null }],
      clusterAuthorizedOperations: -2147483648,
    };
    const flexible = encoded(MESSAGES.DescribeClusterResponse, 0, value);
    // errorMessage null is uvarint 0 (compact), not int16 -1
    assert.equal(flexible.readUInt8(6), 0);
    assert.deepEqual(roundTrip(MESSAGES.DescribeClusterResponse, 0, flexible).brokers, value.brokers);
    const old = encoded(MESSAGES.CreateTopicsResponse, 1, {
      topics: [{ name: "t", errorCode: 0, errorMessage: null }],
    });
    assert.deepEqual(old, Buffer.from("00000001" + "000174" + "0000" + "ffff", "hex"));
    roundTrip(MESSAGES.CreateTopicsResponse, 1, old);
  });

  it("a version the spec does not have is refused, as are bytes that do not fit", () => {
    assert.throws(
      () => decodeMessage(MESSAGES.ProduceRequest, 12, new Reader(Buffer.alloc(8))),
      /no version 12/,
    );
    assert.throws(
      () => decodeMessage(MESSAGES.MetadataRequest, 9, new Reader(Buffer.from([0x05, 0x02]))),
      /need|exceeds/,
    );
  });

  it("decoded uuids and unknown tagged fields are copies: reusing the frame does not change them", () => {
    const w = new Writer();
    encodeMessage(MESSAGES.MetadataRequest, 12, w, {
      topics: [{ topicId: new Uint8Array(16).fill(7), name: null }],
      _unknownTags: [{ tag: 90, data: Uint8Array.from([1, 2, 3]) }],
    });
    // A Buffer frame, as the broker's sockets give (Buffer's slice is a view, not a copy).
    const frame = Buffer.from(w.view());
    const req = decodeMessage(MESSAGES.MetadataRequest, 12, new Reader(frame));
    frame.fill(0);
    const topics = req.topics as Struct[];
    assert.deepEqual([...(topics[0].topicId as Uint8Array)], new Array(16).fill(7));
    const tags = req._unknownTags as { tag: number; data: Uint8Array }[];
    assert.deepEqual([tags[0].tag, [...tags[0].data]], [90, [1, 2, 3]]);
  });
});
