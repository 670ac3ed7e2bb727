// The client side of SASL/SCRAM (RFC 5802, SCRAM-SHA-256 RFC 7677, SCRAM-SHA-512 as Kafka has
// it), without channel binding ("n,,"), over SaslCrypto so the same code runs in Node and in
// browsers:
//   client-first  n,,n=<user>,r=<client nonce>
//   server-first  r=<client nonce + server nonce>,s=<salt, base64>,i=<iterations>
//   client-final  c=biws,r=<nonce>,p=<base64(ClientKey XOR HMAC(StoredKey, AuthMessage))>
//   server-final  v=<base64(HMAC(ServerKey, AuthMessage))>, checked: a wrong one is an error
// where SaltedPassword = PBKDF2(password, salt, i), ClientKey = HMAC(SaltedPassword, "Client
// Key"), StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key") and
// AuthMessage = client-first-bare + "," + server-first + "," + client-final-without-proof.
// The password is used as given (no SASLprep), as Kafka's Java client does.

import { base64Decode, base64Encode, type HashName, type SaslCrypto } from "./web_crypto.ts";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

const HASH: Record<ScramMechanism, { hash: HashName; bytes: number }> = {
  "SCRAM-SHA-256": { hash: "SHA-256", bytes: 32 },
  "SCRAM-SHA-512": { hash: "SHA-512", bytes: 64 },
};

/** Kafka's lowest accepted iteration count (ScramMechanism.minIterations). */
const MIN_ITERATIONS = 4096;

/** A SCRAM exchange failed on the client's side (a bad or forged server message). */
export class ScramError extends Error {
  override name = "ScramError";
}

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true });

/** RFC 5802 saslname: "=" and "," escaped. */
function saslName(user: string): string {
  return user.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

/** The attributes of a SCRAM message ("a=...,b=..."), first occurrence of each. */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(",")) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (m === null) throw new ScramError(`bad SCRAM message attribute "${part}"`);
    if (!out.has(m[1])) out.set(m[1], m[2]);
  }
  return out;
}

export class ScramClient {
  private readonly bare: string;
  private serverSignature: Uint8Array | null = null;

  constructor(
    private readonly crypto: SaslCrypto,
    readonly mechanism: ScramMechanism,
    username: string,
    private readonly password: string,
    /** The client nonce (printable, no ","); default 24 random bytes in base64. */
    readonly nonce: string = base64Encode(crypto.randomBytes(24)),
  ) {
    this.bare = `n=${saslName(username)},r=${nonce}`;
  }

  /** The client-first message. */
  first(): Uint8Array {
    return utf8.encode(`n,,${this.bare}`);
  }

  /** The client-final message for the server-first one. */
  async final(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
    const { hash, bytes } = HASH[this.mechanism];
    let serverFirst: string;
    try {
      serverFirst = text.decode(serverFirstBytes);
    } catch {
      throw new ScramError("the server-first message is not UTF-8");
    }
    const a = attributes(serverFirst);
    if (a.has("e")) throw new ScramError(`the broker refused: ${a.get("e")}`);
    if (a.has("m")) throw new ScramError("the broker asks for a SCRAM extension this client does not know");
    const nonce = a.get("r");
    const saltText = a.get("s");
    const iterText = a.get("i");
    if (nonce === undefined || saltText === undefined || iterText === undefined)
      throw new ScramError("the server-first message lacks r, s or i");
    if (!nonce.startsWith(this.nonce) || nonce.length <= this.nonce.length)
      throw new ScramError("the server nonce does not extend the client nonce");
    if (!/^\d+$/.test(iterText)) throw new ScramError(`bad iteration count "${iterText}"`);
    const iterations = Number(iterText);
    if (iterations < MIN_ITERATIONS)
      throw new ScramError(`the broker asks for ${iterations} iterations, fewer than ${MIN_ITERATIONS}`);
    let salt: Uint8Array;
    try {
      salt = base64Decode(saltText);
    } catch {
      throw new ScramError("the salt is not base64");
    }
    const c = this.crypto;
    const salted = await c.pbkdf2(hash, utf8.encode(this.password), salt, iterations, bytes);
    const clientKey = await c.hmac(hash, salted, utf8.encode("Client Key"));
    const storedKey = await c.digest(hash, clientKey);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = utf8.encode(`${this.bare},${serverFirst},${withoutProof}`);
    const clientSignature = await c.hmac(hash, storedKey, authMessage);
    const proof = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) proof[i] = clientKey[i] ^ clientSignature[i];
    const serverKey = await c.hmac(hash, salted, utf8.encode("Server Key"));
    this.serverSignature = await c.hmac(hash, serverKey, authMessage);
    return utf8.encode(`${withoutProof},p=${base64Encode(proof)}`);
  }

  /** Check the server-final message; throws unless it carries the expected server signature. */
  verify(serverFinalBytes: Uint8Array): void {
    const expected = this.serverSignature;
    if (expected === null) throw new ScramError("server-final before server-first");
    let a: Map<string, string>;
    try {
      a = attributes(text.decode(serverFinalBytes));
    } catch (e) {
      throw e instanceof ScramError ? e : new ScramError("the server-final message is not UTF-8");
    }
    if (a.has("e")) throw new ScramError(`the broker refused: ${a.get("e")}`);
    const v = a.get("v");
    if (v === undefined) throw new ScramError("the server-final message has no server signature");
    let got: Uint8Array;
    try {
      got = base64Decode(v);
    } catch {
      throw new ScramError("the server signature is not base64");
    }
    let diff = got.length ^ expected.length;
    for (let i = 0; i < expected.length; i++) diff |= (got[i] ?? 0) ^ expected[i];
    if (diff !== 0)
      throw new ScramError(
        "the broker's server signature is wrong (it does not know this user's credential)",
      );
  }
}
