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

/**
 * Runs the rest of the pipeline at most once per key: a key already completed is acked as a
 * duplicate without running the handler; a key in progress elsewhere is retried once that lease
 * would have lapsed; otherwise the key is claimed, then completed on ack or released on failure.
 */
export function idempotencyStep(
  store: IdempotencyStore,
  keyOf: (message: Message<unknown>) => string,
  leaseMs: number,
  now: () => number,
): Step {
  return (next) => async (context) => {
    const key = keyOf(context.message as Message<unknown>);
    const begun = await store.begin(key, { leaseMs });
    if (begun.status === 'completed') return { status: 'ack', result: begun.result, duplicate: true };
    if (begun.status === 'in-progress') {
      const delayMs = Math.max(1, begun.expiresAt - now());
      return {
        status: 'retry',
        delayMs,
        error: new Error(`Idempotency key ${key} is being processed by another delivery`),
      };
    }
    const { token } = begun.lease;
    const outcome = await next(context);
    if (outcome.status === 'ack') await store.complete(key, token, outcome.result);
    else await store.release(key, token);
    return outcome;
  };
}
