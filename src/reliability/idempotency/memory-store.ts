import { type Clock, systemClock } from '../../clock.ts';
import { integerOption } from '../../options.ts';
import type { BeginResult, IdempotencyStore } from './store.ts';

/** Options of {@link memoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** How long a completed key is remembered, in milliseconds. Default 3 600 000 (1 hour). */
  readonly ttlMs?: number;
  /** Most keys kept; the oldest are forgotten first beyond it. Default 1 000 000. */
  readonly maxKeys?: number;
  /** Clock for leases and expiry. Default the system clock. */
  readonly clock?: Clock;
}

interface Entry {
  completed: boolean;
  token: string;
  expiresAt: number;
  result: unknown;
}

/**
 * An idempotency store in process memory. It suppresses duplicates within one process (the
 * demo, tests, a single long-running worker); several workers need a shared, durable store.
 *
 * @example
 * ```ts
 * const consumer = createConsumer({ transport: queue, handler, idempotency: { store: memoryIdempotencyStore() } });
 * ```
 */
export function memoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): IdempotencyStore {
  const ttlMs = integerOption('ttlMs', options.ttlMs, 3_600_000, 1);
  const maxKeys = integerOption('maxKeys', options.maxKeys, 1_000_000, 1);
  const clock = options.clock ?? systemClock;
  // Entries are re-inserted on every write, so the Map's order is write order: expired and
  // surplus entries are found at the front.
  const entries = new Map<string, Entry>();
  let tokens = 0;

  const sweep = (now: number) => {
    for (const [key, entry] of entries) {
      if (entry.expiresAt > now && entries.size <= maxKeys) break;
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
    begin(key, { leaseMs }) {
      const now = clock.now();
      sweep(now);
      const entry = entries.get(key);
      let result: BeginResult;
      if (entry && entry.expiresAt > now) {
        result = entry.completed
          ? { status: 'completed', result: entry.result }
          : { status: 'in-progress', expiresAt: entry.expiresAt };
      } else {
        const lease = { token: String(++tokens), expiresAt: now + leaseMs };
        write(key, { completed: false, token: lease.token, expiresAt: lease.expiresAt, result: undefined });
        result = { status: 'new', lease };
      }
      return Promise.resolve(result);
    },

    complete(key, token, result) {
      const now = clock.now();
      const entry = current(key, token, now);
      if (entry) write(key, { completed: true, token, expiresAt: now + ttlMs, result });
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
