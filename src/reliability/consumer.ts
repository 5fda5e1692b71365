import { type Clock, sleep, systemClock, type TimerHandle } from '../clock.ts';
import { type Codec, jsonCodec } from '../codec.ts';
import { ConfigurationError, messageOf, TransportError, toError } from '../errors.ts';
import { type FailureMetadata, withFailureHeaders } from '../failure.ts';
import type { Message } from '../message.ts';
import { functionOption, integerOption, requiredOption } from '../options.ts';
import type { StandardSchemaV1 } from '../schema.ts';
import type { Delivery, Receiver, Sender } from '../transports/contract.ts';
import { SqsLimits } from '../transports/sqs-limits.ts';
import { type BackoffOptions, createBackoff } from './backoff.ts';
import { decodeStep } from './decode.ts';
import { GroupSequencer } from './group-order.ts';
import { type IdempotencyOptions, idempotencyStep, resolveIdempotency } from './idempotency/step.ts';
import type { Instrumentation } from './instrumentation.ts';
import { compose, type Outcome, type Process, type ProcessContext, type Step } from './pipeline.ts';
import { classify, retryStep } from './retry.ts';

/** What a handler receives besides the message. */
export interface HandlerContext {
  /** 1 on the first delivery of this message, then one more per redelivery. */
  readonly attempt: number;
  /** Aborts when the consumer's stop deadline passes: stop work and throw. */
  readonly signal: AbortSignal;
}

/**
 * Processes one message. Return (any value: it is stored as the idempotent result) to ack;
 * throw to retry with backoff; throw `RetryLaterError` to choose the delay, or
 * `UnrecoverableError` to dead-letter at once.
 */
export type Handler<Body> = (message: Message<Body>, context: HandlerContext) => unknown;

/** Options of {@link createConsumer}. Durations are in milliseconds. */
export interface ConsumerOptions<Body> {
  /** Where messages come from: any {@link Receiver}. */
  readonly transport: Receiver;
  readonly handler: Handler<Body>;
  /**
   * Most handlers running at once. Default 10; 1 to 10 000. A handler's slot is free once it returns,
   * while its ack is still being sent; messages held in all (received, not yet settled) stay within
   * twice this.
   */
  readonly concurrency?: number;
  /** Most messages asked for per receive. Default 10 (SQS's maximum); 1 to 10 000. */
  readonly batchSize?: number;
  /**
   * Most receive loops running at once, from 1 to `concurrency`. Default `ceil(concurrency / batchSize)`,
   * so a slow batch never holds up the next. Loops beyond the first run only while receives come back
   * full (a backlog), and do not long-poll; on a drained queue one long poll waits, not all of them.
   */
  readonly pollers?: number;
  /** Long-poll wait per receive, in milliseconds. Default 20 000; at least 1 (SQS rounds up to whole seconds, at most 20). */
  readonly waitTimeMs?: number;
  /**
   * Visibility timeout of received messages, in milliseconds, applied to every receive (it overrides
   * the queue's own). Default 30 000; at most 43 200 000 (12 h, SQS's limit).
   */
  readonly visibilityTimeoutMs?: number;
  /** Extend visibility while a slow handler runs. Default true. */
  readonly heartbeat?: boolean;
  readonly retry?: {
    /**
     * Deliveries per message, the first included, before it is dead-lettered. Default 5; 1 to 1 000.
     * Lowered to the queue's redrive `maxReceiveCount` when it has one.
     */
    readonly maxAttempts?: number;
    /** Delay before each retry. Default 1 000 ms doubling to at most 300 000 ms, full jitter. */
    readonly backoff?: BackoffOptions;
  };
  /**
   * Where dead letters go. Default the transport's own dead-letter queue (`deadLetter()`); a
   * {@link Sender} here receives them instead, with failure metadata in their headers, and the
   * original is deleted only once that send succeeded.
   */
  readonly deadLetter?: Sender;
  /** Suppresses duplicates through an idempotency store. Default off. */
  readonly idempotency?: IdempotencyOptions;
  /** Validates bodies (Standard Schema: zod, valibot, arktype); invalid bodies are dead-lettered at once. */
  readonly schema?: StandardSchemaV1<unknown, Body>;
  /** Decodes bodies. Default JSON. */
  readonly codec?: Codec;
  /**
   * How long `stop()` lets in-flight handlers finish before releasing their messages, in
   * milliseconds. Default 30 000. Messages are released no sooner than `waitTimeMs` after the
   * stop, once a long poll it cut short can no longer take them.
   */
  readonly stopTimeoutMs?: number;
  /** Receives errors outside handlers (a failed receive, ack or dead-letter send). Default `console.error`. */
  readonly onError?: (error: Error) => void;
  /** Clock for backoff, heartbeats and the stop deadline. Default the system clock. */
  readonly clock?: Clock;
  /** A span around every delivery attempt, and metrics: pass `missiveTelemetry()` from `missive/telemetry`. Default off. */
  readonly telemetry?: Instrumentation;
  /** Random source for jitter, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Counts since the consumer was created. */
export interface ConsumerStats {
  readonly received: number;
  /** Handled successfully and acked. */
  readonly acked: number;
  /** Acked without running the handler, as duplicates of a completed key. */
  readonly duplicates: number;
  readonly retried: number;
  readonly deadLettered: number;
  /** Deliveries released unfinished by `stop()`. */
  readonly released: number;
  readonly inFlight: number;
}

/** Pulls messages from a receiver and runs a handler on each, reliably. */
export interface Consumer {
  /** Starts receiving. Calling it again while running does nothing. */
  start(): void;
  /**
   * Stops receiving, lets in-flight handlers finish until `stopTimeoutMs`, releases the messages
   * of those still running (visible again at once, for another worker), and resolves once every
   * delivery is settled. Nothing is lost if the process exits after it resolves.
   */
  stop(): Promise<{ readonly released: number }>;
  stats(): ConsumerStats;
}

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

/** Fewest and most full receives in a row that wake a parked poller. */
const MIN_WAKE_AFTER_FULL = 2;
const MAX_WAKE_AFTER_FULL = 64;

const defaultOnError = (error: Error) =>
  console.error(`[missive] ${error.message}${error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ''}`);

/** Calls `action` now, turning a synchronous throw into a rejection. */
const attempt = (action: () => Promise<void>): Promise<void> => {
  try {
    return action();
  } catch (error) {
    return Promise.reject(error);
  }
};

/**
 * Creates a consumer. Call `start()` to begin and `stop()` to drain.
 *
 * @example
 * ```ts
 * const consumer = createConsumer<Order>({
 *   transport: queue,
 *   concurrency: 20,
 *   handler: async (message) => { await ship(message.body); },
 * });
 * consumer.start();
 * process.once('SIGTERM', () => consumer.stop());
 * ```
 */
export function createConsumer<Body = unknown>(options: ConsumerOptions<Body>): Consumer {
  const receiver = requiredOption('transport', options.transport, 'a Receiver, for example memoryQueue()');
  if (typeof receiver.receive !== 'function')
    throw new ConfigurationError('transport', receiver, 'a Receiver with a receive() method');
  const handler = requiredOption('handler', options.handler, 'a function (message, context) => result');
  functionOption('handler', handler, handler);
  const concurrency = integerOption('concurrency', options.concurrency, 10, 1, 10_000);
  const batchSize = integerOption('batchSize', options.batchSize, 10, 1, 10_000);
  const pollers = integerOption('pollers', options.pollers, Math.ceil(concurrency / batchSize), 1, concurrency);
  // Each poller receives up to its share of the concurrency (at most a batch) at a time, and
  // waits until at least half of that is free rather than receiving into whatever single slot
  // just freed: SQS bills per request, and slow handlers would shrink every receive to one message.
  const share = Math.max(1, Math.min(batchSize, Math.ceil(concurrency / pollers)));
  const receiveThreshold = Math.ceil(share / 2);
  const waitTimeMs = integerOption('waitTimeMs', options.waitTimeMs, 20_000, 1);
  const visibilityTimeoutMs = integerOption(
    'visibilityTimeoutMs',
    options.visibilityTimeoutMs,
    30_000,
    1,
    SqsLimits.maxVisibilityMs,
  );
  const maxAttempts = integerOption('retry.maxAttempts', options.retry?.maxAttempts, 5, 1, 1_000);
  // Lowered to the transport's own delivery limit (an SQS redrive policy's maxReceiveCount) on start.
  let attemptLimit = maxAttempts;
  const backoff = createBackoff(
    { initialDelayMs: 1_000, maxDelayMs: 300_000, ...options.retry?.backoff },
    'retry.backoff',
  );
  // A failed receive (network, throttling) is retried soon: 100 ms doubling to 10 s, not the handler backoff.
  const receiveBackoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 10_000 });
  const stopTimeoutMs = integerOption('stopTimeoutMs', options.stopTimeoutMs, 25_000, 0);
  const onError = functionOption('onError', options.onError, defaultOnError);
  const clock = options.clock ?? systemClock;
  const random = functionOption('random', options.random, Math.random);
  const deadLetterSender = options.deadLetter;
  if (!deadLetterSender && !receiver.features.deadLetter) {
    throw new ConfigurationError(
      'deadLetter',
      undefined,
      `a dead-letter destination: give ${receiver.source} a dead-letter queue, or pass a Sender as deadLetter`,
    );
  }

  // One timer serves heartbeats and lease renewals: four ticks per visibility timeout (or lease).
  let tickMs = Math.max(1, Math.floor(visibilityTimeoutMs / 4));
  const steps: Step[] = [];
  // Outermost, so the span covers decoding and idempotency too and sees the final outcome.
  if (options.telemetry)
    steps.push(options.telemetry.process({ name: receiver.source, system: receiver.messagingSystem ?? 'missive' }));
  steps.push(decodeStep(options.codec ?? jsonCodec, options.schema));
  if (options.idempotency) {
    // A lease no longer than the visibility: after a crash, the redelivered message finds the key free.
    const idempotency = resolveIdempotency(options.idempotency, visibilityTimeoutMs);
    tickMs = Math.max(1, Math.min(tickMs, Math.floor(idempotency.leaseMs / 4)));
    steps.push(
      idempotencyStep(idempotency, {
        clock,
        pollDelayMs: (attempt) => Math.max(1, backoff.bounds(attempt).maxMs),
        report: (error) => report(error),
      }),
    );
  }
  steps.push(retryStep(() => attemptLimit, backoff, random));
  const callHandler: Process = async (context) => {
    const result = await handler(context.message as Message<Body>, {
      attempt: context.delivery.attempt,
      signal: context.signal,
    });
    return { status: 'ack', result };
  };
  const process = compose(steps, callHandler);

  const stats = { received: 0, acked: 0, duplicates: 0, retried: 0, deadLettered: 0, released: 0 };
  const inFlight = new Set<InFlight>();
  /** Entries of `inFlight` whose handler finished and whose settlement is under way. */
  let settlingCount = 0;
  /** Acks, retries and dead-letters under way: stop() waits for them even past its deadline. */
  const settlements = new Set<Promise<void>>();
  const sequencer = new GroupSequencer();
  let deliveryLimit: Promise<void> = Promise.resolve();
  let running = false;
  let pollAbort = new AbortController();
  let handlerAbort = new AbortController();
  let reserved = 0;
  let slotWaiters: (() => void)[] = [];
  let drainWaiters: (() => void)[] = [];
  let loops: Promise<void>[] = [];
  let tickTimer: TimerHandle | undefined;
  let stopping: Promise<{ released: number }> | undefined;
  let releasing = false;
  let stopped = true;
  const toRelease: InFlight[] = [];

  const report = (error: unknown) => {
    try {
      onError(toError(error));
    } catch {
      // A throwing error callback must not take the consumer down.
    }
  };

  const wakeSlotWaiters = () => {
    const waiters = slotWaiters;
    slotWaiters = [];
    for (const wake of waiters) wake();
  };

  const freeSlot = () => {
    wakeSlotWaiters();
    if (inFlight.size === 0) {
      const drained = drainWaiters;
      drainWaiters = [];
      for (const wake of drained) wake();
    }
  };

  const deadLetter = async (delivery: Delivery, outcome: Outcome & { status: 'dead-letter' }) => {
    const failure: FailureMetadata = {
      reason: outcome.reason,
      errorName: outcome.error.name,
      errorMessage: outcome.error.message,
      attempts: delivery.attempt,
      firstAttemptAt: delivery.firstReceivedAt,
      failedAt: clock.now(),
      source: receiver.source,
      ...('issues' in outcome.error ? { issues: outcome.error.issues as FailureMetadata['issues'] } : {}),
    };
    if (!deadLetterSender) return delivery.deadLetter(failure);
    const [sent] = await deadLetterSender.send([
      { ...delivery.envelope, headers: withFailureHeaders(delivery.envelope.headers, failure) },
    ]);
    if (sent?.status !== 'accepted') {
      // Keep the original: it comes back after the backoff and is dead-lettered again then.
      await delivery.retry({ delayMs: backoff.delayMs(delivery.attempt, undefined, random) });
      throw new TransportError(
        deadLetterSender.destination,
        `Dead-letter send to ${deadLetterSender.destination} failed (${sent ? messageOf(sent.error) : 'no outcome'}); message ${delivery.envelope.id} stays on ${receiver.source} and will be retried.`,
        true,
        sent && 'error' in sent ? sent.error : undefined,
      );
    }
    return delivery.ack();
  };

  const settle = (entry: InFlight, outcome: Outcome): Promise<void> => {
    const { delivery } = entry;
    if (entry.released) return Promise.resolve();
    if (releasing && outcome.status === 'retry') {
      // Past the stop deadline, a handler that gave up (aborted) is released, not backed off.
      entry.released = true;
      toRelease.push(entry);
      return Promise.resolve();
    }
    entry.settling = true;
    switch (outcome.status) {
      case 'ack':
        if (outcome.duplicate) stats.duplicates++;
        else stats.acked++;
        return delivery.ack();
      case 'retry':
        stats.retried++;
        return delivery.retry({ delayMs: outcome.delayMs });
      case 'dead-letter':
        return deadLetter(delivery, outcome).then(() => {
          stats.deadLettered++;
        });
    }
  };

  // One async function instead of a .catch/.then/.catch/.finally chain: the same order of
  // effects, with a third of the promises and microtask hops per message.
  /** Processes one delivery and settles it; true when it was acked. Never rejects. */
  const handle = async (entry: InFlight): Promise<boolean> => {
    const { delivery } = entry;
    let outcome: Outcome;
    try {
      outcome = await process(entry.context);
    } catch (error) {
      // A step failed outside the handler (a store outage, say): count it as a failed attempt,
      // so the message is retried with backoff and, once attempts run out, dead-lettered.
      report(error);
      outcome = classify(toError(error), delivery.attempt, attemptLimit, backoff, random);
    }
    // The handler is done: its slot goes to the next message while the settlement (a delete
    // batched with others, say) completes. Settling messages still count towards stop's drain.
    settlingCount++;
    entry.handled = true;
    freeSlot();
    const settlement = attempt(() => settle(entry, outcome));
    settlements.add(settlement);
    try {
      await settlement;
      // A dead letter is settled for good, so the rest of its FIFO group may go on.
      return outcome.status !== 'retry';
    } catch (error) {
      report(error);
      return false;
    } finally {
      settlements.delete(settlement);
    }
  };

  /** Returns a FIFO delivery unprocessed, because an earlier one of its group failed. */
  const release = async (entry: InFlight): Promise<boolean> => {
    entry.settling = true;
    await attempt(() => entry.delivery.retry({ delayMs: 0 })).catch(report);
    return false;
  };

  const dispatch = async (delivery: Delivery, receivedAt: number) => {
    stats.received++;
    const entry: InFlight = {
      delivery,
      context: { delivery, source: receiver.source, signal: handlerAbort.signal },
      visibleUntil: receivedAt + visibilityTimeoutMs,
      released: false,
      settling: false,
      handled: false,
    };
    inFlight.add(entry);
    try {
      const group = receiver.features.fifo ? delivery.envelope.groupId : undefined;
      if (group === undefined) await handle(entry);
      else
        await sequencer.run(
          group,
          () => handle(entry),
          () => release(entry),
        );
    } finally {
      inFlight.delete(entry);
      if (entry.handled) settlingCount--;
      freeSlot();
    }
  };

  /**
   * Reads the transport's own delivery limit before the first receive, retrying transient
   * failures: without it, the last attempts could be redriven by the queue without metadata.
   */
  const readDeliveryLimit = async (signal: AbortSignal) => {
    if (!receiver.deliveryLimit) return;
    for (let failures = 1; !signal.aborted; failures++) {
      try {
        const limit = await receiver.deliveryLimit();
        if (limit !== undefined) attemptLimit = Math.min(maxAttempts, limit);
        return;
      } catch (error) {
        report(error);
        if (error instanceof TransportError && !error.retryable) return;
        await sleep(clock, receiveBackoff.delayMs(failures, undefined, random), signal).catch(() => undefined);
      }
    }
  };

  const waitForSlot = () => new Promise<void>((resolve) => slotWaiters.push(resolve));

  // Pollers beyond the first park while receives come back short: the queue is drained, and
  // more pollers would only add empty receives (SQS bills those too). A poller whose receives
  // come back full several times running (`wakeAfterFull`) may have a backlog it cannot keep up
  // with, and wakes one parked poller; so pollers ramp up while a backlog lasts. The extra
  // pollers do not long-poll. Full receives alone can mislead (a producer sending batches of ten
  // fills every receive on an idle queue), so the run needed adapts: it doubles each time a
  // woken poller finds nothing and halves each time one comes back full.
  let backlog = true;
  let wakeAfterFull = MIN_WAKE_AFTER_FULL;
  const parked: (() => void)[] = [];
  const wakeParked = (count: number) => {
    for (const wake of parked.splice(0, count)) wake();
  };

  const poll = async (index: number) => {
    await deliveryLimit;
    let failures = 0;
    let fullStreak = 0;
    /** Parked until now: the next receive judges the wake. */
    let woken = false;
    while (running) {
      if (index > 0 && !backlog) {
        await new Promise<void>((resolve) => parked.push(resolve));
        woken = true;
        continue;
      }
      // Handlers in progress stay within the concurrency; messages held in all (settling ones
      // included) within twice that, so slow acks hold receiving back instead of piling up.
      const handling = inFlight.size - settlingCount;
      const free = Math.min(concurrency - handling, 2 * concurrency - inFlight.size) - reserved;
      if (free < receiveThreshold) {
        await waitForSlot();
        continue;
      }
      const wanted = Math.min(free, share);
      reserved += wanted;
      let deliveries: Delivery[];
      try {
        deliveries = await receiver.receive({
          maxMessages: wanted,
          // Only the first poller long-polls; the others drain a backlog and park once it is gone.
          waitTimeMs: index > 0 ? 0 : waitTimeMs,
          visibilityTimeoutMs,
          signal: pollAbort.signal,
        });
        failures = 0;
      } catch (error) {
        reserved -= wanted;
        wakeSlotWaiters();
        report(error);
        await sleep(clock, receiveBackoff.delayMs(++failures, undefined, random), pollAbort.signal).catch(
          () => undefined,
        );
        continue;
      }
      reserved -= wanted;
      // Slots this receive reserved but did not fill are free again: a poller waiting on them
      // (the first one, say, while this one is about to park) must look again.
      if (deliveries.length < wanted) wakeSlotWaiters();
      backlog = deliveries.length >= wanted;
      if (woken) {
        // The first receive after a wake tells whether the wake was right: one that found nothing
        // came too soon, so wait for longer runs next time; one that came back full, the reverse.
        woken = false;
        if (deliveries.length === 0) wakeAfterFull = Math.min(MAX_WAKE_AFTER_FULL, wakeAfterFull * 2);
        else if (backlog) wakeAfterFull = Math.max(MIN_WAKE_AFTER_FULL, wakeAfterFull / 2);
      }
      fullStreak = backlog ? fullStreak + 1 : 0;
      if (fullStreak >= wakeAfterFull) {
        fullStreak = 0;
        wakeParked(1);
      }
      if (deliveries.length === 0) continue;
      const receivedAt = clock.now();
      for (const delivery of deliveries) dispatch(delivery, receivedAt);
    }
  };

  // One timer for the whole consumer: it extends the visibility of slow deliveries and, being a
  // live timer, keeps the process running while the consumer is.
  const tick = () => {
    tickTimer = undefined;
    const now = clock.now();
    // Entries waiting to be released at stop are extended too, or they would lapse before release.
    for (const entry of [...inFlight, ...toRelease]) {
      if (entry.settling) continue;
      // Extend well before expiry: once the visibility lapses, another worker may take the message.
      if (options.heartbeat !== false && entry.visibleUntil - now <= visibilityTimeoutMs / 2) {
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
    if (running || inFlight.size > 0 || toRelease.length > 0) scheduleTick();
  };

  const scheduleTick = () => {
    if (tickTimer === undefined) tickTimer = clock.setTimeout(tick, tickMs);
  };

  const drained = (timeoutMs: number) =>
    new Promise<boolean>((resolve) => {
      if (inFlight.size === 0) return resolve(true);
      const timer = clock.setTimeout(() => resolve(false), timeoutMs);
      drainWaiters.push(() => {
        clock.clearTimeout(timer);
        resolve(true);
      });
    });

  const stopNow = async () => {
    running = false;
    const abortedAt = clock.now();
    pollAbort.abort();
    freeSlot();
    wakeParked(parked.length);
    await Promise.all(loops);
    let released = 0;
    if (!(await drained(stopTimeoutMs))) {
      releasing = true;
      handlerAbort.abort(new Error('Consumer stopped: the stop deadline passed'));
      // A long poll cut short here may stay open on the server (SQS) until its wait ends, and
      // would take the messages released now: release once it has closed.
      const pollOpenMs = abortedAt + (receiver.abandonedPollOpenMs?.(waitTimeMs) ?? 0) - clock.now();
      if (pollOpenMs > 0) await sleep(clock, pollOpenMs);
      for (const entry of inFlight) {
        if (entry.settling || entry.released) continue;
        entry.released = true;
        toRelease.push(entry);
      }
      const releases = toRelease.splice(0);
      for (const entry of releases) entry.settling = true;
      released = releases.length;
      await Promise.all(releases.map((entry) => attempt(() => entry.delivery.retry({ delayMs: 0 })).catch(report)));
      releasing = false;
      // Settlements already under way (an ack in a delete batch, say) are not released: wait for
      // them, or a process that exits once stop() resolves loses them and the messages come back.
      await Promise.allSettled([...settlements]);
    }
    stats.released += released;
    if (tickTimer !== undefined) clock.clearTimeout(tickTimer);
    tickTimer = undefined;
    return { released };
  };

  const start = (): void => {
    if (running) return;
    // Restarting while a stop drains: start again once it has finished, not beside it.
    if (stopping && !stopped) {
      void stopping.then(start);
      return;
    }
    running = true;
    stopping = undefined;
    pollAbort = new AbortController();
    handlerAbort = new AbortController();
    deliveryLimit = readDeliveryLimit(pollAbort.signal);
    backlog = true;
    wakeAfterFull = MIN_WAKE_AFTER_FULL;
    loops = Array.from({ length: pollers }, (_, index) => poll(index));
    scheduleTick();
  };

  const stop = (): Promise<{ released: number }> => {
    if (!stopping) {
      stopped = false;
      stopping = stopNow().finally(() => {
        stopped = true;
      });
    }
    return stopping;
  };

  return { start, stop, stats: () => ({ ...stats, inFlight: inFlight.size }) };
}
