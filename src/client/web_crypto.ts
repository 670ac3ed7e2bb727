// The cryptography SASL/SCRAM needs (random bytes, PBKDF2, HMAC, SHA digests) behind one small
// interface, and its browser-safe implementation over Web Crypto (globalThis.crypto.subtle:
// browsers in a secure context, Deno, Node 20). The Node entry plugs in node:crypto instead
// (src/client/node_crypto.ts); nothing here imports a Node module. Also base64, which SCRAM's
// messages carry (btoa/atob work on "binary strings"; these work on bytes).

export type HashName = "SHA-256" | "SHA-512";

export interface SaslCrypto {
  randomBytes(n: number): Uint8Array;
  /** PBKDF2-HMAC(hash) of password and salt, `length` bytes. */
  pbkdf2(
    hash: HashName,
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    length: number,
  ): Promise<Uint8Array>;
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  digest(hash: HashName, data: Uint8Array): Promise<Uint8Array>;
}

/** The parts of Web Crypto used here (the project's lib has no DOM types). */
interface SubtleLike {
  importKey(
    format: "raw",
    key: Uint8Array,
    alg: unknown,
    extractable: boolean,
    usages: string[],
  ): Promise<unknown>;
  deriveBits(alg: unknown, key: unknown, bits: number): Promise<ArrayBuffer>;
  sign(alg: unknown, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  digest(alg: string, data: Uint8Array): Promise<ArrayBuffer>;
}
interface WebCryptoLike {
  getRandomValues(a: Uint8Array): Uint8Array;
  subtle?: SubtleLike;
}

/** SaslCrypto over Web Crypto, or null where there is none (a browser page outside a secure context). */
export function webCrypto(): SaslCrypto | null {
  const c = (globalThis as unknown as { crypto?: WebCryptoLike }).crypto;
  const subtle = c?.subtle;
  if (c === undefined || subtle === undefined) return null;
  return {
    randomBytes: (n) => c.getRandomValues(new Uint8Array(n)),
    async pbkdf2(hash, password, salt, iterations, length) {
      const key = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      return new Uint8Array(
        await subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations }, key, length * 8),
      );
    },
    async hmac(hash, key, data) {
      const k = await subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
      return new Uint8Array(await subtle.sign("HMAC", k, data));
    },
    async digest(hash, data) {
      return new Uint8Array(await subtle.digest(hash, data));
    },
  };
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INDEX = new Map([...ALPHABET].map((ch, i) => [ch, i]));

export function base64Encode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i] << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    s += i + 1 < b.length ? ALPHABET[(n >> 6) & 63] : "=";
    s += i + 2 < b.length ? ALPHABET[n & 63] : "=";
  }
  return s;
}

/** Strict base64 (padding required, no whitespace); throws on anything else. */
export function base64Decode(s: string): Uint8Array {
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new Error("bad base64");
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let at = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n =
      (INDEX.get(s[i])! << 18) |
      (INDEX.get(s[i + 1])! << 12) |
      ((INDEX.get(s[i + 2]) ?? 0) << 6) |
      (INDEX.get(s[i + 3]) ?? 0);
    out[at++] = n >> 16;
    if (at < out.length) out[at++] = (n >> 8) & 255;
    if (at < out.length) out[at++] = n & 255;
  }
  return out;
}
