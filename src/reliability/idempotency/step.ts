import { DuplicateInProgressError, LeaseLapsedError } from '../../errors.ts';
import type { Message } from '../../message.ts';
import type { Outcome, Step } from '../pipeline.ts';
import type { IdempotencyStore } from './store.ts';

/** Options of the consumer's idempotency step. */
export interface IdempotencyOptions {
  /** Where keys are recorded. */
  readonly store: IdempotencyStore;
  /** Picks the key. Default the message's `idempotencyKey`. */
  readonly key?: (message: Message<unknown>) => string;
  /** How long one attempt holds a key, in milliseconds. Default 60 000. Make it longer than the handler runs. */
  readonly leaseMs?: number;
}

/** What the idempotency step needs from its consumer. */
export interface IdempotencyStepOptions {
  readonly store: IdempotencyStore;
  readonly keyOf: (message: Message<unknown>) => string;
  readonly leaseMs: number;
  readonly now: () => number;
  /** Longest wait before looking again at a key in progress elsewhere, for `attempt`, in milliseconds. */
  readonly pollDelayMs: (attempt: number) => number;
  /** Told when a handler finished after its lease had passed to another delivery. */
  readonly report: (error: Error) => void;
}

/**
 * Runs the rest of the pipeline at most once per key: a key already completed is acked as a
 * duplicate without running the handler; a key in progress elsewhere is retried when that lease
 * would lapse or after the backoff, whichever is sooner; otherwise the key is claimed (its lease
 * renewed by the consumer while the handler runs), then completed on ack or released on failure.
 *
 * A `complete` that fails (the store is down) fails the step: the message is retried rather than
 * acked, so the key is never recorded as done when it is not. A `release` that fails is only
 * reported: the lease lapses by itself.
 */
export function idempotencyStep({ store, keyOf, leaseMs, now, pollDelayMs, report }: IdempotencyStepOptions): Step {
  return (next) => async (context) => {
    const key = keyOf(context.message as Message<unknown>);
    const begun = await store.begin(key, { leaseMs });
    if (begun.status === 'completed') return { status: 'ack', result: begun.result, duplicate: true };
    if (begun.status === 'in-progress') {
      const delayMs = Math.max(1, Math.min(begun.expiresAt - now(), pollDelayMs(context.delivery.attempt)));
      return { status: 'retry', delayMs, error: new DuplicateInProgressError(key) };
    }
    const { token } = begun.lease;
    const lease = { expiresAt: begun.lease.expiresAt, leaseMs, renew: () => store.renew(key, token, leaseMs) };
    context.lease = lease;
    let outcome: Outcome;
    try {
      outcome = await next(context);
    } finally {
      context.lease = undefined;
    }
    if (outcome.status !== 'ack') {
      await store.release(key, token).catch(report);
    } else if (!(await store.complete(key, token, outcome.result))) {
      report(new LeaseLapsedError(key, leaseMs));
    }
    return outcome;
  };
}
