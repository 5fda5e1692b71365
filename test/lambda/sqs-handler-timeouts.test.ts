/** sqsHandler near the end of the invocation: the timeout margin, releasing records, giving up a running handler. */
import type { SQSEvent } from 'aws-lambda';
import { ConfigurationError, ManualClock, memoryIdempotencyStore } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { recordEnvelope } from '../../src/lambda/event.ts';
import { createSqsQueue, waitUntil } from '../helpers/sqs.ts';
import { unhandledRejectionsDuring } from '../helpers/unhandled.ts';
import { bodyOf, eventOf } from './events.ts';
import {
  destroyClients,
  failedIds,
  type Job,
  lambdaContext,
  recordedClient,
  visibilitiesSet,
} from './sqs-handler-fixtures.ts';

afterEach(destroyClients);

describe('sqsHandler: timeouts', () => {
  it('starts no record once less than timeoutMarginMs remains, and releases those left', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(
      client,
      queueUrl,
      Array.from({ length: 5 }, (_, i) => ({ body: { id: `j-${i}` } })),
    );
    let remainingMs = 10_000;
    const handled: string[] = [];
    const handler = sqsHandler<Job>(
      (message) => {
        handled.push(message.body.id);
        // The second record's handler uses up the time: 900 ms left, under the 1 000 ms margin.
        if (handled.length === 2) remainingMs = 900;
      },
      { client, concurrency: 1, timeoutMarginMs: 1_000 },
    );
    const response = await handler(
      event,
      lambdaContext(() => remainingMs),
    );
    const notStarted = event.Records.slice(2);
    expect(handled).toEqual(event.Records.slice(0, 2).map((record) => (bodyOf(record) as Job).id));
    expect(failedIds(response)).toEqual(notStarted.map((record) => record.messageId));
    expect(visibilitiesSet(sent)).toEqual(Object.fromEntries(notStarted.map((record) => [record.receiptHandle, 0])));
  });

  it('keeps half the time back when an invocation starts with less than timeoutMarginMs, and says so once', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'a' } }, { body: { id: 'b' } }]);
    const errors: Error[] = [];
    const handled: string[] = [];
    const handler = sqsHandler<Job>((message) => void handled.push(message.body.id), {
      client,
      onError: (error) => errors.push(error),
    });
    // A 1 s function with the default 1 000 ms margin: without the fallback nothing would ever start.
    for (let i = 0; i < 2; i++)
      expect(
        failedIds(
          await handler(
            event,
            lambdaContext(() => 800),
          ),
        ),
      ).toEqual([]);
    expect(handled.sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConfigurationError);
    expect(errors[0]?.message).toMatch(/^Invalid option timeoutMarginMs: 1000\. Expected less than the 800 ms/);
  });

  it('survives an async onError callback that rejects', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'a' } }]);
    let called = 0;
    const handler = sqsHandler<Job>(() => undefined, {
      onError: async () => {
        called++;
        throw new Error('logger down');
      },
    });
    const unhandled = await unhandledRejectionsDuring(async () => {
      // Less time left than the margin: reported to onError once.
      expect(
        failedIds(
          await handler(
            event,
            lambdaContext(() => 800),
          ),
        ),
      ).toEqual([]);
    });
    expect(called).toBe(1);
    expect(unhandled).toEqual([]);
  });

  it('aborts a running handler at the margin, gives it up at half the margin, and releases its idempotency lease', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'stuck' } }, { body: { id: 'waiting' } }]);
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    const store = memoryIdempotencyStore({ clock });
    let aborted = false;
    let started = 0;
    const handler = sqsHandler<Job>(
      (_message, { signal }) => {
        started++;
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        // Ignores the abort and never finishes.
        return new Promise(() => undefined);
      },
      { client, clock, concurrency: 1, timeoutMarginMs: 2_000, idempotency: { store } },
    );
    const response = handler(
      event,
      lambdaContext(() => deadline - clock.now()),
    );
    await waitUntil(() => started === 1);
    await clock.advance(7_999);
    expect(aborted).toBe(false);
    await clock.advance(1);
    expect(aborted).toBe(true);
    await clock.advance(1_000);
    expect(failedIds(await response).sort()).toEqual(event.Records.map((record) => record.messageId).sort());
    expect(started).toBe(1);
    // The lease was released: the next delivery may take the key at once.
    const stuck = event.Records.find((record) => record.body.includes('stuck'));
    const envelope = recordEnvelope(stuck as SQSEvent['Records'][0]);
    expect((await store.begin(envelope.idempotencyKey, { leaseMs: 1_000 })).status).toBe('new');
  });
});
