import type { Envelope } from 'missive';
import { ManualClock } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { describe, expect, it } from 'vitest';
import { createSqsQueue, sqsClient } from '../helpers/sqs.ts';

describe('a handler given up at the timeout on its last attempt', () => {
  it('is reported failed (retried), not dead-lettered while it is still running', async () => {
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    const letters: Envelope[] = [];
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client);
    const handler = sqsHandler(() => new Promise(() => undefined), {
      client,
      queueUrl,
      onError: () => undefined,
      clock,
      timeoutMarginMs: 2_000,
      retry: { maxAttempts: 3 },
      deadLetter: {
        destination: 'dlq',
        send: async (envelopes: Envelope[]) => {
          letters.push(...envelopes);
          return envelopes.map(() => ({ status: 'accepted' }));
        },
      } as never,
    });
    const response = handler(
      {
        Records: [
          {
            messageId: 'm-1',
            receiptHandle: 'rh-1',
            body: '{}',
            // Its third receive: the earlier two invocations timed out too (a slow dependency).
            attributes: { ApproximateReceiveCount: '3' },
            messageAttributes: {},
            eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:jobs',
          },
        ],
      },
      { getRemainingTimeInMillis: () => deadline - clock.now() },
    );
    await clock.advance(9_100);
    const { batchItemFailures } = await response;
    expect(batchItemFailures).toEqual([{ itemIdentifier: 'm-1' }]);
    expect(letters).toEqual([]);
    client.destroy();
  });
});
