// Milena's WebSocket client in a real browser: the browser entry (src/client/browser.ts) is
// bundled with esbuild, served on a loopback page, and run in headless Chromium (Debian's
// chromium, driven by playwright-core). The page produces records with keys, headers and lz4
// and gzip compression through the broker's WebSocket listener and consumes them back; the
// Node side checks them with its own client. SASL/SCRAM-SHA-512 from the page (Web Crypto's
// PBKDF2 and HMAC in the bundle) on a WEBSOCKET_SASL_PLAINTEXT listener, a wrong password refused
// with SaslAuthenticationError; SASL/OAUTHBEARER over wss (WEBSOCKET_SASL_SSL) with a token the
// page fetches from its backend (this test's HTTP server, signing with the key whose JWKS the
// broker reads), a token signed by another key refused. .ci/run installs chromium; where it is missing the test is
// skipped with the reason.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { existsSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { Milena } from "../../src/index.ts";
import { addUser, BrokerProcess } from "../helpers/broker_process.ts";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { mint, nowS, stranger, writeJwks } from "../helpers/jwt.ts";

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
async function scram(url, topic, password) {
  const { Milena, SaslAuthenticationError } = MilenaBrowser;
  const milena = new Milena({ bootstrap: url, clientId: "chromium-sasl", retry: { retries: 0 },
    sasl: { mechanism: "scram-sha-512", username: "alice", password } });
  const producer = milena.producer({ acks: -1 });
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "scram from the browser" }] });
    await producer.disconnect();
    return { ok: true };
  } catch (e) {
    return { ok: false, name: e.name, type: e.type, message: e.message, typed: e instanceof SaslAuthenticationError };
  }
}
async function oauth(url, topic, tokenPath) {
  const { Milena, SaslAuthenticationError } = MilenaBrowser;
  // The page's backend issues a short-lived token; the client asks for it at each (re)login.
  const milena = new Milena({ bootstrap: url, clientId: "chromium-oauth", retry: { retries: 0 },
    sasl: { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: await (await fetch(tokenPath)).text() }) } });
  const producer = milena.producer({ acks: -1 });
  try {
    await producer.connect();
    await producer.send({ topic, messages: [{ value: "token from the browser" }] });
    await producer.disconnect();
    return { ok: true };
  } catch (e) {
    return { ok: false, name: e.name, type: e.type, message: e.message, typed: e instanceof SaslAuthenticationError };
  }
}
</script>`;

describe("the WebSocket client in headless Chromium", { skip }, () => {
  let broker: BrokerProcess;
  let server: http.Server;
  let browser: Browser;
  let origin = "";
  let certs: TestCerts;

  before(async () => {
    const logDir = fs.mkdtempSync(join(tmpdir(), "milena-chromium-"));
    certs = makeCerts();
    const jwks = join(certs.dir, "jwks.json");
    writeJwks(jwks);
    await addUser("alice", "alice-secret", ["--file", join(logDir, "sasl-credentials.json")]);
    broker = await BrokerProcess.start({
      logDir,
      overrides: {
        listeners:
          "PLAINTEXT://127.0.0.1:0,WEBSOCKET://127.0.0.1:0,WEBSOCKET_SASL_PLAINTEXT://127.0.0.1:0,WEBSOCKET_SASL_SSL://127.0.0.1:0",
        "sasl.enabled.mechanisms": "SCRAM-SHA-512,OAUTHBEARER",
        "sasl.oauthbearer.jwks.endpoint.url": pathToFileURL(jwks).href,
        "sasl.oauthbearer.expected.audience": "milena",
        "ssl.key.location": certs.serverKey,
        "ssl.certificate.location": certs.serverCert,
        "connection.failed.authentication.delay.ms": 50,
      },
    });
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
      // The user's backend: a token for alice, valid a minute; or one signed by a key the broker never saw.
      else if (req.url === "/token") res.writeHead(200).end(mint("alice", { exp: nowS() + 60 }));
      else if (req.url === "/forged-token") res.writeHead(200).end(mint("alice", {}, stranger.privateKey));
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
    if (certs !== undefined) fs.rmSync(certs.dir, { recursive: true, force: true });
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

  it("SASL/SCRAM-SHA-512 from the page (Web Crypto); a wrong password is a SaslAuthenticationError", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(origin);
    const url = `ws://127.0.0.1:${broker.ports.WEBSOCKET_SASL_PLAINTEXT}`;
    const call = (password: string) =>
      page.evaluate(
        ([u, p]) =>
          (globalThis as unknown as { scram(u: string, t: string, p: string): Promise<unknown> }).scram(
            u,
            "chromium-scram",
            p,
          ),
        [url, password],
      ) as Promise<{ ok: boolean; name?: string; type?: string; message?: string; typed?: boolean }>;
    const good = await call("alice-secret");
    assert.deepEqual(good, { ok: true });
    const bad = await call("wrong");
    assert.equal(bad.ok, false);
    assert.equal(bad.typed, true, `${bad.name}: ${bad.message}`);
    assert.equal(bad.type, "SASL_AUTHENTICATION_FAILED");
    assert.deepEqual(errors, []);
    await page.close();
    const milena = new Milena({ bootstrap: broker.bootstrap });
    const consumer = milena.consumer({ autoOffsetReset: "earliest" });
    await consumer.connect();
    await consumer.assign([{ topic: "chromium-scram", offset: "earliest" }]);
    const values: string[] = [];
    for await (const rec of consumer.records()) {
      values.push(Buffer.from(rec.value!).toString());
      break;
    }
    await consumer.disconnect();
    assert.deepEqual(values, ["scram from the browser"]);
  });

  it("OAUTHBEARER over wss: a token from the page's backend; a forged one is a SaslAuthenticationError", async () => {
    // The test CA is not the browser's: this context accepts the broker's certificate.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(origin);
    const url = `wss://127.0.0.1:${broker.ports.WEBSOCKET_SASL_SSL}`;
    const call = (tokenPath: string) =>
      page.evaluate(
        ([u, p]) =>
          (globalThis as unknown as { oauth(u: string, t: string, p: string): Promise<unknown> }).oauth(
            u,
            "chromium-oauth",
            p,
          ),
        [url, tokenPath],
      ) as Promise<{ ok: boolean; name?: string; type?: string; message?: string; typed?: boolean }>;
    const good = await call("/token");
    assert.deepEqual(good, { ok: true });
    const bad = await call("/forged-token");
    assert.equal(bad.ok, false);
    assert.equal(bad.typed, true, `${bad.name}: ${bad.message}`);
    assert.equal(bad.type, "SASL_AUTHENTICATION_FAILED");
    assert.deepEqual(errors, []);
    await context.close();
    const milena = new Milena({ bootstrap: broker.bootstrap });
    const consumer = milena.consumer({ autoOffsetReset: "earliest" });
    await consumer.connect();
    await consumer.assign([{ topic: "chromium-oauth", offset: "earliest" }]);
    const values: string[] = [];
    for await (const rec of consumer.records()) {
      values.push(Buffer.from(rec.value!).toString());
      break;
    }
    await consumer.disconnect();
    assert.deepEqual(values, ["token from the browser"], "exactly the record sent with the good token");
  });
});
