// `make chaos`: a three-broker cluster (a real ZooKeeper, real broker processes; each broker in
// its own network namespace when this runs as root) under a random fault schedule for
// CHAOS_SECONDS (default 300), while a producer writes unique values with acks=all to a topic
// of replication factor 3 and min.insync.replicas 2. Faults, one at a time with pauses between:
// SIGKILL and restart of a broker, SIGSTOP past the ZooKeeper session then SIGCONT, a ZooKeeper
// restart, a network partition of one broker (namespaces only). Afterwards everything is healed,
// the ISR waited for, and every replica's log read from disk. Reports acknowledged, lost
// (acknowledged but missing on some replica), duplicated (present more than once) and unacknowledged
// but present counts; exits 1 when anything acknowledged was lost or the replicas differ.
// CHAOS_SEED replays a schedule.

import * as fs from "node:fs";
import { eventually, TestCluster } from "../helpers/cluster.ts";
import { createTopic, produceToLeader, state, valuesOnDisk } from "../helpers/faulty_partition.ts";
import { netnsAvailable, TestNetwork } from "../helpers/netns.ts";

const seconds = Number(process.env.CHAOS_SECONDS ?? 300);
let seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const firstSeed = seed;
function random(): number {
  // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) =>
  process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** The brokers' own lines, for finding out why a run failed (the cluster is removed afterwards). */
function keepLogs(cluster: TestCluster): void {
  const dir = `/tmp/milena-chaos-${firstSeed}`;
  fs.mkdirSync(dir, { recursive: true });
  for (const [i, b] of cluster.brokers.entries()) fs.writeFileSync(`${dir}/broker-${i + 1}.log`, b.output);
  log(`broker logs in ${dir}`);
}

async function main(): Promise<number> {
  const network = netnsAvailable() ? TestNetwork.create(3) : null;
  log(`seed ${firstSeed}, ${seconds} s, ${network ? "with" : "without"} network partitions`);
  const cluster = await TestCluster.start(network === null ? {} : { network });
  try {
    await createTopic(cluster);
    const acked = new Set<string>();
    const attempted = new Set<string>();
    let stop = false;
    let n = 0;
    const producer = (async () => {
      while (!stop) {
        const v = `v${n++}`;
        attempted.add(v);
        const r = await produceToLeader(cluster, -1, [v], 1 + Math.floor(Math.random() * 3)).catch(
          () => null,
        );
        if (r !== null && r.errorCode === 0) acked.add(v);
      }
    })();
    const faults = ["kill", "pause", "zookeeper", ...(network ? ["partition"] : [])];
    const until = Date.now() + seconds * 1000;
    let rounds = 0;
    while (Date.now() < until) {
      const fault = pick(faults);
      const id = 1 + Math.floor(random() * 3);
      const b = cluster.broker(id);
      rounds++;
      log(
        `round ${rounds}: ${fault}${fault === "zookeeper" ? "" : ` broker ${id}`} (acknowledged so far ${acked.size})`,
      );
      if (fault === "kill") {
        await b.kill();
        // Past its ZooKeeper session (6 s): until then its registration stands and a restart is
        // refused, as Kafka refuses it.
        await sleep(7000 + random() * 5000);
        await cluster.restart(id);
      } else if (fault === "pause") {
        process.kill(b.pid!, "SIGSTOP");
        await sleep(7000 + random() * 5000); // past the 6 s session
        process.kill(b.pid!, "SIGCONT");
      } else if (fault === "zookeeper") {
        await cluster.zk.stop();
        await sleep(1000 + random() * 4000);
        await cluster.zk.start();
      } else if (network) {
        network.cut(id);
        await sleep(3000 + random() * 9000);
        network.heal(id);
      }
      await sleep(3000 + random() * 7000);
    }
    stop = true;
    await producer;
    log(`faults over after ${rounds} round(s); waiting for every replica in the ISR`);
    try {
      await eventually(
        async () => (await state(cluster, 1)).isr.length === 3,
        120_000,
        "all three replicas in the ISR",
      );
    } catch (e) {
      keepLogs(cluster);
      throw e;
    }
    // In the ISR is not yet caught up (a follower may lag up to replica.lag.time.max.ms): the
    // replicas get a minute to converge before they are compared.
    let logs = cluster.brokers.map((b) => valuesOnDisk(b.logDir));
    for (let waited = 0; waited < 60_000 && logs.some((l) => l.join() !== logs[0].join()); waited += 500) {
      await sleep(500);
      logs = cluster.brokers.map((b) => valuesOnDisk(b.logDir));
    }
    const differ = logs.some((l) => l.join() !== logs[0].join());
    let lost = 0;
    logs.forEach((l, i) => {
      const have = new Set(l);
      const missing = [...acked].filter((v) => !have.has(v));
      lost += missing.length;
      log(
        `broker ${i + 1}: ${l.length} record(s)${missing.length > 0 ? `, missing ${missing.slice(0, 10).join(" ")}` : ""}`,
      );
    });
    const counts = new Map<string, number>();
    for (const v of logs[0]) counts.set(v, (counts.get(v) ?? 0) + 1);
    const duplicated = [...counts.values()].filter((c) => c > 1).length;
    const unackedPresent = [...counts.keys()].filter((v) => !acked.has(v)).length;
    log(
      `attempted ${attempted.size}, acknowledged ${acked.size}, lost ${lost} (acknowledged, missing on a replica), ` +
        `duplicated ${duplicated}, present unacknowledged ${unackedPresent}, replicas ${differ ? "DIFFER" : "identical"}`,
    );
    if (lost > 0 || differ) {
      keepLogs(cluster);
      return 1;
    }
    return 0;
  } finally {
    await cluster.destroy();
    network?.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(`failed: ${(e as Error).stack ?? e} (seed ${firstSeed})`);
    process.exit(2);
  },
);
