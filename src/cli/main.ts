// The `milena` command line. `milena broker [config-file] [--override key=value ...]` starts a
// broker, as Kafka's `kafka-server-start.sh config/server.properties --override k=v`;
// `--print-config` prints the effective configuration and exits. The other commands are Kafka's
// tools through Milena's client: topics, produce, consume, perf (and groups).
// Exit codes: 0 done, 1 failed (broker error, unreachable broker, bad config), 2 wrong usage.

import { Broker } from "../broker/broker.ts";
import {
  ConfigError,
  KEYS,
  loadConfigFile,
  parseOverrides,
  type RawConfig,
  resolveConfig,
} from "../broker/config.ts";

const BROKER_USAGE = "usage: milena broker [config-file] [--override key=value ...] [--print-config]";
const USAGE = `usage: milena <command> ...
  broker    start a broker: milena broker [config-file] [--override key=value ...] [--print-config]
  topics    create|list|describe|delete|alter-config topics
  produce   produce lines from stdin to a topic
  consume   print a topic's records
  perf      produce|consume load tests
  groups    list|describe|delete|reset-offsets consumer groups
  cluster   status: brokers, controller, under-replicated and offline partitions
  users     add|delete|list: SCRAM users of the SASL listeners (a broker's credentials file)
  acls      add|remove|list: ACLs of the authorizer (as kafka-acls.sh)
  mirror    run replication flows between clusters: milena mirror config.properties (MirrorMaker 2)
run 'milena <command> --help' for its options`;

type ClientCommand = { run: (argv: string[]) => Promise<number>; usage: string };

async function clientCommand(name: string): Promise<ClientCommand | null> {
  switch (name) {
    case "topics": {
      const m = await import("./topics.ts");
      return { run: m.topics, usage: m.TOPICS_USAGE };
    }
    case "produce": {
      const m = await import("./produce.ts");
      return { run: m.produce, usage: m.PRODUCE_USAGE };
    }
    case "consume": {
      const m = await import("./consume.ts");
      return { run: m.consume, usage: m.CONSUME_USAGE };
    }
    case "perf": {
      const m = await import("./perf.ts");
      return { run: m.perf, usage: m.PERF_USAGE };
    }
    case "groups": {
      const m = await import("./groups.ts");
      return { run: m.groups, usage: m.GROUPS_USAGE };
    }
    case "cluster": {
      const m = await import("./cluster.ts");
      return { run: m.cluster, usage: m.CLUSTER_USAGE };
    }
    case "users": {
      const m = await import("./users.ts");
      return { run: m.users, usage: m.USERS_USAGE };
    }
    case "acls": {
      const m = await import("./acls.ts");
      return { run: m.acls, usage: m.ACLS_USAGE };
    }
    case "mirror": {
      const m = await import("./mirror.ts");
      return { run: m.mirror, usage: m.MIRROR_USAGE };
    }
    default:
      return null;
  }
}

async function runClientCommand(cmd: ClientCommand, argv: string[]): Promise<number> {
  const { UsageError } = await import("./args.ts");
  const { describeError } = await import("./common.ts");
  if (argv.includes("--help")) {
    process.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`milena: ${e.message}\n${cmd.usage}\n`);
      return 2;
    }
    process.stderr.write(`milena: ${describeError(e)}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "help") {
    process.stderr.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== "broker") {
    const cmd = await clientCommand(command);
    if (cmd === null) {
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      return 2;
    }
    return runClientCommand(cmd, rest);
  }
  let file: string | null = null;
  const overrides: string[] = [];
  let print = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--override") {
      if (i + 1 >= rest.length) {
        process.stderr.write(`--override needs key=value\n${BROKER_USAGE}\n`);
        return 2;
      }
      overrides.push(rest[++i]);
    } else if (a.startsWith("--override=")) overrides.push(a.slice("--override=".length));
    else if (a === "--print-config") print = true;
    else if (a.startsWith("-")) {
      process.stderr.write(`unknown option ${a}\n${BROKER_USAGE}\n`);
      return 2;
    } else if (file === null) file = a;
    else {
      process.stderr.write(`unexpected argument ${a}\n${BROKER_USAGE}\n`);
      return 2;
    }
  }
  let config: ReturnType<typeof resolveConfig>;
  try {
    const fromFile: RawConfig = file === null ? new Map() : loadConfigFile(file);
    config = resolveConfig(fromFile, parseOverrides(overrides));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`milena: configuration error: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if (print) {
    for (const key of Object.keys(KEYS).sort()) {
      const e = config.effective.get(key)!;
      const value = KEYS[key].sensitive === true && e.value !== null ? "[hidden]" : (e.value ?? "");
      process.stdout.write(`${key}=${value}${e.source === "default" ? "  # default" : ""}\n`);
    }
    return 0;
  }
  // Signal handlers first: a SIGTERM that arrives while starting (or right after the "started"
  // line) must still mean a clean shutdown, not the default kill.
  const stopRequested = new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      process.stderr.write(`[milena] ${sig}: shutting down\n`);
      resolve();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
  const broker = new Broker(config);
  broker.installProcessHandlers();
  try {
    await broker.start();
  } catch (e) {
    process.stderr.write(`milena: cannot start: ${(e as Error).message}\n`);
    await broker.stop().catch(() => {});
    return 1;
  }
  // Tests and scripts read these lines to find the bound ports (the Schema Registry's on a line of
  // its own, before the started line, so parsers of the started line are unaffected).
  process.stdout.write(`milena schema.registry=${broker.ports.schemaRegistry ?? "off"}\n`);
  process.stdout.write(
    `milena started kafka=${broker.ports.kafka} websocket=${broker.ports.websocket ?? "off"} listeners=${Object.entries(
      broker.ports.listeners,
    )
      .map(([name, port]) => `${name}:${port}`)
      .join(",")} metrics=${broker.ports.metrics ?? "off"}\n`,
  );
  await stopRequested;
  await broker.stop();
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`milena: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
