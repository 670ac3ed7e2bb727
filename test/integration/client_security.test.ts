// Milena's own client against the real broker's secured listeners, with certificates made by
// openssl (test/helpers/certs.ts) and SCRAM users made with `milena users add`:
//   - SSL: the broker's certificate checked against the test CA (a wrong CA refused with a
//     TlsError, not retried); mTLS (ssl.client.auth=required) with a CA-signed client certificate;
//   - SASL_PLAINTEXT and SASL_SSL with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; a wrong password
//     refused with SaslAuthenticationError and nothing produced; OAUTHBEARER refused with the
//     mechanisms the broker offers;
//   - wss:// with SCRAM on a WEBSOCKET_SASL_SSL listener;
//   - re-authentication (KIP-368) with connections.max.reauth.ms=2000: a producer keeps going
//     for 6 s on the connection it opened (the broker never closes it);
//   - the CLI with --command-config against SASL_SSL, and a bad key in it refused.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  type ConsumedRecord,
  Milena,
  type MilenaConfig,
  SaslAuthenticationError,
  TlsError,
} from "../../src/client/node.ts";
import type { Transport } from "../../src/client/transport.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const CLI = join(ROOT, "src/cli/main.ts");
const cli = (args: string[], input?: string) =>
  run(process.execPath, ["--import", "tsx", CLI, ...args], { input, timeoutMs: 60_000 });

/** Count the TCP connections a client opens and the SaslHandshake requests it sends. */
function instrument(m: Milena): { opened: number; handshakes: number } {
  const stats = { opened: 0, handshakes: 0 };
  const tcp = m.platform.tcp!;
  m.platform.tcp = async (host, port, events, timeoutMs, tls) => {
    const t = await tcp(host, port, events, timeoutMs, tls);
    stats.opened++;
    const wrapped: Transport = {
      send(chunks, total, onWritten) {
        const head = chunks[0];
        if (((head[4] << 8) | head[5]) === 17) stats.handshakes++;
        t.send(chunks, total, onWritten);
      },
      get bufferedAmount() {
        return t.bufferedAmount;
      },
      close: () => t.close(),
    };
    return wrapped;
  };
  return stats;
}

async function consumeN(m: Milena, topic: string, n: number, timeoutMs = 20_000): Promise<string[]> {
  const c = m.consumer({ autoOffsetReset: "earliest" });
  await c.connect();
  await c.assign([{ topic, offset: "earliest" }]);
  const out: string[] = [];
  const it = c.records();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`only ${out.length} of ${n} records`)), timeoutMs);
  });
  try {
    while (out.length < n) {
      const r = (await Promise.race([it.next(), timeout])) as IteratorResult<ConsumedRecord<Buffer>>;
      if (r.done) break;
      out.push(String(r.value.value));
    }
  } finally {
    clearTimeout(timer);
    await c.disconnect();
  }
  return out;
}

describe("the Milena client over TLS and SASL", () => {
  let certs: TestCerts;
  let broker: BrokerProcess;
  let mtls: BrokerProcess;
  let ca: Buffer;

  const at = (listener: string) => `127.0.0.1:${broker.ports[listener]}`;
  const client = (config: Partial<MilenaConfig>) =>
    new Milena({ clientId: "security-test", retry: { retries: 2, initialRetryTime: 100 }, ...config });

  /** Produce 5 records and read them back with the same settings. */
  async function roundTrip(config: Partial<MilenaConfig>, topic: string): Promise<void> {
    const m = client(config);
    const producer = m.producer({ acks: -1 });
    await producer.connect();
    const values = [1, 2, 3, 4, 5].map((i) => `${topic}-${i}`);
    await producer.send({ topic, messages: values.map((value) => ({ value })) });
    await producer.disconnect();
    assert.deepEqual(await consumeN(m, topic, 5), values);
  }

  before(async () => {
    certs = makeCerts();
    ca = fs.readFileSync(certs.ca);
    const logDir = fs.mkdtempSync(join(certs.dir, "logs-"));
    const credentials = join(logDir, "sasl-credentials.json");
    const add = await cli(["users", "add", "alice", "--password", "alice-secret", "--file", credentials]);
    assert.equal(add.code, 0, add.stderr);
    const tls = {
      "ssl.key.location": certs.serverKey,
      "ssl.certificate.location": certs.serverCert,
      "ssl.ca.location": certs.ca,
    };
    broker = await BrokerProcess.start({
      logDir,
      overrides: {
        listeners:
          "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,WEBSOCKET_SASL_SSL://127.0.0.1:0",
        ...tls,
        "sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
        "connections.max.reauth.ms": 2000,
        "connection.failed.authentication.delay.ms": 50,
      },
    });
    mtls = await BrokerProcess.start({
      overrides: {
        listeners: "PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0",
        ...tls,
        "ssl.client.auth": "required",
      },
    });
  });

  after(async () => {
    await broker?.destroy();
    await mtls?.destroy();
    if (certs !== undefined) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it("SSL: the broker's certificate is checked against the CA; a wrong CA is refused, not retried", async () => {
    await roundTrip({ bootstrap: at("SSL"), ssl: { ca: [ca] } }, "ssl");
    const wrong = client({ bootstrap: at("SSL"), ssl: { ca: [fs.readFileSync(certs.stranger.cert)] } });
    const admin = wrong.admin();
    const t0 = Date.now();
    await assert.rejects(admin.connect(), (e: Error) => {
      assert.ok(e instanceof TlsError, `${e.name}: ${e.message}`);
      assert.match(e.message, /certificate|verify/i);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, "a refused certificate is not retried");
    // Plaintext to the SSL port gets nowhere.
    await assert.rejects(
      client({ bootstrap: at("SSL"), connectionTimeout: 2000 })
        .admin()
        .connect(),
    );
  });

  it("mTLS: a CA-signed client certificate is let in; without one (a TlsError) or with a stranger's the broker refuses", async () => {
    const alice = certs.client("alice");
    await roundTrip(
      {
        bootstrap: `127.0.0.1:${mtls.ports.SSL}`,
        ssl: { ca: [ca], cert: fs.readFileSync(alice.cert), key: fs.readFileSync(alice.key) },
      },
      "mtls",
    );
    // No client certificate: the broker's TLS 1.3 alert (certificate required) is a TlsError, not retried.
    const none = client({ bootstrap: `127.0.0.1:${mtls.ports.SSL}`, ssl: { ca: [ca] } });
    const t0 = Date.now();
    await assert.rejects(none.admin().connect(), (e: Error) => {
      assert.ok(e instanceof TlsError, `${e.name}: ${e.message}`);
      assert.equal((e as TlsError).code, "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, "not retried");
    // A stranger's certificate: the broker closes the connection (without an alert: only a
    // closed connection, which the client cannot tell from any other).
    const stranger = client({
      bootstrap: `127.0.0.1:${mtls.ports.SSL}`,
      retry: { retries: 0 },
      ssl: { ca: [ca], cert: fs.readFileSync(certs.stranger.cert), key: fs.readFileSync(certs.stranger.key) },
    });
    await assert.rejects(stranger.admin().connect());
  });

  for (const [listener, mechanism] of [
    ["SASL_PLAINTEXT", "plain"],
    ["SASL_PLAINTEXT", "scram-sha-256"],
    ["SASL_SSL", "plain"],
    ["SASL_SSL", "scram-sha-256"],
    ["SASL_SSL", "scram-sha-512"],
  ] as const) {
    it(`${listener} with ${mechanism.toUpperCase()}: produce and consume`, async () => {
      await roundTrip(
        {
          bootstrap: at(listener),
          ssl: listener === "SASL_SSL" ? { ca } : undefined,
          sasl: { mechanism, username: "alice", password: "alice-secret" },
        },
        `${listener}-${mechanism}`.toLowerCase(),
      );
    });
  }

  it("a wrong password is refused with SaslAuthenticationError (the broker's message), once, and nothing is produced", async () => {
    for (const mechanism of ["scram-sha-512", "plain"] as const) {
      const m = client({
        bootstrap: at("SASL_SSL"),
        ssl: { ca },
        sasl: { mechanism, username: "alice", password: "wrong" },
      });
      const stats = instrument(m);
      const producer = m.producer();
      const t0 = Date.now();
      await assert.rejects(
        (async () => {
          await producer.connect();
          await producer.send({ topic: "intrusion", messages: [{ value: "bad" }] });
        })(),
        (e: Error) => {
          assert.ok(e instanceof SaslAuthenticationError, `${e.name}: ${e.message}`);
          assert.equal(e.type, "SASL_AUTHENTICATION_FAILED");
          assert.equal(e.retriable, false);
          assert.match(e.message, /authentication failed/i);
          return true;
        },
      );
      assert.equal(stats.opened, 1, "not retried");
      assert.ok(Date.now() - t0 < 5000);
    }
    const admin = client({ bootstrap: at("PLAINTEXT") }).admin();
    await admin.connect();
    assert.ok(!(await admin.listTopics()).includes("intrusion"));
    await admin.disconnect();
    assert.match(broker.output, /SASL SCRAM-SHA-512 authentication from .* failed/);
  });

  it("OAUTHBEARER where the broker does not offer it: refused with the mechanisms it offers", async () => {
    let asked = 0;
    const m = client({
      bootstrap: at("SASL_PLAINTEXT"),
      sasl: {
        mechanism: "oauthbearer",
        oauthBearerProvider: async () => {
          asked++;
          return { value: "token" };
        },
      },
    });
    await assert.rejects(m.admin().connect(), (e: Error) => {
      assert.ok(e instanceof SaslAuthenticationError, `${e.name}: ${e.message}`);
      assert.equal(e.type, "UNSUPPORTED_SASL_MECHANISM");
      assert.match(e.message, /OAUTHBEARER.*SCRAM-SHA-512/);
      return true;
    });
    assert.equal(asked, 0, "no token asked for a mechanism the broker refused");
  });

  it("wss:// with SCRAM-SHA-256 on a WEBSOCKET_SASL_SSL listener", async () => {
    const url = `wss://127.0.0.1:${broker.ports.WEBSOCKET_SASL_SSL}`;
    await roundTrip(
      {
        bootstrap: url,
        ssl: { ca },
        sasl: { mechanism: "scram-sha-256", username: "alice", password: "alice-secret" },
      },
      "wss-scram",
    );
    // Without the CA, the broker's certificate is refused, and not retried.
    const t0 = Date.now();
    await assert.rejects(
      client({
        bootstrap: url,
        sasl: { mechanism: "scram-sha-256", username: "alice", password: "alice-secret" },
      })
        .admin()
        .connect(),
      (e: Error) => {
        assert.ok(e instanceof TlsError, `${e.name}: ${e.message}`);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 2000, "not retried");
  });

  it("re-authentication: a producer and a long-polling consumer keep going for 6 s past 2 s sessions, each on one connection", async () => {
    for (const [listener, mechanism] of [
      ["SASL_SSL", "scram-sha-512"],
      ["SASL_PLAINTEXT", "plain"],
    ] as const) {
      const topic = `reauth-${mechanism}`;
      const m = client({
        bootstrap: at(listener),
        ssl: listener === "SASL_SSL" ? { ca } : undefined,
        sasl: { mechanism, username: "alice", password: "alice-secret" },
      });
      const stats = instrument(m);
      const producer = m.producer({ acks: -1 });
      await producer.connect();
      const outputBefore = broker.output.length;
      // A consumer on its own client, reading as it goes: its Fetches long-poll (1 s), so its
      // re-authentications queue behind a Fetch in flight.
      const reader = client({
        bootstrap: at(listener),
        ssl: listener === "SASL_SSL" ? { ca } : undefined,
        sasl: { mechanism, username: "alice", password: "alice-secret" },
      });
      const readerStats = instrument(reader);
      await producer.send({ topic, messages: [{ value: "start" }] });
      const consumer = reader.consumer({ maxWaitTimeInMs: 1000 });
      await consumer.connect();
      await consumer.assign([{ topic, offset: "earliest" }]);
      const read: string[] = [];
      const reading = (async () => {
        for await (const r of consumer.records()) {
          read.push(String(r.value));
          if (read.at(-1) === "end") break;
        }
      })();
      let sent = 0;
      const end = Date.now() + 6000;
      while (Date.now() < end) {
        // A few sends at once, so re-authentications happen with requests in flight.
        await Promise.all([0, 1, 2].map(() => producer.send({ topic, messages: [{ value: `v${sent++}` }] })));
        await sleep(20);
      }
      await producer.send({ topic, messages: [{ value: "end" }] });
      await Promise.race([
        reading,
        sleep(15_000).then(() => {
          throw new Error(`the consumer read ${read.length} of ${sent + 2}`);
        }),
      ]);
      await consumer.disconnect();
      await producer.disconnect();
      assert.equal(stats.opened, 1, "the producer's connection was never reopened");
      assert.ok(stats.handshakes >= 3, `re-authenticated (${stats.handshakes} handshakes in 6 s)`);
      assert.equal(readerStats.opened, 1, "the consumer's connection was never reopened");
      assert.ok(readerStats.handshakes >= 3, `the consumer re-authenticated (${readerStats.handshakes})`);
      assert.deepEqual(read, ["start", ...Array.from({ length: sent }, (_, i) => `v${i}`), "end"]);
      assert.doesNotMatch(broker.output.slice(outputBefore), /SASL session expired/);
      // One partition (num.partitions=1): stored in the order sent, across the re-authentications.
      const got = await consumeN(client({ bootstrap: at("PLAINTEXT") }), topic, sent + 2);
      assert.deepEqual(got, read);
    }
  });

  it("the CLI: --command-config against SASL_SSL; a bad key is refused naming it", async () => {
    const file = join(certs.dir, "client.properties");
    fs.writeFileSync(
      file,
      [
        "# librdkafka-style keys",
        "security.protocol=SASL_SSL",
        "sasl.mechanism=SCRAM-SHA-512",
        "sasl.username=alice",
        "sasl.password=alice-secret",
        `ssl.ca.location=${certs.ca}`,
        "",
      ].join("\n"),
    );
    const b = ["--bootstrap", at("SASL_SSL"), "--command-config", file];
    const p = await cli(["produce", "cli-sasl", ...b], "one\ntwo\n");
    assert.equal(p.code, 0, p.stderr);
    const c = await cli(["consume", "cli-sasl", ...b, "--from-beginning", "--max-messages", "2"]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split("\n"), ["one", "two"]);
    const t = await cli(["topics", "list", ...b]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /cli-sasl/);
    // Without it, the SASL listener gets nowhere.
    const bare = await cli(["topics", "list", "--bootstrap", at("SASL_SSL"), "--timeout-ms", "2000"]);
    assert.notEqual(bare.code, 0);
    // A wrong password: the typed error's message, exit 1.
    fs.writeFileSync(
      join(certs.dir, "wrong.properties"),
      fs.readFileSync(file, "utf8").replace("alice-secret", "x"),
    );
    const wrong = await cli([
      "topics",
      "list",
      "--bootstrap",
      at("SASL_SSL"),
      "--command-config",
      join(certs.dir, "wrong.properties"),
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /SASL_AUTHENTICATION_FAILED/);
    for (const [edit, pattern] of [
      [(t: string) => `${t}sasl.mechansim=PLAIN\n`, /unknown key "sasl\.mechansim"/],
      [(t: string) => t.replace("=SASL_SSL", "=TLS"), /security\.protocol: "TLS" is not one of/],
      [(t: string) => t.replace("=SCRAM-SHA-512", "=SCRAM-SHA-1"), /sasl\.mechanism: "SCRAM-SHA-1"/],
      [
        (t: string) => `${t}enable.ssl.certificate.verification=maybe\n`,
        /enable\.ssl\.certificate\.verification/,
      ],
      [(t: string) => t.replace(certs.ca, "/nonexistent.pem"), /ssl\.ca\.location: cannot read/],
    ] as const) {
      const bad = join(certs.dir, "bad.properties");
      fs.writeFileSync(bad, edit(fs.readFileSync(file, "utf8")));
      const r = await cli(["topics", "list", "--bootstrap", at("SASL_SSL"), "--command-config", bad]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, pattern);
    }
  });
});
