// `milena users add|delete|list`: the SCRAM users of a broker's SASL listeners, written into its
// credentials file (sasl.credentials.file; salted, never the password), as `kafka-configs.sh
// --alter --add-config 'SCRAM-SHA-512=[password=...]' --entity-type users` does through the
// cluster. The file is read at the broker's start: add the first user before starting it (a
// running broker takes AlterUserScramCredentials, e.g. from kafka-configs.sh, instead).
// With --zookeeper CONNECT, a cluster's users instead: /config/users/<user> and a change
// notification, as `kafka-configs.sh --zookeeper CONNECT --alter ... --entity-type users` wrote
// them (src/cluster/zk_security.ts), so the first admin of a SASL-only cluster exists before any
// broker runs; running brokers pick the change up within a second.

import { loadConfigFile, resolveConfig } from "../broker/config.ts";
import {
  deleteCredential,
  loadCredentialsFile,
  updateCredentialsFile,
} from "../broker/security/credentials_file.ts";
import {
  isScramMechanism,
  SCRAM_MECHANISMS,
  type ScramMechanism,
  scramCredential,
  userConfigZnodePath,
} from "../broker/security/scram.ts";
import { alterUserCredentials, readAllUserCredentials } from "../cluster/zk_security.ts";
import { ZkSession } from "../cluster/zookeeper.ts";
import { parseArgs, UsageError } from "./args.ts";
import { out } from "./common.ts";

export const USERS_USAGE = `usage:
  milena users add USER --password PASSWORD [--mechanism SCRAM-SHA-256|SCRAM-SHA-512 ...] [--iterations N]
  milena users delete USER [--mechanism M ...]
  milena users list
options: --file PATH (the credentials file), or --config server.properties (its sasl.credentials.file,
  default sasl-credentials.json in its first log dir), or --zookeeper HOST:PORT[/chroot] (a cluster's
  users in ZooKeeper, the brokers' zookeeper.connect)`;

const SPEC = {
  file: { type: "string" as const },
  config: { type: "string" as const },
  zookeeper: { type: "string" as const },
  password: { type: "string" as const },
  mechanism: { type: "string" as const, repeat: true },
  iterations: { type: "number" as const },
};

export async function users(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const p = parseArgs(rest, SPEC);
  const one = (name: string) => p.options.get(name)?.[0] as string | undefined;
  const zookeeper = one("zookeeper");
  if (zookeeper !== undefined) {
    if (one("file") !== undefined || one("config") !== undefined)
      throw new UsageError("give one of --zookeeper, --file and --config");
    return zkUsers(action, p, zookeeper);
  }
  const file =
    one("file") ??
    (one("config") !== undefined
      ? resolveConfig(loadConfigFile(one("config")!)).saslCredentialsFile
      : undefined);
  if (file === undefined)
    throw new UsageError("give --file PATH, --config server.properties or --zookeeper CONNECT");
  const mechanisms = mechanismsOf(p);
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

function mechanismsOf(p: ReturnType<typeof parseArgs>): ScramMechanism[] {
  const mechanisms = ((p.options.get("mechanism") as string[] | undefined) ?? [...SCRAM_MECHANISMS]).map(
    (m) => m.toUpperCase(),
  );
  const out: ScramMechanism[] = [];
  for (const m of mechanisms) {
    if (!isScramMechanism(m)) throw new UsageError(`--mechanism ${m}: SCRAM-SHA-256 or SCRAM-SHA-512`);
    out.push(m);
  }
  return out;
}

/** The same actions on a cluster's users in ZooKeeper. */
async function zkUsers(
  action: string | undefined,
  p: ReturnType<typeof parseArgs>,
  connect: string,
): Promise<number> {
  const mechanisms = mechanismsOf(p);
  const [user] = p.positionals;
  if (action === "add" && (user === undefined || p.options.get("password") === undefined))
    throw new UsageError("users add needs USER and --password");
  if (action === "delete" && user === undefined) throw new UsageError("users delete needs USER");
  if (action !== "add" && action !== "delete" && action !== "list")
    throw new UsageError(`unknown users action ${JSON.stringify(action ?? "")}`);
  const zk = await ZkSession.connect(connect, { sessionTimeoutMs: 10_000, connectionTimeoutMs: 15_000 });
  try {
    if (action === "add") {
      const password = p.options.get("password")![0] as string;
      const iterations = (p.options.get("iterations")?.[0] as number | undefined) ?? 4096;
      await alterUserCredentials(zk, user!, (creds) => {
        for (const m of mechanisms) creds[m] = scramCredential(m, password, iterations);
      });
      out(`${user}: ${mechanisms.join(", ")} stored in ZooKeeper ${connect} (${userConfigZnodePath(user!)})`);
      return 0;
    }
    if (action === "delete") {
      let found = false;
      await alterUserCredentials(zk, user!, (creds) => {
        for (const m of mechanisms)
          if (creds[m] !== undefined) {
            found = true;
            delete creds[m];
          }
      });
      out(
        found
          ? `${user}: ${mechanisms.join(", ")} deleted from ZooKeeper ${connect}`
          : `${user}: no such credential in ZooKeeper ${connect}`,
      );
      return found ? 0 : 1;
    }
    const store = await readAllUserCredentials(zk);
    for (const [name, creds] of [...store].sort(([a], [b]) => (a < b ? -1 : 1)))
      out(
        `${name}\t${Object.entries(creds)
          .map(([m, c]) => `${m} (${c?.iterations} iterations)`)
          .join(", ")}`,
      );
    return 0;
  } finally {
    zk.close();
  }
}
