import { createConsumer, createProducer, memoryIdempotencyStore, readFailureHeaders, sleep } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';

interface Charge {
  readonly orderId: string;
  readonly amount: number;
}

export async function main() {
  const clock = new ManualClock();
  const deadLetters = memoryQueue({ name: 'charges-dlq', clock });
  const charges = memoryQueue({ name: 'charges', clock, deadLetterQueue: deadLetters });

  // #region producer
  const producer = createProducer<Charge>({ transport: charges, clock });
  // The key names the work (charging order o-1), not the message: every copy shares it.
  const charge = (body: Charge) => producer.send(body, { idempotencyKey: `charge:${body.orderId}` });

  await charge({ orderId: 'o-1', amount: 42 });
  // A resend after a timeout: the same key and the same payload. A duplicate.
  await charge({ orderId: 'o-1', amount: 42 });
  // A bug: another amount under the same key. Not a duplicate but a conflict.
  await charge({ orderId: 'o-1', amount: 43 });
  // #endregion producer

  // #region consumer
  const charged: Charge[] = [];
  const consumer = createConsumer<Charge>({
    transport: charges,
    clock,
    idempotency: {
      store: memoryIdempotencyStore({ clock }),
      leaseMs: 30_000,
      // A copy that arrives while the first one runs waits up to 5 s for its result.
      waitForInProgress: { timeoutMs: 5_000 },
    },
    handler: async (message) => {
      charged.push(message.body);
      await sleep(clock, 1_000); // The payment API call.
      // Stored with the key, as JSON (at most maxResultBytes, 64 KiB by default).
      return { receipt: `rcpt-${message.body.orderId}` };
    },
  });
  // #endregion consumer
  consumer.start();
  await clock.advanceUntil(() => {
    const { acked, duplicates, deadLettered } = consumer.stats();
    return acked + duplicates + deadLettered === 3;
  });
  await consumer.stop();

  // #region conflict
  const [dead] = await deadLetters.receive({ maxMessages: 1, waitTimeMs: 0 });
  const failure = readFailureHeaders(dead?.envelope.headers ?? {});
  // failure.reason is 'idempotency-conflict'; failure.errorMessage names the key.
  // #endregion conflict

  return {
    charged,
    stats: consumer.stats(),
    deadLetter: { body: dead?.envelope.body, reason: failure?.reason, errorMessage: failure?.errorMessage },
  };
}
