import { createConsumer, createProducer, memoryIdempotencyStore, readFailureHeaders } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { describe, expect, it } from 'vitest';

interface Order {
  readonly orderRef?: string;
  readonly amount: number;
}

describe('an idempotency key function that returns no key', () => {
  for (const fingerprint of [false, undefined] as const) {
    it(`dead-letters each message it has no key for, instead of treating it as a duplicate (fingerprint ${String(fingerprint)})`, async () => {
      const clock = new ManualClock();
      const dlq = memoryQueue({ clock, name: 'orders-dlq' });
      const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: dlq });
      const producer = createProducer<Order>({ transport: queue, clock });
      // Two different orders; the key function reads a field these messages lack.
      await producer.send({ amount: 1 });
      await producer.send({ amount: 2 });
      const handled: number[] = [];
      const errors: Error[] = [];
      const consumer = createConsumer<Order>({
        transport: queue,
        clock,
        waitTimeMs: 1_000,
        onError: (error) => errors.push(error),
        idempotency: {
          store: memoryIdempotencyStore({ clock }),
          key: (m) => (m.body as Order).orderRef as string,
          ...(fingerprint === false ? { fingerprint } : {}),
        },
        handler: (m) => void handled.push(m.body.amount),
      });
      consumer.start();
      await clock.advanceUntil(
        () => consumer.stats().acked + consumer.stats().duplicates + consumer.stats().deadLettered === 2,
      );
      await consumer.stop();
      const [dead] = await dlq.receive({ maxMessages: 1, waitTimeMs: 0 });
      expect(handled).toEqual([]);
      expect(consumer.stats().deadLettered).toBe(2);
      expect(readFailureHeaders(dead?.envelope.headers ?? {})).toMatchObject({
        reason: 'unrecoverable',
        errorName: 'ConfigurationError',
        errorMessage: expect.stringMatching(
          /^Invalid option idempotency\.key: undefined\. Expected a non-empty string/,
        ),
      });
    });
  }
});
