import { type IdempotencyStore, ManualClock, memoryIdempotencyStore } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { describe, expect, it } from 'vitest';

const ARN = 'arn:aws:sqs:us-east-1:000000000000:jobs';

function record(id: string, arn = ARN) {
  return {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: JSON.stringify({ id }),
    attributes: { ApproximateReceiveCount: '1' },
    messageAttributes: {},
    eventSourceARN: arn,
  };
}

/** An SQSClient stand-in: records the commands, answers success. */
function stubClient() {
  const sent: unknown[] = [];
  const client = {
    send: async (command: { input: unknown }) => {
      sent.push(command.input);
      return {};
    },
  };
  return { client: client as never, sent };
}

/** Resolves to 'pending' when `promise` has not settled after a few turns of the event loop. */
async function settled(promise: Promise<unknown>): Promise<'settled' | 'pending'> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  // Real time for the SDK's lazy import on the first visibility change; the clock stays put.
  for (let i = 0; i < 200 && !done; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  return done ? 'settled' : 'pending';
}

describe('sqsHandler deadline', () => {
  it('answers before the Lambda timeout even when the idempotency store hangs', async () => {
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    const memory = memoryIdempotencyStore({ clock });
    // A store whose network call never comes back (a blackholed connection; the SDK has no
    // request timeout by default).
    const hanging: IdempotencyStore = { ...memory, begin: () => new Promise(() => undefined) };
    const { client } = stubClient();
    const handler = sqsHandler(() => undefined, {
      client,
      clock,
      timeoutMarginMs: 2_000,
      idempotency: { store: hanging },
    });
    const response = handler(
      { Records: [record('a'), record('b')] },
      { getRemainingTimeInMillis: () => deadline - clock.now() },
    );
    // Past the point where handlers are given up (1 s before the timeout), and past the timeout.
    await clock.advance(9_500);
    expect(await settled(response), 'response 500 ms before the timeout').toBe('settled');
    expect((await response).batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['a', 'b']);
  });

  it('answers before the Lambda timeout even when a dead-letter send hangs', async () => {
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    const { client } = stubClient();
    const handler = sqsHandler(
      () => {
        throw new Error('fails');
      },
      {
        client,
        clock,
        timeoutMarginMs: 2_000,
        retry: { maxAttempts: 1 },
        deadLetter: { destination: 'dlq', send: () => new Promise(() => undefined) } as never,
      },
    );
    const response = handler({ Records: [record('a')] }, { getRemainingTimeInMillis: () => deadline - clock.now() });
    await clock.advance(9_500);
    expect(await settled(response), 'response 500 ms before the timeout').toBe('settled');
    expect((await response).batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
  });

  it('clears its deadline timers when it rejects an event', async () => {
    const clock = new ManualClock();
    const handler = sqsHandler(() => undefined, { clock });
    const before = clock.pendingTimers;
    await expect(
      handler({ Records: [record('a', 'arn:aws:sns:us-east-1:1:topic')] }, { getRemainingTimeInMillis: () => 60_000 }),
    ).rejects.toThrow();
    expect(clock.pendingTimers - before).toBe(0);
  });
});
