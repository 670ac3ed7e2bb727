// SASL OAUTHBEARER (RFC 7628), the broker's side, as Kafka's OAuthBearerSaslServer with its
// OAuthBearerValidatorCallbackHandler (KIP-768): the client's one message carries a JWT (a signed
// JWS, RFC 7515 / 7519) that an identity provider, or the user's own backend, issued; the
// broker checks its signature with a configured key set (jwks.ts) and its claims, and the
// principal is User:<sub>. Verification uses node:crypto only.
//
// What is checked, in order (each failure is an InvalidTokenError whose reason goes to the log):
//   - the token is at most MAX_TOKEN_CHARS, three base64url parts (compact JWS), a JSON header
//     and payload (objects);
//   - header.alg is RS256/384/512, PS256/384/512 or ES256/384/512: "none" and HS* (a shared
//     secret the broker would have to hold) are refused; a "crit" header is refused (no
//     extension is understood); "jku", "x5u", "jwk" headers are ignored (keys come only from the
//     configured set);
//   - the key: the one whose kid is header.kid (an unknown kid reads the set again, rate-limited),
//     or, without a kid in the header, the only key of the set; it must suit the algorithm (RSA
//     for RS/PS, EC on the algorithm's curve for ES, the JWK's own alg if it names one);
//   - the signature (ES: raw r||s as JWS has it, dsaEncoding "ieee-p1363"; PS: salt of the hash's
//     length);
//   - exp present and now < exp + skew; iat present (Kafka's BrokerJwtValidator requires it) and
//     not after now + skew; nbf, when present, not after now + skew;
//   - aud (a string or a list) includes one of sasl.oauthbearer.expected.audience when that is
//     set; iss is sasl.oauthbearer.expected.issuer when that is set;
//   - the sub claim (sasl.oauthbearer.sub.claim.name) a non-empty string (trimmed, as Kafka);
//   - the scope claim (sasl.oauthbearer.scope.claim.name), when present, a string (space
//     separated, RFC 6749) or a list of strings; it is kept, not enforced (ACLs decide).
//
// The answer to an invalid token is Kafka's: the text {"status":"invalid_token"}, the reason
// stays in the broker's log. Kafka sends it as a challenge (a successful SaslAuthenticate
// carrying those bytes), waits for the client's "\x01" and fails that with the same text.
// kafkajs ignores a challenge after its one message and takes the authentication as done, so
// on SaslAuthenticate Milena fails at once: SASL_AUTHENTICATION_FAILED with that text, which is
// where Kafka's Java client and librdkafka end up after the extra round trip. After SaslHandshake
// v0 (raw tokens, no error code to carry it) the exchange is Kafka's: the challenge, then the
// connection closes on the client's "\x01".

import { constants, type KeyObject, verify } from "node:crypto";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { AUTHZID_MISMATCH_MESSAGE, invalidCredentialsMessage, SaslAuthenticationError } from "./errors.ts";
import type { JwkCurve, VerificationKey } from "./jwks.ts";
import { usernameFromSaslName } from "./scram.ts";

export { SaslAuthenticationError } from "./errors.ts";

/** A token is refused above this many characters (identity providers' tokens are 1-4 KiB). */
export const MAX_TOKEN_CHARS = 16 * 1024;

/** Kafka's answer to a token that does not validate (OAuthBearerValidatorCallbackHandler). */
export const INVALID_TOKEN_STATUS = '{"status":"invalid_token"}';

export class InvalidTokenError extends Error {
  override name = "InvalidTokenError";
}

/** The key set named a kid the token header does not find: worth reading the set again. */
export class UnknownKeyIdError extends InvalidTokenError {
  override name = "UnknownKeyIdError";
}

// ---- the client's message (RFC 7628 section 3.1, Kafka's OAuthBearerClientInitialResponse) ----

export interface OAuthBearerClientResponse {
  /** The authzid of the gs2 header, un-escaped; "" when none. */
  authzid: string;
  token: string;
  /** The key=value pairs other than auth (SASL extensions): accepted and ignored, as Kafka. */
  extensions: Map<string, string>;
}

/** saslname of RFC 5801 (the message is checked to be ASCII without NUL first). */
const SASLNAME = /^(?:[^=,]|=2C|=3D)+$/;
const KEY = /^[A-Za-z]+$/;
const VALUE = /^[\x21-\x7e \t\r\n]+$/;
const AUTH = /^(\w+) +([-_.a-zA-Z0-9]+)$/;

/**
 * Parse the client's initial response; SaslAuthenticationError (Kafka's generic message) when
 * malformed:
 *
 *   gs2 header          kvsep  key=value kvsep ...                                 kvsep
 *   n,[a=<saslname>],   \x01   auth=Bearer <token>\x01[<key>=<value>\x01]...      \x01
 *
 * e.g. "n,,\x01auth=Bearer eyJhbGciOi...\x01traceId=42\x01\x01". key is letters, value printable
 * ASCII (and space, tab, CR, LF); "auth" is required, its scheme "Bearer" (any case) and its token
 * base64url characters and dots. A key given twice is refused (Kafka keeps the last).
 */
export function parseOAuthBearerClientResponse(message: Uint8Array): OAuthBearerClientResponse {
  const refuse = (reason: string) =>
    new SaslAuthenticationError(invalidCredentialsMessage("OAUTHBEARER"), {
      reason: `Invalid OAUTHBEARER client first message: ${reason}`,
    });
  for (const b of message) if (b === 0 || b > 0x7f) throw refuse("not ASCII, or has a NUL");
  const text = Buffer.from(message).toString("latin1");
  if (!text.startsWith("n,")) throw refuse('no gs2 header ("n,")');
  const comma = text.indexOf(",", 2);
  if (comma < 0) throw refuse("gs2 header not closed");
  const a = text.slice(2, comma);
  let authzid = "";
  if (a !== "") {
    const name =
      a.startsWith("a=") && SASLNAME.test(a.slice(2)) ? usernameFromSaslName(a.slice(2)) : undefined;
    if (!name) throw refuse("malformed authzid");
    authzid = name;
  }
  const body = text.slice(comma + 1);
  if (body.length < 2 || body[0] !== "\x01" || !body.endsWith("\x01\x01"))
    throw refuse("not \\x01-separated key=value pairs ending with \\x01\\x01");
  const pairs = new Map<string, string>();
  const inner = body.slice(1, -2);
  for (const pair of inner === "" ? [] : inner.split("\x01")) {
    const eq = pair.indexOf("=");
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    if (!KEY.test(key) || !VALUE.test(value)) throw refuse("malformed key=value pair");
    if (pairs.has(key)) throw refuse(`${key} given twice`);
    pairs.set(key, value);
  }
  const auth = pairs.get("auth");
  if (auth === undefined) throw refuse("'auth' not specified");
  pairs.delete("auth");
  const m = AUTH.exec(auth);
  if (!m) throw refuse("invalid 'auth' format");
  if (m[1].toLowerCase() !== "bearer") throw refuse(`scheme ${m[1].slice(0, 20)} is not Bearer`);
  return { authzid, token: m[2], extensions: pairs };
}

/** The client's message for a token (what kafkajs and Kafka's client send). For tests and tools. */
export function oauthBearerClientResponse(
  token: string,
  extensions: Record<string, string> = {},
  authzid = "",
): Buffer {
  const ext = Object.entries(extensions).map(([k, v]) => `\x01${k}=${v}`);
  return Buffer.from(
    `n,${authzid === "" ? "" : `a=${authzid}`},\x01auth=Bearer ${token}${ext.join("")}\x01\x01`,
  );
}

// ---- the token ----

export interface JwtValidationOptions {
  /** sasl.oauthbearer.expected.audience: the token's aud must include one of them; [] = not checked. */
  expectedAudience: readonly string[];
  /** sasl.oauthbearer.expected.issuer: null = not checked. */
  expectedIssuer: string | null;
  subClaimName: string;
  scopeClaimName: string;
  clockSkewSeconds: number;
  /** For tests. */
  nowMs?: number;
}

export interface ValidatedToken {
  /** The sub claim: the principal is User:<it>. */
  principalName: string;
  /** exp, milliseconds since the epoch. */
  expiresAtMs: number;
  issuedAtMs: number;
  scopes: string[];
}

interface Algorithm {
  hash: "sha256" | "sha384" | "sha512";
  kty: "RSA" | "EC";
  pss?: true;
  crv?: JwkCurve;
  /** ES: bytes of r||s. */
  signatureBytes?: number;
}

const ALGORITHMS: Record<string, Algorithm> = {
  RS256: { hash: "sha256", kty: "RSA" },
  RS384: { hash: "sha384", kty: "RSA" },
  RS512: { hash: "sha512", kty: "RSA" },
  PS256: { hash: "sha256", kty: "RSA", pss: true },
  PS384: { hash: "sha384", kty: "RSA", pss: true },
  PS512: { hash: "sha512", kty: "RSA", pss: true },
  ES256: { hash: "sha256", kty: "EC", crv: "P-256", signatureBytes: 64 },
  ES384: { hash: "sha384", kty: "EC", crv: "P-384", signatureBytes: 96 },
  ES512: { hash: "sha512", kty: "EC", crv: "P-521", signatureBytes: 132 },
};

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function base64url(part: string, what: string): Buffer {
  if (!BASE64URL.test(part) || part.length % 4 === 1) throw new InvalidTokenError(`${what} is not base64url`);
  return Buffer.from(part, "base64url");
}

function jsonObject(part: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64url(part, what)));
  } catch (e) {
    if (e instanceof InvalidTokenError) throw e;
    throw new InvalidTokenError(`${what} is not JSON`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new InvalidTokenError(`${what} is not a JSON object`);
  return v as Record<string, unknown>;
}

/** A NumericDate claim in milliseconds; undefined when absent. */
function numericDate(claims: Record<string, unknown>, name: string): number | undefined {
  const v = claims[name];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new InvalidTokenError(`${name} is not a number`);
  return v * 1000;
}

function chooseKey(
  header: Record<string, unknown>,
  alg: string,
  a: Algorithm,
  keys: readonly VerificationKey[],
): KeyObject {
  const kid = header.kid;
  if (kid !== undefined && typeof kid !== "string") throw new InvalidTokenError("kid is not a string");
  let key: VerificationKey | undefined;
  if (kid !== undefined) {
    key = keys.find((k) => k.kid === kid);
    if (key === undefined) throw new UnknownKeyIdError(`no key with kid ${JSON.stringify(kid.slice(0, 60))}`);
  } else {
    if (keys.length !== 1)
      throw new InvalidTokenError(`the token names no kid and the key set has ${keys.length} keys`);
    key = keys[0];
  }
  if (key.kty !== a.kty || (a.crv !== undefined && key.crv !== a.crv))
    throw new InvalidTokenError(`${alg} does not suit the ${key.kty}${key.crv ? ` ${key.crv}` : ""} key`);
  if (key.alg !== null && key.alg !== alg)
    throw new InvalidTokenError(`the key is for ${key.alg}, not ${alg}`);
  return key.key;
}

/**
 * Validate a compact JWS (see the list at the top): the principal name, expiry and scopes, or
 * InvalidTokenError (UnknownKeyIdError for a kid the keys lack) with the reason.
 *
 *   base64url(header) "." base64url(payload) "." base64url(signature)
 *   |<------ signed (ASCII) ------->|
 */
export function validateJwt(
  token: string,
  keys: readonly VerificationKey[],
  options: JwtValidationOptions,
): ValidatedToken {
  if (token.length > MAX_TOKEN_CHARS)
    throw new InvalidTokenError(`token of ${token.length} characters (at most ${MAX_TOKEN_CHARS})`);
  const parts = token.split(".");
  if (parts.length !== 3) throw new InvalidTokenError(`${parts.length} parts, not a compact JWS (3)`);
  const header = jsonObject(parts[0], "header");
  const alg = header.alg;
  if (typeof alg !== "string") throw new InvalidTokenError("header has no alg");
  const a = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
  if (a === undefined)
    throw new InvalidTokenError(
      alg.toLowerCase() === "none"
        ? 'alg "none": an unsigned token'
        : `alg ${JSON.stringify(alg.slice(0, 20))} is not accepted (RS/PS/ES 256/384/512)`,
    );
  if (header.crit !== undefined) throw new InvalidTokenError("header has crit (no extension is understood)");
  const payload = jsonObject(parts[1], "payload");
  const key = chooseKey(header, alg, a, keys);
  const signature = base64url(parts[2], "signature");
  if (a.signatureBytes !== undefined && signature.length !== a.signatureBytes)
    throw new InvalidTokenError(`${alg} signature of ${signature.length} bytes, not ${a.signatureBytes}`);
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`, "latin1");
  const ok = verify(
    a.hash,
    signed,
    a.kty === "EC"
      ? { key, dsaEncoding: "ieee-p1363" }
      : a.pss
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
        : { key, padding: constants.RSA_PKCS1_PADDING },
    signature,
  );
  if (!ok) throw new InvalidTokenError("the signature does not verify");

  const now = options.nowMs ?? Date.now();
  const skew = options.clockSkewSeconds * 1000;
  const exp = numericDate(payload, "exp");
  if (exp === undefined) throw new InvalidTokenError("no exp claim");
  if (now >= exp + skew) throw new InvalidTokenError(`expired at ${new Date(exp).toISOString()}`);
  const iat = numericDate(payload, "iat");
  if (iat === undefined) throw new InvalidTokenError("no iat claim");
  if (iat > now + skew) throw new InvalidTokenError(`issued in the future (${new Date(iat).toISOString()})`);
  const nbf = numericDate(payload, "nbf");
  if (nbf !== undefined && nbf > now + skew)
    throw new InvalidTokenError(`not valid before ${new Date(nbf).toISOString()}`);
  if (options.expectedAudience.length > 0) {
    const aud = payload.aud;
    const list = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
    if (!list.some((x) => typeof x === "string" && options.expectedAudience.includes(x)))
      throw new InvalidTokenError(`audience ${JSON.stringify(aud ?? null).slice(0, 100)} is not expected`);
  }
  if (options.expectedIssuer !== null && payload.iss !== options.expectedIssuer)
    throw new InvalidTokenError(
      `issuer ${JSON.stringify(payload.iss ?? null).slice(0, 100)} is not expected`,
    );
  const sub = payload[options.subClaimName];
  if (typeof sub !== "string" || sub.trim() === "")
    throw new InvalidTokenError(`no non-empty ${options.subClaimName} claim`);
  const scope = payload[options.scopeClaimName];
  let scopes: string[] = [];
  if (typeof scope === "string") scopes = scope.split(" ").filter((s) => s !== "");
  else if (Array.isArray(scope)) {
    if (!scope.every((s) => typeof s === "string" && s.trim() !== ""))
      throw new InvalidTokenError(`${options.scopeClaimName} has an empty or non-string scope`);
    scopes = scope as string[];
  }
  return { principalName: sub.trim(), expiresAtMs: exp, issuedAtMs: iat, scopes };
}

// ---- one authentication (OAuthBearerSaslServer) ----

/** Validates a token (the broker's: with its JWKS, reading it again for an unknown kid). */
export type TokenValidator = (token: string) => Promise<ValidatedToken>;

type State = "RECEIVE_CLIENT_FIRST_MESSAGE" | "RECEIVE_CLIENT_ACK" | "COMPLETE" | "FAILED";

/**
 * The server side of one OAUTHBEARER authentication: evaluate(message) returns the reply
 * (empty once authenticated; with challengeOnInvalidToken, the error challenge, and then the
 * client's "\x01" fails). Failures throw SaslAuthenticationError (send its message, log its
 * reason).
 */
export class OAuthBearerServerExchange {
  private state: State = "RECEIVE_CLIENT_FIRST_MESSAGE";
  private token: ValidatedToken | null = null;
  private pendingReason = "";

  constructor(
    private readonly validate: TokenValidator,
    private readonly options: { challengeOnInvalidToken: boolean },
  ) {}

  get complete(): boolean {
    return this.state === "COMPLETE";
  }

  /** The validated token (principal name, expiry); only once complete. */
  get result(): ValidatedToken {
    if (this.state !== "COMPLETE" || this.token === null)
      throw new Error("OAUTHBEARER authentication has not completed");
    return this.token;
  }

  async evaluate(message: Uint8Array): Promise<Uint8Array> {
    if (this.state === "RECEIVE_CLIENT_ACK") {
      this.state = "FAILED";
      // "\x01": the client read the error challenge; anything else is out of turn.
      throw new SaslAuthenticationError(INVALID_TOKEN_STATUS, {
        reason:
          message.length === 1 && message[0] === 1
            ? this.pendingReason
            : `${this.pendingReason}; then a message other than \\x01 after the error challenge`,
      });
    }
    if (this.state !== "RECEIVE_CLIENT_FIRST_MESSAGE") {
      const was = this.state;
      this.state = "FAILED";
      throw new SaslAuthenticationError(`Unexpected challenge in Sasl server state ${was}`, {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      });
    }
    let msg: OAuthBearerClientResponse;
    try {
      msg = parseOAuthBearerClientResponse(message);
    } catch (e) {
      this.state = "FAILED";
      throw e;
    }
    let token: ValidatedToken;
    try {
      token = await this.validate(msg.token);
    } catch (e) {
      if (!(e instanceof InvalidTokenError)) {
        this.state = "FAILED";
        throw e;
      }
      const reason = `invalid token: ${e.message}`;
      if (this.options.challengeOnInvalidToken) {
        this.state = "RECEIVE_CLIENT_ACK";
        this.pendingReason = reason;
        return Buffer.from(INVALID_TOKEN_STATUS, "utf8");
      }
      this.state = "FAILED";
      throw new SaslAuthenticationError(INVALID_TOKEN_STATUS, { reason });
    }
    if (msg.authzid !== "" && msg.authzid !== token.principalName) {
      this.state = "FAILED";
      // Kafka's text names both: the client sent both, so it learns nothing new.
      throw new SaslAuthenticationError(
        `Authentication failed: Client requested an authorization id (${msg.authzid}) that is different from the token's principal name (${token.principalName})`,
        { reason: `${AUTHZID_MISMATCH_MESSAGE} (${msg.authzid} / ${token.principalName})` },
      );
    }
    this.token = token;
    this.state = "COMPLETE";
    return new Uint8Array(0);
  }
}

/** A TokenValidator over a key source: an unknown kid reads the set again (rate-limited) and retries once. */
export function jwksTokenValidator(
  keys: { current(): readonly VerificationKey[]; refreshForUnknownKid(): Promise<boolean> },
  options: JwtValidationOptions,
): TokenValidator {
  return async (token) => {
    try {
      return validateJwt(token, keys.current(), options);
    } catch (e) {
      if (!(e instanceof UnknownKeyIdError) || !(await keys.refreshForUnknownKid())) throw e;
      return validateJwt(token, keys.current(), options);
    }
  };
}
