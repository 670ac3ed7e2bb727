import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import {
  type ProduceRequest,
  type ProduceResponse,
  produceCodec,
  produceErrorResponse,
} from "../../src/protocol/produce.ts";
import {
  decodeAll,
  decodeRequestFixture,
  encodeWith,
  fixture,
  kafkajsDecode,
  kafkajsResponse,
  requestRoundTrip,
  responseRoundTrip,
  versions,
} from "../fixtures/protocol/helpers.ts";

const codec = produceCodec;

const request = (v: number): ProduceRequest => ({
  transactionalId: v >= 3 ? "txn" : null,
  acks: 1,
  timeoutMs: 1500,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, records: Buffer.from("0102030405", "hex") },
        { partitionIndex: 3, records: Buffer.alloc(0) },
      ],
    },
    { name: "topic-b", partitions: [{ partitionIndex: 1, records: null }] },
  ],
});

const response = (v: number): ProduceResponse => ({
  responses: [
    {
      name: "topic-a",
      partitions: [
        {
          partitionIndex: 0,
          errorCode: 0,
          baseOffset: 2 ** 40 + 3,
          logAppendTimeMs: v >= 2 ? 1700000000123 : -1,
          logStartOffset: v >= 5 ? 17 : -1,
        },
        { partitionIndex: 3, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: -1 },
      ],
    },
  ],
  throttleTimeMs: v >= 1 ? 9 : 0,
});

describe("Produce codec", () => {
  test("advertises 0-7", () => {
    assert.equal(codec.key, ApiKey.Produce);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
    });

    test(`v${v} response round trip`, () => {
      responseRoundTrip(codec, v, response(v));
    });
  }

  test("v3+ puts transactional_id first; v0-2 have none", () => {
    const v2 = encodeWith((w) => codec.encodeRequest(w, 2, request(2)));
    const v3 = encodeWith((w) => codec.encodeRequest(w, 3, request(3)));
    assert.equal(v3.length - v2.length, 2 + 3);
    assert.equal(v3.subarray(0, 5).toString("latin1"), "\x00\x03txn");
  });

  test("records are views into the frame, not copies", () => {
    const bytes = encodeWith((w) => codec.encodeRequest(w, 7, request(7)));
    const req = decodeAll(bytes, (r) => codec.decodeRequest(r, 7));
    const records = req.topics[0].partitions[0].records;
    assert.ok(records !== null);
    assert.equal(records.buffer, bytes.buffer);
    records[0] = 0xff;
    assert.equal(bytes[records.byteOffset - bytes.byteOffset], 0xff);
  });

  test("produceErrorResponse answers every partition", () => {
    assert.deepStrictEqual(produceErrorResponse(request(0), ErrorCode.UNSUPPORTED_VERSION), {
      responses: [
        {
          name: "topic-a",
          partitions: [
            { partitionIndex: 0, errorCode: 35, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 },
            { partitionIndex: 3, errorCode: 35, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 },
          ],
        },
        {
          name: "topic-b",
          partitions: [
            { partitionIndex: 1, errorCode: 35, baseOffset: -1, logAppendTimeMs: -1, logStartOffset: -1 },
          ],
        },
      ],
      throttleTimeMs: 0,
    });
  });
});

/** kafkajs's view of response(v) (int64s as strings; v6+ moves the throttle client side). */
function kafkajsView(v: number): unknown {
  const p = response(v).responses[0].partitions.map((p) => ({
    partition: p.partitionIndex,
    errorCode: p.errorCode,
    ...(v < 3 ? { offset: String(p.baseOffset) } : { baseOffset: String(p.baseOffset) }),
    ...(v === 2 ? { timestamp: String(p.logAppendTimeMs) } : {}),
    ...(v >= 3 ? { logAppendTime: String(p.logAppendTimeMs) } : {}),
    ...(v >= 5 ? { logStartOffset: String(p.logStartOffset) } : {}),
  }));
  const throttle =
    v === 0 ? {} : v >= 6 ? { throttleTime: 0, clientSideThrottleTime: 9 } : { throttleTime: 9 };
  return { topics: [{ topicName: "topic-a", partitions: p }], ...throttle };
}

describe("Produce and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
    test(`v${v} request fixture`, () => {
      const bytes = fixture("kafkajs", `produce_v${v}`);
      const req = decodeRequestFixture(codec, v, "kafkajs", `produce_v${v}`);
      assert.equal(req.transactionalId, v === 3 ? "txn-1" : null);
      assert.equal(req.acks, -1);
      assert.equal(req.timeoutMs, 30000);
      assert.equal(req.topics.length, 1);
      assert.equal(req.topics[0].name, "topic-a");
      assert.deepStrictEqual(
        req.topics[0].partitions.map((p) => p.partitionIndex),
        [0, 1],
      );
      // Decoded from `bytes` itself: its records must be views of it (two Buffer.from calls may
      // or may not share a pool slab, so the fixture decoded above cannot tell).
      const views = decodeAll(bytes, (r) => codec.decodeRequest(r, v)).topics[0].partitions;
      for (const p of views) assert.equal(p.records?.buffer, bytes.buffer, "a view into the frame");
      for (const p of req.topics[0].partitions) {
        assert.ok(p.records !== null && p.records.length > 0);
        // Magic byte at offset 16 of the first batch/message: 2 for RecordBatch (v3+),
        // kafkajs writes message format 0 for Produce v0-1 and format 1 for v2.
        assert.equal(p.records[16], v >= 3 ? 2 : v === 2 ? 1 : 0);
        if (v >= 3) {
          assert.equal(p.records.readInt32BE(8) + 12, p.records.length, "one whole batch");
          assert.equal(p.records.readInt32BE(57), 2, "record count");
        }
      }
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v)));
      assert.deepStrictEqual(await kafkajsDecode("produce", v, bytes), kafkajsView(v));
    });
  }

  for (const v of [0, 1, 2]) {
    test(`v${v}: UNSUPPORTED_VERSION per partition, in the v${v} layout`, async () => {
      const req = decodeAll(fixture("kafkajs", `produce_v${v}`), (r) => codec.decodeRequest(r, v));
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, produceErrorResponse(req, 35)));
      const m = kafkajsResponse("produce", v);
      const decoded = (await m.decode(bytes)) as { topics: { partitions: { errorCode: number }[] }[] };
      assert.deepStrictEqual(
        decoded.topics[0].partitions.map((p) => p.errorCode),
        [35, 35],
      );
      await assert.rejects(m.parse(decoded), { type: "UNSUPPORTED_VERSION" });
    });
  }
});
