import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import type {
  ProduceRequest as SpecRequest,
  ProduceResponse as SpecResponse,
} from "../../src/protocol/generated/types.ts";
import {
  type ProducePartitionResponse,
  type ProduceRequest,
  type ProduceResponse,
  produceCodec,
  produceErrorResponse,
} from "../../src/protocol/produce.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { decodeMessage, encodeMessage, type Struct } from "../../src/protocol/schema_codec.ts";
import { Writer } from "../../src/protocol/writer.ts";
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

/** v8 added record_errors and error_message per partition: absent below, [] and null when all went well. */
const v8 = (
  v: number,
  recordErrors: ProducePartitionResponse["recordErrors"] = [],
  errorMessage: string | null = null,
) => (v >= 8 ? { recordErrors, errorMessage } : {});

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
          ...v8(v),
        },
        { partitionIndex: 3, errorCode: 0, baseOffset: 0, logAppendTimeMs: -1, logStartOffset: -1, ...v8(v) },
      ],
    },
  ],
  throttleTimeMs: v >= 1 ? 9 : 0,
});

/** A batch rejected for some of its records (KIP-467: record_errors, error_message, v8+). */
const rejected = (v: number): ProduceResponse => ({
  responses: [
    {
      name: "topic-a",
      partitions: [
        {
          partitionIndex: 0,
          errorCode: ErrorCode.INVALID_RECORD,
          baseOffset: -1,
          logAppendTimeMs: -1,
          logStartOffset: v >= 5 ? 4 : -1,
          ...v8(
            v,
            [
              { batchIndex: 0, batchIndexErrorMessage: "Compacted topic cannot accept message without key" },
              { batchIndex: 2, batchIndexErrorMessage: null },
            ],
            "One or more records have been rejected",
          ),
        },
      ],
    },
    { name: "topic-b", partitions: [] },
  ],
  throttleTimeMs: v >= 1 ? 9 : 0,
});

describe("Produce codec", () => {
  test("advertises 0-11 (v0-2 message sets are accepted)", () => {
    assert.equal(codec.key, ApiKey.Produce);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
      requestRoundTrip(codec, v, { ...request(v), topics: [] });
    });

    test(`v${v} response round trip${v >= 8 ? " (with record errors)" : ""}`, () => {
      responseRoundTrip(codec, v, response(v));
      responseRoundTrip(codec, v, rejected(v));
    });
  }

  test("v3+ puts transactional_id first; v0-2 have none", () => {
    const v2 = encodeWith((w) => codec.encodeRequest(w, 2, request(2)));
    const v3 = encodeWith((w) => codec.encodeRequest(w, 3, request(3)));
    assert.equal(v3.length - v2.length, 2 + 3);
    assert.equal(v3.subarray(0, 5).toString("latin1"), "\x00\x03txn");
  });

  test("v8 response bytes: record_errors and error_message after log_start_offset", () => {
    const bytes = encodeWith((w) =>
      codec.encodeResponse(w, 8, {
        responses: [
          {
            name: "t",
            partitions: [
              {
                partitionIndex: 1,
                errorCode: 87,
                baseOffset: -1,
                logAppendTimeMs: -1,
                logStartOffset: 0,
                recordErrors: [{ batchIndex: 2, batchIndexErrorMessage: "k" }],
                errorMessage: null,
              },
            ],
          },
        ],
        throttleTimeMs: 0,
      }),
    );
    assert.equal(
      bytes.toString("hex"),
      "00000001" +
        "000174" +
        "00000001" +
        ("00000001" + "0057" + "ffffffffffffffff" + "ffffffffffffffff" + "0000000000000000") +
        ("00000001" + "00000002" + "00016b") +
        "ffff" +
        "00000000",
    );
    // below v8 the same partitions leave them out
    const size = (v: number) => encodeWith((w) => codec.encodeResponse(w, v, rejected(v))).length;
    const [e0, e1] = rejected(8).responses[0].partitions[0].recordErrors ?? [];
    const message = rejected(8).responses[0].partitions[0].errorMessage ?? "";
    assert.equal(
      size(8) - size(7),
      4 +
        (4 + 2 + Buffer.byteLength(e0.batchIndexErrorMessage ?? "")) +
        (4 + 2) +
        (2 + Buffer.byteLength(message)),
    );
    assert.equal(e1.batchIndexErrorMessage, null);
  });

  test("v9 (flexible) request bytes: compact strings, arrays and records, tag buffers", () => {
    const bytes = encodeWith((w) =>
      codec.encodeRequest(w, 9, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 1000,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, records: Uint8Array.of(0xaa, 0xbb) }] }],
      }),
    );
    assert.equal(
      bytes.toString("hex"),
      "00" + "ffff" + "000003e8" + "02" + ("0274" + "02" + ("00000000" + "03aabb" + "00") + "00") + "00",
    );
    assert.deepStrictEqual(
      decodeAll(bytes, (r) => codec.decodeRequest(r, 9)).topics[0].partitions[0].records,
      Buffer.from("aabb", "hex"),
    );
  });

  test("v9 and v11 (flexible) response bytes with record errors", () => {
    for (const v of [9, 11]) {
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, {
          responses: [
            {
              name: "t",
              partitions: [
                {
                  partitionIndex: 0,
                  errorCode: 87,
                  baseOffset: -1,
                  logAppendTimeMs: -1,
                  logStartOffset: 0,
                  recordErrors: [{ batchIndex: 1, batchIndexErrorMessage: null }],
                  errorMessage: "m",
                },
              ],
            },
          ],
          throttleTimeMs: 5,
        }),
      );
      assert.equal(
        bytes.toString("hex"),
        "02" +
          "0274" +
          "02" +
          ("00000000" + "0057" + "ffffffffffffffff" + "ffffffffffffffff" + "0000000000000000") +
          ("02" + ("00000001" + "00" + "00")) +
          "026d" +
          "00" + // record_errors, error_message, partition tags
          "00" + // topic tags
          "00000005" +
          "00",
        `v${v}`,
      );
    }
  });

  test("v10+: Kafka's tagged current_leader and node_endpoints are skipped when decoding", () => {
    const spec: Struct = {
      responses: [
        {
          name: "t",
          partitionResponses: [
            {
              index: 0,
              errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER,
              baseOffset: -1,
              currentLeader: { leaderId: 2, leaderEpoch: 7 },
            },
          ],
        },
      ],
      throttleTimeMs: 1,
      nodeEndpoints: [{ nodeId: 2, host: "broker-2", port: 9092, rack: null }],
    };
    for (const v of [10, 11]) {
      const w = new Writer();
      encodeMessage(MESSAGES.ProduceResponse, v, w, spec);
      const bytes = w.view().slice();
      const r = new Reader(bytes);
      const res = codec.decodeResponse(r, v);
      assert.equal(r.remaining, 0);
      assert.deepStrictEqual(res, {
        responses: [
          {
            name: "t",
            partitions: [
              {
                partitionIndex: 0,
                errorCode: 6,
                baseOffset: -1,
                logAppendTimeMs: -1,
                logStartOffset: -1,
                recordErrors: [],
                errorMessage: null,
              },
            ],
          },
        ],
        throttleTimeMs: 1,
      });
      // re-encoded without the hints: only the tag sections differ
      const again = encodeWith((w) => codec.encodeResponse(w, v, res));
      assert.ok(again.length < bytes.length);
    }
  });

  test("a null topic or partition array is malformed", () => {
    for (const v of [0, 9]) {
      const bytes =
        v >= 9
          ? Uint8Array.of(0, 0xff, 0xff, 0, 0, 0, 0, 0)
          : Uint8Array.of(0xff, 0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff);
      assert.throws(() => codec.decodeRequest(new Reader(bytes), v), ProtocolError, `v${v}`);
    }
  });

  test("records are views into the frame, not copies", () => {
    for (const v of [7, 9]) {
      const bytes = encodeWith((w) => codec.encodeRequest(w, v, request(v)));
      const req = decodeAll(bytes, (r) => codec.decodeRequest(r, v));
      const records = req.topics[0].partitions[0].records;
      assert.ok(records !== null);
      assert.equal(records.buffer, bytes.buffer);
      records[0] = 0xff;
      assert.equal(bytes[records.byteOffset - bytes.byteOffset], 0xff);
    }
  });

  test("the encoder splices records in by reference", () => {
    for (const v of [7, 9]) {
      const records = Uint8Array.of(1, 2, 3, 4);
      const w = new Writer();
      codec.encodeRequest(w, v, {
        transactionalId: null,
        acks: 1,
        timeoutMs: 0,
        topics: [{ name: "t", partitions: [{ partitionIndex: 0, records }] }],
      });
      assert.ok(w.chunks().includes(records), `v${v}`);
    }
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
    // at v8+ it is written with no record errors and a null message
    const bytes = encodeWith((w) => codec.encodeResponse(w, 11, produceErrorResponse(request(11), 6)));
    const decoded = decodeAll(bytes, (r) => codec.decodeResponse(r, 11));
    assert.deepStrictEqual(decoded.responses[1].partitions[0], {
      partitionIndex: 1,
      errorCode: 6,
      baseOffset: -1,
      logAppendTimeMs: -1,
      logStartOffset: -1,
      recordErrors: [],
      errorMessage: null,
    });
  });
});

// ---- the hand-written codec is Kafka's spec, byte for byte --------------------------------------

/** The hand codec's request in the derived codec's shape (ProduceRequest.json's field names). */
function specRequest(req: ProduceRequest): SpecRequest {
  return {
    transactionalId: req.transactionalId,
    acks: req.acks,
    timeoutMs: req.timeoutMs,
    topicData: req.topics.map((t) => ({
      name: t.name,
      partitionData: t.partitions.map((p) => ({ index: p.partitionIndex, records: p.records })),
    })),
  };
}

/** The hand codec's response in the derived shape; what it does not keep holds the spec's defaults. */
function specResponse(res: ProduceResponse): SpecResponse {
  return {
    responses: res.responses.map((t) => ({
      name: t.name,
      partitionResponses: t.partitions.map((p) => ({
        index: p.partitionIndex,
        errorCode: p.errorCode,
        baseOffset: p.baseOffset,
        logAppendTimeMs: p.logAppendTimeMs,
        logStartOffset: p.logStartOffset,
        recordErrors: (p.recordErrors ?? []).map((e) => ({ ...e })),
        errorMessage: p.errorMessage ?? null,
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
      })),
    })),
    throttleTimeMs: res.throttleTimeMs,
    nodeEndpoints: [],
  };
}

/** Everything `fn` writes (spliced chunks included), in a plain Uint8Array of its own. */
function bytesOf(fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(16);
  fn(w);
  return new Uint8Array(Buffer.concat(w.chunks()));
}

const spec = { request: MESSAGES.ProduceRequest, response: MESSAGES.ProduceResponse };

/** A request of version v in plain Uint8Arrays (as the broker sees one), v0-2 with message sets. */
const plainRequest = (v: number): ProduceRequest => ({
  transactionalId: v >= 3 ? "txn-é" : null, // a non-ASCII id: UTF-8 lengths
  acks: -1,
  timeoutMs: 30000,
  topics: [
    {
      name: "topic-a",
      partitions: [
        { partitionIndex: 0, records: Uint8Array.from({ length: 200 }, (_, i) => i) }, // a 2-byte uvarint length
        { partitionIndex: 1, records: new Uint8Array(0) },
        { partitionIndex: 2, records: null },
      ],
    },
    { name: "", partitions: [] },
  ],
});

describe("Produce: the hand-written codec is byte-identical to the one derived from Kafka's spec", () => {
  for (const v of versions(codec)) {
    test(`v${v} request: hand bytes = derived bytes, both ways`, () => {
      const req = plainRequest(v);
      const hand = bytesOf((w) => codec.encodeRequest(w, v, req));
      // hand → derived: decodes to the same values and re-encodes to the same bytes
      const r = new Reader(hand);
      const derived = decodeMessage(spec.request, v, r);
      assert.equal(r.remaining, 0);
      assert.deepStrictEqual(derived, specRequest(req));
      assert.deepStrictEqual(
        bytesOf((w) => encodeMessage(spec.request, v, w, derived)),
        hand,
      );
      // derived → hand
      const fromSpec = bytesOf((w) =>
        encodeMessage(spec.request, v, w, specRequest(req) as unknown as Struct),
      );
      assert.deepStrictEqual(fromSpec, hand);
      const back = new Reader(fromSpec);
      assert.deepStrictEqual(codec.decodeRequest(back, v), req);
      assert.equal(back.remaining, 0);
    });

    test(`v${v} response: hand bytes = derived bytes, both ways`, () => {
      for (const res of [response(v), rejected(v)]) {
        const hand = bytesOf((w) => codec.encodeResponse(w, v, res));
        const r = new Reader(hand);
        const derived = decodeMessage(spec.response, v, r);
        assert.equal(r.remaining, 0);
        assert.deepStrictEqual(derived, specResponse(res));
        assert.deepStrictEqual(
          bytesOf((w) => encodeMessage(spec.response, v, w, derived)),
          hand,
        );
        const fromSpec = bytesOf((w) =>
          encodeMessage(spec.response, v, w, specResponse(res) as unknown as Struct),
        );
        assert.deepStrictEqual(fromSpec, hand);
        const back = new Reader(fromSpec);
        assert.deepStrictEqual(codec.decodeResponse(back, v), res);
        assert.equal(back.remaining, 0);
      }
    });
  }

  test("every kafkajs fixture decodes to the same values with both codecs", () => {
    for (const v of [0, 1, 2, 3, 4, 5, 6, 7]) {
      const bytes = new Uint8Array(fixture("kafkajs", `produce_v${v}`));
      const hand = codec.decodeRequest(new Reader(bytes), v);
      assert.deepStrictEqual(decodeMessage(spec.request, v, new Reader(bytes)), specRequest(hand), `v${v}`);
    }
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

const int32At = (b: Uint8Array, at: number): number =>
  new DataView(b.buffer, b.byteOffset, b.length).getInt32(at);

describe("Produce and kafkajs 2.2.4", () => {
  // kafkajs sends v0-7 (v0-1 message format 0, v2 format 1, v3+ RecordBatch v2)
  for (const v of [0, 1, 2, 3, 4, 5, 6, 7]) {
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
          assert.equal(int32At(p.records, 8) + 12, p.records.length, "one whole batch");
          assert.equal(int32At(p.records, 57), 2, "record count");
        }
      }
    });

    test(`v${v} kafkajs reads our response`, async () => {
      const bytes = encodeWith((w) => codec.encodeResponse(w, v, response(v)));
      assert.deepStrictEqual(await kafkajsDecode("produce", v, bytes), kafkajsView(v));
    });

    test(`v${v}: an error per partition, in the v${v} layout`, async () => {
      const req = decodeAll(fixture("kafkajs", `produce_v${v}`), (r) => codec.decodeRequest(r, v));
      const bytes = encodeWith((w) =>
        codec.encodeResponse(w, v, produceErrorResponse(req, ErrorCode.CORRUPT_MESSAGE)),
      );
      const m = kafkajsResponse("produce", v);
      const decoded = (await m.decode(bytes)) as { topics: { partitions: { errorCode: number }[] }[] };
      assert.deepStrictEqual(
        decoded.topics[0].partitions.map((p) => p.errorCode),
        [2, 2],
      );
      await assert.rejects(m.parse(decoded), { type: "CORRUPT_MESSAGE" });
    });
  }
});
