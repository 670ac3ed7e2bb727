// The web console end to end in headless Chromium (Debian's chromium, driven by playwright-core)
// against a real broker process: the page (served by the broker's HTTP listener at /, built by
// build.ts as `make console` does) creates a topic, produces a message from its form, finds it
// in the message browser (text, JSON and hex views; a hostile key shown as text, never run);
// a kafkajs consumer group commits part of a partition and the group view shows its lag equal to
// the log end minus the committed offset, then resets it; the live charts draw; the topic is
// deleted from the UI. A second broker's console, on its SASL listener (console.websocket.listener), asks for a login (SCRAM-SHA-512), refuses a
// wrong password. Screenshots of every view go to test-artifacts/console/. Where chromium is
// missing the test is skipped with the reason.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Kafka, logLevel } from "kafkajs";
import { type Browser, chromium, type Page } from "playwright-core";
import { buildConsole } from "../../src/console/build.ts";
import { asHex } from "../../src/console/format.ts";
import { Milena } from "../../src/index.ts";
import { addUser, BrokerProcess } from "../helpers/broker_process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ARTIFACTS = join(ROOT, "test-artifacts/console");
const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`;

const TOPIC = "console-demo";
const GROUP = "console-group";
const VALUE = '{"hello":"wörld","n":1}';
const HOSTILE = '<img src=x onerror="window.__xss=1">';

let broker: BrokerProcess;
/** The second broker, whose console uses its SASL WebSocket listener. */
let saslBroker: BrokerProcess;

/** Where the console is: the broker's HTTP listener (metrics.listener), at /. */
function consoleUrl(listener: "plain" | "sasl" = "plain"): string {
  const b = listener === "plain" ? broker : saslBroker;
  return `http://127.0.0.1:${b.metricsPort}/`;
}

/** Wait until the view is shown and loaded. */
async function ready(page: Page, view: string): Promise<void> {
  await page.waitForSelector(`main[data-view="${view}"][data-ready="true"]`, { timeout: 20_000 });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  ms = 15_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("the web console in headless Chromium", { skip }, () => {
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let milena: Milena;

  before(async () => {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // Into dist/console/, where the broker serves it from (as `make console` does).
    await buildConsole();
    broker = await BrokerProcess.start({
      overrides: { listeners: "PLAINTEXT://127.0.0.1:0,WEBSOCKET://127.0.0.1:0" },
    });
    const saslDir = fs.mkdtempSync(join(tmpdir(), "milena-console-sasl-"));
    await addUser("alice", "alice-secret", ["--file", join(saslDir, "sasl-credentials.json")]);
    saslBroker = await BrokerProcess.start({
      logDir: saslDir,
      overrides: {
        listeners: "PLAINTEXT://127.0.0.1:0,WEBSOCKET://127.0.0.1:0,WEBSOCKET_SASL_PLAINTEXT://127.0.0.1:0",
        "console.websocket.listener": "WEBSOCKET_SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "connection.failed.authentication.delay.ms": 50,
      },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("dialog", (d) => void d.accept());
    milena = new Milena({ bootstrap: broker.bootstrap });
  });

  after(async () => {
    await browser?.close();
    await broker?.destroy();
    await saslBroker?.destroy();
  });

  it("shows the overview: one broker, the controller, partition health", async () => {
    await page.goto(`${consoleUrl()}#overview`);
    await ready(page, "overview");
    assert.equal(await page.textContent("#ov-brokers .n"), "1");
    assert.equal(await page.textContent("#ov-offline .n"), "0");
    assert.equal(await page.textContent("#ov-under .n"), "0");
    assert.match((await page.textContent("#ov-broker-table tbody")) ?? "", /controller/);
    await shot(page, "overview");
    assert.deepEqual(problems, []);
  });

  it("creates a topic from the UI", async () => {
    await page.goto(`${consoleUrl()}#topics`);
    await ready(page, "topics");
    await page.fill("#topic-create-name", TOPIC);
    await page.fill("#topic-create-partitions", "3");
    await page.fill("textarea[name=configs]", "retention.ms=86400000");
    await page.click("#topic-create-submit");
    await page.waitForSelector("#topic-name", { timeout: 15_000 });
    await ready(page, "topic");
    assert.equal(await page.textContent("#topic-name"), TOPIC);
    assert.equal(await page.locator("#partition-table tbody tr").count(), 3);
    await shot(page, "topic");
    const admin = milena.admin();
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    assert.equal(topics[0].partitions.length, 3);
    await admin.disconnect();
    await page.goto(`${consoleUrl()}#topics`);
    await ready(page, "topics");
    const row = page.locator("#topic-table tr", { has: page.locator(`a[data-topic="${TOPIC}"]`) });
    assert.match((await row.textContent()) ?? "", /1 d/, "retention from DescribeConfigs");
    await shot(page, "topics");
    assert.deepEqual(problems, []);
  });

  it("produces a message from the form; the Node client reads it", async () => {
    await page.goto(`${consoleUrl()}#produce?topic=${TOPIC}`);
    await ready(page, "produce");
    await page.fill("#produce-partition", "1");
    await page.fill("#produce-key", "k-1");
    await page.fill("#produce-value", VALUE);
    await page.fill("#produce-headers", "trace: abc\nsource: console");
    await page.click("#produce-submit");
    await page.waitForSelector("#produce-offset-result", { timeout: 15_000 });
    assert.equal(await page.textContent("#produce-partition-result"), "1");
    assert.equal(await page.textContent("#produce-offset-result"), "0");
    await shot(page, "produce");
    const consumer = milena.consumer({ autoOffsetReset: "earliest" });
    await consumer.connect();
    await consumer.assign([{ topic: TOPIC, partitions: [1], offset: "earliest" }]);
    for await (const r of consumer.records()) {
      assert.equal(Buffer.from(r.key!).toString(), "k-1");
      assert.equal(Buffer.from(r.value!).toString(), VALUE);
      assert.equal(Buffer.from(r.headers.trace as Buffer).toString(), "abc");
      assert.equal(Buffer.from(r.headers.source as Buffer).toString(), "console");
      break;
    }
    await consumer.disconnect();
    assert.deepEqual(problems, []);
  });

  it("finds it in the message browser as text, JSON and hex; a hostile key stays text", async () => {
    const producer = milena.producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      messages: [{ partition: 2, key: HOSTILE, value: HOSTILE, headers: { h: HOSTILE } }],
    });
    await producer.disconnect();

    await page.goto(`${consoleUrl()}#messages?topic=${TOPIC}&partition=1`);
    await ready(page, "messages");
    await page.waitForFunction(() =>
      /\d+ records?/.test(document.getElementById("browse-status")?.textContent ?? ""),
    );
    assert.equal(await page.textContent("#browse-status"), "1 record");
    assert.equal(await page.textContent("#message-table pre.key"), "k-1");
    assert.equal(await page.textContent("#message-table pre.value"), VALUE);
    assert.match((await page.textContent("#message-table .headers")) ?? "", /trace: abc.*source: console/s);
    await shot(page, "messages-text");
    await page.selectOption("#browse-view", "json");
    assert.equal(
      await page.textContent("#message-table pre.value"),
      JSON.stringify(JSON.parse(VALUE), null, 2),
    );
    await shot(page, "messages-json");
    await page.selectOption("#browse-view", "hex");
    assert.equal(await page.textContent("#message-table pre.value"), asHex(new TextEncoder().encode(VALUE)));
    assert.equal(await page.textContent("#message-table pre.key"), asHex(new TextEncoder().encode("k-1")));
    await shot(page, "messages-hex");

    await page.selectOption("#browse-view", "text");
    await page.fill("#browse-partition", "2");
    await page.click("#browse-submit");
    await page.waitForFunction(() => document.getElementById("browse-status")?.textContent === "1 record");
    assert.equal(await page.textContent("#message-table pre.key"), HOSTILE);
    assert.equal(await page.textContent("#message-table pre.value"), HOSTILE);
    assert.equal(await page.locator("#message-table img").count(), 0, "no element made from the data");
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), undefined);
    await shot(page, "messages-hostile");
    assert.deepEqual(problems, []);
  });

  it("shows a kafkajs group's lag as log end minus committed offset, and resets it", async () => {
    const producer = milena.producer();
    await producer.connect();
    await producer.send({
      topic: TOPIC,
      messages: Array.from({ length: 10 }, (_, i) => ({ partition: 0, value: `record ${i}` })),
    });
    await producer.disconnect();

    // A kafkajs group member commits offset 4 of partition 0 (records 0-3 processed), then leaves.
    const kafka = new Kafka({
      brokers: [broker.bootstrap],
      clientId: "console-test",
      logLevel: logLevel.NOTHING,
    });
    const consumer = kafka.consumer({ groupId: GROUP });
    await consumer.connect();
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let committed!: () => void;
    const done = new Promise<void>((r) => (committed = r));
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (partition === 0 && Number(message.offset) === 3) {
          await consumer.commitOffsets([{ topic: TOPIC, partition: 0, offset: "4" }]);
          committed();
        }
      },
    });
    await done;
    await consumer.disconnect();

    const admin = milena.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(TOPIC);
    const end0 = ends.find((o) => o.partition === 0)!.high;
    const offsets = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    assert.equal(offsets[0].partitions.find((p) => p.partition === 0)?.offset, 4);
    assert.equal(end0, 10);

    await page.goto(`${consoleUrl()}#groups`);
    await ready(page, "groups");
    const row = page.locator("#group-table tr", { has: page.locator(`a[data-group="${GROUP}"]`) });
    assert.match((await row.textContent()) ?? "", new RegExp(`Empty.*${TOPIC}.*${end0 - 4}`));
    await shot(page, "groups");

    await page.goto(`${consoleUrl()}#group?id=${GROUP}`);
    await ready(page, "group");
    const lag = `span.lag[data-topic="${TOPIC}"][data-partition="0"]`;
    assert.equal(await page.textContent(lag), String(end0 - 4));
    assert.equal(await page.textContent("#group-state"), "Empty");
    await shot(page, "group");

    // Reset to the log end from the UI: the group is empty, so Kafka allows it.
    await page.selectOption("#reset-to", "latest");
    await page.click("#reset-submit");
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === "0", lag, {
      timeout: 15_000,
    });
    const after = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    assert.equal(after[0].partitions.find((p) => p.partition === 0)?.offset, end0);
    await admin.disconnect();
    await shot(page, "group-reset");
    assert.deepEqual(problems, []);
  });

  it("reads from an offset, the last N and a time", async () => {
    const values = async () =>
      page.$$eval("#message-table pre.value", (pres) => pres.map((p) => p.textContent));
    const read = async (fill: () => Promise<void>, n: number) => {
      await page.goto(`${consoleUrl()}#messages?topic=${TOPIC}`);
      await ready(page, "messages");
      await page.fill("#browse-partition", "0");
      await fill();
      await page.click("#browse-submit");
      await page.waitForFunction(
        (want) => document.getElementById("browse-status")?.textContent === want,
        `${n} record${n === 1 ? "" : "s"}`,
        { timeout: 15_000 },
      );
      return values();
    };
    const fromOffset = await read(async () => {
      await page.selectOption("#browse-start", "offset");
      await page.fill("#browse-offset", "5");
      await page.fill("#browse-count", "3");
    }, 3);
    assert.deepEqual(fromOffset, ["record 5", "record 6", "record 7"]);
    const last = await read(async () => {
      await page.selectOption("#browse-start", "last");
      await page.fill("#browse-count", "2");
    }, 2);
    assert.deepEqual(last, ["record 8", "record 9"]);
    const since2000 = await read(async () => {
      await page.selectOption("#browse-start", "timestamp");
      await page.fill("#browse-time", "2000-01-01T00:00:00");
      await page.fill("#browse-count", "2");
    }, 2);
    assert.deepEqual(since2000, ["record 0", "record 1"]);
    const future = await read(async () => {
      await page.selectOption("#browse-start", "timestamp");
      await page.fill("#browse-time", "2999-01-01T00:00:00");
    }, 0);
    assert.deepEqual(future, []);
    await shot(page, "messages-offsets");
    assert.deepEqual(problems, []);
  });

  it("draws live charts of records/s while records arrive", async () => {
    await page.goto(`${consoleUrl()}#charts`);
    await ready(page, "charts");
    const producer = milena.producer();
    await producer.connect();
    for (let i = 0; i < 6; i++) {
      await producer.send({
        topic: TOPIC,
        messages: Array.from({ length: 50 }, (_, j) => ({ value: `c${i}-${j}` })),
      });
      await new Promise((r) => setTimeout(r, 500));
    }
    await producer.disconnect();
    await page.waitForFunction(
      () =>
        Number(/(\d+) samples/.exec(document.getElementById("chart-status")?.textContent ?? "")?.[1] ?? 0) >=
        2,
    );
    assert.equal(await page.locator("#chart-rates canvas").count(), 1);
    await page.selectOption("#probe-topic", TOPIC);
    await page.waitForFunction(
      () => /last probe produce \d+\.\d ms/.test(document.getElementById("chart-status")?.textContent ?? ""),
      undefined,
      {
        timeout: 15_000,
      },
    );
    assert.match((await page.textContent("#chart-rates")) ?? "", new RegExp(TOPIC));
    await shot(page, "charts");
    assert.deepEqual(problems, []);
  });

  it("shows partition sizes from DescribeLogDirs and alters a config from the UI", async () => {
    await page.goto(`${consoleUrl()}#topic?name=${TOPIC}`);
    await ready(page, "topic");
    const size0 = (await page.textContent("#partition-table tbody tr:first-child td:nth-child(8)")) ?? "";
    assert.match(size0, /^\d+(\.\d)? (B|KiB)$/);
    assert.notEqual(size0, "0 B", "partition 0 holds records");
    await page.fill("#config-alter input[name=config]", "retention.ms");
    await page.fill("#config-alter input[name=value]", "3600000");
    await page.click("#config-alter button[type=submit]");
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll("#config-table tr")].some(
          (tr) => tr.children[0]?.textContent === "retention.ms" && tr.children[1]?.textContent === "3600000",
        ),
      undefined,
      { timeout: 15_000 },
    );
    const admin = milena.admin();
    await admin.connect();
    const r = await admin.describeConfigs({
      resources: [{ type: 2, name: TOPIC, configNames: ["retention.ms"] }],
    });
    assert.equal(r.resources[0].configEntries[0].configValue, "3600000");
    await admin.disconnect();
    await shot(page, "topic-configs");
    assert.deepEqual(problems, []);
  });

  it("deletes the topic from the UI", async () => {
    await page.goto(`${consoleUrl()}#topic?name=${TOPIC}`);
    await ready(page, "topic");
    await page.click("#topic-delete");
    await page.waitForURL(/#topics$/, { timeout: 15_000 });
    await ready(page, "topics");
    const admin = milena.admin();
    await admin.connect();
    await until("the topic to be gone", async () => !(await admin.listTopics()).includes(TOPIC));
    await admin.disconnect();
    assert.equal(await page.locator(`a[data-topic="${TOPIC}"]`).count(), 0);
    await shot(page, "topics-deleted");
    assert.deepEqual(problems, []);
  });

  it("asks for SASL on a SASL listener: a wrong password is refused, the right one signs in", async () => {
    const p = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    p.on("pageerror", (e) => errors.push(e.message));
    await p.goto(`${consoleUrl("sasl")}#overview`);
    await ready(p, "login");
    assert.equal(await p.inputValue("#login-mechanism"), "SCRAM-SHA-512");
    await shot(p, "login");
    await p.fill("#login-username", "alice");
    await p.fill("#login-password", "wrong");
    await p.click("#login-submit");
    await p.waitForFunction(
      () => /Refused/.test(document.getElementById("login-status")?.textContent ?? ""),
      undefined,
      {
        timeout: 15_000,
      },
    );
    assert.equal(await p.inputValue("#login-username"), "alice", "the user name is kept");
    assert.equal(await p.inputValue("#login-password"), "", "the password is not");
    await p.fill("#login-password", "alice-secret");
    await p.click("#login-submit");
    await ready(p, "overview").catch(async (e) => {
      throw new Error(`${e.message}; the page shows: ${await p.textContent("main")}`);
    });
    assert.equal(await p.textContent("#ov-brokers .n"), "1");
    assert.match((await p.textContent("#who")) ?? "", /alice @ ws:\/\/127\.0\.0\.1:/);
    await shot(p, "overview-sasl");
    assert.deepEqual(errors, []);
    await p.close();
  });
});
