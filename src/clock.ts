/**
 * Time as Missive sees it. Everything that waits (backoff, visibility, delays, long polls,
 * heartbeats, stop deadlines) goes through a {@link Clock}, so tests can swap in a
 * {@link ManualClock} and run hours of retries in milliseconds.
 *
 * @module
 */

/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** A source of time and timers; pass a {@link ManualClock} in tests. */
export interface Clock {
  /** The current time, in milliseconds since the Unix epoch. */
  now(): number;
  /**
   * Calls `callback` once after `delayMs` milliseconds. A timer keeps the process alive unless
   * `keepAlive` is false: pending work (a backoff before a resend, a stop deadline) must not be
   * cut short by the process exiting, while a queue's bookkeeping must not hold it open.
   */
  setTimeout(callback: () => void, delayMs: number, options?: { keepAlive?: boolean }): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `Date.now()` and Node's timers. The default of every `clock` option.
 *
 * @example
 * ```ts
 * import { systemClock } from 'missive';
 *
 * const startedAt = systemClock.now(); // milliseconds since the epoch
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs, options) {
    const timer = setTimeout(callback, Math.max(0, delayMs));
    if (options?.keepAlive === false) timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/**
 * Resolves after `delayMs` milliseconds on `clock`, or rejects with the signal's reason once it aborts.
 *
 * @example
 * ```ts
 * import { sleep, systemClock } from 'missive';
 *
 * await sleep(systemClock, 250, controller.signal);
 * ```
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (delayMs <= 0 && !signal) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
