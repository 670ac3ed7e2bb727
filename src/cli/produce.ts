// `milena produce TOPIC`: one record per line of stdin, as kafka-console-producer.sh. With
// --key-separator SEP a line "key SEP value" has a key; --header key=value adds a header to
// every record. Waits for every acknowledgement before exiting.

import { createInterface } from "node:readline";
import type { Message } from "../client/node.ts";
import { acksOf, all, compressionOf, integer, keyValue, num, parseArgs, str, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client } from "./common.ts";

export const PRODUCE_USAGE = `usage: milena produce TOPIC [--key-separator SEP] [--header key=value ...]
                      [--acks 0|1|-1|all] [--compression none|gzip|lz4] [--partition N]
reads records from stdin, one per line
options: --bootstrap host:port | ws://host:port (default 127.0.0.1:9092), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

const SPEC = {
  ...COMMON_OPTIONS,
  "key-separator": { type: "string" as const },
  header: { type: "string" as const, repeat: true },
  acks: { type: "string" as const },
  compression: { type: "string" as const },
  partition: { type: "number" as const },
};

/** Lines per send(): the producer batches them further by partition. */
const CHUNK = 500;

export async function produce(argv: string[]): Promise<number> {
  const p = parseArgs(argv, SPEC);
  if (p.positionals.length !== 1) throw new UsageError("produce needs exactly one topic");
  const topic = p.positionals[0];
  const sep = str(p, "key-separator");
  if (sep === "") throw new UsageError("--key-separator must not be empty");
  const headers = Object.fromEntries(all(p, "header").map((h) => keyValue("header", h)));
  const partition = integer("partition", num(p, "partition"), 0);
  const producer = client(p).producer({
    acks: acksOf(str(p, "acks")) ?? -1,
    compression: compressionOf(str(p, "compression")) ?? "none",
    lingerMs: 5,
  });
  await producer.connect();
  let count = 0;
  const pending: Promise<unknown>[] = [];
  let chunk: Message[] = [];
  const flush = () => {
    if (chunk.length === 0) return;
    pending.push(producer.send({ topic, messages: chunk }));
    chunk = [];
  };
  try {
    for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
      let key: string | null = null;
      let value = line;
      if (sep !== undefined) {
        const at = line.indexOf(sep);
        if (at >= 0) {
          key = line.slice(0, at);
          value = line.slice(at + sep.length);
        }
      }
      chunk.push({ key, value, headers, ...(partition !== undefined ? { partition } : {}) });
      count++;
      if (chunk.length >= CHUNK) flush();
      // Keep memory bounded on a long stdin: wait for older sends now and then.
      if (pending.length >= 64) await Promise.all(pending.splice(0, 32));
    }
    flush();
    await Promise.all(pending);
  } finally {
    await producer.disconnect();
  }
  process.stderr.write(`produced ${count} record(s) to ${topic}\n`);
  return 0;
}
