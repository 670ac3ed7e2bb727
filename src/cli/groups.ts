// `milena groups list|describe|delete|reset-offsets`, as kafka-consumer-groups.sh does them:
// describe shows each partition's committed offset, log end offset and lag with the member that
// holds it; reset-offsets prints the plan and only applies it with --execute (the group must
// have no active members, as Kafka requires), one OffsetCommit per topic, a progress line on
// stderr after each.

import type { Admin } from "../client/node.ts";
import { all, flag, integer, num, parseArgs, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client, describeError, out } from "./common.ts";

export const GROUPS_USAGE = `usage:
  milena groups list
  milena groups describe GROUP [GROUP ...]
  milena groups delete GROUP [GROUP ...]
  milena groups reset-offsets GROUP (--topic TOPIC[:P,P...] ... | --all-topics)
                              (--to-earliest | --to-latest | --to-offset N) [--execute | --dry-run]
    (without --execute the new offsets are printed and nothing changes)
options: --bootstrap host:port | ws://host:port (default 127.0.0.1:9092), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

const SPEC = {
  ...COMMON_OPTIONS,
  topic: { type: "string" as const, repeat: true },
  "all-topics": { type: "boolean" as const },
  "to-earliest": { type: "boolean" as const },
  "to-latest": { type: "boolean" as const },
  "to-offset": { type: "number" as const },
  execute: { type: "boolean" as const },
  "dry-run": { type: "boolean" as const },
};

/** Columns padded to their widest cell, one space apart (the last one not padded). */
function table(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join(" "));
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function withAdmin<T>(admin: Admin, fn: () => Promise<T>): Promise<T> {
  await admin.connect();
  try {
    return await fn();
  } finally {
    await admin.disconnect();
  }
}

/** Log end offsets of a topic by partition (null when the topic is gone). */
async function logEnds(
  admin: Admin,
  topic: string,
): Promise<Map<number, { low: number; high: number }> | null> {
  try {
    return new Map(
      (await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, { low: o.low, high: o.high }]),
    );
  } catch {
    return null;
  }
}

async function describe(admin: Admin, groupId: string): Promise<boolean> {
  const [g] = (await admin.describeGroups([groupId])).groups;
  if (g.state === "Dead") {
    err(`milena: consumer group '${groupId}' does not exist`);
    return false;
  }
  if (g.state === "Empty") err(`Consumer group '${groupId}' has no active members.`);
  else if (g.state !== "Stable") err(`Warning: consumer group '${groupId}' is rebalancing (${g.state}).`);
  type Row = { topic: string; partition: number; current: number; owner: (typeof g.members)[number] | null };
  const rows = new Map<string, Row>();
  const row = (topic: string, partition: number): Row => {
    const k = `${topic}\0${partition}`;
    let r = rows.get(k);
    if (r === undefined) rows.set(k, (r = { topic, partition, current: -1, owner: null }));
    return r;
  };
  for (const t of await admin.fetchOffsets({ groupId }))
    for (const p of t.partitions) if (p.offset >= 0) row(t.topic, p.partition).current = p.offset;
  for (const m of g.members)
    for (const t of m.assignment) for (const p of t.partitions) row(t.topic, p).owner = m;
  const ends = new Map<string, Map<number, { low: number; high: number }> | null>();
  for (const r of rows.values()) if (!ends.has(r.topic)) ends.set(r.topic, await logEnds(admin, r.topic));
  const lines = [
    [
      "GROUP",
      "TOPIC",
      "PARTITION",
      "CURRENT-OFFSET",
      "LOG-END-OFFSET",
      "LAG",
      "CONSUMER-ID",
      "HOST",
      "CLIENT-ID",
    ],
  ];
  const sorted = [...rows.values()].sort((a, b) =>
    a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition,
  );
  for (const r of sorted) {
    const end = ends.get(r.topic)?.get(r.partition)?.high;
    const lag = end !== undefined && r.current >= 0 ? String(Math.max(0, end - r.current)) : "-";
    lines.push([
      groupId,
      r.topic,
      String(r.partition),
      r.current >= 0 ? String(r.current) : "-",
      end !== undefined ? String(end) : "-",
      lag,
      r.owner?.memberId ?? "-",
      r.owner?.clientHost ?? "-",
      r.owner?.clientId ?? "-",
    ]);
  }
  table(lines);
  return true;
}

/** "topic" or "topic:0,2" → topic and partitions (null: all). */
function topicSpec(s: string): { topic: string; partitions: number[] | null } {
  const colon = s.lastIndexOf(":");
  if (colon < 0) return { topic: s, partitions: null };
  const topic = s.slice(0, colon);
  const partitions = s
    .slice(colon + 1)
    .split(",")
    .map((x) => {
      const n = Number(x);
      if (x.trim() === "" || !Number.isInteger(n) || n < 0)
        throw new UsageError(`--topic ${s}: "${x}" is not a partition number`);
      return n;
    });
  if (topic === "") throw new UsageError(`--topic ${s}: no topic name`);
  return { topic, partitions };
}

async function resetOffsets(admin: Admin, groupId: string, p: ReturnType<typeof parseArgs>): Promise<number> {
  const targets = [flag(p, "to-earliest"), flag(p, "to-latest"), p.options.has("to-offset")].filter(
    Boolean,
  ).length;
  if (targets !== 1)
    throw new UsageError("reset-offsets needs one of --to-earliest, --to-latest, --to-offset N");
  const toOffset = integer("to-offset", num(p, "to-offset"), 0);
  const specs = all(p, "topic").map(topicSpec);
  if (specs.length > 0 === flag(p, "all-topics"))
    throw new UsageError("reset-offsets needs --topic TOPIC (or --all-topics), not both");
  if (flag(p, "execute") && flag(p, "dry-run")) throw new UsageError("--execute or --dry-run, not both");
  const execute = flag(p, "execute");
  return withAdmin(admin, async () => {
    const [g] = (await admin.describeGroups([groupId])).groups;
    if (g.state !== "Empty" && g.state !== "Dead") {
      err(
        `milena: assignments can only be reset if the group '${groupId}' is inactive, but the current state is ${g.state}.`,
      );
      return 1;
    }
    if (flag(p, "all-topics"))
      for (const t of await admin.fetchOffsets({ groupId })) specs.push({ topic: t.topic, partitions: null });
    const plan: { topic: string; partition: number; offset: number }[] = [];
    for (const s of specs) {
      const ends = await admin.fetchTopicOffsets(s.topic);
      const byPartition = new Map(ends.map((o) => [o.partition, o]));
      for (const partition of s.partitions ?? ends.map((o) => o.partition)) {
        const o = byPartition.get(partition);
        if (o === undefined) {
          err(`milena: partition ${s.topic}-${partition} does not exist`);
          return 1;
        }
        let offset = toOffset ?? (flag(p, "to-earliest") ? o.low : o.high);
        if (offset < o.low) {
          err(
            `New offset (${offset}) is lower than the earliest offset of ${s.topic}-${partition}: set to ${o.low}.`,
          );
          offset = o.low;
        } else if (offset > o.high) {
          err(
            `New offset (${offset}) is higher than the latest offset of ${s.topic}-${partition}: set to ${o.high}.`,
          );
          offset = o.high;
        }
        if (!plan.some((x) => x.topic === s.topic && x.partition === partition))
          plan.push({ topic: s.topic, partition, offset });
      }
    }
    plan.sort((a, b) => (a.topic !== b.topic ? (a.topic < b.topic ? -1 : 1) : a.partition - b.partition));
    table([
      ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"],
      ...plan.map((x) => [groupId, x.topic, String(x.partition), String(x.offset)]),
    ]);
    if (!execute) {
      err("Dry run: nothing was changed (add --execute to apply these offsets).");
      return 0;
    }
    // One OffsetCommit per topic: a line on stderr after each, the partitions committed so far.
    let done = 0;
    for (const topic of new Set(plan.map((x) => x.topic))) {
      const partitions = plan
        .filter((x) => x.topic === topic)
        .map((x) => ({ partition: x.partition, offset: x.offset }));
      await admin.setOffsets({ groupId, topic, partitions });
      done += partitions.length;
      err(`Committed the new offsets of ${topic}: ${done} of ${plan.length} partitions done.`);
    }
    return 0;
  });
}

export async function groups(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const p = parseArgs(rest, SPEC);
  const names = p.positionals;
  const resetOnly = ["topic", "all-topics", "to-earliest", "to-latest", "to-offset", "execute", "dry-run"];
  if (action !== "reset-offsets")
    for (const o of resetOnly) if (p.options.has(o)) throw new UsageError(`--${o} is for reset-offsets`);
  switch (action) {
    case "list": {
      if (names.length > 0) throw new UsageError("groups list takes no arguments");
      const admin = client(p).admin();
      return withAdmin(admin, async () => {
        for (const g of (await admin.listGroups()).groups) out(g.groupId);
        return 0;
      });
    }
    case "describe": {
      if (names.length === 0) throw new UsageError("groups describe needs a group");
      const admin = client(p).admin();
      return withAdmin(admin, async () => {
        let ok = true;
        for (const [i, name] of names.entries()) {
          if (i > 0) out("");
          ok = (await describe(admin, name)) && ok;
        }
        return ok ? 0 : 1;
      });
    }
    case "delete": {
      if (names.length === 0) throw new UsageError("groups delete needs a group");
      const admin = client(p).admin();
      return withAdmin(admin, async () => {
        let failed = 0;
        for (const name of names) {
          try {
            await admin.deleteGroups([name]);
            out(`Deleted consumer group '${name}'.`);
          } catch (e) {
            err(`milena: consumer group '${name}' could not be deleted: ${describeError(e)}`);
            failed++;
          }
        }
        return failed > 0 ? 1 : 0;
      });
    }
    case "reset-offsets": {
      if (names.length !== 1) throw new UsageError("groups reset-offsets needs one group");
      return resetOffsets(client(p).admin(), names[0], p);
    }
    case undefined:
      throw new UsageError("groups needs an action");
    default:
      throw new UsageError(`unknown groups action "${action}"`);
  }
}
