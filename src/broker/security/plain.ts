// SASL PLAIN (RFC 4616), the broker's side, with Kafka's rules (PlainSaslServer): one message from
// the client, checked against the user's stored SCRAM credential.
//
// Kafka's default PLAIN callback compares the password with a plaintext one from the JAAS file.
// Milena never stores a password, so PLAIN is verified against the credential SCRAM uses: the
// password is salted with the credential's salt and iterations (SaltedPassword = Hi(password,
// salt, i)) and the StoredKey and ServerKey it gives are compared with the stored ones in constant
// time. SCRAM-SHA-512 is used when the user has it, else SCRAM-SHA-256. One credential per user and
// mechanism serves both SASL mechanisms.
//
// Errors (SaslAuthenticationError; its message goes to the client), as Kafka answers:
//   malformed message, empty user name or password
//       -> "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN"
//   unknown user, no credential, wrong password
//       -> "Authentication failed: Invalid username or password"
//   authzid not empty and not the user (checked after the password, as Kafka does)
//       -> "Authentication failed: Client requested an authorization id that is different from username"
// An unknown user costs the same PBKDF2 as a known one (against a fake SCRAM-SHA-512 credential),
// so the time taken does not tell them apart either.
//
// Unlike Kafka, a message with more than two NULs is refused (RFC 4616: no NUL in a password);
// Kafka silently cuts the password at the third NUL.

import { pbkdf2 as pbkdf2Callback, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { utf8DecodeStrict } from "../../protocol/utf8.ts";
import { AUTHZID_MISMATCH_MESSAGE, invalidCredentialsMessage, SaslAuthenticationError } from "./errors.ts";
import {
  credentialFromSaltedPassword,
  fakeScramCredential,
  SCRAM_MIN_ITERATIONS,
  type ScramCredential,
  type ScramMechanism,
  saltedPassword,
  scramDigest,
  scramKeyLength,
  type UserScramCredentials,
} from "./scram.ts";

export { SaslAuthenticationError } from "./errors.ts";

const pbkdf2 = promisify(pbkdf2Callback);

/** PlainSaslServer's SaslAuthenticationException for a user or password that does not verify. */
export const PLAIN_INVALID_MESSAGE = "Authentication failed: Invalid username or password";

/** A user's credentials (both SCRAM mechanisms, either may be missing); undefined for an unknown user. */
export type PlainLookup = (username: string) => UserScramCredentials | undefined;

export interface PlainOptions {
  /** As ScramServerOptions.fakeCredentialSecret: what an unknown user's fake credential is derived from. */
  fakeCredentialSecret?: Uint8Array;
}

export interface PlainMessage {
  authzid: string;
  username: string;
  password: string;
}

/**
 * RFC 4616 section 2:
 *
 *   message = [authzid] UTF8NUL authcid UTF8NUL passwd
 *             e.g. "\0alice\0alice-secret", or "alice\0alice\0alice-secret"
 *
 * Exactly two NULs, strict UTF-8; an empty authcid or passwd is refused (SaslAuthenticationError
 * with Kafka's generic message).
 */
export function parsePlainMessage(message: Uint8Array): PlainMessage {
  const refuse = (reason: string) =>
    new SaslAuthenticationError(invalidCredentialsMessage("PLAIN"), { reason });
  let text: string;
  try {
    text = utf8DecodeStrict(message, 0, message.length);
  } catch {
    throw refuse("Invalid SASL/PLAIN response: not UTF-8");
  }
  const tokens = text.split("\0");
  if (tokens.length !== 3)
    throw refuse(`Invalid SASL/PLAIN response: expected 3 tokens, got ${tokens.length}`);
  const [authzid, username, password] = tokens;
  if (username === "") throw refuse("Authentication failed: username not specified");
  if (password === "") throw refuse("Authentication failed: password not specified");
  return { authzid, username, password };
}

/** The credential PLAIN checks: SCRAM-SHA-512 if the user has a usable one, else SCRAM-SHA-256. */
function chooseCredential(
  username: string,
  lookup: PlainLookup,
  options: PlainOptions,
): { mechanism: ScramMechanism; credential: ScramCredential; fakeReason: string } {
  let creds: UserScramCredentials | undefined;
  let fakeReason = `user "${username}" has no SCRAM credential (unknown user)`;
  try {
    creds = lookup(username);
  } catch (e) {
    fakeReason = `credentials of "${username}" could not be obtained: ${(e as Error).message}`;
  }
  for (const mechanism of ["SCRAM-SHA-512", "SCRAM-SHA-256"] as const) {
    const c = creds?.[mechanism];
    if (!c) continue;
    if (c.iterations < SCRAM_MIN_ITERATIONS || c.storedKey.length !== scramKeyLength(mechanism)) {
      fakeReason = `the ${mechanism} credential of "${username}" is unusable`;
      continue;
    }
    return { mechanism, credential: c, fakeReason: "" };
  }
  const mechanism = "SCRAM-SHA-512";
  return {
    mechanism,
    credential: fakeScramCredential(mechanism, username, options.fakeCredentialSecret),
    fakeReason,
  };
}

/** Whether SaltedPassword gives the credential's StoredKey and ServerKey (both compared in constant time). */
function matches(mechanism: ScramMechanism, stored: ScramCredential, salted: Buffer): boolean {
  const computed = credentialFromSaltedPassword(
    scramDigest(mechanism),
    stored.salt,
    salted,
    stored.iterations,
  );
  salted.fill(0);
  const storedOk = timingSafeEqual(computed.storedKey, stored.storedKey);
  const serverOk =
    computed.serverKey.length === stored.serverKey.length &&
    timingSafeEqual(computed.serverKey, stored.serverKey);
  return storedOk && serverOk;
}

function conclude(msg: PlainMessage, verified: boolean, fakeReason: string): { username: string } {
  if (!verified || fakeReason !== "")
    throw new SaslAuthenticationError(PLAIN_INVALID_MESSAGE, {
      reason: fakeReason || `wrong password for user "${msg.username}"`,
    });
  if (msg.authzid !== "" && msg.authzid !== msg.username)
    throw new SaslAuthenticationError(AUTHZID_MISMATCH_MESSAGE, {
      reason: `authzid "${msg.authzid}" is not the user "${msg.username}"`,
    });
  return { username: msg.username };
}

/**
 * Verify a PLAIN message: the authenticated user name, or SaslAuthenticationError. Runs PBKDF2
 * (4096+ iterations) on the calling thread: a few milliseconds of blocked event loop per login,
 * so the broker should prefer verifyPlainAsync.
 */
export function verifyPlain(
  message: Uint8Array,
  lookup: PlainLookup,
  options: PlainOptions = {},
): { username: string } {
  const msg = parsePlainMessage(message);
  const { mechanism, credential, fakeReason } = chooseCredential(msg.username, lookup, options);
  const salted = saltedPassword(scramDigest(mechanism), msg.password, credential.salt, credential.iterations);
  return conclude(msg, matches(mechanism, credential, salted), fakeReason);
}

/** verifyPlain with PBKDF2 on libuv's thread pool, off the event loop. */
export async function verifyPlainAsync(
  message: Uint8Array,
  lookup: PlainLookup,
  options: PlainOptions = {},
): Promise<{ username: string }> {
  const msg = parsePlainMessage(message);
  const { mechanism, credential, fakeReason } = chooseCredential(msg.username, lookup, options);
  const digest = scramDigest(mechanism);
  const password = Buffer.from(msg.password, "utf8");
  let salted: Buffer;
  try {
    salted = await pbkdf2(
      password,
      credential.salt,
      credential.iterations,
      scramKeyLength(mechanism),
      digest,
    );
  } finally {
    password.fill(0);
  }
  return conclude(msg, matches(mechanism, credential, salted), fakeReason);
}
