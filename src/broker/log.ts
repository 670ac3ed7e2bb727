// The broker's log lines, with a bound on repetition. A client (or a fuzzer, or a reconnect
// loop) can make the broker refuse thousands of requests a second; one line each would fill the
// disk. Lines of the same kind (a short key the caller gives: "closing connection", "refused
// upgrade", ...) print the first LIMITED_PER_WINDOW times per window; the rest are counted, and
// one summary line per kind says how many were left out when the window ends:
//
//   [milena] closing connection from 127.0.0.1:5123: unknown api key 99 (correlation id 7)
//   ...
//   [milena] (9,368 more "closing connection" lines in the last 10 s)
//
// Lines without a kind (startup, topic created, shutdown) always print.

export type LogLine = (line: string) => void;

export interface Logger {
  /** A line that always prints. */
  info(line: string): void;
  /** A line of a kind that may repeat without bound: rate-limited per kind. */
  limited(kind: string, line: string): void;
  /** Print the pending summaries now (shutdown). */
  flush(): void;
}

export const LIMITED_PER_WINDOW = 20;
export const WINDOW_MS = 10_000;

export function createLogger(write: LogLine, now: () => number = Date.now, windowMs = WINDOW_MS): Logger {
  const kinds = new Map<string, { windowStart: number; printed: number; suppressed: number }>();
  let timer: NodeJS.Timeout | null = null;

  const summarise = (at: number, force: boolean): void => {
    for (const [kind, k] of kinds) {
      if (!force && at - k.windowStart < windowMs) continue;
      if (k.suppressed > 0) {
        const secs = Math.max(1, Math.round((at - k.windowStart) / 1000));
        write(`(${k.suppressed.toLocaleString("en-US")} more "${kind}" lines in the last ${secs} s)`);
      }
      kinds.delete(kind);
    }
    if (kinds.size === 0 && timer !== null) {
      clearInterval(timer);
      timer = null;
    }
  };

  return {
    info: write,
    limited(kind, line) {
      const t = now();
      let k = kinds.get(kind);
      if (k !== undefined && t - k.windowStart >= windowMs) {
        summarise(t, false);
        k = undefined;
      }
      if (k === undefined) {
        k = { windowStart: t, printed: 0, suppressed: 0 };
        kinds.set(kind, k);
        if (timer === null) {
          timer = setInterval(() => summarise(now(), false), windowMs);
          timer.unref();
        }
      }
      if (k.printed < LIMITED_PER_WINDOW) {
        k.printed++;
        write(line);
      } else k.suppressed++;
    },
    flush() {
      summarise(now(), true);
    },
  };
}
