import { type Clock, sleep, systemClock } from '../clock.ts';
import { type Codec, jsonCodec } from '../codec.ts';
import { ConfigurationError, callErrorCallback, toError } from '../errors.ts';
import type { Message } from '../message.ts';
import { functionOption, integerOption, requiredOption } from '../options.ts';
import type { StandardSchemaV1 } from '../schema.ts';
import type { Receiver, Sender } from '../transports/contract.ts';
import { MAX_VISIBILITY_MS } from '../transports/sqs-limits.ts';
import { type BackoffOptions, createBackoff } from './backoff.ts';
import { deadLetterTo } from './dead-letter.ts';
import { decodeStep } from './decode.ts';
import { type IdempotencyOptions, idempotencyStep, resolveIdempotency } from './idempotency/step.ts';
import { InFlightSet } from './in-flight.ts';
import type { Instrumentation } from './instrumentation.ts';
import { compose, type Process, type Step } from './pipeline.ts';
import { Pollers } from './pollers.ts';
import { retryStep } from './retry.ts';

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
  /** Runs once per delivery attempt; see {@link Handler}. Required. */
  readonly handler: Handler<Body>;
  /**
   * Most handlers running at once. Default 10; 1 to 10 000. A handler's slot is free once it returns,
   * while its ack is still being sent; messages held in all (received, not yet settled) stay within
   * twice this.
   */
  readonly concurrency?: number;
  /** Most messages asked for per receive. Default 10 (SQS's maximum per receive); 1 to 10 000. */
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
   * the queue's own). Default 30 000; 1 to 43 200 000 (12 h, SQS's limit).
   */
  readonly visibilityTimeoutMs?: number;
  /**
   * Extend visibility while a slow handler runs: every quarter of `visibilityTimeoutMs`, a delivery
   * with less than half of it left gets another `visibilityTimeoutMs`. Default true.
   */
  readonly heartbeat?: boolean;
  /** Retries of failed deliveries. */
  readonly retry?: {
    /**
     * Deliveries per message, the first included, before it is dead-lettered. Default 5; 1 to 1 000.
     * Lowered to the queue's redrive `maxReceiveCount` when it has one.
     */
    readonly maxAttempts?: number;
    /**
     * Delay before each retry, in milliseconds. Default 1 000 doubling to at most 300 000, full
     * jitter; options given replace only those defaults.
     */
    readonly backoff?: BackoffOptions;
  };
  /**
   * Where dead letters go. Default the transport's own dead-letter queue (`deadLetter()`); a
   * {@link Sender} here receives them instead, with failure metadata in their headers, and the
   * original is deleted only once that send succeeded. Without either, `createConsumer` throws a
   * `ConfigurationError`.
   */
  readonly deadLetter?: Sender;
  /** Suppresses duplicates through an idempotency store. Default off. */
  readonly idempotency?: IdempotencyOptions;
  /** Validates bodies (Standard Schema: zod, valibot, arktype); invalid bodies are dead-lettered at once. Default none. */
  readonly schema?: StandardSchemaV1<unknown, Body>;
  /** Decodes bodies. Default JSON. */
  readonly codec?: Codec;
  /**
   * How long `stop()` lets in-flight handlers finish before releasing their messages, in
   * milliseconds. Default 25 000 (inside the 30 s grace period of ECS and Kubernetes); 0 or more.
   * Where a long poll cut short stays open at the server (SQS: its wait in whole seconds, plus
   * 250 ms), messages are released only once it has closed and can no longer take them.
   */
  readonly stopTimeoutMs?: number;
  /** Receives errors outside handlers (a failed receive, ack or dead-letter send). Default `console.error`. */
  readonly onError?: (error: Error) => void;
  /** Clock for backoff, heartbeats, the stop deadline and end-to-end latency. Default the system clock. */
  readonly clock?: Clock;
  /** A span around every delivery attempt, and metrics: pass `missiveTelemetry()` from `missive/telemetry`. Default off. */
  readonly telemetry?: Instrumentation;
  /** Random source for jitter, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Counts since the consumer was created. */
export interface ConsumerStats {
  /** Deliveries received, redeliveries included. */
  readonly received: number;
  /** Handled successfully and acked. */
  readonly acked: number;
  /** Acked without running the handler, as duplicates of a completed key. */
  readonly duplicates: number;
  /** Attempts that ended in a retry (made visible again after a delay). */
  readonly retried: number;
  /** Messages moved to the dead-letter destination. */
  readonly deadLettered: number;
  /** Deliveries released unfinished by `stop()`. */
  readonly released: number;
  /** Deliveries held now: running, or settling. */
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

const defaultOnError = (error: Error) =>
  console.error(`[missive] ${error.message}${error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ''}`);

/**
 * Creates a consumer. Call `start()` to begin and `stop()` to drain. Options are checked here:
 * a bad one throws a `ConfigurationError`.
 *
 * @example
 * ```ts
 * import { createConsumer } from 'missive';
 * import { memoryQueue } from 'missive/memory';
 *
 * const queue = memoryQueue({ name: 'orders', deadLetterQueue: memoryQueue({ name: 'orders-dlq' }) });
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
  const pollerCount = integerOption('pollers', options.pollers, Math.ceil(concurrency / batchSize), 1, concurrency);
  const waitTimeMs = integerOption('waitTimeMs', options.waitTimeMs, 20_000, 1);
  const visibilityTimeoutMs = integerOption(
    'visibilityTimeoutMs',
    options.visibilityTimeoutMs,
    30_000,
    1,
    MAX_VISIBILITY_MS,
  );
  const maxAttempts = integerOption('retry.maxAttempts', options.retry?.maxAttempts, 5, 1, 1_000);
  // Lowered to the transport's own delivery limit (an SQS redrive policy's maxReceiveCount) on start.
  let attemptLimit = maxAttempts;
  const backoff = createBackoff(
    { initialDelayMs: 1_000, maxDelayMs: 300_000, ...options.retry?.backoff },
    'retry.backoff',
  );
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
    steps.push(
      options.telemetry.process(
        { name: receiver.source, system: receiver.messagingSystem ?? 'missive' },
        // The active span in the receive loop is never a delivery's own (it is the caller's of
        // start(), unless the instrumentation detached the loops from it).
        { clock, ambient: false },
      ),
    );
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

  // A throwing (or rejecting) error callback must not take the consumer down.
  const report = (error: unknown) => callErrorCallback(() => onError(toError(error)));

  let running = false;
  let stopping: Promise<{ released: number }> | undefined;
  let stopped = true;
  /** start() was called while a stop drained, and no stop() since: start once it has finished. */
  let restartQueued = false;
  const isRunning = () => running;
  // The deliveries held (processed, settled, kept visible, released at stop), and the receive loops that fill them.
  const inFlight = new InFlightSet({
    receiver,
    process,
    deadLetter: deadLetterTo({ receiver, sender: deadLetterSender, clock, backoff, random }),
    visibilityTimeoutMs,
    heartbeat: options.heartbeat !== false,
    tickMs,
    attemptLimit: () => attemptLimit,
    backoff,
    random,
    clock,
    report,
    running: isRunning,
  });
  const pollers = new Pollers({
    receiver,
    inFlight,
    count: pollerCount,
    concurrency,
    batchSize,
    waitTimeMs,
    visibilityTimeoutMs,
    onDeliveryLimit: (limit) => {
      attemptLimit = Math.min(maxAttempts, limit);
    },
    clock,
    random,
    report,
    running: isRunning,
  });

  const stopNow = async () => {
    running = false;
    const abortedAt = clock.now();
    await pollers.stop();
    let released = 0;
    if (!(await inFlight.drained(stopTimeoutMs))) {
      inFlight.abortHandlers();
      // A long poll cut short here may stay open on the server (SQS) until its wait ends, and
      // would take the messages released now: release once it has closed.
      const pollOpenMs = abortedAt + (receiver.abandonedPollOpenMs?.(waitTimeMs) ?? 0) - clock.now();
      if (pollOpenMs > 0) await sleep(clock, pollOpenMs);
      released = await inFlight.releaseUnfinished();
    }
    inFlight.stopTicking();
    return { released };
  };

  const start = (): void => {
    if (running) return;
    // Restarting while a stop drains: start again once it has finished, not beside it.
    if (stopping && !stopped) {
      restartQueued = true;
      void stopping.then(() => {
        if (!restartQueued) return;
        restartQueued = false;
        start();
      });
      return;
    }
    running = true;
    stopping = undefined;
    // The delivery limit is asked for first; the tick is scheduled last. The loops belong to no
    // trace of the caller's: telemetry starts them outside any active span.
    const startLoops = () => {
      pollers.start();
      inFlight.start();
    };
    if (options.telemetry?.detached) options.telemetry.detached(startLoops);
    else startLoops();
  };

  const stop = (): Promise<{ released: number }> => {
    // The last call wins: a restart asked for while the stop drains is called off.
    restartQueued = false;
    if (!stopping) {
      stopped = false;
      stopping = stopNow().finally(() => {
        stopped = true;
      });
    }
    return stopping;
  };

  return { start, stop, stats: () => ({ ...inFlight.counts, inFlight: inFlight.size }) };
}
