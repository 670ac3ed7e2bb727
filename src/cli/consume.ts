// `milena consume TOPIC`: prints records, one per line, as kafka-console-consumer.sh. Starts at
// the log end unless --from-beginning or --offset; --partition picks one partition;
// --max-messages stops after that many; --print-key, --print-timestamp, --print-headers add
// columns before the value (tab-separated).

import { flag, integer, num, parseArgs, str, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client, out } from "./common.ts";

export const CONSUME_USAGE = `usage: milena consume TOPIC [--from-beginning | --offset N|earliest|latest] [--partition N]
                      [--max-messages N] [--idle-timeout-ms N]
                      [--print-key] [--print-timestamp] [--print-headers] [--print-offset]
options: --bootstrap host:port | ws://host:port (default 127.0.0.1:9092), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

const SPEC = {
  ...COMMON_OPTIONS,
  "from-beginning": { type: "boolean" as const },
  offset: { type: "string" as const },
  partition: { type: "number" as const },
  "max-messages": { type: "number" as const },
  "idle-timeout-ms": { type: "number" as const },
  "print-key": { type: "boolean" as const },
  "print-timestamp": { type: "boolean" as const },
  "print-headers": { type: "boolean" as const },
  "print-offset": { type: "boolean" as const },
};

const text = (b: Uint8Array | null): string =>
  b === null ? "null" : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString();

export async function consume(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  if (p.positionals.length !== 1) throw new UsageError("consume needs exactly one topic");
  const topic = p.positionals[0];
  const offsetArg = str(p, "offset");
  if (offsetArg !== undefined && flag(p, "from-beginning"))
    throw new UsageError("give --from-beginning or --offset, not both");
  if (offsetArg !== undefined && !/^(\d+|earliest|latest)$/.test(offsetArg)) {
    throw new UsageError(`--offset must be a number, earliest or latest, got "${offsetArg}"`);
  }
  const offset = offsetArg ?? (flag(p, "from-beginning") ? "earliest" : "latest");
  const partition = integer("partition", num(p, "partition"), 0);
  if (offsetArg !== undefined && /^\d+$/.test(offsetArg) && partition === undefined) {
    throw new UsageError("--offset N needs --partition");
  }
  const max = integer("max-messages", num(p, "max-messages"), 1);
  const idle = integer("idle-timeout-ms", num(p, "idle-timeout-ms"), 1);
  const consumer = client(p).consumer({ autoOffsetReset: "earliest" });
  await consumer.connect();
  let count = 0;
  let idleTimer: NodeJS.Timeout | undefined;
  // Disconnecting ends the record iteration (stop() only ends run()).
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= consumer.disconnect());
  const stop = () => void close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    await consumer.assign([
      {
        topic,
        ...(partition !== undefined ? { partitions: [partition] } : {}),
        offset: /^\d+$/.test(offset) ? Number(offset) : offset,
      },
    ]);
    const arm = () => {
      if (idle === undefined) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(stop, idle);
    };
    arm();
    for await (const r of consumer.records()) {
      const cols: string[] = [];
      if (flag(p, "print-offset")) cols.push(`${r.partition}:${r.offset}`);
      if (flag(p, "print-timestamp")) cols.push(`CreateTime:${r.timestamp}`);
      if (flag(p, "print-key")) cols.push(text(r.key));
      if (flag(p, "print-headers")) {
        const hs = Object.entries(r.headers).map(
          ([k, v]) => `${k}:${Array.isArray(v) ? v.map(text).join("|") : text(v as Uint8Array)}`,
        );
        cols.push(hs.length === 0 ? "NO_HEADERS" : hs.join(","));
      }
      cols.push(text(r.value));
      out(cols.join("\t"));
      arm();
      if (max !== undefined && ++count >= max) break;
      if (max === undefined) count++;
    }
  } finally {
    clearTimeout(idleTimer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await close();
  }
  process.stderr.write(`Processed a total of ${count} messages\n`);
  return 0;
}
