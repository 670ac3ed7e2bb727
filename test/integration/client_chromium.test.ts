// Milena's WebSocket client in a real browser: the browser entry (src/client/browser.ts) is
// bundled with esbuild, served on a loopback page, and run in headless Chromium (Debian's
// chromium, driven by playwright-core). The page produces records with keys, headers and lz4
// and gzip compression through the broker's WebSocket listener and consumes them back; the
// Node side checks them with its own client. .ci/run installs chromium; where it is missing
// the test is skipped with the reason.

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { Milena } from "../../src/index.ts";
import { BrokerProcess } from "../helpers/broker_process.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run does)`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>milena</title><script src="/milena.js"></script>
<script>
async function roundTrip(url, topic) {
  const { Milena } = MilenaBrowser;
  const milena = new Milena({ bootstrap: url, clientId: "chromium" });
  const admin = milena.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] });
  await admin.disconnect();
  const producer = milena.producer({ acks: -1 });
  await producer.connect();
  for (const compression of ["none", "gzip", "lz4"]) {
    await producer.send({ topic, compression, messages: Array.from({ length: 20 }, (_, i) => ({
      key: compression + "-" + i, value: "from the browser " + i, headers: { codec: compression } })) });
  }
  await producer.disconnect();
  const consumer = milena.consumer({ autoOffsetReset: "earliest" });
  await consumer.connect();
  await consumer.assign([{ topic, offset: "earliest" }]);
  const dec = new TextDecoder();
  const got = [];
  for await (const r of consumer.records()) {
    got.push({ key: dec.decode(r.key), value: dec.decode(r.value), codec: dec.decode(r.headers.codec) });
    if (got.length === 60) break;
  }
  await consumer.disconnect();
  return { got, hasBuffer: typeof Buffer !== "undefined", hasProcess: typeof process !== "undefined" };
}
</script>`;

describe("the WebSocket client in headless Chromium", { skip }, () => {
  let broker: BrokerProcess;
  let server: http.Server;
  let browser: Browser;
  let origin = "";

  before(async () => {
    broker = await BrokerProcess.start();
    const bundle = await esbuild.build({
      entryPoints: [join(ROOT, "src/client/browser.ts")],
      bundle: true,
      platform: "browser",
      format: "iife",
      globalName: "MilenaBrowser",
      target: "es2022",
      write: false,
      logLevel: "silent",
    });
    const js = bundle.outputFiles[0].text;
    server = http.createServer((req, res) => {
      if (req.url === "/milena.js") res.writeHead(200, { "content-type": "text/javascript" }).end(js);
      else res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
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
  });

  after(async () => {
    await browser?.close();
    server?.close();
    await broker?.destroy();
  });

  it("produces and consumes through the broker, and the Node client reads the same records", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(origin);
    const result = await page.evaluate(
      ([url, topic]) =>
        (globalThis as unknown as { roundTrip(u: string, t: string): Promise<unknown> }).roundTrip(
          url,
          topic,
        ),
      [broker.wsUrl, "from-chromium"],
    );
    const r = result as {
      got: { key: string; value: string; codec: string }[];
      hasBuffer: boolean;
      hasProcess: boolean;
    };
    assert.deepEqual(errors, []);
    assert.equal(r.hasBuffer, false, "a real browser: no Buffer");
    assert.equal(r.hasProcess, false, "a real browser: no process");
    assert.equal(r.got.length, 60);
    for (const g of r.got) {
      assert.equal(g.value, `from the browser ${g.key.split("-")[1]}`);
      assert.equal(g.codec, g.key.split("-")[0]);
    }
    // The Node client (TCP) reads what the browser wrote.
    const milena = new Milena({ bootstrap: broker.bootstrap });
    const consumer = milena.consumer({ autoOffsetReset: "earliest" });
    await consumer.connect();
    await consumer.assign([{ topic: "from-chromium", offset: "earliest" }]);
    const keys = new Set<string>();
    for await (const rec of consumer.records()) {
      keys.add(Buffer.from(rec.key!).toString());
      if (keys.size === 60) break;
    }
    await consumer.disconnect();
    assert.equal(keys.size, 60);
    await page.close();
  });
});
