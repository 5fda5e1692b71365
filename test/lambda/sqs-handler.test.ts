/**
 * sqsHandler's partial batch responses: which records it reports failed, the visibility it sets
 * for their backoff, and how FIFO groups fail together.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSHandler } from 'aws-lambda';
import { sqsHandler } from 'missive/lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqsQueue } from '../helpers/sqs.ts';
import { bodyOf, eventOf, queueArn, receiveAll, sendAll, toRecord } from './events.ts';
import {
  destroyClients,
  failedIds,
  idsOf,
  type Job,
  lambdaContext,
  recordedClient,
  visibilitiesSet,
} from './sqs-handler-fixtures.ts';

afterEach(destroyClients);

describe('sqsHandler: partial batch responses', () => {
  it('reports exactly the failed records, and sets their visibility to the backoff of their receive count', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const jobs: Job[] = Array.from({ length: 6 }, (_, i) => ({ id: `j-${i}`, fail: i % 3 === 0 }));
    const event = await eventOf(
      client,
      queueUrl,
      jobs.map((body) => ({ body })),
    );
    // The second failing record is on its third delivery: a longer backoff.
    const third = event.Records.findIndex((record) => (bodyOf(record) as Job).id === 'j-3');
    event.Records[third] = { ...(event.Records[third] as SQSEvent['Records'][number]) };
    (event.Records[third] as { attributes: { ApproximateReceiveCount: string } }).attributes = {
      ...(event.Records[third]?.attributes as SQSEvent['Records'][number]['attributes']),
      ApproximateReceiveCount: '3',
    };
    const attempts: Record<string, number> = {};
    const handler: SQSHandler = sqsHandler<Job>(
      (message, { attempt }) => {
        attempts[message.body.id] = attempt;
        if (message.body.fail) throw new Error(`job ${message.body.id} failed`);
      },
      { client, retry: { backoff: { initialDelayMs: 2_000, jitter: 'none' } } },
    );
    const response = await handler(event, lambdaContext(), () => undefined);
    expect(failedIds(response).sort()).toEqual(idsOf(event, (job) => job.fail === true).sort());
    expect(attempts).toEqual({ 'j-0': 1, 'j-1': 1, 'j-2': 1, 'j-3': 3, 'j-4': 1, 'j-5': 1 });
    const byId = new Map(event.Records.map((record) => [(bodyOf(record) as Job).id, record.receiptHandle]));
    // 2 000 ms after the first attempt, 2 000 × 2² = 8 000 ms after the third; one batch call.
    expect(visibilitiesSet(sent)).toEqual({ [byId.get('j-0') as string]: 2, [byId.get('j-3') as string]: 8 });
    expect(sent.filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand')).toHaveLength(1);
  });

  it('reports every record of a batch that fails entirely, never an empty list', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(
      client,
      queueUrl,
      Array.from({ length: 4 }, (_, i) => ({ body: { id: `j-${i}` } })),
    );
    const handler = sqsHandler<Job>(
      () => {
        throw new Error('database down');
      },
      { client },
    );
    const response = await handler(event, lambdaContext());
    expect(failedIds(response).sort()).toEqual(event.Records.map((record) => record.messageId).sort());
  });

  it('makes a failed record visible again after its backoff, with its real receipt handle', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda', visibilityTimeoutSeconds: 300 });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'ok' } }, { body: { id: 'bad', fail: true } }]);
    // A zero backoff: without the visibility change the record would stay hidden for 300 s.
    const handler = sqsHandler<Job>(
      (message) => {
        if (message.body.fail) throw new Error('no');
      },
      { client, retry: { backoff: { initialDelayMs: 0 } } },
    );
    await handler(event, lambdaContext());
    const [again] = await receiveAll(client, queueUrl, 1);
    expect(JSON.parse(again?.Body as string)).toEqual({ id: 'bad', fail: true });
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('creates no SQS client when every record succeeds, and one on the first failure', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    let made = 0;
    const handler = sqsHandler<Job>(
      (message) => {
        if (message.body.fail) throw new Error('no');
      },
      {
        client: () => {
          made++;
          return client;
        },
      },
    );
    expect(failedIds(await handler(await eventOf(client, queueUrl, [{ body: { id: 'a' } }]), lambdaContext()))).toEqual(
      [],
    );
    expect(made).toBe(0);
    const failing = await eventOf(client, queueUrl, [
      { body: { id: 'b', fail: true } },
      { body: { id: 'c', fail: true } },
    ]);
    expect(failedIds(await handler(failing, lambdaContext()))).toHaveLength(2);
    expect(failedIds(await handler(failing, lambdaContext()))).toHaveLength(2);
    expect(made).toBe(1);
  });

  it('still reports a failed record when no SQS client can be made, and says why', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'bad', fail: true } }]);
    const errors: Error[] = [];
    const handler = sqsHandler<Job>(
      () => {
        throw new Error('no');
      },
      {
        client: () => {
          throw new Error('no credentials');
        },
        onError: (error) => errors.push(error),
      },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(
        /^ChangeMessageVisibility on https:\/\/sqs\.us-east-1\.amazonaws\.com\/\S+ failed \(Error: no credentials\)/,
      ),
    ]);
  });

  it('processes standard-queue records at most `concurrency` at once', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(
      client,
      queueUrl,
      Array.from({ length: 10 }, (_, i) => ({ body: { id: `j-${i}` } })),
    );
    let running = 0;
    let most = 0;
    const handler = sqsHandler<Job>(
      async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
      },
      { client, concurrency: 3 },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(most).toBe(3);
  });
});

describe('sqsHandler: FIFO queues', () => {
  it('keeps each group in order; the first failure fails the rest of its group, other groups go on', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda', fifo: true });
    const messages = [
      { body: { id: 'a1' }, groupId: 'a' },
      { body: { id: 'b1' }, groupId: 'b' },
      { body: { id: 'a2', fail: true }, groupId: 'a' },
      { body: { id: 'b2' }, groupId: 'b' },
      { body: { id: 'a3' }, groupId: 'a' },
      { body: { id: 'b3' }, groupId: 'b' },
    ];
    // fauxqs hands out one message per group per receive (SQS hands out several, as Lambda's
    // batches show): each message travels in an SQS group of its own, and its record carries the
    // group Lambda would report.
    await sendAll(
      client,
      queueUrl,
      messages.map(({ body, groupId }) => ({ body, groupId: `${groupId}-${body.id}` })),
    );
    const received = await receiveAll(client, queueUrl, messages.length);
    const arn = await queueArn(client, queueUrl);
    const event: SQSEvent = {
      Records: messages.map(({ body, groupId }) => {
        const message = received.find((m) => (JSON.parse(m.Body as string) as Job).id === body.id);
        return toRecord(message as Message, arn, { MessageGroupId: groupId });
      }),
    };
    const handled: string[] = [];
    const handler = sqsHandler<Job>(
      async (message) => {
        handled.push(message.body.id);
        // Let the other group interleave: order must hold within each group regardless.
        await new Promise((resolve) => setImmediate(resolve));
        if (message.body.fail) throw new Error(`job ${message.body.id} failed`);
      },
      { client, retry: { backoff: { initialDelayMs: 3_000, jitter: 'none' } } },
    );
    const response = await handler(event, lambdaContext());
    const id = (name: string) => event.Records.find((r) => (bodyOf(r) as Job).id === name) as SQSEvent['Records'][0];
    expect(failedIds(response)).toEqual(
      event.Records.filter((r) => ['a2', 'a3'].includes((bodyOf(r) as Job).id)).map((r) => r.messageId),
    );
    expect(handled.filter((job) => job.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(handled.filter((job) => job.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    // The failed record backs off; the one held back behind it is released at once.
    expect(visibilitiesSet(sent)).toEqual({ [id('a2').receiptHandle]: 3, [id('a3').receiptHandle]: 0 });
  });
});
