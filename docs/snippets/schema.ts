import { setTimeout } from 'node:timers/promises';
import { createConsumer, createProducer, ErrorCode, isMissiveErrorCode, readFailureHeaders } from 'missive';
import { memoryQueue } from 'missive/memory';
import { z } from 'zod';

// Any Standard Schema validator works: zod, valibot, arktype.
const Order = z.object({
  orderId: z.string(),
  total: z.number().positive(),
});
type Order = z.infer<typeof Order>;

export async function main() {
  const deadLetters = memoryQueue({ name: 'orders-dlq' });
  const orders = memoryQueue({ name: 'orders', deadLetterQueue: deadLetters });

  // With a schema, the producer refuses an invalid body before it leaves the process.
  const producer = createProducer<Order>({ transport: orders, schema: Order });
  let refused = '';
  try {
    await producer.send({ orderId: 'o-1', total: -5 });
  } catch (error) {
    if (!isMissiveErrorCode(error, ErrorCode.InvalidMessage)) throw error;
    refused = error.message;
  }
  await producer.send({ orderId: 'o-2', total: 19 });

  // A producer without the schema (an older service, say) can still send a bad body.
  await createProducer({ transport: orders }).send({ orderId: 42 });

  const totals: number[] = [];
  const consumer = createConsumer({
    transport: orders,
    // The consumer validates too. The handler only ever sees valid, typed bodies.
    schema: Order,
    handler: async (message) => {
      totals.push(message.body.total);
    },
  });
  consumer.start();

  while (consumer.stats().acked + consumer.stats().deadLettered < 2) await setTimeout(10);
  await consumer.stop();

  const [dead] = await deadLetters.receive({ maxMessages: 1, waitTimeMs: 0 });
  if (!dead) throw new Error('expected a dead letter');
  return { refused, totals, failure: readFailureHeaders(dead.envelope.headers) };
}
