// Milena's group consumer over WebSocket against a real broker process, the kafkajs group
// scenarios (test/conformance/groups_kafkajs.test.ts) with Milena members: three members split a
// 6-partition topic two by two; one (the leader, in a child process) is SIGKILLed without
// leaving and the other two take over its partitions once its session times out; one leaves
// cleanly (disconnect → LeaveGroup) and the rebalance is immediate; every message produced along
// the way is consumed at least once, none skipped. The committed offsets survive a broker
// restart (on the same ports), and the member still running rejoins by itself and resumes from
// exactly them. Then: a Milena member and a kafkajs
// member share one group (RoundRobinAssigner), each leading in turn; manual commits with
// eachBatch; a handler that throws gets its record again (at-least-once).

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import {
  type Admin,
  type GroupConsumer,
  type GroupConsumerConfig,
  Milena,
  type Producer,
} from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const TOPIC = "groups-milena";
const GROUP = "milena-group";
const PARTITIONS = 6;
const ALL = Array.from({ length: PARTITIONS }, (_, i) => i);
const SESSION_MS = 3000;
const HEARTBEAT_MS = 200;
const FIXTURE = fileURLToPath(new URL("./fixtures/group_member.ts", import.meta.url));

/** What one member (in this process or the child) saw. */
class Seen {
  assignment: number[] = [];
  isLeader = false;
  joins = 0;
  lastJoinAt = 0;
  /** "partition:offset" -> value. */
  readonly messages = new Map<string, string>();
  /** Every "partition:offset" consumed, in order, duplicates included. */
  readonly order: string[] = [];

  join(partitions: number[], isLeader: boolean): void {
    this.assignment = [...partitions].sort((a, b) => a - b);
    this.isLeader = isLeader;
    this.joins++;
    this.lastJoinAt = Date.now();
  }

  message(partition: number, offset: number, value: string): void {
    this.messages.set(`${partition}:${offset}`, value);
    this.order.push(`${partition}:${offset}`);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe("Milena's group consumer over WebSocket", () => {
  let broker: BrokerProcess;
  let milena: Milena;
  let admin: Admin;
  let producer: Producer;
  const consumers: GroupConsumer<Buffer>[] = [];
  let child: ChildProcess | null = null;
  const errors: unknown[] = [];
  /** Every value produced to TOPIC, by partition and offset. */
  const produced = new Map<string, string>();
  const seenA = new Seen();
  const seenB = new Seen();
  const seenC = new Seen();
  let consumerA: GroupConsumer<Buffer>;
  let consumerB: GroupConsumer<Buffer>;

  async function startConsumer(
    seen: Seen,
    opts: Partial<GroupConsumerConfig> & { topic?: string } = {},
  ): Promise<GroupConsumer<Buffer>> {
    const topic = opts.topic ?? TOPIC;
    const consumer = milena.consumer({
      groupId: GROUP,
      sessionTimeout: SESSION_MS,
      heartbeatInterval: HEARTBEAT_MS,
      rebalanceTimeout: 2 * SESSION_MS,
      maxWaitTimeInMs: 100,
      autoCommitInterval: 500,
      onPartitionsAssigned: (assigned, group) =>
        seen.join(assigned.find((t) => t.topic === topic)?.partitions ?? [], group.isLeader),
      ...opts,
    });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) =>
        seen.message(partition, message.offset, message.value!.toString()),
      onError: (e) => errors.push(e),
    });
    return consumer;
  }

  function startChild(seen: Seen): ChildProcess {
    const c = spawn(
      process.execPath,
      ["--import", "tsx", FIXTURE, broker.wsUrl, GROUP, TOPIC, String(SESSION_MS), String(HEARTBEAT_MS)],
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

  /** Produce `perPartition` messages to every partition of `topic`; remember them by partition:offset. */
  async function produce(
    round: string,
    perPartition: number,
    topic = TOPIC,
    into = produced,
    partitions = ALL,
  ): Promise<string[]> {
    const values: string[] = [];
    for (const partition of partitions) {
      const messages = Array.from({ length: perPartition }, (_, i) => ({
        partition,
        value: `${round} p${partition} #${i}`,
      }));
      const [r] = await producer.send({ topic, acks: -1, messages });
      messages.forEach((m, i) => {
        into.set(`${partition}:${r.baseOffset + i}`, m.value);
        values.push(m.value);
      });
    }
    return values;
  }

  const consumedValues = (...seen: Seen[]): Set<string> =>
    new Set(seen.flatMap((s) => [...s.messages.values()]));

  async function group(groupId = GROUP) {
    return (await admin.describeGroups([groupId])).groups[0];
  }

  async function committedOffsets(groupId = GROUP, topic = TOPIC): Promise<number[]> {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t.partitions.map((p) => p.offset);
  }

  async function highWatermarks(topic = TOPIC): Promise<number[]> {
    return (await admin.fetchTopicOffsets(topic)).map((o) => o.high);
  }

  /** The latest assignments are disjoint and cover every partition, and the group is Stable with them. */
  async function settled(seen: Seen[], sizes: number[], groupId = GROUP): Promise<boolean> {
    const all = seen.flatMap((s) => s.assignment).sort((a, b) => a - b);
    if (JSON.stringify(all) !== JSON.stringify(ALL)) return false;
    if (JSON.stringify(seen.map((s) => s.assignment.length)) !== JSON.stringify(sizes)) return false;
    const g = await group(groupId);
    return g.state === "Stable" && g.members.length === seen.length;
  }

  function connect(): void {
    milena = new Milena({
      bootstrap: broker.wsUrl,
      clientId: "groups-milena",
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    });
  }

  before(async () => {
    // Fixed ports: the clients reconnect to the restarted broker by themselves.
    broker = await BrokerProcess.start({
      overrides: {
        listeners: `PLAINTEXT://127.0.0.1:${await freePort()},WEBSOCKET://127.0.0.1:${await freePort()}`,
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "group.min.session.timeout.ms": 1000,
      },
    });
    connect();
    admin = milena.admin();
    await admin.connect();
    assert.equal(await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: PARTITIONS }] }), true);
    producer = milena.producer();
    await producer.connect();
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    for (const c of consumers) await c.disconnect().catch(() => {});
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await broker?.destroy();
  });

  it("three members split six partitions two by two (range) and consume everything", async () => {
    // The child joins first: it is the group's leader (the member that assigns), and stays so.
    child = startChild(seenC);
    await waitFor("the child member in the group", () => seenC.joins > 0);
    consumerA = await startConsumer(seenA);
    consumerB = await startConsumer(seenB);
    await waitFor("three members with two partitions each", () => settled([seenA, seenB, seenC], [2, 2, 2]));
    assert.deepEqual([seenA.isLeader, seenB.isLeader, seenC.isLeader], [false, false, true]);
    const g = await group();
    assert.equal(g.protocolType, "consumer");
    assert.equal(g.protocol, "range");
    // The member's host as Kafka shows it, also for a WebSocket connection.
    for (const m of g.members) assert.equal(m.clientHost, "/127.0.0.1");
    assert.deepEqual(
      g.members.map((m) => m.subscription),
      [[TOPIC], [TOPIC], [TOPIC]],
    );
    // Range: consecutive pairs.
    for (const s of [seenA, seenB, seenC]) assert.equal(s.assignment[1], s.assignment[0] + 1);
    assert.deepEqual(consumerA.assignment(), [{ topic: TOPIC, partitions: seenA.assignment }]);

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
    for (const s of [seenA, seenB, seenC])
      for (const [k, v] of s.messages) assert.equal(v, produced.get(k), `message at ${k}`);
    assert.deepEqual(errors, []);
  });

  it("committed offsets survive a broker restart; the running member rejoins and resumes from them", async () => {
    const hwms = await highWatermarks();
    await waitFor(
      "everything consumed committed",
      async () => (await committedOffsets()).join() === hwms.join(),
    );
    const joinsBefore = seenA.joins;
    await broker.restart();
    assert.deepEqual(await committedOffsets(), hwms, "commits replayed from __consumer_offsets");
    // The group came back Empty: the member learns it (UNKNOWN_MEMBER_ID) and joins again.
    await waitFor(
      "the member back in the group",
      async () => seenA.joins > joinsBefore && settled([seenA], [6]),
    );
    const mark = seenA.order.length;
    const values = await produce("after-restart", 4);
    await waitFor("the new messages consumed", () => values.every((v) => consumedValues(seenA).has(v)));
    // Only the new ones, once each, starting exactly at the committed offsets.
    const after = seenA.order.slice(mark);
    assert.deepEqual(
      [...after].sort(),
      ALL.flatMap((p) => [0, 1, 2, 3].map((i) => `${p}:${hwms[p] + i}`)).sort(),
    );
    for (const k of after) assert.equal(seenA.messages.get(k), produced.get(k));
    await consumerA.disconnect();
    assert.deepEqual(
      await committedOffsets(),
      hwms.map((h) => h + 4),
      "everything consumed is committed at disconnect",
    );
    await waitFor("the group empty", async () => (await group()).state === "Empty");
  });

  it("a Milena member and a kafkajs member share a group (RoundRobinAssigner), each leading in turn", async () => {
    const groupId = "mixed-group";
    const topic = "groups-mixed";
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] });
    const mixed = new Map<string, string>();
    const seenM = new Seen();
    const seenK = new Seen();
    const seenM2 = new Seen();
    const kafka = new Kafka({
      clientId: "groups-mixed-kafkajs",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
      retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    const k = kafka.consumer({
      groupId,
      sessionTimeout: SESSION_MS,
      heartbeatInterval: HEARTBEAT_MS,
      rebalanceTimeout: 2 * SESSION_MS,
      maxWaitTimeInMs: 100,
    });
    try {
      // The Milena member first: it leads, and assigns to the kafkajs member.
      const m = await startConsumer(seenM, { groupId, topic });
      await waitFor("the Milena member alone", () => settled([seenM], [6], groupId));
      k.on(k.events.GROUP_JOIN, (e) =>
        seenK.join(e.payload.memberAssignment[topic] ?? [], e.payload.isLeader),
      );
      await k.connect();
      await k.subscribe({ topics: [topic], fromBeginning: true });
      await k.run({
        eachMessage: async ({ partition, message }) =>
          seenK.message(partition, Number(message.offset), message.value!.toString()),
      });
      await waitFor("three partitions each", () => settled([seenM, seenK], [3, 3], groupId));
      assert.equal((await group(groupId)).protocol, "RoundRobinAssigner");
      assert.deepEqual([seenM.isLeader, seenK.isLeader], [true, false]);
      // Round robin over sorted member ids: alternate partitions.
      for (const s of [seenM, seenK]) assert.ok(s.assignment.every((p) => p % 2 === s.assignment[0] % 2));
      let values = await produce("mixed-1", 3, topic, mixed);
      await waitFor("the first mixed round consumed", () =>
        values.every((v) => consumedValues(seenM, seenK).has(v)),
      );

      // The Milena member leaves; the kafkajs member leads and assigns to a new Milena member.
      await m.disconnect();
      await waitFor("the kafkajs member alone", () => settled([seenK], [6], groupId));
      await startConsumer(seenM2, { groupId, topic });
      await waitFor("three each again", () => settled([seenM2, seenK], [3, 3], groupId));
      assert.deepEqual([seenM2.isLeader, seenK.isLeader], [false, true]);
      values = await produce("mixed-2", 3, topic, mixed);
      await waitFor("the second mixed round consumed", () =>
        values.every((v) => consumedValues(seenM2, seenK).has(v)),
      );
      for (const s of [seenM, seenK, seenM2])
        for (const [key, v] of s.messages) assert.equal(v, mixed.get(key));
      const consumed = new Map([...seenM.messages, ...seenK.messages, ...seenM2.messages]);
      for (const [key, v] of mixed) assert.equal(consumed.get(key), v, `mixed message at ${key}`);
    } finally {
      await k.disconnect().catch(() => {});
      await consumers[consumers.length - 1].disconnect();
    }
  });

  it("manual commits with eachBatch; a throwing handler gets its record again, nothing is skipped", async () => {
    const groupId = "manual-group";
    const topic = "groups-manual";
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
    const mine = new Map<string, string>();
    await produce("manual", 5, topic, mine, [0, 1]);
    const c = milena.consumer({
      groupId,
      autoCommit: false,
      sessionTimeout: SESSION_MS,
      heartbeatInterval: HEARTBEAT_MS,
      retry: { initialRetryTime: 50, retries: 5 },
    });
    consumers.push(c);
    const handled: string[] = [];
    const failures: { partition?: number; offset?: number }[] = [];
    let thrown = false;
    await c.connect();
    await c.subscribe({ topics: [topic], fromBeginning: true });
    await c.run({
      eachBatch: async ({ batch, resolveOffset }) => {
        for (const r of batch.records) {
          if (batch.partition === 1 && r.offset === 2 && !thrown) {
            thrown = true;
            throw new Error("boom");
          }
          handled.push(`${batch.partition}:${r.offset}`);
          resolveOffset(r.offset);
        }
        await c.commitOffsets();
      },
      onError: (_e, ctx) => failures.push({ partition: ctx.partition, offset: ctx.offset }),
    });
    await waitFor("both partitions handled", () => handled.length >= 10);
    await waitFor("committed", async () => (await committedOffsets(groupId, topic)).join() === "5,5");
    assert.deepEqual(failures, [{ partition: 1, offset: 2 }]);
    // Partition 1's records 0 and 1 once, 2 onwards once after the retry: none skipped.
    assert.deepEqual(
      handled.filter((h) => h.startsWith("1:")),
      ["1:0", "1:1", "1:2", "1:3", "1:4"],
    );
    // A commit by hand, then a group with a member refuses setOffsets; once it leaves, it may.
    await c.commitOffsets([{ topic, partition: 0, offset: 3 }]);
    assert.deepEqual(await committedOffsets(groupId, topic), [3, 5]);
    await assert.rejects(
      admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: 0 }] }),
      /active members/,
    );
    await c.disconnect();
    await admin.resetOffsets({ groupId, topic, earliest: true });
    assert.deepEqual(await committedOffsets(groupId, topic), [0, 0]);
    await admin.deleteGroups([groupId]);
    assert.equal((await group(groupId)).state, "Dead");
  });
});
