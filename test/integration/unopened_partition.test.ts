// A partition directory that is on disk but cannot be opened at start (here its segment file is
// a directory: the recovery scan fails on it) is left as it is and offline: the start does not
// recreate the partition over its data, Metadata answers it LEADER_NOT_AVAILABLE with the rest
// of its topic (the topic does not shrink), and neither CreateTopics nor auto-creation makes a
// topic of that name over it. Before, the start's gap fill made the partition again in its place.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "./raw_client.ts";

const SEGMENT = "00000000000000000000.log";

describe("a partition directory that cannot be opened at start", () => {
  let broker: BrokerProcess;
  let c: RawClient;
  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": true } });
    c = await RawClient.tcp(broker.bootstrap);
    assert.equal((await c.createTopic("frail", 2)).errorCode, 0);
    assert.equal((await c.createTopic("frail-one", 1)).errorCode, 0);
    for (const [topic, partition] of [
      ["frail", 0],
      ["frail", 1],
      ["frail-one", 0],
    ] as const) {
      const res = await c.request(produceCodec, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topics: [
          {
            name: topic,
            partitions: [{ partitionIndex: partition, records: encodeBatch([{ value: "keep me" }]) }],
          },
        ],
      });
      assert.equal(res.responses[0].partitions[0].errorCode, 0);
    }
    c.close();
    await broker.stop();
    // The segment files become directories (a stand-in for any damage the scan cannot read).
    for (const dir of ["frail-1", "frail-one-0"]) {
      const seg = join(broker.logDir, dir, SEGMENT);
      fs.renameSync(seg, `${seg}.kept`);
      fs.mkdirSync(seg);
    }
    await broker.launch();
    c = await RawClient.tcp(broker.bootstrap);
  });
  after(async () => {
    c.close();
    await broker.destroy();
  });

  it("is reported, left offline and as it was; its topic keeps its partition count", async () => {
    assert.match(broker.output, /skipped .*frail-1/);
    const md = await c.request(metadataCodec, 9, metadataRequest(["frail"], false));
    const t = md.topics[0];
    assert.equal(t.errorCode, 0);
    assert.deepEqual(
      t.partitions.map((p) => [p.partitionIndex, p.errorCode, p.leaderId]),
      [
        [0, 0, 0],
        [1, ErrorCode.LEADER_NOT_AVAILABLE, -1],
      ],
    );
    const dir = join(broker.logDir, "frail-1");
    assert.ok(fs.statSync(join(dir, SEGMENT)).isDirectory(), "not recreated over");
    assert.ok(fs.existsSync(join(dir, `${SEGMENT}.kept`)), "its data is still there");
    // The partition that opened serves as before.
    const p0 = await c.readAll("frail", 0);
    assert.deepEqual(
      p0.map((r) => r.value?.toString()),
      ["keep me"],
    );
  });

  it("a topic whose only partition did not open is not created again over it", async () => {
    const created = await c.createTopic("frail-one", 1);
    assert.notEqual(created.errorCode, 0, "CreateTopics refuses");
    const md = await c.request(metadataCodec, 9, metadataRequest(["frail-one"], true));
    assert.notEqual(md.topics[0].errorCode, 0, "auto-creation refuses");
    const dir = join(broker.logDir, "frail-one-0");
    assert.ok(fs.statSync(join(dir, SEGMENT)).isDirectory());
    assert.ok(fs.existsSync(join(dir, `${SEGMENT}.kept`)));
  });
});
