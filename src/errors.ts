/**
 * Every error Missive raises is a {@link MissiveError} (errors your own handlers throw are passed
 * through as they are): it has a stable string `code` to branch on, keeps the underlying error as
 * `cause`, and carries the data a caller needs to act (the option, the destination, the attempt).
 *
 * Check errors with the brand guards ({@link isMissiveError}, {@link isMissiveErrorCode}) rather
 * than `instanceof`: the guards keep working when two copies of Missive end up in one bundle.
 *
 * @module
 */

const BRAND = Symbol.for('missive.error');

/** The stable codes of Missive's errors. Branch on these, never on messages. */
export const ErrorCode = {
  Configuration: 'MISSIVE_CONFIGURATION',
  MessageTooLarge: 'MISSIVE_MESSAGE_TOO_LARGE',
  InvalidMessage: 'MISSIVE_INVALID_MESSAGE',
  Codec: 'MISSIVE_CODEC',
  SendFailed: 'MISSIVE_SEND_FAILED',
  RetryBudgetExhausted: 'MISSIVE_RETRY_BUDGET_EXHAUSTED',
  Transport: 'MISSIVE_TRANSPORT',
  Closed: 'MISSIVE_CLOSED',
  RetryLater: 'MISSIVE_RETRY_LATER',
  Unrecoverable: 'MISSIVE_UNRECOVERABLE',
  DuplicateInProgress: 'MISSIVE_DUPLICATE_IN_PROGRESS',
  WebhookVerification: 'MISSIVE_WEBHOOK_VERIFICATION',
  LeaseLapsed: 'MISSIVE_LEASE_LAPSED',
  IdempotencyConflict: 'MISSIVE_IDEMPOTENCY_CONFLICT',
  ResultNotCached: 'MISSIVE_RESULT_NOT_CACHED',
  IdempotencyTableNotFound: 'MISSIVE_IDEMPOTENCY_TABLE_NOT_FOUND',
  IdempotencyStore: 'MISSIVE_IDEMPOTENCY_STORE',
} as const;

/** One of {@link ErrorCode}'s values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Base class of every Missive error: a stable `code`, the underlying error as `cause`, and `name`
 * set to the subclass's name. Never thrown itself; check for it with {@link isMissiveError}.
 *
 * @example
 * ```ts
 * import { isMissiveError } from 'missive';
 *
 * if (isMissiveError(error)) log.error({ code: error.code, cause: error.cause }, error.message);
 * ```
 */
export class MissiveError extends Error {
  /** Stable identifier of the failure; see {@link ErrorCode}. */
  declare readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/**
 * True when `error` is a Missive error, from this copy of Missive or any other.
 *
 * @example
 * ```ts
 * try { await producer.send(order); } catch (error) {
 *   if (isMissiveError(error)) console.error(error.code, error.message);
 * }
 * ```
 */
export function isMissiveError(error: unknown): error is MissiveError {
  return typeof error === 'object' && error !== null && BRAND in error;
}

/** The error class behind each {@link ErrorCode}, which {@link isMissiveErrorCode} narrows to. */
export interface MissiveErrorByCode {
  MISSIVE_CONFIGURATION: ConfigurationError;
  MISSIVE_MESSAGE_TOO_LARGE: MessageTooLargeError;
  MISSIVE_INVALID_MESSAGE: InvalidMessageError;
  MISSIVE_CODEC: CodecError;
  MISSIVE_SEND_FAILED: SendFailedError;
  MISSIVE_RETRY_BUDGET_EXHAUSTED: RetryBudgetExhaustedError;
  /** An `HttpStatusError` too: its `status` says which. */
  MISSIVE_TRANSPORT: TransportError;
  MISSIVE_CLOSED: ClosedError;
  MISSIVE_RETRY_LATER: RetryLaterError;
  MISSIVE_UNRECOVERABLE: UnrecoverableError;
  MISSIVE_DUPLICATE_IN_PROGRESS: DuplicateInProgressError;
  MISSIVE_WEBHOOK_VERIFICATION: WebhookVerificationError;
  MISSIVE_LEASE_LAPSED: LeaseLapsedError;
  MISSIVE_IDEMPOTENCY_CONFLICT: IdempotencyConflictError;
  MISSIVE_RESULT_NOT_CACHED: ResultNotCachedError;
  MISSIVE_IDEMPOTENCY_TABLE_NOT_FOUND: IdempotencyTableNotFoundError;
  MISSIVE_IDEMPOTENCY_STORE: IdempotencyStoreError;
}

/**
 * True when `error` is a Missive error with the given code, narrowed to that code's class (see
 * {@link MissiveErrorByCode}), so its fields can be read without a cast.
 *
 * @example
 * ```ts
 * import { ErrorCode, isMissiveErrorCode } from 'missive';
 *
 * if (isMissiveErrorCode(error, ErrorCode.SendFailed) && !error.retryable) alert(error.message);
 * ```
 */
export function isMissiveErrorCode<C extends ErrorCode>(error: unknown, code: C): error is MissiveErrorByCode[C] {
  return isMissiveError(error) && error.code === code;
}

/**
 * An option was missing, of the wrong type, or out of range. Thrown synchronously by the
 * factory that got it (`createConsumer`, `sqsQueue`, …), never later; the message names the
 * option, the value received and the range allowed.
 *
 * @example
 * ```ts
 * try { createConsumer({ transport: queue, handler, concurrency: 0 }); } catch (error) {
 *   if (isMissiveErrorCode(error, ErrorCode.Configuration)) console.error(error.option); // 'concurrency'
 * }
 * ```
 */
export class ConfigurationError extends MissiveError {
  /** The option's path, for example `retry.maxAttempts`. */
  declare readonly option: string;
  /** The value that was passed. */
  declare readonly received: unknown;

  constructor(option: string, received: unknown, expected: string) {
    super('MISSIVE_CONFIGURATION', `Invalid option ${option}: ${describe(received)}. Expected ${expected}.`);
    this.option = option;
    this.received = received;
  }
}

/**
 * A message is larger than its destination accepts (body plus headers, UTF-8). Never retried.
 * A transport reports it as a `permanent` send outcome, without a request; `producer.send`
 * then rejects with a {@link SendFailedError} whose `cause` it is.
 *
 * @example
 * ```ts
 * try { await producer.send(order); } catch (error) {
 *   if (isMissiveError(error) && isMissiveErrorCode(error.cause, ErrorCode.MessageTooLarge)) await sendByReference(order);
 * }
 * ```
 */
export class MessageTooLargeError extends MissiveError {
  /** The message's size, in bytes. */
  declare readonly sizeBytes: number;
  /** The destination's limit, in bytes. */
  declare readonly limitBytes: number;
  /** The queue name or URL that refused it. */
  declare readonly destination: string;

  constructor(destination: string, sizeBytes: number, limitBytes: number) {
    super(
      'MISSIVE_MESSAGE_TOO_LARGE',
      `Message of ${sizeBytes} bytes exceeds the ${limitBytes}-byte limit of ${destination}. ` +
        'Store the payload elsewhere (for example S3) and send a reference, or split the message.',
    );
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
    this.destination = destination;
  }
}

/** One problem found by a schema, in the shape of Standard Schema's issues. */
export interface ValidationIssue {
  readonly message: string;
  /** Where in the body, as property names and array indexes; absent for the body as a whole. */
  readonly path?: readonly PropertyKey[] | undefined;
}

/**
 * A message body failed its schema. Never retried: the same body fails the same way. Thrown by
 * `producer.send` and `sendBatch` before anything is sent; on the consuming side the message is
 * dead-lettered (`invalid-body`, issues in its failure headers) and a webhook is answered 400.
 *
 * @example
 * ```ts
 * try { await producer.send(order); } catch (error) {
 *   if (isMissiveErrorCode(error, ErrorCode.InvalidMessage)) console.warn(error.issues);
 * }
 * ```
 */
export class InvalidMessageError extends MissiveError {
  /** Every issue the schema reported. */
  declare readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[], context: string) {
    const first = issues[0];
    const where = first?.path?.length ? ` at ${first.path.map(String).join('.')}` : '';
    super(
      'MISSIVE_INVALID_MESSAGE',
      `Message body ${context} failed its schema with ${issues.length} issue(s)` +
        (first ? `; first${where}: ${first.message}` : '') +
        '. Fix the producer or the schema; a retry cannot help.',
    );
    this.issues = issues;
  }
}

/**
 * A body could not be encoded or decoded by the codec; the codec's error is the `cause`. Never
 * retried. Encoding failures are thrown by `producer.send` and `sendBatch` before anything is
 * sent; a body that cannot be decoded is dead-lettered (`invalid-body`), or answered 400 by a
 * webhook receiver.
 *
 * @example
 * ```ts
 * await producer.send({ total: 10n }).catch((error) => {
 *   if (isMissiveErrorCode(error, ErrorCode.Codec)) console.error(error.message); // JSON cannot encode a BigInt
 * });
 * ```
 */
export class CodecError extends MissiveError {
  /** Which way the codec failed. */
  declare readonly direction: 'encode' | 'decode';

  constructor(direction: 'encode' | 'decode', codec: string, cause: unknown) {
    super(
      'MISSIVE_CODEC',
      `The ${codec} codec could not ${direction} the message body: ${messageOf(cause)}. ` +
        (direction === 'encode'
          ? 'Send a value the codec can represent (JSON: no BigInt, no cycles).'
          : 'The producer used another codec or the body was corrupted; it was dead-lettered.'),
      { cause },
    );
    this.direction = direction;
  }
}

/**
 * A send failed for good: permanently, or retryably with every attempt used. `producer.send`
 * rejects with it, and `sendBatch` reports it per failed message; the transport's error (a
 * {@link TransportError}, {@link HttpStatusError} or {@link MessageTooLargeError}) is the `cause`.
 *
 * @example
 * ```ts
 * try { await producer.send(order); } catch (error) {
 *   if (isMissiveErrorCode(error, ErrorCode.SendFailed) && error.retryable) await outbox.save(order);
 * }
 * ```
 */
export class SendFailedError extends MissiveError {
  /** The queue or endpoint sent to. */
  declare readonly destination: string;
  /** Attempts made, the first included. */
  declare readonly attempts: number;
  /** Whether the last failure was of a kind that could succeed if tried later. */
  declare readonly retryable: boolean;

  constructor(destination: string, attempts: number, retryable: boolean, cause: unknown) {
    super('MISSIVE_SEND_FAILED', `Sending to ${destination} failed after ${attempts} attempt(s): ${messageOf(cause)}`, {
      cause,
    });
    this.destination = destination;
    this.attempts = attempts;
    this.retryable = retryable;
  }
}

/**
 * A retry was refused because the shared retry budget is empty: the destination has been
 * failing for a while, and more retries would only add load. Successes refill the budget.
 * `producer.send` rejects with it (`sendBatch` reports it per message) instead of a
 * {@link SendFailedError}; the last transport error is the `cause`.
 *
 * @example
 * ```ts
 * await producer.send(order).catch((error) => {
 *   if (isMissiveErrorCode(error, ErrorCode.RetryBudgetExhausted)) metrics.increment('orders.shed');
 * });
 * ```
 */
export class RetryBudgetExhaustedError extends MissiveError {
  /** The queue or endpoint sent to. */
  declare readonly destination: string;

  constructor(destination: string, cause: unknown) {
    super(
      'MISSIVE_RETRY_BUDGET_EXHAUSTED',
      `Retry budget exhausted while sending to ${destination}; the last error was: ` +
        `${messageOf(cause)}. The destination is failing repeatedly: check it, or raise ` +
        'retryBudget.capacity if the failures are expected.',
      { cause },
    );
    this.destination = destination;
  }
}

/**
 * A transport operation failed. `retryable` tells whether the same call may succeed later
 * (throttling, a 5xx, a network error) or never will (a missing queue, a denied permission).
 * Senders report it in send outcomes (the producer wraps it in {@link SendFailedError}); a
 * failed receive, ack or dead-letter move reaches the consumer's `onError`.
 *
 * @example
 * ```ts
 * onError: (error) => {
 *   if (isMissiveErrorCode(error, ErrorCode.Transport) && !error.retryable) page(error.message);
 * }
 * ```
 */
export class TransportError extends MissiveError {
  /** The queue or endpoint involved. */
  declare readonly destination: string;
  /** Whether the same call may succeed if made again later. */
  declare readonly retryable: boolean;

  constructor(destination: string, message: string, retryable: boolean, cause?: unknown) {
    super('MISSIVE_TRANSPORT', message, { cause });
    this.destination = destination;
    this.retryable = retryable;
  }
}

/**
 * A webhook endpoint answered with a status that is not a success. `retryable` for 408, 425, 429
 * and 5xx; the message carries the status and a bounded excerpt of the response body. It is the
 * `cause` of the producer's {@link SendFailedError}.
 *
 * @example
 * ```ts
 * const cause = error.cause;
 * if (isMissiveErrorCode(cause, ErrorCode.Transport) && 'status' in cause && cause.status === 410) await unsubscribe(target);
 * ```
 */
export class HttpStatusError extends TransportError {
  /** The HTTP status the endpoint answered. */
  declare readonly status: number;
  /** The first characters of the response body (at most 256). */
  declare readonly bodyExcerpt: string;
  /** The delay the endpoint asked for with `Retry-After`, capped, in milliseconds. */
  declare readonly retryAfterMs: number | undefined;

  constructor(destination: string, status: number, bodyExcerpt: string, retryable: boolean, retryAfterMs?: number) {
    const advice =
      status === 410
        ? ' The endpoint is gone: no more deliveries are made to it. Remove or replace the subscription.'
        : retryable
          ? ` It is retried${retryAfterMs === undefined ? '' : ` after ${Math.ceil(retryAfterMs / 1000)} s, as Retry-After asks`}.`
          : ' The endpoint rejected the message; retrying cannot help.';
    super(
      destination,
      `POST ${destination} answered ${status}${bodyExcerpt ? `: ${JSON.stringify(bodyExcerpt)}` : ''}.${advice}`,
      retryable,
    );
    this.status = status;
    this.bodyExcerpt = bodyExcerpt;
    this.retryAfterMs = retryAfterMs;
  }
}

/**
 * An operation was called on something closed: thrown by `producer.send` and `sendBatch` after
 * `producer.close()`.
 *
 * @example
 * ```ts
 * await producer.close();
 * await producer.send(order); // rejects: ClosedError, code MISSIVE_CLOSED
 * ```
 */
export class ClosedError extends MissiveError {
  constructor(what: string) {
    super('MISSIVE_CLOSED', `${what} is closed. Create a new one to send or receive again.`);
  }
}

/**
 * Throw from a handler to ask for another attempt after `delayMs`, instead of the backoff
 * the consumer would compute. Attempts are still counted against `retry.maxAttempts`. Its
 * constructor throws a {@link ConfigurationError} for a `delayMs` below 0 or not finite.
 *
 * @example
 * ```ts
 * if (rateLimited) throw new RetryLaterError('payment API rate limited', { delayMs: 30_000 });
 * ```
 */
export class RetryLaterError extends MissiveError {
  /** Delay before the next attempt, in milliseconds. */
  declare readonly delayMs: number;

  constructor(message: string, options: { delayMs: number; cause?: unknown }) {
    super('MISSIVE_RETRY_LATER', message, { cause: options.cause });
    if (!Number.isFinite(options.delayMs) || options.delayMs < 0) {
      throw new ConfigurationError('RetryLaterError delayMs', options.delayMs, 'a number of milliseconds, 0 or more');
    }
    this.delayMs = options.delayMs;
  }
}

/**
 * Throw from a handler when retrying cannot help (a poison message, a business rule that
 * rejects it). The message is dead-lettered at once with this error in its failure metadata.
 *
 * @example
 * ```ts
 * if (!order.customerId) throw new UnrecoverableError('order has no customer');
 * ```
 */
export class UnrecoverableError extends MissiveError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MISSIVE_UNRECOVERABLE', message, options);
  }
}

/**
 * A delivery found its idempotency key being processed by another delivery; it is retried later.
 * Seen in a retry outcome (the span's `error.type`, a webhook's 503 `in-progress`), never thrown
 * at callers.
 *
 * @example
 * ```ts
 * const error = new DuplicateInProgressError('charge:o-1');
 * error.code; // 'MISSIVE_DUPLICATE_IN_PROGRESS'
 * ```
 */
export class DuplicateInProgressError extends MissiveError {
  /** The idempotency key held elsewhere. */
  declare readonly key: string;

  constructor(key: string) {
    super(
      'MISSIVE_DUPLICATE_IN_PROGRESS',
      `Idempotency key ${key} is being processed by another delivery; this one is retried later.`,
    );
    this.key = key;
  }
}

/**
 * A handler finished after its idempotency lease had lapsed, so another delivery may have run the
 * same key at the same time. Reported through the consumer's `onError`; the message is still acked.
 *
 * @example
 * ```ts
 * onError: (error) => {
 *   if (isMissiveErrorCode(error, ErrorCode.LeaseLapsed)) log.warn(error.key, error.message);
 * }
 * ```
 */
export class LeaseLapsedError extends MissiveError {
  /** The idempotency key whose lease lapsed. */
  declare readonly key: string;
  /** The lease duration in force, in milliseconds. */
  declare readonly leaseMs: number;

  constructor(key: string, leaseMs: number) {
    super(
      'MISSIVE_LEASE_LAPSED',
      `Idempotency lease on ${key} lapsed before its handler finished (leaseMs ${leaseMs}); another delivery may have run it too. ` +
        "Raise idempotency.leaseMs above the handler's longest run.",
    );
    this.key = key;
    this.leaseMs = leaseMs;
  }
}

/**
 * A message's idempotency key is held or completed with another payload: the key was reused for
 * different work, which is a bug in how keys are chosen, not a duplicate. The message is
 * dead-lettered (a webhook is answered 422) without running the handler: acking it would lose
 * it, retrying cannot help.
 *
 * @example
 * ```ts
 * const failure = readFailureHeaders(deadLetter.headers);
 * if (failure?.reason === FailureReason.IdempotencyConflict) console.warn('key reused:', failure.errorMessage);
 * ```
 */
export class IdempotencyConflictError extends MissiveError {
  /** The idempotency key that was reused. */
  declare readonly key: string;
  /** The fingerprint of the payload stored with the key. */
  declare readonly storedFingerprint: string;
  /** The fingerprint of this message's payload. */
  declare readonly fingerprint: string;

  constructor(key: string, storedFingerprint: string, fingerprint: string) {
    super(
      'MISSIVE_IDEMPOTENCY_CONFLICT',
      // The fingerprints stay out of the message (a custom one may hold payload fields): see the properties.
      `Idempotency key ${key} was already used for a different payload (another fingerprint); ` +
        'the message was dead-lettered without running the handler. ' +
        'Use a key unique per payload (derive it from what makes the work unique).',
    );
    this.key = key;
    this.storedFingerprint = storedFingerprint;
    this.fingerprint = fingerprint;
  }
}

/**
 * A handler's result was not stored with its idempotency key, because it is larger than
 * `idempotency.maxResultBytes` once JSON-encoded, or cannot be JSON-encoded at all. The key is
 * still marked done, so duplicates are acked without running the handler, but they get no
 * result. Reported through the consumer's `onError`, once per consumer (once per invocation in Lambda).
 *
 * @example
 * ```ts
 * onError: (error) => {
 *   if (isMissiveErrorCode(error, ErrorCode.ResultNotCached)) log.warn(error.message);
 * }
 * ```
 */
export class ResultNotCachedError extends MissiveError {
  /** The idempotency key completed without its result. */
  declare readonly key: string;
  /** The encoded size, in bytes; undefined when the result could not be encoded. */
  declare readonly sizeBytes: number | undefined;
  /** `idempotency.maxResultBytes`, in bytes. */
  declare readonly limitBytes: number;

  constructor(key: string, limitBytes: number, sizeBytes: number | undefined, cause?: unknown) {
    const why =
      sizeBytes === undefined
        ? `could not be JSON-encoded (${messageOf(cause)})`
        : `is ${sizeBytes} bytes as JSON, over idempotency.maxResultBytes (${limitBytes})`;
    super(
      'MISSIVE_RESULT_NOT_CACHED',
      `The result of idempotency key ${key} ${why}, so it was not stored; the key is still marked done and ` +
        'duplicates get no result. Return something smaller and JSON-friendly (an id rather than a document), ' +
        'or raise maxResultBytes. Later results of this consumer that are not cached are not reported.',
      { cause },
    );
    this.key = key;
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/**
 * The DynamoDB table of an idempotency store does not exist where the client looked for it
 * (DynamoDB `ResourceNotFoundException`). Every delivery fails and is retried until the table
 * is there: create it, or point the client at the right region and endpoint.
 *
 * @example
 * ```ts
 * if (isMissiveErrorCode(error, ErrorCode.IdempotencyTableNotFound)) {
 *   const { tableName, region } = error;
 *   console.error(`create ${tableName} in ${region}`);
 * }
 * ```
 */
export class IdempotencyTableNotFoundError extends MissiveError {
  /** The table name (or ARN) the store was given. */
  declare readonly tableName: string;
  /** The client's region, when it could be resolved. */
  declare readonly region: string | undefined;

  constructor(tableName: string, region: string | undefined, cause: unknown) {
    const where = region === undefined ? '' : ` in region ${region}`;
    super(
      'MISSIVE_IDEMPOTENCY_TABLE_NOT_FOUND',
      `DynamoDB table ${tableName} does not exist${where} (DynamoDB ResourceNotFoundException), so idempotency ` +
        `keys cannot be recorded and every delivery is retried. Create it (idempotencyTableDefinition('${tableName}') ` +
        "from missive/dynamodb gives its shape), or check the client's region and endpoint.",
      { cause },
    );
    this.tableName = tableName;
    this.region = region;
  }
}

/** A call of the {@link IdempotencyStore} contract. */
export type IdempotencyStoreOperation = 'begin' | 'complete' | 'release' | 'renew';

/**
 * The idempotency store failed a call (unreachable, throttled, access denied): the store's own
 * error is the `cause`. Nothing was recorded as done; a failed `begin` or `complete` fails the
 * attempt, so the message is retried with backoff. Reported through the consumer's `onError`
 * (a webhook receiver answers 500).
 *
 * @example
 * ```ts
 * onError: (error) => {
 *   if (isMissiveErrorCode(error, ErrorCode.IdempotencyStore)) alarm(error.operation, error.cause);
 * }
 * ```
 */
export class IdempotencyStoreError extends MissiveError {
  /** The idempotency key of the failed call. */
  declare readonly key: string;
  /** The store call that failed. */
  declare readonly operation: IdempotencyStoreOperation;

  constructor(operation: IdempotencyStoreOperation, key: string, cause: unknown) {
    super(
      'MISSIVE_IDEMPOTENCY_STORE',
      `The idempotency store failed to ${operation} key ${key}: ${messageOf(cause)}. ` +
        (operation === 'begin' || operation === 'complete'
          ? 'The message is retried and nothing was recorded as done. '
          : 'The lease lapses by itself. ') +
        "Check the store's connection, credentials and capacity.",
      { cause },
    );
    this.key = key;
    this.operation = operation;
  }
}

/** Why a webhook failed verification. */
export type WebhookVerificationReason =
  | 'missing-headers'
  | 'invalid-timestamp'
  | 'timestamp-out-of-tolerance'
  | 'invalid-signature';

/**
 * A received webhook failed verification: headers missing, a malformed timestamp or one outside
 * the tolerance, or a signature that matches no active secret. Thrown by `verifyWebhook`; the
 * receiver answers 401 with `reason` as the body's `error`. Its message never contains a secret
 * or a signature. A replayed id is not a verification failure: the receiver answers it 200 as a
 * duplicate.
 *
 * @example
 * ```ts
 * try { verifyWebhook({ headers: request.headers, body, secret }); } catch (error) {
 *   if (isMissiveErrorCode(error, ErrorCode.WebhookVerification)) return new Response(null, { status: 401 });
 * }
 * ```
 */
export class WebhookVerificationError extends MissiveError {
  /** Which check failed. */
  declare readonly reason: WebhookVerificationReason;

  constructor(reason: WebhookVerificationReason, message: string) {
    super('MISSIVE_WEBHOOK_VERIFICATION', message);
    this.reason = reason;
  }
}

/**
 * @internal Calls a user's error callback. Neither its throw nor the rejection of a promise it
 * returns (an async callback) may escape: an unhandled rejection would end the process.
 */
export function callErrorCallback(call: () => unknown): void {
  try {
    const result = call();
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function')
      Promise.resolve(result).catch(() => undefined);
  } catch {
    // Reporting failed; there is nowhere left to report it.
  }
}

/** @internal Any thrown value as an Error. */
export function toError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

/** @internal The message of any thrown value, for composing error text. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A received option value as a configuration error shows it: strings quoted, objects and functions by kind only. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}
