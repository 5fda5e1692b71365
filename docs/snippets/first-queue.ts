import { setTimeout } from 'node:timers/promises';
import { createConsumer, createProducer } from 'missive';
import { memoryQueue } from 'missive/memory';

interface Order {
  readonly orderId: string;
  readonly total: number;
}

export async function main() {
  // Messages that keep failing are moved here instead of blocking the queue.
  const deadLetters = memoryQueue({ name: 'orders-dlq' });
  // One queue object is both what the producer sends to and what the consumer receives from.
  const orders = memoryQueue({ name: 'orders', deadLetterQueue: deadLetters });

  const producer = createProducer<Order>({ transport: orders });
  await producer.send({ orderId: 'o-1', total: 42 });
  await producer.send({ orderId: 'o-2', total: 7 });
  await producer.send({ orderId: 'o-3', total: 19 });

  const shipped: string[] = [];
  const consumer = createConsumer<Order>({
    transport: orders,
    // Returning acknowledges the message: it is deleted for good.
    handler: async (message) => {
      shipped.push(message.body.orderId);
    },
  });
  consumer.start();

  // For the example only: a real worker keeps running until it is told to stop.
  while (consumer.stats().acked < 3) await setTimeout(10);
  await consumer.stop();
  await producer.close();

  return { shipped, stats: consumer.stats(), left: orders.counts() };
}
