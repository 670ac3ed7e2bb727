import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RequestHeader } from "../../src/protocol/api.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  finishFrame,
  isFlexibleVersion,
  requestHeaderVersion,
  responseHeaderVersion,
  startRequestFrame,
  startResponseFrame,
} from "../../src/protocol/header.ts";
import { metadataCodec } from "../../src/protocol/metadata.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { decodeAll, encodeWith, fixture, written } from "../fixtures/protocol/helpers.ts";

describe("header versions", () => {
  test("request header v2 only for flexible versions", () => {
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 0), 1);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 2), 1);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 3), 2);
    assert.equal(requestHeaderVersion(ApiKey.ApiVersions, 4), 2);
    assert.equal(requestHeaderVersion(ApiKey.Produce, 7), 1);
    assert.equal(requestHeaderVersion(ApiKey.Produce, 9), 2);
    assert.equal(requestHeaderVersion(ApiKey.Fetch, 11), 1);
    assert.equal(requestHeaderVersion(ApiKey.Fetch, 12), 2);
    assert.equal(requestHeaderVersion(ApiKey.Metadata, 6), 1);
    assert.equal(requestHeaderVersion(ApiKey.Metadata, 9), 2);
    assert.equal(requestHeaderVersion(ApiKey.DescribeConfigs, 4), 2);
    assert.equal(requestHeaderVersion(999, 50), 1, "unknown api key: non-flexible");
    assert.equal(isFlexibleVersion(ApiKey.CreateTopics, 4), false);
    assert.equal(isFlexibleVersion(ApiKey.CreateTopics, 5), true);
  });

  test("response header v0 for ApiVersions at every version (KIP-511)", () => {
    for (let v = 0; v <= 5; v++) assert.equal(responseHeaderVersion(ApiKey.ApiVersions, v), 0);
    assert.equal(responseHeaderVersion(ApiKey.Metadata, 6), 0);
    assert.equal(responseHeaderVersion(ApiKey.Metadata, 9), 1);
    assert.equal(responseHeaderVersion(ApiKey.Fetch, 12), 1);
  });
});

describe("request header", () => {
  test("v1 round trip, with and without client id", () => {
    for (const clientId of ["milena", "", null]) {
      const h: RequestHeader = { apiKey: ApiKey.Fetch, apiVersion: 11, correlationId: -7, clientId };
      const bytes = encodeWith((w) => encodeRequestHeader(w, h));
      assert.equal(bytes.length, 10 + (clientId?.length ?? 0));
      assert.deepStrictEqual(decodeAll(bytes, decodeRequestHeader), h);
    }
  });

  test("v2 round trip: the client id keeps its int16 length, then an empty tag buffer", () => {
    const h: RequestHeader = { apiKey: ApiKey.ApiVersions, apiVersion: 3, correlationId: 1, clientId: "ab" };
    const bytes = encodeWith((w) => encodeRequestHeader(w, h));
    assert.equal(bytes.toString("hex"), "00120003000000010002616200");
    assert.deepStrictEqual(decodeAll(bytes, decodeRequestHeader), h);
  });

  test("v2 skips tagged fields", () => {
    // tag buffer: 1 field, tag 5, 2 bytes
    const bytes = Buffer.from("001200030000000100016101050201020304", "hex");
    const r = new Reader(bytes);
    assert.deepStrictEqual(decodeRequestHeader(r), {
      apiKey: 18,
      apiVersion: 3,
      correlationId: 1,
      clientId: "a",
    });
    assert.equal(r.offset, 16);
  });

  test("truncated header throws ProtocolError", () => {
    assert.throws(() => decodeRequestHeader(new Reader(Buffer.from("0003000600", "hex"))), ProtocolError);
  });

  test("kafkajs frame (header v1 + Metadata v6 body)", () => {
    const r = new Reader(fixture("kafkajs", "frame_metadata_v6"));
    assert.deepStrictEqual(decodeRequestHeader(r), {
      apiKey: ApiKey.Metadata,
      apiVersion: 6,
      correlationId: 42,
      clientId: "milena-fixture",
    });
    // v6 has no topic ids or authorized-operation flags: they decode as their defaults
    const noId = new Uint8Array(16);
    assert.deepStrictEqual(metadataCodec.decodeRequest(r, 6), {
      topics: [
        { topicId: noId, name: "topic-a" },
        { topicId: noId, name: "topic-b" },
      ],
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    assert.equal(r.remaining, 0);
  });

  test("kcat frame (header v2 + ApiVersions v3 body)", () => {
    const r = new Reader(fixture("kcat", "api_versions_v3"));
    const h = decodeRequestHeader(r);
    assert.equal(h.apiKey, ApiKey.ApiVersions);
    assert.equal(h.apiVersion, 3);
    assert.equal(h.clientId, "rdkafka");
  });
});

describe("response header and frames", () => {
  test("v0 is the correlation id; v1 adds a tag buffer", () => {
    assert.equal(
      encodeWith((w) => encodeResponseHeader(w, ApiKey.Metadata, 6, 9)).toString("hex"),
      "00000009",
    );
    assert.equal(
      encodeWith((w) => encodeResponseHeader(w, ApiKey.ApiVersions, 3, 9)).toString("hex"),
      "00000009",
    );
    assert.equal(
      encodeWith((w) => encodeResponseHeader(w, ApiKey.Metadata, 9, 9)).toString("hex"),
      "0000000900",
    );
    const r = new Reader(Buffer.from("0000000900", "hex"));
    assert.equal(decodeResponseHeader(r, ApiKey.Metadata, 9), 9);
    assert.equal(r.remaining, 0);
    assert.equal(decodeResponseHeader(new Reader(Buffer.from("00000009", "hex")), ApiKey.ApiVersions, 3), 9);
  });

  test("response frame size counts the spliced chunks", () => {
    const w = new Writer();
    startResponseFrame(w, ApiKey.Fetch, 11, 77);
    w.externalChunks([Buffer.from("abc"), Buffer.from("de")]);
    finishFrame(w);
    const frame = written(w);
    assert.equal(frame.toString("hex"), `0000000d0000004d00000005${Buffer.from("abcde").toString("hex")}`);
    assert.equal(frame.readInt32BE(0), frame.length - 4);
  });

  test("request frame", () => {
    const w = new Writer();
    startRequestFrame(w, { apiKey: ApiKey.ApiVersions, apiVersion: 0, correlationId: 1, clientId: null });
    finishFrame(w);
    assert.equal(written(w).toString("hex"), "0000000a00120000" + "00000001ffff");
  });
});
