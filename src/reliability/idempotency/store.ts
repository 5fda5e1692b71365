/**
 * The idempotency store contract. A store remembers, per idempotency key, whether a message is
 * being processed (under a lease) or was processed (with its result), so that a duplicate is
 * recognised across redeliveries, workers and, with a durable store, processes.
 *
 * Guarantees a store keeps:
 * - `begin` is atomic: of any number of concurrent `begin` calls for one key, exactly one gets
 *   `new` (and a lease); the others get `in-progress` or `completed`.
 * - A lease expires: once `expiresAt` passes without `complete`, the next `begin` gets `new`, so
 *   a crashed worker never blocks a key forever.
 * - `complete`, `release` and `renew` act only while the caller's lease is the current one:
 *   a worker whose lease expired and passed to another can neither complete, release nor renew.
 * - A completed key stays completed for the store's time to live, then is forgotten.
 *
 * Durable stores (DynamoDB with conditional writes, Redis with `SET NX PX` and compare-and-set
 * scripts) implement the same four calls.
 *
 * @module
 */

/** Proof that the holder may process a key, until `expiresAt`. */
export interface Lease {
  /** Identifies this lease holder; compare-and-set calls pass it back. */
  readonly token: string;
  /** When the lease lapses, in milliseconds since the epoch. */
  readonly expiresAt: number;
}

/** What {@link IdempotencyStore.begin} found. A tagged union on `status`. */
export type BeginResult =
  | { readonly status: 'new'; readonly lease: Lease }
  | { readonly status: 'in-progress'; readonly expiresAt: number }
  | { readonly status: 'completed'; readonly result: unknown };

/** A place to record which keys are being or were processed. */
export interface IdempotencyStore {
  /** Claims `key` for `leaseMs` milliseconds if nobody holds or completed it. */
  begin(key: string, options: { readonly leaseMs: number }): Promise<BeginResult>;
  /** Marks `key` completed with `result`. False when `token`'s lease is no longer current. */
  complete(key: string, token: string, result: unknown): Promise<boolean>;
  /** Gives up `key` so the next delivery can process it. False when the lease is not current. */
  release(key: string, token: string): Promise<boolean>;
  /** Extends the lease to `leaseMs` from now. False when the lease is not current. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
}
