import { type Clock, systemClock } from '../../clock.ts';
import { integerOption } from '../../options.ts';
import type { BeginResult, IdempotencyStore } from './store.ts';

/** Options of {@link memoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** How long a completed key is remembered, in milliseconds. Default 3 600 000 (1 hour); at least 1. */
  readonly ttlMs?: number;
  /**
   * Most keys kept; beyond it the oldest completed keys are forgotten first (a held lease never is).
   * Default 1 000 000; at least 1.
   */
  readonly maxKeys?: number;
  /** Clock for leases and expiry. Default the system clock. */
  readonly clock?: Clock;
}

interface Entry {
  readonly completed: boolean;
  readonly token: string;
  /** Lease end while in progress, forget time once completed; in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly fingerprint: string | undefined;
  readonly result: string | undefined;
}

/**
 * An idempotency store in process memory. It suppresses duplicates within one process (the
 * demo, tests, a single long-running worker); several workers need a shared, durable store
 * (`missive/dynamodb`, `missive/redis`). It keeps every rule of the store contract, fingerprints
 * and conflicts included, and passes the same conformance suite as the durable stores.
 *
 * @example
 * ```ts
 * import { createConsumer, memoryIdempotencyStore } from 'missive';
 *
 * const consumer = createConsumer({ transport: queue, handler, idempotency: { store: memoryIdempotencyStore() } });
 * ```
 */
export function memoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const ttlMs = integerOption('ttlMs', options.ttlMs, 3_600_000, 1);
  const maxKeys = integerOption('maxKeys', options.maxKeys, 1_000_000, 1);
  const clock = options.clock ?? systemClock;
  // Entries are re-inserted on every write, so the Map's order is write order: surplus entries
  // are found at the front. Expired entries are dropped there too, and ignored wherever else
  // they are (a renewed lease may sit behind a shorter one that has lapsed).
  const entries = new Map<string, Entry>();
  let tokens = 0;

  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      const live = entry.expiresAt > now;
      if (live && entries.size <= maxKeys) break;
      // Over maxKeys, forget the oldest completed keys but never a lease still held: that would
      // hand the key to a second worker while the first still runs.
      if (live && !entry.completed) continue;
      entries.delete(key);
    }
  };

  const current = (key: string, token: string, now: number) => {
    const entry = entries.get(key);
    return entry && !entry.completed && entry.token === token && entry.expiresAt > now ? entry : undefined;
  };

  const write = (key: string, entry: Entry) => {
    entries.delete(key);
    entries.set(key, entry);
  };

  return {
    begin(key, { leaseMs, fingerprint }) {
      const now = clock.now();
      sweep(now);
      const entry = entries.get(key);
      let result: BeginResult;
      if (entry && entry.expiresAt > now) {
        if (fingerprint !== undefined && entry.fingerprint !== undefined && entry.fingerprint !== fingerprint) {
          result = { status: 'conflict', fingerprint: entry.fingerprint };
        } else if (entry.completed) {
          result = entry.result === undefined ? { status: 'completed' } : { status: 'completed', result: entry.result };
        } else {
          result = { status: 'in-progress', expiresAt: entry.expiresAt };
        }
      } else {
        const lease = { token: `m${++tokens}`, expiresAt: now + leaseMs };
        write(key, {
          completed: false,
          token: lease.token,
          expiresAt: lease.expiresAt,
          fingerprint,
          result: undefined,
        });
        result = { status: 'new', lease };
      }
      return Promise.resolve(result);
    },

    complete(key, token, result) {
      const now = clock.now();
      const entry = current(key, token, now);
      // A literal rather than a spread: this runs once per message.
      if (entry) write(key, { completed: true, token, expiresAt: now + ttlMs, fingerprint: entry.fingerprint, result });
      return Promise.resolve(entry !== undefined);
    },

    release(key, token) {
      const held = current(key, token, clock.now()) !== undefined;
      if (held) entries.delete(key);
      return Promise.resolve(held);
    },

    renew(key, token, leaseMs) {
      const now = clock.now();
      const entry = current(key, token, now);
      if (entry) write(key, { ...entry, expiresAt: now + leaseMs });
      return Promise.resolve(entry !== undefined);
    },
  };
}
