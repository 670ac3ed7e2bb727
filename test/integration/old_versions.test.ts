// Old request versions that common clients still send (issue 9), answered field by field:
// Metadata v0 (kafka-python's version probe, sarama's ListTopics: an empty list means every
// topic, and no rack, controller or is_internal in the answer) and ListOffsets v0 (Burrow's lag
// checks: max_num_offsets in the request, a list of offsets in the answer), OffsetCommit v0 and
// v1 (sarama's default; v1 carries a per-partition commit_timestamp) and OffsetFetch v0.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { produceCodec } from "../../src/protocol/produce.ts";
import type { Reader } from "../../src/protocol/reader.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

describe("old versions", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic("old-a", 2)).errorCode, 0);
    const res = await c.request(produceCodec, 3, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [
        {
          name: "old-a",
          partitions: [
            {
              partitionIndex: 1,
              records: encodeBatch([
                { key: null, value: "x" },
                { key: null, value: "y" },
              ]),
            },
          ],
        },
      ],
    });
    assert.equal(res.responses[0].partitions[0].errorCode, 0);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  /** A v0 Metadata answer read by hand, as a v0 client reads it. */
  function readMetadataV0(r: Reader) {
    const brokers = [];
    for (let i = r.int32(); i > 0; i--)
      brokers.push({ nodeId: r.int32(), host: r.string(), port: r.int32() });
    const topics = [];
    for (let i = r.int32(); i > 0; i--) {
      const errorCode = r.int16();
      const name = r.string();
      const partitions = [];
      for (let j = r.int32(); j > 0; j--) {
        const p = {
          errorCode: r.int16(),
          partition: r.int32(),
          leader: r.int32(),
          replicas: [] as number[],
          isr: [] as number[],
        };
        for (let k = r.int32(); k > 0; k--) p.replicas.push(r.int32());
        for (let k = r.int32(); k > 0; k--) p.isr.push(r.int32());
        partitions.push(p);
      }
      topics.push({ errorCode, name, partitions });
    }
    assert.equal(r.remaining, 0, "nothing after the v0 answer");
    return { brokers, topics };
  }

  it("Metadata v0: an empty list is every topic; a named one; an unknown one", async () => {
    const all = readMetadataV0(await c.requestRaw(3, 0, (w) => w.int32(0)));
    assert.equal(all.brokers.length, 1);
    assert.equal(all.brokers[0].port, Number(broker.bootstrap.split(":")[1]));
    const a = all.topics.find((t) => t.name === "old-a");
    assert.ok(a, JSON.stringify(all.topics.map((t) => t.name)));
    assert.deepEqual(
      a.partitions.map((p) => [p.errorCode, p.partition, p.leader, p.replicas, p.isr]),
      [
        [0, 0, all.brokers[0].nodeId, [all.brokers[0].nodeId], [all.brokers[0].nodeId]],
        [0, 1, all.brokers[0].nodeId, [all.brokers[0].nodeId], [all.brokers[0].nodeId]],
      ],
    );
    const named = readMetadataV0(await c.requestRaw(3, 0, (w) => w.int32(2).string("old-a").string("nope")));
    assert.deepEqual(
      named.topics.map((t) => [t.name, t.errorCode, t.partitions.length]),
      [
        ["old-a", 0, 2],
        ["nope", 3, 0],
      ],
    );
  });

  it("ListOffsets v0: latest, earliest, by timestamp, and an unknown partition", async () => {
    const r = await c.requestRaw(2, 0, (w) => {
      w.int32(-1).int32(1).string("old-a").int32(4);
      for (const [p, ts] of [
        [1, -1],
        [1, -2],
        [1, 0],
        [9, -1],
      ])
        w.int32(p).int64(ts).int32(10);
    });
    assert.equal(r.int32(), 1);
    assert.equal(r.string(), "old-a");
    const answers = [];
    for (let i = r.int32(); i > 0; i--) {
      const partition = r.int32();
      const errorCode = r.int16();
      const offsets = [];
      for (let j = r.int32(); j > 0; j--) offsets.push(r.int64());
      answers.push([partition, errorCode, offsets]);
    }
    assert.equal(r.remaining, 0);
    assert.deepEqual(answers, [
      [1, 0, [2]],
      [1, 0, [0]],
      [1, 0, [0]],
      [9, 3, []],
    ]);
  });

  /** An OffsetCommit v0-1 / OffsetFetch v0 answer: topics => name [partition error ...]. */
  function readTopics(r: Reader, partition: (r: Reader) => unknown[]) {
    const out = [];
    for (let i = r.int32(); i > 0; i--) {
      const name = r.string();
      const parts = [];
      for (let j = r.int32(); j > 0; j--) parts.push(partition(r));
      out.push([name, parts]);
    }
    assert.equal(r.remaining, 0);
    return out;
  }

  it("OffsetCommit v0 and v1 commit outside any generation; OffsetFetch v0 reads them back", async () => {
    const v0 = await c.requestRaw(8, 0, (w) => {
      w.string("old-group").int32(1).string("old-a").int32(1);
      w.int32(0).int64(17).string("meta-0");
    });
    assert.deepEqual(
      readTopics(v0, (r) => [r.int32(), r.int16()]),
      [["old-a", [[0, 0]]]],
    );
    const v1 = await c.requestRaw(8, 1, (w) => {
      w.string("old-group").int32(-1).string("").int32(1).string("old-a").int32(1);
      w.int32(1).int64(2).int64(-1).nullableString(null);
    });
    assert.deepEqual(
      readTopics(v1, (r) => [r.int32(), r.int16()]),
      [["old-a", [[1, 0]]]],
    );
    const fetched = await c.requestRaw(9, 0, (w) => {
      w.string("old-group").int32(1).string("old-a").int32(3).int32(0).int32(1).int32(9);
    });
    assert.deepEqual(
      readTopics(fetched, (r) => [r.int32(), r.int64(), r.nullableString(), r.int16()]),
      [
        [
          "old-a",
          [
            [0, 17, "meta-0", 0],
            // No metadata is "" in Kafka's answers (OffsetFetchResponse.NO_METADATA).
            [1, 2, "", 0],
            [9, -1, "", 0],
          ],
        ],
      ],
    );
  });
});
