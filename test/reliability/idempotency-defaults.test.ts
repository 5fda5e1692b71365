import {
  type BeginOptions,
  createConsumer,
  createProducer,
  type IdempotencyStore,
  memoryIdempotencyStore,
} from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { expect, it } from 'vitest';

it('gives the consumer’s idempotency lease its visibility timeout by default', async () => {
  const clock = new ManualClock();
  const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
  await createProducer({ transport: queue, clock }).send({ n: 1 });
  const inner = memoryIdempotencyStore({ clock });
  const seen: BeginOptions[] = [];
  const store: IdempotencyStore = {
    ...inner,
    begin: (key, options) => {
      seen.push(options);
      return inner.begin(key, options);
    },
  };
  const consumer = createConsumer({
    transport: queue,
    clock,
    waitTimeMs: 1_000,
    idempotency: { store },
    handler: () => undefined,
  });
  consumer.start();
  await clock.advanceUntil(() => consumer.stats().acked === 1);
  await consumer.stop();
  expect(seen[0]?.leaseMs).toBe(30_000);
});
