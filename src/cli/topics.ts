// `milena topics create|list|describe|delete|alter-config|reassign|reassignments`, as
// kafka-topics.sh, kafka-configs.sh and kafka-reassign-partitions.sh do it. `reassign --wait`
// follows the move (ListPartitionReassignments and the ISR, every half second) and prints a
// line when it changes, until it is done or --wait-timeout-ms passes.

import { setTimeout as sleep } from "node:timers/promises";
import type { Admin } from "../client/admin.ts";
import { ConfigResourceTypes } from "../client/node.ts";
import { all, integer, keyValue, num, parseArgs, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client, out } from "./common.ts";

export const TOPICS_USAGE = `usage:
  milena topics create TOPIC [--partitions N] [--replication-factor N] [--config key=value ...]
  milena topics list
  milena topics describe [TOPIC ...]
  milena topics delete TOPIC [TOPIC ...]
  milena topics alter-config TOPIC [--set key=value ...] [--delete key ...]
  milena topics reassign TOPIC --partition P (--replicas B1,B2,... | --cancel)   (a cluster)
                       [--wait [--wait-timeout-ms MS]]   (follow the move until done; default 600000)
  milena topics reassignments                                                   (moves in progress)
options: --bootstrap host:port | ws://host:port (default 127.0.0.1:9092), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

const SPEC = {
  ...COMMON_OPTIONS,
  partitions: { type: "number" as const },
  "replication-factor": { type: "number" as const },
  config: { type: "string" as const, repeat: true },
  set: { type: "string" as const, repeat: true },
  delete: { type: "string" as const, repeat: true },
  partition: { type: "number" as const },
  replicas: { type: "string" as const },
  cancel: { type: "boolean" as const },
  wait: { type: "boolean" as const },
  "wait-timeout-ms": { type: "number" as const },
};

const POLL_MS = 500;
/** A line at least this often while nothing changes, so a stuck move shows it is being watched. */
const QUIET_LINE_MS = 5000;

/**
 * Follow a partition's reassignment until the controller no longer lists it (and, unless it was
 * a cancel, the partition's replicas are `target`): a line each time its replicas, adding,
 * removing or in-sync replicas change. 0 when done, 1 on the timeout.
 */
async function waitForReassignment(
  admin: Admin,
  topic: string,
  partition: number,
  target: number[] | null,
  timeoutMs: number,
): Promise<number> {
  const start = performance.now();
  const name = `${topic}-${partition}`;
  const secs = () => ((performance.now() - start) / 1000).toFixed(1);
  let last = "";
  let lastAt = Number.NEGATIVE_INFINITY;
  for (;;) {
    const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [partition] }] });
    const move = listed.topics
      .find((t) => t.topic === topic)
      ?.partitions.find((x) => x.partition === partition);
    const md = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]?.partitions.find(
      (x) => x.partitionId === partition,
    );
    const isr = md?.isr.join(",") ?? "";
    const replicas = (move?.replicas ?? md?.replicas ?? []).join(",");
    if (move === undefined && (target === null || replicas === target.join(","))) {
      out(
        `Reassignment of partition ${name} is completed: replicas ${replicas}, in sync ${isr} (${secs()} s).`,
      );
      return 0;
    }
    const state =
      move === undefined
        ? `replicas ${replicas}, in sync ${isr}, metadata not yet at ${target!.join(",")}`
        : `replicas ${replicas}, adding ${move.addingReplicas.join(",") || "-"}, removing ${move.removingReplicas.join(",") || "-"}, in sync ${isr}`;
    const now = performance.now();
    if (state !== last || now - lastAt >= QUIET_LINE_MS) {
      out(`Reassignment of partition ${name} is still in progress: ${state} (${secs()} s)`);
      last = state;
      lastAt = now;
    }
    if (now - start >= timeoutMs) {
      process.stderr.write(
        `milena: the reassignment of ${name} is not done after ${timeoutMs} ms: ${state}\n`,
      );
      return 1;
    }
    await sleep(POLL_MS);
  }
}

export async function topics(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const p = parseArgs(rest, SPEC);
  const names = p.positionals;
  const need = (n: string) => {
    if (names.length === 0) throw new UsageError(`topics ${action} needs ${n}`);
  };
  switch (action) {
    case "create": {
      need("a topic name");
      if (names.length > 1) throw new UsageError("topics create takes one topic");
      const configEntries = all(p, "config").map((c) => {
        const [name, value] = keyValue("config", c);
        return { name, value };
      });
      const admin = client(p).admin();
      await admin.connect();
      try {
        await admin.createTopics({
          topics: [
            {
              topic: names[0],
              numPartitions: integer("partitions", num(p, "partitions"), 1) ?? -1,
              replicationFactor: integer("replication-factor", num(p, "replication-factor"), 1) ?? -1,
              configEntries,
            },
          ],
          failIfExists: true,
        });
        out(`Created topic ${names[0]}.`);
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case "list": {
      const admin = client(p).admin();
      await admin.connect();
      try {
        for (const t of (await admin.listTopics()).sort()) out(t);
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case "describe": {
      const admin = client(p).admin();
      await admin.connect();
      try {
        const meta = await admin.fetchTopicMetadata(names.length > 0 ? { topics: names } : {});
        for (const t of meta.topics.sort((a, b) => (a.name < b.name ? -1 : 1))) {
          const offsets = await admin.fetchTopicOffsets(t.name);
          const cfg = await admin.describeConfigs({
            resources: [{ type: ConfigResourceTypes.TOPIC, name: t.name }],
          });
          const overrides = cfg.resources[0].configEntries
            .filter((e) => e.configSource === 1)
            .map((e) => `${e.configName}=${e.configValue}`);
          out(`Topic: ${t.name}\tPartitionCount: ${t.partitions.length}\tConfigs: ${overrides.join(",")}`);
          for (const part of [...t.partitions].sort((a, b) => a.partitionId - b.partitionId)) {
            const o = offsets.find((x) => x.partition === part.partitionId);
            out(
              `\tTopic: ${t.name}\tPartition: ${part.partitionId}\tLeader: ${part.leader}\tReplicas: ${part.replicas.join(",")}\tIsr: ${part.isr.join(",")}\tLogStartOffset: ${o?.low ?? "?"}\tLogEndOffset: ${o?.high ?? "?"}`,
            );
          }
        }
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case "delete": {
      need("at least one topic name");
      const admin = client(p).admin();
      await admin.connect();
      try {
        await admin.deleteTopics({ topics: names });
        for (const n of names) out(`Deleted topic ${n}.`);
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case "alter-config": {
      need("a topic name");
      const entries = [
        ...all(p, "set").map((s) => {
          const [name, value] = keyValue("set", s);
          return { name, value, operation: 0 };
        }),
        ...all(p, "delete").map((name) => ({ name, value: null, operation: 1 })),
      ];
      if (entries.length === 0)
        throw new UsageError("topics alter-config needs --set key=value or --delete key");
      const admin = client(p).admin();
      await admin.connect();
      try {
        await admin.incrementalAlterConfigs({
          resources: names.map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configEntries: entries })),
        });
        for (const n of names) out(`Altered config of topic ${n}.`);
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case "reassign": {
      need("a topic name");
      if (names.length > 1) throw new UsageError("topics reassign takes one topic");
      const partition = integer("partition", num(p, "partition"), 0);
      if (partition === undefined) throw new UsageError("topics reassign needs --partition P");
      const cancel = p.options.has("cancel");
      const list = p.options.get("replicas")?.[0] as string | undefined;
      if (cancel === (list !== undefined))
        throw new UsageError("topics reassign needs --replicas B1,B2,... or --cancel");
      const replicas =
        list === undefined ? null : list.split(",").map((b) => integer("replicas", Number(b), 0) ?? -1);
      if (replicas?.some((b) => !Number.isInteger(b) || b < 0))
        throw new UsageError(`--replicas: "${list}" is not a list of broker ids`);
      const wait = p.options.has("wait");
      const waitTimeout = integer("wait-timeout-ms", num(p, "wait-timeout-ms"), 0);
      if (waitTimeout !== undefined && !wait) throw new UsageError("--wait-timeout-ms is for --wait");
      const admin = client(p).admin();
      await admin.connect();
      try {
        await admin.alterPartitionReassignments({
          topics: [{ topic: names[0], partitionAssignment: [{ partition, replicas }] }],
        });
        out(
          replicas === null
            ? `Cancelled the reassignment of ${names[0]}-${partition}.`
            : `Reassigning ${names[0]}-${partition} to ${replicas.join(",")}.`,
        );
        if (wait)
          return await waitForReassignment(admin, names[0], partition, replicas, waitTimeout ?? 600_000);
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case "reassignments": {
      const admin = client(p).admin();
      await admin.connect();
      try {
        const res = await admin.listPartitionReassignments();
        for (const t of res.topics)
          for (const part of t.partitions)
            out(
              `Topic: ${t.topic}\tPartition: ${part.partition}\tReplicas: ${part.replicas.join(",")}\tAdding: ${part.addingReplicas.join(",")}\tRemoving: ${part.removingReplicas.join(",")}`,
            );
      } finally {
        await admin.disconnect();
      }
      return 0;
    }
    case undefined:
      throw new UsageError("topics needs an action");
    default:
      throw new UsageError(`unknown topics action "${action}"`);
  }
}
