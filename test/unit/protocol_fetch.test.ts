import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import {
  type FetchPartitionResponse,
  type FetchRequest,
  type FetchResponse,
  fetchCodec,
  fetchRecordsBuffer,
} from "../../src/protocol/fetch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { Writer } from "../../src/protocol/writer.ts";
import {
  decodeAll,
  decodeRequestFixture,
  fixture,
  kafkajsDecode,
  requestRoundTrip,
  responseRoundTrip,
  versions,
  written,
} from "../fixtures/protocol/helpers.ts";

const codec = fetchCodec;

const request = (v: number): FetchRequest => ({
  replicaId: -1,
  maxWaitMs: 500,
  minBytes: 1,
  maxBytes: 52428800,
  isolationLevel: 1,
  sessionId: v >= 7 ? 12 : 0,
  sessionEpoch: v >= 7 ? 3 : -1,
  topics: [
    {
      topic: "topic-a",
      partitions: [
        {
          partition: 0,
          currentLeaderEpoch: v >= 9 ? 4 : -1,
          fetchOffset: 2 ** 33 + 1,
          logStartOffset: v >= 5 ? 7 : -1,
          partitionMaxBytes: 1048576,
        },
        { partition: 2, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 },
      ],
    },
    { topic: "topic-b", partitions: [] },
  ],
  forgottenTopicsData: v >= 7 ? [{ topic: "gone", partitions: [1, 2] }] : [],
  rackId: v >= 11 ? "rack-a" : "",
});

const CHUNKS: readonly Uint8Array[] = [
  Buffer.from("batch-1|"),
  new Uint8Array([1, 2, 3]),
  Buffer.from("|end"),
];

function partitionResponse(v: number, records: readonly Uint8Array[]): FetchPartitionResponse {
  return {
    partitionIndex: 0,
    errorCode: 0,
    highWatermark: 120,
    lastStableOffset: v >= 4 ? 120 : -1,
    logStartOffset: v >= 5 ? 3 : -1,
    abortedTransactions: [],
    preferredReadReplica: -1,
    records,
  };
}

const response = (v: number, records: readonly Uint8Array[] = CHUNKS): FetchResponse => ({
  throttleTimeMs: 0,
  errorCode: 0,
  sessionId: v >= 7 ? 99 : 0,
  responses: [
    {
      topic: "topic-a",
      partitions: [
        partitionResponse(v, records),
        { ...partitionResponse(v, []), partitionIndex: 1, abortedTransactions: null },
        {
          ...partitionResponse(v, []),
          partitionIndex: 2,
          errorCode: 1,
          abortedTransactions: [{ producerId: 5, firstOffset: 100 }],
        },
      ],
    },
  ],
});

/** What decodeResponse gives back: the chunks as one Buffer view, none for an empty set. */
function decodedForm(res: FetchResponse): FetchResponse {
  return {
    ...res,
    responses: res.responses.map((t) => ({
      ...t,
      partitions: t.partitions.map((p) => ({
        ...p,
        records: p.records.some((c) => c.length > 0) ? [Buffer.concat(p.records)] : [],
      })),
    })),
  };
}

describe("Fetch codec", () => {
  test("advertises 4-11", () => {
    assert.equal(codec.key, ApiKey.Fetch);
    assert.deepStrictEqual(versions(codec), [4, 5, 6, 7, 8, 9, 10, 11]);
  });

  for (const v of versions(codec)) {
    test(`v${v} request round trip`, () => {
      requestRoundTrip(codec, v, request(v));
    });

    test(`v${v} response round trip (chunked records)`, () => {
      responseRoundTrip(codec, v, response(v), decodedForm(response(v)));
    });
  }

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
    codec.encodeResponse(empty, 11, response(11, []));
    const emptyBytes = written(empty);
    assert.equal(emptyBytes.readInt32BE(emptyBytes.length - 4), 0, "the last partition's records: size 0");
    const first = decodeAll(emptyBytes, (r) => codec.decodeResponse(r, 11)).responses[0].partitions[0];
    assert.deepStrictEqual(first.records, []);
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
  });
});

/** The two RecordBatches kafkajs produced (produce_v3 fixture), the second moved to offset 2. */
function kafkajsBatches(): Buffer[] {
  const req = decodeAll(fixture("kafkajs", "produce_v3"), (r) => produceCodec.decodeRequest(r, 3));
  const [a, b] = req.topics[0].partitions.map((p) => Buffer.from(p.records ?? Buffer.alloc(0)));
  b.writeBigInt64BE(2n, 0); // baseOffset is outside the CRC
  return [a, b];
}

describe("Fetch and kafkajs 2.2.4", () => {
  for (const v of versions(codec)) {
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
            partitions: [
              {
                partition: 0,
                currentLeaderEpoch: -1,
                fetchOffset: 12345,
                logStartOffset: -1,
                partitionMaxBytes: 1048576,
              },
              {
                partition: 1,
                currentLeaderEpoch: -1,
                fetchOffset: 0,
                logStartOffset: -1,
                partitionMaxBytes: 1048576,
              },
            ],
          },
        ],
        forgottenTopicsData: v >= 7 ? [{ topic: "old-topic", partitions: [3, 4] }] : [],
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
      const decoded = (await kafkajsDecode("fetch", v, written(w))) as {
        responses: {
          topicName: string;
          partitions: {
            partition: number;
            errorCode: number;
            highWatermark: string;
            lastStableOffset: string;
            abortedTransactions: unknown[];
            preferredReadReplica?: number;
            messages: {
              offset: string;
              timestamp: string;
              key: Buffer | null;
              value: Buffer;
              headers: object;
            }[];
          }[];
        }[];
      };
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
      assert.deepStrictEqual(p1.abortedTransactions, []);
    });
  }
});
