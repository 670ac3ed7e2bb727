// SCRAM-SHA-256/512, the broker's side (src/broker/security/scram.ts): RFC 7677's SCRAM-SHA-256
// exchange byte for byte, RFC 5802's SHA-1 vector through the primitives, whole exchanges driven
// by kafkajs's own SCRAM client and by an independent client written here from the RFC (for the
// tampered messages), Kafka's refusals, the unknown user indistinguishable from a wrong password,
// and the stored forms (ScramCredentialUtils' string, the /config/users/<user> znode).
//
// Expected keys below were computed apart from this code, with Python's hashlib:
//   sp = hashlib.pbkdf2_hmac(h, password, salt, 4096)
//   stored_key = H(HMAC(sp, "Client Key")), server_key = HMAC(sp, "Server Key")

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import {
  AUTHZID_MISMATCH_MESSAGE,
  invalidCredentialsMessage,
  UNACCEPTABLE_CREDENTIAL,
  UnacceptableCredentialError,
} from "../../src/broker/security/errors.ts";
import {
  CredentialFormatError,
  clientProof,
  credentialFromSaltedPassword,
  decodeUserConfig,
  desanitizeEntityName,
  encodeUserConfig,
  fakeScramCredential,
  formatScramCredential,
  kafkaSalt,
  parseScramCredential,
  SaslAuthenticationError,
  type ScramCredential,
  type ScramMechanism,
  ScramServerExchange,
  type ScramServerOptions,
  saltedPassword,
  sanitizeEntityName,
  saslName,
  scramCredential,
  scramCredentialFromSaltedPassword,
  scramMechanismFromType,
  serverSignature,
  userConfigZnodePath,
  usernameFromSaslName,
  userPrincipal,
  validateScramUpsertion,
  verifyClientProof,
} from "../../src/broker/security/scram.ts";

const require = createRequire(import.meta.url);
const { SCRAM, DIGESTS } = require("kafkajs/src/broker/saslAuthenticator/scram.js");

const b64 = (s: string) => Buffer.from(s, "base64");
const utf8 = (s: string) => Buffer.from(s, "utf8");

// ---- RFC 7677 section 3 (SCRAM-SHA-256), user "user", password "pencil" ----
const RFC7677 = {
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
  salt: b64("W22ZaJ0SNY7soEsUEjb6gQ=="),
  // by hand (hashlib), for the salt and 4096 iterations above
  stored256: "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=",
  server256: "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
  stored512: "6AAub3065EYRmyFpM2RNwqK+eGnrkYuEWbXn19LsEmBqzu8QaCXNc1FwpnX9NhH2hK/60dzj9DoO5DvVkOHbvg==",
  server512: "jZHbYjC1aHh0/hKbxyBuGFjDrgjgKTT1esA7awWiKcRZ0o/0b1yWEebBeSVkkCFewf91nLDfKF24mvD5nmE6rA==",
};
/** What Kafka's ScramCredentialUtils.credentialToString writes for RFC 7677's user. */
const RFC7677_STORED_256 = `salt=W22ZaJ0SNY7soEsUEjb6gQ==,stored_key=${RFC7677.stored256},server_key=${RFC7677.server256},iterations=4096`;
const RFC7677_STORED_512 = `salt=W22ZaJ0SNY7soEsUEjb6gQ==,stored_key=${RFC7677.stored512},server_key=${RFC7677.server512},iterations=4096`;

// ---- RFC 5802 section 5 (SCRAM-SHA-1), user "user", password "pencil" ----
const RFC5802 = {
  clientFirstBare: "n=user,r=fyko+d2lbbFgONRv9qkxdawL",
  serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
  clientFinalWithoutProof: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
  proof: "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  serverSignature: "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
  salt: b64("QSXCR+Q6sek8bf92"),
  // by hand (hashlib)
  storedKey: "6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
  serverKey: "D+CSWLOshSulAsxiupA+qs2/fTE=",
};

const GENERIC_256 = invalidCredentialsMessage("SCRAM-SHA-256");
const GENERIC_512 = invalidCredentialsMessage("SCRAM-SHA-512");

function lookupOf(users: Record<string, ScramCredential>) {
  return (u: string) => (Object.hasOwn(users, u) ? users[u] : undefined);
}

/** assert.throws for a SaslAuthenticationError with exactly this client message; returns it. */
function refusal(fn: () => unknown, message: string): SaslAuthenticationError {
  let caught: unknown;
  assert.throws(fn, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof SaslAuthenticationError, `SaslAuthenticationError expected, got ${caught}`);
  assert.equal(caught.message, message);
  return caught;
}

// ---- kafkajs's SCRAM client (node_modules/kafkajs/src/broker/saslAuthenticator/scram.js) ----
//
// It needs only a saslAuthenticate({ request, response }) function: request.encode() gives the
// SaslAuthenticate auth_bytes (int32 length + bytes), response.parse() reads the server's message.
// A server failure is thrown back into it, as a failed SaslAuthenticate would be.

const kafkajsLogger = { debug() {}, info() {}, warn() {}, error() {} };
interface KafkajsStep {
  request: { encode(): Promise<Buffer> };
  response: { parse(data: Buffer): Promise<unknown> };
}

async function kafkajsAuthenticate(
  exchange: ScramServerExchange,
  username: string,
  password: string,
  clientNonce?: string,
  sent: string[] = [],
): Promise<string[]> {
  let step = 0;
  const saslAuthenticate = async ({ request, response }: KafkajsStep) => {
    const encoded = await request.encode();
    const body = encoded.subarray(4);
    assert.equal(encoded.readInt32BE(0), body.length);
    sent.push(body.toString("utf8"));
    const answer = step++ === 0 ? exchange.first(body) : exchange.final(body);
    sent.push(answer.toString("utf8"));
    return response.parse(answer);
  };
  const digest = exchange.mechanism === "SCRAM-SHA-256" ? DIGESTS.SHA256 : DIGESTS.SHA512;
  const client = new SCRAM(
    { username, password },
    "localhost",
    9092,
    kafkajsLogger,
    saslAuthenticate,
    digest,
  );
  if (clientNonce) client.currentNonce = clientNonce;
  await client.authenticate();
  return sent;
}

// ---- an independent client, from RFC 5802 section 3, with hooks to tamper with client-final ----

function rfcClient(mechanism: ScramMechanism, username: string, password: string, nonce = "clientnonce123") {
  const h = mechanism === "SCRAM-SHA-256" ? "sha256" : "sha512";
  const len = h === "sha256" ? 32 : 64;
  const bare = `n=${username.replace(/=/g, "=3D").replace(/,/g, "=2C")},r=${nonce}`;
  return {
    clientFirst: (gs2 = "n,,", extensions = "") => utf8(`${gs2}${bare}${extensions}`),
    clientFinal(
      serverFirst: Buffer,
      t: {
        gs2?: string;
        extensions?: string;
        binding?: string;
        nonce?: string;
        proof?: (p: Buffer) => Buffer;
      } = {},
    ) {
      const sf = serverFirst.toString("utf8");
      const attrs = Object.fromEntries(sf.split(",").map((kv) => [kv[0], kv.slice(2)]));
      const salted = pbkdf2Sync(password, b64(attrs.s), Number(attrs.i), len, h);
      const clientKey = createHmac(h, salted).update("Client Key").digest();
      const storedKey = createHash(h).update(clientKey).digest();
      const binding = t.binding ?? Buffer.from(t.gs2 ?? "n,,").toString("base64");
      const withoutProof = `c=${binding},r=${t.nonce ?? attrs.r}`;
      const authMessage = `${bare}${t.extensions ?? ""},${sf},${withoutProof}`;
      const signature = createHmac(h, storedKey).update(authMessage).digest();
      let proof: Buffer = Buffer.alloc(len);
      for (let i = 0; i < len; i++) proof[i] = clientKey[i] ^ signature[i];
      if (t.proof) proof = t.proof(proof);
      const serverKey = createHmac(h, salted).update("Server Key").digest();
      return {
        message: utf8(`${withoutProof},p=${proof.toString("base64")}`),
        expectedServerFinal: `v=${createHmac(h, serverKey).update(authMessage).digest("base64")}`,
      };
    },
  };
}

function exchangeFor(
  mechanism: ScramMechanism,
  users: Record<string, ScramCredential>,
  options: ScramServerOptions = {},
): ScramServerExchange {
  return new ScramServerExchange(mechanism, lookupOf(users), options);
}

describe("RFC 7677's SCRAM-SHA-256 exchange", () => {
  const credential = scramCredential("SCRAM-SHA-256", "pencil", 4096, RFC7677.salt);

  test("the credential of user/pencil is what Kafka stores (worked out by hand)", () => {
    assert.equal(formatScramCredential(credential), RFC7677_STORED_256);
    assert.equal(
      formatScramCredential(scramCredential("SCRAM-SHA-512", "pencil", 4096, RFC7677.salt)),
      RFC7677_STORED_512,
    );
  });

  test("server-first and server-final are the RFC's, byte for byte", () => {
    const ex = exchangeFor("SCRAM-SHA-256", { user: credential }, { serverNonce: RFC7677.serverNonce });
    assert.equal(ex.first(utf8(RFC7677.clientFirst)).toString(), RFC7677.serverFirst);
    assert.equal(ex.complete, false);
    assert.equal(ex.final(utf8(RFC7677.clientFinal)).toString(), RFC7677.serverFinal);
    assert.equal(ex.complete, true);
    assert.equal(ex.principal, "user");
    assert.equal(userPrincipal(ex.principal), "User:user");
  });

  test("the RFC's exchange also passes from a credential parsed from Kafka's stored form", () => {
    const parsed = parseScramCredential(RFC7677_STORED_256, "SCRAM-SHA-256");
    const ex = exchangeFor("SCRAM-SHA-256", { user: parsed }, { serverNonce: RFC7677.serverNonce });
    ex.first(utf8(RFC7677.clientFirst));
    assert.equal(ex.final(utf8(RFC7677.clientFinal)).toString(), RFC7677.serverFinal);
  });

  test("kafkajs, given the RFC's client nonce, sends the RFC's messages and accepts the server's", async () => {
    const ex = exchangeFor("SCRAM-SHA-256", { user: credential }, { serverNonce: RFC7677.serverNonce });
    const sent = await kafkajsAuthenticate(ex, "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
    assert.deepEqual(sent, [
      RFC7677.clientFirst,
      RFC7677.serverFirst,
      RFC7677.clientFinal,
      RFC7677.serverFinal,
    ]);
    assert.equal(ex.principal, "user");
  });

  test("one changed byte of the RFC's proof fails", () => {
    const ex = exchangeFor("SCRAM-SHA-256", { user: credential }, { serverNonce: RFC7677.serverNonce });
    ex.first(utf8(RFC7677.clientFirst));
    const tampered = RFC7677.clientFinal.replace("p=dHzb", "p=dHzc");
    refusal(() => ex.final(utf8(tampered)), GENERIC_256);
  });
});

describe("RFC 5802's SCRAM-SHA-1 vector, through the primitives", () => {
  const authMessage = `${RFC5802.clientFirstBare},${RFC5802.serverFirst},${RFC5802.clientFinalWithoutProof}`;
  const salted = saltedPassword("sha1", "pencil", RFC5802.salt, 4096);
  const credential = credentialFromSaltedPassword("sha1", RFC5802.salt, salted, 4096);

  test("StoredKey and ServerKey (worked out by hand)", () => {
    assert.equal(credential.storedKey.toString("base64"), RFC5802.storedKey);
    assert.equal(credential.serverKey.toString("base64"), RFC5802.serverKey);
  });

  test("the client proof and the server signature are the RFC's", () => {
    assert.equal(clientProof("sha1", salted, authMessage).toString("base64"), RFC5802.proof);
    assert.equal(
      serverSignature("sha1", credential.serverKey, authMessage).toString("base64"),
      RFC5802.serverSignature,
    );
  });

  test("the RFC's proof verifies against StoredKey; a changed one or a short one does not", () => {
    assert.equal(verifyClientProof("sha1", credential.storedKey, authMessage, b64(RFC5802.proof)), true);
    const bad = b64(RFC5802.proof);
    bad[0] ^= 1;
    assert.equal(verifyClientProof("sha1", credential.storedKey, authMessage, bad), false);
    assert.equal(
      verifyClientProof("sha1", credential.storedKey, authMessage, b64(RFC5802.proof).subarray(1)),
      false,
    );
    assert.equal(
      verifyClientProof("sha1", credential.storedKey, `${authMessage}x`, b64(RFC5802.proof)),
      false,
    );
  });
});

for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
  const generic = mechanism === "SCRAM-SHA-256" ? GENERIC_256 : GENERIC_512;
  describe(`${mechanism} with kafkajs's client`, () => {
    const alice = scramCredential(mechanism, "alice-secret", 8192);
    const odd = scramCredential(mechanism, "pässwörd, with=signs", 4096);
    const users = { alice, "o,d=d": odd };

    test("authenticates, and the server signature satisfies kafkajs", async () => {
      const ex = exchangeFor(mechanism, users);
      const sent = await kafkajsAuthenticate(ex, "alice", "alice-secret");
      assert.match(sent[1], /^r=[^,]+,s=[A-Za-z0-9+/=]+,i=8192$/);
      assert.equal(ex.complete, true);
      assert.equal(ex.principal, "alice");
    });

    test("a user name with ',' and '=' (sent as =2C and =3D) and a non-ASCII password", async () => {
      const ex = exchangeFor(mechanism, users);
      const sent = await kafkajsAuthenticate(ex, "o,d=d", "pässwörd, with=signs");
      assert.match(sent[0], /^n,,n=o=2Cd=3Dd,r=/);
      assert.equal(ex.principal, "o,d=d");
    });

    test("a wrong password fails at the proof with Kafka's generic message", async () => {
      const ex = exchangeFor(mechanism, users);
      await assert.rejects(kafkajsAuthenticate(ex, "alice", "alice-secreT"), (e: Error) => {
        assert.ok(e.message.endsWith(generic), e.message);
        return true;
      });
      assert.equal(ex.complete, false);
      assert.throws(() => ex.principal, /not completed/);
    });

    test("an unknown user gets a server-first and fails at the proof with the same message", async () => {
      const ex = exchangeFor(mechanism, users);
      const sent: string[] = [];
      await assert.rejects(
        kafkajsAuthenticate(ex, "mallory", "alice-secret", undefined, sent),
        (e: Error) => {
          assert.ok(e.message.endsWith(generic), e.message);
          return true;
        },
      );
      // the proof step was reached: the first message was answered, the final one refused
      assert.equal(sent.length, 3);
      assert.match(sent[1], /^r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096$/);
      assert.match(sent[2], /^c=biws,r=[^,]+,p=/);
    });
  });
}

describe("unknown user and wrong password are indistinguishable", () => {
  const mechanism = "SCRAM-SHA-512";
  const users = { alice: scramCredential(mechanism, "alice-secret") };

  function attempt(user: string, password: string, options: ScramServerOptions = {}) {
    const c = rfcClient(mechanism, user, password);
    const ex = exchangeFor(mechanism, users, options);
    const sf = ex.first(c.clientFirst());
    const err = refusal(() => ex.final(c.clientFinal(sf).message), GENERIC_512);
    return { serverFirst: sf.toString(), err };
  }

  test("same message and error code; only the broker-side reason differs", () => {
    const wrong = attempt("alice", "guess");
    const unknown = attempt("bob", "guess");
    assert.equal(wrong.err.message, unknown.err.message);
    assert.equal(wrong.err.errorCode, 58);
    assert.equal(unknown.err.errorCode, 58);
    assert.match(wrong.err.reason, /wrong proof/);
    assert.match(unknown.err.reason, /unknown user/);
  });

  test("an unknown user's salt is the same at every attempt, and of Kafka's kind (base 36 ASCII)", () => {
    const salt = (sf: string) => /,s=([^,]+),/.exec(sf)![1];
    const a = salt(attempt("bob", "x").serverFirst);
    const b = salt(attempt("bob", "y").serverFirst);
    const c = salt(attempt("carol", "x").serverFirst);
    assert.equal(a, b);
    assert.notEqual(a, c);
    assert.match(b64(a).toString("latin1"), /^[0-9a-z]{20,26}$/);
    // with a broker-wide secret it is the same across processes and brokers
    const secret = Buffer.alloc(32, 7);
    assert.equal(
      salt(attempt("bob", "x", { fakeCredentialSecret: secret }).serverFirst),
      fakeScramCredential(mechanism, "bob", secret).salt.toString("base64"),
    );
  });

  test("the right password of a user whose credential has too few iterations is refused at the proof", () => {
    const weak = credentialFromSaltedPassword(
      "sha512",
      Buffer.from("salt"),
      saltedPassword("sha512", "pw", Buffer.from("salt"), 1000),
      1000,
    );
    const c = rfcClient(mechanism, "weak", "pw");
    const ex = exchangeFor(mechanism, { weak });
    const sf = ex.first(c.clientFirst());
    assert.match(sf.toString(), /,i=4096$/, "answered with the fake credential, not the weak one");
    const err = refusal(() => ex.final(c.clientFinal(sf).message), GENERIC_512);
    assert.match(err.reason, /less than the minimum 4096/);
  });

  test("a lookup that throws is refused at the proof too", () => {
    const c = rfcClient(mechanism, "alice", "alice-secret");
    const ex = new ScramServerExchange(mechanism, () => {
      throw new Error("backend down");
    });
    const sf = ex.first(c.clientFirst());
    const err = refusal(() => ex.final(c.clientFinal(sf).message), GENERIC_512);
    assert.match(err.reason, /backend down/);
  });
});

describe("tampered client-final", () => {
  const mechanism = "SCRAM-SHA-256";
  const users = { alice: scramCredential(mechanism, "alice-secret") };

  function run(tamper: Parameters<ReturnType<typeof rfcClient>["clientFinal"]>[1], gs2 = "n,,") {
    const c = rfcClient(mechanism, "alice", "alice-secret");
    const ex = exchangeFor(mechanism, users);
    const sf = ex.first(c.clientFirst(gs2));
    return { ex, final: c.clientFinal(sf, { gs2, ...tamper }) };
  }

  test("untampered, the independent client passes and gets the signature it expects", () => {
    const { ex, final } = run({});
    assert.equal(ex.final(final.message).toString(), final.expectedServerFinal);
    assert.equal(ex.principal, "alice");
  });

  const cases: [string, Parameters<typeof run>[0], RegExp][] = [
    ["a nonce that is not the server's", { nonce: "clientnonce123forged" }, /nonce/],
    ["the client nonce alone", { nonce: "clientnonce123" }, /nonce/],
    [
      "a flipped bit in the proof",
      {
        proof: (p) => {
          p[5] ^= 0x10;
          return p;
        },
      },
      /wrong proof/,
    ],
    ["a proof one byte short", { proof: (p) => p.subarray(1) }, /wrong proof/],
    ["channel binding of 'y,,'", { binding: Buffer.from("y,,").toString("base64") }, /channel binding/],
    [
      "channel binding of another authzid",
      { binding: Buffer.from("n,a=bob,").toString("base64") },
      /channel binding/,
    ],
    ["channel binding that is not base64", { binding: "biws!" }, /channel binding/],
  ];
  for (const [name, tamper, reason] of cases)
    test(`${name} fails`, () => {
      const { ex, final } = run(tamper);
      const err = refusal(() => ex.final(final.message), GENERIC_256);
      assert.match(err.reason, reason);
      assert.equal(ex.complete, false);
    });

  test("the proof covers the channel binding: the right proof under another c= fails", () => {
    // a proof computed for c=biws, sent under the binding of "n,a=alice," (also a valid header)
    const c = rfcClient(mechanism, "alice", "alice-secret");
    const ex = exchangeFor(mechanism, users);
    const sf = ex.first(c.clientFirst("n,a=alice,"));
    const good = c.clientFinal(sf, { gs2: "n,," }).message.toString();
    refusal(() => ex.final(utf8(good)), GENERIC_256);
  });

  const malformed: [string, (good: string) => string][] = [
    ["no proof", (g) => g.slice(0, g.indexOf(",p="))],
    ["an empty proof", (g) => `${g.slice(0, g.indexOf(",p="))},p=`],
    ["a proof that is not base64", (g) => `${g.slice(0, g.indexOf(",p="))},p=@@@@`],
    ["no channel binding", (g) => g.slice(g.indexOf(",") + 1)],
    ["a malformed extension", (g) => g.replace(",p=", ",x,p=")],
  ];
  for (const [name, change] of malformed)
    test(`a client-final with ${name} fails`, () => {
      const { ex, final } = run({});
      refusal(() => ex.final(utf8(change(final.message.toString()))), GENERIC_256);
    });

  test("a client-final that is not UTF-8 fails", () => {
    const { ex, final } = run({});
    const bytes = Buffer.concat([
      final.message.subarray(0, 10),
      Buffer.from([0xff, 0xfe]),
      final.message.subarray(10),
    ]);
    const err = refusal(() => ex.final(bytes), GENERIC_256);
    assert.match(err.reason, /UTF-8/);
  });

  test("after a failure the exchange is over: ILLEGAL_SASL_STATE", () => {
    const { ex, final } = run({ nonce: "x" });
    refusal(() => ex.final(final.message), GENERIC_256);
    const err = refusal(() => ex.final(final.message), "Unexpected challenge in Sasl server state FAILED");
    assert.equal(err.errorCode, 34);
  });

  test("messages out of turn: ILLEGAL_SASL_STATE", () => {
    const ex = exchangeFor(mechanism, users);
    const err = refusal(
      () => ex.final(utf8("c=biws,r=x,p=AAAA")),
      "Unexpected challenge in Sasl server state RECEIVE_CLIENT_FIRST_MESSAGE",
    );
    assert.equal(err.errorCode, 34);
    const { ex: ex2, final } = run({});
    ex2.final(final.message);
    refusal(() => ex2.first(utf8("n,,n=alice,r=abc")), "Unexpected challenge in Sasl server state COMPLETE");
  });
});

describe("client-first: what Kafka accepts and refuses", () => {
  const mechanism = "SCRAM-SHA-256";
  const users = { alice: scramCredential(mechanism, "alice-secret") };

  const refused: [string, string, RegExp][] = [
    ["channel binding 'y'", "y,,n=alice,r=abc", /channel binding/],
    ["channel binding 'p=tls-unique'", "p=tls-unique,,n=alice,r=abc", /channel binding/],
    ["no gs2 header", "n=alice,r=abc", /gs2 header/],
    ["a mandatory extension m=", "n,,m=foo,n=alice,r=abc", /mandatory/],
    ["an '=' not followed by 2C or 3D", "n,,n=al=ice,r=abc", /user name/],
    ["an empty user name", "n,,n=,r=abc", /user name/],
    ["no nonce", "n,,n=alice", /too short/],
    ["an empty nonce", "n,,n=alice,r=", /nonce/],
    ["a nonce with a space", "n,,n=alice,r=a b", /nonce/],
    ["a malformed authzid", "n,b=alice,n=alice,r=abc", /authzid/],
    ["a delegation token (tokenauth=true)", "n,,n=alice,r=abc,tokenauth=true", /delegation token/],
    ["tokenauth=TRUE (Java's parseBoolean)", "n,,n=alice,r=abc,tokenauth=TRUE", /delegation token/],
    ["a malformed extension", "n,,n=alice,r=abc,ext", /extension/],
    ["a NUL", "n,,n=al\0ice,r=abc", /NUL/],
  ];
  for (const [name, message, reason] of refused)
    test(`${name} is refused`, () => {
      const err = refusal(() => exchangeFor(mechanism, users).first(utf8(message)), GENERIC_256);
      assert.match(err.reason, reason);
    });

  test("invalid UTF-8 is refused", () => {
    const bytes = Buffer.concat([utf8("n,,n="), Buffer.from([0xc3, 0x28]), utf8(",r=abc")]);
    refusal(() => exchangeFor(mechanism, users).first(bytes), GENERIC_256);
  });

  test("an authzid that is not the user is refused with Kafka's own message, whether or not the user exists", () => {
    for (const user of ["alice", "nobody"]) {
      const err = refusal(
        () => exchangeFor(mechanism, users).first(utf8(`n,a=bob,n=${user},r=abc`)),
        AUTHZID_MISMATCH_MESSAGE,
      );
      assert.equal(err.errorCode, 58);
    }
  });

  test("an authzid equal to the user is accepted (c= is then the base64 of 'n,a=alice,')", () => {
    const c = rfcClient(mechanism, "alice", "alice-secret");
    const ex = exchangeFor(mechanism, users);
    const sf = ex.first(c.clientFirst("n,a=alice,"));
    const final = c.clientFinal(sf, { gs2: "n,a=alice," });
    assert.match(final.message.toString(), /^c=bixhPWFsaWNlLA==,/);
    assert.equal(ex.final(final.message).toString(), final.expectedServerFinal);
  });

  test("tokenauth=false and unknown extensions are ignored (but are part of AuthMessage)", () => {
    for (const ext of [",tokenauth=false", ",foo=bar,baz=1"]) {
      const c = rfcClient(mechanism, "alice", "alice-secret");
      const ex = exchangeFor(mechanism, users);
      const sf = ex.first(c.clientFirst("n,,", ext));
      const final = c.clientFinal(sf, { extensions: ext });
      assert.equal(ex.final(final.message).toString(), final.expectedServerFinal);
      // a client that leaves the extensions out of its AuthMessage fails
      const c2 = rfcClient(mechanism, "alice", "alice-secret");
      const ex2 = exchangeFor(mechanism, users);
      const sf2 = ex2.first(c2.clientFirst("n,,", ext));
      refusal(() => ex2.final(c2.clientFinal(sf2).message), GENERIC_256);
    }
  });

  test('with extensions: "reject", an unknown extension is refused; tokenauth=false is not', () => {
    const err = refusal(
      () => exchangeFor(mechanism, users, { extensions: "reject" }).first(utf8("n,,n=alice,r=abc,foo=bar")),
      GENERIC_256,
    );
    assert.match(err.reason, /extension foo/);
    exchangeFor(mechanism, users, { extensions: "reject" }).first(utf8("n,,n=alice,r=abc,tokenauth=false"));
  });

  test("the server nonce is random, base64, and appended to the client's", () => {
    const nonce = (ex: ScramServerExchange) =>
      /^r=abc([^,]+),/.exec(ex.first(utf8("n,,n=alice,r=abc")).toString())![1];
    const a = nonce(exchangeFor(mechanism, users));
    const b = nonce(exchangeFor(mechanism, users));
    assert.notEqual(a, b);
    assert.match(a, /^[A-Za-z0-9+/]{32}$/);
    assert.throws(() => exchangeFor(mechanism, users, { serverNonce: "a,b" }), /printable/);
  });
});

describe("creating credentials (Kafka's iteration limits)", () => {
  test("4096..16384 iterations are accepted; fewer or more are UNACCEPTABLE_CREDENTIAL with Kafka's messages", () => {
    assert.equal(scramCredential("SCRAM-SHA-256", "pw", 4096).iterations, 4096);
    assert.equal(scramCredential("SCRAM-SHA-256", "pw", 16384).iterations, 16384);
    for (const [it, message] of [
      [4095, "Too few iterations"],
      [0, "Too few iterations"],
      [4096.5, "Too few iterations"],
      [16385, "Too many iterations"],
    ] as const)
      assert.throws(
        () => scramCredential("SCRAM-SHA-512", "pw", it),
        (e: unknown) =>
          e instanceof UnacceptableCredentialError && e.message === message && e.errorCode === 93,
      );
    assert.equal(UNACCEPTABLE_CREDENTIAL, 93);
    assert.throws(() => validateScramUpsertion("", 4096), /Username must not be empty/);
    validateScramUpsertion("alice", 4096);
  });

  test("an AlterUserScramCredentials upsertion (salt + SaltedPassword) gives the same credential as the password", () => {
    const salt = Buffer.from("somesalt");
    const salted = saltedPassword("sha512", "pw", salt, 8192);
    assert.deepEqual(
      scramCredentialFromSaltedPassword("SCRAM-SHA-512", salt, salted, 8192),
      scramCredential("SCRAM-SHA-512", "pw", 8192, salt),
    );
    assert.throws(() => scramCredentialFromSaltedPassword("SCRAM-SHA-512", salt, salted, 20000), /Too many/);
    assert.equal(scramMechanismFromType(1), "SCRAM-SHA-256");
    assert.equal(scramMechanismFromType(2), "SCRAM-SHA-512");
    assert.equal(scramMechanismFromType(3), undefined);
  });

  test("salts are fresh and of Kafka's kind; the password is nowhere in the credential", () => {
    const a = scramCredential("SCRAM-SHA-256", "hunter2hunter2");
    const b = scramCredential("SCRAM-SHA-256", "hunter2hunter2");
    assert.notDeepEqual(a.salt, b.salt);
    assert.notDeepEqual(a.storedKey, b.storedKey);
    assert.match(a.salt.toString("latin1"), /^[0-9a-z]{20,26}$/);
    assert.match(kafkaSalt().toString("latin1"), /^[0-9a-z]{20,26}$/);
    assert.deepEqual(Object.keys(a).sort(), ["iterations", "salt", "serverKey", "storedKey"]);
    assert.ok(!formatScramCredential(a).includes("hunter2"));
    assert.equal(a.storedKey.length, 32);
    assert.equal(scramCredential("SCRAM-SHA-512", "x").serverKey.length, 64);
  });
});

describe("user names", () => {
  test("saslName escapes '=' and ','; usernameFromSaslName undoes it and refuses stray '='", () => {
    assert.equal(saslName("a=b,c"), "a=3Db=2Cc");
    assert.equal(usernameFromSaslName("a=3Db=2Cc"), "a=b,c");
    assert.equal(usernameFromSaslName("=3D2C"), "=2C");
    for (const bad of ["a=b", "a=2c", "a=", "a=3", "a,b"])
      assert.equal(usernameFromSaslName(bad), undefined, bad);
    for (const name of ["plain", "é,=ü", "==,,", "=2C"])
      assert.equal(usernameFromSaslName(saslName(name)), name);
  });

  test("znode names as Kafka's Sanitizer writes them", () => {
    assert.equal(sanitizeEntityName("alice"), "alice");
    assert.equal(sanitizeEntityName("a b*c"), "a%20b%2Ac");
    assert.equal(sanitizeEntityName("user@EXAMPLE.COM"), "user%40EXAMPLE.COM");
    assert.equal(sanitizeEntityName("ü/x"), "%C3%BC%2Fx");
    assert.equal(userConfigZnodePath("CN=a,O=b"), "/config/users/CN%3Da%2CO%3Db");
    for (const name of ["alice", "a b*c", "ü/x", "CN=a,O=b", "a_b-c.d"])
      assert.equal(desanitizeEntityName(sanitizeEntityName(name)), name);
    assert.equal(desanitizeEntityName("a+b"), "a b");
    assert.equal(desanitizeEntityName("🐘%C3%BC"), "🐘ü");
  });
});

describe("stored forms", () => {
  test("the credential string round-trips and parses Kafka's, in any key order", () => {
    const c = parseScramCredential(RFC7677_STORED_256, "SCRAM-SHA-256");
    assert.deepEqual(c.salt, RFC7677.salt);
    assert.equal(c.iterations, 4096);
    assert.equal(formatScramCredential(c), RFC7677_STORED_256);
    const reordered = RFC7677_STORED_256.split(",").reverse().join(",");
    assert.deepEqual(parseScramCredential(reordered), c);
    const fresh = scramCredential("SCRAM-SHA-512", "pw", 10000);
    assert.deepEqual(parseScramCredential(formatScramCredential(fresh), "SCRAM-SHA-512"), fresh);
  });

  const bad: [string, string, RegExp][] = [
    ["a missing key", "salt=AAAA,stored_key=AAAA,server_key=AAAA", /iterations missing/],
    ["an extra key", `${RFC7677_STORED_256},extra=1`, /unknown key "extra"/],
    ["a key twice", `${RFC7677_STORED_256},salt=AAAA`, /salt given twice/],
    ["a token without '='", "salt", /not key=value/],
    ["an empty key", "=x", /not key=value/],
    ["bad base64", RFC7677_STORED_256.replace("salt=W22Z", "salt=W2!Z"), /salt is not base64/],
    [
      "iterations not a number",
      RFC7677_STORED_256.replace("iterations=4096", "iterations=40x6"),
      /iterations/,
    ],
    ["negative iterations", RFC7677_STORED_256.replace("iterations=4096", "iterations=-1"), /iterations/],
    ["zero iterations", RFC7677_STORED_256.replace("iterations=4096", "iterations=0"), /iterations/],
    [
      "iterations past int32",
      RFC7677_STORED_256.replace("iterations=4096", "iterations=2147483648"),
      /iterations/,
    ],
  ];
  for (const [name, text, pattern] of bad)
    test(`a credential string with ${name} is refused`, () => {
      assert.throws(
        () => parseScramCredential(text),
        (e: unknown) => e instanceof CredentialFormatError && pattern.test(e.message),
      );
    });

  test("keys of the wrong length for the mechanism are refused, without printing them", () => {
    assert.throws(
      () => parseScramCredential(RFC7677_STORED_256, "SCRAM-SHA-512"),
      (e: unknown) =>
        e instanceof CredentialFormatError &&
        /64 bytes/.test(e.message) &&
        !e.message.includes(RFC7677.stored256),
    );
  });

  // A /config/users/user znode as Kafka (kafka-configs --alter --entity-type users) writes it,
  // with a quota beside the credentials.
  const KAFKA_ZNODE = `{"version":1,"config":{"producer_byte_rate":"1048576","SCRAM-SHA-512":"${RFC7677_STORED_512}","SCRAM-SHA-256":"${RFC7677_STORED_256}"}}`;

  test("the /config/users/<user> JSON: Kafka's parses, other entries kept, and it encodes back", () => {
    const decoded = decodeUserConfig(KAFKA_ZNODE);
    assert.equal(formatScramCredential(decoded.credentials["SCRAM-SHA-256"]!), RFC7677_STORED_256);
    assert.equal(formatScramCredential(decoded.credentials["SCRAM-SHA-512"]!), RFC7677_STORED_512);
    assert.deepEqual({ ...decoded.config }, { producer_byte_rate: "1048576" });
    const encoded = encodeUserConfig(decoded.credentials, decoded.config);
    assert.equal(
      encoded,
      `{"version":1,"config":{"producer_byte_rate":"1048576","SCRAM-SHA-256":"${RFC7677_STORED_256}","SCRAM-SHA-512":"${RFC7677_STORED_512}"}}`,
    );
    assert.deepEqual(decodeUserConfig(Buffer.from(encoded)), decoded);
    assert.equal(encodeUserConfig({}), '{"version":1,"config":{}}');
    assert.throws(() => encodeUserConfig({}, { "SCRAM-SHA-256": "x" }), /credentials/);
  });

  test("a credential decoded from Kafka's znode authenticates kafkajs with the RFC's password", async () => {
    const { credentials } = decodeUserConfig(KAFKA_ZNODE);
    for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-512"] as const) {
      const ex = new ScramServerExchange(mechanism, (u) =>
        u === "user" ? credentials[mechanism] : undefined,
      );
      await kafkajsAuthenticate(ex, "user", "pencil");
      assert.equal(ex.principal, "user");
    }
  });

  const badJson: [string, string, RegExp][] = [
    ["not JSON", "{", /not JSON/],
    ["an array", "[]", /not a JSON object/],
    ["version 2", '{"version":2,"config":{}}', /version 2/],
    ["no config", '{"version":1}', /no "config"/],
    [
      "a number value",
      '{"version":1,"config":{"producer_byte_rate":5}}',
      /producer_byte_rate is not a string/,
    ],
    ["a bad credential", '{"version":1,"config":{"SCRAM-SHA-256":"salt=AAAA"}}', /SCRAM-SHA-256: .*missing/],
  ];
  for (const [name, json, pattern] of badJson)
    test(`a user config with ${name} is refused`, () => {
      assert.throws(
        () => decodeUserConfig(json),
        (e: unknown) => e instanceof CredentialFormatError && pattern.test(e.message),
      );
    });
});
