import { setTimeout } from 'node:timers/promises';
import { createConsumer, createProducer, memoryIdempotencyStore } from 'missive';
import { memoryQueue } from 'missive/memory';

interface Charge {
  readonly orderId: string;
  readonly amount: number;
}

export async function main() {
  const deadLetters = memoryQueue({ name: 'charges-dlq' });
  const charges = memoryQueue({ name: 'charges', deadLetterQueue: deadLetters });

  // Derive the key from what makes the work unique, not from the message id.
  const producer = createProducer<Charge>({ transport: charges });
  await producer.send({ orderId: 'o-1', amount: 42 }, { idempotencyKey: 'charge:o-1' });
  // The same charge again, as after a producer timeout and resend.
  await producer.send({ orderId: 'o-1', amount: 42 }, { idempotencyKey: 'charge:o-1' });
  await producer.send({ orderId: 'o-2', amount: 7 }, { idempotencyKey: 'charge:o-2' });

  const charged: string[] = [];
  const consumer = createConsumer<Charge>({
    transport: charges,
    // One process, one worker: an in-memory store is enough. Several workers need a shared one.
    idempotency: { store: memoryIdempotencyStore(), leaseMs: 60_000 },
    // One at a time, so the second copy arrives after the first completed.
    concurrency: 1,
    handler: async (message) => {
      charged.push(message.body.orderId);
      // What the handler returns is stored with the key.
      return { receipt: `receipt-${message.body.orderId}` };
    },
  });
  consumer.start();

  while (consumer.stats().acked + consumer.stats().duplicates < 3) await setTimeout(10);
  await consumer.stop();

  return { charged, stats: consumer.stats() };
}
