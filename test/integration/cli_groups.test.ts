// `milena groups list|describe|delete|reset-offsets`, each run as a process against a real
// broker, as kafka-consumer-groups.sh is used: describe's lag is what was produced minus what
// the group committed, with the member holding each partition; reset-offsets prints its plan and
// changes nothing without --execute, and refuses while the group has members; delete of a group
// with members fails (exit 1, with a message); wrong arguments exit 2 with the usage.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Admin, type GroupConsumer, Milena } from "../../src/index.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";

const BIN = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));
const milena = (args: string[]) => run(process.execPath, [BIN, ...args], { timeoutMs: 60_000 });

const TOPIC = "cli-groups";
const GROUP = "cli-group";
const PER_PARTITION = 10;

/** A table as the command prints it: one object per row, keyed by the header's columns. */
function parseTable(stdout: string): Record<string, string>[] {
  const [header, ...rows] = stdout.trim().split("\n");
  const cols = header.trim().split(/\s+/);
  return rows
    .filter((r) => r.trim() !== "")
    .map((r) =>
      Object.fromEntries(
        r
          .trim()
          .split(/\s+/)
          .map((v, i) => [cols[i], v]),
      ),
    );
}

describe("milena groups", () => {
  let broker: BrokerProcess;
  let tcp: string[];
  let ws: string[];
  let client: Milena;
  let admin: Admin;
  let member: GroupConsumer<Buffer>;

  before(async () => {
    broker = await BrokerProcess.start({
      overrides: {
        "offsets.topic.num.partitions": 3,
        "group.initial.rebalance.delay.ms": 0,
        "group.min.session.timeout.ms": 1000,
      },
    });
    tcp = ["--bootstrap", broker.bootstrap];
    ws = ["--bootstrap", broker.wsUrl];
    client = new Milena({ bootstrap: broker.bootstrap, clientId: "cli-groups-member" });
    admin = client.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }] });
    const producer = client.producer();
    await producer.connect();
    for (const partition of [0, 1, 2])
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: PER_PARTITION }, (_, i) => ({
          partition,
          value: `p${partition}-${i}`,
        })),
      });
    await producer.disconnect();
    // A member that consumed everything but committed partition 0 up to 4 and partition 1 up to
    // 7 (partition 2: nothing).
    member = client.consumer({
      groupId: GROUP,
      autoCommit: false,
      sessionTimeout: 5000,
      heartbeatInterval: 500,
    });
    await member.connect();
    await member.subscribe({ topics: [TOPIC], fromBeginning: true });
    let seen = 0;
    const allSeen = new Promise<void>((resolve) => {
      void member.run({
        eachMessage: async () => {
          if (++seen === 3 * PER_PARTITION) resolve();
        },
      });
    });
    await allSeen;
    await member.commitOffsets([
      { topic: TOPIC, partition: 0, offset: 4 },
      { topic: TOPIC, partition: 1, offset: "7" },
    ]);
  });

  after(async () => {
    await member?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    await broker?.destroy();
  });

  it("list and describe an active group: committed offset, log end offset, lag and the member per partition", async () => {
    // (independent commands run side by side: each is a process)
    const [list, r] = await Promise.all([
      milena(["groups", "list", ...tcp]),
      milena(["groups", "describe", GROUP, ...ws]),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(list.stdout.trim().split("\n"), [GROUP]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const rows = parseTable(r.stdout);
    assert.deepEqual(
      rows.map((x) => [x.GROUP, x.TOPIC, x.PARTITION, x["CURRENT-OFFSET"], x["LOG-END-OFFSET"], x.LAG]),
      [
        [GROUP, TOPIC, "0", "4", "10", "6"],
        [GROUP, TOPIC, "1", "7", "10", "3"],
        [GROUP, TOPIC, "2", "-", "10", "-"],
      ],
    );
    // Lag = produced - committed, as the admin API sees them.
    const [committed] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const ends = await admin.fetchTopicOffsets(TOPIC);
    for (const row of rows.filter((x) => x.LAG !== "-")) {
      const p = Number(row.PARTITION);
      assert.equal(Number(row.LAG), ends[p].high - committed.partitions[p].offset);
    }
    for (const row of rows) {
      assert.equal(row["CONSUMER-ID"], member.memberId);
      assert.equal(row.HOST, "/127.0.0.1");
      assert.equal(row["CLIENT-ID"], "cli-groups-member");
    }
    assert.match(
      r.stdout,
      /^GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID\n/,
    );
  });

  it("delete and reset-offsets refuse a group with members (exit 1, with a message)", async () => {
    const [d, r] = await Promise.all([
      milena(["groups", "delete", GROUP, ...tcp]),
      milena(["groups", "reset-offsets", GROUP, "--topic", TOPIC, "--to-earliest", "--execute", ...tcp]),
    ]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /cli-group.*NON_EMPTY_GROUP/);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /inactive, but the current state is Stable/);
    assert.deepEqual(
      (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0].partitions.map((p) => p.offset),
      [4, 7, -1],
    );
  });

  it("reset-offsets: a dry run prints the plan only; --execute applies it", async () => {
    await member.disconnect(); // autoCommit is off: leaves its commits as they are
    let r = await milena(["groups", "describe", GROUP, ...tcp]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Consumer group 'cli-group' has no active members\./);
    assert.deepEqual(
      parseTable(r.stdout).map((x) => [x.PARTITION, x["CURRENT-OFFSET"], x.LAG, x["CONSUMER-ID"]]),
      [
        ["0", "4", "6", "-"],
        ["1", "7", "3", "-"],
      ],
    );
    const committed = async () =>
      (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0].partitions.map((p) => p.offset);

    r = await milena(["groups", "reset-offsets", GROUP, "--topic", TOPIC, "--to-offset", "5", ...ws]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      parseTable(r.stdout).map((x) => [x.GROUP, x.TOPIC, x.PARTITION, x["NEW-OFFSET"]]),
      [
        [GROUP, TOPIC, "0", "5"],
        [GROUP, TOPIC, "1", "5"],
        [GROUP, TOPIC, "2", "5"],
      ],
    );
    assert.match(r.stderr, /Dry run/);
    assert.deepEqual(await committed(), [4, 7, -1], "a dry run changes nothing");

    r = await milena([
      "groups",
      "reset-offsets",
      GROUP,
      "--topic",
      TOPIC,
      "--to-offset",
      "5",
      "--execute",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      `Committed the new offsets of ${TOPIC}: 3 of 3 partitions done.\n`,
      "progress per commit",
    );
    assert.deepEqual(await committed(), [5, 5, 5]);

    // Partitions of a topic, --to-latest; an offset past the end is clamped to it.
    r = await milena([
      "groups",
      "reset-offsets",
      GROUP,
      "--topic",
      `${TOPIC}:0`,
      "--to-latest",
      "--execute",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await committed(), [10, 5, 5]);
    r = await milena([
      "groups",
      "reset-offsets",
      GROUP,
      "--topic",
      `${TOPIC}:1,2`,
      "--to-offset",
      "99",
      "--execute",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /higher than the latest offset/);
    assert.deepEqual(await committed(), [10, 10, 10]);
    r = await milena([
      "groups",
      "reset-offsets",
      GROUP,
      "--all-topics",
      "--to-earliest",
      "--execute",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await committed(), [0, 0, 0]);

    // An unknown topic or partition: exit 1.
    r = await milena(["groups", "reset-offsets", GROUP, "--topic", `${TOPIC}:7`, "--to-earliest", ...tcp]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cli-groups-7 does not exist/);
  });

  it("delete an empty group; describe of a group that does not exist fails", async () => {
    const r = await milena(["groups", "delete", GROUP, ...ws]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Deleted consumer group 'cli-group'\./);
    assert.deepEqual((await admin.listGroups()).groups, []);
    const [desc, del] = await Promise.all([
      milena(["groups", "describe", GROUP, ...tcp]),
      milena(["groups", "delete", GROUP, ...tcp]),
    ]);
    assert.equal(desc.code, 1);
    assert.match(desc.stderr, /consumer group 'cli-group' does not exist/);
    assert.equal(del.code, 1);
    assert.match(del.stderr, /GROUP_ID_NOT_FOUND/);
  });

  it("wrong arguments exit 2 with the usage", async () => {
    const cases = [
      ["groups"],
      ["groups", "describe"],
      ["groups", "reset-offsets", GROUP, "--topic", TOPIC],
      ["groups", "reset-offsets", GROUP, "--topic", TOPIC, "--to-offset", "soon"],
      ["groups", "reset-offsets", GROUP, "--topic", `${TOPIC}:x`, "--to-earliest", "--to-latest"],
    ];
    const [help, top, ...results] = await Promise.all([
      milena(["groups", "--help"]),
      milena([]),
      ...cases.map((args) => milena([...args, ...tcp])),
    ]);
    results.forEach((r, i) => {
      assert.equal(r.code, 2, `${cases[i].join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /usage:\n {2}milena groups list/, cases[i].join(" "));
    });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /milena groups reset-offsets/);
    assert.equal(top.code, 2);
    assert.match(top.stderr, /groups +list\|describe\|delete\|reset-offsets/);
  });
});
