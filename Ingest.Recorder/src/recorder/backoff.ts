/** Retry timing for 429/503/5xx/network failures: exponential with equal jitter, never sooner than Retry-After. */
export interface BackoffOptions {
  /** First retry's upper bound in ms (default 500). */
  baseDelayMs: number;
  /** Ceiling of the exponential part in ms (default 30 000). */
  maxDelayMs: number;
}

/**
 * Delay before retry number `attempt` (0-based). Equal jitter: half the exponential step is fixed, half random,
 * so many tabs refused at once spread out instead of returning together. A server's Retry-After is a floor.
 */
export function retryDelayMs(attempt: number, retryAfterMs: number | undefined, options: BackoffOptions, random = Math.random): number {
  const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(attempt, 30));
  const jittered = step / 2 + random() * (step / 2);
  return Math.max(retryAfterMs ?? 0, jittered);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') {
    return undefined;
  }
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) {
    return Number(trimmed) * 1000;
  }
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
