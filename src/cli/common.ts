// What the client-side commands share: the --bootstrap option (host:port for the Kafka protocol
// over TCP, ws://host:port for it over WebSocket), --command-config (TLS and SASL settings,
// command_config.ts), the client, and how errors end the process.

import { Milena } from "../client/node.ts";
import { type OptionSpec, type Parsed, str } from "./args.ts";
import { loadCommandConfig } from "./command_config.ts";

export const DEFAULT_BOOTSTRAP = "127.0.0.1:9092";

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  bootstrap: { type: "string" },
  "timeout-ms": { type: "number" },
  "command-config": { type: "string" },
  help: { type: "boolean" },
};

export function client(p: Parsed, bootstrap = str(p, "bootstrap") ?? DEFAULT_BOOTSTRAP): Milena {
  const timeout = (p.options.get("timeout-ms")?.[0] as number | undefined) ?? 10_000;
  const file = str(p, "command-config");
  const security = file === undefined ? {} : loadCommandConfig(file);
  return new Milena({
    ...security,
    bootstrap,
    clientId: "milena-cli",
    connectionTimeout: timeout,
    requestTimeout: Math.max(timeout, 30_000),
    retry: { retries: 2 },
  });
}

/** A one-line description of an error for the terminal (Kafka's error name when there is one). */
export function describeError(e: unknown): string {
  const err = e as Error & { type?: string; code?: number | string };
  const kind = err.type ?? (typeof err.code === "number" ? `error ${err.code}` : undefined);
  return kind && !err.message.includes(kind) ? `${kind}: ${err.message}` : err.message;
}

export function out(line: string): void {
  process.stdout.write(`${line}\n`);
}
