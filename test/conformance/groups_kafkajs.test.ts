// kafkajs 2.2.4 consumer groups against the broker's group coordinator: three consumers in one
// group on a 6-partition topic get two partitions each; one (the leader, in a child process) is
// SIGKILLed without leaving and the other two take over its partitions once its session times
// out; one leaves cleanly (disconnect → LeaveGroup) and the last one has all six well within the
// session timeout; every message produced along the way is consumed at least once. Then the
// committed offsets survive a broker restart: a new consumer in the same group (fromBeginning)
// reads only what was produced after it, from exactly the committed offsets.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Consumer, Kafka, logLevel, Partitioners, type Producer } from "kafkajs";
import { describeGroupsCodec } from "../../src/protocol/describe_groups.ts";
import { offsetFetchCodec } from "../../src/protocol/offset_fetch.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";

const TOPIC = "groups-kafkajs";
const GROUP = "kafkajs-group";
const PARTITIONS = 6;
const ALL = Array.from({ length: PARTITIONS }, (_, i) => i);
const SESSION_MS = 4000;
const HEARTBEAT_MS = 200;
const FIXTURE = fileURLToPath(new URL("./fixtures/groups_consumer.ts", import.meta.url));

/** What one consumer (in this process or the child) saw. */
class Seen {
  assignment: number[] = [];
  isLeader = false;
  joins = 0;
  lastJoinAt = 0;
  /** "partition:offset" -> value. */
  readonly messages = new Map<string, string>();

  join(partitions: number[], isLeader: boolean): void {
    this.assignment = [...partitions].sort((a, b) => a - b);
    this.isLeader = isLeader;
    this.joins++;
    this.lastJoinAt = Date.now();
  }

  message(partition: number, offset: number, value: string): void {
    this.messages.set(`${partition}:${offset}`, value);
  }
}

async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("kafkajs 2.2.4 consumer group", () => {
  let broker: BrokerProcess;
  let raw: RawClient;
  let kafka: Kafka;
  let producer: Producer;
  const consumers: Consumer[] = [];
  let child: ChildProcess | null = null;
  /** Every value produced, by partition and offset. */
  const produced = new Map<string, string>();
  const seenA = new Seen();
  const seenB = new Seen();
  const seenC = new Seen();
  let consumerA: Consumer;
  let consumerB: Consumer;

  function newKafka(): Kafka {
    return new Kafka({
      clientId: "groups-kafkajs",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  async function startConsumer(seen: Seen, groupId = GROUP): Promise<Consumer> {
    const consumer = kafka.consumer({
      groupId,
      sessionTimeout: SESSION_MS,
      heartbeatInterval: HEARTBEAT_MS,
      rebalanceTimeout: 2 * SESSION_MS,
      maxWaitTimeInMs: 100,
    });
    consumers.push(consumer);
    consumer.on(consumer.events.GROUP_JOIN, (e) =>
      seen.join(e.payload.memberAssignment[TOPIC] ?? [], e.payload.isLeader),
    );
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) =>
        seen.message(partition, Number(message.offset), message.value!.toString()),
    });
    return consumer;
  }

  function startChild(seen: Seen): ChildProcess {
    const c = spawn(
      process.execPath,
      ["--import", "tsx", FIXTURE, broker.bootstrap, GROUP, TOPIC, String(SESSION_MS), String(HEARTBEAT_MS)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let buf = "";
    c.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const e = JSON.parse(line);
        if (e.type === "join") seen.join(e.partitions, e.leader);
        else seen.message(e.partition, e.offset, e.value);
      }
    });
    return c;
  }

  /** Produce `perPartition` messages to every partition; remember them by partition:offset. */
  async function produce(round: string, perPartition: number): Promise<string[]> {
    const values: string[] = [];
    for (const partition of ALL) {
      const messages = Array.from({ length: perPartition }, (_, i) => ({
        partition,
        value: `${round} p${partition} #${i}`,
      }));
      const [r] = await producer.send({ topic: TOPIC, acks: -1, messages });
      assert.equal(r.errorCode, 0);
      messages.forEach((m, i) => {
        produced.set(`${partition}:${Number(r.baseOffset) + i}`, m.value);
        values.push(m.value);
      });
    }
    return values;
  }

  const consumedValues = (...seen: Seen[]): Set<string> =>
    new Set(seen.flatMap((s) => [...s.messages.values()]));

  async function group() {
    const res = await raw.request(describeGroupsCodec, 2, { groups: [GROUP] });
    return res.groups[0];
  }

  async function committedOffsets(): Promise<number[]> {
    const res = await raw.request(offsetFetchCodec, 4, {
      groupId: GROUP,
      topics: [{ name: TOPIC, partitionIndexes: ALL }],
    });
    return res.topics[0].partitions.map((p) => p.committedOffset);
  }

  async function highWatermarks(): Promise<number[]> {
    return Promise.all(ALL.map(async (p) => Number((await raw.listOffset(TOPIC, p, -1)).offset)));
  }

  /** The latest assignments are disjoint and cover every partition, and the group is Stable with them. */
  async function settled(seen: Seen[], sizes: number[]): Promise<boolean> {
    const all = seen.flatMap((s) => s.assignment).sort((a, b) => a - b);
    if (JSON.stringify(all) !== JSON.stringify(ALL)) return false;
    if (JSON.stringify(seen.map((s) => s.assignment.length)) !== JSON.stringify(sizes)) return false;
    const g = await group();
    return g.groupState === "Stable" && g.members.length === seen.length;
  }

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "group.min.session.timeout.ms": 1000,
      },
    });
    raw = await RawClient.tcp(broker.bootstrap);
    kafka = newKafka();
    const admin = kafka.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] }), true);
    await admin.disconnect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const c of consumers) await c.disconnect().catch(() => {});
    await producer?.disconnect().catch(() => {});
    raw?.close();
    await broker?.destroy();
  });

  it("three consumers split six partitions two by two and consume everything", async () => {
    // The child joins first: it is the group's leader (the member that assigns), and stays so.
    child = startChild(seenC);
    await waitFor("the child consumer in the group", () => seenC.joins > 0);
    consumerA = await startConsumer(seenA);
    consumerB = await startConsumer(seenB);
    await waitFor("three members with two partitions each", () => settled([seenA, seenB, seenC], [2, 2, 2]));
    assert.deepEqual([seenA.isLeader, seenB.isLeader, seenC.isLeader], [false, false, true]);
    const g = await group();
    assert.equal(g.protocolType, "consumer");
    assert.equal(g.protocolData, "RoundRobinAssigner");

    const values = await produce("first", 10);
    await waitFor("the first round consumed", () =>
      values.every((v) => consumedValues(seenA, seenB, seenC).has(v)),
    );
    // Each consumed only its own partitions.
    for (const s of [seenA, seenB, seenC]) {
      const partitions = new Set([...s.messages.keys()].map((k) => Number(k.split(":")[0])));
      assert.deepEqual([...partitions].sort(), s.assignment);
    }
  });

  it("the leader killed without leaving: the others take over its partitions after the session timeout", async () => {
    const orphaned = seenC.assignment;
    const joinsBefore = [seenA.joins, seenB.joins];
    const killedAt = Date.now();
    child!.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));
    // Produced while the dead member still holds its partitions: consumed after the takeover.
    const values = await produce("after-kill", 5);
    await waitFor("two members with three partitions each", () => settled([seenA, seenB], [3, 3]));
    const takeover = Math.min(seenA.lastJoinAt, seenB.lastJoinAt) - killedAt;
    assert.ok(seenA.joins > joinsBefore[0] && seenB.joins > joinsBefore[1], "both rejoined");
    // Not before its session could have expired (its last heartbeat was at most one interval ago).
    assert.ok(
      takeover >= SESSION_MS - HEARTBEAT_MS - 250,
      `rebalanced ${takeover} ms after the kill, before the ${SESSION_MS} ms session timeout`,
    );
    for (const p of orphaned) assert.ok([...seenA.assignment, ...seenB.assignment].includes(p));
    assert.equal([seenA, seenB].filter((s) => s.isLeader).length, 1, "one of them leads now");
    await waitFor("the second round consumed", () =>
      values.every((v) => consumedValues(seenA, seenB).has(v)),
    );
  });

  it("a member that leaves cleanly: the rebalance is immediate", async () => {
    const joinsBefore = seenA.joins;
    const leftAt = Date.now();
    await consumerB.disconnect();
    await waitFor("one member with all six partitions", () => settled([seenA], [6]));
    assert.ok(seenA.joins > joinsBefore);
    const rebalance = seenA.lastJoinAt - leftAt;
    assert.ok(
      rebalance < SESSION_MS / 2,
      `the rebalance after a LeaveGroup took ${rebalance} ms (session timeout ${SESSION_MS} ms)`,
    );
    const values = await produce("after-leave", 5);
    await waitFor("the third round consumed", () => values.every((v) => consumedValues(seenA).has(v)));
  });

  it("every produced message was consumed at least once, none skipped", async () => {
    const consumed = new Map([...seenC.messages, ...seenB.messages, ...seenA.messages]);
    const hwms = await highWatermarks();
    assert.equal(
      produced.size,
      hwms.reduce((a, b) => a + b, 0),
    );
    for (const p of ALL) {
      for (let o = 0; o < hwms[p]; o++) {
        const key = `${p}:${o}`;
        assert.equal(consumed.get(key), produced.get(key), `partition ${p} offset ${o}`);
      }
    }
    // Whatever each consumer got at a partition:offset is what was produced there.
    for (const s of [seenA, seenB, seenC])
      for (const [k, v] of s.messages) assert.equal(v, produced.get(k), `message at ${k}`);
  });

  it("committed offsets survive a broker restart; the group resumes from them", async () => {
    const hwms = await highWatermarks();
    await consumerA.disconnect();
    assert.deepEqual(await committedOffsets(), hwms, "everything consumed is committed");
    await waitFor("the group empty", async () => (await group()).groupState === "Empty");

    raw.close();
    await producer.disconnect();
    await broker.restart();
    raw = await RawClient.tcp(broker.bootstrap);
    assert.deepEqual(await committedOffsets(), hwms, "commits replayed from __consumer_offsets");
    kafka = newKafka();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();

    const before = produced.size;
    const values = await produce("after-restart", 4);
    assert.equal(produced.size, before + values.length);
    const seenD = new Seen();
    await startConsumer(seenD);
    await waitFor("the new messages consumed", () => values.every((v) => consumedValues(seenD).has(v)));
    await waitFor("the last commits", async () =>
      (await committedOffsets()).every((o, p) => o === hwms[p] + 4),
    );
    assert.deepEqual(seenD.assignment, ALL);
    // Only the new ones, each exactly where it was produced, starting at the committed offsets.
    assert.deepEqual([...seenD.messages.values()].sort(), [...values].sort());
    for (const [k, v] of seenD.messages) assert.equal(v, produced.get(k));
    for (const p of ALL) {
      const offsets = [...seenD.messages.keys()]
        .filter((k) => Number(k.split(":")[0]) === p)
        .map((k) => Number(k.split(":")[1]))
        .sort((a, b) => a - b);
      assert.deepEqual(offsets, [hwms[p], hwms[p] + 1, hwms[p] + 2, hwms[p] + 3]);
    }
  });
});
