import { createProducer } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';

export async function main() {
  // A clock that moves only when told to, so the example runs 30 s of waiting at once.
  const clock = new ManualClock();
  const deadLetters = memoryQueue({ name: 'jobs-dlq', clock });
  const jobs = memoryQueue({ name: 'jobs', clock, visibilityTimeoutMs: 30_000, deadLetterQueue: deadLetters });
  await createProducer({ transport: jobs, clock }).send({ resize: 'image-1' });

  // A worker receives the message, then dies before settling it.
  const [first] = await jobs.receive({ maxMessages: 1, waitTimeMs: 0 });
  const whileInFlight = jobs.counts();
  // While it is in flight, no other receive gets it.
  const meanwhile = await jobs.receive({ maxMessages: 1, waitTimeMs: 0 });

  // Once the visibility timeout passes, the message is delivered again, one attempt later.
  await clock.advance(30_000);
  const [second] = await jobs.receive({ maxMessages: 1, waitTimeMs: 0 });
  if (!first || !second) throw new Error('expected two deliveries');
  // A slow job asks for more time: invisible for another 60 s from now.
  await second.extendVisibility(60_000);
  await second.ack();
  // Settling is final: later calls on the same delivery do nothing.
  await second.retry({ delayMs: 0 });

  return {
    attempts: [first.attempt, second.attempt],
    sameMessage: first.envelope.id === second.envelope.id,
    whileInFlight,
    meanwhile: meanwhile.length,
    afterAck: jobs.counts(),
  };
}
