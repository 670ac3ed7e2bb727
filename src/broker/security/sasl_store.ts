// Where this broker's SASL credentials live, and the users' SCRAM credentials in memory. The
// SASL handlers and the user APIs see only the SaslCredentials interface; two stores implement
// it: FileSaslCredentials (a single broker: sasl.credentials.file, credentials_file.ts: salted,
// no password) and ZkSaslCredentials (a cluster: /config/users/<user> in ZooKeeper, as Kafka's
// ZooKeeper mode keeps them, src/cluster/zk_security.ts). Every lookup of an authentication reads
// the in-memory copy, which changes through AlterUserScramCredentials (and, in a cluster, the
// change notifications of the other brokers' writes; for the file, a restart after `milena
// users` edited it offline).
// Also the secret that makes an unknown user's fake SCRAM salt the same at every attempt
// (scram.ts): random, made once, kept beside the credentials file (mode 0600).

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { dirname, join } from "node:path";
import {
  type CredentialStore,
  deleteCredential,
  loadCredentialsFile,
  saveCredentialsFile,
  upsertCredential,
} from "./credentials_file.ts";
import type { ScramCredential, ScramMechanism, UserScramCredentials } from "./scram.ts";

const SECRET_FILE = "sasl-fake-credential.secret";

export interface CredentialUpsert {
  user: string;
  mechanism: ScramMechanism;
  credential: ScramCredential;
}

export interface CredentialDeletion {
  user: string;
  mechanism: ScramMechanism;
}

/** What the SASL handlers and the user APIs ask, wherever the credentials are kept. */
export interface SaslCredentials {
  /** The fake-credential secret (32 bytes). */
  readonly secret: Buffer;
  user(name: string): UserScramCredentials | undefined;
  /** Every user with a credential, sorted. */
  users(): string[];
  /**
   * Apply upsertions and deletions (AlterUserScramCredentials); resolves once they are stored
   * durably. A failure rejects (what was not stored is not in memory either).
   */
  alter(upserts: readonly CredentialUpsert[], deletes: readonly CredentialDeletion[]): Promise<void>;
}

/** The store's copy with the deletions then the upsertions applied. */
export function alteredStore(
  store: CredentialStore,
  upserts: readonly CredentialUpsert[],
  deletes: readonly CredentialDeletion[],
): CredentialStore {
  const next: CredentialStore = new Map([...store].map(([u, c]) => [u, { ...c }]));
  for (const d of deletes) deleteCredential(next, d.user, d.mechanism);
  for (const u of upserts) upsertCredential(next, u.user, u.mechanism, u.credential);
  return next;
}

/** A single broker's credentials: sasl.credentials.file, rewritten whole on every change. */
export class FileSaslCredentials implements SaslCredentials {
  private store: CredentialStore = new Map();
  readonly secret: Buffer;
  /** Writes of the file, one at a time. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {
    this.store = loadCredentialsFile(path, { allowMissing: true });
    this.secret = loadSecret(dirname(path));
  }

  user(name: string): UserScramCredentials | undefined {
    return this.store.get(name);
  }

  users(): string[] {
    return [...this.store.keys()].sort();
  }

  alter(upserts: readonly CredentialUpsert[], deletes: readonly CredentialDeletion[]): Promise<void> {
    const next = alteredStore(this.store, upserts, deletes);
    const write = this.writing
      .catch(() => {})
      .then(() => {
        saveCredentialsFile(this.path, next);
        this.store = next;
      });
    this.writing = write;
    return write;
  }
}

/** The fake-credential secret in `dir` (made there, mode 0600, the first time). */
export function loadSecret(dir: string): Buffer {
  const path = join(dir, SECRET_FILE);
  try {
    const s = fs.readFileSync(path);
    if (s.length === 32) return s;
  } catch {
    // made below
  }
  const s = randomBytes(32);
  fs.mkdirSync(dirname(path), { recursive: true });
  fs.writeFileSync(path, s, { mode: 0o600 });
  return s;
}
