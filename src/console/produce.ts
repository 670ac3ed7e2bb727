/// <reference lib="dom" />
// The produce form: send one record (acks -1) to a topic, to a partition or the partitioner's
// choice, with a key, a value and headers (one "name: value" a line), and show where it went.

import { el, field, formValue, replace, select } from "./dom.ts";
import { parseHeaderLines } from "./format.ts";
import { errorText, link, route, type ViewContext } from "./view.ts";

export async function produce(ctx: ViewContext): Promise<void> {
  const topics = (await ctx.session.admin.listTopics()).sort();
  const form = el(
    "form",
    { class: "stack", id: "produce" },
    field("topic", select("topic", topics, ctx.params.get("topic") ?? topics[0], { id: "produce-topic" })),
    field(
      "partition (empty: the partitioner picks)",
      el("input", { name: "partition", type: "number", min: 0, id: "produce-partition" }),
    ),
    field("key (empty: no key)", el("input", { name: "key", id: "produce-key" })),
    field("value", el("textarea", { name: "value", rows: 5, id: "produce-value" })),
    field(
      "headers (name: value, one a line)",
      el("textarea", { name: "headers", rows: 3, id: "produce-headers" }),
    ),
    el("button", { type: "submit", id: "produce-submit" }, "Send"),
  );
  const result = el("p", { id: "produce-result" });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const topic = formValue(form, "topic");
    const partitionText = formValue(form, "partition").trim();
    const key = formValue(form, "key");
    const send = async () => {
      const headers = parseHeaderLines(formValue(form, "headers"));
      const producer = await ctx.session.producer();
      const [meta] = await producer.send({
        topic,
        messages: [
          {
            key: key === "" ? undefined : key,
            value: formValue(form, "value"),
            partition: partitionText === "" ? undefined : Number(partitionText),
            headers,
          },
        ],
      });
      return meta;
    };
    result.className = "muted";
    result.textContent = "Sending…";
    send()
      .then((meta) => {
        result.className = "ok";
        replace(
          result,
          "Sent to partition ",
          el("strong", { id: "produce-partition-result" }, meta.partition),
          " at offset ",
          el("strong", { id: "produce-offset-result" }, meta.baseOffset),
          " (",
          link(
            route("messages", {
              topic,
              partition: meta.partition,
              start: "offset",
              offset: meta.baseOffset,
              count: 1,
            }),
            "see it",
          ),
          ")",
        );
      })
      .catch((e) => {
        result.className = "error";
        result.textContent = errorText(e);
      });
  });
  replace(
    ctx.main,
    el("h1", {}, "Produce a message"),
    topics.length === 0 ? el("p", { class: "muted" }, "No topics yet: create one first.") : form,
    result,
  );
}
