// kcat 1.7.1 (librdkafka 2.0.2) balanced consumers (`kcat -G`) against the broker's group
// coordinator: two kcat processes in one group split a 4-partition topic (librdkafka's "range"
// assignor, both in the first generation thanks to group.initial.rebalance.delay.ms);
// DescribeGroups and ListGroups show the group; each message is printed by the partition's
// owner; after SIGTERM (librdkafka commits and leaves) OffsetFetch shows everything committed and
// the group is Empty; a kcat started again in the group (without -o, which with -G would seek
// every assigned partition there) resumes from the commits.

import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeAssignment } from "../../src/protocol/consumer_protocol.ts";
import { describeGroupsCodec } from "../../src/protocol/describe_groups.ts";
import { listGroupsCodec } from "../../src/protocol/list_groups.ts";
import { offsetFetchCodec } from "../../src/protocol/offset_fetch.ts";
import { produceCodec } from "../../src/protocol/produce.ts";
import { encodeBatch } from "../../src/protocol/records.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";
import { RawClient } from "../integration/raw_client.ts";

const KCAT = "/usr/bin/kcat";
const TOPIC = "groups-kcat";
const GROUP = "kcat-group";
const PARTITIONS = 4;
const ALL = Array.from({ length: PARTITIONS }, (_, i) => i);

/** A `kcat -G` process; its printed lines (partition, offset, value) as they come. */
class KcatConsumer {
  readonly lines: { partition: number; offset: number; value: string }[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /** `start`: kcat's -o (which, with -G, overrides the committed offsets on every assignment). */
  constructor(bootstrap: string, start: string[] = ["-o", "beginning"]) {
    this.child = spawn(
      KCAT,
      [
        "-b",
        bootstrap,
        "-G",
        GROUP,
        "-u",
        ...start,
        "-f",
        "%p\\t%o\\t%s\\n",
        "-X",
        "auto.commit.interval.ms=100",
        "-X",
        "heartbeat.interval.ms=500",
        "-X",
        "session.timeout.ms=10000",
        TOPIC,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let buf = "";
    this.child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const [p, o, v] = buf.slice(0, nl).split("\t");
        buf = buf.slice(nl + 1);
        this.lines.push({ partition: Number(p), offset: Number(o), value: v });
      }
    });
    this.child.stderr!.on("data", (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /** Partitions it printed messages of, from the lines matching `filter`. */
  partitions(filter: (value: string) => boolean = () => true): number[] {
    return [...new Set(this.lines.filter((l) => filter(l.value)).map((l) => l.partition))].sort();
  }

  /** SIGTERM: librdkafka commits, leaves the group and kcat exits. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
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
    await sleep(50);
  }
}

describe("kcat -G (librdkafka 2.0.2 balanced consumer)", () => {
  let broker: BrokerProcess;
  let raw: RawClient;
  const kcats: KcatConsumer[] = [];
  /** Values produced per partition, in offset order. */
  const produced: string[][] = ALL.map(() => []);

  async function produce(round: string, perPartition: number): Promise<void> {
    for (const p of ALL) {
      const values = Array.from({ length: perPartition }, (_, i) => `${round}-p${p}-${i}`);
      const res = await raw.request(produceCodec, 7, {
        transactionalId: null,
        acks: -1,
        timeoutMs: 5000,
        topics: [
          {
            name: TOPIC,
            partitions: [{ partitionIndex: p, records: encodeBatch(values.map((value) => ({ value }))) }],
          },
        ],
      });
      const r = res.responses[0].partitions[0];
      assert.equal(r.errorCode, 0);
      assert.equal(Number(r.baseOffset), produced[p].length);
      produced[p].push(...values);
    }
  }

  async function describeGroup() {
    const res = await raw.request(describeGroupsCodec, 2, { groups: [GROUP] });
    assert.equal(res.groups.length, 1);
    assert.equal(res.groups[0].errorCode, 0);
    return res.groups[0];
  }

  async function committed(): Promise<number[]> {
    const res = await raw.request(offsetFetchCodec, 4, {
      groupId: GROUP,
      topics: [{ name: TOPIC, partitionIndexes: ALL }],
    });
    assert.equal(res.errorCode, 0);
    return res.topics[0].partitions.map((p) => {
      assert.equal(p.errorCode, 0);
      return p.committedOffset;
    });
  }

  /** Everything produced was printed (at least once) by these kcats, each line where it was produced. */
  function allPrinted(...ks: KcatConsumer[]): boolean {
    const seen = new Set(ks.flatMap((k) => k.lines.map((l) => `${l.partition}:${l.offset}:${l.value}`)));
    return ALL.every((p) => produced[p].every((v, o) => seen.has(`${p}:${o}:${v}`)));
  }

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "offsets.topic.num.partitions": 3,
        // Both kcats join within it: one generation, no rebalance while consuming.
        "group.initial.rebalance.delay.ms": 1500,
      },
    });
    raw = await RawClient.tcp(broker.bootstrap);
    assert.equal((await raw.createTopic(TOPIC, PARTITIONS)).errorCode, 0);
  });

  after(async () => {
    for (const k of kcats) k.kill();
    raw?.close();
    await broker?.destroy();
  });

  it("two kcat -G consumers split the partitions; DescribeGroups and ListGroups show the group", async () => {
    await produce("before", 10);
    kcats.push(new KcatConsumer(broker.bootstrap), new KcatConsumer(broker.bootstrap));
    const [k1, k2] = kcats;

    let assignments: number[][] = [];
    await waitFor(
      "a Stable group of two with the partitions split",
      async () => {
        const g = await describeGroup();
        if (g.groupState !== "Stable" || g.members.length !== 2) return false;
        assignments = g.members.map((m) =>
          decodeAssignment(m.memberAssignment)
            .assignedPartitions.filter((t) => t.topic === TOPIC)
            .flatMap((t) => t.partitions)
            .sort(),
        );
        return true;
      },
      20_000,
    );
    const g = await describeGroup();
    assert.equal(g.protocolType, "consumer");
    assert.equal(g.protocolData, "range", "librdkafka's first choice, supported by both");
    for (const m of g.members) {
      assert.equal(m.clientId, "rdkafka");
      assert.match(m.clientHost, /^\/127\.0\.0\.1$/);
      assert.ok(m.memberMetadata.length > 0);
    }
    assert.ok(
      assignments.every((a) => a.length > 0),
      `both got partitions: ${JSON.stringify(assignments)}`,
    );
    assert.deepEqual(assignments.flat().sort(), ALL, "disjoint and covering every partition");
    const listed = await raw.request(listGroupsCodec, 2, {});
    // v2 has no group_state (v4+) nor group_type (v5+): they decode as "".
    assert.deepEqual(
      listed.groups.filter((x) => x.groupId === GROUP),
      [{ groupId: GROUP, protocolType: "consumer", groupState: "", groupType: "" }],
    );
    const listed5 = await raw.request(listGroupsCodec, 5, {
      statesFilter: ["Stable"],
      typesFilter: ["classic"],
    });
    assert.deepEqual(
      listed5.groups.filter((x) => x.groupId === GROUP),
      [{ groupId: GROUP, protocolType: "consumer", groupState: "Stable", groupType: "classic" }],
    );

    await produce("during", 15);
    await waitFor("everything printed", () => allPrinted(k1, k2));
    // What was produced once the split stood was printed by each partition's owner only.
    const during = (v: string) => v.startsWith("during-");
    const printedBy = [k1.partitions(during), k2.partitions(during)];
    assert.deepEqual(
      printedBy.map((ps) => JSON.stringify(ps)).sort(),
      assignments.map((ps) => JSON.stringify(ps)).sort(),
      `kcat 1 printed ${printedBy[0]}, kcat 2 ${printedBy[1]}; assignments ${JSON.stringify(assignments)}`,
    );
    // And each line is exactly what was produced there.
    for (const k of [k1, k2]) for (const l of k.lines) assert.equal(l.value, produced[l.partition][l.offset]);
  });

  it("after they stop, OffsetFetch shows their commits and the group is Empty", async () => {
    const [k1, k2] = kcats;
    const codes = await Promise.all([k1.stop(), k2.stop()]);
    assert.deepEqual(codes, [0, 0], `kcat stderr:\n${k1.stderr}\n${k2.stderr}`);
    assert.deepEqual(
      await committed(),
      produced.map((p) => p.length),
    );
    const g = await describeGroup();
    assert.equal(g.groupState, "Empty");
    assert.deepEqual(g.members, []);
    const listed = await raw.request(listGroupsCodec, 2, {});
    assert.ok(listed.groups.some((x) => x.groupId === GROUP && x.protocolType === "consumer"));
  });

  it("a kcat started again in the group resumes from the committed offsets", async () => {
    const ends = produced.map((p) => p.length);
    await produce("later", 3);
    // auto.offset.reset=earliest: were the commits not found, it would print everything again.
    const k3 = new KcatConsumer(broker.bootstrap, ["-X", "auto.offset.reset=earliest"]);
    kcats.push(k3);
    await waitFor("the new messages printed", () =>
      ALL.every((p) => produced[p].slice(ends[p]).every((v) => k3.lines.some((l) => l.value === v))),
    );
    await waitFor("its commits", async () => (await committed()).every((o, p) => o === produced[p].length));
    assert.equal(await k3.stop(), 0);
    assert.ok(
      k3.lines.every((l) => l.value.startsWith("later-")),
      `printed old messages: ${JSON.stringify(k3.lines.filter((l) => !l.value.startsWith("later-")))}`,
    );
    assert.equal(k3.lines.length, 3 * PARTITIONS);
  });
});
