// `milena mirror` through outages and beside itself, real processes: the target broker killed
// and brought back, then the source, while records keep coming (the mirror logs, retries, never
// exits, and loses nothing); two mirror processes with the same configuration share a topic's
// partitions through their consumer group.

import assert from "node:assert/strict";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { Milena } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { eventually } from "../helpers/cluster.ts";
import { MirrorProcess } from "../helpers/mirror_process.ts";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startOn(port: number): Promise<BrokerProcess> {
  return BrokerProcess.start({
    overrides: {
      listeners: `PLAINTEXT://127.0.0.1:${port},WEBSOCKET://127.0.0.1:0`,
      "group.initial.rebalance.delay.ms": 0,
    },
  });
}

async function values(bootstrap: string, topic: string): Promise<Map<number, string[]>> {
  const m = new Milena({ bootstrap, retry: { retries: 1 } });
  const admin = m.admin();
  await admin.connect();
  let total = 0;
  try {
    if (!(await admin.listTopics()).includes(topic)) return new Map();
    total = (await admin.fetchTopicOffsets(topic)).reduce((s, e) => s + e.high - e.low, 0);
  } finally {
    await admin.disconnect();
  }
  const out = new Map<number, string[]>();
  if (total === 0) return out;
  const c = m.consumer({ autoOffsetReset: "earliest" });
  await c.connect();
  await c.assign([{ topic, offset: "earliest" }]);
  let n = 0;
  for await (const r of c) {
    const list = out.get(r.partition) ?? [];
    list.push(r.value!.toString());
    out.set(r.partition, list);
    if (++n >= total) break;
  }
  await c.disconnect();
  return out;
}

function dedup(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    if (seen.has(v)) return false;
    seen.add(v);
    return true;
  });
}

function mirrorConfig(a: BrokerProcess, b: BrokerProcess, topics: string): string {
  return `clusters = A, B
A.bootstrap.servers = ${a.bootstrap}
B.bootstrap.servers = ${b.bootstrap}
A->B.enabled = true
A->B.topics = ${topics}
refresh.topics.interval.seconds = 1
emit.checkpoints.interval.seconds = 1
progress.log.interval.seconds = 1
`;
}

describe("milena mirror through outages", { timeout: 240_000 }, () => {
  let a: BrokerProcess;
  let b: BrokerProcess;
  const mirrors: MirrorProcess[] = [];

  before(async () => {
    a = await startOn(await freePort());
    b = await startOn(await freePort());
  });

  after(async () => {
    for (const m of mirrors) await m.destroy();
    await a?.destroy();
    await b?.destroy();
  });

  it("keeps going when the target, then the source, goes away for a while", async () => {
    const m = new Milena({ bootstrap: a.bootstrap });
    const admin = m.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "steady", numPartitions: 2 }] });
    await admin.disconnect();
    const mirror = await MirrorProcess.start(mirrorConfig(a, b, "steady"));
    mirrors.push(mirror);
    const produce = async (from: number, n: number) => {
      const p = new Milena({ bootstrap: a.bootstrap }).producer();
      await p.connect();
      await p.send({
        topic: "steady",
        messages: Array.from({ length: n }, (_, i) => ({ key: `k${from + i}`, value: `v${from + i}` })),
      });
      await p.disconnect();
    };
    const copied = async (n: number) => {
      const v = await values(b.bootstrap, "A.steady").catch(() => new Map<number, string[]>());
      return [...v.values()].reduce((s, l) => s + dedup(l).length, 0) >= n;
    };
    await produce(0, 1000);
    await eventually(() => copied(1000), 30_000, "the first 1,000 records on B");

    // The target goes away; records keep arriving at the source meanwhile.
    await b.kill();
    await produce(1000, 1000);
    // Longer than the clients' retries (about 6 s): the flow's session fails and starts again.
    await new Promise((r) => setTimeout(r, 9000));
    assert.ok(mirror.alive, "the mirror exited while the target was down");
    await b.launch();
    await eventually(() => copied(2000), 60_000, "2,000 records on B after the target came back");

    // The source goes away.
    await a.kill();
    await new Promise((r) => setTimeout(r, 9000));
    assert.ok(mirror.alive, "the mirror exited while the source was down");
    await a.launch();
    await produce(2000, 1000);
    await eventually(() => copied(3000), 60_000, "3,000 records on B after the source came back");

    const [from, to] = [await values(a.bootstrap, "steady"), await values(b.bootstrap, "A.steady")];
    for (const p of [0, 1]) assert.deepEqual(dedup(to.get(p) ?? []), from.get(p) ?? []);
    // It said what went wrong, and went on.
    assert.match(mirror.output, /\[mirror A->B\] .*starting again in/);
    assert.equal(await mirror.stop(), 0);
  });

  it("two mirror processes share the partitions of a flow", async () => {
    const m = new Milena({ bootstrap: a.bootstrap });
    const admin = m.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "shared", numPartitions: 4 }] });
    await admin.disconnect();
    const cfg = mirrorConfig(a, b, "shared");
    const one = await MirrorProcess.start(cfg);
    const two = await MirrorProcess.start(cfg);
    mirrors.push(one, two);
    const assigned = (out: string) => {
      const all = [...out.matchAll(/\[mirror A->B\] assigned shared:([\d,]*)/g)];
      return all.length === 0 ? null : all[all.length - 1][1];
    };
    // Each process ends up with some of the four partitions, together all of them.
    const split = await eventually(
      () => {
        const x = assigned(one.output);
        const y = assigned(two.output);
        if (x === null || y === null || x === "" || y === "") return undefined;
        const parts = [...x.split(","), ...y.split(",")].map(Number).sort();
        return parts.join(",") === "0,1,2,3" ? [x, y] : undefined;
      },
      60_000,
      "both mirrors to hold partitions",
    );
    assert.ok(split[0] !== "" && split[1] !== "");
    const p = m.producer();
    await p.connect();
    await p.send({
      topic: "shared",
      messages: Array.from({ length: 400 }, (_, i) => ({ value: `s${i}`, partition: i % 4 })),
    });
    await p.disconnect();
    await eventually(
      async () =>
        [...(await values(b.bootstrap, "A.shared")).values()].reduce((s, l) => s + l.length, 0) === 400,
      30_000,
      "400 records on B",
    );
    // Both did some of the copying.
    for (const mp of [one, two])
      await eventually(
        () => /\[mirror A->B\] [1-9]\d* records copied/.test(mp.output),
        10_000,
        "a mirror's copies",
      );
    assert.equal(await one.stop(), 0);
    assert.equal(await two.stop(), 0);
  });
});
