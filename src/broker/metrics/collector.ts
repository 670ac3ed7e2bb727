// A prom-client metric whose samples are computed when /metrics is scraped: the shape
// prom-client's Registry prints (name, help, type, get()), with no state of its own. The
// broker's metrics are all of this kind (broker_metrics.ts), so nothing on a request's path
// touches prom-client; the registry does the text format and the label escaping.

import type { Metric } from "prom-client";
import type { Sample } from "./histogram.ts";

export type MetricType = "counter" | "gauge" | "histogram";

export function collector(
  name: string,
  type: MetricType,
  help: string,
  samples: () => Sample[] | Promise<Sample[]>,
): Metric {
  return {
    name,
    help,
    type,
    aggregator: "sum",
    get: async () => ({ name, help, type, aggregator: "sum", values: await samples() }),
  } as unknown as Metric;
}
