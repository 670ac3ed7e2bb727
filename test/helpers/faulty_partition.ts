// One partition under faults, for the cluster fault tests (cluster_faults, cluster_pauses): its
// topic (replicas [1, 2, 3], broker 1 the preferred leader, min.insync.replicas 2), its state as
// a broker's Metadata tells it, produce requests with a chosen acks, and its log as it is on a
// broker's disk (values, and checksums of the segment files).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { createTopicsCodec } from "../../src/protocol/create_topics.ts";
import { metadataCodec, metadataRequest } from "../../src/protocol/metadata.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { decodeBatch, encodeBatch, splitBatches } from "../../src/protocol/records.ts";
import { RawClient } from "../integration/raw_client.ts";
import { eventually, type TestCluster } from "./cluster.ts";

export const TOPIC = "faults";

export async function withClient<T>(bootstrap: string, f: (c: RawClient) => Promise<T>): Promise<T> {
  const c = await RawClient.tcp(bootstrap);
  try {
    return await f(c);
  } finally {
    c.close();
  }
}

/** The topic, replicas [1,2,3] on one partition, min.insync.replicas 2. */
export async function createTopic(c: TestCluster): Promise<void> {
  await withClient(c.broker(1).bootstrap, async (client) => {
    const res = await client.request(createTopicsCodec, 5, {
      topics: [
        {
          name: TOPIC,
          numPartitions: -1,
          replicationFactor: -1,
          assignments: [{ partitionIndex: 0, brokerIds: [1, 2, 3] }],
          configs: [{ name: "min.insync.replicas", value: "2" }],
        },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.equal(res.topics[0].errorCode, 0, res.topics[0].errorMessage ?? "");
  });
  await eventually(async () => (await state(c, 1)).isr.length === 3, 30_000, "ISR of three");
  // Every broker learns the partition from the controller's UpdateMetadata, some after others:
  // tests that ask any of them for its leader wait for all to know it.
  for (const b of c.brokers.map((_, i) => i + 1).filter((id) => c.broker(id).alive))
    await eventually(async () => (await state(c, b)).leader >= 0, 30_000, `broker ${b} knows the leader`);
}

export async function state(c: TestCluster, via: number) {
  return withClient(c.broker(via).bootstrap, async (client) => {
    const md = await client.request(metadataCodec, 9, metadataRequest([TOPIC], false));
    // A broker the controller has not told of the topic yet knows no partition of it.
    const p = md.topics[0]?.partitions[0];
    if (p === undefined) return { leader: -1, isr: [] as number[], controller: md.controllerId };
    return { leader: p.leaderId, isr: [...p.isrNodes].sort(), controller: md.controllerId };
  });
}

export async function produce(
  bootstrap: string,
  acks: number,
  values: string[],
  timeoutMs = 5000,
): Promise<{ errorCode: number; baseOffset: number }> {
  return withClient(bootstrap, async (client) => {
    const res = await client.request(produceCodec, 7, {
      transactionalId: null,
      acks,
      timeoutMs,
      topics: [
        {
          name: TOPIC,
          partitions: [
            { partitionIndex: 0, records: encodeBatch(values.map((v) => ({ key: null, value: v }))) },
          ],
        },
      ],
    });
    const p = res.responses[0].partitions[0];
    return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
  });
}

/** Every value of the partition, read from a broker's segment files directly. */
export function valuesOnDisk(logDir: string): string[] {
  const dir = join(logDir, `${TOPIC}-0`);
  const out: string[] = [];
  for (const f of fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort())
    for (const b of splitBatches(fs.readFileSync(join(dir, f))))
      for (const r of decodeBatch(b)) out.push(r.value?.toString() ?? "");
  return out;
}

export function segmentSums(logDir: string): string {
  const dir = join(logDir, `${TOPIC}-0`);
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith(".log"))
    .sort()
    .map(
      (f) =>
        `${f}:${createHash("sha256")
          .update(fs.readFileSync(join(dir, f)))
          .digest("hex")}`,
    )
    .join(",");
}

/** Errors a client retries after a leader change (the new leader may not have heard yet). */
const NOT_YET = new Set([3, 5, 6, 74]);

/**
 * Produce to whichever broker leads the partition (asked through broker `via`), retried as a
 * client would while a new leader is taking over (never after an answer that may have appended).
 */
export async function produceToLeader(
  c: TestCluster,
  acks: number,
  values: string[],
  via = 2,
): Promise<{ errorCode: number; baseOffset: number; leader: number }> {
  for (let attempt = 0; ; attempt++) {
    const leader = await state(c, via)
      .then((s) => s.leader)
      .catch(() => -1);
    if (leader > 0) {
      const r = await produce(c.broker(leader).bootstrap, acks, values).catch(() => null);
      if (r !== null && (!NOT_YET.has(r.errorCode) || attempt >= 50)) return { ...r, leader };
    }
    if (attempt >= 50) return { errorCode: -1, baseOffset: -1, leader };
    await new Promise((r) => setTimeout(r, 200));
  }
}
