// `milena users add|delete|list`: the SCRAM users of a broker's SASL listeners, written into its
// credentials file (sasl.credentials.file; salted, never the password), as `kafka-configs.sh
// --alter --add-config 'SCRAM-SHA-512=[password=...]' --entity-type users` does through the
// cluster. The file is read at the broker's start: add the first user before starting it (a
// running broker takes AlterUserScramCredentials, e.g. from kafka-configs.sh, instead).

import { loadConfigFile, resolveConfig } from "../broker/config.ts";
import {
  deleteCredential,
  loadCredentialsFile,
  updateCredentialsFile,
} from "../broker/security/credentials_file.ts";
import { isScramMechanism, SCRAM_MECHANISMS, scramCredential } from "../broker/security/scram.ts";
import { parseArgs, UsageError } from "./args.ts";
import { out } from "./common.ts";

export const USERS_USAGE = `usage:
  milena users add USER --password PASSWORD [--mechanism SCRAM-SHA-256|SCRAM-SHA-512 ...] [--iterations N]
  milena users delete USER [--mechanism M ...]
  milena users list
options: --file PATH (the credentials file), or --config server.properties (its sasl.credentials.file,
  default sasl-credentials.json in its first log dir)`;

const SPEC = {
  file: { type: "string" as const },
  config: { type: "string" as const },
  password: { type: "string" as const },
  mechanism: { type: "string" as const, repeat: true },
  iterations: { type: "number" as const },
};

export async function users(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const p = parseArgs(rest, SPEC);
  const one = (name: string) => p.options.get(name)?.[0] as string | undefined;
  const file =
    one("file") ??
    (one("config") !== undefined
      ? resolveConfig(loadConfigFile(one("config")!)).saslCredentialsFile
      : undefined);
  if (file === undefined) throw new UsageError("give --file PATH or --config server.properties");
  const mechanisms = ((p.options.get("mechanism") as string[] | undefined) ?? [...SCRAM_MECHANISMS]).map(
    (m) => m.toUpperCase(),
  );
  for (const m of mechanisms)
    if (!isScramMechanism(m)) throw new UsageError(`--mechanism ${m}: SCRAM-SHA-256 or SCRAM-SHA-512`);
  switch (action) {
    case "add": {
      const [user] = p.positionals;
      const password = one("password");
      if (user === undefined || password === undefined)
        throw new UsageError("users add needs USER and --password");
      const iterations = (p.options.get("iterations")?.[0] as number | undefined) ?? 4096;
      updateCredentialsFile(file, (store) => {
        for (const m of mechanisms)
          if (isScramMechanism(m)) {
            const creds = store.get(user) ?? {};
            creds[m] = scramCredential(m, password, iterations);
            store.set(user, creds);
          }
      });
      out(`${user}: ${mechanisms.join(", ")} stored in ${file}`);
      return 0;
    }
    case "delete": {
      const [user] = p.positionals;
      if (user === undefined) throw new UsageError("users delete needs USER");
      let found = false;
      updateCredentialsFile(file, (store) => {
        for (const m of mechanisms)
          if (isScramMechanism(m)) found = deleteCredential(store, user, m) || found;
      });
      out(
        found
          ? `${user}: ${mechanisms.join(", ")} deleted from ${file}`
          : `${user}: no such credential in ${file}`,
      );
      return found ? 0 : 1;
    }
    case "list": {
      const store = loadCredentialsFile(file, { allowMissing: true });
      for (const [user, creds] of [...store].sort(([a], [b]) => (a < b ? -1 : 1)))
        out(
          `${user}\t${Object.entries(creds)
            .map(([m, c]) => `${m} (${c?.iterations} iterations)`)
            .join(", ")}`,
        );
      return 0;
    }
    default:
      throw new UsageError(`unknown users action ${JSON.stringify(action ?? "")}`);
  }
}
