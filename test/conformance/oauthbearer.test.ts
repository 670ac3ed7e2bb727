// SASL OAUTHBEARER against a real broker process: tokens minted here as a user's backend would
// (an RSA key pair, its public half in a JWKS file the broker reads), used by kafkajs over
// SASL_PLAINTEXT and SASL_SSL; expired, foreign-key and unsigned tokens refused with nothing
// produced (kafkajs, and kcat's librdkafka with its unsecured alg:none token); ACLs apply to
// User:<sub>; the session ends at the token's exp (session_lifetime_ms, then the broker closes
// the connection that did not re-authenticate); the same over the WebSocket SASL listener.

import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import kafkajs, { Kafka, logLevel } from "kafkajs";
import { ApiKey } from "../../src/protocol/api_keys.ts";
import { ErrorCode } from "../../src/protocol/error_codes.ts";
import { metadataCodec } from "../../src/protocol/metadata.ts";
import { saslAuthenticateCodec, saslHandshakeCodec } from "../../src/protocol/security.ts";
import { BrokerProcess, run } from "../helpers/broker_process.ts";
import { makeCerts, type TestCerts } from "../helpers/certs.ts";
import { b64, mint, nowS, stranger, writeJwks } from "../helpers/jwt.ts";
import { RawClient, requestFrame, sizePrefixed } from "../integration/raw_client.ts";

const { AclResourceTypes, ResourcePatternTypes, AclOperationTypes, AclPermissionTypes } = kafkajs;
const KCAT = "/usr/bin/kcat";

function oauthMessage(token: string): Buffer {
  return Buffer.from(`n,,\x01auth=Bearer ${token}\x01\x01`);
}

const metadataRequest = {
  topics: null,
  allowAutoTopicCreation: false,
  includeClusterAuthorizedOperations: false,
  includeTopicAuthorizedOperations: false,
};

describe("SASL OAUTHBEARER (kafkajs, kcat)", () => {
  let certs: TestCerts;
  let broker: BrokerProcess;

  const kafkaWith = (token: () => string, listener: "SASL_PLAINTEXT" | "SASL_SSL" = "SASL_PLAINTEXT") =>
    new Kafka({
      clientId: "oauth",
      brokers: [`127.0.0.1:${broker.ports[listener]}`],
      ssl: listener === "SASL_SSL" ? { ca: [fs.readFileSync(certs.ca)] } : false,
      sasl: { mechanism: "oauthbearer", oauthBearerProvider: async () => ({ value: token() }) },
      logLevel: logLevel.NOTHING,
      retry: { retries: 1, initialRetryTime: 100 },
    });

  /** The high watermark of topic A partition 0, read as the super user. */
  const endOfA = async () => {
    const admin = kafkaWith(() => mint("admin")).admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets("A")).map((p) => p.high).join(",");
    } finally {
      await admin.disconnect();
    }
  };

  before(async () => {
    certs = makeCerts();
    const jwks = join(certs.dir, "jwks.json");
    writeJwks(jwks);
    broker = await BrokerProcess.start({
      logDir: fs.mkdtempSync(join(certs.dir, "logs-")),
      overrides: {
        listeners:
          "SASL_PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,WEBSOCKET_SASL_PLAINTEXT://127.0.0.1:0",
        "ssl.key.location": certs.serverKey,
        "ssl.certificate.location": certs.serverCert,
        "sasl.enabled.mechanisms": "OAUTHBEARER",
        "sasl.oauthbearer.jwks.endpoint.url": pathToFileURL(jwks).href,
        "sasl.oauthbearer.expected.audience": "milena",
        "sasl.oauthbearer.expected.issuer": "https://backend.test",
        "authorizer.class.name": "kafka.security.authorizer.AclAuthorizer",
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": 0,
        "connection.failed.authentication.delay.ms": 20,
      },
    });
    assert.match(broker.output, /OAUTHBEARER: 1 verification key\(s\)/);
    const admin = kafkaWith(() => mint("admin")).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: "A" }, { topic: "B" }] });
    const allow = (resourceType: number, resourceName: string, operation: number) => ({
      resourceType,
      resourceName,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: "User:alice",
      host: "*",
      operation,
      permissionType: AclPermissionTypes.ALLOW,
    });
    await admin.createAcls({
      acl: [
        allow(AclResourceTypes.TOPIC, "A", AclOperationTypes.WRITE),
        allow(AclResourceTypes.TOPIC, "A", AclOperationTypes.READ),
        allow(AclResourceTypes.GROUP, "G", AclOperationTypes.READ),
      ],
    });
    await admin.disconnect();
  });

  after(async () => {
    await broker?.destroy();
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it("kafkajs with a valid token produces over SASL_PLAINTEXT and SASL_SSL and consumes as User:alice", async () => {
    for (const listener of ["SASL_PLAINTEXT", "SASL_SSL"] as const) {
      const producer = kafkaWith(() => mint("alice"), listener).producer();
      await producer.connect();
      await producer.send({ topic: "A", messages: [{ value: `over ${listener}` }] });
      await producer.disconnect();
    }
    const consumer = kafkaWith(() => mint("alice"), "SASL_SSL").consumer({ groupId: "G" });
    await consumer.connect();
    await consumer.subscribe({ topic: "A", fromBeginning: true });
    const got: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void got.push(message.value!.toString()) });
    for (const until = Date.now() + 20_000; got.length < 2 && Date.now() < until; ) await sleep(100);
    await consumer.disconnect();
    assert.deepEqual(got.sort(), ["over SASL_PLAINTEXT", "over SASL_SSL"]);
  });

  it("an expired token, one signed by another key and an unsigned one are refused; nothing is produced", async () => {
    const before = await endOfA();
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "alice", iat: nowS(), exp: nowS() + 600, aud: "milena", iss: "https://backend.test" })}.`;
    for (const [what, token] of [
      ["expired", mint("alice", { iat: nowS() - 600, exp: nowS() - 120 })],
      ["another key", mint("alice", {}, stranger.privateKey)],
      ["alg none", unsigned],
    ]) {
      const producer = kafkaWith(() => token).producer();
      await assert.rejects(
        producer.connect(),
        (e: Error) =>
          e.name === "KafkaJSSASLAuthenticationError" &&
          /SASL OAUTHBEARER authentication failed: .*invalid_token/.test(e.message),
        what,
      );
      await producer.disconnect().catch(() => {});
    }
    assert.equal(await endOfA(), before, "nothing was appended to A");
    assert.match(broker.output, /SASL OAUTHBEARER authentication from .* failed: invalid token: expired/);
    assert.match(broker.output, /failed: invalid token: the signature does not verify/);
    assert.match(broker.output, /failed: invalid token: alg "none"/);
  });

  it("ACLs apply to the token's principal: User:alice writes A, is refused B", async () => {
    const producer = kafkaWith(() => mint("alice")).producer();
    await producer.connect();
    await producer.send({ topic: "A", messages: [{ value: "acl ok" }] });
    await assert.rejects(
      producer.send({ topic: "B", messages: [{ value: "acl refused" }] }),
      (e: Error & { type?: string }) => /TOPIC_AUTHORIZATION_FAILED|authoriz/i.test(`${e.type} ${e.message}`),
    );
    await producer.disconnect();
    // A token for bob (no ACL) cannot write A either: the principal is the token's sub.
    const bob = kafkaWith(() => mint("bob")).producer();
    await bob.connect();
    await assert.rejects(
      bob.send({ topic: "A", messages: [{ value: "from bob" }] }),
      (e: Error & { type?: string }) => /TOPIC_AUTHORIZATION_FAILED|authoriz/i.test(`${e.type} ${e.message}`),
    );
    await bob.disconnect();
  });

  it("the session ends at the token's exp: session_lifetime_ms <= 3000, then the broker closes the connection", async () => {
    const c = await RawClient.tcp(`127.0.0.1:${broker.ports.SASL_PLAINTEXT}`);
    try {
      const h = await c.request(saslHandshakeCodec, 1, { mechanism: "OAUTHBEARER" });
      assert.equal(h.errorCode, 0);
      assert.deepEqual(h.mechanisms, ["OAUTHBEARER"]);
      const a = await c.request(saslAuthenticateCodec, 2, {
        authBytes: oauthMessage(mint("alice", { exp: nowS() + 3 })),
      });
      assert.equal(a.errorCode, 0, a.errorMessage ?? "");
      assert.equal(a.authBytes.length, 0);
      const lifetime = Number(a.sessionLifetimeMs);
      assert.ok(lifetime > 0 && lifetime <= 3000, `session_lifetime_ms ${lifetime}`);
      const md = await c.request(metadataCodec, 9, metadataRequest);
      assert.ok(md.brokers.length > 0, "answered while the token is valid");
      await sleep(lifetime + 300);
      await assert.rejects(c.request(metadataCodec, 9, metadataRequest));
    } finally {
      c.close();
    }
    assert.match(broker.output, /SASL session expired .*without re-authentication/);
  });

  it("re-authentication renews the session with a fresh token, but not as another principal", async () => {
    const c = await RawClient.tcp(`127.0.0.1:${broker.ports.SASL_PLAINTEXT}`);
    const login = async (sub: string) => {
      await c.request(saslHandshakeCodec, 1, { mechanism: "OAUTHBEARER" });
      return c.request(saslAuthenticateCodec, 2, {
        authBytes: oauthMessage(mint(sub, { exp: nowS() + 60 })),
      });
    };
    try {
      assert.equal((await login("alice")).errorCode, 0);
      const again = await login("alice");
      assert.equal(again.errorCode, 0, again.errorMessage ?? "");
      assert.ok(Number(again.sessionLifetimeMs) > 50_000);
      const other = await login("admin");
      assert.equal(other.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.equal(
        other.errorMessage,
        "Cannot change principals during re-authentication from User.alice: User.admin",
      );
      await c.closedPromise;
    } finally {
      c.close();
    }
  });

  it('over WebSocket: a valid token authenticates, an invalid one is SASL_AUTHENTICATION_FAILED {"status":"invalid_token"}', async () => {
    const url = `ws://127.0.0.1:${broker.ports.WEBSOCKET_SASL_PLAINTEXT}`;
    const c = await RawClient.ws(url);
    try {
      await c.request(saslHandshakeCodec, 1, { mechanism: "OAUTHBEARER" });
      const a = await c.request(saslAuthenticateCodec, 2, { authBytes: oauthMessage(mint("alice")) });
      assert.equal(a.errorCode, 0, a.errorMessage ?? "");
      const lifetime = Number(a.sessionLifetimeMs);
      assert.ok(lifetime > 590_000 && lifetime <= 600_000, `session_lifetime_ms ${lifetime}`);
      const md = await c.request(metadataCodec, 9, metadataRequest);
      assert.deepEqual(
        md.topics.map((t) => t.name),
        ["A"],
        "alice sees only what she may describe",
      );
    } finally {
      c.close();
    }
    const bad = await RawClient.ws(url);
    try {
      await bad.request(saslHandshakeCodec, 1, { mechanism: "OAUTHBEARER" });
      const r = await bad.request(saslAuthenticateCodec, 2, {
        authBytes: oauthMessage(mint("alice", { aud: "someone-else" })),
      });
      assert.equal(r.errorCode, ErrorCode.SASL_AUTHENTICATION_FAILED);
      assert.equal(r.errorMessage, '{"status":"invalid_token"}');
      await bad.closedPromise;
    } finally {
      bad.close();
    }
  });

  it("after SaslHandshake v0 (raw tokens): a valid token is answered with an empty token; an invalid one with Kafka's error challenge, then the client's \\x01 closes the connection", async () => {
    /** A raw TCP connection: SaslHandshake v0, then `tokens` as size-prefixed raw tokens. */
    const exchange = (tokens: Buffer[]) =>
      new Promise<{ replies: Buffer[]; closed: boolean }>((resolve) => {
        const sock = net.connect(broker.ports.SASL_PLAINTEXT, "127.0.0.1");
        let buf = Buffer.alloc(0);
        const replies: Buffer[] = [];
        let sent = 0;
        const finish = (closed: boolean) => {
          sock.destroy();
          resolve({ replies, closed });
        };
        sock.on("connect", () => {
          const frame = requestFrame(ApiKey.SaslHandshake, 0, 1, (w) =>
            saslHandshakeCodec.encodeRequest(w, 0, { mechanism: "OAUTHBEARER" }),
          );
          sock.write(sizePrefixed(frame));
        });
        sock.on("data", (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
            replies.push(buf.subarray(4, 4 + buf.readInt32BE(0)));
            buf = buf.subarray(4 + buf.readInt32BE(0));
            if (sent < tokens.length) sock.write(sizePrefixed(tokens[sent++]));
            else setTimeout(() => finish(false), 500);
          }
        });
        sock.on("error", () => {});
        sock.on("close", () => finish(true));
      });
    const ok = await exchange([oauthMessage(mint("alice"))]);
    assert.equal(ok.closed, false);
    assert.equal(ok.replies.length, 2);
    assert.equal(ok.replies[0].readInt16BE(4), 0, "SaslHandshake v0: no error");
    assert.equal(ok.replies[1].length, 0, "an empty token: authenticated");
    const bad = await exchange([oauthMessage(mint("alice", {}, stranger.privateKey)), Buffer.from([1])]);
    assert.equal(bad.replies.length, 2);
    assert.equal(bad.replies[1].toString(), '{"status":"invalid_token"}');
    assert.equal(bad.closed, true, "the \\x01 after the challenge fails: the connection closes");
  });

  it("startup stops, naming the key, without sasl.oauthbearer.jwks.endpoint.url or with a JWKS without a usable key", async () => {
    const noKeys = join(certs.dir, "no-keys.json");
    fs.writeFileSync(noKeys, JSON.stringify({ keys: [{ kty: "oct", kid: "h", k: "c2VjcmV0" }] }));
    for (const [extra, message] of [
      [{}, /configuration error: sasl\.oauthbearer\.jwks\.endpoint\.url is required/],
      [
        { "sasl.oauthbearer.jwks.endpoint.url": pathToFileURL(noKeys).href },
        /cannot start: sasl\.oauthbearer\.jwks\.endpoint\.url file:.*no usable signature key/,
      ],
    ] as const) {
      const b = await BrokerProcess.start({
        overrides: {
          listeners: "SASL_PLAINTEXT://127.0.0.1:0",
          "sasl.enabled.mechanisms": "OAUTHBEARER",
          ...extra,
        },
        expectStart: false,
      });
      try {
        assert.equal(b.exitCode, 1, b.output);
        assert.match(b.output, message);
      } finally {
        await b.destroy();
      }
    }
  });

  it("kcat's unsecured (alg:none) token is refused: kcat fails, nothing produced", async () => {
    const before = await endOfA();
    const refusals = () => broker.output.match(/failed: invalid token: alg "none"/g)?.length ?? 0;
    const refusedBefore = refusals();
    const r = await run(
      KCAT,
      [
        "-b",
        `127.0.0.1:${broker.ports.SASL_PLAINTEXT}`,
        "-X",
        "security.protocol=sasl_plaintext",
        "-X",
        "sasl.mechanisms=OAUTHBEARER",
        "-X",
        "enable.sasl.oauthbearer.unsecure.jwt=true",
        "-X",
        "sasl.oauthbearer.config=principal=alice",
        "-X",
        "message.timeout.ms=4000",
        "-m",
        "4",
        "-P",
        "-t",
        "A",
      ],
      { input: "unsigned\n", timeoutMs: 30_000 },
    );
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /invalid_token|Authentication|SASL/i);
    assert.equal(await endOfA(), before);
    assert.ok(refusals() > refusedBefore, "the broker refused kcat's alg none token");
  });
});
