// SASL OAUTHBEARER's pieces without a broker: the RFC 7628 client message, JWKS parsing and the
// key source (a file, an http server of this test, its bounds, a failed refresh), JWT
// validation with tokens signed here with node:crypto (RSA and EC P-256 keys, every algorithm),
// each refusal with its reason, and the server exchange (Kafka's error challenge after v0).

import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import * as fs from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import {
  JwksError,
  JwksSource,
  parseJwks,
  readJwksUrl,
  type VerificationKey,
} from "../../src/broker/security/jwks.ts";
import {
  INVALID_TOKEN_STATUS,
  InvalidTokenError,
  type JwtValidationOptions,
  jwksTokenValidator,
  MAX_TOKEN_CHARS,
  OAuthBearerServerExchange,
  oauthBearerClientResponse,
  parseOAuthBearerClientResponse,
  SaslAuthenticationError,
  UnknownKeyIdError,
  validateJwt,
} from "../../src/broker/security/oauthbearer.ts";

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsa2 = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ec384 = generateKeyPairSync("ec", { namedCurve: "P-384" });

const jwk = (key: KeyObject, kid: string, extra: Record<string, unknown> = {}) => ({
  ...key.export({ format: "jwk" }),
  kid,
  use: "sig",
  ...extra,
});
const JWKS = JSON.stringify({
  keys: [jwk(rsa.publicKey, "rsa-1"), jwk(ec.publicKey, "ec-1"), jwk(ec384.publicKey, "ec384-1")],
});
const KEYS = parseJwks(JWKS).keys;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** A compact JWS signed with node:crypto, as a user's backend would mint one. */
function mint(
  claims: Record<string, unknown>,
  opts: { alg?: string; kid?: string | null; key?: KeyObject; header?: Record<string, unknown> } = {},
): string {
  const alg = opts.alg ?? "RS256";
  const header: Record<string, unknown> = { alg, typ: "JWT", ...opts.header };
  if (opts.kid !== null) header.kid = opts.kid ?? (alg.startsWith("ES") ? "ec-1" : "rsa-1");
  const input = `${b64(header)}.${b64(claims)}`;
  const hash = `sha${alg.slice(2)}`;
  let sig: Buffer;
  if (alg === "none") sig = Buffer.alloc(0);
  else if (alg.startsWith("HS")) sig = createHmac(hash, "shared-secret").update(input).digest();
  else if (alg.startsWith("ES"))
    sig = sign(hash, Buffer.from(input), {
      key: opts.key ?? (alg === "ES384" ? ec384.privateKey : ec.privateKey),
      dsaEncoding: "ieee-p1363",
    });
  else if (alg.startsWith("PS"))
    sig = sign(hash, Buffer.from(input), { key: opts.key ?? rsa.privateKey, padding: 6, saltLength: -1 });
  else sig = sign(hash, Buffer.from(input), opts.key ?? rsa.privateKey);
  return `${input}.${sig.toString("base64url")}`;
}

const good = (extra: Record<string, unknown> = {}) => ({
  sub: "alice",
  iat: now(),
  exp: now() + 300,
  aud: "milena",
  iss: "https://backend.example",
  scope: "produce consume",
  ...extra,
});

const OPTIONS: JwtValidationOptions = {
  expectedAudience: ["milena"],
  expectedIssuer: "https://backend.example",
  subClaimName: "sub",
  scopeClaimName: "scope",
  clockSkewSeconds: 30,
};

function refused(token: string, reason: RegExp, keys: readonly VerificationKey[] = KEYS, o = OPTIONS) {
  assert.throws(
    () => validateJwt(token, keys, o),
    (e: Error) => e instanceof InvalidTokenError && reason.test(e.message),
  );
}

describe("OAUTHBEARER: the client's message (RFC 7628)", () => {
  it("parses kafkajs's / Kafka's message, with and without extensions", () => {
    const m = parseOAuthBearerClientResponse(Buffer.from("n,,\x01auth=Bearer abc.def.ghi\x01\x01"));
    assert.deepEqual(m, { authzid: "", token: "abc.def.ghi", extensions: new Map() });
    const e = parseOAuthBearerClientResponse(
      oauthBearerClientResponse("a-b_c.d.e", { traceId: "42 x", logicalCluster: "lkc-1" }, "al=3Dice"),
    );
    assert.equal(e.token, "a-b_c.d.e");
    assert.equal(e.authzid, "al=ice");
    assert.deepEqual(
      [...e.extensions],
      [
        ["traceId", "42 x"],
        ["logicalCluster", "lkc-1"],
      ],
    );
    assert.equal(parseOAuthBearerClientResponse(Buffer.from("n,,\x01auth=bEaReR t\x01\x01")).token, "t");
  });

  it("refuses malformed messages with Kafka's generic text and a reason", () => {
    const bad: [string, RegExp][] = [
      ["", /gs2/],
      ["y,,\x01auth=Bearer t\x01\x01", /gs2/],
      ["n,,auth=Bearer t\x01\x01", /key=value/],
      ["n,,\x01auth=Bearer t\x01", /key=value/],
      ["n,,\x01\x01", /'auth' not specified/],
      ["n,,\x01k=v\x01\x01", /'auth' not specified/],
      ["n,,\x01auth=Basic dXNlcg\x01\x01", /scheme Basic/],
      ["n,,\x01auth=Bearer\x01\x01", /'auth' format/],
      ["n,,\x01auth=Bearer a b\x01\x01", /'auth' format/],
      ["n,,\x01auth=Bearer t+/=\x01\x01", /'auth' format/],
      ["n,,\x01auth=Bearer t\x01k1=v\x01\x01", /key=value/],
      ["n,,\x01auth=Bearer t\x01k=\x01\x01", /key=value/],
      ["n,,\x01auth=Bearer t\x01k=v\x01k=w\x01\x01", /k given twice/],
      ["n,,\x01auth=Bearer t\x01auth=Bearer u\x01\x01", /auth given twice/],
      ["n,b=x,\x01auth=Bearer t\x01\x01", /authzid/],
      ["n,a=x=41,\x01auth=Bearer t\x01\x01", /authzid/],
      ["n,,\x01auth=Bearer t\x01k=\u00e9\x01\x01", /ASCII/],
      ["n,,\x01auth=Bearer t\x00\x01\x01", /NUL/],
    ];
    for (const [text, reason] of bad)
      assert.throws(
        () => parseOAuthBearerClientResponse(Buffer.from(text, "utf8")),
        (e: SaslAuthenticationError) =>
          e instanceof SaslAuthenticationError &&
          e.errorCode === 58 &&
          /invalid credentials with SASL mechanism OAUTHBEARER/.test(e.message) &&
          reason.test(e.reason),
        JSON.stringify(text),
      );
  });
});

describe("OAUTHBEARER: JWKS", () => {
  it("keeps RSA and EC signature keys, skips others with a note", () => {
    const { keys, skipped } = parseJwks(
      JSON.stringify({
        keys: [
          jwk(rsa.publicKey, "r", { alg: "RS256" }),
          jwk(ec.publicKey, "e"),
          { kty: "oct", kid: "h", k: "c2VjcmV0" },
          jwk(rsa2.publicKey, "enc", { use: "enc" }),
          { ...jwk(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey, "small") },
          { kty: "RSA", kid: "broken", n: "AA", e: "AQAB" },
          jwk(rsa2.publicKey, "r"),
          // A private JWK: only its public part is used.
          { ...rsa2.privateKey.export({ format: "jwk" }), kid: "priv" },
        ],
      }),
    );
    assert.deepEqual(
      keys.map((k) => [k.kid, k.kty, k.crv, k.alg]),
      [
        ["r", "RSA", null, "RS256"],
        ["e", "EC", "P-256", null],
        ["priv", "RSA", null, null],
      ],
    );
    assert.equal(keys[2].key.type, "public");
    assert.equal(skipped.length, 5);
    assert.match(skipped.join("\n"), /kty "oct"/);
    assert.match(skipped.join("\n"), /use "enc"/);
    assert.match(skipped.join("\n"), /1024 bits/);
    assert.match(skipped.join("\n"), /kid "broken".*(does not parse|bits)/);
    assert.match(skipped.join("\n"), /already used/);
  });

  it("refuses what is not a JWKS, or has no usable key; accepts one PEM public key", () => {
    assert.throws(() => parseJwks("nope"), JwksError);
    assert.throws(() => parseJwks('{"kty":"RSA"}'), /no "keys" array/);
    assert.throws(() => parseJwks('{"keys":[{"kty":"oct","k":"AA"}]}'), /no usable signature key/);
    const pem = parseJwks(ec.publicKey.export({ format: "pem", type: "spki" }) as string);
    assert.deepEqual(
      pem.keys.map((k) => [k.kid, k.kty, k.crv]),
      [[null, "EC", "P-256"]],
    );
    const token = mint(good(), { alg: "ES256", kid: null });
    assert.equal(validateJwt(token, pem.keys, OPTIONS).principalName, "alice");
  });

  it("reads a file: URL and an http: URL, bounded in size; a failed refresh keeps the keys", async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), "milena-jwks-"));
    const file = join(dir, "jwks.json");
    fs.writeFileSync(file, JWKS);
    let body = JWKS;
    const server: Server = createServer((_req, res) => {
      if (body === "500") {
        res.statusCode = 500;
        res.end();
      } else res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    try {
      assert.equal(await readJwksUrl(pathToFileURL(file).href), JWKS);
      assert.equal(await readJwksUrl(url), JWKS);
      body = "x".repeat(1024 * 1024 + 1);
      await assert.rejects(readJwksUrl(url), /bytes/);
      await assert.rejects(readJwksUrl("ftp://x/y"), /ftp: URLs are not read/);

      body = JWKS;
      const log: string[] = [];
      const src = new JwksSource({ url, refreshMs: 3_600_000, log: (l) => log.push(l) });
      await src.load();
      assert.equal(src.current().length, 3);
      body = "500";
      await src.refresh();
      assert.equal(src.current().length, 3, "the last good keys are kept");
      assert.match(log.join("\n"), /HTTP 500.*keeping the 3 key/);
      body = JSON.stringify({ keys: [jwk(rsa2.publicKey, "rsa-2")] });
      await src.refresh();
      assert.deepEqual(
        src.current().map((k) => k.kid),
        ["rsa-2"],
      );
      src.close();

      body = "500";
      await assert.rejects(new JwksSource({ url, refreshMs: 1000, log: () => {} }).load(), /HTTP 500/);
    } finally {
      server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unknown kid reads the set again, at most once per interval", async () => {
    const dir = fs.mkdtempSync(join(tmpdir(), "milena-jwks-"));
    const file = join(dir, "jwks.json");
    fs.writeFileSync(file, JSON.stringify({ keys: [jwk(rsa.publicKey, "rsa-1")] }));
    let t = 1_000_000;
    const src = new JwksSource({
      url: pathToFileURL(file).href,
      refreshMs: 3_600_000,
      log: () => {},
      now: () => t,
      unknownKidRefreshIntervalMs: 10_000,
    });
    try {
      await src.load();
      const validate = jwksTokenValidator(src, OPTIONS);
      const rotated = mint(good(), { kid: "rsa-2", key: rsa2.privateKey });
      // The key is published after the broker read the set: the unknown kid makes it read again.
      fs.writeFileSync(
        file,
        JSON.stringify({ keys: [jwk(rsa.publicKey, "rsa-1"), jwk(rsa2.publicKey, "rsa-2")] }),
      );
      assert.equal((await validate(rotated)).principalName, "alice");
      // A made-up kid right after: no second read within the interval.
      fs.writeFileSync(
        file,
        JSON.stringify({ keys: [jwk(rsa.publicKey, "rsa-1"), jwk(rsa2.publicKey, "x")] }),
      );
      await assert.rejects(validate(mint(good(), { kid: "x", key: rsa2.privateKey })), UnknownKeyIdError);
      t += 10_001;
      assert.equal((await validate(mint(good(), { kid: "x", key: rsa2.privateKey }))).principalName, "alice");
    } finally {
      src.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("OAUTHBEARER: token validation", () => {
  it("accepts RS, PS and ES tokens with the right principal, expiry and scopes", () => {
    for (const alg of ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]) {
      const claims = good();
      const t = validateJwt(
        mint(claims, { alg, kid: alg === "ES384" ? "ec384-1" : undefined }),
        KEYS,
        OPTIONS,
      );
      assert.equal(t.principalName, "alice", alg);
      assert.equal(t.expiresAtMs, claims.exp * 1000);
      assert.deepEqual(t.scopes, ["produce", "consume"]);
    }
    // aud as a list, another sub claim name, scope as a list.
    const t = validateJwt(
      mint({ ...good({ aud: ["other", "milena"], scp: ["a", "b"] }), sub: undefined, uid: " bob " }),
      KEYS,
      { ...OPTIONS, subClaimName: "uid", scopeClaimName: "scp" },
    );
    assert.equal(t.principalName, "bob");
    assert.deepEqual(t.scopes, ["a", "b"]);
    // Neither audience nor issuer checked when not configured.
    assert.equal(
      validateJwt(mint(good({ aud: "x", iss: "y" })), KEYS, {
        ...OPTIONS,
        expectedAudience: [],
        expectedIssuer: null,
      }).principalName,
      "alice",
    );
  });

  it("refuses each bad token with its reason", () => {
    refused(mint(good({ exp: now() - 60 })), /expired/);
    // Within the clock skew: accepted; just past it: refused.
    assert.ok(validateJwt(mint(good({ exp: now() - 10 })), KEYS, OPTIONS));
    refused(mint(good({ exp: now() - 10 })), /expired/, KEYS, { ...OPTIONS, clockSkewSeconds: 0 });
    refused(mint(good({ nbf: now() + 120 })), /not valid before/);
    refused(mint(good({ iat: now() + 120 })), /issued in the future/);
    refused(mint(good({ exp: undefined })), /no exp/);
    refused(mint(good({ exp: "tomorrow" })), /exp is not a number/);
    refused(mint(good({ iat: undefined })), /no iat/);
    refused(mint(good({ aud: "someone-else" })), /audience "someone-else" is not expected/);
    refused(mint(good({ aud: undefined })), /audience null/);
    refused(mint(good({ iss: "https://evil.example" })), /issuer .* is not expected/);
    refused(mint(good({ sub: undefined })), /no non-empty sub/);
    refused(mint(good({ sub: "  " })), /no non-empty sub/);
    refused(mint(good({ sub: 42 })), /no non-empty sub/);
    refused(mint(good({ scope: ["a", ""] })), /empty or non-string scope/);
    // Another key with a kid of the set, and a kid the set does not have.
    refused(mint(good(), { key: rsa2.privateKey }), /signature does not verify/);
    refused(mint(good(), { kid: "rsa-9", key: rsa2.privateKey }), /no key with kid "rsa-9"/);
    assert.throws(() => validateJwt(mint(good(), { kid: "rsa-9" }), KEYS, OPTIONS), UnknownKeyIdError);
    // No kid and several keys; an algorithm that does not suit the key.
    refused(mint(good(), { kid: null }), /names no kid and the key set has 3 keys/);
    refused(mint(good(), { alg: "ES256", kid: "rsa-1" }), /ES256 does not suit the RSA key/);
    refused(mint(good(), { alg: "ES384", kid: "ec-1", key: ec384.privateKey }), /does not suit the EC P-256/);
    refused(mint(good(), { alg: "RS256", kid: "ec-1" }), /RS256 does not suit the EC/);
    const rsOnly = parseJwks(JSON.stringify({ keys: [jwk(rsa.publicKey, "rsa-1", { alg: "RS256" })] })).keys;
    refused(mint(good(), { alg: "PS256" }), /the key is for RS256, not PS256/, rsOnly);
    // Unsigned and shared-secret tokens.
    refused(mint(good(), { alg: "none" }), /alg "none"/);
    refused(mint(good(), { alg: "HS256" }), /alg "HS256" is not accepted/);
    refused(`${b64({ typ: "JWT" })}.${b64(good())}.`, /no alg/);
    refused(mint(good(), { header: { crit: ["b64"], b64: false } }), /crit/);
    // A payload changed after signing.
    const [h, , s] = mint(good()).split(".");
    refused(`${h}.${b64(good({ sub: "admin" }))}.${s}`, /signature does not verify/);
    // An ES signature in DER (not JWS's r||s).
    const der = sign("sha256", Buffer.from(`${h}.x`), ec.privateKey).toString("base64url");
    refused(`${b64({ alg: "ES256", kid: "ec-1" })}.${b64(good())}.${der}`, /signature of \d+ bytes, not 64/);
    // Structure.
    refused("a.b", /2 parts/);
    refused("a.b.c.d", /4 parts/);
    refused(`${h}.!!.${s}`, /payload is not base64url/);
    refused(`${Buffer.from("[1]").toString("base64url")}.${b64(good())}.${s}`, /header is not a JSON object/);
    refused(`${Buffer.from("{").toString("base64url")}.${b64(good())}.${s}`, /header is not JSON/);
    refused(mint(good({ pad: "x".repeat(MAX_TOKEN_CHARS) })), /characters \(at most 16384\)/);
  });
});

describe("OAUTHBEARER: the server exchange", () => {
  const validate = jwksTokenValidator(
    { current: () => KEYS, refreshForUnknownKid: async () => false },
    OPTIONS,
  );

  it("a valid token: empty reply, the token's principal and expiry", async () => {
    const claims = good();
    const x = new OAuthBearerServerExchange(validate, { challengeOnInvalidToken: false });
    const reply = await x.evaluate(oauthBearerClientResponse(mint(claims), { traceId: "1" }));
    assert.equal(reply.length, 0);
    assert.ok(x.complete);
    assert.equal(x.result.principalName, "alice");
    assert.equal(x.result.expiresAtMs, claims.exp * 1000);
  });

  it("an invalid token fails at once with Kafka's status text (SaslAuthenticate)", async () => {
    const x = new OAuthBearerServerExchange(validate, { challengeOnInvalidToken: false });
    await assert.rejects(
      x.evaluate(oauthBearerClientResponse(mint(good({ exp: now() - 600 })))),
      (e: SaslAuthenticationError) =>
        e.message === INVALID_TOKEN_STATUS && e.errorCode === 58 && /invalid token: expired/.test(e.reason),
    );
    assert.equal(x.complete, false);
  });

  it("after SaslHandshake v0: the error challenge, then the client's \\x01 fails", async () => {
    const x = new OAuthBearerServerExchange(validate, { challengeOnInvalidToken: true });
    const challenge = await x.evaluate(oauthBearerClientResponse(mint(good(), { alg: "none" })));
    assert.equal(Buffer.from(challenge).toString(), '{"status":"invalid_token"}');
    assert.equal(x.complete, false);
    await assert.rejects(
      x.evaluate(Buffer.from([1])),
      (e: SaslAuthenticationError) => e.message === INVALID_TOKEN_STATUS && /alg "none"/.test(e.reason),
    );
  });

  it("an authzid other than the token's sub is refused with Kafka's text", async () => {
    const x = new OAuthBearerServerExchange(validate, { challengeOnInvalidToken: false });
    await assert.rejects(
      x.evaluate(oauthBearerClientResponse(mint(good()), {}, "admin")),
      /authorization id \(admin\) that is different from the token's principal name \(alice\)/,
    );
    const same = new OAuthBearerServerExchange(validate, { challengeOnInvalidToken: false });
    await same.evaluate(oauthBearerClientResponse(mint(good()), {}, "alice"));
    assert.ok(same.complete);
  });

  it("a malformed message fails with the generic text", async () => {
    const x = new OAuthBearerServerExchange(validate, { challengeOnInvalidToken: true });
    await assert.rejects(
      x.evaluate(Buffer.from("n,,auth=Bearer x")),
      /invalid credentials with SASL mechanism OAUTHBEARER/,
    );
  });
});
