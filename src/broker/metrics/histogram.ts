// Histograms kept as bucket counts in one preallocated Float64Array, a row per series: observing
// is a bucket search and two additions (no allocation, no prom-client call), and /metrics turns
// the rows into Prometheus histogram samples when scraped. The array may sit on a
// SharedArrayBuffer: a partition writer thread observes its own row (fsync times), the acceptor
// reads it (each row has a single writer; a scrape may see one observation half-counted, never
// a torn number: aligned float64 stores are single machine stores on x64).
//
// Row layout: counts[0..bounds.length] (bucket i counts observations <= bounds[i] and > the
// bound before; the last is +Inf), then the sum of observed values.

/** Request and fsync latency buckets, seconds (0.5 ms to 10 s). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** A Prometheus sample as prom-client's registry prints it. */
export interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export class HistogramTable {
  /** Float64s per row: a count per bucket (+Inf included), then the sum. */
  readonly stride: number;
  readonly data: Float64Array;

  constructor(
    readonly bounds: readonly number[],
    readonly rows: number,
    buffer?: SharedArrayBuffer | ArrayBuffer,
    byteOffset = 0,
  ) {
    this.stride = bounds.length + 2;
    this.data =
      buffer === undefined
        ? new Float64Array(rows * this.stride)
        : new Float64Array(buffer, byteOffset, rows * this.stride);
  }

  /** Bytes a table of this shape takes (for a SharedArrayBuffer shared with a worker). */
  static bytes(bounds: readonly number[], rows: number): number {
    return rows * (bounds.length + 2) * 8;
  }

  observe(row: number, value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    const at = row * this.stride;
    this.data[at + i]++;
    this.data[at + this.stride - 1] += value;
  }

  /** Observations in a row. */
  count(row: number): number {
    const at = row * this.stride;
    let n = 0;
    for (let i = 0; i <= this.bounds.length; i++) n += this.data[at + i];
    return n;
  }

  /**
   * The row as Prometheus samples of histogram `name`: cumulative name_bucket{le} (+Inf equal
   * to name_count, as the format requires), name_sum, name_count.
   */
  samples(row: number, name: string, labels: Record<string, string | number>, out: Sample[]): void {
    const at = row * this.stride;
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += this.data[at + i];
      const le = i < this.bounds.length ? String(this.bounds[i]) : "+Inf";
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    }
    out.push({ metricName: `${name}_sum`, labels, value: this.data[at + this.stride - 1] });
    out.push({ metricName: `${name}_count`, labels, value: cumulative });
  }
}
