/**
 * The idempotency store contract. A store remembers, per idempotency key, whether a message is
 * being processed (under a lease) or was processed (with its result), so that a duplicate is
 * recognised across redeliveries, workers and, with a durable store, processes.
 *
 * Guarantees a store keeps:
 * - `begin` is atomic: of any number of concurrent `begin` calls for one key, exactly one gets
 *   `new` (and a lease); the others get `in-progress`, `completed` or `conflict`.
 * - A lease expires: once `expiresAt` passes without `complete`, the next `begin` gets `new`, so
 *   a crashed worker never blocks a key forever.
 * - `complete`, `release` and `renew` act only while the caller's lease is the current one:
 *   a worker whose lease expired and passed to another can neither complete, release nor renew.
 * - A completed key stays completed for the store's time to live, then is forgotten.
 * - A fingerprint given to `begin` is stored with the key. A later `begin` with a different
 *   fingerprint, while the key is held or completed, gets `conflict`: the key was reused for
 *   another payload, which is a caller's bug and not a duplicate. Calls without a fingerprint,
 *   or keys stored without one, never conflict.
 * - Results are opaque strings (the idempotency step encodes them and enforces the size limit);
 *   a key completed without a result returns `completed` with no `result`.
 * - Time is the store's clock (an injectable `Clock`), compared with the expiry times the
 *   store wrote; so tests drive leases with a manual clock even against a real database.
 *
 * Implementations: `memoryIdempotencyStore` (one process), `dynamoDbIdempotencyStore`
 * (conditional writes) and `redisIdempotencyStore` (`SET NX PX` and compare-and-set scripts).
 * Every one of them passes the store conformance suite in `test/stores/suite.ts`.
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

/** Options of {@link IdempotencyStore.begin}. */
export interface BeginOptions {
  /** How long the lease lasts, in milliseconds. */
  readonly leaseMs: number;
  /** Identifies the payload (a hash of the body, say); stored with the key. Default none: never conflicts. */
  readonly fingerprint?: string;
}

/** What {@link IdempotencyStore.begin} found. A tagged union on `status`. */
export type BeginResult =
  | { readonly status: 'new'; readonly lease: Lease }
  | { readonly status: 'in-progress'; readonly expiresAt: number }
  | { readonly status: 'completed'; readonly result?: string }
  | { readonly status: 'conflict'; readonly fingerprint: string };

/**
 * A place to record which keys are being or were processed; the guarantees every implementation
 * keeps are listed at the top of this module. Pass your own to `idempotency.store`.
 */
export interface IdempotencyStore {
  /** Claims `key` for `leaseMs` milliseconds if nobody holds or completed it. */
  begin(key: string, options: BeginOptions): Promise<BeginResult>;
  /**
   * Marks `key` completed, with the encoded `result` when there is one to cache. False when
   * `token`'s lease is no longer current; rejects when the store cannot be reached, and then the
   * key is not completed.
   */
  complete(key: string, token: string, result?: string): Promise<boolean>;
  /** Gives up `key` so the next delivery can process it. False when the lease is not current. */
  release(key: string, token: string): Promise<boolean>;
  /** Extends the lease to `leaseMs` from now. False when the lease is not current. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
}
