// #region imports
import { Redis } from 'ioredis';
import { createConsumer, type IdempotencyStore } from 'missive';
import { redisIdempotencyStore } from 'missive/redis';
import { createClient } from 'redis';
// #endregion imports

// Only for main() at the end, the docs test's run of two workers.
import { setTimeout } from 'node:timers/promises';
import { createProducer } from 'missive';
import { memoryQueue } from 'missive/memory';

/** A store on node-redis (`redis`), as a worker builds it at startup. */
export async function nodeRedisStore(url: string): Promise<{ store: IdempotencyStore; close(): Promise<void> }> {
  // #region node-redis
  // Fail commands while disconnected rather than queue them: the consumer retries the message.
  const client = await createClient({ url, disableOfflineQueue: true }).connect();
  const store = redisIdempotencyStore({
    client,
    ttlMs: 24 * 60 * 60 * 1000, // remember completed keys for a day
    keyPrefix: 'charges:idem:', // each key is one Redis string: charges:idem:<idempotency key>
  });
  // #endregion node-redis
  return { store, close: async () => client.destroy() };
}

/** The same store on ioredis. */
export async function ioredisStore(url: string): Promise<{ store: IdempotencyStore; close(): Promise<void> }> {
  // #region ioredis
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  await client.connect();
  const store = redisIdempotencyStore({ client, ttlMs: 24 * 60 * 60 * 1000, keyPrefix: 'charges:idem:' });
  // #endregion ioredis
  return { store, close: async () => client.disconnect() };
}

/**
 * For the docs test only: two workers, one on node-redis and one on ioredis, share the keys on one
 * Redis server (`url`) while they consume one queue that holds a charge twice.
 */
export async function main({ url }: { url: string }) {
  const queue = memoryQueue({ name: 'charges', deadLetterQueue: memoryQueue({ name: 'charges-dlq' }) });
  const producer = createProducer<{ orderId: string }>({ transport: queue });
  for (const orderId of ['o-1', 'o-1', 'o-2'])
    await producer.send({ orderId }, { idempotencyKey: `charge:${orderId}` });

  const stores = [await nodeRedisStore(url), await ioredisStore(url)];
  const charged: string[] = [];
  const workers = stores.map(({ store }) =>
    createConsumer<{ orderId: string }>({
      transport: queue,
      idempotency: { store, waitForInProgress: { timeoutMs: 10_000 } },
      handler: async (message) => {
        charged.push(message.body.orderId);
        await setTimeout(50);
      },
    }),
  );
  for (const worker of workers) worker.start();
  const settled = () => workers.reduce((sum, w) => sum + w.stats().acked + w.stats().duplicates, 0);
  while (settled() < 3) await setTimeout(10);
  await Promise.all(workers.map((worker) => worker.stop()));
  await Promise.all(stores.map(({ close }) => close()));
  return { charged: charged.sort(), duplicates: workers.reduce((sum, w) => sum + w.stats().duplicates, 0) };
}
