// The typed-array histograms behind /metrics (src/broker/metrics/histogram.ts, request_metrics.ts)
// and their Prometheus text through prom-client's registry (collector.ts): bucket bounds are
// inclusive (le), buckets cumulative, +Inf equals _count, label values escaped.

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import { collector } from "../../src/broker/metrics/collector.ts";
import { HistogramTable, type Sample } from "../../src/broker/metrics/histogram.ts";
import { RequestMetrics } from "../../src/broker/metrics/request_metrics.ts";
import { ApiKey } from "../../src/protocol/api_keys.ts";

describe("HistogramTable", () => {
  test("an observation lands in the first bucket whose bound is >= it; rows are separate", () => {
    const t = new HistogramTable([0.1, 1], 2);
    for (const v of [0.05, 0.1, 0.5, 1, 3]) t.observe(1, v);
    assert.equal(t.count(0), 0);
    assert.equal(t.count(1), 5);
    const out: Sample[] = [];
    t.samples(1, "h", { a: "x" }, out);
    assert.deepEqual(
      out.map((s) => [s.metricName, s.labels.le ?? null, s.value]),
      [
        ["h_bucket", "0.1", 2],
        ["h_bucket", "1", 4],
        ["h_bucket", "+Inf", 5],
        ["h_sum", null, 0.05 + 0.1 + 0.5 + 1 + 3],
        ["h_count", null, 5],
      ],
    );
  });

  test("on a SharedArrayBuffer two views see the same counts (a worker's row, the acceptor's read)", () => {
    const bounds = [0.001, 0.01];
    const sab = new SharedArrayBuffer(HistogramTable.bytes(bounds, 3));
    const writer = new HistogramTable(bounds, 3, sab);
    const reader = new HistogramTable(bounds, 3, sab);
    writer.observe(2, 0.005);
    writer.observe(2, 0.5);
    assert.equal(reader.count(2), 2);
    assert.equal(reader.count(0), 0);
  });
});

describe("RequestMetrics", () => {
  test("counts and latency per (api, version); only rows seen are reported", () => {
    const m = new RequestMetrics();
    m.observe(ApiKey.Produce, 9, 0.002);
    m.observe(ApiKey.Produce, 9, 0.004);
    m.observe(ApiKey.Produce, 3, 0.5);
    m.observe(ApiKey.Fetch, 12, 0.0001);
    m.observe(ApiKey.Fetch, 999, 1); // out of range: ignored, not thrown
    assert.equal(m.count(ApiKey.Produce, 9), 2);
    const { totals, latency } = m.collect("lat");
    assert.deepEqual(
      totals.map((s) => [s.labels.request, s.labels.version, s.value]),
      [
        ["Produce", "3", 1],
        ["Produce", "9", 2],
        ["Fetch", "12", 1],
      ],
    );
    const count = latency.find(
      (s) => s.metricName === "lat_count" && s.labels.request === "Produce" && s.labels.version === "9",
    );
    assert.equal(count?.value, 2);
  });
});

describe("Prometheus text through the registry", () => {
  test("a collector's samples print as HELP, TYPE and escaped lines", async () => {
    const r = new Registry();
    const t = new HistogramTable([1], 1);
    t.observe(0, 0.5);
    r.registerMetric(
      collector("g", "gauge", "a gauge", () => [{ labels: { consumergroup: 'a"b\\c\nd' }, value: 3 }]),
    );
    r.registerMetric(
      collector("h_seconds", "histogram", "a histogram", () => {
        const out: Sample[] = [];
        t.samples(0, "h_seconds", { writer: 0 }, out);
        return out;
      }),
    );
    const text = await r.metrics();
    assert.match(text, /^# HELP g a gauge\n# TYPE g gauge\ng\{consumergroup="a\\"b\\\\c\\nd"\} 3$/m);
    assert.match(text, /^# TYPE h_seconds histogram$/m);
    assert.match(text, /^h_seconds_bucket\{writer="0",le="1"\} 1$/m);
    assert.match(text, /^h_seconds_bucket\{writer="0",le="\+Inf"\} 1$/m);
    assert.match(text, /^h_seconds_sum\{writer="0"\} 0.5$/m);
    assert.match(text, /^h_seconds_count\{writer="0"\} 1$/m);
  });
});
