import { RetryLaterError, toError, UnrecoverableError } from '../errors.ts';
import type { Backoff } from './backoff.ts';
import type { Outcome, Step } from './pipeline.ts';

/**
 * Turns what the handler did into an outcome: returned → ack; threw {@link UnrecoverableError}
 * → dead-letter; threw {@link RetryLaterError} → retry after its delay; threw anything else →
 * retry after the backoff for this attempt. With `maxAttempts` used, a failure dead-letters.
 */
export function retryStep(maxAttempts: () => number, backoff: Backoff, random: () => number = Math.random): Step {
  return (next) => async (context) => {
    try {
      return await next(context);
    } catch (thrown) {
      const error = toError(thrown);
      return classify(error, context.delivery.attempt, maxAttempts(), backoff, random);
    }
  };
}

/** The outcome of a failed attempt: dead-letter, or retry after the backoff (or the delay asked for). */
export function classify(
  error: Error,
  attempt: number,
  maxAttempts: number,
  backoff: Backoff,
  random: () => number,
): Outcome {
  if (error instanceof UnrecoverableError) return { status: 'dead-letter', reason: 'unrecoverable', error };
  if (attempt >= maxAttempts) return { status: 'dead-letter', reason: 'attempts-exhausted', error };
  const delayMs = error instanceof RetryLaterError ? error.delayMs : backoff.delayMs(attempt, undefined, random);
  return { status: 'retry', delayMs, error };
}
