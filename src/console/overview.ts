/// <reference lib="dom" />
// The overview: the cluster id, brokers and controller, and partition health from Metadata
// (offline: no leader; under-replicated: fewer in-sync replicas than replicas), with counts of
// topics and consumer groups. Refreshed every 5 seconds while shown.

import { el, replace, table } from "./dom.ts";
import { link, route, type ViewContext } from "./view.ts";

export async function overview(ctx: ViewContext): Promise<void> {
  const body = el("div");
  replace(ctx.main, el("h1", {}, "Overview"), body);
  const refresh = async () => {
    const { admin } = ctx.session;
    const cluster = await admin.describeCluster();
    const { topics } = await admin.fetchTopicMetadata();
    const groups = await admin.listGroups().catch(() => ({ groups: [] }));
    let partitions = 0;
    let offline = 0;
    let under = 0;
    const bad: { topic: string; partition: number; leader: number; replicas: number[]; isr: number[] }[] = [];
    for (const t of topics)
      for (const p of t.partitions) {
        partitions++;
        const isOffline = p.leader < 0;
        const isUnder = p.isr.length < p.replicas.length;
        if (isOffline) offline++;
        if (isUnder) under++;
        if (isOffline || isUnder)
          bad.push({
            topic: t.name,
            partition: p.partitionId,
            leader: p.leader,
            replicas: p.replicas,
            isr: p.isr,
          });
      }
    const card = (n: number, label: string, id: string, warn = false) =>
      el(
        "div",
        { class: warn && n > 0 ? "card bad" : "card", id },
        el("div", { class: "n" }, n),
        el("div", { class: "l" }, label),
      );
    if (!ctx.active) return;
    replace(
      body,
      el(
        "p",
        { class: "muted" },
        "Cluster ",
        el("code", {}, cluster.clusterId ?? "(no id)"),
        ` over ${ctx.session.url}`,
      ),
      el(
        "div",
        { class: "cards" },
        card(cluster.brokers.length, "brokers", "ov-brokers"),
        card(topics.length, "topics", "ov-topics"),
        card(partitions, "partitions", "ov-partitions"),
        card(offline, "offline partitions", "ov-offline", true),
        card(under, "under-replicated partitions", "ov-under", true),
        card(groups.groups.length, "consumer groups", "ov-groups"),
      ),
      el("h2", {}, "Brokers"),
      table(
        ["id", "host", "port", "role"],
        [...cluster.brokers]
          .sort((a, b) => a.nodeId - b.nodeId)
          .map((b) => [b.nodeId, b.host, b.port, b.nodeId === cluster.controller ? "controller" : ""]),
        { id: "ov-broker-table" },
      ),
      el("h2", {}, "Partitions needing attention"),
      bad.length === 0
        ? el("p", { class: "ok" }, "Every partition has a leader and all its replicas in sync.")
        : table(
            ["topic", "partition", "leader", "replicas", "in sync"],
            bad.map((b) => [
              link(route("topic", { name: b.topic }), b.topic),
              b.partition,
              b.leader < 0 ? "none" : b.leader,
              b.replicas.join(", "),
              b.isr.join(", "),
            ]),
          ),
    );
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 5000);
  ctx.onLeave(() => clearInterval(timer));
}
