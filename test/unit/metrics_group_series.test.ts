// kafka_consumergroup_* of /metrics (src/broker/metrics/broker_metrics.ts) with client-chosen group
// ids: bounded to MAX_GROUP_SERIES series per family, the oldest groups kept, the rest counted in
// milena_metrics_consumergroup_series_dropped; hostile ids (quotes, backslashes, newlines) escaped
// as the text format wants (prom-client's escaping, checked here).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  brokerMetrics,
  MAX_GROUP_SERIES,
  type MetricsSources,
} from "../../src/broker/metrics/broker_metrics.ts";

interface FakeGroup {
  state: string;
  offsets: Map<string, { offset: number }>;
}

/** Sources with only what the consumer group families read: groups, partitionOf, highWatermark. */
function sources(groups: Map<string, FakeGroup>): MetricsSources {
  const entry = (topic: string, partition: number) => ({ topic, partition });
  return {
    groups: { groups },
    logs: { partitionOf: (t: string, p: number) => (t === "gone" ? undefined : entry(t, p)) },
    highWatermark: () => 100,
  } as unknown as MetricsSources;
}

function group(partitions: number, topic = "t", offset = 40): FakeGroup {
  const offsets = new Map<string, { offset: number }>();
  for (let p = 0; p < partitions; p++) offsets.set(`${topic}\0${p}`, { offset });
  return { state: "Empty", offsets };
}

const lines = (text: string, name: string) => text.split("\n").filter((l) => l.startsWith(`${name}{`));

describe("consumer group series", () => {
  it(`at most ${MAX_GROUP_SERIES} per family, the oldest groups first, the rest counted`, async () => {
    const groups = new Map<string, FakeGroup>();
    const perGroup = 100;
    const n = MAX_GROUP_SERIES / perGroup + 50;
    for (let g = 0; g < n; g++) groups.set(`group-${g}`, group(perGroup));
    const r = brokerMetrics(sources(groups));
    const lag = lines(await r.getSingleMetricAsString("kafka_consumergroup_lag"), "kafka_consumergroup_lag");
    assert.equal(lag.length, MAX_GROUP_SERIES);
    assert.ok(lag[0].includes('consumergroup="group-0"'));
    assert.ok(lag.every((l) => Number(/group-(\d+)/.exec(l)![1]) < MAX_GROUP_SERIES / perGroup));
    assert.ok(lag.every((l) => l.endsWith(" 60")));
    const current = lines(
      await r.getSingleMetricAsString("kafka_consumergroup_current_offset"),
      "kafka_consumergroup_current_offset",
    );
    assert.equal(current.length, MAX_GROUP_SERIES);
    assert.match(
      await r.getSingleMetricAsString("milena_metrics_consumergroup_series_dropped"),
      new RegExp(`^milena_metrics_consumergroup_series_dropped ${50 * perGroup}$`, "m"),
    );
  });

  it("dead groups, uncommitted offsets and partitions gone are not series; hostile ids are escaped", async () => {
    const groups = new Map<string, FakeGroup>([
      ["dead", { ...group(2), state: "Dead" }],
      ["none", group(2, "t", -1)],
      ["gone", group(2, "gone")],
      ['q"uote', group(1)],
      ["back\\slash", group(1)],
      ["new\nline } 1\n# HELP x", group(1)],
    ]);
    const r = brokerMetrics(sources(groups));
    const lag = lines(await r.getSingleMetricAsString("kafka_consumergroup_lag"), "kafka_consumergroup_lag");
    assert.deepEqual(lag, [
      'kafka_consumergroup_lag{consumergroup="q\\"uote",topic="t",partition="0"} 60',
      'kafka_consumergroup_lag{consumergroup="back\\\\slash",topic="t",partition="0"} 60',
      'kafka_consumergroup_lag{consumergroup="new\\nline } 1\\n# HELP x",topic="t",partition="0"} 60',
    ]);
    assert.match(
      await r.getSingleMetricAsString("milena_metrics_consumergroup_series_dropped"),
      /^milena_metrics_consumergroup_series_dropped 0$/m,
    );
  });
});
