// The idempotent producer against a real broker (issue 9), over raw requests: InitProducerId
// hands out ids that stay unique across restarts; the same batch sent twice (a retry after a
// lost answer) is stored once and both answers carry the same base offset; gaps, stale epochs
// and unknown producers get Kafka's errors; the state survives a clean restart (snapshot) and a
// kill -9 (rebuilt from the log). Transactional batches need a transaction: without a
// transactional id they are refused as Kafka refuses them, and a partition the transaction did
// not add (AddPartitionsToTxn) is refused too (KIP-890: no transaction nobody would end).

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { initProducerIdCodec } from "../../src/protocol/init_producer_id.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { idempotentBatch } from "../helpers/idempotent_batch.ts";
import { RawClient } from "./raw_client.ts";

const TOPIC = "idem";

describe("idempotent produce", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic(TOPIC, 1)).errorCode, 0);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  const initProducerId = async (version = 4, transactionalId: string | null = null) =>
    c.request(initProducerIdCodec, version, {
      transactionalId,
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });

  const produce = async (records: Buffer, transactionalId: string | null = null) => {
    const res = await c.request(produceCodec, 7, {
      transactionalId,
      acks: -1,
      timeoutMs: 5000,
      topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, records }] }],
    });
    return res.responses[0].partitions[0];
  };

  const values = async () => (await c.readAll(TOPIC, 0)).map((r) => r.value?.toString());

  it("InitProducerId v0-v5: a new id at epoch 0 each time", async () => {
    const ids = new Set<number>();
    for (let v = 0; v <= 5; v++) {
      const res = await initProducerId(v);
      assert.equal(res.errorCode, 0);
      assert.equal(res.producerEpoch, 0);
      assert.ok(res.producerId >= 0);
      ids.add(res.producerId);
    }
    assert.equal(ids.size, 6);
  });

  it("the same batch twice is stored once; both answers give the first base offset", async () => {
    const { producerId } = await initProducerId();
    const first = idempotentBatch(3, producerId, 0, 0);
    const a = await produce(first);
    assert.equal(a.errorCode, 0);
    const b = await produce(Buffer.from(first));
    assert.equal(b.errorCode, 0);
    assert.equal(b.baseOffset, a.baseOffset);
    const next = await produce(idempotentBatch(2, producerId, 0, 3));
    assert.equal(next.errorCode, 0);
    assert.equal(next.baseOffset, a.baseOffset + 3);
    assert.deepEqual(await values(), ["v0", "v1", "v2", "v3", "v4"]);
  });

  it("a gap, an unknown producer, an older epoch and a transactional batch without a transaction are refused; nothing stored", async () => {
    const { producerId } = await initProducerId();
    assert.equal((await produce(idempotentBatch(1, producerId, 1, 0))).errorCode, 0);
    const before = (await values()).length;
    assert.equal(
      (await produce(idempotentBatch(1, producerId, 1, 5))).errorCode,
      ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
    );
    assert.equal(
      (await produce(idempotentBatch(1, producerId, 0, 1))).errorCode,
      ErrorCode.INVALID_PRODUCER_EPOCH,
    );
    assert.equal((await produce(idempotentBatch(1, 999_999, 0, 7))).errorCode, ErrorCode.UNKNOWN_PRODUCER_ID);
    // Kafka: transactional records need the request's transactional id.
    assert.equal(
      (await produce(idempotentBatch(1, producerId, 1, 1, { transactional: true }))).errorCode,
      ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
    );
    assert.equal((await values()).length, before);
    assert.equal((await initProducerId(4, "txn-1")).errorCode, ErrorCode.NONE);
  });

  it("a transactional batch for a partition its transaction did not add is refused (no hanging transaction)", async () => {
    const init = await initProducerId(4, "raw-txn");
    assert.equal(init.errorCode, ErrorCode.NONE);
    const before = (await values()).length;
    const batch = idempotentBatch(1, init.producerId, init.producerEpoch, 0, { transactional: true });
    assert.equal((await produce(batch, "raw-txn")).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal((await produce(Buffer.from(batch), "someone-else")).errorCode, ErrorCode.INVALID_TXN_STATE);
    assert.equal((await values()).length, before);
    // A plain produce of the same partition is not held back by an open transaction.
    const plain = await initProducerId();
    assert.equal((await produce(idempotentBatch(1, plain.producerId, 0, 0))).errorCode, ErrorCode.NONE);
  });

  it("after a clean restart and after kill -9, a retry is still a duplicate and ids stay unique", async () => {
    const { producerId } = await initProducerId();
    const before = (await values()).length;
    const batch = idempotentBatch(2, producerId, 0, 0);
    const first = await produce(batch);
    assert.equal(first.errorCode, 0);
    const seen = new Set([producerId]);
    for (const restart of ["clean", "kill"] as const) {
      c.close();
      if (restart === "clean") await broker.stop();
      else await broker.kill();
      await broker.launch();
      c = await RawClient.tcp(broker.bootstrap);
      const again = await produce(Buffer.from(batch));
      assert.equal(again.errorCode, 0, restart);
      assert.equal(again.baseOffset, first.baseOffset, restart);
      const id = (await initProducerId()).producerId;
      assert.ok(!seen.has(id) && id > producerId, `${restart}: id ${id} after ${[...seen]}`);
      seen.add(id);
    }
    assert.equal((await values()).length, before + 2); // stored once, not three times
    // Written after the restarts, the next sequence follows on.
    assert.equal((await produce(idempotentBatch(1, producerId, 0, 2))).errorCode, 0);
  });
});
