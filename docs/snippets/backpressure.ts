import { setTimeout } from 'node:timers/promises';
import { createConsumer, createProducer } from 'missive';
import { memoryQueue } from 'missive/memory';

export async function main() {
  const deadLetters = memoryQueue({ name: 'thumbnails-dlq' });
  const thumbnails = memoryQueue({ name: 'thumbnails', deadLetterQueue: deadLetters });
  await createProducer({ transport: thumbnails }).sendBatch(
    Array.from({ length: 20 }, (_, imageId) => ({ body: { imageId } })),
  );

  let mostInFlight = 0;
  const consumer = createConsumer({
    transport: thumbnails,
    // At most 4 handlers at once, so at most 4 messages taken off the queue, whatever batchSize says.
    concurrency: 4,
    batchSize: 10,
    handler: async () => {
      // Messages received and not yet settled, as the queue counts them.
      mostInFlight = Math.max(mostInFlight, thumbnails.counts().inFlight);
      await setTimeout(5);
    },
  });
  consumer.start();

  while (consumer.stats().acked < 20) await setTimeout(10);
  await consumer.stop();
  return { mostInFlight, acked: consumer.stats().acked };
}
