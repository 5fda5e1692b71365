import { createConsumer, createProducer, FailureHeader, readFailureHeaders } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';

export async function main() {
  const clock = new ManualClock();
  const deadLetters = memoryQueue({ name: 'emails-dlq', clock });
  const emails = memoryQueue({ name: 'emails', clock, deadLetterQueue: deadLetters });
  await createProducer({ transport: emails, clock }).send(
    { to: 'ada@example.com' },
    { headers: { 'x-tenant': 'acme' } },
  );

  const consumer = createConsumer({
    transport: emails,
    clock,
    // Four deliveries in all, with the default backoff between them (1 000 ms doubling, full jitter).
    retry: { maxAttempts: 4 },
    handler: () => {
      throw new Error('SMTP server refused the connection');
    },
  });
  consumer.start();
  await clock.advanceUntil(() => consumer.stats().deadLettered === 1);
  await consumer.stop();

  const [dead] = await deadLetters.receive({ maxMessages: 1, waitTimeMs: 0 });
  if (!dead) throw new Error('expected a dead letter');
  const { headers } = dead.envelope;
  return {
    // The original headers and body are kept; the failure is added beside them.
    tenant: headers['x-tenant'],
    reasonHeader: headers[FailureHeader.reason],
    failure: readFailureHeaders(headers),
    stats: consumer.stats(),
  };
}
