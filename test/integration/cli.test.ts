// The `milena` command line, each command run as a process against a real broker: output and
// exit codes, including wrong arguments (exit 2 with the usage) and an unreachable broker
// (exit 1 with a message), over TCP and WebSocket.

import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { BrokerProcess, run } from "../helpers/broker_process.ts";

const BIN = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));
const milena = (args: string[], input?: string) =>
  run(process.execPath, [BIN, ...args], { input, timeoutMs: 60_000 });

describe("milena command line", () => {
  let broker: BrokerProcess;
  let tcp: string[];
  let ws: string[];

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "auto.create.topics.enable": false } });
    tcp = ["--bootstrap", broker.bootstrap];
    ws = ["--bootstrap", broker.wsUrl];
  });
  after(async () => broker?.destroy());

  it("topics create, list, describe, alter-config, delete", async () => {
    let r = await milena([
      "topics",
      "create",
      "cli-t",
      "--partitions",
      "3",
      "--config",
      "retention.ms=3600000",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Created topic cli-t/);
    r = await milena(["topics", "create", "cli-t", ...tcp]);
    assert.equal(r.code, 1, "creating it again fails");
    assert.match(r.stderr, /TOPIC_ALREADY_EXISTS|already exists/i);
    r = await milena(["topics", "list", ...ws]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split("\n"), ["cli-t"]);
    r = await milena(["topics", "describe", "cli-t", ...tcp]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Topic: cli-t\tPartitionCount: 3\tConfigs: retention\.ms=3600000/);
    assert.equal((r.stdout.match(/\tPartition: \d/g) ?? []).length, 3);
    r = await milena([
      "topics",
      "alter-config",
      "cli-t",
      "--set",
      "retention.ms=60000",
      "--set",
      "segment.bytes=1048576",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await milena(["topics", "alter-config", "cli-t", "--delete", "segment.bytes", ...tcp]);
    assert.equal(r.code, 0, r.stderr);
    r = await milena(["topics", "describe", "cli-t", ...tcp]);
    assert.match(r.stdout, /Configs: retention\.ms=60000\n/);
    r = await milena(["topics", "alter-config", "cli-t", "--set", "retention.ms=soon", ...tcp]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /INVALID_CONFIG|retention\.ms/);
    r = await milena(["topics", "delete", "cli-t", ...tcp]);
    assert.equal(r.code, 0, r.stderr);
    r = await milena(["topics", "list", ...tcp]);
    assert.equal(r.stdout.trim(), "");
  });

  it("produce lines from stdin with keys and headers; consume them back over both transports", async () => {
    assert.equal((await milena(["topics", "create", "cli-p", "--partitions", "2", ...tcp])).code, 0);
    const lines = Array.from({ length: 50 }, (_, i) => `key-${i}|value ${i}`);
    let r = await milena(
      [
        "produce",
        "cli-p",
        "--key-separator",
        "|",
        "--header",
        "origin=cli",
        "--acks",
        "all",
        "--compression",
        "lz4",
        ...ws,
      ],
      `${lines.join("\n")}\n`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /produced 50 record\(s\)/);
    r = await milena([
      "consume",
      "cli-p",
      "--from-beginning",
      "--max-messages",
      "50",
      "--print-key",
      "--print-headers",
      "--print-timestamp",
      ...tcp,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const got = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    assert.equal(got.length, 50);
    for (const [ts, key, headers, value] of got) {
      assert.match(ts, /^CreateTime:\d+$/);
      assert.equal(headers, "origin:cli");
      assert.equal(value, `value ${key.slice(4)}`);
    }
    assert.deepEqual(new Set(got.map((g) => g[1])).size, 50);
    // --partition and --offset N
    r = await milena([
      "consume",
      "cli-p",
      "--partition",
      "0",
      "--offset",
      "1",
      "--max-messages",
      "1",
      "--print-offset",
      ...ws,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0:1\t/);
  });

  it("perf produce and perf consume report their figures", async () => {
    assert.equal((await milena(["topics", "create", "cli-perf", ...tcp])).code, 0);
    let r = await milena([
      "perf",
      "produce",
      "--topic",
      "cli-perf",
      "--num-records",
      "5000",
      "--record-size",
      "100",
      "--transport",
      "ws",
      ...ws,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^5000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99\.9th\./,
    );
    r = await milena(["perf", "consume", "--topic", "cli-perf", "--messages", "5000", ...tcp]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\n[\d.]+, [\d.]+, 5000, [\d.]+, [\d.]+\n/);
  });

  it("perf produce and perf consume print a progress line every --reporting-interval on stderr", async () => {
    assert.equal((await milena(["topics", "create", "cli-perf-progress", ...tcp])).code, 0);
    // The consumer waits for records the producer sends at a capped rate (about 1 s of work),
    // so both run through several 200 ms windows.
    const consume = milena([
      "perf",
      "consume",
      "--topic",
      "cli-perf-progress",
      "--messages",
      "3000",
      "--reporting-interval",
      "200",
      ...tcp,
    ]);
    const produce = await milena([
      "perf",
      "produce",
      "--topic",
      "cli-perf-progress",
      "--num-records",
      "3000",
      "--record-size",
      "100",
      "--throughput",
      "3000",
      "--reporting-interval",
      "200",
      ...tcp,
    ]);
    assert.equal(produce.code, 0, produce.stderr);
    const windows = produce.stderr
      .split("\n")
      .filter((l) =>
        /^\d+ records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency\. \(\d+\.\d%, ETA (\d+ s|\d+ min \d+ s|\?)\)$/.test(
          l,
        ),
      );
    assert.ok(windows.length >= 2, `periodic lines on stderr:\n${produce.stderr}`);
    const counted = windows.reduce((sum, l) => sum + Number(l.split(" ")[0]), 0);
    assert.ok(
      counted > 0 && counted <= 3000,
      `the windows count the records acknowledged in them: ${counted}`,
    );
    // The summary on stdout is as before: its one line, first.
    assert.match(
      produce.stdout,
      /^3000 records sent, [\d.]+ records\/sec \([\d.]+ MB\/sec\), [\d.]+ ms avg latency, [\d.]+ ms max latency, [\d.]+ ms 50th, [\d.]+ ms 95th, [\d.]+ ms 99th, [\d.]+ ms 99\.9th\.\n$/,
    );
    const c = await consume;
    assert.equal(c.code, 0, c.stderr);
    const lines = c.stderr.split("\n");
    assert.equal(lines[0], "time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec");
    const periodic = lines.filter((l) =>
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d:\d{3}, [\d.]+, [\d.]+, \d+, [\d.]+ \(\d+\.\d%, ETA (\d+ s|\d+ min \d+ s|\?)\)$/.test(
        l,
      ),
    );
    assert.ok(periodic.length >= 2, `periodic lines on stderr:\n${c.stderr}`);
    const totals = periodic.map((l) => Number(l.split(", ")[3]));
    assert.deepEqual(
      totals,
      [...totals].sort((a, b) => a - b),
      "the consumed total only grows",
    );
    assert.match(
      c.stdout,
      /^data\.consumed\.in\.MB, MB\.sec, data\.consumed\.in\.nMsg, nMsg\.sec, seconds\n[\d.]+, [\d.]+, 3000, [\d.]+, [\d.]+\n$/,
    );
  });

  it("wrong arguments exit 2 with the usage; errors exit 1 with a message", async () => {
    for (const args of [
      ["nonsense"],
      ["topics"],
      ["topics", "frobnicate"],
      ["topics", "create"],
      ["produce"],
      ["consume", "x", "--offset", "soon"],
      ["consume", "x", "--max-messages"],
      ["produce", "x", "--acks", "2"],
      ["perf", "produce", "--topic", "x"],
      [
        "perf",
        "produce",
        "--topic",
        "x",
        "--num-records",
        "1",
        "--record-size",
        "1",
        "--transport",
        "ws",
        "--bootstrap",
        "127.0.0.1:1",
      ],
      ["topics", "list", "--no-such-option"],
    ]) {
      const r = await milena(args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /usage:/, args.join(" "));
    }
    // An unreachable broker: exit 1, a message naming the address.
    const r = await milena(["topics", "list", "--bootstrap", "127.0.0.1:1", "--timeout-ms", "2000"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /127\.0\.0\.1:1/);
    // A topic that does not exist (auto-creation off): exit 1.
    const p = await milena(["produce", "no-such-topic", ...tcp], "x\n");
    assert.equal(p.code, 1);
    assert.match(p.stderr, /UNKNOWN_TOPIC_OR_PARTITION|does not exist|unknown topic/i);
    // --help: exit 0 with the usage.
    const h = await milena(["consume", "--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /usage: milena consume/);
  });

  it("broker --print-config and a bad config key through the same bin", async () => {
    let r = await milena(["broker", "--override", "num.partitions=4", "--print-config"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^num\.partitions=4$/m);
    r = await milena([
      "broker",
      "--override",
      "no.such.key=1",
      "--override",
      `log.dirs=${join(broker.logDir, "x")}`,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no\.such\.key/);
  });
});
