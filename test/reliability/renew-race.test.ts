import { createConsumer, createProducer, type IdempotencyStore, memoryIdempotencyStore } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { expect, it } from 'vitest';

it('does not report a lost lease for a renewal that answers after the handler finished', async () => {
  const clock = new ManualClock();
  const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
  await createProducer({ transport: queue, clock }).send({ n: 1 });
  const inner = memoryIdempotencyStore({ clock });
  let renewSent = false;
  let releaseRenew: () => void = () => undefined;
  // A network store: the renewal's answer comes back after the handler's complete.
  const store: IdempotencyStore = {
    ...inner,
    renew: async (key, token, leaseMs) => {
      renewSent = true;
      await new Promise<void>((resolve) => {
        releaseRenew = resolve;
      });
      return inner.renew(key, token, leaseMs);
    },
  };
  const errors: Error[] = [];
  let finish: () => void = () => undefined;
  const consumer = createConsumer({
    transport: queue,
    clock,
    waitTimeMs: 1_000,
    idempotency: { store, leaseMs: 4_000 },
    onError: (error) => errors.push(error),
    handler: () =>
      new Promise<void>((resolve) => {
        finish = resolve;
      }),
  });
  consumer.start();
  await clock.advanceUntil(() => renewSent);
  finish();
  await clock.advanceUntil(() => consumer.stats().acked === 1);
  releaseRenew();
  await clock.advance(10);
  await consumer.stop();
  expect(errors.map((error) => error.message)).toEqual([]);
});
