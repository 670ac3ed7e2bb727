import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  consumerFetch,
  type FetchPartitionResponse,
  type FetchRequest,
  type FetchResponse,
  fetchCodec,
  fetchRecordsBuffer,
  ZERO_TOPIC_ID,
} from "../../src/protocol/fetch.ts";
import { MESSAGES } from "../../src/protocol/generated/messages.ts";
import type {
  FetchRequest as SpecRequest,
  FetchResponse as SpecResponse,
} from "../../src/protocol/generated/types.ts";
import { batchesToMessageSet } from "../../src/protocol/message_set.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { ProtocolError, Reader } from "../../src/protocol/reader.ts";
import { decodeMessage, encodeMessage, type Struct } from "../../src/protocol/schema_codec.ts";
import { Writer } from "../../src/protocol/writer.ts";
import {
  decodeAll,
  decodeRequestFixture,
  fixture,
  kafkajsDecode,
  kafkajsRequestBody,
  versions,
  written,
} from "../fixtures/protocol/helpers.ts";

const codec = fetchCodec;

const ID_A = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const ID_B = Uint8Array.from({ length: 16 }, (_, i) => 0xb0 + i);
const ID_GONE = Uint8Array.from({ length: 16 }, (_, i) => 0xc0 + i);

/** Everything `fn` writes (spliced chunks included), in a plain Uint8Array of its own. */
function bytesOf(fn: (w: Writer) => void): Uint8Array {
  const w = new Writer(16);
  fn(w);
  return new Uint8Array(Buffer.concat(w.chunks()));
}

/** Decode all of a plain Uint8Array (byte fields decode as Uint8Array views, not Buffers). */
function decodedAll<T>(bytes: Uint8Array, decode: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const out = decode(r);
  assert.equal(r.remaining, 0, "bytes left after decoding");
  return out;
}

/**
 * encode → decode gives `expected`, which encodes to the same bytes again; a frame one byte
 * short throws ProtocolError.
 */
function roundTrip<T>(
  encode: (w: Writer, v: T) => void,
  decode: (r: Reader) => T,
  value: T,
  expected: T,
): Uint8Array {
  const bytes = bytesOf((w) => encode(w, value));
  assert.deepStrictEqual(decodedAll(bytes, decode), expected);
  assert.deepStrictEqual(
    bytesOf((w) => encode(w, expected)),
    bytes,
    "re-encoding the decoded value gives other bytes",
  );
  assert.throws(() => decode(new Reader(bytes.subarray(0, bytes.length - 1))), ProtocolError);
  return bytes;
}
const requestRoundTrip = (v: number, req: FetchRequest, expected = req) =>
  roundTrip<FetchRequest>(
    (w, x) => codec.encodeRequest(w, v, x),
    (r) => codec.decodeRequest(r, v),
    req,
    expected,
  );
const responseRoundTrip = (v: number, res: FetchResponse, expected: FetchResponse) =>
  roundTrip<FetchResponse>(
    (w, x) => codec.encodeResponse(w, v, x),
    (r) => codec.decodeResponse(r, v),
    res,
    expected,
  );

/**
 * A request as decoded at version v: what a version does not carry holds its default (max_bytes
 * 0x7fffffff below v3, isolation 0 below v4, no session below v7, epochs and offsets -1, topic
 * names "" from v13 and topic ids zero below, rack "" below v11). A follower's when replicaId >= 0.
 */
const request = (v: number, replicaId = -1): FetchRequest => ({
  replicaId,
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: v >= 3 ? 52428800 : 0x7fffffff,
  isolationLevel: v >= 4 ? 1 : 0,
  sessionId: v >= 7 ? 12 : 0,
  sessionEpoch: v >= 7 ? 3 : -1,
  topics: [
    {
      topic: v >= 13 ? "" : "topic-a",
      topicId: v >= 13 ? ID_A : ZERO_TOPIC_ID,
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: v >= 9 ? 4 : -1,
          fetchOffset: 2 ** 33 + 1,
          lastFetchedEpoch: v >= 12 ? 3 : -1,
          logStartOffset: v >= 5 ? 7 : -1,
          partitionMaxBytes: 1048576,
        },
        {
          partition: 2,
          currentLeaderEpoch: -1,
          fetchOffset: 0,
          lastFetchedEpoch: -1,
          logStartOffset: -1,
          partitionMaxBytes: 1,
        },
      ],
    },
    { topic: v >= 13 ? "" : "topic-b", topicId: v >= 13 ? ID_B : ZERO_TOPIC_ID, partitions: [] },
  ],
  forgottenTopicsData:
    v >= 7
      ? [{ topic: v >= 13 ? "" : "gone", topicId: v >= 13 ? ID_GONE : ZERO_TOPIC_ID, partitions: [1, 2] }]
      : [],
  rackId: v >= 11 ? "rack-a" : "",
});

const CHUNKS: readonly Uint8Array[] = [
  new TextEncoder().encode("batch-1|"),
  new Uint8Array([1, 2, 3]),
  new TextEncoder().encode("|end"),
];

function partitionResponse(v: number, records: readonly Uint8Array[]): FetchPartitionResponse {
  return {
    partitionIndex: 0,
    errorCode: 0,
    highWatermark: 120,
    lastStableOffset: v >= 4 ? 120 : -1,
    logStartOffset: v >= 5 ? 3 : -1,
    abortedTransactions: v >= 4 ? [] : null, // v4 added aborted_transactions; none below
    preferredReadReplica: -1,
    records,
  };
}

const response = (v: number, records: readonly Uint8Array[] = CHUNKS): FetchResponse => ({
  throttleTimeMs: v >= 1 ? 7 : 0,
  errorCode: 0,
  sessionId: v >= 7 ? 99 : 0,
  responses: [
    {
      topic: v >= 13 ? "" : "topic-a",
      topicId: v >= 13 ? ID_A : ZERO_TOPIC_ID,
      partitions: [
        partitionResponse(v, records),
        { ...partitionResponse(v, []), partitionIndex: 1, abortedTransactions: null },
        {
          ...partitionResponse(v, []),
          partitionIndex: 2,
          errorCode: 1,
          abortedTransactions: v >= 4 ? [{ producerId: 5, firstOffset: 100 }] : null,
        },
      ],
    },
    { topic: v >= 13 ? "" : "topic-b", topicId: v >= 13 ? ID_B : ZERO_TOPIC_ID, partitions: [] },
  ],
});

const concat = (chunks: readonly Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(chunks));

/** What decodeResponse gives back: the chunks as one view, none for an empty set. */
function decodedForm(res: FetchResponse): FetchResponse {
  return {
    ...res,
    responses: res.responses.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({
        ...p,
        records: p.records.some((c) => c.length > 0) ? [concat(p.records)] : [],
      })),
    })),
  };
}

describe("Fetch codec", () => {
  test("advertises 0-17", () => {
    assert.equal(codec.key, ApiKey.Fetch);
    assert.deepStrictEqual(versions(codec), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip (a consumer's and a follower's)`, () => {
      requestRoundTrip(v, request(v));
      requestRoundTrip(v, request(v, 2));
    });

    test(`v${v} response round trip (chunked records)`, () => {
      responseRoundTrip(v, response(v), decodedForm(response(v)));
    });
  }

  test("v3 adds max_bytes, v4 isolation_level, v7 the session and forgotten topics, v11 rack_id", () => {
    const len = (v: number) => bytesOf((w) => codec.encodeRequest(w, v, request(v))).length;
    assert.equal(len(1), len(0));
    assert.equal(len(3) - len(2), 4);
    assert.equal(len(4) - len(3), 1);
    assert.equal(len(5) - len(4), 8 * 2, "log_start_offset per partition");
    assert.equal(len(7) - len(6), 4 + 4 + (4 + 2 + 4 + 4 + 4 * 2), "session, [gone [1, 2]]");
    assert.equal(len(9) - len(8), 4 * 2, "current_leader_epoch per partition");
    assert.equal(len(11) - len(10), 2 + 6);
  });

  test("v12 (flexible) bytes: compact arrays and strings, last_fetched_epoch, tag buffers", () => {
    const req = consumerFetch("t", 0, 5, { maxWaitMs: 100, maxBytes: 1000 });
    req.topics[0].partitions[0].lastFetchedEpoch = 2;
    const bytes = Buffer.from(bytesOf((w) => codec.encodeRequest(w, 12, req)));
    assert.equal(
      bytes.toString("hex"),
      "ffffffff" +
        "00000064" +
        "00000001" +
        "000003e8" +
        "00" +
        "00000000" +
        "ffffffff" +
        ("02" +
          "0274" +
          "02" +
          ("00000000" +
            "ffffffff" +
            "0000000000000005" +
            "00000002" +
            "ffffffffffffffff" +
            "000003e8" +
            "00") +
          "00") +
        "01" +
        "01" +
        "00",
    );
    const res = Buffer.from(
      bytesOf((w) =>
        codec.encodeResponse(w, 12, {
          throttleTimeMs: 0,
          errorCode: 0,
          sessionId: 0,
          responses: [
            {
              topic: "t",
              partitions: [
                {
                  partitionIndex: 0,
                  errorCode: 0,
                  highWatermark: 1,
                  lastStableOffset: 1,
                  logStartOffset: 0,
                  abortedTransactions: null,
                  preferredReadReplica: -1,
                  records: [Uint8Array.of(0xaa, 0xbb)],
                },
              ],
            },
          ],
        }),
      ),
    );
    assert.equal(
      res.toString("hex"),
      "00000000" +
        "0000" +
        "00000000" +
        ("02" +
          "0274" +
          "02" +
          ("00000000" +
            "0000" +
            "0000000000000001" +
            "0000000000000001" +
            "0000000000000000" +
            "00" +
            "ffffffff" +
            "03aabb" +
            "00") +
          "00") +
        "00",
    );
  });

  test("v13: topics named by id in the request and the response", () => {
    const req = consumerFetch("ignored", 0, 5, { topicId: ID_A });
    const bytes = requestRoundTrip(13, req, { ...req, topics: [{ ...req.topics[0], topic: "" }] });
    const at = Buffer.from(bytes).indexOf(Buffer.from(ID_A));
    // replica_id, max_wait_ms, min_bytes, max_bytes, isolation_level, session_id, session_epoch, count
    assert.equal(at, 4 + 4 + 4 + 4 + 1 + 4 + 4 + 1, "the uuid right after the topics' compact count");
    assert.equal(Buffer.from(bytes).indexOf(Buffer.from("ignored")), -1, "no name from v13");
    const res = responseRoundTrip(13, response(13), decodedForm(response(13)));
    assert.equal(Buffer.from(res).indexOf(Buffer.from(ID_A)), 4 + 2 + 4 + 1);
    // before v13 the id is not written, the name is
    const v12 = bytesOf((w) => codec.encodeRequest(w, 12, req));
    assert.equal(Buffer.from(v12).indexOf(Buffer.from(ID_A)), -1);
  });

  test("v15: replica_id moves into the tagged replica_state, decoded back into replicaId", () => {
    const follower = request(15, 3);
    const bytes = requestRoundTrip(15, follower);
    // the body's tag buffer: 1 field, tag 1, 13 bytes: replica_id 3, replica_epoch -1, no tags
    assert.equal(
      Buffer.from(bytes.subarray(-16)).toString("hex"),
      "01" + "01" + "0d" + "00000003" + "ffffffffffffffff" + "00",
    );
    // a consumer's has none
    const consumer = bytesOf((w) => codec.encodeRequest(w, 15, request(15)));
    assert.equal(consumer[consumer.length - 1], 0);
    assert.equal(consumer.length, bytes.length - 15);
    // v14 writes it as the first int32
    assert.equal(
      new DataView(bytesOf((w) => codec.encodeRequest(w, 14, request(14, 3))).buffer).getInt32(0),
      3,
    );
    // Kafka's encoder, with an epoch and cluster_id (tag 0): the hand decoder takes replica_id
    const spec = {
      ...specRequest(15, request(15)),
      clusterId: "cluster-x",
      replicaState: { replicaId: 9, replicaEpoch: 44 },
    };
    const kafka = bytesOf((w) => encodeMessage(MESSAGES.FetchRequest, 15, w, spec as unknown as Struct));
    assert.deepStrictEqual(
      decodedAll(kafka, (r) => codec.decodeRequest(r, 15)),
      request(15, 9),
    );
  });

  test("v16/v17: node_endpoints (response) and replica_directory_id (request) are tagged, and skipped", () => {
    for (const v of [16, 17]) {
      const res: Struct = {
        ...(specResponse(v, response(v)) as unknown as Struct),
        nodeEndpoints: [{ nodeId: 2, host: "broker-2", port: 9092, rack: "r" }],
      };
      const bytes = bytesOf((w) => encodeMessage(MESSAGES.FetchResponse, v, w, res));
      assert.deepStrictEqual(
        decodedAll(bytes, (r) => codec.decodeResponse(r, v)),
        decodedForm(response(v)),
      );
    }
    const req = specRequest(17, request(17, 1));
    req.topics[0].partitions[0].replicaDirectoryId = ID_GONE;
    const bytes = bytesOf((w) => encodeMessage(MESSAGES.FetchRequest, 17, w, req as unknown as Struct));
    assert.deepStrictEqual(
      decodedAll(bytes, (r) => codec.decodeRequest(r, 17)),
      request(17, 1),
    );
    // at v16 the field does not exist: Kafka's encoder does not write it
    const v16 = bytesOf((w) =>
      encodeMessage(MESSAGES.FetchRequest, 16, w, specRequest(16, request(16, 1)) as unknown as Struct),
    );
    assert.deepStrictEqual(
      v16,
      bytesOf((w) => codec.encodeRequest(w, 16, request(16, 1))),
    );
  });

  test("records are spliced by reference under one int32 size; empty is size 0, not null", () => {
    const w = new Writer();
    codec.encodeResponse(w, 11, response(11));
    const chunks = w.chunks();
    for (const c of CHUNKS) assert.ok(chunks.includes(c), "chunk sent by reference");
    const bytes = written(w);
    const total = CHUNKS.reduce((n, c) => n + c.length, 0);
    const at = bytes.indexOf(Buffer.from("batch-1|"));
    assert.equal(bytes.readInt32BE(at - 4), total);
    // preferred_read_replica -1 right before the size of partition 0's records
    assert.equal(bytes.readInt32BE(at - 8), -1);
    const empty = new Writer();
    codec.encodeResponse(empty, 11, {
      ...response(11, []),
      responses: response(11, []).responses.slice(0, 1),
    });
    const emptyBytes = written(empty);
    assert.equal(emptyBytes.readInt32BE(emptyBytes.length - 4), 0, "the last partition's records: size 0");
    const first = decodeAll(emptyBytes, (r) => codec.decodeResponse(r, 11)).responses[0].partitions[0];
    assert.deepStrictEqual(first.records, []);
  });

  test("flexible versions splice too, under one uvarint size + 1; empty is 1, not 0 (null)", () => {
    const w = new Writer();
    codec.encodeResponse(w, 12, response(12));
    for (const c of CHUNKS) assert.ok(w.chunks().includes(c), "chunk sent by reference");
    const bytes = written(w);
    const at = bytes.indexOf(Buffer.from("batch-1|"));
    assert.equal(bytes[at - 1], 15 + 1);
    const empty = written(
      (() => {
        const e = new Writer();
        codec.encodeResponse(e, 12, {
          ...response(12, []),
          responses: response(12, []).responses.slice(0, 1),
        });
        return e;
      })(),
    );
    // the last partition: ..., preferred_read_replica, records (1: empty), tags; then the topic's and the body's tags
    assert.equal(empty.subarray(-8).toString("hex"), "ffffffff" + "01" + "00" + "00" + "00");
  });

  test("decoded records are a view into the response frame", () => {
    const bytes = written(
      (() => {
        const w = new Writer();
        codec.encodeResponse(w, 11, response(11));
        return w;
      })(),
    );
    const res = decodeAll(bytes, (r) => codec.decodeResponse(r, 11));
    const records = res.responses[0].partitions[0].records;
    assert.equal(records.length, 1);
    assert.equal(records[0].buffer, bytes.buffer);
    assert.deepStrictEqual(fetchRecordsBuffer(records), Buffer.concat(CHUNKS));
    assert.deepStrictEqual(fetchRecordsBuffer(CHUNKS), Buffer.concat(CHUNKS));
    assert.equal(fetchRecordsBuffer([]).length, 0);
  });

  test("a null record set from another broker decodes as empty", () => {
    const w = new Writer();
    w.int32(0).int32(1).string("t").int32(1);
    w.int32(0).int16(0).int64(0).int64(0).int64(0).int32(-1).int32(-1); // v5 partition, records null
    const res = decodeAll(written(w), (r) => codec.decodeResponse(r, 5));
    assert.deepStrictEqual(res.responses[0].partitions[0].records, []);
    const flexible = Uint8Array.from(
      Buffer.from(
        "00000000" +
          "0000" +
          "00000000" +
          "02" +
          "0274" +
          "02" +
          "00000000" +
          "0000" +
          "0000000000000000" +
          "0000000000000000" +
          "0000000000000000" +
          "00" +
          "ffffffff" +
          "00" +
          "00" +
          "00" +
          "00",
        "hex",
      ),
    );
    assert.deepStrictEqual(
      decodedAll(flexible, (r) => codec.decodeResponse(r, 12)).responses[0].partitions[0].records,
      [],
    );
  });

  test("a null topic array is malformed", () => {
    assert.throws(
      () =>
        codec.decodeRequest(
          new Reader(Buffer.from("ffffffff" + "00000000" + "00000000" + "ffffffff", "hex")),
          0,
        ),
      ProtocolError,
    );
  });
});

// ---- the hand-written codec is Kafka's spec, byte for byte --------------------------------------

const NO_UUID = new Uint8Array(16);

/** The hand codec's request (as decoded at v) in the derived codec's shape; the rest at its defaults. */
function specRequest(v: number, req: FetchRequest): SpecRequest {
  return {
    clusterId: null,
    replicaId: v >= 15 ? -1 : req.replicaId,
    replicaState: { replicaId: v >= 15 ? req.replicaId : -1, replicaEpoch: -1 },
    maxWaitMs: req.maxWaitMs,
    minBytes: req.minBytes,
    maxBytes: req.maxBytes,
    isolationLevel: req.isolationLevel,
    sessionId: req.sessionId,
    sessionEpoch: req.sessionEpoch,
    topics: req.topics.map((t) => ({
      topic: t.topic,
      topicId: t.topicId ?? NO_UUID,
      partitions: t.partitions.map((p) => ({
        partition: p.partition,
        currentLeaderEpoch: p.currentLeaderEpoch,
        fetchOffset: p.fetchOffset,
        lastFetchedEpoch: p.lastFetchedEpoch ?? -1,
        logStartOffset: p.logStartOffset,
        partitionMaxBytes: p.partitionMaxBytes,
        replicaDirectoryId: NO_UUID,
      })),
    })),
    forgottenTopicsData: req.forgottenTopicsData.map((t) => ({
      topic: t.topic,
      topicId: t.topicId ?? NO_UUID,
      partitions: t.partitions,
    })),
    rackId: req.rackId,
  };
}

/**
 * The hand codec's response in the derived shape: the record chunks as one array; below v4
 * aborted_transactions is [] (the spec's default; the hand codec says null); the tagged fields
 * the hand codec does not write at their defaults.
 */
function specResponse(v: number, res: FetchResponse): SpecResponse {
  return {
    throttleTimeMs: res.throttleTimeMs,
    errorCode: res.errorCode,
    sessionId: res.sessionId,
    responses: res.responses.map((t) => ({
      topic: t.topic,
      topicId: t.topicId ?? NO_UUID,
      partitions: t.partitions.map((p) => ({
        partitionIndex: p.partitionIndex,
        errorCode: p.errorCode,
        highWatermark: p.highWatermark,
        lastStableOffset: p.lastStableOffset,
        logStartOffset: p.logStartOffset,
        divergingEpoch: { epoch: -1, endOffset: -1 },
        currentLeader: { leaderId: -1, leaderEpoch: -1 },
        snapshotId: { endOffset: -1, epoch: -1 },
        abortedTransactions: v >= 4 ? p.abortedTransactions : [],
        preferredReadReplica: p.preferredReadReplica,
        records: concat(p.records),
      })),
    })),
    nodeEndpoints: [],
  };
}

describe("Fetch: the hand-written codec is byte-identical to the one derived from Kafka's spec", () => {
  for (const v of versions(codec)) {
    test(`v${v} request: hand bytes = derived bytes, both ways`, () => {
      for (const req of [request(v), request(v, 2)]) {
        const hand = bytesOf((w) => codec.encodeRequest(w, v, req));
        // hand → derived: the same values, and the same bytes again
        const derived = decodedAll(hand, (r) => decodeMessage(MESSAGES.FetchRequest, v, r));
        assert.deepStrictEqual(derived, specRequest(v, req));
        assert.deepStrictEqual(
          bytesOf((w) => encodeMessage(MESSAGES.FetchRequest, v, w, derived)),
          hand,
        );
        // derived → hand
        const fromSpec = bytesOf((w) =>
          encodeMessage(MESSAGES.FetchRequest, v, w, specRequest(v, req) as unknown as Struct),
        );
        assert.deepStrictEqual(fromSpec, hand);
        assert.deepStrictEqual(
          decodedAll(fromSpec, (r) => codec.decodeRequest(r, v)),
          req,
        );
      }
    });

    test(`v${v} response: hand bytes = derived bytes, both ways`, () => {
      for (const res of [response(v), response(v, [])]) {
        const hand = bytesOf((w) => codec.encodeResponse(w, v, res));
        const derived = decodedAll(hand, (r) => decodeMessage(MESSAGES.FetchResponse, v, r));
        assert.deepStrictEqual(derived, specResponse(v, res));
        assert.deepStrictEqual(
          bytesOf((w) => encodeMessage(MESSAGES.FetchResponse, v, w, derived)),
          hand,
        );
        const fromSpec = bytesOf((w) =>
          encodeMessage(MESSAGES.FetchResponse, v, w, specResponse(v, res) as unknown as Struct),
        );
        assert.deepStrictEqual(fromSpec, hand);
        assert.deepStrictEqual(
          decodedAll(fromSpec, (r) => codec.decodeResponse(r, v)),
          decodedForm(res),
        );
      }
    });

    if (v >= 12)
      test(`v${v}: Kafka's tagged fields decode with the hand codec (skipped, replica_state kept)`, () => {
        const req: Struct = {
          ...(specRequest(v, request(v, 4)) as unknown as Struct),
          clusterId: "cluster-x",
          ...(v >= 15 ? { replicaState: { replicaId: 4, replicaEpoch: 10 } } : {}),
          _unknownTags: [{ tag: 7, data: Uint8Array.of(1, 2) }],
        };
        const reqBytes = bytesOf((w) => encodeMessage(MESSAGES.FetchRequest, v, w, req));
        assert.deepStrictEqual(
          decodedAll(reqBytes, (r) => codec.decodeRequest(r, v)),
          request(v, 4),
        );
        const spec = specResponse(v, response(v));
        const p = spec.responses[0].partitions[0];
        p.divergingEpoch = { epoch: 3, endOffset: 50 };
        p.currentLeader = { leaderId: 1, leaderEpoch: 2 };
        p.snapshotId = { endOffset: 40, epoch: 1 };
        if (v >= 16) spec.nodeEndpoints = [{ nodeId: 1, host: "h", port: 1, rack: null }];
        const resBytes = bytesOf((w) =>
          encodeMessage(MESSAGES.FetchResponse, v, w, spec as unknown as Struct),
        );
        assert.deepStrictEqual(
          decodedAll(resBytes, (r) => codec.decodeResponse(r, v)),
          decodedForm(response(v)),
        );
      });
  }

  test("every kafkajs fixture decodes to the same values with both codecs", () => {
    for (const v of [4, 5, 6, 7, 8, 9, 10, 11]) {
      const bytes = new Uint8Array(fixture("kafkajs", `fetch_v${v}`));
      const hand = decodedAll(bytes, (r) => codec.decodeRequest(r, v));
      assert.deepStrictEqual(
        decodedAll(bytes, (r) => decodeMessage(MESSAGES.FetchRequest, v, r)),
        specRequest(v, hand),
        `v${v}`,
      );
    }
  });
});

/** The two RecordBatches kafkajs produced (produce_v3 fixture), the second moved to offset 2. */
function kafkajsBatches(): Buffer[] {
  const req = decodeAll(fixture("kafkajs", "produce_v3"), (r) => produceCodec.decodeRequest(r, 3));
  const [a, b] = req.topics[0].partitions.map((p) => Buffer.from(p.records ?? Buffer.alloc(0)));
  b.writeBigInt64BE(2n, 0); // baseOffset is outside the CRC
  return [a, b];
}

interface KafkaJsFetch {
  responses: {
    topicName: string;
    partitions: {
      partition: number;
      errorCode: number;
      highWatermark: string;
      lastStableOffset?: string;
      abortedTransactions?: unknown[];
      preferredReadReplica?: number;
      messages: {
        offset: string;
        timestamp?: string;
        key: Buffer | null;
        value: Buffer;
        headers?: object;
      }[];
    }[];
  }[];
}

describe("Fetch and kafkajs 2.2.4", () => {
  for (const v of [0, 1, 2, 3]) {
    test(`v${v} kafkajs request (no captured fixture) decodes and re-encodes identically`, async () => {
      const body = await kafkajsRequestBody("fetch", v, {
        replicaId: -1,
        maxWaitTime: 5000,
        minBytes: 1,
        maxBytes: 10485760,
        topics: [
          { topic: "topic-a", partitions: [{ partition: 0, fetchOffset: "12345", maxBytes: 1048576 }] },
        ],
      });
      const req = decodeAll(body, (r) => codec.decodeRequest(r, v));
      assert.deepStrictEqual(req, {
        ...consumerFetch("topic-a", 0, 12345, {
          maxWaitMs: 5000,
          maxBytes: v >= 3 ? 10485760 : 0x7fffffff,
          partitionMaxBytes: 1048576,
        }),
      });
      assert.deepStrictEqual(
        written(
          (() => {
            const w = new Writer();
            codec.encodeRequest(w, v, req);
            return w;
          })(),
        ),
        body,
      );
    });

    test(`v${v} kafkajs reads our response, a message set of magic ${v >= 2 ? 1 : 0}`, async () => {
      const [a, b] = kafkajsBatches();
      // the broker down-converts stored batches for v0-3 (message_set.ts); the codec sends the bytes
      const set = batchesToMessageSet(Buffer.concat([a, b]), v >= 2 ? 1 : 0, 1 << 20);
      const res = response(v, [set.subarray(0, 7), set.subarray(7)]);
      res.responses[0].partitions = res.responses[0].partitions.slice(0, 2); // no errors: kafkajs throws
      res.responses = res.responses.slice(0, 1);
      const w = new Writer();
      codec.encodeResponse(w, v, res);
      const decoded = (await kafkajsDecode("fetch", v, written(w))) as KafkaJsFetch;
      const [p0, p1] = decoded.responses[0].partitions;
      assert.equal(decoded.responses[0].topicName, "topic-a");
      assert.equal(p0.highWatermark, "120");
      assert.deepStrictEqual(
        p0.messages.map((m) => [m.offset, m.key?.toString() ?? null, m.value.toString()]),
        [
          ["0", "k0-0", "v0-0"],
          ["1", null, "v0-1"],
          ["2", "k1-0", "v1-0"],
          ["3", null, "v1-1"],
        ],
      );
      if (v >= 2) assert.equal(p0.messages[1].timestamp, "1700000000005");
      assert.deepStrictEqual(p1.messages, []);
    });
  }

  for (const v of [4, 5, 6, 7, 8, 9, 10, 11]) {
    test(`v${v} request fixture`, () => {
      const req = decodeRequestFixture(codec, v, "kafkajs", `fetch_v${v}`);
      assert.deepStrictEqual(req, {
        replicaId: -1,
        maxWaitMs: 5000,
        minBytes: 1,
        maxBytes: 10485760,
        isolationLevel: 1,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [
          {
            topic: "topic-a",
            topicId: ZERO_TOPIC_ID,
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 12345,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: 1048576,
              },
              {
                partition: 1,
                currentLeaderEpoch: -1,
                fetchOffset: 0,
                lastFetchedEpoch: -1,
                logStartOffset: -1,
                partitionMaxBytes: 1048576,
              },
            ],
          },
        ],
        forgottenTopicsData:
          v >= 7 ? [{ topic: "old-topic", topicId: ZERO_TOPIC_ID, partitions: [3, 4] }] : [],
        rackId: v >= 11 ? "rack-1" : "",
      });
    });

    test(`v${v} kafkajs reads our response, records spliced from chunks`, async () => {
      const [a, b] = kafkajsBatches();
      // Chunk boundaries inside a batch, as segment reads may split them.
      const records = [a.subarray(0, 10), a.subarray(10), b];
      const res = response(v, records);
      res.responses[0].partitions = res.responses[0].partitions.slice(0, 2); // no errors: kafkajs throws
      const w = new Writer();
      codec.encodeResponse(w, v, res);
      const decoded = (await kafkajsDecode("fetch", v, written(w))) as KafkaJsFetch;
      const [p0, p1] = decoded.responses[0].partitions;
      assert.equal(decoded.responses[0].topicName, "topic-a");
      assert.equal(p0.partition, 0);
      assert.equal(p0.highWatermark, "120");
      assert.equal(p0.lastStableOffset, "120");
      assert.deepStrictEqual(p0.abortedTransactions, []);
      if (v >= 11) assert.equal(p0.preferredReadReplica, -1);
      assert.deepStrictEqual(
        p0.messages.map((m) => [m.offset, m.timestamp, m.key?.toString() ?? null, m.value.toString()]),
        [
          ["0", "1700000000000", "k0-0", "v0-0"],
          ["1", "1700000000005", null, "v0-1"],
          ["2", "1700000000000", "k1-0", "v1-0"],
          ["3", "1700000000005", null, "v1-1"],
        ],
      );
      assert.deepStrictEqual(p0.messages[1].headers, { h: Buffer.from("x") });
      assert.equal(p1.partition, 1);
      assert.deepStrictEqual(p1.messages, []);
      assert.equal(decoded.responses[1].topicName, "topic-b");
    });
  }
});
