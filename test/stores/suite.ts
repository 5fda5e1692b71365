/**
 * The idempotency store conformance suite: the rules of `src/reliability/idempotency/store.ts`,
 * checked against a real store, then the consumer-level races of issue 6 run on that store.
 * A store's test file calls {@link describeIdempotencyStore} with a {@link StoreFixture}.
 *
 * Time is a `ManualClock` handed to the store, so leases and time to live are driven without
 * waiting, even against a real database. Between clock steps the suite yields to real I/O (see
 * {@link until}), so a store that talks over the network keeps up.
 */
import { setTimeout as pause } from 'node:timers/promises';
import type { Clock, IdempotencyStore } from 'missive';
import { ManualClock } from 'missive/memory';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreRaces } from './races.ts';

/** What a store provides to run the suite. */
export interface StoreFixture {
  /**
   * A store on an empty key space (a fresh table, key prefix or database: nothing one call
   * wrote is visible to another's store), reading time from `clock` and remembering completed
   * keys for `ttlMs` of that clock's time.
   */
  create(options: { readonly clock: Clock; readonly ttlMs: number }): Promise<IdempotencyStore>;
  /**
   * Cuts `store` off from its backend: every call rejects (or times out) until `restore`
   * resolves, after which the store works again with its data intact. Optional: without it the
   * suite simulates the outage by wrapping the store.
   */
  outage?(store: IdempotencyStore): Promise<Outage>;
  /** Closes clients and servers after the suite. Optional. */
  close?(): Promise<void>;
}

/** A store outage in progress. */
export interface Outage {
  restore(): Promise<void>;
}

/** Default lease in these scenarios, in milliseconds. */
const LEASE_MS = 10_000;
/** Default time to live of completed keys, in milliseconds. */
const TTL_MS = 3_600_000;

/**
 * Advances `clock` in steps of `stepMs`, yielding to real I/O before each step, until
 * `condition()` holds; fails after `limitMs` of clock time.
 */
export async function until(
  clock: ManualClock,
  condition: () => boolean,
  { stepMs = 50, limitMs = 600_000 }: { stepMs?: number; limitMs?: number } = {},
): Promise<void> {
  const deadline = clock.now() + limitMs;
  for (;;) {
    await pause(1);
    if (condition()) return;
    if (clock.now() >= deadline) throw new Error(`Condition not met within ${limitMs} ms of clock time`);
    await clock.advance(stepMs);
  }
}

/** `store` whose calls all reject while `down` is true: an outage, for fixtures without one. */
export function simulatedOutage(store: IdempotencyStore): { store: IdempotencyStore; fixtureOutage: () => Outage } {
  let down = false;
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A) =>
      down ? Promise.reject(new Error('store unreachable (simulated outage)')) : call(...args);
  return {
    store: {
      begin: guard((key, options) => store.begin(key, options)),
      complete: guard((key, token, result) => store.complete(key, token, result)),
      release: guard((key, token) => store.release(key, token)),
      renew: guard((key, token, leaseMs) => store.renew(key, token, leaseMs)),
    },
    fixtureOutage: () => {
      down = true;
      return {
        restore: async () => {
          down = false;
        },
      };
    },
  };
}

/** Runs the store contract's scenarios, then the consumer-level races, against `fixture`'s store. */
export function describeIdempotencyStore(name: string, fixture: StoreFixture): void {
  describe(`${name} idempotency store conformance`, () => {
    afterAll(async () => {
      await fixture.close?.();
    });

    const setup = async (ttlMs = TTL_MS) => {
      const clock = new ManualClock();
      const store = await fixture.create({ clock, ttlMs });
      return { clock, store };
    };

    /** Begins `key`, expecting to win it. */
    const claim = async (
      store: IdempotencyStore,
      key: string,
      options: { leaseMs?: number; fingerprint?: string } = {},
    ) => {
      const begun = await store.begin(key, { leaseMs: LEASE_MS, ...options });
      if (begun.status !== 'new') throw new Error(`expected to claim ${key}, got ${begun.status}`);
      return begun.lease;
    };

    describe('begin', () => {
      it('gives exactly one of 50 concurrent begins of a key the lease; the others see it in progress', async () => {
        const { clock, store } = await setup();
        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.begin('order:1', { leaseMs: LEASE_MS })),
        );
        const winners = results.filter((result) => result.status === 'new');
        expect(winners).toHaveLength(1);
        const lease = winners[0]?.status === 'new' ? winners[0].lease : undefined;
        expect(lease?.expiresAt).toBe(clock.now() + LEASE_MS);
        expect(results.filter((result) => result.status === 'in-progress')).toEqual(
          Array.from({ length: 49 }, () => ({ status: 'in-progress', expiresAt: lease?.expiresAt })),
        );
      });

      it('gives out a different token to each lease holder', async () => {
        const { clock, store } = await setup();
        const first = await claim(store, 'order:1', { leaseMs: 100 });
        await clock.advance(100);
        const second = await claim(store, 'order:1', { leaseMs: 100 });
        const other = await claim(store, 'order:2', { leaseMs: 100 });
        expect(new Set([first.token, second.token, other.token]).size).toBe(3);
      });

      it('keeps keys apart: claiming one key leaves every other key new', async () => {
        const { store } = await setup();
        await claim(store, 'order:1');
        expect((await store.begin('order:2', { leaseMs: LEASE_MS })).status).toBe('new');
        expect((await store.begin('Order:1', { leaseMs: LEASE_MS })).status).toBe('new');
      });
    });

    describe('leases', () => {
      it('lets the next begin claim a key once its lease has passed, not before', async () => {
        const { clock, store } = await setup();
        await claim(store, 'order:1', { leaseMs: 1_000 });
        await clock.advance(999);
        expect(await store.begin('order:1', { leaseMs: 1_000 })).toEqual({
          status: 'in-progress',
          expiresAt: clock.now() + 1,
        });
        await clock.advance(1);
        expect((await store.begin('order:1', { leaseMs: 1_000 })).status).toBe('new');
      });

      it('refuses complete, release and renew from a holder whose lease passed to another', async () => {
        const { clock, store } = await setup();
        const stale = await claim(store, 'order:1', { leaseMs: 1_000 });
        await clock.advance(1_000);
        const current = await claim(store, 'order:1', { leaseMs: 1_000 });
        expect(await store.renew('order:1', stale.token, 5_000)).toBe(false);
        expect(await store.complete('order:1', stale.token, '"stale"')).toBe(false);
        expect(await store.release('order:1', stale.token)).toBe(false);
        // The current holder still holds it, with its own expiry.
        expect(await store.begin('order:1', { leaseMs: 1_000 })).toEqual({
          status: 'in-progress',
          expiresAt: current.expiresAt,
        });
        expect(await store.complete('order:1', current.token, '"current"')).toBe(true);
        expect(await store.begin('order:1', { leaseMs: 1_000 })).toEqual({ status: 'completed', result: '"current"' });
      });

      it('refuses calls with a token it never gave out', async () => {
        const { store } = await setup();
        await claim(store, 'order:1');
        expect(await store.complete('order:1', 'forged', '"x"')).toBe(false);
        expect(await store.renew('order:1', 'forged', LEASE_MS)).toBe(false);
        expect(await store.release('order:1', 'forged')).toBe(false);
        expect(await store.complete('order:unknown', 'forged')).toBe(false);
        expect((await store.begin('order:1', { leaseMs: LEASE_MS })).status).toBe('in-progress');
      });

      it('extends a lease on renew, to leaseMs from the time of renewal', async () => {
        const { clock, store } = await setup();
        const lease = await claim(store, 'order:1', { leaseMs: 1_000 });
        await clock.advance(800);
        expect(await store.renew('order:1', lease.token, 1_000)).toBe(true);
        const renewedUntil = clock.now() + 1_000;
        await clock.advance(800);
        expect(await store.begin('order:1', { leaseMs: 1_000 })).toEqual({
          status: 'in-progress',
          expiresAt: renewedUntil,
        });
        // Still the holder: it can renew again and complete.
        expect(await store.renew('order:1', lease.token, 1_000)).toBe(true);
        expect(await store.complete('order:1', lease.token)).toBe(true);
      });

      it('does not renew a lease that has already passed', async () => {
        const { clock, store } = await setup();
        const lease = await claim(store, 'order:1', { leaseMs: 1_000 });
        await clock.advance(1_000);
        await claim(store, 'order:1', { leaseMs: 1_000 });
        expect(await store.renew('order:1', lease.token, 1_000)).toBe(false);
      });

      it('lets the next begin claim a released key at once', async () => {
        const { store } = await setup();
        const lease = await claim(store, 'order:1');
        expect(await store.release('order:1', lease.token)).toBe(true);
        const next = await store.begin('order:1', { leaseMs: LEASE_MS });
        expect(next.status).toBe('new');
        // The released lease is gone for good.
        expect(await store.complete('order:1', lease.token)).toBe(false);
      });
    });

    describe('completion', () => {
      it('returns the stored result to every later begin', async () => {
        const { store } = await setup();
        const lease = await claim(store, 'order:1');
        expect(await store.complete('order:1', lease.token, '{"receipt":"r-1"}')).toBe(true);
        for (let i = 0; i < 3; i++) {
          expect(await store.begin('order:1', { leaseMs: LEASE_MS })).toEqual({
            status: 'completed',
            result: '{"receipt":"r-1"}',
          });
        }
      });

      it('completes a key without a result', async () => {
        const { store } = await setup();
        const lease = await claim(store, 'order:1');
        expect(await store.complete('order:1', lease.token)).toBe(true);
        const begun = await store.begin('order:1', { leaseMs: LEASE_MS });
        expect(begun.status).toBe('completed');
        expect(begun.status === 'completed' && begun.result).toBeUndefined();
      });

      it('keeps results exactly, whatever their characters and up to 64 KiB', async () => {
        const { store } = await setup();
        const results = ['""', 'naïve café ✓ 🧾 "quoted" \\ \\u0000 \n\t', 'x'.repeat(65_536)];
        for (const [i, result] of results.entries()) {
          const lease = await claim(store, `order:${i}`);
          expect(await store.complete(`order:${i}`, lease.token, result)).toBe(true);
        }
        for (const [i, result] of results.entries()) {
          expect(await store.begin(`order:${i}`, { leaseMs: LEASE_MS })).toEqual({ status: 'completed', result });
        }
      });

      it('refuses release, renew and a second complete once a key is completed', async () => {
        const { store } = await setup();
        const lease = await claim(store, 'order:1');
        expect(await store.complete('order:1', lease.token, '"first"')).toBe(true);
        expect(await store.release('order:1', lease.token)).toBe(false);
        expect(await store.renew('order:1', lease.token, LEASE_MS)).toBe(false);
        expect(await store.complete('order:1', lease.token, '"second"')).toBe(false);
        expect(await store.begin('order:1', { leaseMs: LEASE_MS })).toEqual({ status: 'completed', result: '"first"' });
      });

      it('forgets a completed key once its time to live has passed, not before', async () => {
        const { clock, store } = await setup(60_000);
        const lease = await claim(store, 'order:1', { leaseMs: 1_000 });
        await clock.advance(500);
        expect(await store.complete('order:1', lease.token, '"r"')).toBe(true);
        // The time to live runs from completion, not from begin.
        await clock.advance(59_999);
        expect((await store.begin('order:1', { leaseMs: 1_000 })).status).toBe('completed');
        await clock.advance(1);
        expect((await store.begin('order:1', { leaseMs: 1_000 })).status).toBe('new');
      });
    });

    describe('fingerprints', () => {
      it('answers conflict, with the stored fingerprint, for a held key begun with another fingerprint', async () => {
        const { store } = await setup();
        await claim(store, 'order:1', { fingerprint: 'fp-a' });
        expect(await store.begin('order:1', { leaseMs: LEASE_MS, fingerprint: 'fp-b' })).toEqual({
          status: 'conflict',
          fingerprint: 'fp-a',
        });
        expect((await store.begin('order:1', { leaseMs: LEASE_MS, fingerprint: 'fp-a' })).status).toBe('in-progress');
      });

      it('answers conflict for a completed key begun with another fingerprint, and the result for the same one', async () => {
        const { store } = await setup();
        const lease = await claim(store, 'order:1', { fingerprint: 'fp-a' });
        expect(await store.complete('order:1', lease.token, '"r"')).toBe(true);
        expect(await store.begin('order:1', { leaseMs: LEASE_MS, fingerprint: 'fp-b' })).toEqual({
          status: 'conflict',
          fingerprint: 'fp-a',
        });
        expect(await store.begin('order:1', { leaseMs: LEASE_MS, fingerprint: 'fp-a' })).toEqual({
          status: 'completed',
          result: '"r"',
        });
      });

      it('never conflicts when either side has no fingerprint', async () => {
        const { store } = await setup();
        const plain = await claim(store, 'stored-without');
        expect((await store.begin('stored-without', { leaseMs: LEASE_MS, fingerprint: 'fp-b' })).status).toBe(
          'in-progress',
        );
        await claim(store, 'asked-without', { fingerprint: 'fp-a' });
        expect((await store.begin('asked-without', { leaseMs: LEASE_MS })).status).toBe('in-progress');
        expect(await store.complete('stored-without', plain.token, '"r"')).toBe(true);
        expect(await store.begin('stored-without', { leaseMs: LEASE_MS, fingerprint: 'fp-b' })).toEqual({
          status: 'completed',
          result: '"r"',
        });
      });

      it('lets another fingerprint claim a key whose lease lapsed, and keeps the new fingerprint', async () => {
        const { clock, store } = await setup();
        await claim(store, 'order:1', { leaseMs: 1_000, fingerprint: 'fp-a' });
        await clock.advance(1_000);
        expect((await store.begin('order:1', { leaseMs: 1_000, fingerprint: 'fp-b' })).status).toBe('new');
        expect(await store.begin('order:1', { leaseMs: 1_000, fingerprint: 'fp-a' })).toEqual({
          status: 'conflict',
          fingerprint: 'fp-b',
        });
      });

      it('lets another fingerprint claim a released key', async () => {
        const { store } = await setup();
        const lease = await claim(store, 'order:1', { fingerprint: 'fp-a' });
        expect(await store.release('order:1', lease.token)).toBe(true);
        expect((await store.begin('order:1', { leaseMs: LEASE_MS, fingerprint: 'fp-b' })).status).toBe('new');
      });
    });

    describe('keys', () => {
      const unusual = [
        'clé:订单:🧾',
        'k'.repeat(1_000),
        `é${'ü'.repeat(499)}${'k'.repeat(500)}`,
        'with spaces and "quotes"',
        'with:colons/slashes\\backslashes',
        '{braces}*?[glob]',
        '#1',
        'line\nbreak',
      ];

      it('handles Unicode, 1,000-character and odd keys as distinct keys, each with its own result', async () => {
        const { store } = await setup();
        const leases = await Promise.all(unusual.map((key) => claim(store, key, { fingerprint: `fp:${key}` })));
        for (const [i, key] of unusual.entries()) {
          expect(await store.complete(key, leases[i]?.token as string, JSON.stringify(key))).toBe(true);
        }
        for (const key of unusual) {
          expect(await store.begin(key, { leaseMs: LEASE_MS, fingerprint: `fp:${key}` })).toEqual({
            status: 'completed',
            result: JSON.stringify(key),
          });
        }
        // A prefix or a near neighbour of a stored key is another key.
        expect((await store.begin('clé:订单', { leaseMs: LEASE_MS })).status).toBe('new');
        expect((await store.begin('k'.repeat(999), { leaseMs: LEASE_MS })).status).toBe('new');
      });
    });

    describeStoreRaces(async () => {
      const clock = new ManualClock();
      const created = await fixture.create({ clock, ttlMs: TTL_MS });
      if (fixture.outage) {
        const outage = fixture.outage;
        return { clock, store: created, outage: () => outage(created) };
      }
      const simulated = simulatedOutage(created);
      return { clock, store: simulated.store, outage: async () => simulated.fixtureOutage() };
    });
  });
}
