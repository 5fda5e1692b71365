import { type Clock, sleep } from '../clock.ts';
import { TransportError } from '../errors.ts';
import type { Delivery, Receiver } from '../transports/contract.ts';
import { createBackoff } from './backoff.ts';
import type { InFlightSet } from './in-flight.ts';

/** Fewest and most full receives in a row that wake a parked poller. */
const MIN_WAKE_AFTER_FULL = 2;
const MAX_WAKE_AFTER_FULL = 64;

/** Options of {@link Pollers}. Durations are in milliseconds. */
export interface PollersOptions {
  readonly receiver: Receiver;
  /** Where received deliveries go, and whose size bounds the receives. */
  readonly inFlight: InFlightSet;
  /** Most receive loops running at once. */
  readonly count: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly waitTimeMs: number;
  readonly visibilityTimeoutMs: number;
  /** Takes the transport's own delivery limit, read before the first receive. */
  readonly onDeliveryLimit: (limit: number) => void;
  readonly clock: Clock;
  readonly random: () => number;
  readonly report: (error: unknown) => void;
  /** Whether the consumer is started: the loops end once it is not. */
  readonly running: () => boolean;
}

/** The receive loops of a consumer, adapting in number to the backlog. */
export class Pollers {
  readonly #options: PollersOptions;
  readonly #share: number;
  readonly #receiveThreshold: number;
  // A failed receive (network, throttling) is retried soon: 100 ms doubling to 10 s, not the handler backoff.
  readonly #receiveBackoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 10_000 });
  #abort = new AbortController();
  #deliveryLimit: Promise<void> = Promise.resolve();
  #loops: Promise<void>[] = [];
  #reserved = 0;
  // Pollers beyond the first park while receives come back short: the queue is drained, and
  // more pollers would only add empty receives (SQS bills those too). A poller whose receives
  // come back full several times running (`wakeAfterFull`) may have a backlog it cannot keep up
  // with, and wakes one parked poller; so pollers ramp up while a backlog lasts. The extra
  // pollers do not long-poll. Full receives alone can mislead (a producer sending batches of ten
  // fills every receive on an idle queue), so the run needed adapts: it doubles each time a
  // woken poller finds nothing and halves each time one comes back full.
  #backlog = true;
  #wakeAfterFull = MIN_WAKE_AFTER_FULL;
  readonly #parked: (() => void)[] = [];

  constructor(options: PollersOptions) {
    this.#options = options;
    const { concurrency, batchSize, count } = options;
    // Each poller receives up to its share of the concurrency (at most a batch) at a time, and
    // waits until at least half of that is free rather than receiving into whatever single slot
    // just freed: SQS bills per request, and slow handlers would shrink every receive to one message.
    this.#share = Math.max(1, Math.min(batchSize, Math.ceil(concurrency / count)));
    this.#receiveThreshold = Math.ceil(this.#share / 2);
  }

  /** Reads the delivery limit, then starts the loops. */
  start(): void {
    this.#abort = new AbortController();
    this.#deliveryLimit = this.#readDeliveryLimit(this.#abort.signal);
    this.#backlog = true;
    this.#wakeAfterFull = MIN_WAKE_AFTER_FULL;
    this.#loops = Array.from({ length: this.#options.count }, (_, index) => this.#poll(index));
  }

  /** Cuts receives short and wakes waiting loops; resolves once every loop has ended. */
  stop(): Promise<unknown> {
    this.#abort.abort();
    this.#options.inFlight.freeSlot();
    this.#wakeParked(this.#parked.length);
    return Promise.all(this.#loops);
  }

  #wakeParked(count: number): void {
    for (const wake of this.#parked.splice(0, count)) wake();
  }

  /**
   * Reads the transport's own delivery limit before the first receive, retrying transient
   * failures: without it, the last attempts could be redriven by the queue without metadata.
   */
  async #readDeliveryLimit(signal: AbortSignal): Promise<void> {
    const { receiver, clock, random, report } = this.#options;
    if (!receiver.deliveryLimit) return;
    for (let failures = 1; !signal.aborted; failures++) {
      try {
        const limit = await receiver.deliveryLimit();
        if (limit !== undefined) this.#options.onDeliveryLimit(limit);
        return;
      } catch (error) {
        report(error);
        if (error instanceof TransportError && !error.retryable) return;
        await sleep(clock, this.#receiveBackoff.delayMs(failures, undefined, random), signal).catch(() => undefined);
      }
    }
  }

  async #poll(index: number): Promise<void> {
    const { receiver, inFlight, concurrency, waitTimeMs, visibilityTimeoutMs, clock, random, report, running } =
      this.#options;
    await this.#deliveryLimit;
    let failures = 0;
    let fullStreak = 0;
    /** Parked until now: the next receive judges the wake. */
    let woken = false;
    while (running()) {
      if (index > 0 && !this.#backlog) {
        await new Promise<void>((resolve) => this.#parked.push(resolve));
        woken = true;
        continue;
      }
      // Handlers in progress stay within the concurrency; messages held in all (settling ones
      // included) within twice that, so slow acks hold receiving back instead of piling up.
      const free = Math.min(concurrency - inFlight.handling, 2 * concurrency - inFlight.size) - this.#reserved;
      if (free < this.#receiveThreshold) {
        await inFlight.waitForSlot();
        continue;
      }
      const wanted = Math.min(free, this.#share);
      this.#reserved += wanted;
      let deliveries: Delivery[];
      try {
        deliveries = await receiver.receive({
          maxMessages: wanted,
          // Only the first poller long-polls; the others drain a backlog and park once it is gone.
          waitTimeMs: index > 0 ? 0 : waitTimeMs,
          visibilityTimeoutMs,
          signal: this.#abort.signal,
        });
        failures = 0;
      } catch (error) {
        this.#reserved -= wanted;
        inFlight.wakeSlotWaiters();
        report(error);
        await sleep(clock, this.#receiveBackoff.delayMs(++failures, undefined, random), this.#abort.signal).catch(
          () => undefined,
        );
        continue;
      }
      this.#reserved -= wanted;
      // Slots this receive reserved but did not fill are free again: a poller waiting on them
      // (the first one, say, while this one is about to park) must look again.
      if (deliveries.length < wanted) inFlight.wakeSlotWaiters();
      const backlog = deliveries.length >= wanted;
      this.#backlog = backlog;
      if (woken) {
        // The first receive after a wake tells whether the wake was right: one that found nothing
        // came too soon, so wait for longer runs next time; one that came back full, the reverse.
        woken = false;
        if (deliveries.length === 0) this.#wakeAfterFull = Math.min(MAX_WAKE_AFTER_FULL, this.#wakeAfterFull * 2);
        else if (backlog) this.#wakeAfterFull = Math.max(MIN_WAKE_AFTER_FULL, this.#wakeAfterFull / 2);
      }
      fullStreak = backlog ? fullStreak + 1 : 0;
      if (fullStreak >= this.#wakeAfterFull) {
        fullStreak = 0;
        this.#wakeParked(1);
      }
      if (deliveries.length === 0) continue;
      const receivedAt = clock.now();
      for (const delivery of deliveries) inFlight.dispatch(delivery, receivedAt);
    }
  }
}
