// Retries with exponential backoff (kafkajs's `retry` option and defaults, except a shorter
// first wait): wait initialRetryTime x multiplier^attempt, randomised by +-factor, capped at
// maxRetryTime, at most `retries` times, and only for errors marked retriable.

import { MilenaError } from "./errors.ts";

export interface RetryOptions {
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** First wait in ms (default 100). */
  initialRetryTime?: number;
  /** Longest wait in ms (default 30000). */
  maxRetryTime?: number;
  /** Randomisation, 0..1 (default 0.2). */
  factor?: number;
  /** Growth per attempt (default 2). */
  multiplier?: number;
}

export type Retry = Required<RetryOptions>;

export function retryDefaults(o: RetryOptions = {}): Retry {
  return {
    retries: o.retries ?? 5,
    initialRetryTime: o.initialRetryTime ?? 100,
    maxRetryTime: o.maxRetryTime ?? 30_000,
    factor: o.factor ?? 0.2,
    multiplier: o.multiplier ?? 2,
  };
}

/** Wait before retry number `attempt` (1 = the first retry). */
export function backoffMs(r: Retry, attempt: number): number {
  const base = r.initialRetryTime * r.multiplier ** Math.max(0, attempt - 1);
  const jitter = 1 + (Math.random() * 2 - 1) * r.factor;
  return Math.min(r.maxRetryTime, Math.max(1, Math.round(base * jitter)));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function isRetriableError(e: unknown): boolean {
  return e instanceof MilenaError && e.retriable;
}

/** How a retry loop waits, and when it must give up early (its client was disconnected). */
export interface RetryControl {
  sleep(ms: number): Promise<void>;
  stopped(): boolean;
}

/** Run fn, retrying retriable errors per `r`; the last error is thrown as it is. */
export async function withRetry<T>(
  r: Retry,
  fn: (attempt: number) => Promise<T>,
  ctl?: RetryControl,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (!isRetriableError(e) || attempt >= r.retries || ctl?.stopped()) throw e;
      await (ctl?.sleep ?? sleep)(backoffMs(r, attempt + 1));
      if (ctl?.stopped()) throw e;
    }
  }
}
