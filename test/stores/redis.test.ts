import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ConfigurationError, ErrorCode, type IdempotencyStore, isMissiveErrorCode } from 'missive';
import { ManualClock } from 'missive/memory';
import { type RedisClientLike, redisIdempotencyStore } from 'missive/redis';
import { createClient } from 'redis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { beginScript, completeScript } from '../../src/reliability/idempotency/redis/scripts.ts';
import { waitUntil } from '../helpers/sqs.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { describeIdempotencyStore, type StoreFixture } from './suite.ts';

/** A connected client, and the raw command the tests inspect Redis with. */
interface Connection {
  readonly client: RedisClientLike;
  command(args: string[]): Promise<unknown>;
  /** Connected and accepting commands. */
  ready(): boolean;
  close(): Promise<void>;
}

// Both clients fail commands while disconnected instead of queueing them, and reconnect quickly.
const clients: Record<string, (url: string) => Promise<Connection>> = {
  'node-redis': async (url) => {
    const client = createClient({ url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 20 } });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      command: (args) => client.sendCommand(args),
      ready: () => client.isReady,
      close: async () => client.destroy(),
    };
  },
  ioredis: async (url) => {
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 20,
    });
    client.on('error', () => {});
    await client.connect();
    return {
      client,
      command: ([command, ...args]) => client.call(command as string, args),
      ready: () => client.status === 'ready',
      close: async () => client.disconnect(),
    };
  },
};

const redisUrl = inject('redisUrl');
const redisPort = Number(new URL(redisUrl).port);
const prefix = () => `missive-test:${randomUUID()}:`;

/** The conformance fixture: each store on its own connection, through a proxy an outage cuts. */
function fixture(connect: (url: string) => Promise<Connection>): StoreFixture {
  const routes = new Map<IdempotencyStore, { connection: Connection; proxy: TcpProxy }>();
  return {
    async create({ clock, ttlMs }) {
      const proxy = await startTcpProxy(redisPort);
      const connection = await connect(`redis://127.0.0.1:${proxy.port}`);
      const store = redisIdempotencyStore({ client: connection.client, clock, ttlMs, keyPrefix: prefix() });
      routes.set(store, { connection, proxy });
      return store;
    },
    async outage(store) {
      const route = routes.get(store);
      if (!route) throw new Error('outage of a store this fixture did not create');
      route.proxy.cut();
      await waitUntil(() => !route.connection.ready());
      return {
        async restore() {
          route.proxy.restore();
          await waitUntil(() => route.connection.ready());
        },
      };
    },
    async close() {
      for (const { connection, proxy } of routes.values()) {
        await connection.close();
        await proxy.close();
      }
      routes.clear();
    },
  };
}

for (const [name, connect] of Object.entries(clients)) {
  describeIdempotencyStore(`Redis (${name})`, fixture(connect));

  describe(`redisIdempotencyStore on ${name}`, () => {
    const open: Connection[] = [];
    const connection = async (url = redisUrl) => {
      const opened = await connect(url);
      open.push(opened);
      return opened;
    };
    afterAll(async () => {
      await Promise.all(open.splice(0).map((opened) => opened.close()));
    });

    /** A store on its own connection, and a second connection to look at Redis with. */
    const setup = async (options: { ttlMs?: number; clock?: ManualClock } = {}) => {
      const clock = options.clock ?? new ManualClock();
      const keyPrefix = prefix();
      const { client } = await connection();
      const store = redisIdempotencyStore({
        client,
        clock,
        keyPrefix,
        ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}),
      });
      const { command } = await connection();
      const read = async (key: string) => {
        const raw = await command(['GET', keyPrefix + key]);
        return {
          record: typeof raw === 'string' ? JSON.parse(raw) : raw,
          pttl: Number(await command(['PTTL', keyPrefix + key])),
        };
      };
      return { clock, store, command, read, keyPrefix };
    };

    it('keeps each key as one versioned JSON record under keyPrefix, with PX from the lease, then from ttlMs', async () => {
      const { clock, store, read } = await setup({ ttlMs: 600_000 });
      const begun = await store.begin('order:1', { leaseMs: 30_000, fingerprint: 'fp-a' });
      if (begun.status !== 'new') throw new Error(`expected new, got ${begun.status}`);
      const { token, expiresAt } = begun.lease;
      let found = await read('order:1');
      expect(found.record).toEqual({ v: 1, s: 'p', t: token, e: expiresAt, f: 'fp-a' });
      expect(found.pttl).toBeGreaterThan(0);
      expect(found.pttl).toBeLessThanOrEqual(31_000);

      expect(await store.renew('order:1', token, 90_000)).toBe(true);
      found = await read('order:1');
      expect(found.record).toEqual({ v: 1, s: 'p', t: token, e: clock.now() + 90_000, f: 'fp-a' });
      expect(found.pttl).toBeGreaterThan(31_000);
      expect(found.pttl).toBeLessThanOrEqual(91_000);

      await clock.advance(5_000);
      expect(await store.complete('order:1', token, '{"receipt":"r-1"}')).toBe(true);
      found = await read('order:1');
      expect(found.record).toEqual({ v: 1, s: 'c', e: clock.now() + 600_000, f: 'fp-a', r: '{"receipt":"r-1"}' });
      expect(found.pttl).toBeGreaterThan(91_000);
      expect(found.pttl).toBeLessThanOrEqual(601_000);
    });

    it('deletes the key on release', async () => {
      const { store, read } = await setup();
      const begun = await store.begin('order:1', { leaseMs: 30_000 });
      if (begun.status !== 'new') throw new Error(`expected new, got ${begun.status}`);
      expect(await store.release('order:1', begun.lease.token)).toBe(true);
      expect(await read('order:1')).toEqual({ record: null, pttl: -2 });
    });

    it('lets exactly one of 20 concurrent begins on two connections take over a lapsed lease', async () => {
      const { clock, store, keyPrefix } = await setup();
      const other = redisIdempotencyStore({ client: (await connection()).client, clock, keyPrefix });
      await store.begin('order:1', { leaseMs: 60_000 });
      await clock.advance(60_000);
      // The key is still in Redis (PX runs on real time), so every begin goes through the script.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store).begin('order:1', { leaseMs: 60_000 })),
      );
      const winners = results.filter((result) => result.status === 'new');
      expect(winners).toHaveLength(1);
      const expiresAt = clock.now() + 60_000;
      expect(results.filter((result) => result.status === 'in-progress')).toEqual(
        Array.from({ length: 19 }, () => ({ status: 'in-progress', expiresAt })),
      );
    });

    it("refuses a stale worker's complete, release and renew even when issued concurrently with the takeover", async () => {
      const { clock, store, keyPrefix } = await setup();
      const staleWorker = redisIdempotencyStore({ client: (await connection()).client, clock, keyPrefix });
      const stale = await staleWorker.begin('order:1', { leaseMs: 10_000 });
      if (stale.status !== 'new') throw new Error(`expected new, got ${stale.status}`);
      await clock.advance(10_000);
      const { token } = stale.lease;
      const staleCalls = () =>
        Array.from({ length: 5 }, () => [
          staleWorker.complete('order:1', token, '"stale"'),
          staleWorker.release('order:1', token),
          staleWorker.renew('order:1', token, 10_000),
        ]).flat();
      const [takeover, ...refused] = await Promise.all([store.begin('order:1', { leaseMs: 10_000 }), ...staleCalls()]);
      expect(refused).toEqual(Array(15).fill(false));
      if (takeover?.status !== 'new') throw new Error(`expected new, got ${takeover?.status}`);
      // While the new lease is live, the stale calls race the current holder's renew.
      const [renewed, ...refusedWhileLive] = await Promise.all([
        store.renew('order:1', takeover.lease.token, 10_000),
        ...staleCalls(),
      ]);
      expect(renewed).toBe(true);
      expect(refusedWhileLive).toEqual(Array(15).fill(false));
      expect(await store.complete('order:1', takeover.lease.token, '"current"')).toBe(true);
      expect(await store.begin('order:1', { leaseMs: 10_000 })).toEqual({ status: 'completed', result: '"current"' });
    });

    it('takes the key in the begin script when Redis dropped it after SET NX found it taken', async () => {
      const { command, keyPrefix } = await setup();
      const key = `${keyPrefix}order:1`;
      const lease = JSON.stringify({ v: 1, s: 'p', t: 'lease-1', e: Date.UTC(2026, 0, 1) + 10_000 });
      // The script's arguments as begin passes them: now, the lease's value, its PX.
      const found = await command(['EVAL', beginScript.source, '1', key, String(Date.UTC(2026, 0, 1)), lease, '11000']);
      expect(found).toBeNull();
      expect(await command(['GET', key])).toBe(lease);
    });

    it('runs its scripts with EVAL when the server lost them (NOSCRIPT), and caches them again', async () => {
      const { store, command } = await setup();
      const begun = await store.begin('order:1', { leaseMs: 10_000 });
      if (begun.status !== 'new') throw new Error(`expected new, got ${begun.status}`);
      await command(['SCRIPT', 'FLUSH']);
      expect(await command(['SCRIPT', 'EXISTS', completeScript.sha])).toEqual([0]);
      expect(await store.complete('order:1', begun.lease.token, '"r"')).toBe(true);
      expect(await command(['SCRIPT', 'EXISTS', completeScript.sha])).toEqual([1]);
      expect(await store.begin('order:1', { leaseMs: 10_000 })).toEqual({ status: 'completed', result: '"r"' });
    });

    it('rejects complete while Redis is unreachable, and leaves the key held, not completed', async () => {
      const clock = new ManualClock();
      const keyPrefix = prefix();
      const proxy = await startTcpProxy(redisPort);
      try {
        const cut = await connection(`redis://127.0.0.1:${proxy.port}`);
        const store = redisIdempotencyStore({ client: cut.client, clock, keyPrefix });
        const witness = redisIdempotencyStore({ client: (await connection()).client, clock, keyPrefix });
        const begun = await store.begin('order:1', { leaseMs: 10_000 });
        if (begun.status !== 'new') throw new Error(`expected new, got ${begun.status}`);
        proxy.cut();
        await expect(store.complete('order:1', begun.lease.token, '"r"')).rejects.toThrow();
        expect(await witness.begin('order:1', { leaseMs: 10_000 })).toEqual({
          status: 'in-progress',
          expiresAt: begun.lease.expiresAt,
        });
        // Once the lease lapses, the redelivery processes the key.
        await clock.advance(10_000);
        expect((await witness.begin('order:1', { leaseMs: 10_000 })).status).toBe('new');
      } finally {
        await proxy.close();
      }
    });

    it('treats a fingerprint with a lone surrogate as the same fingerprint on every begin', async () => {
      const { store } = await setup();
      const fingerprint = 'fp-\ud800';
      const begun = await store.begin('order:1', { leaseMs: 10_000, fingerprint });
      if (begun.status !== 'new') throw new Error(`expected new, got ${begun.status}`);
      expect((await store.begin('order:1', { leaseMs: 10_000, fingerprint })).status).toBe('in-progress');
      expect(await store.complete('order:1', begun.lease.token, '"r"')).toBe(true);
      expect(await store.begin('order:1', { leaseMs: 10_000, fingerprint })).toEqual({
        status: 'completed',
        result: '"r"',
      });
    });

    it('rejects begin on a key that holds something other than its record, naming the key', async () => {
      const { store, command, keyPrefix } = await setup();
      await command(['SET', `${keyPrefix}order:1`, 'not a record']);
      await expect(store.begin('order:1', { leaseMs: 10_000 })).rejects.toThrow(
        `Redis key ${keyPrefix}order:1 does not hold a version 1 idempotency record`,
      );
    });
  });
}

describe('redisIdempotencyStore options', () => {
  it('refuses a client that is neither node-redis nor ioredis', () => {
    const notAClient = { get: async () => null } as unknown as RedisClientLike;
    let caught: unknown;
    try {
      redisIdempotencyStore({ client: notAClient });
    } catch (error) {
      caught = error;
    }
    expect(isMissiveErrorCode(caught, ErrorCode.Configuration)).toBe(true);
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect(String(caught)).toMatch(/Invalid option client.*node-redis.*ioredis/);
  });

  it('refuses a ttlMs that is not a positive integer', () => {
    const client = { sendCommand: async () => null };
    expect(() => redisIdempotencyStore({ client, ttlMs: 0 })).toThrow(/Invalid option ttlMs/);
  });
});
