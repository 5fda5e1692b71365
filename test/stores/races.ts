/**
 * The consumer-level races of the store conformance suite: several consumers on the in-memory
 * transport share one store under test, on one manual clock. Run by {@link describeIdempotencyStore}.
 */
import {
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  createProducer,
  ErrorCode,
  type IdempotencyStore,
  isMissiveErrorCode,
  type Lease,
} from 'missive';
import { type ManualClock, type MemoryQueue, memoryQueue } from 'missive/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { type Outage, until } from './suite.ts';

/** One scenario's clock and store, and a way to take the store down. */
export interface RaceSetup {
  readonly clock: ManualClock;
  readonly store: IdempotencyStore;
  outage(): Promise<Outage>;
}

interface Charge {
  readonly orderId: string;
  readonly amount: number;
}

const KEY = 'charge:o-1';
const CHARGE: Charge = { orderId: 'o-1', amount: 42 };

/** A promise held open until the test decides. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

/**
 * `store` as a frozen (dead) worker sees it: its renewals never reach the store. `leases` gets
 * every lease it claimed.
 */
function withoutRenewals(store: IdempotencyStore, leases: Lease[] = []): IdempotencyStore {
  return {
    begin: async (key, options) => {
      const begun = await store.begin(key, options);
      if (begun.status === 'new') leases.push(begun.lease);
      return begun;
    },
    complete: (key, token, result) => store.complete(key, token, result),
    release: (key, token) => store.release(key, token),
    renew: async () => true,
  };
}

export function describeStoreRaces(setup: () => Promise<RaceSetup>): void {
  describe('consumers sharing the store', () => {
    const running: Consumer[] = [];
    let clock: ManualClock | undefined;
    afterEach(async () => {
      const stopping = Promise.all(running.splice(0).map((consumer) => consumer.stop()));
      let stopped = false;
      void stopping.then(() => {
        stopped = true;
      });
      if (clock) await until(clock, () => stopped, { stepMs: 1_000 });
      await stopping;
    });

    const scenario = async () => {
      const race = await setup();
      clock = race.clock;
      const deadLetters = memoryQueue({ clock: race.clock, name: 'charges-dlq' });
      const queue = memoryQueue({
        clock: race.clock,
        name: 'charges',
        deadLetterQueue: deadLetters,
        visibilityTimeoutMs: 5_000,
      });
      const producer = createProducer<Charge>({ transport: queue, clock: race.clock });
      const send = async (count: number) => {
        for (let sent = 0; sent < count; sent += 10) {
          const items = Array.from({ length: Math.min(10, count - sent) }, () => ({
            body: CHARGE,
            idempotencyKey: KEY,
          }));
          const results = await producer.sendBatch(items);
          expect(results.every((result) => result.status === 'sent')).toBe(true);
        }
      };
      const errors: Error[] = [];
      const consume = (
        options: Partial<ConsumerOptions<Charge>> & Pick<ConsumerOptions<Charge>, 'handler'>,
        store: IdempotencyStore = race.store,
      ) => {
        const consumer = createConsumer<Charge>({
          transport: queue,
          clock: race.clock,
          waitTimeMs: 1_000,
          visibilityTimeoutMs: 5_000,
          retry: { maxAttempts: 50, backoff: { initialDelayMs: 100, maxDelayMs: 1_000 } },
          idempotency: { store, leaseMs: 20_000 },
          onError: (error) => errors.push(error),
          ...options,
        });
        running.push(consumer);
        consumer.start();
        return consumer;
      };
      const total = (consumers: Consumer[], stat: 'acked' | 'duplicates' | 'retried' | 'deadLettered') =>
        consumers.reduce((sum, consumer) => sum + consumer.stats()[stat], 0);
      return { ...race, queue, deadLetters, send, consume, errors, total };
    };

    const isEmpty = (queue: MemoryQueue) => {
      const counts = queue.counts();
      return counts.visible + counts.inFlight + counts.delayed === 0;
    };

    it('runs the handler once for 50 concurrent deliveries of one key across 5 consumers', async () => {
      const { clock, queue, deadLetters, send, consume, errors, total } = await scenario();
      await send(50);
      const hold = gate();
      let runs = 0;
      const handler = async () => {
        runs++;
        await hold.promise;
        return { receipt: 'r-1' };
      };
      const consumers = Array.from({ length: 5 }, () => consume({ handler, concurrency: 10, batchSize: 10 }));
      // Every copy is taken at once: one runs, 49 find the key in progress.
      await until(clock, () => runs + total(consumers, 'retried') >= 50, { stepMs: 10 });
      expect(runs).toBe(1);
      hold.open();
      await until(clock, () => total(consumers, 'acked') + total(consumers, 'duplicates') === 50);
      expect(runs).toBe(1);
      expect(total(consumers, 'acked')).toBe(1);
      expect(total(consumers, 'duplicates')).toBe(49);
      expect(total(consumers, 'deadLettered')).toBe(0);
      expect(isEmpty(queue) && isEmpty(deadLetters)).toBe(true);
      expect(errors).toEqual([]);
    });

    it('lets the next delivery run the key of a worker that died mid-handler, once its lease lapsed', async () => {
      const { clock, store, send, consume, total } = await scenario();
      await send(1);
      const died = gate();
      const leases: Lease[] = [];
      // The dead worker: it neither renews its lease nor extends the message's visibility.
      const dead = consume(
        {
          // One slot, held by the hung handler: the dead worker takes no further deliveries.
          concurrency: 1,
          heartbeat: false,
          handler: () => died.promise,
        },
        withoutRenewals(store, leases),
      );
      await until(clock, () => dead.stats().inFlight === 1 && leases.length === 1);
      const runsAt: number[] = [];
      const next = consume({ handler: () => void runsAt.push(clock.now()) });
      await until(clock, () => next.stats().acked === 1);
      expect(runsAt).toHaveLength(1);
      // Redelivered after 5 s of visibility, but run only once the dead worker's lease had lapsed.
      expect(runsAt[0]).toBeGreaterThanOrEqual(leases[0]?.expiresAt as number);
      expect(next.stats().retried).toBeGreaterThan(0);
      expect((await store.begin(KEY, { leaseMs: 1_000 })).status).toBe('completed');
      died.fail(new Error('the dead worker is gone'));
      await until(clock, () => dead.stats().inFlight === 0);
      expect(total([dead], 'acked')).toBe(0);
    });

    it('refuses to let a stale worker complete a key whose lease passed to another', async () => {
      const { clock, store, send, consume, errors } = await scenario();
      await send(1);
      const staleHold = gate<string>();
      const currentHold = gate<string>();
      const staleErrors: Error[] = [];
      let staleRuns = 0;
      let currentRuns = 0;
      consume(
        {
          concurrency: 1,
          heartbeat: false,
          onError: (error) => staleErrors.push(error),
          handler: () => {
            staleRuns++;
            return staleHold.promise;
          },
        },
        withoutRenewals(store),
      );
      await until(clock, () => staleRuns === 1);
      const current = consume({
        handler: () => {
          currentRuns++;
          return currentHold.promise;
        },
      });
      await until(clock, () => currentRuns === 1);
      // The stale worker wakes up and finishes first: its complete is refused.
      staleHold.open('from the stale worker');
      await until(clock, () => staleErrors.some((error) => isMissiveErrorCode(error, ErrorCode.LeaseLapsed)));
      expect((await store.begin(KEY, { leaseMs: 1_000 })).status).toBe('in-progress');
      currentHold.open('from the current worker');
      await until(clock, () => current.stats().acked === 1);
      expect(await store.begin(KEY, { leaseMs: 1_000 })).toEqual({
        status: 'completed',
        result: JSON.stringify('from the current worker'),
      });
      expect(errors).toEqual([]);
    });

    it('leaves the message for redelivery when the store goes down during complete, never marking it done', async () => {
      const { clock, store, send, consume, outage, errors } = await scenario();
      await send(1);
      let runs = 0;
      let down: Outage | undefined;
      const consumer = consume({
        idempotency: { store, leaseMs: 2_000 },
        handler: async () => {
          runs++;
          if (runs === 1) down = await outage();
          return { receipt: `r-${runs}` };
        },
      });
      await until(clock, () => consumer.stats().retried >= 1, { stepMs: 10 });
      expect(consumer.stats().acked).toBe(0);
      expect(errors.length).toBeGreaterThan(0);
      await down?.restore();
      // Not completed: at most still held by the failed attempt's lease.
      const probe = await store.begin(KEY, { leaseMs: 1 });
      expect(probe.status).not.toBe('completed');
      if (probe.status === 'new') await store.release(KEY, probe.lease.token);
      await until(clock, () => consumer.stats().acked === 1);
      expect(runs).toBe(2);
      expect(consumer.stats().deadLettered).toBe(0);
      expect(await store.begin(KEY, { leaseMs: 1_000 })).toEqual({
        status: 'completed',
        result: JSON.stringify({ receipt: 'r-2' }),
      });
    });
  });
}
