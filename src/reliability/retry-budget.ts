/**
 * A retry budget: a token bucket shared by the senders that draw on it, in the spirit of the AWS
 * SDK's retry quota. Every retry costs tokens and every success returns a few, so while a
 * destination is healthy retries are free, and during an outage they stop once the bucket is
 * empty instead of multiplying the load (a retry storm).
 *
 * @module
 */
import { integerOption } from '../options.ts';

/** Options of {@link createRetryBudget}. Counts are in tokens. */
export interface RetryBudgetOptions {
  /** Tokens the bucket holds when full, and at the start. Default 500; at least 1. */
  readonly capacity?: number;
  /**
   * Tokens one retry costs: one retried call, however many of a batch's messages it resends.
   * Default 5 (a full bucket allows 100 retries in a row); 1 to `capacity`.
   */
  readonly retryCost?: number;
  /** Tokens one successful send returns, up to capacity. Default 1; 0 to `capacity`. */
  readonly successRefill?: number;
}

/** A shared token bucket that retries draw from. */
export interface RetryBudget {
  /** Tokens left. */
  readonly available: number;
  /** Takes the cost of one retry; false (and nothing taken) when too few tokens are left. */
  tryAcquire(): boolean;
  /** Returns tokens for a success. */
  recordSuccess(): void;
}

/**
 * Creates a retry budget. Share one between producers that send to the same destination.
 *
 * @example
 * ```ts
 * const retryBudget = createRetryBudget({ capacity: 100, retryCost: 5 });
 * const producer = createProducer({ transport: queue, retryBudget });
 * ```
 */
export function createRetryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const capacity = integerOption('retryBudget.capacity', options.capacity, 500, 1);
  const retryCost = integerOption('retryBudget.retryCost', options.retryCost, 5, 1, capacity);
  const successRefill = integerOption('retryBudget.successRefill', options.successRefill, 1, 0, capacity);
  let available = capacity;
  return {
    get available() {
      return available;
    },
    tryAcquire() {
      if (available < retryCost) return false;
      available -= retryCost;
      return true;
    },
    recordSuccess() {
      available = Math.min(capacity, available + successRefill);
    },
  };
}
