import { type Clock, sleep } from '../../clock.ts';
import {
  ConfigurationError,
  DuplicateInProgressError,
  IdempotencyConflictError,
  IdempotencyStoreError,
  type IdempotencyStoreOperation,
  isMissiveError,
  LeaseLapsedError,
} from '../../errors.ts';
import type { Message } from '../../message.ts';
import { functionOption, integerOption, requiredOption } from '../../options.ts';
import type { Outcome, ProcessContext, Step } from '../pipeline.ts';
import { bodyFingerprint, decodeResult, encodeResult } from './result.ts';
import type { BeginResult, IdempotencyStore } from './store.ts';

/**
 * Options of the consumer's idempotency step (`createConsumer({ idempotency })`).
 *
 * @example
 * ```ts
 * createConsumer<Charge>({
 *   transport: queue,
 *   idempotency: { store, key: (m) => `charge:${m.body.orderId}`, waitForInProgress: { timeoutMs: 5_000 } },
 *   handler: async (message) => ({ receipt: await charge(message.body) }),
 * });
 * ```
 */
export interface IdempotencyOptions {
  /** Where keys are recorded. Several workers must share one durable store (DynamoDB, Redis). */
  readonly store: IdempotencyStore;
  /**
   * Picks the key. Default the message's `idempotencyKey`. A message whose key is not a non-empty
   * string is dead-lettered (`unrecoverable`, a `ConfigurationError`).
   */
  readonly key?: (message: Message<unknown>) => string;
  /**
   * How long one attempt holds a key, in milliseconds; renewed while the handler runs (not in
   * Lambda). Default the consumer's `visibilityTimeoutMs` (so a crashed worker's key is free when
   * its message comes back), 60 000 for the webhook receiver, the invocation's remaining time in
   * Lambda. At least 1.
   */
  readonly leaseMs?: number;
  /**
   * Identifies the payload, so that a key reused for another payload is dead-lettered as an
   * `IdempotencyConflictError` rather than acked as a duplicate. Default a SHA-256 (base64url) of
   * the body as it travelled, encoded; a function of the decoded message instead; `false` to
   * store no fingerprint and never conflict.
   */
  readonly fingerprint?: false | ((message: Message<unknown>) => string);
  /**
   * Largest handler result stored with the key, in bytes of its JSON encoding. Default 65 536
   * (64 KiB); 0 or more. A larger result, or one JSON cannot encode, is not stored (a
   * `ResultNotCachedError` is reported once); the key is still marked done and duplicates are
   * acked without a result.
   */
  readonly maxResultBytes?: number;
  /**
   * Wait for a duplicate that is being processed elsewhere to finish, up to `timeoutMs`
   * milliseconds (at least 1), then ack with its result (or process, if it gave up) instead of
   * retrying later. Default off. The wait holds a concurrency slot; keep it short.
   */
  readonly waitForInProgress?: { readonly timeoutMs: number };
}

/** The idempotency options checked and filled with defaults. */
export interface ResolvedIdempotency {
  readonly store: IdempotencyStore;
  readonly keyOf: (message: Message<unknown>) => string;
  readonly leaseMs: number;
  readonly fingerprintOf: ((context: ProcessContext) => string) | undefined;
  readonly maxResultBytes: number;
  /** 0 when off. */
  readonly waitTimeoutMs: number;
}

/** What the idempotency step needs from its consumer. */
export interface IdempotencyEnvironment {
  readonly clock: Clock;
  /** Longest wait before looking again at a key in progress elsewhere, for `attempt`, in milliseconds. */
  readonly pollDelayMs: (attempt: number) => number;
  /** Told of lapsed leases, failed releases and results not cached. */
  readonly report: (error: Error) => void;
}

/** Checks `options` (named `idempotency.*` in errors) and fills in the defaults. */
export function resolveIdempotency(options: IdempotencyOptions, defaultLeaseMs = 60_000): ResolvedIdempotency {
  const store = requiredOption(
    'idempotency.store',
    options.store,
    'an IdempotencyStore, for example memoryIdempotencyStore()',
  );
  const fingerprint = options.fingerprint;
  let fingerprintOf: ResolvedIdempotency['fingerprintOf'];
  if (fingerprint === undefined) fingerprintOf = (context) => bodyFingerprint(context.delivery.envelope.body);
  else if (fingerprint !== false) {
    const of = functionOption('idempotency.fingerprint', fingerprint, fingerprint);
    fingerprintOf = (context) => of(context.message as Message<unknown>);
  }
  const wait = options.waitForInProgress;
  return {
    store,
    keyOf: functionOption('idempotency.key', options.key, (message) => message.idempotencyKey),
    leaseMs: integerOption('idempotency.leaseMs', options.leaseMs, defaultLeaseMs, 1),
    fingerprintOf,
    maxResultBytes: integerOption('idempotency.maxResultBytes', options.maxResultBytes, 65_536, 0),
    waitTimeoutMs: wait ? integerOption('idempotency.waitForInProgress.timeoutMs', wait.timeoutMs, 0, 1) : 0,
  };
}

/** First and longest pause between two looks at a key in progress elsewhere, in milliseconds. */
const FIRST_WAIT_MS = 20;
const LONGEST_WAIT_MS = 1_000;

/**
 * Runs the rest of the pipeline at most once per key: a key already completed is acked as a
 * duplicate (with its decoded result) without running the handler; a key held or completed with
 * another payload's fingerprint is dead-lettered; a key in progress elsewhere is waited for (with
 * `waitForInProgress`) or retried when that lease would lapse or after the backoff, whichever is
 * sooner; otherwise the key is claimed (its lease renewed by the consumer while the handler
 * runs), then completed with the encoded result on ack, or released on failure.
 *
 * A `complete` that fails (the store is down) fails the step: the message is retried rather than
 * acked, so the key is never recorded as done when it is not. A `release` that fails is only
 * reported: the lease lapses by itself.
 */
export function idempotencyStep(
  resolved: ResolvedIdempotency,
  { clock, pollDelayMs, report }: IdempotencyEnvironment,
): Step {
  const { keyOf, leaseMs, fingerprintOf, maxResultBytes, waitTimeoutMs } = resolved;
  const store = explainedFailures(resolved.store);
  let resultReported = false;
  const notCached = (error: Error) => {
    if (resultReported) return;
    resultReported = true;
    report(error);
  };

  /** Looks again, with growing pauses, until the key is no longer in progress or `waitTimeoutMs` passed. */
  const waitFor = async (key: string, options: { leaseMs: number; fingerprint?: string }, signal: AbortSignal) => {
    const deadline = clock.now() + waitTimeoutMs;
    let pauseMs = FIRST_WAIT_MS;
    let begun: BeginResult;
    do {
      const leftMs = deadline - clock.now();
      if (leftMs <= 0) return undefined;
      const aborted = await sleep(clock, Math.min(pauseMs, leftMs), signal).then(
        () => false,
        () => true,
      );
      if (aborted) return undefined;
      pauseMs = Math.min(pauseMs * 2, LONGEST_WAIT_MS);
      begun = await store.begin(key, options);
    } while (begun.status === 'in-progress');
    return begun;
  };

  return (next) => async (context) => {
    const key = keyOf(context.message as Message<unknown>);
    // A missing key would be stored as "undefined" (or "" ): every such message would share it,
    // and all but the first be acked as duplicates or dead-lettered as conflicts.
    if (typeof key !== 'string' || key === '') {
      return {
        status: 'dead-letter',
        reason: 'unrecoverable',
        error: new ConfigurationError(
          'idempotency.key',
          key,
          `a non-empty string for every message; message ${context.delivery.envelope.id} has none. Fix the key function, or give the message an idempotencyKey`,
        ),
      };
    }
    const fingerprint = fingerprintOf?.(context);
    const options = fingerprint === undefined ? { leaseMs } : { leaseMs, fingerprint };
    let begun = await store.begin(key, options);
    if (begun.status === 'in-progress' && waitTimeoutMs > 0)
      begun = (await waitFor(key, options, context.signal)) ?? begun;
    switch (begun.status) {
      case 'completed':
        return { status: 'ack', result: decodeResult(key, begun.result, report), duplicate: true };
      case 'conflict':
        return {
          status: 'dead-letter',
          reason: 'idempotency-conflict',
          error: new IdempotencyConflictError(key, begun.fingerprint, fingerprint ?? ''),
        };
      case 'in-progress': {
        const delayMs = Math.max(1, Math.min(begun.expiresAt - clock.now(), pollDelayMs(context.delivery.attempt)));
        return { status: 'retry', delayMs, error: new DuplicateInProgressError(key) };
      }
    }
    const { token } = begun.lease;
    context.lease = { expiresAt: begun.lease.expiresAt, leaseMs, renew: () => store.renew(key, token, leaseMs) };
    let outcome: Outcome;
    try {
      outcome = await next(context);
    } finally {
      context.lease = undefined;
    }
    if (outcome.status !== 'ack') {
      await store.release(key, token).catch(report);
      return outcome;
    }
    const result = encodeResult(key, outcome.result, maxResultBytes, notCached);
    let completed: boolean;
    try {
      completed = await store.complete(key, token, result);
    } catch (error) {
      // Not recorded as done: give the key up (quietly, the store is likely down) so the
      // redelivery need not wait for the lease to lapse, and fail the step.
      await store.release(key, token).catch(() => undefined);
      throw error;
    }
    if (!completed) report(new LeaseLapsedError(key, leaseMs));
    return outcome;
  };
}

/**
 * `store` with its failures wrapped in {@link IdempotencyStoreError}, which names the call and the
 * key (a client's own "Connection is closed." names neither). Missive's own errors pass as they are.
 */
function explainedFailures(store: IdempotencyStore): IdempotencyStore {
  const explain = (operation: IdempotencyStoreOperation, key: string) => (error: unknown) => {
    throw isMissiveError(error) ? error : new IdempotencyStoreError(operation, key, error);
  };
  return {
    begin: (key, options) => store.begin(key, options).catch(explain('begin', key)),
    complete: (key, token, result) => store.complete(key, token, result).catch(explain('complete', key)),
    release: (key, token) => store.release(key, token).catch(explain('release', key)),
    renew: (key, token, ms) => store.renew(key, token, ms).catch(explain('renew', key)),
  };
}
