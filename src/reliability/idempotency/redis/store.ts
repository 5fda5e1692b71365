import { randomUUID } from 'node:crypto';
import { type Clock, systemClock } from '../../../clock.ts';
import { ConfigurationError } from '../../../errors.ts';
import { integerOption, requiredOption } from '../../../options.ts';
import type { BeginResult, IdempotencyStore } from '../store.ts';
import { commandSender, evalScript, type RedisClientLike, type Script } from './client.ts';
import { leaseRecord, parseRecord, RecordState, type StoredRecord } from './record.ts';
import { beginScript, completeScript, releaseScript, renewScript } from './scripts.ts';

/** Options of {@link redisIdempotencyStore}. */
export interface RedisIdempotencyStoreOptions {
  /**
   * Your connected client: node-redis (`createClient()`, `createClientPool()`) or ioredis
   * (`new Redis()`, `new Cluster()`), passed as it is. Its errors reject the store's calls, so
   * configure it to fail rather than queue commands while disconnected (node-redis
   * `disableOfflineQueue: true`; ioredis `enableOfflineQueue: false`, `maxRetriesPerRequest`).
   */
  readonly client: RedisClientLike;
  /**
   * How long a completed key is remembered, in milliseconds. Default 3 600 000 (1 hour); at least
   * 1. The key's `PX` once completed is this plus 1 000 ms of slack, so Redis drops it then.
   */
  readonly ttlMs?: number;
  /** Prepended to every idempotency key to make its Redis key. Default `missive:idem:`. */
  readonly keyPrefix?: string;
  /**
   * Clock that leases and time to live are measured on. Default the system clock. Workers
   * compare expiry times written by each other, so keep their clocks in sync (NTP).
   */
  readonly clock?: Clock;
}

/**
 * An idempotency store in Redis, shared by every worker that uses the same server and prefix.
 * `begin` claims a key with `SET NX PX`, and takes over a lapsed lease with a script;
 * `complete`, `release` and `renew` are compare-and-set scripts on the lease token, so a worker
 * whose lease lapsed can never complete or release another worker's. Scripts run with `EVALSHA`,
 * falling back to `EVAL` when the server does not have them.
 *
 * Each key is one string, `keyPrefix` + the idempotency key, holding a small JSON record (its
 * layout is in the idempotency recipe) with `PX` set a second past the lease (in progress) or
 * `ttlMs` (completed). Expiry itself is decided on the store's clock, so keep workers' clocks in
 * sync (NTP). The client's errors reject the store's calls as they are (the idempotency step wraps
 * them in an `IdempotencyStoreError`); a client of neither shape throws a `ConfigurationError`.
 *
 * @example node-redis
 * ```ts
 * import { createClient } from 'redis';
 * import { redisIdempotencyStore } from 'missive/redis';
 *
 * const client = await createClient({ url: process.env.REDIS_URL, disableOfflineQueue: true }).connect();
 * const store = redisIdempotencyStore({ client, ttlMs: 24 * 60 * 60 * 1000 });
 * createConsumer({ transport: queue, handler, idempotency: { store } });
 * ```
 *
 * @example ioredis
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisIdempotencyStore } from 'missive/redis';
 *
 * const client = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
 * const store = redisIdempotencyStore({ client, keyPrefix: 'orders:idem:' });
 * ```
 */
export function redisIdempotencyStore(options: RedisIdempotencyStoreOptions): IdempotencyStore {
  const send = commandSender(requiredOption('client', options.client, 'a node-redis or ioredis client'));
  const ttlMs = integerOption('ttlMs', options.ttlMs, 3_600_000, 1);
  const keyPrefix = options.keyPrefix ?? 'missive:idem:';
  if (typeof keyPrefix !== 'string') throw new ConfigurationError('keyPrefix', keyPrefix, 'a string');
  const clock = options.clock ?? systemClock;

  // The compare-and-set scripts: ARGV[1] the token, ARGV[2] now, then the script's own.
  const run = async (script: Script, key: string, token: string, now: number, ...args: string[]) =>
    (await evalScript(send, script, [keyPrefix + key], [token, String(now), ...args])) === 1;

  return {
    async begin(key, { leaseMs, fingerprint: given }) {
      const redisKey = keyPrefix + key;
      const fingerprint = given === undefined ? undefined : wellFormed(given);
      const now = clock.now();
      const lease = { token: randomUUID(), expiresAt: now + leaseMs };
      const value = leaseRecord(lease.token, lease.expiresAt, fingerprint);
      // The fast path: nobody has the key.
      if ((await send(['SET', redisKey, value, 'PX', px(leaseMs), 'NX'])) === 'OK') return { status: 'new', lease };
      const found = await evalScript(send, beginScript, [redisKey], [String(now), value, px(leaseMs)]);
      if (found === null || found === undefined) return { status: 'new', lease };
      return described(parseRecord(redisKey, found), fingerprint);
    },

    complete(key, token, result) {
      const now = clock.now();
      const kept = result === undefined ? ['0', ''] : ['1', result];
      return run(completeScript, key, token, now, String(now + ttlMs), px(ttlMs), ...kept);
    },

    release(key, token) {
      return run(releaseScript, key, token, clock.now());
    },

    renew(key, token, leaseMs) {
      const now = clock.now();
      return run(renewScript, key, token, now, String(now + leaseMs), px(leaseMs));
    },
  };
}

/** What `begin` reports for a live record. */
function described(record: StoredRecord, fingerprint: string | undefined): BeginResult {
  if (fingerprint !== undefined && record.f !== undefined && record.f !== fingerprint) {
    return { status: 'conflict', fingerprint: record.f };
  }
  if (record.s === RecordState.InProgress) return { status: 'in-progress', expiresAt: record.e };
  return record.r === undefined ? { status: 'completed' } : { status: 'completed', result: record.r };
}

/**
 * `text` with lone surrogates replaced by U+FFFD, as UTF-8 carries it to Redis anyway; JSON
 * would otherwise keep them as `\ud800` escapes, which the scripts' JSON decoder rejects.
 */
function wellFormed(text: string): string {
  return text.replace(/\p{Surrogate}/gu, '\ufffd');
}

/**
 * Slack added to every `PX`, in milliseconds. Expiry is decided by comparing the record's `e`
 * with the store's clock; `PX` only cleans up, and the slack keeps Redis from dropping a key that
 * a worker whose clock runs a little behind still counts as live.
 */
const PX_SLACK_MS = 1_000;

/** A duration as `PX` takes it: whole milliseconds, plus the slack. */
function px(ms: number): string {
  return String(Math.ceil(ms) + PX_SLACK_MS);
}
