import type { Clock, TimerHandle } from '../clock.ts';
import { toError } from '../errors.ts';
import type { Delivery, Receiver } from '../transports/contract.ts';
import type { Backoff } from './backoff.ts';
import type { DeadLetter } from './dead-letter.ts';
import { GroupSequencer } from './group-order.ts';
import type { Outcome, Process, ProcessContext } from './pipeline.ts';
import { classify } from './retry.ts';

/** A delivery the consumer holds, from its receipt until it is settled or released. */
interface InFlight {
  readonly delivery: Delivery;
  readonly context: ProcessContext;
  visibleUntil: number;
  released: boolean;
  /** Settlement has started: heartbeats must leave it alone (no visibility change after a delete). */
  settling: boolean;
  /** The handler finished: the entry no longer takes a handler slot (counted in `settlingCount`). */
  handled: boolean;
}

/** Options of an {@link InFlightSet}. Durations are in milliseconds. */
export interface InFlightOptions {
  readonly receiver: Receiver;
  /** The composed pipeline each delivery runs through. */
  readonly process: Process;
  readonly deadLetter: DeadLetter;
  readonly visibilityTimeoutMs: number;
  /** Extend the visibility of slow deliveries. */
  readonly heartbeat: boolean;
  /** Interval of the timer that extends visibilities and idempotency leases. */
  readonly tickMs: number;
  /** Deliveries per message, for a step that failed outside the handler; may be lowered on start. */
  readonly attemptLimit: () => number;
  readonly backoff: Backoff;
  readonly random: () => number;
  readonly clock: Clock;
  readonly report: (error: unknown) => void;
  /** Whether the consumer is started: the tick goes on while it is, or while deliveries are held. */
  readonly running: () => boolean;
}

/** Calls `action` now, turning a synchronous throw into a rejection. */
const attempt = (action: () => Promise<void>): Promise<void> => {
  try {
    return action();
  } catch (error) {
    return Promise.reject(error);
  }
};

/**
 * The deliveries a consumer holds, from their receipt until they are settled: runs each through
 * the pipeline (one FIFO group at a time), settles it by its outcome, keeps it visible while it
 * runs, and at stop releases those still unfinished.
 */
export class InFlightSet {
  /** Counts since the consumer was created. */
  readonly counts = { received: 0, acked: 0, duplicates: 0, retried: 0, deadLettered: 0, released: 0 };
  readonly #options: InFlightOptions;
  readonly #entries = new Set<InFlight>();
  /** Entries whose handler finished and whose settlement is under way. */
  #settlingCount = 0;
  /** Acks, retries and dead-letters under way: stop() waits for them even past its deadline. */
  readonly #settlements = new Set<Promise<void>>();
  readonly #sequencer = new GroupSequencer();
  #handlerAbort = new AbortController();
  #slotWaiters: (() => void)[] = [];
  #drainWaiters: (() => void)[] = [];
  #tickTimer: TimerHandle | undefined;
  /** The stop deadline passed: a handler that gives up is released, not backed off. */
  #releasing = false;
  readonly #toRelease: InFlight[] = [];

  constructor(options: InFlightOptions) {
    this.#options = options;
  }

  /** Deliveries held, settling ones included. */
  get size(): number {
    return this.#entries.size;
  }

  /** Deliveries whose handler is still running. */
  get handling(): number {
    return this.#entries.size - this.#settlingCount;
  }

  /** Gives handlers a fresh abort signal and starts the tick. */
  start(): void {
    this.#handlerAbort = new AbortController();
    this.#scheduleTick();
  }

  /** Resolves once a handler finishes or a delivery leaves the set. */
  waitForSlot(): Promise<void> {
    return new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
  }

  /** Wakes everyone waiting for a slot. */
  wakeSlotWaiters(): void {
    const waiters = this.#slotWaiters;
    this.#slotWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Wakes everyone waiting for a slot, and, once the set is empty, for the drain. */
  freeSlot(): void {
    this.wakeSlotWaiters();
    if (this.#entries.size === 0) {
      const drained = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const wake of drained) wake();
    }
  }

  /** Processes a received delivery and settles it. Never rejects. */
  async dispatch(delivery: Delivery, receivedAt: number): Promise<void> {
    const { receiver } = this.#options;
    this.counts.received++;
    const entry: InFlight = {
      delivery,
      context: { delivery, source: receiver.source, signal: this.#handlerAbort.signal },
      visibleUntil: receivedAt + this.#options.visibilityTimeoutMs,
      released: false,
      settling: false,
      handled: false,
    };
    this.#entries.add(entry);
    try {
      const group = receiver.features.fifo ? delivery.envelope.groupId : undefined;
      if (group === undefined) await this.#handle(entry);
      else
        await this.#sequencer.run(
          group,
          () => this.#handle(entry),
          () => this.#release(entry),
        );
    } finally {
      this.#entries.delete(entry);
      if (entry.handled) this.#settlingCount--;
      this.freeSlot();
    }
  }

  // One async function instead of a .catch/.then/.catch/.finally chain: the same order of
  // effects, with a third of the promises and microtask hops per message.
  /** Processes one delivery and settles it; true when it was acked. Never rejects. */
  async #handle(entry: InFlight): Promise<boolean> {
    // A FIFO delivery released by stop() while it waited for its group: another worker may have it.
    if (entry.released) return false;
    const { delivery } = entry;
    let outcome: Outcome;
    try {
      outcome = await this.#options.process(entry.context);
    } catch (error) {
      // A step failed outside the handler (a store outage, say): count it as a failed attempt,
      // so the message is retried with backoff and, once attempts run out, dead-lettered.
      const { report, attemptLimit, backoff, random } = this.#options;
      report(error);
      outcome = classify(toError(error), delivery.attempt, attemptLimit(), backoff, random);
    }
    // Released by stop() while its handler ran: already out of the set, with nothing to settle.
    if (!this.#entries.has(entry)) return false;
    // The handler is done: its slot goes to the next message while the settlement (a delete
    // batched with others, say) completes. Settling messages still count towards stop's drain.
    this.#settlingCount++;
    entry.handled = true;
    this.freeSlot();
    const settlement = attempt(() => this.#settle(entry, outcome));
    this.#settlements.add(settlement);
    try {
      await settlement;
      // A dead letter is settled for good, so the rest of its FIFO group may go on.
      return outcome.status !== 'retry';
    } catch (error) {
      this.#options.report(error);
      return false;
    } finally {
      this.#settlements.delete(settlement);
    }
  }

  #settle(entry: InFlight, outcome: Outcome): Promise<void> {
    const { delivery } = entry;
    if (entry.released) return Promise.resolve();
    if (this.#releasing && outcome.status === 'retry') {
      // Past the stop deadline, a handler that gave up (aborted) is released, not backed off.
      entry.released = true;
      this.#toRelease.push(entry);
      return Promise.resolve();
    }
    entry.settling = true;
    switch (outcome.status) {
      case 'ack':
        if (outcome.duplicate) this.counts.duplicates++;
        else this.counts.acked++;
        return delivery.ack();
      case 'retry':
        this.counts.retried++;
        return delivery.retry({ delayMs: outcome.delayMs });
      case 'dead-letter':
        return this.#options.deadLetter(delivery, outcome).then(() => {
          this.counts.deadLettered++;
        });
    }
  }

  /** Returns a FIFO delivery unprocessed, because an earlier one of its group failed. */
  async #release(entry: InFlight): Promise<boolean> {
    if (entry.released) return false;
    entry.settling = true;
    await attempt(() => entry.delivery.retry({ delayMs: 0 })).catch(this.#options.report);
    return false;
  }

  // One timer for the whole consumer: it extends the visibility of slow deliveries and, being a
  // live timer, keeps the process running while the consumer is.
  readonly #tick = (): void => {
    const { clock, heartbeat, visibilityTimeoutMs, report } = this.#options;
    this.#tickTimer = undefined;
    const now = clock.now();
    // Entries waiting to be released at stop are extended too, or they would lapse before release.
    for (const entry of [...this.#entries, ...this.#toRelease]) {
      if (entry.settling) continue;
      // Extend well before expiry: once the visibility lapses, another worker may take the message.
      if (heartbeat && entry.visibleUntil - now <= visibilityTimeoutMs / 2) {
        entry.visibleUntil = now + visibilityTimeoutMs;
        attempt(() => entry.delivery.extendVisibility(visibilityTimeoutMs)).catch(report);
      }
      // Likewise the idempotency lease, or a duplicate could run beside this handler.
      const lease = entry.context.lease;
      if (lease && lease.expiresAt - now <= lease.leaseMs / 2) {
        lease.expiresAt = now + lease.leaseMs;
        attempt(async () => {
          // A renewal answered after the handler finished (and completed the key) lost nothing.
          if (!(await lease.renew()) && entry.context.lease === lease)
            report(new Error('An idempotency lease was lost before its handler finished; see LeaseLapsedError.'));
        }).catch(report);
      }
    }
    if (this.#options.running() || this.#entries.size > 0 || this.#toRelease.length > 0) this.#scheduleTick();
  };

  #scheduleTick(): void {
    if (this.#tickTimer === undefined)
      this.#tickTimer = this.#options.clock.setTimeout(this.#tick, this.#options.tickMs);
  }

  /** Stops the tick. */
  stopTicking(): void {
    if (this.#tickTimer !== undefined) this.#options.clock.clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
  }

  /** Resolves true once the set is empty, or false after `timeoutMs`. */
  drained(timeoutMs: number): Promise<boolean> {
    const { clock } = this.#options;
    return new Promise<boolean>((resolve) => {
      if (this.#entries.size === 0) return resolve(true);
      const timer = clock.setTimeout(() => resolve(false), timeoutMs);
      this.#drainWaiters.push(() => {
        clock.clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** The stop deadline passed: aborts the handlers still running, whose deliveries are to be released. */
  abortHandlers(): void {
    this.#releasing = true;
    this.#handlerAbort.abort(new Error('Consumer stopped: the stop deadline passed'));
  }

  /**
   * Releases every delivery not yet settling (visible again at once, for another worker) and
   * resolves with how many, once each release was answered and every settlement under way ended.
   */
  async releaseUnfinished(): Promise<number> {
    for (const entry of this.#entries) {
      if (entry.settling || entry.released) continue;
      entry.released = true;
      this.#toRelease.push(entry);
    }
    const releases = this.#toRelease.splice(0);
    for (const entry of releases) {
      entry.settling = true;
      // A handler that ignores the deadline keeps running, but its message is no longer held:
      // it must not take a handler slot after a restart, nor hold up the next stop.
      if (!entry.handled) this.#entries.delete(entry);
    }
    await Promise.all(
      releases.map((entry) => attempt(() => entry.delivery.retry({ delayMs: 0 })).catch(this.#options.report)),
    );
    this.#releasing = false;
    // Settlements already under way (an ack in a delete batch, say) are not released: wait for
    // them, or a process that exits once stop() resolves loses them and the messages come back.
    await Promise.allSettled([...this.#settlements]);
    this.counts.released += releases.length;
    return releases.length;
  }
}
