/// <reference lib="dom" />
// The topics views. The list: partitions, replication factor, bytes on disk (DescribeLogDirs),
// retention and cleanup policy (DescribeConfigs), a form to create a topic. One topic: its
// partitions (leader, replicas, in-sync replicas, log start and end, bytes), every config with
// where it comes from, a form to set or remove an override (IncrementalAlterConfigs), deletion.

import { type Admin, AlterConfigOpTypes, ConfigResourceTypes, ConfigSource } from "../client/browser.ts";
import { el, field, formValue, replace, table } from "./dom.ts";
import { formatDurationMs, formatSize, parseConfigLines } from "./format.ts";
import { errorText, link, num, route, type ViewContext } from "./view.ts";

/** Bytes of one copy of each partition (the largest replica), by topic then partition. */
export async function partitionSizes(admin: Admin): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>();
  const { brokers } = await admin.describeLogDirs();
  for (const b of brokers)
    for (const d of b.logDirs)
      for (const t of d.topics) {
        let m = out.get(t.topic);
        if (m === undefined) out.set(t.topic, (m = new Map()));
        for (const p of t.partitions)
          if (!p.isFuture) m.set(p.partition, Math.max(m.get(p.partition) ?? 0, p.size));
      }
  return out;
}

const SOURCE_NAMES = new Map<number, string>(
  Object.entries(ConfigSource).map(([k, v]) => [v, k.toLowerCase()]),
);

export async function topicList(ctx: ViewContext): Promise<void> {
  const { admin } = ctx.session;
  const status = el("p", { class: "error", id: "topic-create-status" });
  const form = el(
    "form",
    { id: "topic-create" },
    field("name", el("input", { name: "name", required: true, maxlength: 249, id: "topic-create-name" })),
    field(
      "partitions",
      el("input", { name: "partitions", type: "number", min: 1, value: 1, id: "topic-create-partitions" }),
    ),
    field(
      "replication factor",
      el("input", { name: "replication", type: "number", min: 1, placeholder: "broker default" }),
    ),
    field(
      "configs (name=value, one a line)",
      el("textarea", { name: "configs", rows: 1, placeholder: "retention.ms=86400000" }),
    ),
    el("button", { type: "submit", id: "topic-create-submit" }, "Create topic"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const name = formValue(form, "name").trim();
    let configEntries: { name: string; value: string }[];
    try {
      configEntries = parseConfigLines(formValue(form, "configs"));
    } catch (e) {
      status.textContent = errorText(e);
      return;
    }
    status.textContent = "";
    const replication = formValue(form, "replication");
    admin
      .createTopics({
        topics: [
          {
            topic: name,
            numPartitions: Number(formValue(form, "partitions") || 1),
            replicationFactor: replication === "" ? -1 : Number(replication),
            configEntries,
          },
        ],
        failIfExists: true,
      })
      .then(() => {
        ctx.toast(`Created topic ${name}`);
        ctx.navigate(route("topic", { name }));
      })
      .catch((e) => {
        status.textContent = errorText(e);
      });
  });
  const listing = el("div", {}, el("p", { class: "muted" }, "Loading topics…"));
  replace(ctx.main, el("h1", {}, "Topics"), form, status, listing);

  const { topics } = await admin.fetchTopicMetadata();
  topics.sort((a, b) => (a.name < b.name ? -1 : 1));
  const [sizes, configs] = await Promise.all([
    partitionSizes(admin).catch(() => new Map<string, Map<number, number>>()),
    topics.length === 0
      ? Promise.resolve(new Map<string, Map<string, string | null>>())
      : admin
          .describeConfigs({
            resources: topics.map((t) => ({
              type: ConfigResourceTypes.TOPIC,
              name: t.name,
              configNames: ["retention.ms", "retention.bytes", "cleanup.policy"],
            })),
          })
          .then(
            (r) =>
              new Map(
                r.resources.map((res) => [
                  res.resourceName,
                  new Map(res.configEntries.map((c) => [c.configName, c.configValue])),
                ]),
              ),
          )
          .catch(() => new Map<string, Map<string, string | null>>()),
  ]);
  if (!ctx.active) return;
  replace(
    listing,
    topics.length === 0
      ? el("p", { class: "muted" }, "No topics yet.")
      : table(
          [
            "name",
            "partitions",
            "replication",
            "under-replicated",
            "size",
            "retention",
            "retention bytes",
            "cleanup",
          ],
          topics.map((t) => {
            const s = sizes.get(t.name);
            const c = configs.get(t.name);
            const size = s === undefined ? -1 : [...s.values()].reduce((a, b) => a + b, 0);
            const rb = c?.get("retention.bytes") ?? null;
            return [
              link(route("topic", { name: t.name }), t.name, { "data-topic": t.name }),
              num(t.partitions.length),
              num(Math.max(0, ...t.partitions.map((p) => p.replicas.length))),
              num(t.partitions.filter((p) => p.isr.length < p.replicas.length).length),
              num(formatSize(size)),
              formatDurationMs(c?.get("retention.ms") ?? null),
              rb === null ? "-" : Number(rb) < 0 ? "unlimited" : formatSize(Number(rb)),
              c?.get("cleanup.policy") ?? "-",
            ];
          }),
          { id: "topic-table" },
        ),
  );
}

export async function topicDetail(ctx: ViewContext): Promise<void> {
  const name = ctx.params.get("name") ?? "";
  const { admin } = ctx.session;
  const [{ topics }, offsets, sizes, described] = await Promise.all([
    admin.fetchTopicMetadata({ topics: [name] }),
    admin.fetchTopicOffsets(name),
    partitionSizes(admin).catch(() => new Map<string, Map<number, number>>()),
    admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name }], includeSynonyms: false }),
  ]);
  if (!ctx.active) return;
  const t = topics[0];
  const ends = new Map(offsets.map((o) => [o.partition, o]));
  const s = sizes.get(name);

  const status = el("p", { class: "error", id: "config-status" });
  const alter = el(
    "form",
    { id: "config-alter" },
    field(
      "config",
      el("input", { name: "config", required: true, list: "config-names", placeholder: "retention.ms" }),
    ),
    field("value (empty with remove)", el("input", { name: "value" })),
    el("button", { type: "submit", name: "set" }, "Set"),
    el("button", { type: "button", class: "plain", id: "config-remove" }, "Remove override"),
    el(
      "datalist",
      { id: "config-names" },
      ...described.resources[0].configEntries.map((c) => el("option", { value: c.configName })),
    ),
  );
  const change = (remove: boolean) => {
    const config = formValue(alter, "config").trim();
    if (config === "") return;
    admin
      .incrementalAlterConfigs({
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name,
            configEntries: [
              {
                name: config,
                value: remove ? null : formValue(alter, "value"),
                operation: remove ? AlterConfigOpTypes.DELETE : AlterConfigOpTypes.SET,
              },
            ],
          },
        ],
      })
      .then(() => {
        ctx.toast(remove ? `Removed ${config} of ${name}` : `Set ${config} of ${name}`);
        ctx.navigate(route("topic", { name }));
      })
      .catch((e) => {
        status.textContent = errorText(e);
      });
  };
  alter.addEventListener("submit", (ev) => {
    ev.preventDefault();
    change(false);
  });
  alter.querySelector("#config-remove")?.addEventListener("click", () => change(true));

  const del = el("button", { class: "danger", id: "topic-delete" }, "Delete topic");
  del.addEventListener("click", () => {
    if (!window.confirm(`Delete topic ${name} and all its records?`)) return;
    admin
      .deleteTopics({ topics: [name] })
      .then(() => {
        ctx.toast(`Deleted topic ${name}`);
        ctx.navigate("topics");
      })
      .catch((e) => ctx.toast(errorText(e), true));
  });

  replace(
    ctx.main,
    el("h1", {}, "Topic ", el("code", { id: "topic-name" }, name)),
    el(
      "div",
      { class: "toolbar" },
      link(route("messages", { topic: name }), "Browse messages"),
      link(route("produce", { topic: name }), "Produce a message"),
      del,
    ),
    el("h2", {}, "Partitions"),
    table(
      ["partition", "leader", "replicas", "in sync", "log start", "log end", "records", "size"],
      t.partitions
        .slice()
        .sort((a, b) => a.partitionId - b.partitionId)
        .map((p) => {
          const o = ends.get(p.partitionId);
          return [
            num(p.partitionId),
            p.leader < 0 ? "none" : p.leader,
            p.replicas.join(", "),
            p.isr.join(", "),
            num(o?.low ?? "-"),
            num(o?.high ?? "-"),
            num(o === undefined ? "-" : o.high - o.low),
            num(formatSize(s?.get(p.partitionId) ?? -1)),
          ];
        }),
      { id: "partition-table" },
    ),
    el("h2", {}, "Configs"),
    alter,
    status,
    table(
      ["name", "value", "source", ""],
      described.resources[0].configEntries
        .slice()
        .sort((a, b) => (a.configName < b.configName ? -1 : 1))
        .map((c) => [
          c.configName,
          c.isSensitive ? "(hidden)" : (c.configValue ?? "(null)"),
          SOURCE_NAMES.get(c.configSource) ?? String(c.configSource),
          c.readOnly ? "read-only" : "",
        ]),
      { id: "config-table" },
    ),
  );
}
