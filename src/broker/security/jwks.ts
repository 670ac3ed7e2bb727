// The keys SASL OAUTHBEARER tokens are verified with (Kafka's VerificationKeyResolver, KIP-768):
// a JSON Web Key Set (RFC 7517) read from sasl.oauthbearer.jwks.endpoint.url, a file: URL or an
// http(s): one, kept in memory and read again every sasl.oauthbearer.jwks.endpoint.refresh.ms
// and when a token names a key id the set does not have (at most once per
// UNKNOWN_KID_REFRESH_INTERVAL_MS). A read that fails keeps the last good keys and is logged.
//
// A JWKS document:
//
//   {"keys": [
//     {"kty":"RSA", "kid":"2026-12", "use":"sig", "alg":"RS256", "n":"<base64url>", "e":"AQAB"},
//     {"kty":"EC",  "kid":"ec-1", "crv":"P-256", "x":"<base64url>", "y":"<base64url>"}
//   ]}
//
// Only signature keys of kty RSA (at least 2048 bits, as jose4j which Kafka uses requires) and
// EC (P-256, P-384, P-521) are kept; others (oct: a shared secret, OKP, "use":"enc") are skipped
// with a note, as is a key that does not parse, so one odd key does not take the set down. A
// document that is not a JWKS, or has no usable key, is an error.
//
// Milena also accepts, for a file: URL, a single PEM public key ("-----BEGIN PUBLIC KEY-----",
// RSA or EC): a set of one key without an id, which verifies the tokens whose header names no kid.

import { createPublicKey, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";

/** A fetched JWKS is refused above this size (an endpoint serves a few KiB). */
export const JWKS_MAX_BYTES = 1024 * 1024;
/** An http(s) fetch of the JWKS is abandoned after this long. */
export const JWKS_FETCH_TIMEOUT_MS = 10_000;
/** Keys kept from one document at most. */
export const JWKS_MAX_KEYS = 100;
/** A token naming an unknown kid reads the set again at most this often. */
export const UNKNOWN_KID_REFRESH_INTERVAL_MS = 10_000;

export type JwkCurve = "P-256" | "P-384" | "P-521";

/** One verification key of the set. */
export interface VerificationKey {
  /** The JWK's "kid"; null for a key without one (a PEM file). */
  kid: string | null;
  kty: "RSA" | "EC";
  /** EC keys: the curve. */
  crv: JwkCurve | null;
  /** The JWK's "alg" when it names one: the only algorithm the key verifies. */
  alg: string | null;
  key: KeyObject;
}

export class JwksError extends Error {
  override name = "JwksError";
}

const CURVES: readonly string[] = ["P-256", "P-384", "P-521"];

/**
 * Parse a JWKS document (or a PEM public key): the usable keys and a note for each key skipped.
 * JwksError when the text is neither, or no key is usable.
 */
export function parseJwks(text: string): { keys: VerificationKey[]; skipped: string[] } {
  if (text.trimStart().startsWith("-----BEGIN")) return { keys: [pemKey(text)], skipped: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new JwksError(`not JSON (nor a PEM public key): ${(e as Error).message}`);
  }
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== "object" || doc === null || !Array.isArray(list))
    throw new JwksError('not a JWKS: no "keys" array');
  const keys: VerificationKey[] = [];
  const skipped: string[] = [];
  const kids = new Set<string>();
  for (const [i, jwk] of list.entries()) {
    const name = `key ${i}${typeof jwk?.kid === "string" ? ` (kid ${JSON.stringify(jwk.kid.slice(0, 60))})` : ""}`;
    if (keys.length >= JWKS_MAX_KEYS) {
      skipped.push(`${name}: more than ${JWKS_MAX_KEYS} keys`);
      continue;
    }
    try {
      const k = jwkKey(jwk);
      if (k.kid !== null) {
        if (kids.has(k.kid)) throw new JwksError("its kid is already used by another key");
        kids.add(k.kid);
      }
      keys.push(k);
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message}`);
    }
  }
  if (keys.length === 0)
    throw new JwksError(`no usable signature key${skipped.length ? ` (${skipped.join("; ")})` : ""}`);
  return { keys, skipped };
}

function jwkKey(jwk: unknown): VerificationKey {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new JwksError("not an object");
  const j = jwk as Record<string, unknown>;
  if (j.kid !== undefined && typeof j.kid !== "string") throw new JwksError("kid is not a string");
  if (j.use !== undefined && j.use !== "sig") throw new JwksError(`use ${JSON.stringify(j.use)}, not sig`);
  if (Array.isArray(j.key_ops) && !j.key_ops.includes("verify"))
    throw new JwksError("key_ops does not include verify");
  if (j.alg !== undefined && typeof j.alg !== "string") throw new JwksError("alg is not a string");
  if (j.kty !== "RSA" && j.kty !== "EC") throw new JwksError(`kty ${JSON.stringify(j.kty)} is not RSA or EC`);
  if (j.kty === "EC" && !CURVES.includes(j.crv as string))
    throw new JwksError(`curve ${JSON.stringify(j.crv)} is not P-256, P-384 or P-521`);
  // Only the public members: a JWK that also carries the private ones ("d", ...) still gives
  // its public key, never a private one kept in memory.
  const pub =
    j.kty === "RSA"
      ? { kty: "RSA", n: j.n as string, e: j.e as string }
      : { kty: "EC", crv: j.crv as string, x: j.x as string, y: j.y as string };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pub, format: "jwk" });
  } catch (e) {
    throw new JwksError(`does not parse: ${(e as Error).message}`);
  }
  checkKey(key);
  return {
    kid: (j.kid as string | undefined) ?? null,
    kty: j.kty,
    crv: j.kty === "EC" ? (j.crv as JwkCurve) : null,
    alg: (j.alg as string | undefined) ?? null,
    key,
  };
}

function pemKey(text: string): VerificationKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: "pem" });
  } catch (e) {
    throw new JwksError(`not a PEM public key: ${(e as Error).message}`);
  }
  checkKey(key);
  const type = key.asymmetricKeyType;
  const crv = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" }[
    key.asymmetricKeyDetails?.namedCurve ?? ""
  ] as JwkCurve | undefined;
  return { kid: null, kty: type === "ec" ? "EC" : "RSA", crv: crv ?? null, alg: null, key };
}

function checkKey(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  if (type === "rsa") {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new JwksError(`RSA key of ${bits} bits (at least 2048)`);
  } else if (type === "ec") {
    const c = key.asymmetricKeyDetails?.namedCurve;
    if (c !== "prime256v1" && c !== "secp384r1" && c !== "secp521r1")
      throw new JwksError(`EC curve ${c} is not P-256, P-384 or P-521`);
  } else throw new JwksError(`a ${type} key (RSA or EC only)`);
}

/** Read the document at a file:, http: or https: URL, bounded in size and (http) in time. */
export async function readJwksUrl(url: string): Promise<string> {
  const u = new URL(url);
  if (u.protocol === "file:") {
    const path = fileURLToPath(u);
    const st = await fs.promises.stat(path);
    if (st.size > JWKS_MAX_BYTES) throw new JwksError(`${path} is larger than ${JWKS_MAX_BYTES} bytes`);
    return fs.promises.readFile(path, "utf8");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    throw new JwksError(`${u.protocol} URLs are not read (file:, http:, https:)`);
  const res = await fetch(u, {
    signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS),
    redirect: "follow",
    headers: { accept: "application/json" },
  });
  if (!res.ok) throw new JwksError(`HTTP ${res.status} ${res.statusText}`);
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > JWKS_MAX_BYTES) throw new JwksError(`${declared} bytes (at most ${JWKS_MAX_BYTES})`);
  if (res.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > JWKS_MAX_BYTES) throw new JwksError(`more than ${JWKS_MAX_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export interface JwksSourceOptions {
  url: string;
  refreshMs: number;
  /** Where refresh failures and skipped keys are said (rate-limited by the caller if it wants). */
  log: (line: string) => void;
  /** For tests: the clock and the minimum time between unknown-kid refreshes. */
  now?: () => number;
  unknownKidRefreshIntervalMs?: number;
}

/**
 * The broker's verification keys: load() once at startup (an error stops the start), then a
 * timer reads the set again every refreshMs; refreshForUnknownKid() reads it now unless it was
 * read for that reason less than unknownKidRefreshIntervalMs ago (so tokens naming made-up key
 * ids cannot make the broker hammer the endpoint).
 */
export class JwksSource {
  private keys: VerificationKey[] = [];
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private lastKidRefreshMs = Number.NEGATIVE_INFINITY;
  private readonly now: () => number;

  constructor(private readonly options: JwksSourceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The first read: throws (JwksError or the read's error) when there is no usable key. */
  async load(): Promise<void> {
    await this.read(true);
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  current(): readonly VerificationKey[] {
    return this.keys;
  }

  /** Read the set again; a failure keeps the keys and is logged. */
  refresh(): Promise<void> {
    if (this.inFlight === null)
      this.inFlight = this.read(false).finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  /** A token named a kid the set lacks: read it again, unless that was done very recently. */
  async refreshForUnknownKid(): Promise<boolean> {
    const t = this.now();
    if (
      t - this.lastKidRefreshMs <
      (this.options.unknownKidRefreshIntervalMs ?? UNKNOWN_KID_REFRESH_INTERVAL_MS)
    )
      return false;
    this.lastKidRefreshMs = t;
    await this.refresh();
    return true;
  }

  private async read(first: boolean): Promise<void> {
    const where = `sasl.oauthbearer.jwks.endpoint.url ${this.options.url}`;
    try {
      const { keys, skipped } = parseJwks(await readJwksUrl(this.options.url));
      for (const s of skipped) this.options.log(`${where}: ${s}: skipped`);
      this.keys = keys;
    } catch (e) {
      const message = `${where}: ${(e as Error).message}`;
      if (first) throw new JwksError(message);
      this.options.log(`${message}; keeping the ${this.keys.length} key(s) read before`);
    }
  }
}
