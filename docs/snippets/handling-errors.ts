import { setTimeout } from 'node:timers/promises';
import { createConsumer, createProducer, RetryLaterError, readFailureHeaders, UnrecoverableError } from 'missive';
import { memoryQueue } from 'missive/memory';

interface Payment {
  readonly orderId: string;
  readonly customerId?: string;
}

export async function main() {
  const deadLetters = memoryQueue({ name: 'payments-dlq' });
  const payments = memoryQueue({ name: 'payments', deadLetterQueue: deadLetters });

  const producer = createProducer<Payment>({ transport: payments });
  await producer.send({ orderId: 'o-1', customerId: 'c-9' });
  await producer.send({ orderId: 'o-2' }); // No customer: no retry will ever charge it.

  const chargeAttempts: number[] = [];
  const consumer = createConsumer<Payment>({
    transport: payments,
    retry: { maxAttempts: 5 },
    handler: async (message, { attempt }) => {
      const { orderId, customerId } = message.body;
      // Retrying cannot help: dead-letter at once, with this message as the reason.
      if (!customerId) throw new UnrecoverableError(`order ${orderId} has no customer`);
      chargeAttempts.push(attempt);
      // A transient failure with a known wait: choose the delay instead of the backoff.
      if (attempt === 1) throw new RetryLaterError('payment API rate limited', { delayMs: 50 });
      // Any other error thrown here is retried with exponential backoff.
    },
  });
  consumer.start();

  while (consumer.stats().acked + consumer.stats().deadLettered < 2) await setTimeout(10);
  await consumer.stop();

  // A dead-letter queue is a queue like any other: receive from it to see what failed, and why.
  const [dead] = await deadLetters.receive({ maxMessages: 1, waitTimeMs: 0 });
  if (!dead) throw new Error('expected a dead letter');
  const failure = readFailureHeaders(dead.envelope.headers);
  await dead.ack();

  return { chargeAttempts, failure, stats: consumer.stats() };
}
