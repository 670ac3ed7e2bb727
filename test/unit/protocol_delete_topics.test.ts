import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ApiCodec } from "../../src/protocol/api.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
  deleteTopicsCodec,
} from "../../src/protocol/delete_topics.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { Writer } from "../../src/protocol/writer.ts";
import {
  decodeRequestFixture,
  encodeWith,
  kafkajsDecode,
  kafkajsResponse,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = deleteTopicsCodec;

const NO_ID = new Uint8Array(16);
const ID_A = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const ID_X = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 - i);

/**
 * Encode, decode from a plain Uint8Array (so topic ids decode as Uint8Array, not Buffer), compare
 * with the value, re-encode to the same bytes; a frame one byte short throws.
 */
function roundTrip<T>(encode: (w: Writer, value: T) => void, decode: (r: Reader) => T, value: T): Uint8Array {
  const w = new Writer(16);
  encode(w, value);
  const bytes = w.view().slice();
  const r = new Reader(bytes);
  const decoded = decode(r);
  assert.equal(r.remaining, 0, "bytes left after decoding");
  assert.deepStrictEqual(decoded, value);
  const again = new Writer(16);
  encode(again, decoded);
  assert.deepStrictEqual(again.view(), bytes, "re-encoding the decoded value gives other bytes");
  assert.throws(() => decode(new Reader(bytes.subarray(0, bytes.length - 1))), ProtocolError);
  return bytes;
}
const requestRoundTrip = <Req, Res>(c: ApiCodec<Req, Res, Req, unknown>, v: number, req: Req) =>
  roundTrip<Req>(
    (w, x) => c.encodeRequest(w, v, x),
    (r) => c.decodeRequest(r, v),
    req,
  );
const responseRoundTrip = <Req, Res>(c: ApiCodec<Req, Res, unknown, Res>, v: number, res: Res) =>
  roundTrip<Res>(
    (w, x) => c.encodeResponse(w, v, x),
    (r) => c.decodeResponse(r, v),
    res,
  );

/** v0-5 name topics in topic_names; v6 in topics, by name or by id. */
const request = (v: number, names: string[], timeoutMs: number): DeleteTopicsRequest =>
  v <= 5
    ? { topics: [], topicNames: names, timeoutMs }
    : { topics: names.map((name) => ({ name, topicId: NO_ID })), topicNames: [], timeoutMs };

const response = (v: number, errorCode = 0): DeleteTopicsResponse => ({
  throttleTimeMs: v >= 1 ? 2 : 0,
  responses: [
    {
      name: "topic-b",
      topicId: NO_ID,
      errorCode,
      errorMessage: v >= 5 && errorCode !== 0 ? "This server does not host this topic-partition." : null,
    },
    { name: "topic-a", topicId: v >= 6 ? ID_A : NO_ID, errorCode: 0, errorMessage: null },
  ],
});

describe("DeleteTopics codec", () => {
  test("advertises 0-6", () => {
    assert.equal(codec.key, ApiKey.DeleteTopics);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v, ["a", "b", ""], 30000));
      requestRoundTrip(codec, v, request(v, [], 0));
    });
    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v, 3));
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v6: topics by id (name null) and by name; answered with ids, an unknown id's name null", () => {
    const req: DeleteTopicsRequest = {
      topics: [
        { name: null, topicId: ID_A },
        { name: "topic-b", topicId: NO_ID },
      ],
      topicNames: [],
      timeoutMs: 5000,
    };
    const bytes = requestRoundTrip(codec, 6, req);
    assert.equal(
      Buffer.from(bytes).toString("hex"),
      "03" +
        ("00" + Buffer.from(ID_A).toString("hex") + "00") +
        ("08" + Buffer.from("topic-b").toString("hex") + "00".repeat(16) + "00") +
        "00001388" +
        "00",
    );
    responseRoundTrip(codec, 6, {
      throttleTimeMs: 0,
      responses: [
        { name: "topic-a", topicId: ID_A, errorCode: 0, errorMessage: null },
        {
          name: null,
          topicId: ID_X,
          errorCode: 100,
          errorMessage: "This server does not host this topic ID.",
        },
      ],
    });
  });

  test("v0-5 have no topic ids: a name is required", () => {
    const byId: DeleteTopicsResponse = {
      throttleTimeMs: 0,
      responses: [{ name: null, topicId: ID_X, errorCode: 100, errorMessage: null }],
    };
    for (const v of [0, 5])
      assert.throws(() => encodeWith((w) => codec.encodeResponse(w, v, byId)), RangeError);
  });

  test("v4 is flexible, v5 adds error_message", () => {
    const one = (v: number) =>
      encodeWith((w) =>
        codec.encodeResponse(w, v, {
          throttleTimeMs: 0,
          responses: [{ name: "t", errorCode: 3, errorMessage: "m" }],
        }),
      ).toString("hex");
    assert.equal(one(3), "00000000" + "00000001" + "000174" + "0003");
    assert.equal(one(4), "00000000" + "02" + "0274" + "0003" + "00" + "00");
    assert.equal(one(5), "00000000" + "02" + "0274" + "0003" + "026d" + "00" + "00");
  });
});

describe("DeleteTopics and kafkajs 2.2.4", () => {
  for (const v of [0, 1]) {
    test(`v${v} request fixture`, () => {
      assert.deepStrictEqual(
        decodeRequestFixture(codec, v, "kafkajs", `delete_topics_v${v}`),
        request(v, ["topic-a", "topic-b"], 5000),
      );
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const decoded = await kafkajsDecode(
        "deleteTopics",
        v,
        encodeWith((w) => codec.encodeResponse(w, v, response(v))),
      );
      assert.deepStrictEqual(decoded, {
        ...(v >= 1 ? { throttleTime: 0, clientSideThrottleTime: 2 } : {}),
        topicErrors: [
          { topic: "topic-a", errorCode: 0 },
          { topic: "topic-b", errorCode: 0 },
        ],
      });
    });

    test(`v${v} kafkajs sees a topic error`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v, 3)));
      const m = kafkajsResponse("deleteTopics", v);
      await assert.rejects(m.parse(await m.decode(bytes)), { type: "UNKNOWN_TOPIC_OR_PARTITION" });
    });
  }
});
