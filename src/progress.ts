// How long work says how far it is, shared by the command line (milena perf, topics reassign
// --wait, groups reset-offsets) and the broker (startup recovery): percent done and an ETA
// from the rate so far, and a status line that updates in place on a terminal.

/** "12 s", "3 min 20 s", "1 h 5 min"; "?" while there is no rate to go by. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Percent done, one decimal: "34.2%". */
export function formatPercent(done: number, total: number): string {
  return `${total > 0 ? ((100 * Math.min(done, total)) / total).toFixed(1) : "100.0"}%`;
}

/** Seconds left at the average rate since the start; Infinity while nothing is done. */
export function etaSeconds(done: number, total: number, elapsedMs: number): number {
  if (done <= 0 || elapsedMs <= 0) return Number.POSITIVE_INFINITY;
  return ((total - done) * elapsedMs) / done / 1000;
}

/** "(34.2%, ETA 12 s)" */
export function percentEta(done: number, total: number, elapsedMs: number): string {
  return `(${formatPercent(done, total)}, ETA ${formatDuration(etaSeconds(done, total, elapsedMs))})`;
}

/**
 * Progress output on a stream (stderr for the command line): plain lines always; on a terminal
 * also a status line rewritten in place (\r), cleared before each plain line and at the end.
 */
export class ProgressOutput {
  private statusShown = false;
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get tty(): boolean {
    return this.stream.isTTY === true;
  }

  line(text: string): void {
    this.clearStatus();
    this.stream.write(`${text}\n`);
  }

  /** A line that replaces the previous status line (terminals only; ignored otherwise). */
  status(text: string): void {
    if (!this.tty) return;
    this.stream.write(`\r\x1b[K${text}`);
    this.statusShown = true;
  }

  clearStatus(): void {
    if (!this.statusShown) return;
    this.stream.write("\r\x1b[K");
    this.statusShown = false;
  }
}
