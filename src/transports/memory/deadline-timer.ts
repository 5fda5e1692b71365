/**
 * Every visibility and delay deadline of a queue behind one timer, armed for the earliest, so
 * long polls wake when messages return without a timer per message.
 */
import type { Clock, TimerHandle } from '../../clock.ts';
import { type Deadlined, DeadlineHeap } from './deadline-heap.ts';

export class DeadlineTimer<T extends Deadlined> {
  readonly #heap = new DeadlineHeap<T>();
  readonly #clock: Clock;
  readonly #onDue: (item: T) => void;
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** `onDue` takes each entry whose deadline has passed, already out of the timer. */
  constructor(clock: Clock, onDue: (item: T) => void) {
    this.#clock = clock;
    this.#onDue = onDue;
  }

  /** Adds `item` at its `deadline`, or moves it there; {@link arm} after. */
  upsert(item: T): void {
    this.#heap.upsert(item);
  }

  /** Removes `item` if it has a deadline here. */
  remove(item: T): void {
    this.#heap.remove(item);
  }

  /** Hands every entry whose deadline has passed to `onDue`, earliest first. */
  releaseDue(): void {
    const now = this.#clock.now();
    for (let due = this.#heap.popDue(now); due; due = this.#heap.popDue(now)) this.#onDue(due);
  }

  /** Keeps the one timer armed for the earliest deadline. */
  arm(): void {
    const first = this.#heap.peek();
    if (!first || first.deadline >= this.#timerAt) return;
    this.#disarm();
    this.#timerAt = first.deadline;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.releaseDue();
        this.arm();
      },
      Math.max(0, first.deadline - this.#clock.now()),
      { keepAlive: false },
    );
  }

  /** Forgets every deadline and stops the timer, returning the entries it held. */
  drain(): T[] {
    this.#disarm();
    return this.#heap.drain();
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }
}
