// `milena cluster status`: the brokers of the cluster, its controller, and the partitions that
// need attention: under-replicated (ISR smaller than the replicas) and offline (no leader), as
// kafka-topics.sh --describe --under-replicated-partitions / --unavailable-partitions show them.
// Exit code 0 when every partition is fully replicated and led, 1 otherwise.

import { parseArgs, UsageError } from "./args.ts";
import { COMMON_OPTIONS, client, out } from "./common.ts";

export const CLUSTER_USAGE = `usage:
  milena cluster status
options: --bootstrap host:port | ws://host:port (default 127.0.0.1:9092), --timeout-ms N,
  --command-config FILE (TLS and SASL: security.protocol, sasl.mechanism, sasl.username, ssl.ca.location ...)`;

export async function cluster(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  const p = parseArgs(rest, COMMON_OPTIONS);
  if (action === undefined) throw new UsageError("cluster needs an action");
  if (action !== "status") throw new UsageError(`unknown cluster action "${action}"`);
  if (p.positionals.length > 0) throw new UsageError("cluster status takes no arguments");
  const admin = client(p).admin();
  await admin.connect();
  try {
    const c = await admin.describeCluster();
    out(`Cluster: ${c.clusterId ?? "?"}\tController: ${c.controller}\tBrokers: ${c.brokers.length}`);
    for (const b of [...c.brokers].sort((x, y) => x.nodeId - y.nodeId))
      out(`\tBroker: ${b.nodeId}\t${b.host}:${b.port}${b.nodeId === c.controller ? "\t(controller)" : ""}`);
    const meta = await admin.fetchTopicMetadata();
    const under: string[] = [];
    const offline: string[] = [];
    let partitions = 0;
    for (const t of [...meta.topics].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      for (const part of [...t.partitions].sort((a, b) => a.partitionId - b.partitionId)) {
        partitions++;
        const line = `\tTopic: ${t.name}\tPartition: ${part.partitionId}\tLeader: ${part.leader}\tReplicas: ${part.replicas.join(",")}\tIsr: ${part.isr.join(",")}${part.offlineReplicas.length > 0 ? `\tOffline: ${part.offlineReplicas.join(",")}` : ""}`;
        if (part.leader < 0) offline.push(line);
        else if (part.isr.length < part.replicas.length) under.push(line);
      }
    }
    out(`Partitions: ${partitions}\tUnder-replicated: ${under.length}\tOffline: ${offline.length}`);
    if (under.length > 0) out("Under-replicated partitions:");
    for (const l of under) out(l);
    if (offline.length > 0) out("Offline partitions:");
    for (const l of offline) out(l);
    return under.length + offline.length === 0 ? 0 : 1;
  } finally {
    await admin.disconnect();
  }
}
