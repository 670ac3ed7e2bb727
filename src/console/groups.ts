/// <reference lib="dom" />
// The consumer groups views. The list: every group with its state, members and total lag. One
// group: members (client, host, assigned partitions), per partition the committed offset, the log
// end and the lag (log end - committed), and, for a group with no members (as Kafka requires), a
// form to reset a topic's offsets to the earliest, the latest or a given offset.

import type { Admin } from "../client/browser.ts";
import { el, field, formValue, replace, select, table } from "./dom.ts";
import { groupLag, type LagRow, totalLag } from "./offsets.ts";
import { errorText, link, num, route, type ViewContext } from "./view.ts";

/** A group's lag rows: its committed offsets against the log ends of their topics. */
export async function lagOf(admin: Admin, groupId: string): Promise<LagRow[]> {
  const committed = await admin.fetchOffsets({ groupId });
  const ends = new Map<string, Map<number, number>>();
  for (const t of committed) {
    const o = await admin.fetchTopicOffsets(t.topic).catch(() => []);
    ends.set(t.topic, new Map(o.map((x) => [x.partition, x.high])));
  }
  return groupLag(committed, ends);
}

export async function groupList(ctx: ViewContext): Promise<void> {
  const { admin } = ctx.session;
  const body = el("div", {}, el("p", { class: "muted" }, "Loading groups…"));
  replace(ctx.main, el("h1", {}, "Consumer groups"), body);
  const refresh = async () => {
    const { groups } = await admin.listGroups();
    groups.sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
    const described =
      groups.length === 0 ? [] : (await admin.describeGroups(groups.map((g) => g.groupId))).groups;
    const lags = await Promise.all(groups.map((g) => lagOf(admin, g.groupId).catch(() => null)));
    if (!ctx.active) return;
    replace(
      body,
      groups.length === 0
        ? el("p", { class: "muted" }, "No consumer groups.")
        : table(
            ["group", "protocol type", "state", "members", "topics", "lag"],
            groups.map((g, i) => {
              const d = described.find((x) => x.groupId === g.groupId);
              const l = lags[i];
              return [
                link(route("group", { id: g.groupId }), g.groupId, { "data-group": g.groupId }),
                g.protocolType,
                d?.state ?? "?",
                num(d?.members.length ?? 0),
                l === null ? "-" : [...new Set(l.map((r) => r.topic))].join(", "),
                num(l === null ? "-" : totalLag(l)),
              ];
            }),
            { id: "group-table" },
          ),
    );
  };
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 5000);
  ctx.onLeave(() => clearInterval(timer));
}

export async function groupDetail(ctx: ViewContext): Promise<void> {
  const groupId = ctx.params.get("id") ?? "";
  const { admin } = ctx.session;
  const body = el("div");
  replace(ctx.main, el("h1", {}, "Consumer group ", el("code", { id: "group-id" }, groupId)), body);
  const refresh = async () => {
    const [{ groups }, rows] = await Promise.all([admin.describeGroups([groupId]), lagOf(admin, groupId)]);
    if (!ctx.active) return;
    const g = groups[0];
    const empty = g.members.length === 0;
    const topics = [...new Set(rows.map((r) => r.topic))];
    const status = el("p", { class: "error", id: "reset-status" });
    const reset = el(
      "form",
      { id: "group-reset" },
      field("topic", select("topic", topics, topics[0], { id: "reset-topic" })),
      field(
        "to",
        select(
          "to",
          [
            ["earliest", "earliest (log start)"],
            ["latest", "latest (log end)"],
            ["offset", "offset"],
          ],
          "earliest",
          { id: "reset-to" },
        ),
      ),
      field("offset", el("input", { name: "offset", type: "number", min: 0, id: "reset-offset", size: 10 })),
      field(
        "partition",
        el("input", { name: "partition", placeholder: "all", id: "reset-partition", size: 6 }),
      ),
      el(
        "button",
        { type: "submit", id: "reset-submit", disabled: !empty || topics.length === 0 },
        "Reset offsets",
      ),
    );
    reset.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const topic = formValue(reset, "topic");
      const to = formValue(reset, "to");
      const partitionText = formValue(reset, "partition").trim();
      const run = async () => {
        if (to !== "offset" && partitionText === "")
          return admin.resetOffsets({ groupId, topic, earliest: to === "earliest" });
        const ends = await admin.fetchTopicOffsets(topic);
        const parts = partitionText === "" ? ends : ends.filter((e) => e.partition === Number(partitionText));
        if (parts.length === 0) throw new Error(`${topic} has no partition ${partitionText}`);
        const offset = Number(formValue(reset, "offset"));
        if (to === "offset" && !(Number.isInteger(offset) && offset >= 0))
          throw new Error("offset: a number >= 0");
        return admin.setOffsets({
          groupId,
          topic,
          partitions: parts.map((p) => ({
            partition: p.partition,
            offset: to === "offset" ? offset : to === "earliest" ? p.low : p.high,
          })),
        });
      };
      run()
        .then(() => {
          ctx.toast(`Reset ${groupId}'s offsets of ${topic}`);
          return refresh();
        })
        .catch((e) => {
          status.textContent = errorText(e);
        });
    });
    replace(
      body,
      el(
        "p",
        {},
        "State ",
        el("strong", { id: "group-state" }, g.state),
        g.protocol === "" ? "" : `, assignor ${g.protocol}`,
        `, ${g.members.length} member${g.members.length === 1 ? "" : "s"}, total lag `,
        el("strong", { id: "group-total-lag" }, totalLag(rows)),
      ),
      el("h2", {}, "Members"),
      g.members.length === 0
        ? el("p", { class: "muted" }, "No members: offsets can be reset.")
        : table(
            ["member", "client", "host", "assignment"],
            g.members.map((m) => [
              m.memberId,
              m.clientId,
              m.clientHost,
              m.assignment.map((a) => `${a.topic}: ${a.partitions.join(", ")}`).join("; "),
            ]),
            { id: "member-table" },
          ),
      el("h2", {}, "Offsets and lag"),
      rows.length === 0
        ? el("p", { class: "muted" }, "The group committed no offsets.")
        : table(
            ["topic", "partition", "committed", "log end", "lag"],
            rows.map((r) => [
              link(route("topic", { name: r.topic }), r.topic),
              num(r.partition),
              num(r.committed < 0 ? "-" : r.committed),
              num(r.logEnd < 0 ? "-" : r.logEnd),
              el(
                "span",
                { class: "num lag", "data-topic": r.topic, "data-partition": r.partition },
                r.lag === null ? "-" : r.lag,
              ),
            ]),
            { id: "lag-table" },
          ),
      el("h2", {}, "Reset offsets"),
      empty ? null : el("p", { class: "muted" }, "Only a group without members can have its offsets reset."),
      reset,
      status,
    );
  };
  await refresh();
  const timer = setInterval(() => {
    // Keep the form as typed while the user is on it.
    if (!ctx.main.contains(document.activeElement) || document.activeElement === document.body)
      refresh().catch(() => {});
  }, 5000);
  ctx.onLeave(() => clearInterval(timer));
}
