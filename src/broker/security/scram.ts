// SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka implements them: the broker's side
// of one authentication (ScramServerExchange, Kafka's ScramSaslServer), the credential a user is
// stored as (Kafka's ScramFormatter and ScramCredentialUtils), its text form in ZooKeeper's
// /config/users/<user> and the JSON of that znode.
//
// Nothing here keeps a password: a credential is a salt, an iteration count and two keys derived
// from SaltedPassword, and neither key lets a client authenticate (StoredKey is a hash of
// ClientKey, ServerKey only signs the server's answer):
//
//   SaltedPassword = Hi(UTF-8(password), salt, i)      Hi() = PBKDF2 with one block (dkLen = hLen)
//   ClientKey      = HMAC(SaltedPassword, "Client Key")
//   StoredKey      = H(ClientKey)
//   ServerKey      = HMAC(SaltedPassword, "Server Key")
//
// As Kafka, the password is not SASLprep'ed (ScramFormatter.normalize is plain UTF-8; Kafka's and
// kafkajs's clients send it so), and the user name is only un-escaped (=2C -> ",", =3D -> "="),
// never normalized: two names Kafka tells apart stay apart. Unlike Kafka (whose grammar is ASCII),
// a user name may be any UTF-8 but NUL, as RFC 5802 allows.
//
// Where this differs from Kafka's ScramSaslServer, on purpose:
//   - an unknown user (or one without a credential for this mechanism, or with an unusable one)
//     is answered with a server-first made from a fake credential (its salt derived from the name
//     with a secret, so it is the same at every attempt) and fails at the proof with the same
//     message as a wrong password. Kafka fails at the first message (with the same generic text),
//     which tells an observer the name is unknown.
//   - the channel binding of client-final (c=) must be the base64 of client-first's gs2 header
//     (RFC 5802 section 7); Kafka does not check it.
//   - "m=" (a mandatory extension, RFC 5802 section 5.1) is refused; Kafka ignores it.
//   - AuthMessage is made of the messages as received (RFC 5802 section 3); Kafka rebuilds them,
//     which is the same for every message a client sends without extensions.
//   - an authzid (a=) is un-escaped before it is compared with the user name.

import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from "node:crypto";
import { ErrorCode } from "../../protocol/error_codes.ts";
import { utf8DecodeStrict } from "../../protocol/utf8.ts";
import {
  AUTHZID_MISMATCH_MESSAGE,
  invalidCredentialsMessage,
  SaslAuthenticationError,
  UnacceptableCredentialError,
} from "./errors.ts";

export { SaslAuthenticationError } from "./errors.ts";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";
export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ["SCRAM-SHA-256", "SCRAM-SHA-512"];

/** The hash of a SCRAM variant. sha1 is only for RFC 5802's test vector: Kafka has no SCRAM-SHA-1. */
export type ScramDigest = "sha1" | "sha256" | "sha512";

const DIGEST: Record<ScramMechanism, ScramDigest> = { "SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512" };
const DIGEST_BYTES: Record<ScramDigest, number> = { sha1: 20, sha256: 32, sha512: 64 };

/** Kafka's ScramMechanism.minIterations(): fewer is refused at creation and at authentication. */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Kafka's ScramMechanism.maxIterations(): more is refused at creation (AlterUserScramCredentials). */
export const SCRAM_MAX_ITERATIONS = 16384;

/** The mechanism byte of AlterUserScramCredentials and DescribeUserScramCredentials (Kafka's ScramMechanism.type()). */
export const SCRAM_MECHANISM_TYPE: Readonly<Record<ScramMechanism, number>> = {
  "SCRAM-SHA-256": 1,
  "SCRAM-SHA-512": 2,
};

export function scramMechanismFromType(type: number): ScramMechanism | undefined {
  return type === 1 ? "SCRAM-SHA-256" : type === 2 ? "SCRAM-SHA-512" : undefined;
}

export function isScramMechanism(name: string): name is ScramMechanism {
  return name === "SCRAM-SHA-256" || name === "SCRAM-SHA-512";
}

export function scramDigest(mechanism: ScramMechanism): ScramDigest {
  return DIGEST[mechanism];
}

/** Bytes of StoredKey, ServerKey and a client proof: the hash's output length. */
export function scramKeyLength(mechanism: ScramMechanism): number {
  return DIGEST_BYTES[DIGEST[mechanism]];
}

/** What the broker stores for one user and mechanism (Kafka's ScramCredential). */
export interface ScramCredential {
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
  iterations: number;
}

/** A user's credentials, one per mechanism it has. */
export type UserScramCredentials = Partial<Record<ScramMechanism, ScramCredential>>;

// ---- the primitives (RFC 5802 section 3) ----

function hmac(digest: ScramDigest, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(digest, key).update(data).digest();
}

function hash(digest: ScramDigest, data: Uint8Array): Buffer {
  return createHash(digest).update(data).digest();
}

function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

/** SaltedPassword = Hi(password, salt, i): PBKDF2-HMAC with dkLen the hash length. A string is taken as UTF-8. */
export function saltedPassword(
  digest: ScramDigest,
  password: string | Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Buffer {
  const pw = typeof password === "string" ? Buffer.from(password, "utf8") : password;
  return pbkdf2Sync(pw, salt, iterations, DIGEST_BYTES[digest], digest);
}

/** StoredKey and ServerKey from SaltedPassword, unchecked (ScramFormatter.generateCredential). */
export function credentialFromSaltedPassword(
  digest: ScramDigest,
  salt: Uint8Array,
  salted: Uint8Array,
  iterations: number,
): ScramCredential {
  const clientKey = hmac(digest, salted, "Client Key");
  return {
    salt: Buffer.from(salt),
    storedKey: hash(digest, clientKey),
    serverKey: hmac(digest, salted, "Server Key"),
    iterations,
  };
}

/** ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage): what a client sends (for tests and clients). */
export function clientProof(digest: ScramDigest, salted: Uint8Array, authMessage: string): Buffer {
  const clientKey = hmac(digest, salted, "Client Key");
  return xor(clientKey, hmac(digest, hash(digest, clientKey), authMessage));
}

/**
 * Whether H(ClientProof XOR HMAC(StoredKey, AuthMessage)) is StoredKey, compared in constant time
 * (ScramSaslServer.verifyClientProof). A proof of the wrong length is false.
 */
export function verifyClientProof(
  digest: ScramDigest,
  storedKey: Uint8Array,
  authMessage: string,
  proof: Uint8Array,
): boolean {
  const clientSignature = hmac(digest, storedKey, authMessage);
  // A proof's length is the client's to choose, not a secret: no need to hide that it is wrong.
  if (proof.length !== clientSignature.length) return false;
  const computed = hash(digest, xor(proof, clientSignature));
  return computed.length === storedKey.length && timingSafeEqual(computed, storedKey);
}

/** ServerSignature = HMAC(ServerKey, AuthMessage). */
export function serverSignature(digest: ScramDigest, serverKey: Uint8Array, authMessage: string): Buffer {
  return hmac(digest, serverKey, authMessage);
}

// ---- credentials ----

/** The 130 low bits of `bytes` (17 of them) in base 36: Java's new BigInteger(130, random).toString(36). */
function base36Of130Bits(bytes: Uint8Array): string {
  let n = 0n;
  for (let i = 0; i < 17; i++) n = (n << 8n) | BigInt(bytes[i]);
  return (n & ((1n << 130n) - 1n)).toString(36);
}

/**
 * A fresh salt as Kafka makes one (ScramFormatter.secureRandomBytes, also what Kafka's admin
 * client sends in AlterUserScramCredentials): the UTF-8 of a 130-bit random number in base 36,
 * about 25 ASCII characters.
 */
export function kafkaSalt(): Buffer {
  return Buffer.from(base36Of130Bits(randomBytes(17)), "ascii");
}

/**
 * Kafka's checks of a credential upsertion (ScramControlManager.validateUpsertion), with its
 * messages: UnacceptableCredentialError (UNACCEPTABLE_CREDENTIAL) when refused.
 */
export function validateScramUpsertion(username: string, iterations: number): void {
  if (username === "") throw new UnacceptableCredentialError("Username must not be empty");
  if (!Number.isInteger(iterations) || iterations < SCRAM_MIN_ITERATIONS)
    throw new UnacceptableCredentialError("Too few iterations");
  if (iterations > SCRAM_MAX_ITERATIONS) throw new UnacceptableCredentialError("Too many iterations");
}

function checkIterations(iterations: number): void {
  // The user name is checked where there is one (validateScramUpsertion); here only the count.
  validateScramUpsertion("-", iterations);
}

/**
 * A new credential for `password` (kafka-configs --add-config 'SCRAM-SHA-256=[password=...]').
 * Iterations must be 4096..16384 (UnacceptableCredentialError otherwise); the salt is Kafka's kind
 * (kafkaSalt) unless given. The password is not kept.
 */
export function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  iterations = SCRAM_MIN_ITERATIONS,
  salt?: Buffer,
): ScramCredential {
  checkIterations(iterations);
  const s = salt ?? kafkaSalt();
  const digest = DIGEST[mechanism];
  return credentialFromSaltedPassword(digest, s, saltedPassword(digest, password, s, iterations), iterations);
}

/**
 * The credential of an AlterUserScramCredentials upsertion, which carries the salt and
 * SaltedPassword the client computed (ScramControlManager.finishUpsertion). Iterations must be
 * 4096..16384 (UnacceptableCredentialError otherwise).
 */
export function scramCredentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salt: Uint8Array,
  salted: Uint8Array,
  iterations: number,
): ScramCredential {
  checkIterations(iterations);
  return credentialFromSaltedPassword(DIGEST[mechanism], salt, salted, iterations);
}

/** A secret of this process for fake credentials, when the broker gives none (see ScramServerOptions). */
const PROCESS_FAKE_SECRET = randomBytes(32);

/**
 * The credential an unknown user is answered with: its salt (Kafka's kind, base 36) and keys are
 * derived from the name with `secret`, so every attempt for that name sees the same salt, as for a
 * real user. It never verifies (the exchange refuses it whatever the proof).
 */
export function fakeScramCredential(
  mechanism: ScramMechanism,
  username: string,
  secret: Uint8Array = PROCESS_FAKE_SECRET,
  iterations = SCRAM_MIN_ITERATIONS,
): ScramCredential {
  const derive = (label: string) =>
    createHmac("sha512", secret).update(`${label}\0${mechanism}\0`).update(username, "utf8").digest();
  const n = scramKeyLength(mechanism);
  return {
    salt: Buffer.from(base36Of130Bits(derive("salt")), "ascii"),
    storedKey: derive("stored_key").subarray(0, n),
    serverKey: derive("server_key").subarray(0, n),
    iterations,
  };
}

// ---- names ----

/** A user name as written in SCRAM messages: "=" as "=3D", "," as "=2C" (ScramFormatter.saslName). */
export function saslName(username: string): string {
  return username.replace(/=/g, "=3D").replace(/,/g, "=2C");
}

/**
 * The user name of a SCRAM saslname (ScramFormatter.username): "=2C" is ",", "=3D" is "=", and any
 * other "=" makes the name invalid (undefined), as RFC 5802 section 5.1 requires.
 */
export function usernameFromSaslName(name: string): string | undefined {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === ",") return undefined;
    if (c !== "=") {
      out += c;
      continue;
    }
    const esc = name.slice(i + 1, i + 3);
    if (esc === "2C") out += ",";
    else if (esc === "3D") out += "=";
    else return undefined;
    i += 2;
  }
  return out;
}

/** The principal Kafka's authorizer sees for a SASL user (KafkaPrincipal "User:<name>"). */
export function userPrincipal(username: string): string {
  return `User:${username}`;
}

// ---- the stored form (ScramCredentialUtils) ----
//
//   salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=<n>
//
// e.g. RFC 7677's user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations:
//   salt=W22ZaJ0SNY7soEsUEjb6gQ==,stored_key=WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,
//   server_key=wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=,iterations=4096   (one line)

/** A credential string that does not parse: the message says what is wrong, never the keys. */
export class CredentialFormatError extends Error {
  override name = "CredentialFormatError";
}

/** Standard base64; the padding may be left out, as Java's Base64 decoder allows. */
const BASE64_LOOSE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
/** Standard base64, padded: Kafka's BASE64 of ScramMessages. */
const BASE64_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function formatScramCredential(c: ScramCredential): string {
  return (
    `salt=${c.salt.toString("base64")},stored_key=${c.storedKey.toString("base64")},` +
    `server_key=${c.serverKey.toString("base64")},iterations=${c.iterations}`
  );
}

const CREDENTIAL_KEYS = ["salt", "stored_key", "server_key", "iterations"] as const;

/**
 * Parse the stored form (ScramCredentialUtils.credentialFromString): exactly the four keys, in any
 * order, base64 values, a positive int32 count. With a mechanism, the keys must be its hash's
 * length. CredentialFormatError otherwise.
 */
export function parseScramCredential(text: string, mechanism?: ScramMechanism): ScramCredential {
  const fields = new Map<string, string>();
  for (const token of text.split(",")) {
    const eq = token.indexOf("=");
    if (eq <= 0) throw new CredentialFormatError(`"${token.slice(0, 20)}" is not key=value`);
    const key = token.slice(0, eq);
    if (!(CREDENTIAL_KEYS as readonly string[]).includes(key))
      throw new CredentialFormatError(`unknown key "${key.slice(0, 20)}"`);
    if (fields.has(key)) throw new CredentialFormatError(`${key} given twice`);
    fields.set(key, token.slice(eq + 1));
  }
  for (const key of CREDENTIAL_KEYS) if (!fields.has(key)) throw new CredentialFormatError(`${key} missing`);
  const bytes = (key: string): Buffer => {
    const v = fields.get(key)!;
    if (!BASE64_LOOSE.test(v)) throw new CredentialFormatError(`${key} is not base64`);
    return Buffer.from(v, "base64");
  };
  const salt = bytes("salt");
  const storedKey = bytes("stored_key");
  const serverKey = bytes("server_key");
  const it = fields.get("iterations")!;
  const iterations = Number(it);
  if (!/^[0-9]{1,10}$/.test(it) || iterations < 1 || iterations > 0x7fffffff)
    throw new CredentialFormatError(`iterations "${it.slice(0, 20)}" is not a positive int32`);
  if (mechanism) {
    const n = scramKeyLength(mechanism);
    if (storedKey.length !== n || serverKey.length !== n)
      throw new CredentialFormatError(`stored_key and server_key must be ${n} bytes for ${mechanism}`);
  }
  return { salt, storedKey, serverKey, iterations };
}

// ---- ZooKeeper /config/users/<user> ----
//
//   /config/users/<sanitized user>   (Sanitizer.sanitize: URL-encoded, "*" as %2A, " " as %20)
//   {"version":1,"config":{"SCRAM-SHA-256":"salt=...,stored_key=...,server_key=...,iterations=4096",
//                          "SCRAM-SHA-512":"salt=...", "producer_byte_rate":"1024", ...}}
//
// The other keys of the config (quotas) are kept as they are.

export interface UserConfig {
  credentials: UserScramCredentials;
  /** The user's other config entries (quotas), as strings. */
  config: Record<string, string>;
}

export function encodeUserConfig(
  credentials: UserScramCredentials,
  config: Record<string, string> = {},
): string {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(config)) {
    if (isScramMechanism(k)) throw new TypeError(`${k} belongs in credentials, not config`);
    out[k] = v;
  }
  for (const m of SCRAM_MECHANISMS) {
    const c = credentials[m];
    if (c) out[m] = formatScramCredential(c);
  }
  return JSON.stringify({ version: 1, config: out });
}

/** The credentials and other entries of a /config/users/<user> znode; CredentialFormatError if malformed. */
export function decodeUserConfig(json: string | Uint8Array): UserConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof json === "string" ? json : Buffer.from(json).toString("utf8"));
  } catch (e) {
    throw new CredentialFormatError(`user config is not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw new CredentialFormatError("user config is not a JSON object");
  const { version, config } = doc as { version?: unknown; config?: unknown };
  if (version !== 1) throw new CredentialFormatError(`user config version ${JSON.stringify(version)}, not 1`);
  if (typeof config !== "object" || config === null || Array.isArray(config))
    throw new CredentialFormatError('user config has no "config" object');
  const out: UserConfig = { credentials: {}, config: Object.create(null) };
  for (const [k, v] of Object.entries(config)) {
    if (typeof v !== "string") throw new CredentialFormatError(`user config entry ${k} is not a string`);
    if (isScramMechanism(k)) {
      try {
        out.credentials[k] = parseScramCredential(v, k);
      } catch (e) {
        throw new CredentialFormatError(`user config ${k}: ${(e as Error).message}`);
      }
    } else out.config[k] = v;
  }
  return out;
}

/** Kafka's Sanitizer.sanitize (a ZooKeeper node name for a user): URL encoding, "*" and " " as %2A and %20. */
export function sanitizeEntityName(name: string): string {
  let out = "";
  for (const b of Buffer.from(name, "utf8")) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** Kafka's Sanitizer.desanitize (URLDecoder): %XX bytes, "+" as a space. */
export function desanitizeEntityName(name: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (c === "%" && /^[0-9A-Fa-f]{2}$/.test(name.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c === "+") bytes.push(0x20);
    else {
      const ch = String.fromCodePoint(name.codePointAt(i)!);
      i += ch.length - 1;
      for (const b of Buffer.from(ch, "utf8")) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The znode of a user's config: /config/users/<sanitized name>. */
export function userConfigZnodePath(username: string): string {
  return `/config/users/${sanitizeEntityName(username)}`;
}

// ---- one authentication (ScramSaslServer) ----

export interface ScramServerOptions {
  /** The server's part of the nonce; random (24 bytes, base64) unless given. For tests only. */
  serverNonce?: string;
  /**
   * The secret fake credentials of unknown users are derived from. Give one that outlives the
   * process and is the same on every broker: with the default (random per process), the fake salt
   * of a name changes at a restart, which a patient observer can tell from a real user's.
   */
  fakeCredentialSecret?: Uint8Array;
  /** Iterations of the fake credential: the count most real users have (default 4096). */
  unknownUserIterations?: number;
  /**
   * Extensions of client-first other than tokenauth: ignored as RFC 5802 and Kafka do ("ignore",
   * the default), or refused ("reject"). tokenauth=true (a delegation token) is always refused.
   */
  extensions?: "ignore" | "reject";
}

type State = "RECEIVE_CLIENT_FIRST_MESSAGE" | "RECEIVE_CLIENT_FINAL_MESSAGE" | "COMPLETE" | "FAILED";

/** printable = %x21-2B / %x2D-7E: a nonce's characters (RFC 5802 section 7). */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
/** attr-val of an extension: Kafka's ALPHA "=" VALUE (a name of letters, a value without "," or NUL). */
const EXTENSION = /^([A-Za-z]+)=([^,\0]+)$/;

/**
 * The server side of one SCRAM authentication: first(client-first) returns server-first,
 * final(client-final) returns server-final, then `principal` is the user. Any failure throws
 * SaslAuthenticationError (send its message, log its reason) and ends the exchange.
 */
export class ScramServerExchange {
  readonly mechanism: ScramMechanism;
  private readonly digest: ScramDigest;
  private state: State = "RECEIVE_CLIENT_FIRST_MESSAGE";
  private username: string | undefined;
  private credential: ScramCredential | undefined;
  /** Why the credential is a fake one ("" for a real one). */
  private fakeReason = "";
  private gs2Header = "";
  private clientFirstBare = "";
  private serverFirst = "";
  private nonce = "";

  constructor(
    mechanism: ScramMechanism,
    private readonly lookup: (username: string) => ScramCredential | undefined,
    private readonly options: ScramServerOptions = {},
  ) {
    if (!isScramMechanism(mechanism)) throw new TypeError(`not a SCRAM mechanism: ${mechanism}`);
    this.mechanism = mechanism;
    this.digest = DIGEST[mechanism];
    const nonce = options.serverNonce;
    if (nonce !== undefined && !PRINTABLE.test(nonce)) throw new TypeError("serverNonce must be printable");
  }

  /** Whether the client has proved it knows the password. */
  get complete(): boolean {
    return this.state === "COMPLETE";
  }

  /** The authenticated user name (userPrincipal() makes it "User:<name>"); only once complete. */
  get principal(): string {
    if (this.state !== "COMPLETE" || this.username === undefined)
      throw new Error("SCRAM authentication has not completed");
    return this.username;
  }

  /**
   * client-first-message (RFC 5802 section 7), as Kafka accepts it:
   *
   *   gs2-header                   client-first-message-bare
   *   n,[a=<saslname>],            [m=...,]n=<saslname>,r=<c-nonce>[,<ext>=<value>]...
   *   ^ channel binding: "n" only ("y" and "p=" refused)    ^ "m=" refused
   *
   * e.g. "n,,n=user,r=rOprNGfwEbeRWgbNEkqO". Returns server-first-message:
   *
   *   r=<c-nonce><s-nonce>,s=<base64 salt>,i=<iterations>
   */
  first(clientFirst: Uint8Array): Buffer {
    this.expect("RECEIVE_CLIENT_FIRST_MESSAGE");
    try {
      const text = this.decode(clientFirst, "client-first");
      const parts = text.split(",");
      if (parts[0] !== "n") {
        if (parts[0] === "y" || parts[0].startsWith("p="))
          throw this.refused(`channel binding "${parts[0].slice(0, 20)}" requested: only "n" is supported`);
        throw this.refused("client-first does not start with a gs2 header");
      }
      if (parts.length < 4) throw this.refused("client-first is too short");
      let authzid = "";
      if (parts[1] !== "") {
        const a = parts[1].startsWith("a=") ? usernameFromSaslName(parts[1].slice(2)) : undefined;
        if (!a) throw this.refused("client-first has a malformed authzid");
        authzid = a;
      }
      this.gs2Header = `n,${parts[1]},`;
      this.clientFirstBare = text.slice(this.gs2Header.length);
      if (parts[2].startsWith("m=")) throw this.refused("client-first has a mandatory extension (m=)");
      const username = parts[2].startsWith("n=") ? usernameFromSaslName(parts[2].slice(2)) : undefined;
      if (!username) throw this.refused("client-first has no valid user name (n=)");
      if (!parts[3].startsWith("r=") || !PRINTABLE.test(parts[3].slice(2)))
        throw this.refused("client-first has no valid nonce (r=)");
      this.checkExtensions(parts.slice(4), "client-first", true);
      if (authzid !== "" && authzid !== username)
        throw new SaslAuthenticationError(AUTHZID_MISMATCH_MESSAGE, {
          reason: `authzid "${authzid}" is not the user "${username}"`,
        });

      this.username = username;
      this.credential = this.credentialOf(username);
      const serverNonce = this.options.serverNonce ?? randomBytes(24).toString("base64");
      this.nonce = parts[3].slice(2) + serverNonce;
      const c = this.credential;
      this.serverFirst = `r=${this.nonce},s=${c.salt.toString("base64")},i=${c.iterations}`;
      this.state = "RECEIVE_CLIENT_FINAL_MESSAGE";
      return Buffer.from(this.serverFirst, "utf8");
    } catch (e) {
      throw this.fail(e);
    }
  }

  /**
   * client-final-message (RFC 5802 section 7):
   *
   *   c=<base64 of the gs2 header>,r=<c-nonce><s-nonce>[,<ext>=<value>]...,p=<base64 proof>
   *   |<------------- client-final-message-without-proof ------------->|
   *
   * e.g. "c=biws,r=...,p=..." ("biws" is base64 of "n,,"). Returns server-final-message:
   *
   *   v=<base64 ServerSignature>
   *
   * AuthMessage = client-first-message-bare "," server-first-message "," client-final-message-without-proof
   */
  final(clientFinal: Uint8Array): Buffer {
    this.expect("RECEIVE_CLIENT_FINAL_MESSAGE");
    try {
      const text = this.decode(clientFinal, "client-final");
      const parts = text.split(",");
      if (parts.length < 3) throw this.refused("client-final is too short");
      const expectedBinding = `c=${Buffer.from(this.gs2Header, "utf8").toString("base64")}`;
      if (!parts[0].startsWith("c=")) throw this.refused("client-final has no channel binding (c=)");
      if (parts[0] !== expectedBinding)
        throw this.refused("client-final's channel binding is not client-first's gs2 header");
      // Kafka's rule (ScramSaslServer: the final nonce must end with the server-first one):
      // librdkafka sends its client nonce once more in front of it.
      if (!parts[1].startsWith("r=") || !parts[1].endsWith(this.nonce))
        throw this.refused("client-final's nonce is not the server's");
      const last = parts[parts.length - 1];
      this.checkExtensions(parts.slice(2, -1), "client-final", false);
      if (!last.startsWith("p=") || !BASE64_PADDED.test(last.slice(2)))
        throw this.refused("client-final has no valid proof (p=)");
      const proof = Buffer.from(last.slice(2), "base64");
      const withoutProof = text.slice(0, text.length - last.length - 1);
      const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;

      const c = this.credential!;
      const verified = verifyClientProof(this.digest, c.storedKey, authMessage, proof);
      if (!verified || this.fakeReason !== "")
        throw this.refused(this.fakeReason || `wrong proof for user "${this.username}" (wrong password)`);
      const signature = serverSignature(this.digest, c.serverKey, authMessage);
      this.clear();
      this.state = "COMPLETE";
      return Buffer.from(`v=${signature.toString("base64")}`, "utf8");
    } catch (e) {
      throw this.fail(e);
    }
  }

  /** The user's credential, or a fake one (and why) when there is none usable. */
  private credentialOf(username: string): ScramCredential {
    let c: ScramCredential | undefined;
    try {
      c = this.lookup(username);
    } catch (e) {
      this.fakeReason = `credentials of "${username}" could not be obtained: ${(e as Error).message}`;
    }
    if (!this.fakeReason) {
      if (!c) this.fakeReason = `user "${username}" has no ${this.mechanism} credential (unknown user)`;
      else if (c.iterations < SCRAM_MIN_ITERATIONS)
        this.fakeReason = `iterations ${c.iterations} of "${username}" is less than the minimum ${SCRAM_MIN_ITERATIONS} for ${this.mechanism}`;
      else if (
        c.storedKey.length !== scramKeyLength(this.mechanism) ||
        c.serverKey.length !== c.storedKey.length
      )
        this.fakeReason = `the ${this.mechanism} credential of "${username}" has keys of the wrong length`;
      else return c;
    }
    return fakeScramCredential(
      this.mechanism,
      username,
      this.options.fakeCredentialSecret,
      this.options.unknownUserIterations ?? SCRAM_MIN_ITERATIONS,
    );
  }

  private checkExtensions(exts: string[], where: string, first: boolean): void {
    for (const ext of exts) {
      const m = EXTENSION.exec(ext);
      if (!m) throw this.refused(`${where} has a malformed extension`);
      // Kafka's ScramExtensions.tokenAuthenticated: Boolean.parseBoolean(tokenauth).
      if (first && m[1] === "tokenauth") {
        if (m[2].toLowerCase() === "true")
          throw this.refused("delegation token authentication is not supported");
      } else if (this.options.extensions === "reject") throw this.refused(`${where} has extension ${m[1]}`);
    }
  }

  private decode(buf: Uint8Array, what: string): string {
    let text: string;
    try {
      text = utf8DecodeStrict(buf, 0, buf.length);
    } catch {
      throw this.refused(`${what} is not UTF-8`);
    }
    if (text.includes("\0")) throw this.refused(`${what} has a NUL`);
    return text;
  }

  private expect(state: State): void {
    if (this.state !== state) {
      const was = this.state;
      this.state = "FAILED";
      this.clear();
      throw new SaslAuthenticationError(`Unexpected challenge in Sasl server state ${was}`, {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
      });
    }
  }

  private refused(reason: string): SaslAuthenticationError {
    return new SaslAuthenticationError(invalidCredentialsMessage(this.mechanism), { reason });
  }

  private fail(e: unknown): SaslAuthenticationError {
    this.state = "FAILED";
    this.clear();
    if (e instanceof SaslAuthenticationError) return e;
    return this.refused(`unexpected error: ${(e as Error)?.message ?? e}`);
  }

  private clear(): void {
    this.credential = undefined;
    this.serverFirst = "";
    this.clientFirstBare = "";
  }
}
