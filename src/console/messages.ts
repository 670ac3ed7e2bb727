/// <reference lib="dom" />
// The message browser: read up to N records of a topic (one partition or all) from the log
// start, the last N, an offset or a timestamp, with a consumer of the console's client; show
// partition, offset, timestamp, key, value and headers as text, pretty JSON or hex (switching
// the view does not read again). Reading stops at N records, at the log end, or after 8 seconds.

import type { ConsumedRecord } from "../client/browser.ts";
import { el, field, formValue, replace, select, table } from "./dom.ts";
import { formatBytes, formatTimestamp, type ViewMode } from "./format.ts";
import { errorText, route, type ViewContext } from "./view.ts";

const MAX_RECORDS = 1000;
const READ_TIMEOUT_MS = 8000;

type Start = "earliest" | "last" | "offset" | "timestamp";

export interface BrowseRequest {
  topic: string;
  /** A partition, or -1 for all. */
  partition: number;
  start: Start;
  /** The offset (start "offset") or ms since the epoch (start "timestamp"). */
  at: number;
  count: number;
}

/** Read records as asked: per partition from its start position to its log end, N at most in all. */
export async function browse(ctx: ViewContext, req: BrowseRequest): Promise<ConsumedRecord[]> {
  const { admin, milena } = ctx.session;
  const offsets = await admin.fetchTopicOffsets(req.topic);
  const parts = req.partition < 0 ? offsets : offsets.filter((o) => o.partition === req.partition);
  if (parts.length === 0) throw new Error(`${req.topic} has no partition ${req.partition}`);
  const byTime =
    req.start === "timestamp"
      ? new Map(
          (await admin.fetchTopicOffsetsByTimestamp(req.topic, req.at)).map((o) => [o.partition, o.offset]),
        )
      : null;
  const perPartition = req.partition < 0 ? Math.ceil(req.count / parts.length) : req.count;
  const plan = parts.map((p) => {
    let from = p.low;
    if (req.start === "last") from = Math.max(p.low, p.high - perPartition);
    else if (req.start === "offset") from = Math.min(Math.max(req.at, p.low), p.high);
    else if (req.start === "timestamp") from = byTime?.get(p.partition) ?? p.high;
    return { partition: p.partition, from, end: p.high };
  });
  const pending = new Set(plan.filter((p) => p.from < p.end).map((p) => p.partition));
  const ends = new Map(plan.map((p) => [p.partition, p.end]));
  if (pending.size === 0) return [];
  const consumer = milena.consumer({ autoOffsetReset: "earliest", maxWaitTimeInMs: 250 });
  await consumer.connect();
  const got: ConsumedRecord[] = [];
  try {
    await consumer.assign([{ topic: req.topic, partitions: [...pending] }]);
    for (const p of plan)
      if (pending.has(p.partition))
        await consumer.seek({ topic: req.topic, partition: p.partition, offset: p.from });
    const it = consumer.records();
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (got.length < req.count && pending.size > 0 && ctx.active) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        it.next(),
        new Promise<null>((r) => (timer = setTimeout(() => r(null), left))),
      ]);
      clearTimeout(timer);
      if (next === null || next.done) break;
      const r = next.value;
      const end = ends.get(r.partition) ?? 0;
      if (r.offset >= end) {
        pending.delete(r.partition);
        continue;
      }
      got.push(r);
      if (r.offset >= end - 1) pending.delete(r.partition);
    }
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return got.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
}

function bytesCell(b: Uint8Array | null, mode: ViewMode, cls: string): HTMLElement {
  const { text, fallback } = formatBytes(b, mode);
  return el(
    "pre",
    {
      class: `${cls}${mode === "hex" ? " hex" : ""}${fallback ? " muted" : ""}`,
      title: fallback ? "not JSON: shown as text" : null,
    },
    text,
  );
}

function headerCell(h: ConsumedRecord["headers"], mode: ViewMode): HTMLElement {
  const lines = el("div", { class: "headers" });
  for (const [k, v] of Object.entries(h))
    for (const one of Array.isArray(v) ? v : [v])
      lines.append(
        el("div", {}, el("strong", {}, k), ": ", bytesCell(one, mode === "json" ? "text" : mode, "header")),
      );
  return lines;
}

export async function messages(ctx: ViewContext): Promise<void> {
  const topics = (await ctx.session.admin.listTopics()).sort();
  const p = ctx.params;
  const topic = p.get("topic") ?? topics[0] ?? "";
  let mode: ViewMode = (p.get("view") as ViewMode | null) ?? "text";
  const form = el(
    "form",
    { id: "browse" },
    field("topic", select("topic", topics, topic, { id: "browse-topic" })),
    field(
      "partition",
      el("input", {
        name: "partition",
        placeholder: "all",
        value: p.get("partition") ?? "",
        id: "browse-partition",
        size: 6,
      }),
    ),
    field(
      "start",
      select(
        "start",
        [
          ["earliest", "from the log start"],
          ["last", "the last N"],
          ["offset", "at offset"],
          ["timestamp", "at time"],
        ],
        p.get("start") ?? "earliest",
        { id: "browse-start" },
      ),
    ),
    field(
      "offset",
      el("input", {
        name: "offset",
        type: "number",
        min: 0,
        value: p.get("offset") ?? "",
        id: "browse-offset",
        size: 10,
      }),
    ),
    field("time", el("input", { name: "time", type: "datetime-local", step: 1, id: "browse-time" })),
    field(
      "N",
      el("input", {
        name: "count",
        type: "number",
        min: 1,
        max: MAX_RECORDS,
        value: p.get("count") ?? 20,
        id: "browse-count",
        size: 6,
      }),
    ),
    field(
      "view",
      select(
        "view",
        [
          ["text", "text"],
          ["json", "JSON"],
          ["hex", "hex"],
        ],
        mode,
        { id: "browse-view" },
      ),
    ),
    el("button", { type: "submit", id: "browse-submit" }, "Read"),
  );
  const status = el("p", { class: "muted", id: "browse-status" });
  const results = el("div", { id: "browse-results" });
  replace(ctx.main, el("h1", {}, "Messages"), form, status, results);

  let records: ConsumedRecord[] = [];
  const render = () =>
    replace(
      results,
      records.length === 0
        ? null
        : table(
            ["partition", "offset", "timestamp", "key", "value", "headers"],
            records.map((r) => [
              r.partition,
              el("span", { class: "offset" }, r.offset),
              formatTimestamp(r.timestamp),
              bytesCell(r.key, mode, "key"),
              bytesCell(r.value, mode, "value"),
              headerCell(r.headers, mode),
            ]),
            { id: "message-table" },
          ),
    );
  form.querySelector("#browse-view")?.addEventListener("change", () => {
    mode = formValue(form, "view") as ViewMode;
    render();
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const partitionText = formValue(form, "partition").trim();
    const time = formValue(form, "time");
    const req: BrowseRequest = {
      topic: formValue(form, "topic"),
      partition: partitionText === "" ? -1 : Number(partitionText),
      start: formValue(form, "start") as Start,
      at:
        formValue(form, "start") === "timestamp"
          ? time === ""
            ? Date.now()
            : new Date(time).getTime()
          : Number(formValue(form, "offset") || 0),
      count: Math.min(MAX_RECORDS, Math.max(1, Number(formValue(form, "count") || 20))),
    };
    if (!Number.isInteger(req.partition)) {
      status.textContent = "partition: a number, or empty for all";
      return;
    }
    status.textContent = "Reading…";
    status.className = "muted";
    history.replaceState(
      null,
      "",
      `#${route("messages", { topic: req.topic, partition: partitionText, start: req.start, offset: formValue(form, "offset"), count: req.count, view: mode })}`,
    );
    browse(ctx, req)
      .then((got) => {
        records = got;
        status.textContent = `${got.length} record${got.length === 1 ? "" : "s"}`;
        render();
      })
      .catch((e) => {
        status.textContent = errorText(e);
        status.className = "error";
      });
  });
  if (p.has("topic") && topic !== "") form.requestSubmit();
}
