import pRetry from 'p-retry';
import { type Clock, sleep, systemClock } from '../clock.ts';
import { type Codec, encodeBody, jsonCodec } from '../codec.ts';
import {
  ClosedError,
  ConfigurationError,
  callErrorCallback,
  isMissiveError,
  RetryBudgetExhaustedError,
  SendFailedError,
  TransportError,
  toError,
} from '../errors.ts';
import { uuidv7 } from '../id.ts';
import type { Headers, OutgoingEnvelope } from '../message.ts';
import { choiceOption, functionOption, integerOption, requiredOption } from '../options.ts';
import { type StandardSchemaV1, validate } from '../schema.ts';
import type { Sender, SendOutcome } from '../transports/contract.ts';
import { type Backoff, type BackoffOptions, createBackoff } from './backoff.ts';
import type { Instrumentation } from './instrumentation.ts';
import { createRetryBudget, type RetryBudget } from './retry-budget.ts';

/** Per-message options of {@link Producer.send}. */
export interface SendOptions {
  /** The message id. Default a new UUIDv7. Reuse an id only to resend the same message. */
  readonly id?: string;
  /** Headers to send with the message; names are lower-cased by convention. */
  readonly headers?: Headers;
  /** The key consumers recognise duplicates by. Default the message id. */
  readonly idempotencyKey?: string;
  /**
   * Keep the message invisible for this long after it is accepted, in milliseconds. Default none
   * (the queue's own delay). SQS and the memory queue allow 0 to 900 000 (15 min); webhook targets
   * refuse any delay (a permanent failure).
   */
  readonly delayMs?: number;
  /** The FIFO message group; required by FIFO destinations (an SQS queue may supply one with `messageGroupId`). */
  readonly groupId?: string;
  /** Stops retrying; the send then rejects with the signal's reason (in fire-and-forget mode, `onError` gets it). */
  readonly signal?: AbortSignal;
}

/** The result of sending one message of a batch. A tagged union on `status`. */
export type BatchItemResult =
  | { readonly status: 'sent'; readonly id: string }
  | { readonly status: 'failed'; readonly id: string; readonly error: Error };

/** Options of {@link createProducer}. */
export interface ProducerOptions<Body> {
  /** Where messages go: any {@link Sender} (a memory queue, an SQS queue, a webhook target). */
  readonly transport: Sender;
  /** Encodes bodies. Default JSON. */
  readonly codec?: Codec;
  /**
   * Checks bodies before sending, through the Standard Schema interface (zod, valibot, arktype).
   * The body is sent as given: transforms and defaults of the schema apply where consumers
   * validate, not here.
   */
  readonly schema?: StandardSchemaV1<Body>;
  /** Retries of retryable failures. */
  readonly retry?: {
    /** Attempts per message, the first included. Default 3; 1 to 100; 1 disables retries. */
    readonly maxAttempts?: number;
    /**
     * Delays between attempts, in milliseconds. Default 100 doubling to at most 5 000 (or to
     * `initialDelayMs`, if larger), full jitter. A longer `Retry-After` from the destination wins.
     */
    readonly backoff?: BackoffOptions;
  };
  /**
   * The budget retries draw from; share one between producers. Default a budget of its own
   * (`createRetryBudget()`: 500 tokens, 5 per retry); `false` for none.
   */
  readonly retryBudget?: RetryBudget | false;
  /**
   * `'confirmed'` (default): `send` resolves once the destination accepted the message.
   * `'fire-and-forget'`: `send` resolves at once; retries go on in the background, failures go
   * to `onError`, and `close()` waits for every pending send.
   */
  readonly mode?: 'confirmed' | 'fire-and-forget';
  /** Receives failed fire-and-forget sends. Default: written to stderr with `console.error`. */
  readonly onError?: (error: Error, message: { readonly id: string; readonly body: unknown }) => void;
  /** Clock for backoff delays and the messages' `createdAt`. Default the system clock. */
  readonly clock?: Clock;
  /** Spans and metrics for every send: pass `missiveTelemetry()` from `missive/telemetry`. Default off. */
  readonly telemetry?: Instrumentation;
}

/** Sends messages through a transport with retries, backoff and a retry budget. */
export interface Producer<Body> {
  /**
   * Sends one message. Resolves with its id once the destination accepted it (or at once in
   * fire-and-forget mode); rejects with {@link SendFailedError}, {@link RetryBudgetExhaustedError},
   * or a validation error naming the problem.
   */
  send(body: Body, options?: SendOptions): Promise<{ readonly id: string }>;
  /** Sends several messages in one transport call, retrying only those that failed retryably. */
  sendBatch(
    items: readonly ({ readonly body: Body } & Omit<SendOptions, 'signal'>)[],
    options?: { signal?: AbortSignal },
  ): Promise<BatchItemResult[]>;
  /** Waits for pending fire-and-forget sends; later sends reject with {@link ClosedError}. */
  close(): Promise<void>;
}

const defaultOnError = (error: Error, message: { id: string }) => {
  console.error(`[missive] fire-and-forget send of message ${message.id} failed: ${error.message}`);
};

/**
 * Creates a producer. Options are checked here: a bad one throws a `ConfigurationError`.
 *
 * @example
 * ```ts
 * import { createProducer } from 'missive';
 * import { memoryQueue } from 'missive/memory';
 *
 * const queue = memoryQueue({ name: 'orders' });
 * const producer = createProducer<Order>({ transport: queue, retry: { maxAttempts: 5 } });
 * const { id } = await producer.send({ orderId: 'o-1', total: 42 }, { idempotencyKey: 'o-1' });
 * ```
 */
export function createProducer<Body = unknown>(options: ProducerOptions<Body>): Producer<Body> {
  const transport = requiredOption('transport', options.transport, 'a Sender, for example memoryQueue()');
  if (typeof transport.send !== 'function')
    throw new ConfigurationError('transport', transport, 'a Sender with a send() method');
  const codec = options.codec ?? jsonCodec;
  const maxAttempts = integerOption('retry.maxAttempts', options.retry?.maxAttempts, 3, 1, 100);
  const backoffOptions = options.retry?.backoff ?? {};
  const backoff = createBackoff(
    { ...backoffOptions, maxDelayMs: backoffOptions.maxDelayMs ?? Math.max(5_000, backoffOptions.initialDelayMs ?? 0) },
    'retry.backoff',
  );
  const budget = options.retryBudget === false ? undefined : (options.retryBudget ?? createRetryBudget());
  const mode = choiceOption('mode', options.mode, 'confirmed', ['confirmed', 'fire-and-forget']);
  const onError = functionOption('onError', options.onError, defaultOnError);
  const clock = options.clock ?? systemClock;
  const schema = options.schema;
  const pending = new Set<Promise<unknown>>();
  let closed = false;

  const check = (body: Body) => (schema ? validate(schema, body, `sent to ${transport.destination}`) : undefined);

  const envelope = (
    body: Body,
    item: Omit<SendOptions, 'signal'>,
    createdAt: number = clock.now(),
    idTime: number = Date.now(),
  ): OutgoingEnvelope => {
    const id = item.id ?? uuidv7(idTime);
    return {
      id,
      body: encodeBody(codec, body),
      headers: item.headers ?? {},
      idempotencyKey: item.idempotencyKey ?? id,
      createdAt,
      groupId: item.groupId,
      delayMs: item.delayMs,
    };
  };

  const telemetry = options.telemetry;
  const endpoint = { name: transport.destination, system: transport.messagingSystem ?? 'missive' };
  const deliver = (envelopes: OutgoingEnvelope[], signal: AbortSignal | undefined) => {
    const plan = { maxAttempts, backoff, budget, clock, signal };
    if (!telemetry) return sendWithRetries(transport, envelopes, plan);
    return telemetry.send(endpoint, envelopes, (traced) => sendWithRetries(transport, traced, plan));
  };

  const ensureOpen = () => {
    if (closed) throw new ClosedError(`Producer for ${transport.destination}`);
  };

  /** Keeps `close()` waiting until the returned function is called. */
  const holdClose = () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    pending.add(held);
    return () => {
      pending.delete(held);
      release();
    };
  };

  return {
    async send(body, sendOptions = {}) {
      ensureOpen();
      sendOptions.signal?.throwIfAborted();
      // A fire-and-forget send accepted before close() is one close() waits for, even while its
      // body is still being checked (the check is asynchronous).
      const releaseClose = schema && mode === 'fire-and-forget' ? holdClose() : undefined;
      try {
        if (schema) await check(body);
        const message = envelope(body, sendOptions);
        const sending = deliver([message], sendOptions.signal).then((results) => {
          const result = results[0];
          if (result?.status === 'failed') throw result.error;
          return { id: message.id };
        });
        if (mode === 'confirmed') return sending;
        const tracked = sending
          .catch((error: unknown) => callErrorCallback(() => onError(toError(error), { id: message.id, body })))
          .finally(() => pending.delete(tracked));
        pending.add(tracked);
        return { id: message.id };
      } finally {
        releaseClose?.();
      }
    },

    async sendBatch(items, batchOptions = {}) {
      ensureOpen();
      batchOptions.signal?.throwIfAborted();
      if (items.length === 0) return [];
      if (schema) await Promise.all(items.map((item) => check(item.body)));
      // One reading of each clock per batch, not two per message: the batch is built in one go.
      const createdAt = clock.now();
      const idTime = Date.now();
      return deliver(
        items.map((item) => envelope(item.body, item, createdAt, idTime)),
        batchOptions.signal,
      );
    },

    async close() {
      closed = true;
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}

interface RetryPlan {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly budget: RetryBudget | undefined;
  readonly clock: Clock;
  readonly signal: AbortSignal | undefined;
}

/** Raised inside the retry loop when some envelopes are still retryable. */
class StillRetryable extends Error {
  readonly lastError: Error;
  constructor(lastError: Error) {
    super(lastError.message);
    this.lastError = lastError;
  }
}

/**
 * Sends `envelopes`, retrying only the retryable failures with backoff, within the budget.
 * The first attempt runs directly; p-retry drives the attempts after it.
 */
async function sendWithRetries(
  transport: Sender,
  envelopes: OutgoingEnvelope[],
  plan: RetryPlan,
): Promise<BatchItemResult[]> {
  // The common case without the retry machinery: one call, every envelope accepted.
  const first = await callSender(transport, envelopes, plan.signal);
  let accepted = 0;
  while (accepted < first.length && (first[accepted] as SendOutcome).status === 'accepted') accepted++;
  if (accepted === envelopes.length) {
    const sent: BatchItemResult[] = new Array(accepted);
    for (let i = 0; i < accepted; i++) {
      sent[i] = { status: 'sent', id: (envelopes[i] as OutgoingEnvelope).id };
      plan.budget?.recordSuccess();
    }
    return sent;
  }
  return settleAndRetry(transport, envelopes, plan, first);
}

/** The rest of {@link sendWithRetries}, once the first attempt's `outcomes` are in. */
async function settleAndRetry(
  transport: Sender,
  envelopes: OutgoingEnvelope[],
  plan: RetryPlan,
  firstOutcomes: SendOutcome[],
): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = new Array(envelopes.length);
  let remaining = envelopes.map((envelope, index) => ({ envelope, index }));
  let lastError: Error | undefined;
  let attempt = 0;
  /** The longest wait the destination asked for in the last attempt (Retry-After), in milliseconds. */
  let askedDelayMs = 0;

  const attemptOnce = async (given?: SendOutcome[]) => {
    attempt++;
    askedDelayMs = 0;
    const outcomes =
      given ??
      (await callSender(
        transport,
        remaining.map((r) => r.envelope),
        plan.signal,
      ));
    const retryable: typeof remaining = [];
    for (let i = 0; i < remaining.length; i++) {
      const { envelope, index } = remaining[i] as (typeof remaining)[number];
      const outcome = outcomes[i] as SendOutcome;
      if (outcome.status === 'accepted') {
        results[index] = { status: 'sent', id: envelope.id };
        plan.budget?.recordSuccess();
      } else if (outcome.status === 'permanent') {
        results[index] = {
          status: 'failed',
          id: envelope.id,
          error: new SendFailedError(transport.destination, attempt, false, outcome.error),
        };
      } else {
        lastError = outcome.error;
        askedDelayMs = Math.max(askedDelayMs, outcome.retryAfterMs ?? 0);
        retryable.push(remaining[i] as (typeof remaining)[number]);
      }
    }
    remaining = retryable;
    if (remaining.length > 0) throw new StillRetryable(lastError as Error);
  };

  const failRemaining = (error: Error) => {
    for (const { index } of remaining)
      results[index] = { status: 'failed', id: (envelopes[index] as OutgoingEnvelope).id, error };
  };

  try {
    await attemptOnce(firstOutcomes);
    return results;
  } catch (error) {
    if (!(error instanceof StillRetryable)) throw error;
  }
  if (plan.maxAttempts === 1) {
    // Aborted: the rest fail with the reason, as they do between retries.
    failRemaining(
      plan.signal?.aborted
        ? toError(plan.signal.reason)
        : new SendFailedError(transport.destination, attempt, true, lastError),
    );
    return results;
  }

  let previousDelayMs: number | undefined;
  const retryOnce = async () => {
    previousDelayMs = await waitBeforeRetry(
      transport,
      plan,
      attempt,
      previousDelayMs,
      askedDelayMs,
      lastError as Error,
    );
    await attemptOnce();
  };
  try {
    // p-retry counts the attempts after the first; the backoff sleep runs inside each, on our clock.
    await pRetry(retryOnce, {
      retries: plan.maxAttempts - 2,
      minTimeout: 0,
      maxTimeout: 0,
      ...(plan.signal ? { signal: plan.signal } : {}),
      shouldRetry: ({ error }) => error instanceof StillRetryable,
    });
  } catch (error) {
    if (error instanceof StillRetryable)
      failRemaining(new SendFailedError(transport.destination, attempt, true, error.lastError));
    else if (error instanceof RetryBudgetExhaustedError) failRemaining(error);
    // Aborted between attempts: what was accepted stays reported as sent; the rest fail with the reason.
    else if (plan.signal?.aborted) failRemaining(toError(plan.signal.reason));
    else throw error;
  }
  return results;
}

/**
 * Takes a retry from the budget and sleeps the backoff, or longer if the destination asked for
 * more (`askedDelayMs`, from Retry-After); returns the delay slept.
 */
async function waitBeforeRetry(
  transport: Sender,
  plan: RetryPlan,
  attempt: number,
  previousDelayMs: number | undefined,
  askedDelayMs: number,
  lastError: Error,
): Promise<number> {
  if (plan.budget && !plan.budget.tryAcquire()) throw new RetryBudgetExhaustedError(transport.destination, lastError);
  const delayMs = Math.max(askedDelayMs, plan.backoff.delayMs(attempt, previousDelayMs));
  await sleep(plan.clock, delayMs, plan.signal);
  return delayMs;
}

/** Calls the transport; a rejected call counts as a retryable or permanent failure of every envelope. */
async function callSender(
  transport: Sender,
  envelopes: OutgoingEnvelope[],
  signal: AbortSignal | undefined,
): Promise<SendOutcome[]> {
  try {
    return await transport.send(envelopes, signal ? { signal } : undefined);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const failure = toError(error);
    const retryable = !(isMissiveError(failure) && failure instanceof TransportError && !failure.retryable);
    return envelopes.map((envelope) =>
      retryable
        ? { status: 'retryable', id: envelope.id, error: failure }
        : { status: 'permanent', id: envelope.id, error: failure },
    );
  }
}
