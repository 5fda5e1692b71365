import type { Clock, TimerHandle } from './clock.ts';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A {@link Clock} that moves only when told to. Timers fire in deadline order as the clock
 * advances, and the promise jobs each one starts are allowed to settle before the next fires,
 * so async code reacts just as it would in real time.
 *
 * @example
 * ```ts
 * import { ManualClock, memoryQueue } from 'missive/memory';
 *
 * const clock = new ManualClock();
 * const queue = memoryQueue({ clock, visibilityTimeoutMs: 30_000 });
 * await clock.advance(30_000); // an unacked message is visible again
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];

  /** @param startMs - the initial time, in milliseconds since the epoch; default 2026-01-01. */
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer = { id: this.#nextId++, at: this.#now + Math.max(0, delayMs), callback };
    // Keep timers sorted by deadline, then by creation, so ties fire in the order they were set.
    let index = this.#timers.length;
    while (index > 0 && (this.#timers[index - 1] as Timer).at > timer.at) index--;
    this.#timers.splice(index, 0, timer);
    return timer.id;
  }

  clearTimeout(handle: TimerHandle): void {
    const index = this.#timers.findIndex((timer) => timer.id === handle);
    if (index >= 0) this.#timers.splice(index, 1);
  }

  /** The number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms` milliseconds, firing every timer that falls due on the way (and
   * timers those set, if they fall due too), letting promise jobs settle after each.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    await settle();
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, next.at);
      next.callback();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /**
   * Advances in steps of `stepMs` (default 100) until `condition()` holds, and throws after
   * `limitMs` (default 86 400 000, one day) of clock time, so a test waits for an event instead
   * of guessing a duration. Both in milliseconds.
   */
  async advanceUntil(condition: () => boolean, options: { stepMs?: number; limitMs?: number } = {}): Promise<void> {
    const { stepMs = 100, limitMs = 24 * 60 * 60 * 1000 } = options;
    const deadline = this.#now + limitMs;
    await settle();
    while (!condition()) {
      if (this.#now >= deadline) {
        throw new Error(`Condition not met within ${limitMs} ms of clock time`);
      }
      await this.advance(stepMs);
    }
  }
}

/** Lets queued promise jobs and I/O callbacks run: one turn of the event loop. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
