// A single broker's SASL credential store: one JSON file (named by a broker config key, e.g.
// sasl.credentials.file) holding each user's SCRAM credentials in Kafka's stored form
// (ScramCredentialUtils, see scram.ts). SCRAM and PLAIN both authenticate against it; no password
// is in it.
//
//   {
//     "users": {
//       "alice": {
//         "SCRAM-SHA-256": "salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=4096",
//         "SCRAM-SHA-512": "salt=<base64>,stored_key=<base64>,server_key=<base64>,iterations=4096"
//       }
//     }
//   }
//
// A user may have either mechanism or both. Loading checks every entry and names the file and
// the entry that is wrong (never printing key material). Saving writes the whole file to a
// temporary name in the same directory (mode 0600), fsyncs it, renames it over the old one and
// fsyncs the directory: a crash leaves the old file or the new one, never half of one.

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import {
  formatScramCredential,
  isScramMechanism,
  parseScramCredential,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
  type UserScramCredentials,
} from "./scram.ts";

/** User name -> that user's credentials. */
export type CredentialStore = Map<string, UserScramCredentials>;

export class CredentialsFileError extends Error {
  override name = "CredentialsFileError";
}

/** Parse the file's text; `path` only names the file in errors. */
export function parseCredentialsFile(text: string, path: string): CredentialStore {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CredentialsFileError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(doc)) throw new CredentialsFileError(`${path}: expected a JSON object with "users"`);
  for (const key of Object.keys(doc))
    if (key !== "users") throw new CredentialsFileError(`${path}: unknown top-level key "${key}"`);
  const users = doc.users;
  if (!isObject(users)) throw new CredentialsFileError(`${path}: "users" must be an object`);
  const store: CredentialStore = new Map();
  for (const [name, entry] of Object.entries(users)) {
    const where = `${path}: user ${JSON.stringify(name)}`;
    if (name === "") throw new CredentialsFileError(`${path}: a user name is empty`);
    if (!isObject(entry)) throw new CredentialsFileError(`${where}: expected an object of mechanisms`);
    const creds: UserScramCredentials = {};
    for (const [mechanism, value] of Object.entries(entry)) {
      if (!isScramMechanism(mechanism))
        throw new CredentialsFileError(
          `${where}: unknown mechanism ${JSON.stringify(mechanism)} (expected ${SCRAM_MECHANISMS.join(" or ")})`,
        );
      if (typeof value !== "string")
        throw new CredentialsFileError(`${where} ${mechanism}: expected a string`);
      try {
        creds[mechanism] = parseScramCredential(value, mechanism);
      } catch (e) {
        throw new CredentialsFileError(`${where} ${mechanism}: ${(e as Error).message}`);
      }
    }
    store.set(name, creds);
  }
  return store;
}

/** The file's text: users sorted by name, mechanisms in SCRAM_MECHANISMS order, a user without any left out. */
export function formatCredentialsFile(store: CredentialStore): string {
  const users: Record<string, Record<string, string>> = Object.create(null);
  for (const name of [...store.keys()].sort()) {
    const creds = store.get(name)!;
    const entry: Record<string, string> = {};
    for (const m of SCRAM_MECHANISMS) {
      const c = creds[m];
      if (c) entry[m] = formatScramCredential(c);
    }
    if (Object.keys(entry).length > 0) users[name] = entry;
  }
  return `${JSON.stringify({ users }, null, 2)}\n`;
}

/**
 * Read and check the file. A missing file is an error (the broker was told to use it) unless
 * allowMissing, which gives an empty store (the first credential will create the file).
 */
export function loadCredentialsFile(path: string, options: { allowMissing?: boolean } = {}): CredentialStore {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === "ENOENT" && options.allowMissing) return new Map();
    throw new CredentialsFileError(`${path}: cannot read the credentials file: ${err.message}`);
  }
  return parseCredentialsFile(text, path);
}

/** Write the whole store to `path` atomically and durably, mode 0600. */
export function saveCredentialsFile(path: string, store: CredentialStore): void {
  const data = Buffer.from(formatCredentialsFile(store), "utf8");
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", 0o600);
  try {
    try {
      fs.fchmodSync(fd, 0o600); // whatever the umask
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, path);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  const dfd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/** Set (add or replace) one mechanism's credential of a user. */
export function upsertCredential(
  store: CredentialStore,
  username: string,
  mechanism: ScramMechanism,
  credential: ScramCredential,
): void {
  if (username === "") throw new TypeError("user name must not be empty");
  store.set(username, { ...store.get(username), [mechanism]: credential });
}

/** Remove one mechanism's credential of a user (and the user with its last one); false if it had none. */
export function deleteCredential(
  store: CredentialStore,
  username: string,
  mechanism: ScramMechanism,
): boolean {
  const creds = store.get(username);
  if (!creds?.[mechanism]) return false;
  const rest: UserScramCredentials = { ...creds };
  delete rest[mechanism];
  if (Object.keys(rest).length === 0) store.delete(username);
  else store.set(username, rest);
  return true;
}

/** Load (a missing file being empty), change, save: for the broker's AlterUserScramCredentials. */
export function updateCredentialsFile<T>(path: string, change: (store: CredentialStore) => T): T {
  const store = loadCredentialsFile(path, { allowMissing: true });
  const result = change(store);
  saveCredentialsFile(path, store);
  return result;
}

/** A ScramServerExchange lookup over the store. */
export function scramLookup(
  store: CredentialStore,
  mechanism: ScramMechanism,
): (username: string) => ScramCredential | undefined {
  return (username) => store.get(username)?.[mechanism];
}

/** A verifyPlain lookup over the store. */
export function plainLookup(store: CredentialStore): (username: string) => UserScramCredentials | undefined {
  return (username) => store.get(username);
}
