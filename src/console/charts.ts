/// <reference lib="dom" />
// The live charts (uPlot): records/s into each topic, from the change of its log end offsets
// (ListOffsets) polled every second; the time of that poll; and, when a probe topic is chosen,
// the latency of a small produce (acks -1) sent to it each second. The last two minutes are kept.

import uPlot from "uplot";
import { el, field, replace, select } from "./dom.ts";
import { recordsPerSecond } from "./offsets.ts";
import { errorText, type ViewContext } from "./view.ts";

const POLL_MS = 1000;
const KEEP = 120;
const MAX_TOPICS = 12;
const COLORS = [
  "#2f6fdf",
  "#e8590c",
  "#2b8a3e",
  "#c2255c",
  "#6741d9",
  "#0c8599",
  "#e67700",
  "#5c940d",
  "#a61e4d",
  "#364fc7",
  "#862e9c",
  "#087f5b",
];

function chart(title: string, names: string[], unit: string, width: number): uPlot {
  return new uPlot(
    {
      title,
      width,
      height: 260,
      series: [
        {},
        ...names.map((n, i) => ({
          label: n,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          value: (_u: uPlot, v: number | null) => (v === null ? "-" : `${v.toFixed(1)} ${unit}`),
        })),
      ],
      axes: [{}, { label: unit, size: 60 }],
      scales: { x: { time: true } },
    },
    [[], ...names.map(() => [])],
  );
}

export async function charts(ctx: ViewContext): Promise<void> {
  const { admin } = ctx.session;
  const topics = (await admin.listTopics()).filter((t) => !t.startsWith("__")).sort();
  const shown = topics.slice(0, MAX_TOPICS);
  const width = Math.min(1100, Math.max(480, ctx.main.clientWidth - 40));
  const rateChart = chart("Records/s in, per topic", shown, "rec/s", width);
  const latencyChart = chart("Latency", ["ListOffsets poll", "probe produce (acks -1)"], "ms", width);
  const probe = select("probe", ["(off)", ...topics], "(off)", { id: "probe-topic" });
  const status = el("p", { class: "muted", id: "chart-status" });
  replace(
    ctx.main,
    el("h1", {}, "Live charts"),
    el(
      "p",
      { class: "muted" },
      `Polled every ${POLL_MS / 1000} s; the last ${KEEP} samples.`,
      topics.length > MAX_TOPICS ? ` The first ${MAX_TOPICS} topics of ${topics.length}.` : "",
    ),
    el("div", { class: "chart", id: "chart-rates" }, rateChart.root),
    el("form", { class: "toolbar" }, field("produce a probe record each second to", probe)),
    el("div", { class: "chart", id: "chart-latency" }, latencyChart.root),
    status,
  );
  ctx.onLeave(() => {
    rateChart.destroy();
    latencyChart.destroy();
  });

  const xs: number[] = [];
  const rates: (number | null)[][] = shown.map(() => []);
  const pollMs: (number | null)[] = [];
  const probeMs: (number | null)[] = [];
  let last: { at: number; ends: Map<string, number> } | null = null;
  let busy = false;
  const tick = async () => {
    if (busy || !ctx.active) return;
    busy = true;
    try {
      const t0 = performance.now();
      const ends = new Map<string, number>();
      await Promise.all(
        shown.map(async (t) => {
          const o = await admin.fetchTopicOffsets(t).catch(() => null);
          if (o !== null)
            ends.set(
              t,
              o.reduce((s, p) => s + p.high, 0),
            );
        }),
      );
      const at = Date.now();
      const polled = performance.now() - t0;
      let probed: number | null = null;
      const probeTopic = probe.value;
      if (probeTopic !== "(off)") {
        const producer = await ctx.session.producer();
        const p0 = performance.now();
        await producer.send({
          topic: probeTopic,
          messages: [{ key: "milena-console-probe", value: String(at) }],
        });
        probed = performance.now() - p0;
      }
      if (last !== null && ctx.active) {
        const prev = last;
        xs.push(at / 1000);
        shown.forEach((t, i) => {
          const a = prev.ends.get(t);
          const b = ends.get(t);
          rates[i].push(a === undefined || b === undefined ? null : recordsPerSecond(a, b, at - prev.at));
        });
        pollMs.push(polled);
        probeMs.push(probed);
        if (xs.length > KEEP) {
          xs.shift();
          for (const r of rates) r.shift();
          pollMs.shift();
          probeMs.shift();
        }
        rateChart.setData([xs, ...rates] as uPlot.AlignedData);
        latencyChart.setData([xs, pollMs, probeMs] as uPlot.AlignedData);
        status.textContent = `${xs.length} samples${probed === null ? "" : `; last probe produce ${probed.toFixed(1)} ms`}`;
        status.className = "muted";
      }
      last = { at, ends };
    } catch (e) {
      status.textContent = errorText(e);
      status.className = "error";
    } finally {
      busy = false;
    }
  };
  await tick();
  const timer = setInterval(tick, POLL_MS);
  ctx.onLeave(() => clearInterval(timer));
}
