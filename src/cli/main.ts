// The `milena` command line. `milena broker [config-file] [--override key=value ...]` starts a
// broker, as Kafka's `kafka-server-start.sh config/server.properties --override k=v`;
// `--print-config` prints the effective configuration and exits.

import { Broker } from "../broker/broker.ts";
import {
  ConfigError,
  KEYS,
  loadConfigFile,
  parseOverrides,
  type RawConfig,
  resolveConfig,
} from "../broker/config.ts";

const USAGE = `usage: milena broker [config-file] [--override key=value ...] [--print-config]`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "broker") {
    process.stderr.write(
      `${command === undefined ? "no command given" : `unknown command "${command}"`}\n${USAGE}\n`,
    );
    return 2;
  }
  let file: string | null = null;
  const overrides: string[] = [];
  let print = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === "--override") {
      if (i + 1 >= rest.length) {
        process.stderr.write(`--override needs key=value\n${USAGE}\n`);
        return 2;
      }
      overrides.push(rest[++i]);
    } else if (a.startsWith("--override=")) overrides.push(a.slice("--override=".length));
    else if (a === "--print-config") print = true;
    else if (a.startsWith("-")) {
      process.stderr.write(`unknown option ${a}\n${USAGE}\n`);
      return 2;
    } else if (file === null) file = a;
    else {
      process.stderr.write(`unexpected argument ${a}\n${USAGE}\n`);
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
      process.stdout.write(`${key}=${e.value ?? ""}${e.source === "default" ? "  # default" : ""}\n`);
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
  try {
    await broker.start();
  } catch (e) {
    process.stderr.write(`milena: cannot start: ${(e as Error).message}\n`);
    await broker.stop().catch(() => {});
    return 1;
  }
  // Tests and scripts read this line to find the bound ports.
  process.stdout.write(
    `milena started kafka=${broker.ports.kafka} websocket=${broker.ports.websocket ?? "off"}\n`,
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
