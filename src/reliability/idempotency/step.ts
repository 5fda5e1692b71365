import type { Message } from '../../message.ts';
import type { Step } from '../pipeline.ts';
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
 * would lapse or after the backoff, whichever is sooner; otherwise the key is claimed, then
 * completed on ack or released on failure.
 */
export function idempotencyStep({ store, keyOf, leaseMs, now, pollDelayMs, report }: IdempotencyStepOptions): Step {
  return (next) => async (context) => {
    const key = keyOf(context.message as Message<unknown>);
    const begun = await store.begin(key, { leaseMs });
    if (begun.status === 'completed') return { status: 'ack', result: begun.result, duplicate: true };
    if (begun.status === 'in-progress') {
      const delayMs = Math.max(1, Math.min(begun.expiresAt - now(), pollDelayMs(context.delivery.attempt)));
      return {
        status: 'retry',
        delayMs,
        error: new Error(`Idempotency key ${key} is being processed by another delivery`),
      };
    }
    const { token } = begun.lease;
    const outcome = await next(context);
    if (outcome.status !== 'ack') await store.release(key, token);
    else if (!(await store.complete(key, token, outcome.result))) {
      report(
        new Error(
          `Idempotency lease on ${key} lapsed before its handler finished (leaseMs ${leaseMs}); another delivery may have run it too. Raise idempotency.leaseMs above the handler's longest run.`,
        ),
      );
    }
    return outcome;
  };
}
