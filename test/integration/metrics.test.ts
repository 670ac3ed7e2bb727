// The HTTP listener (metrics.listener) of a real broker process: /metrics after kafkajs produced a
// known number of records and bytes to two topics and a group consumed one of them (messagesin
// exact per topic, bytesin equal to the record batch bytes stored, bytesout at least what the
// consumer read, Produce requests counted, log end offsets, group lag equal to what `milena
// groups describe` prints, connections per listener, fetch purgatory), /healthz and /readyz (503
// while a cluster broker waits for ZooKeeper), GET/HEAD only, 404 elsewhere; off binds nothing;
// a malformed value or a port in use stops startup naming the key.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { BrokerProcess, run } from "../helpers/broker_process.ts";

const BIN = fileURLToPath(new URL("../../src/cli/milena.js", import.meta.url));

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format lines (no escapes in the label values these tests use). */
function parseMetrics(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one series of `name` with exactly these labels (undefined: none). */
function value(series: Series[], name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels);
  const s = series.find(
    (x) =>
      x.name === name &&
      Object.keys(x.labels).length === want.length &&
      want.every(([k, v]) => x.labels[k] === v),
  );
  return s?.value;
}

async function http(port: number, path: string, method = "GET") {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

async function scrape(port: number): Promise<Series[]> {
  const r = await http(port, "/metrics");
  assert.equal(r.status, 200);
  assert.match(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parseMetrics(r.body);
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Ports the process listens on (TCP LISTEN sockets whose inode one of its fds holds). */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!fs.existsSync(file)) continue;
    for (const line of fs.readFileSync(file, "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A" || !inodes.has(cols[9])) continue;
      ports.push(Number.parseInt(cols[1].split(":")[1], 16));
    }
  }
  return [...new Set(ports)].sort((a, b) => a - b);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("metrics listener", () => {
  let broker: BrokerProcess;
  let kafka: Kafka;

  before(async () => {
    broker = await BrokerProcess.start({ overrides: { "group.initial.rebalance.delay.ms": 0 } });
    kafka = new Kafka({ clientId: "metrics-test", brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  });
  after(async () => {
    await broker?.destroy();
  });

  it("the started line names the bound port; /healthz and /readyz answer 200", async () => {
    assert.ok(broker.metricsPort > 0, broker.output);
    assert.ok(listeningPorts(broker.pid!).includes(broker.metricsPort));
    const h = await http(broker.metricsPort, "/healthz");
    assert.equal(h.status, 200);
    assert.equal(h.body, "ok\n");
    const r = await http(broker.metricsPort, "/readyz");
    assert.equal(r.status, 200);
    assert.equal(r.body, "ready\n");
  });

  it("HEAD gets headers only, other methods 405 with Allow, unknown paths 404", async () => {
    const head = await http(broker.metricsPort, "/metrics", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    for (const method of ["POST", "PUT", "DELETE"]) {
      const r = await http(broker.metricsPort, "/metrics", method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.get("allow"), "GET, HEAD");
    }
    assert.equal((await http(broker.metricsPort, "/nope")).status, 404);
    assert.equal((await http(broker.metricsPort, "/metrics/x")).status, 404);
  });

  it("traffic, offsets, requests, connections and group lag match what clients did", async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic: "m1", numPartitions: 2 },
        { topic: "m2", numPartitions: 1 },
      ],
    });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    // [topic, partition, sends, records per send], acks alternating 1 and -1.
    const plan: [string, number, number, number][] = [
      ["m1", 0, 4, 3],
      ["m1", 1, 2, 5],
      ["m2", 0, 3, 2],
    ];
    let sends = 0;
    for (const [topic, partition, n, per] of plan)
      for (let i = 0; i < n; i++) {
        await producer.send({
          topic,
          acks: sends % 2 === 0 ? 1 : -1,
          messages: Array.from({ length: per }, (_, j) => ({
            partition,
            value: `${topic}-${partition}-${i}-${j}`,
          })),
        });
        sends++;
      }
    let m = await scrape(broker.metricsPort);
    assert.ok(
      (value(m, "kafka_server_socket_server_metrics_connection_count", { listener: "PLAINTEXT" }) ?? 0) >= 1,
    );
    assert.equal(
      value(m, "kafka_server_socket_server_metrics_connection_count", { listener: "WEBSOCKET" }),
      0,
    );

    // A group reads m1 to its end, then sits in a long-poll (the fetch purgatory).
    const consumer = kafka.consumer({ groupId: "g1", maxWaitTimeInMs: 3000 });
    await consumer.connect();
    await consumer.subscribe({ topic: "m1", fromBeginning: true });
    let consumed = 0;
    await consumer.run({
      eachMessage: async () => {
        consumed++;
      },
    });
    await until("the group to read m1", async () => (consumed >= 22 ? true : undefined), 30_000);
    await until("a waiting fetch", async () => {
      const s = await scrape(broker.metricsPort);
      return (value(s, "kafka_server_delayedoperationpurgatory_purgatorysize", {
        delayedOperation: "Fetch",
      }) ?? 0) >= 1
        ? true
        : undefined;
    });
    await consumer.disconnect();
    const read = await scrape(broker.metricsPort);
    const m1Read = read
      .filter((x) => x.name === "kafka_log_log_size" && x.labels.topic === "m1")
      .reduce((a, x) => a + x.value, 0);
    // More to m1-0 after the group's commit: lag 4 there, 0 on m1-1.
    await producer.send({
      topic: "m1",
      acks: -1,
      messages: [0, 1, 2, 3].map((j) => ({ partition: 0, value: `late-${j}` })),
    });
    sends++;
    await producer.disconnect();

    m = await scrape(broker.metricsPort);
    const sum = (name: string, labels: Record<string, string>) =>
      m
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    // messagesin: exactly the records produced, per topic and in all.
    assert.equal(value(m, "kafka_server_brokertopicmetrics_messagesin_total", { topic: "m1" }), 12 + 10 + 4);
    assert.equal(value(m, "kafka_server_brokertopicmetrics_messagesin_total", { topic: "m2" }), 6);
    assert.ok((value(m, "kafka_server_brokertopicmetrics_messagesin_total") ?? 0) >= 32);
    // Log end offsets per partition: what each received.
    assert.equal(value(m, "kafka_log_log_logendoffset", { topic: "m1", partition: "0" }), 16);
    assert.equal(value(m, "kafka_log_log_logendoffset", { topic: "m1", partition: "1" }), 10);
    assert.equal(value(m, "kafka_log_log_logendoffset", { topic: "m2", partition: "0" }), 6);
    assert.equal(value(m, "kafka_log_log_logstartoffset", { topic: "m1", partition: "0" }), 0);
    // bytesin counts the record batches as received, which is what the log stores: equal to the
    // log's size (no retention or compaction ran).
    for (const topic of ["m1", "m2"]) {
      const bytesIn = value(m, "kafka_server_brokertopicmetrics_bytesin_total", { topic }) ?? -1;
      assert.equal(bytesIn, sum("kafka_log_log_size", { topic }), topic);
      assert.ok(bytesIn > 61 * 4, `${topic}: ${bytesIn} bytes is less than the batch headers`);
    }
    // bytesout: the consumer read all m1 held before the last 4 records (at least once, not many
    // times over); nobody read m2.
    const bytesOut = value(m, "kafka_server_brokertopicmetrics_bytesout_total", { topic: "m1" }) ?? 0;
    assert.ok(bytesOut >= m1Read && bytesOut <= 3 * m1Read, `bytesout ${bytesOut}, m1 held ${m1Read} bytes`);
    assert.equal(value(m, "kafka_server_brokertopicmetrics_bytesout_total", { topic: "m2" }), 0);
    // Produce requests: one per send (one broker), whatever the versions.
    assert.equal(sum("kafka_network_requestmetrics_requests_total", { request: "Produce" }), sends);
    assert.equal(sum("kafka_network_requestmetrics_totaltime_seconds_count", { request: "Produce" }), sends);
    assert.ok(sum("kafka_network_requestmetrics_requests_total", { request: "Fetch" }) >= 1);
    assert.ok(sum("kafka_network_requestmetrics_requests_total", { request: "JoinGroup" }) >= 1);
    // Group lag as `milena groups describe` prints it.
    const d = await run(
      process.execPath,
      [BIN, "groups", "describe", "g1", "--bootstrap", broker.bootstrap],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(d.code, 0, d.stderr);
    const rows = d.stdout
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.trim().split(/\s+/));
    assert.equal(rows.length, 2, d.stdout);
    for (const [, topic, partition, current, , lag] of rows) {
      assert.equal(
        value(m, "kafka_consumergroup_lag", { consumergroup: "g1", topic, partition }),
        Number(lag),
        `${topic}-${partition}`,
      );
      assert.equal(
        value(m, "kafka_consumergroup_current_offset", { consumergroup: "g1", topic, partition }),
        Number(current),
      );
    }
    assert.equal(
      value(m, "kafka_consumergroup_lag", { consumergroup: "g1", topic: "m1", partition: "0" }),
      4,
    );
    assert.equal(
      value(m, "kafka_consumergroup_lag", { consumergroup: "g1", topic: "m1", partition: "1" }),
      0,
    );
    // acks=-1 produces went through the writers' group commit: fsyncs were timed.
    assert.ok(sum("kafka_log_logflushstats_logflushrateandtime_seconds_count", {}) >= 1);
    assert.equal(
      value(m, "kafka_server_delayedoperationpurgatory_purgatorysize", { delayedOperation: "Produce" }),
      0,
    );
    assert.equal(value(m, "kafka_log_logmanager_remaininglogstorecover"), 0);
    // Every client gone: no connection left on the listener.
    await until("connections to close", async () => {
      const s = await scrape(broker.metricsPort);
      return value(s, "kafka_server_socket_server_metrics_connection_count", { listener: "PLAINTEXT" }) === 0
        ? true
        : undefined;
    });
  });

  it("serves the web console at /, pointing its page at the WebSocket listener's bound port", async () => {
    const cfg = await http(broker.metricsPort, "/console/config.json");
    assert.equal(cfg.status, 200);
    assert.deepEqual(JSON.parse(cfg.body), { webSocketUrl: `ws://127.0.0.1:${broker.wsPort}`, sasl: null });
    // The page (200), or, where `make console` has not built the bundle, a 503 that says so.
    const page = await http(broker.metricsPort, "/");
    if (page.status === 503) assert.match(page.body, /the console is not built: run `make console`/);
    else {
      assert.equal(page.status, 200);
      assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
      assert.match(page.body, /console\/app\.js\?v=/);
    }
  });

  it("console.websocket.listener picks the listener and its SASL; console.enabled=false serves no console", async () => {
    const b = await BrokerProcess.start({
      overrides: {
        listeners: "PLAINTEXT://127.0.0.1:0,WEBSOCKET://127.0.0.1:0,WEBSOCKET_SASL_PLAINTEXT://127.0.0.1:0",
        "sasl.enabled.mechanisms": "SCRAM-SHA-256,PLAIN",
        "console.websocket.listener": "WEBSOCKET_SASL_PLAINTEXT",
      },
    });
    try {
      const cfg = await http(b.metricsPort, "/console/config.json");
      assert.deepEqual(JSON.parse(cfg.body), {
        webSocketUrl: `ws://127.0.0.1:${b.ports.WEBSOCKET_SASL_PLAINTEXT}`,
        sasl: { mechanisms: ["SCRAM-SHA-256", "PLAIN"] },
      });
    } finally {
      await b.destroy();
    }
    const off = await BrokerProcess.start({ overrides: { "console.enabled": "false" } });
    try {
      assert.equal((await http(off.metricsPort, "/console/config.json")).status, 404);
      assert.equal(
        (await http(off.metricsPort, "/")).status,
        404,
        "no page at / (with the console: 200, or 503 before make console)",
      );
      assert.equal((await http(off.metricsPort, "/healthz")).status, 200);
    } finally {
      await off.destroy();
    }
    for (const [value, error] of [
      ["PLAINTEXT", /console\.websocket\.listener: PLAINTEXT is not a WebSocket listener/],
      ["NOPE", /console\.websocket\.listener: NOPE is not one of the listeners/],
    ] as const) {
      const bad = await BrokerProcess.start({
        overrides: { "console.websocket.listener": value },
        expectStart: false,
      });
      assert.equal(bad.exitCode, 1);
      assert.match(bad.output, error);
      await bad.destroy();
    }
  });

  it("metrics.listener=off binds nothing but the Kafka listeners", async () => {
    // The Schema Registry (its own listener) off too: only the Kafka listeners remain.
    const b = await BrokerProcess.start({
      overrides: { "metrics.listener": "off", "schema.registry.listeners": "" },
    });
    try {
      assert.match(b.output, /milena started .* metrics=off\n/);
      assert.equal(b.metricsPort, 0);
      assert.deepEqual(
        listeningPorts(b.pid!),
        [b.kafkaPort, b.wsPort].sort((x, y) => x - y),
      );
    } finally {
      await b.destroy();
    }
  });

  it("a malformed value, or a port in use, stops startup naming the key", async () => {
    const bad = await BrokerProcess.start({ overrides: { "metrics.listener": "9644" }, expectStart: false });
    assert.equal(bad.exitCode, 1);
    assert.match(bad.output, /configuration error: metrics\.listener: "9644" is not host:port/);
    await bad.destroy();
    const taken = await BrokerProcess.start({
      overrides: { "metrics.listener": `127.0.0.1:${broker.metricsPort}` },
      expectStart: false,
    });
    assert.equal(taken.exitCode, 1);
    assert.match(taken.output, /metrics\.listener: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    await taken.destroy();
  });

  it("/readyz is 503 with the reason while a cluster broker cannot reach ZooKeeper", async () => {
    const [zkPort, httpPort] = [await freePort(), await freePort()];
    const logDir = fs.mkdtempSync(join(tmpdir(), "milena-test-"));
    const b = new BrokerProcess(logDir, {
      "zookeeper.connect": `127.0.0.1:${zkPort}`,
      "zookeeper.connection.timeout.ms": 30_000,
      "metrics.listener": `127.0.0.1:${httpPort}`,
    });
    const exited = b.launch(false);
    try {
      const r = await until("the HTTP listener", async () => {
        try {
          return await http(httpPort, "/readyz");
        } catch {
          return undefined;
        }
      });
      assert.equal(r.status, 503);
      assert.match(r.body, /^not ready: starting: connecting to ZooKeeper\n$/);
      assert.equal((await http(httpPort, "/healthz")).status, 200);
    } finally {
      await b.destroy();
      await exited;
    }
  });
});
