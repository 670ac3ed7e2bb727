// Where this broker's SASL credentials live, and the users' SCRAM credentials in memory: a
// single broker keeps them in sasl.credentials.file (credentials_file.ts: salted, no password);
// every lookup of an authentication reads the in-memory copy, which changes only through
// AlterUserScramCredentials (or a restart after `milena users` edited the file offline).
// Also the secret that makes an unknown user's fake SCRAM salt the same at every attempt
// (scram.ts): random, made once, kept beside the credentials (mode 0600).

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

export class SaslCredentials {
  private store: CredentialStore = new Map();
  /** The fake-credential secret (32 bytes). */
  readonly secret: Buffer;
  /** Writes of the file, one at a time. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {
    this.store = loadCredentialsFile(path, { allowMissing: true });
    this.secret = loadSecret(join(dirname(path), SECRET_FILE));
  }

  user(name: string): UserScramCredentials | undefined {
    return this.store.get(name);
  }

  users(): string[] {
    return [...this.store.keys()].sort();
  }

  /**
   * Apply upsertions and deletions (AlterUserScramCredentials), then write the file; resolves
   * once it is durable. A write failure rejects and leaves the memory as it was.
   */
  alter(
    upserts: readonly { user: string; mechanism: ScramMechanism; credential: ScramCredential }[],
    deletes: readonly { user: string; mechanism: ScramMechanism }[],
  ): Promise<void> {
    const next: CredentialStore = new Map([...this.store].map(([u, c]) => [u, { ...c }]));
    for (const d of deletes) deleteCredential(next, d.user, d.mechanism);
    for (const u of upserts) upsertCredential(next, u.user, u.mechanism, u.credential);
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

function loadSecret(path: string): Buffer {
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
