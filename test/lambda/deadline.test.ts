import type { SQSClient } from '@aws-sdk/client-sqs';
import { type IdempotencyStore, ManualClock, memoryIdempotencyStore } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqsQueue, sqsClient } from '../helpers/sqs.ts';

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

const clients: SQSClient[] = [];

afterAll(() => {
  for (const client of clients) client.destroy();
});

/** A real SQSClient on fauxqs, and a queue of its own (the records' receipt handles are made up). */
async function realSqs() {
  const client = sqsClient();
  clients.push(client);
  const { queueUrl } = await createSqsQueue(client);
  return { client, queueUrl };
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
    const { client, queueUrl } = await realSqs();
    const handler = sqsHandler(() => undefined, {
      client,
      queueUrl,
      onError: () => undefined,
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
    const { client, queueUrl } = await realSqs();
    const handler = sqsHandler(
      () => {
        throw new Error('fails');
      },
      {
        client,
        queueUrl,
        onError: () => undefined,
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

  it('answers before the Lambda timeout even when a visibility change hangs', async () => {
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    const { client, queueUrl } = await realSqs();
    let stalled = false;
    // A ChangeMessageVisibilityBatch whose connection never answers.
    client.middlewareStack.add(
      () => () => {
        stalled = true;
        return new Promise(() => undefined);
      },
      { step: 'initialize', name: 'blackhole' },
    );
    const handler = sqsHandler(
      () => {
        throw new Error('fails');
      },
      { client, queueUrl, clock, timeoutMarginMs: 2_000, onError: () => undefined },
    );
    const response = handler({ Records: [record('a')] }, { getRemainingTimeInMillis: () => deadline - clock.now() });
    // Real time for the SDK's lazy import; the clock stays put until the call is in flight.
    while (!stalled) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await settled(response), 'response while the visibility change is in flight').toBe('pending');
    await clock.advance(9_800);
    expect(await settled(response), 'response 200 ms before the timeout').toBe('settled');
    expect((await response).batchItemFailures).toEqual([{ itemIdentifier: 'a' }]);
  });

  it('sets the visibility of a big batch in calls of ten, at most 16 at once', async () => {
    const { client, queueUrl } = await realSqs();
    let inFlight = 0;
    let most = 0;
    let calls = 0;
    client.middlewareStack.add(
      (next) => async (args) => {
        calls++;
        most = Math.max(most, ++inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'in-flight' },
    );
    const handler = sqsHandler(
      () => {
        throw new Error('fails');
      },
      { client, queueUrl, concurrency: 50, onError: () => undefined },
    );
    const records = Array.from({ length: 400 }, (_, i) => record(`r${i}`));
    const { batchItemFailures } = await handler({ Records: records }, { getRemainingTimeInMillis: () => 60_000 });
    expect(batchItemFailures).toHaveLength(400);
    expect(calls).toBe(40);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
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
