/** Receives long-polling an empty queue, woken one at a time as messages become visible. */
import type { Clock } from '../../clock.ts';
import { Deque } from './deque.ts';

interface Waiter {
  wake(): void;
}

export class Waiters {
  readonly #clock: Clock;
  readonly #waiting = new Deque<Waiter>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Wakes the longest-waiting receive, if any. */
  wakeOne(): void {
    this.#waiting.shift()?.wake();
  }

  /** Waits until a message may be visible (true) or `ms` passes or `signal` aborts (false). */
  wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const waiter: Waiter = { wake: () => finish(true) };
      const onAbort = () => {
        this.#drop(waiter);
        finish(false);
      };
      // A caller awaiting a receive is pending work: this timer keeps the process alive.
      const timer = this.#clock.setTimeout(() => {
        this.#drop(waiter);
        finish(false);
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #drop(waiter: Waiter): void {
    const kept = [...this.#waiting].filter((w) => w !== waiter);
    this.#waiting.clear();
    for (const w of kept) this.#waiting.push(w);
  }
}
