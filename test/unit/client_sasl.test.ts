// The client's SASL pieces without a broker: SCRAM-SHA-256 against RFC 7677's test vector
// (user "user", password "pencil", client nonce "rOprNGfwEbeRWgbNEkqO") through both crypto
// implementations (node:crypto, and Web Crypto as a browser has it: Node 20's
// globalThis.crypto.subtle), a forged server signature refused, SCRAM-SHA-512 against the
// broker's own server side (src/broker/security/scram.ts), RFC 7628's OAUTHBEARER initial client
// response, base64, and the two crypto implementations agreeing byte for byte.

import assert from "node:assert/strict";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { describe, it } from "node:test";
import { ScramServerExchange, scramCredential } from "../../src/broker/security/scram.ts";
import { nodeCrypto } from "../../src/client/node_crypto.ts";
import { oauthBearerInitialResponse, plainMessage } from "../../src/client/sasl.ts";
import { ScramClient, ScramError } from "../../src/client/scram.ts";
import { base64Decode, base64Encode, type SaslCrypto, webCrypto } from "../../src/client/web_crypto.ts";

const RFC7677 = {
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const web = webCrypto();
const implementations: [string, SaslCrypto][] = [
  ["node:crypto", nodeCrypto],
  ["Web Crypto", web!],
];

describe("client SASL", () => {
  it("Node 20 has Web Crypto, so the browser path is tested here", () => {
    assert.ok(web !== null);
  });

  for (const [name, crypto] of implementations) {
    it(`SCRAM-SHA-256: RFC 7677's exchange (${name})`, async () => {
      const c = new ScramClient(crypto, "SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
      assert.equal(dec(c.first()), RFC7677.clientFirst);
      assert.equal(dec(await c.final(enc(RFC7677.serverFirst))), RFC7677.clientFinal);
      c.verify(enc(RFC7677.serverFinal));
    });

    it(`SCRAM: a wrong server signature, a foreign nonce, few iterations, a server error are refused (${name})`, async () => {
      const c = new ScramClient(crypto, "SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
      await c.final(enc(RFC7677.serverFirst));
      const forged = `v=${base64Encode(new Uint8Array(32).fill(7))}`;
      assert.throws(() => c.verify(enc(forged)), ScramError);
      assert.throws(() => c.verify(enc("e=invalid-proof")), /invalid-proof/);
      const other = new ScramClient(crypto, "SCRAM-SHA-256", "user", "pencil", "someoneElse");
      await assert.rejects(other.final(enc(RFC7677.serverFirst)), /nonce/);
      const few = new ScramClient(crypto, "SCRAM-SHA-256", "user", "pencil", "rOprNGfwEbeRWgbNEkqO");
      await assert.rejects(few.final(enc(RFC7677.serverFirst.replace("i=4096", "i=1000"))), /iterations/);
    });

    it(`SCRAM-SHA-512 against the broker's server exchange, both directions checked (${name})`, async () => {
      const cred = scramCredential("SCRAM-SHA-512", "s3cr=t,pw", 4096);
      const server = new ScramServerExchange("SCRAM-SHA-512", (u) => (u === "a=b,c" ? cred : undefined), {
        fakeCredentialSecret: Buffer.alloc(32, 1),
      });
      const c = new ScramClient(crypto, "SCRAM-SHA-512", "a=b,c", "s3cr=t,pw");
      assert.match(dec(c.first()), /^n,,n=a=3Db=2Cc,r=/);
      const serverFirst = server.first(Buffer.from(c.first()));
      const serverFinal = server.final(Buffer.from(await c.final(serverFirst)));
      assert.equal(server.principal, "a=b,c");
      c.verify(serverFinal);
      const wrong = new ScramServerExchange("SCRAM-SHA-512", () => cred, {
        fakeCredentialSecret: Buffer.alloc(32, 1),
      });
      const w = new ScramClient(crypto, "SCRAM-SHA-512", "a=b,c", "not the password");
      const proof = await w.final(wrong.first(Buffer.from(w.first())));
      assert.throws(() => wrong.final(Buffer.from(proof)), /authentication/i);
    });
  }

  it("Web Crypto and node:crypto agree (PBKDF2, HMAC, digests; SHA-256 and SHA-512)", async () => {
    const pw = enc("pencil");
    const salt = base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==");
    for (const [hash, node] of [
      ["SHA-256", "sha256"],
      ["SHA-512", "sha512"],
    ] as const) {
      const len = hash === "SHA-256" ? 32 : 64;
      const expected = pbkdf2Sync(pw, salt, 4096, len, node);
      assert.deepEqual(Buffer.from(await web!.pbkdf2(hash, pw, salt, 4096, len)), expected);
      assert.deepEqual(Buffer.from(await nodeCrypto.pbkdf2(hash, pw, salt, 4096, len)), expected);
      const mac = createHmac(node, expected).update("Client Key").digest();
      assert.deepEqual(Buffer.from(await web!.hmac(hash, expected, enc("Client Key"))), mac);
      assert.deepEqual(Buffer.from(await web!.digest(hash, mac)), createHash(node).update(mac).digest());
    }
    assert.equal(web!.randomBytes(24).length, 24);
  });

  it("base64 round-trips every length and refuses malformed text", () => {
    for (let n = 0; n < 70; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      const s = base64Encode(b);
      assert.equal(s, Buffer.from(b).toString("base64"));
      assert.deepEqual(base64Decode(s), b);
    }
    for (const bad of ["abc", "ab=c", "a b=", "@@@@"]) assert.throws(() => base64Decode(bad));
  });

  it("OAUTHBEARER: RFC 7628's initial client response, with KIP-342 extensions", () => {
    assert.equal(
      dec(oauthBearerInitialResponse({ value: "abc.def.ghi" })),
      "n,,\x01auth=Bearer abc.def.ghi\x01\x01",
    );
    assert.equal(
      dec(oauthBearerInitialResponse({ value: "t", extensions: { traceId: "123" } })),
      "n,,\x01auth=Bearer t\x01traceId=123\x01\x01",
    );
    assert.throws(() => oauthBearerInitialResponse({ value: "" }), /no token/);
    assert.throws(() => oauthBearerInitialResponse({ value: "a b" }), /characters/);
    assert.throws(() => oauthBearerInitialResponse({ value: "t", extensions: { auth: "x" } }), /extension/);
    assert.equal(dec(plainMessage("alice", "pw")), "\u0000alice\u0000pw");
  });
});
