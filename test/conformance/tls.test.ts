// TLS listeners (SSL, and wss for WebSocket) against kcat (librdkafka) and kafkajs, with
// certificates the test makes with openssl: produce and consume over SSL beside PLAINTEXT (each
// client told the endpoints of the listener it came in on); a plaintext client on the TLS port
// gets nothing through; with ssl.client.auth=required a client certificate signed by the CA is
// let in and a stranger's certificate, or none, is refused; a renewed server certificate is used
// without a restart.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as tls from "node:tls";
import { Kafka, logLevel } from "kafkajs";
import { apiVersionsCodec } from "../../src/protocol/api_versions.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { RawClient } from "../integration/raw_client.ts";

const KCAT = "/usr/bin/kcat";

describe("TLS listeners (kcat, kafkajs)", () => {
  let certs: TestCerts;
  let broker: BrokerProcess;
  let mtls: BrokerProcess;

  const tlsOverrides = (clientAuth: string) => ({
    listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,WEBSOCKET_SSL://127.0.0.1:0",
    "ssl.key.location": certs.serverKey,
    "ssl.certificate.location": certs.serverCert,
    "ssl.ca.location": certs.ca,
    "ssl.client.auth": clientAuth,
  });

  const kcat = (b: BrokerProcess, args: string[], input?: string) =>
    run(
      KCAT,
      [
        "-b",
        `127.0.0.1:${b.ports.SSL}`,
        "-X",
        "security.protocol=ssl",
        "-X",
        `ssl.ca.location=${certs.ca}`,
        ...args,
      ],
      { input, timeoutMs: 30_000 },
    );

  before(async () => {
    certs = makeCerts();
    broker = await BrokerProcess.start({ overrides: tlsOverrides("none") });
    mtls = await BrokerProcess.start({ overrides: tlsOverrides("required") });
  });

  after(async () => {
    await broker?.destroy();
    await mtls?.destroy();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it("kcat produces and consumes over SSL; the PLAINTEXT listener serves the same topic", async () => {
    assert.ok(broker.ports.SSL > 0 && broker.ports.PLAINTEXT > 0);
    const p = await kcat(broker, ["-P", "-t", "secure", "-K:"], "k1:over-tls\nk2:also\n");
    assert.equal(p.code, 0, p.stderr);
    const c = await kcat(broker, ["-C", "-t", "secure", "-o", "beginning", "-e", "-q", "-f", "%k=%s\n"]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split("\n"), ["k1=over-tls", "k2=also"]);
    const plain = await run(
      KCAT,
      ["-b", broker.bootstrap, "-C", "-t", "secure", "-o", "beginning", "-e", "-q"],
      {
        timeoutMs: 30_000,
      },
    );
    assert.deepEqual(plain.stdout.trim().split("\n"), ["over-tls", "also"]);
    // Metadata over SSL names the SSL endpoint (the listener the client came in on).
    const meta = await kcat(broker, ["-L", "-J"]);
    const brokers = JSON.parse(meta.stdout).brokers as { name: string }[];
    assert.deepEqual(
      brokers.map((b) => b.name),
      [`127.0.0.1:${broker.ports.SSL}`],
    );
  });

  it("kafkajs over SSL: produce and consume", async () => {
    const kafka = new Kafka({
      clientId: "tls",
      brokers: [`127.0.0.1:${broker.ports.SSL}`],
      ssl: { ca: [fs.readFileSync(certs.ca)] },
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: "kafkajs-tls", messages: [{ value: "a" }, { value: "b" }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: "tls-group" });
    await consumer.connect();
    await consumer.subscribe({ topic: "kafkajs-tls", fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    for (const until = Date.now() + 20_000; got.length < 2 && Date.now() < until; ) await sleep(100);
    await consumer.disconnect();
    assert.deepEqual(got.sort(), ["a", "b"]);
  });

  it("a plaintext client on the TLS port gets nothing through", async () => {
    const kafka = new Kafka({
      clientId: "no-tls",
      brokers: [`127.0.0.1:${broker.ports.SSL}`],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 2000,
      requestTimeout: 3000,
      retry: { retries: 1, initialRetryTime: 100 },
    });
    const producer = kafka.producer();
    await assert.rejects(async () => {
      await producer.connect();
      await producer.send({ topic: "should-not-exist", messages: [{ value: "x" }] });
    });
    await producer.disconnect().catch(() => {});
    const meta = await kcat(broker, ["-L", "-J"]);
    assert.ok(!JSON.parse(meta.stdout).topics.some((t: { topic: string }) => t.topic === "should-not-exist"));
    assert.match(broker.output, /TLS handshake from .* on SSL failed/);
  });

  it("ssl.client.auth=required: a CA-signed client certificate is let in; a stranger's or none is refused", async () => {
    const alice = certs.client("alice");
    const withCert = (cert: { key: string; cert: string } | null, args: string[], input?: string) =>
      kcat(
        mtls,
        [
          ...(cert === null
            ? []
            : ["-X", `ssl.certificate.location=${cert.cert}`, "-X", `ssl.key.location=${cert.key}`]),
          "-X",
          "message.timeout.ms=4000",
          "-m",
          "4",
          ...args,
        ],
        input,
      );
    const ok = await withCert(alice, ["-P", "-t", "mtls"], "from-alice\n");
    assert.equal(ok.code, 0, ok.stderr);
    for (const cert of [certs.stranger, null]) {
      const refused = await withCert(cert, ["-P", "-t", "mtls"], "intruder\n");
      assert.notEqual(refused.code, 0, `${cert === null ? "no certificate" : "a stranger"} must be refused`);
    }
    const read = await withCert(alice, ["-C", "-t", "mtls", "-o", "beginning", "-e", "-q"]);
    assert.deepEqual(read.stdout.trim().split("\n"), ["from-alice"]);
  });

  it("wss: the WEBSOCKET_SSL listener answers Kafka requests over TLS", async () => {
    const client = await RawClient.ws(
      `wss://127.0.0.1:${broker.ports.WEBSOCKET_SSL}`,
      fs.readFileSync(certs.ca),
    );
    try {
      const res = await client.request(apiVersionsCodec, 3, {
        clientSoftwareName: "t",
        clientSoftwareVersion: "1",
      });
      assert.equal(res.errorCode, 0);
      assert.ok(res.apiKeys.length > 10);
    } finally {
      client.close();
    }
    // Plain ws:// to the wss port: no upgrade.
    await assert.rejects(RawClient.ws(`ws://127.0.0.1:${broker.ports.WEBSOCKET_SSL}`));
  });

  it("a renewed server certificate is served without a restart (SSL and wss)", async () => {
    const wssUrl = `wss://127.0.0.1:${broker.ports.WEBSOCKET_SSL}`;
    const apiVersions = (c: RawClient) =>
      c.request(apiVersionsCodec, 3, { clientSoftwareName: "t", clientSoftwareVersion: "1" });
    const before = await peerCertificate(broker.ports.SSL);
    // wss: a client naming the host (SNI, as browsers do) gets the renewed certificate.
    const wssBefore = await peerCertificate(broker.ports.WEBSOCKET_SSL, "localhost");
    assert.equal(wssBefore, before);
    // A wss connection open across the renewal keeps working.
    const open = await RawClient.ws(wssUrl, fs.readFileSync(certs.ca));
    try {
      // A new server certificate from the same CA, written over the files the broker watches.
      const renewed = certs.client("renewed-server");
      fs.copyFileSync(renewed.key, certs.serverKey);
      fs.copyFileSync(renewed.cert, certs.serverCert);
      let after = before;
      let wssAfter = wssBefore;
      for (
        const until = Date.now() + 20_000;
        (after === before || wssAfter === wssBefore) && Date.now() < until;
        await sleep(250)
      ) {
        after = await peerCertificate(broker.ports.SSL);
        wssAfter = await peerCertificate(broker.ports.WEBSOCKET_SSL, "localhost");
      }
      assert.notEqual(after, before, "the new certificate is served on SSL");
      assert.equal(wssAfter, "renewed-server", "the new certificate is served on wss");
      assert.match(broker.output, /TLS: certificates reloaded/);
      assert.match(broker.output, /WEBSOCKET_SSL: TLS: certificates reloaded/);
      assert.equal((await apiVersions(open)).errorCode, 0, "the connection opened before still answers");
      const fresh = await RawClient.ws(wssUrl, fs.readFileSync(certs.ca));
      try {
        assert.equal((await apiVersions(fresh)).errorCode, 0, "a new wss connection is served");
      } finally {
        fresh.close();
      }
    } finally {
      open.close();
    }
  });
});

/** The subject of the certificate a TLS server on 127.0.0.1:port presents (to a client naming `servername`). */
function peerCertificate(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false }, () => {
      const subject = String(s.getPeerCertificate().subject?.CN ?? "");
      s.destroy();
      resolve(subject);
    });
    s.on("error", reject);
  });
}
