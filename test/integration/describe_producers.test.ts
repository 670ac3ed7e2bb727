// DescribeProducers (key 61) against a real broker: the idempotent producers a partition's
// writer remembers, with their epoch, last sequence and last timestamp (coordinator epoch and
// transaction start -1: no transactions); an empty partition lists none; unknown topics and
// partitions answer UNKNOWN_TOPIC_OR_PARTITION, an invalid name INVALID_TOPIC_EXCEPTION. The
// state survives a clean restart and a kill -9 (rebuilt from the log).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { describeProducersCodec } from "../../src/protocol/describe_producers.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { initProducerIdCodec } from "../../src/protocol/init_producer_id.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { idempotentBatch } from "../helpers/idempotent_batch.ts";
import { RawClient } from "./raw_client.ts";

const TOPIC = "dp";

describe("DescribeProducers", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic(TOPIC, 2)).errorCode, 0);
  });
  after(async () => {
    c?.close();
    await broker?.destroy();
  });

  const producerId = async () => {
    const res = await c.request(initProducerIdCodec, 4, {
      transactionalId: null,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    assert.equal(res.errorCode, 0);
    return res.producerId;
  };

  const produce = async (partition: number, records: Buffer) => {
    const res = await c.request(produceCodec, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: partition, records }] }],
    });
    assert.equal(res.responses[0].partitions[0].errorCode, 0);
  };

  const describeProducers = (topics: { name: string; partitionIndexes: number[] }[]) =>
    c.request(describeProducersCodec, 0, { topics });

  const producersOf = async (partition: number) => {
    const res = await describeProducers([{ name: TOPIC, partitionIndexes: [partition] }]);
    assert.equal(res.topics.length, 1);
    const p = res.topics[0].partitions[0];
    assert.equal(p.partitionIndex, partition);
    assert.equal(p.errorCode, 0);
    assert.equal(p.errorMessage, null);
    return [...p.activeProducers].sort((a, b) => a.producerId - b.producerId);
  };

  let a = -1;
  let b = -1;
  const tsA = Date.now() - 5000;
  const tsB = Date.now() - 1000;

  it("after two idempotent producers wrote to a partition, it lists both with epoch and last sequence", async () => {
    a = await producerId();
    b = await producerId();
    // a: sequences 0-2, 3-4 at epoch 0; b: epoch 0 then a new epoch 1 from sequence 0 (0-5).
    await produce(0, idempotentBatch(3, a, 0, 0, { now: tsA }));
    await produce(0, idempotentBatch(2, a, 0, 3, { now: tsA }));
    await produce(0, idempotentBatch(4, b, 0, 0, { now: tsB }));
    await produce(0, idempotentBatch(6, b, 1, 0, { now: tsB }));
    const list = await producersOf(0);
    assert.deepEqual(
      list,
      [
        {
          producerId: a,
          producerEpoch: 0,
          lastSequence: 4,
          lastTimestamp: tsA,
          coordinatorEpoch: -1,
          currentTxnStartOffset: -1,
        },
        {
          producerId: b,
          producerEpoch: 1,
          lastSequence: 5,
          lastTimestamp: tsB,
          coordinatorEpoch: -1,
          currentTxnStartOffset: -1,
        },
      ].sort((x, y) => x.producerId - y.producerId),
    );
  });

  it("an empty partition lists none", async () => {
    assert.deepEqual(await producersOf(1), []);
  });

  it("unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION; an invalid name INVALID_TOPIC_EXCEPTION", async () => {
    const res = await describeProducers([
      { name: TOPIC, partitionIndexes: [0, 7, 1] },
      { name: "no-such-topic", partitionIndexes: [0] },
      { name: "bad name!", partitionIndexes: [0] },
    ]);
    assert.deepEqual(
      res.topics.map((t) => [t.name, t.partitions.map((p) => [p.partitionIndex, p.errorCode])]),
      [
        [
          TOPIC,
          [
            [0, 0],
            [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION],
            [1, 0],
          ],
        ],
        ["no-such-topic", [[0, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]]],
        ["bad name!", [[0, ErrorCode.INVALID_TOPIC_EXCEPTION]]],
      ],
    );
    assert.equal(res.topics[0].partitions[0].activeProducers.length, 2);
    assert.deepEqual(res.topics[0].partitions[1].activeProducers, []);
    assert.equal(res.topics[1].partitions[0].errorMessage, "This server does not host this topic-partition.");
    assert.match(res.topics[2].partitions[0].errorMessage ?? "", /Topic name is invalid/);
  });

  it("the producers are still listed after a clean restart and after a kill -9", async () => {
    const before = await producersOf(0);
    c.close();
    await broker.restart();
    c = await RawClient.tcp(broker.bootstrap);
    assert.deepEqual(await producersOf(0), before);
    c.close();
    await broker.kill();
    await broker.launch();
    c = await RawClient.tcp(broker.bootstrap);
    assert.deepEqual(await producersOf(0), before);
  });
});
