import { type Clock, systemClock, type TimerHandle } from '../../clock.ts';
import { type Codec, jsonCodec } from '../../codec.ts';
import { CodecError, ConfigurationError, callErrorCallback, toError, WebhookVerificationError } from '../../errors.ts';
import type { Message } from '../../message.ts';
import { functionOption, integerOption, requiredOption } from '../../options.ts';
import { createBackoff, Jitter } from '../../reliability/backoff.ts';
import type { Handler } from '../../reliability/consumer.ts';
import { decodeStep } from '../../reliability/decode.ts';
import { memoryIdempotencyStore } from '../../reliability/idempotency/memory-store.ts';
import { type IdempotencyOptions, idempotencyStep, resolveIdempotency } from '../../reliability/idempotency/step.ts';
import type { IdempotencyStore } from '../../reliability/idempotency/store.ts';
import type { Instrumentation } from '../../reliability/instrumentation.ts';
import { compose, type IdempotencyLeaseHandle, type Process } from '../../reliability/pipeline.ts';
import { retryStep } from '../../reliability/retry.ts';
import type { StandardSchemaV1 } from '../../schema.ts';
import { syntheticDelivery, toEnvelope } from './envelope.ts';
import {
  invalidBody,
  methodNotAllowed,
  outcomeResponse,
  rejection,
  retryLater,
  tooLarge,
  WebhookRejection,
  type WebhookRequest,
  type WebhookResponse,
} from './response.ts';
import { verifySignature } from './signature.ts';
import { DEFAULT_TOLERANCE_MS, secretKeys, type WebhookSecret } from './verify.ts';

/** Options of {@link createWebhookReceiver}. Durations are in milliseconds. */
export interface WebhookReceiverOptions<Body> {
  /** The secret shared with the sender (`whsec_…`), or several while one rotates: any of them verifies. */
  readonly secret: WebhookSecret;
  /** Handles one webhook, with the same signature as a consumer's handler. */
  readonly handler: Handler<Body>;
  /** Validates bodies (Standard Schema: zod, valibot, arktype); an invalid body is answered 400. Default none. */
  readonly schema?: StandardSchemaV1<unknown, Body>;
  /** Decodes bodies. Default JSON. */
  readonly codec?: Codec;
  /**
   * Deduplication by `webhook-id`, with the consumer's idempotency options (see
   * `IdempotencyOptions`); the key is always the `webhook-id`. A webhook whose id was already used
   * for another body is answered 422 (`idempotency-conflict`).
   */
  readonly idempotency?: Omit<IdempotencyOptions, 'store' | 'key'> & {
    /**
     * Where ids are recorded. Default an in-memory store (ids kept for 1 hour, or twice
     * `toleranceMs` if longer): enough for one process. Several instances behind a load balancer
     * need a shared store. Its time to live must exceed twice `toleranceMs` (a timestamp may be
     * `toleranceMs` ahead when first received, and `toleranceMs` behind when replayed), or a
     * replay could run the handler twice.
     */
    readonly store?: IdempotencyStore;
  };
  /** Largest distance between `webhook-timestamp` and now, in milliseconds. Default 300 000 (5 min); at least 1 000. */
  readonly toleranceMs?: number;
  /** Largest body accepted, in bytes; a larger one is answered 413. Default 1 048 576 (1 MiB); at least 1. */
  readonly maxBodyBytes?: number;
  /** `Retry-After` sent when the handler failed without asking for a delay, in seconds. Default 30; 1 to 86 400. */
  readonly retryAfterSeconds?: number;
  /** Clock for timestamps and leases. Default the system clock. */
  readonly clock?: Clock;
  /** Receives errors outside the handler (a failed idempotency store, say). Default `console.error`. */
  readonly onError?: (error: Error) => void;
  /** A CONSUMER span per webhook, linked to the sender's trace context: pass `missiveTelemetry()`. Default off. */
  readonly telemetry?: Instrumentation;
  /** The name spans and metrics give this endpoint (`messaging.destination.name`). Default `webhook`. */
  readonly endpointName?: string;
}

/**
 * Verifies, deduplicates and handles webhooks. Serve it with one of the adapters
 * (`nodeHttpWebhookHandler`, `fetchWebhookHandler`, `lambdaWebhookHandler`), or call `handle`.
 */
export interface WebhookReceiver {
  /** Largest body accepted, in bytes; the adapters stop reading past it. */
  readonly maxBodyBytes: number;
  /** Answers one request (see {@link createWebhookReceiver} for the statuses). Never rejects. */
  handle(request: WebhookRequest): Promise<WebhookResponse>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const defaultOnError = (error: Error) => console.error('[missive]', error);
const reporters = new WeakMap<WebhookReceiver, (error: Error) => void>();

/** @internal How an adapter reports errors of a receiver (its `onError`, or `console.error`). */
export function reporterOf(receiver: WebhookReceiver): (error: Error) => void {
  return reporters.get(receiver) ?? defaultOnError;
}

/**
 * Creates a webhook receiver: it verifies each request's Standard Webhooks signature against
 * every active secret, refuses timestamps outside the tolerance, deduplicates by `webhook-id`,
 * and runs the handler through the consumer's own pipeline (decode and schema, idempotency,
 * error classification). Its answers tell the sender what to do:
 *
 * - 200: handled; or a duplicate of a handled id (`missive-duplicate: true`), handler not run.
 * - 400: the body could not be decoded or failed its schema. Do not retry.
 * - 401: signature, timestamp or headers wrong. 405: not a POST. 413: body over `maxBodyBytes`.
 * - 422: the handler threw `UnrecoverableError` (its message is in the body), or the
 *   `webhook-id` was already used for a different body (`idempotency-conflict`). Do not retry.
 * - 503 with `Retry-After`: the handler failed (after `RetryLaterError`'s delay, if it threw
 *   one), or the same id is being handled right now. Retry.
 * - 500 with `Retry-After`: the receiver itself failed, reported to `onError`. Retry.
 *
 * Error bodies never contain a secret, a signature, or the message of an unexpected error.
 * Options are checked here: a bad one throws a `ConfigurationError`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createWebhookReceiver, nodeHttpWebhookHandler } from 'missive/http';
 *
 * const receiver = createWebhookReceiver<OrderEvent>({
 *   secret: process.env.WEBHOOK_SECRET!,
 *   handler: async (message) => { await recordPayment(message.body); },
 * });
 * createServer(nodeHttpWebhookHandler(receiver)).listen(8080);
 * ```
 */
export function createWebhookReceiver<Body = unknown>(options: WebhookReceiverOptions<Body>): WebhookReceiver {
  const keys = secretKeys(options.secret);
  const handler = requiredOption('handler', options.handler, 'a function (message, context) => result');
  functionOption('handler', handler, handler);
  const schema = options.schema;
  if (schema !== undefined && typeof schema?.['~standard']?.validate !== 'function') {
    throw new ConfigurationError('schema', schema, 'a Standard Schema (zod, valibot, arktype, …)');
  }
  const codec = options.codec ?? jsonCodec;
  if (typeof codec.decode !== 'function') throw new ConfigurationError('codec', codec, 'a Codec with decode()');
  const toleranceMs = integerOption('toleranceMs', options.toleranceMs, DEFAULT_TOLERANCE_MS, 1_000);
  const maxBodyBytes = integerOption('maxBodyBytes', options.maxBodyBytes, 1_048_576, 1);
  const retryAfterSeconds = integerOption('retryAfterSeconds', options.retryAfterSeconds, 30, 1, 86_400);
  const clock = options.clock ?? systemClock;
  if (typeof clock.now !== 'function') throw new ConfigurationError('clock', clock, 'a Clock');
  const onError = functionOption('onError', options.onError, defaultOnError);
  const idempotency = resolveIdempotency({
    ...options.idempotency,
    // A replay passes the timestamp check for up to twice the tolerance after the first receipt.
    store: options.idempotency?.store ?? memoryIdempotencyStore({ clock, ttlMs: Math.max(3_600_000, 2 * toleranceMs) }),
  });
  if (typeof idempotency.store.begin !== 'function') {
    throw new ConfigurationError(
      'idempotency.store',
      idempotency.store,
      'an IdempotencyStore, for example memoryIdempotencyStore()',
    );
  }
  const retryAfterMs = retryAfterSeconds * 1000;

  // A throwing (or rejecting) error callback must not fail the request.
  const report = (error: unknown) => callErrorCallback(() => onError(toError(error)));

  const callHandler: Process = async (context) => {
    const stopRenewing = keepLease(context.lease);
    try {
      const result = await handler(context.message as Message<Body>, { attempt: 1, signal: context.signal });
      return { status: 'ack', result };
    } finally {
      stopRenewing();
    }
  };
  // The consumer's steps, in the consumer's order. Every failure is answered with one Retry-After,
  // so the backoff is constant; attempts are the sender's to count, so they never run out here.
  const process = compose(
    [
      // Outermost, as in the consumer: the span covers decoding and idempotency too.
      ...(options.telemetry
        ? [options.telemetry.process({ name: options.endpointName ?? 'webhook', system: 'webhook' }, { clock })]
        : []),
      decodeStep(codec, schema),
      idempotencyStep(idempotency, { clock, pollDelayMs: () => retryAfterMs, report }),
      retryStep(
        () => Number.MAX_SAFE_INTEGER,
        createBackoff({ initialDelayMs: retryAfterMs, maxDelayMs: retryAfterMs, jitter: Jitter.None }),
      ),
    ],
    callHandler,
  );

  /** Renews a held lease while the handler runs; returns the function that stops renewing. */
  const keepLease = (lease: IdempotencyLeaseHandle | undefined): (() => void) => {
    if (!lease) return () => undefined;
    let stopped = false;
    let timer: TimerHandle;
    const schedule = () => {
      timer = clock.setTimeout(renew, Math.max(1, Math.floor(lease.leaseMs / 3)), { keepAlive: false });
    };
    const renew = () => {
      lease.renew().then((held) => {
        // A lost lease is reported by the idempotency step when the handler finishes.
        if (!held || stopped) return;
        lease.expiresAt = clock.now() + lease.leaseMs;
        schedule();
      }, report);
    };
    schedule();
    return () => {
      stopped = true;
      clock.clearTimeout(timer);
    };
  };

  const respond = async (request: WebhookRequest): Promise<WebhookResponse> => {
    if (request.method.toUpperCase() !== 'POST') return methodNotAllowed(request.method);
    const { body } = request;
    const size = typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
    if (size > maxBodyBytes) return tooLarge(maxBodyBytes);
    let id: string;
    let timestampSeconds: number;
    try {
      ({ id, timestampSeconds } = verifySignature({
        header: request.headers,
        body,
        keys,
        nowMs: clock.now(),
        toleranceMs,
      }));
    } catch (error) {
      if (error instanceof WebhookVerificationError) return rejection(401, error.reason, error.message);
      throw error;
    }
    let text: string;
    try {
      text = typeof body === 'string' ? body : utf8.decode(body);
    } catch (error) {
      return invalidBody(id, new CodecError('decode', codec.contentType, error), codec.contentType);
    }
    const envelope = toEnvelope(id, timestampSeconds, text, request.headers);
    const signal = request.signal ?? new AbortController().signal;
    const outcome = await process({
      delivery: syntheticDelivery(envelope, clock.now()),
      source: `webhook ${id}`,
      signal,
    });
    return outcomeResponse(id, outcome, codec.contentType, retryAfterMs);
  };

  const receiver: WebhookReceiver = {
    maxBodyBytes,
    async handle(request) {
      try {
        return await respond(request);
      } catch (error) {
        report(error);
        return retryLater(500, WebhookRejection.ReceiverFailed, 'The receiver failed; retry later.', retryAfterMs);
      }
    },
  };
  reporters.set(receiver, report);
  return receiver;
}
