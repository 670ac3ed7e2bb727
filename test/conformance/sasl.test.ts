// SASL listeners against kcat (librdkafka) and kafkajs: SCRAM-SHA-512 and SCRAM-SHA-256 over
// SASL_SSL, PLAIN over SASL_PLAINTEXT, users made with `milena users add` (a salted credentials
// file, no password in it) and with AlterUserScramCredentials on a running broker; a wrong
// password or an unknown user is refused with SASL_AUTHENTICATION_FAILED and nothing produced;
// a request before authenticating closes the connection; a session past
// connections.max.reauth.ms is renewed by the client's re-authentication.

import assert from "node:assert/strict";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Kafka, logLevel } from "kafkajs";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { metadataCodec } from "../../src/protocol/metadata.ts";
import {
  alterUserScramCredentialsCodec,
  describeUserScramCredentialsCodec,
  saslAuthenticateCodec,
  saslHandshakeCodec,
} from "../../src/protocol/security.ts";
import { addUser, BrokerProcess, run } from "../helpers/broker_process.ts";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { RawClient } from "../integration/raw_client.ts";

const KCAT = "/usr/bin/kcat";

describe("SASL (kcat, kafkajs)", () => {
  let certs: TestCerts;
  let broker: BrokerProcess;
  let credentials: string;

  const kcat = (
    listener: "SASL_SSL" | "SASL_PLAINTEXT",
    mechanism: string,
    user: string,
    password: string,
    args: string[],
    input?: string,
  ) =>
    run(
      KCAT,
      [
        "-b",
        `127.0.0.1:${broker.ports[listener]}`,
        "-X",
        `security.protocol=${listener.toLowerCase()}`,
        "-X",
        `sasl.mechanisms=${mechanism}`,
        "-X",
        `sasl.username=${user}`,
        "-X",
        `sasl.password=${password}`,
        ...(listener === "SASL_SSL" ? ["-X", `ssl.ca.location=${certs.ca}`] : []),
        "-X",
        "message.timeout.ms=5000",
        "-m",
        "5",
        ...args,
      ],
      { input, timeoutMs: 30_000 },
    );

  const kafkajs = (
    mechanism: "scram-sha-512" | "scram-sha-256" | "plain",
    username: string,
    password: string,
  ) =>
    new Kafka({
      clientId: "sasl",
      brokers: [`127.0.0.1:${broker.ports[mechanism === "plain" ? "SASL_PLAINTEXT" : "SASL_SSL"]}`],
      ssl: mechanism === "plain" ? false : { ca: [fs.readFileSync(certs.ca)] },
      sasl: { mechanism, username, password } as never,
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100 },
    });

  before(async () => {
    certs = makeCerts();
    const logDir = fs.mkdtempSync(join(certs.dir, "logs-"));
    credentials = join(logDir, "sasl-credentials.json");
    // The first user, before the broker starts (no password in the file).
    await addUser("alice", "alice-secret", ["--file", credentials]);
    assert.doesNotMatch(fs.readFileSync(credentials, "utf8"), /alice-secret/);
    assert.equal(fs.statSync(credentials).mode & 0o777, 0o600);
    broker = await BrokerProcess.start({
      logDir,
      overrides: {
        listeners:
          "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0,WEBSOCKET_SASL_PLAINTEXT://127.0.0.1:0",
        "ssl.key.location": certs.serverKey,
        "ssl.certificate.location": certs.serverCert,
        "sasl.enabled.mechanisms": "SCRAM-SHA-512,SCRAM-SHA-256,PLAIN",
        "connections.max.reauth.ms": 3000,
        "connection.failed.authentication.delay.ms": 50,
      },
    });
  });

  after(async () => {
    await broker?.destroy();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it("kcat over SASL_SSL with SCRAM-SHA-512 and SCRAM-SHA-256: produce and consume", async () => {
    const p = await kcat(
      "SASL_SSL",
      "SCRAM-SHA-512",
      "alice",
      "alice-secret",
      ["-P", "-t", "scram"],
      "one\ntwo\n",
    );
    assert.equal(p.code, 0, p.stderr);
    const c = await kcat("SASL_SSL", "SCRAM-SHA-256", "alice", "alice-secret", [
      "-C",
      "-t",
      "scram",
      "-o",
      "beginning",
      "-e",
      "-q",
    ]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split("\n"), ["one", "two"]);
  });

  it("a wrong password and an unknown user are refused; nothing is produced", async () => {
    for (const [user, password] of [
      ["alice", "wrong"],
      ["mallory", "alice-secret"],
    ]) {
      const r = await kcat("SASL_SSL", "SCRAM-SHA-512", user, password, ["-P", "-t", "intrusion"], "bad\n");
      assert.notEqual(r.code, 0, `${user}/${password} must be refused`);
      assert.match(r.stderr, /Authentication failed|SASL authentication error|authentication/i);
    }
    const k = kafkajs("scram-sha-512", "alice", "nope");
    const producer = k.producer();
    await assert.rejects(producer.connect(), (e: Error) =>
      /SASL|authentication/i.test(`${e.name} ${e.message}`),
    );
    const meta = await kcat("SASL_SSL", "SCRAM-SHA-512", "alice", "alice-secret", ["-L", "-J"]);
    assert.ok(!JSON.parse(meta.stdout).topics.some((t: { topic: string }) => t.topic === "intrusion"));
    assert.match(broker.output, /SASL SCRAM-SHA-512 authentication from .* failed/);
  });

  it("kafkajs: SCRAM-SHA-512 over SASL_SSL, PLAIN over SASL_PLAINTEXT; sessions past connections.max.reauth.ms are renewed", async () => {
    for (const mechanism of ["scram-sha-512", "plain"] as const) {
      const k = kafkajs(mechanism, "alice", "alice-secret");
      const producer = k.producer();
      await producer.connect();
      await producer.send({ topic: `kafkajs-${mechanism}`, messages: [{ value: "first" }] });
      // Past the 3 s session: kafkajs re-authenticates (KIP-368) before its next request.
      await sleep(3500);
      await producer.send({ topic: `kafkajs-${mechanism}`, messages: [{ value: "after the session" }] });
      await producer.disconnect();
    }
    const c = await kcat("SASL_PLAINTEXT", "PLAIN", "alice", "alice-secret", [
      "-C",
      "-t",
      "kafkajs-plain",
      "-o",
      "beginning",
      "-e",
      "-q",
    ]);
    assert.deepEqual(c.stdout.trim().split("\n"), ["first", "after the session"]);
  });

  it("on a listener without SASL, SaslAuthenticate is ILLEGAL_SASL_STATE and the connection stays", async () => {
    const c = await RawClient.tcp(broker.bootstrap);
    try {
      const r = await c.request(saslAuthenticateCodec, 2, { authBytes: Buffer.from("x") });
      assert.equal(r.errorCode, ErrorCode.ILLEGAL_SASL_STATE);
      await sleep(300);
      const md = await c.request(metadataCodec, 9, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
      assert.ok(md.brokers.length > 0, "still answered after the refusal");
    } finally {
      c.close();
    }
  });

  it("a request before authenticating closes the connection", async () => {
    const c = await RawClient.tcp(`127.0.0.1:${broker.ports.SASL_PLAINTEXT}`);
    await assert.rejects(
      c.request(metadataCodec, 9, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      }),
    );
    c.close();
    assert.match(broker.output, /Metadata request before SASL authentication/);
  });

  it("over WebSocket: the same SASL (PLAIN and SCRAM through SaslAuthenticate), nothing before it", async () => {
    const url = `ws://127.0.0.1:${broker.ports.WEBSOCKET_SASL_PLAINTEXT}`;
    const metadata = (c: RawClient) =>
      c.request(metadataCodec, 9, {
        topics: null,
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
    const early = await RawClient.ws(url);
    await assert.rejects(metadata(early));
    early.close();
    const c = await RawClient.ws(url);
    try {
      const h = await c.request(saslHandshakeCodec, 1, { mechanism: "PLAIN" });
      assert.equal(h.errorCode, 0);
      assert.ok(h.mechanisms.includes("SCRAM-SHA-512"));
      const good = Buffer.from("\u0000alice\u0000alice-secret");
      const a = await c.request(saslAuthenticateCodec, 2, { authBytes: good });
      assert.equal(a.errorCode, 0, a.errorMessage ?? "");
      assert.equal(a.sessionLifetimeMs, 3000);
      const md = await metadata(c);
      assert.ok(md.brokers.length > 0);
    } finally {
      c.close();
    }
    const wrong = await RawClient.ws(url);
    await wrong.request(saslHandshakeCodec, 1, { mechanism: "PLAIN" });
    const refused = await wrong.request(saslAuthenticateCodec, 2, {
      authBytes: Buffer.from("\u0000alice\u0000wrong"),
    });
    assert.equal(refused.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
    wrong.close();
  });

  it("a large request before authenticating closes the connection (sasl.server.max.receive.size)", async () => {
    const net = await import("node:net");
    const closed = await new Promise<boolean>((resolve) => {
      const sock = net.connect(broker.ports.SASL_PLAINTEXT, "127.0.0.1", () => {
        // A frame that claims 10 MB: refused from its size alone, before any byte of it is kept.
        const head = Buffer.alloc(4);
        head.writeInt32BE(10 * 1024 * 1024);
        sock.write(head);
      });
      sock.on("close", () => resolve(true));
      sock.on("error", () => {});
      setTimeout(() => {
        sock.destroy();
        resolve(false);
      }, 5000).unref();
    });
    assert.ok(closed, "the broker closes the connection");
    assert.match(broker.output, /before SASL authentication exceeds sasl\.server\.max\.receive\.size/);
  });

  it("AlterUserScramCredentials adds a user to the running broker; DescribeUserScramCredentials lists them", async () => {
    const admin = await RawClient.tcp(broker.bootstrap);
    try {
      const salt = randomBytes(24);
      const saltedPassword = pbkdf2Sync("bob-secret", salt, 8192, 64, "sha512");
      const r = await admin.request(alterUserScramCredentialsCodec, 0, {
        deletions: [],
        upsertions: [{ name: "bob", mechanism: 2, iterations: 8192, salt, saltedPassword }],
      });
      assert.deepEqual(r.results, [{ user: "bob", errorCode: 0, errorMessage: null }]);
      const tooFew = await admin.request(alterUserScramCredentialsCodec, 0, {
        deletions: [],
        upsertions: [{ name: "carol", mechanism: 2, iterations: 100, salt, saltedPassword }],
      });
      assert.equal(tooFew.results[0].errorCode, ErrorCode.UNACCEPTABLE_CREDENTIAL);
      const d = await admin.request(describeUserScramCredentialsCodec, 0, { users: null });
      assert.deepEqual(
        d.results.map((x) => [x.user, x.credentialInfos.map((i) => [i.mechanism, i.iterations])]),
        [
          [
            "alice",
            [
              [1, 4096],
              [2, 4096],
            ],
          ],
          ["bob", [[2, 8192]]],
        ],
      );
    } finally {
      admin.close();
    }
    const p = await kcat("SASL_SSL", "SCRAM-SHA-512", "bob", "bob-secret", ["-P", "-t", "from-bob"], "hi\n");
    assert.equal(p.code, 0, p.stderr);
    // Stored salted in the file: a restart keeps bob.
    assert.match(fs.readFileSync(credentials, "utf8"), /"bob"/);
  });
});
