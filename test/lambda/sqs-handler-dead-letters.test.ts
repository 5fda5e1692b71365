/** sqsHandler's dead letters: sent with failure metadata, left to the redrive policy, or retried when the send fails. */
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { createProducer, FailureReason, readFailureHeaders, UnrecoverableError } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { sqsQueue } from 'missive/sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { injectErrors } from '../helpers/sdk-middleware.ts';
import { createSqsQueue } from '../helpers/sqs.ts';
import { eventOf, queueArn, receiveAll, toRecord } from './events.ts';
import {
  destroyClients,
  failedIds,
  type Job,
  lambdaContext,
  recordedClient,
  visibilitiesSet,
} from './sqs-handler-fixtures.ts';

afterEach(destroyClients);

describe('sqsHandler: dead letters', () => {
  async function withDeadLetterQueue(client: SQSClient) {
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: `lambda-dlq-${process.pid}-${Date.now()}` }),
    );
    return { queueUrl, deadLetterQueueUrl: QueueUrl as string };
  }

  it('sends unrecoverable, invalid and exhausted records to the dead-letter queue with metadata, and reports them done', async () => {
    const { client } = recordedClient();
    let senders = 0;
    const { queueUrl, deadLetterQueueUrl } = await withDeadLetterQueue(client);
    const arn = await queueArn(client, queueUrl);
    const producer = createProducer({ transport: sqsQueue({ client, queueUrl }) });
    await producer.send({ id: 'poison' }, { headers: { tenant: 'acme' } });
    await producer.send({ id: 42 });
    await producer.send({ id: 'tired' });
    await producer.send({ id: 'fine' });
    const received = await receiveAll(client, queueUrl, 4);
    const event: SQSEvent = {
      Records: received.map((message) =>
        // The tired one arrives for the third time, with maxAttempts 3.
        toRecord(message, arn, message.Body?.includes('tired') ? { ApproximateReceiveCount: '3' } : {}),
      ),
    };
    const handler = sqsHandler<{ id: string }>(
      (message) => {
        if (message.body.id === 'poison') throw new UnrecoverableError('poison pill');
        if (message.body.id === 'tired') throw new Error('still failing');
      },
      {
        client,
        schema: z.object({ id: z.string() }),
        retry: { maxAttempts: 3 },
        // Made on the first dead letter, once.
        deadLetter: () => {
          senders++;
          return sqsQueue({ client, queueUrl: deadLetterQueueUrl });
        },
      },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(senders).toBe(1);
    const dead = await sqsQueue({ client, queueUrl: deadLetterQueueUrl }).receive({
      maxMessages: 10,
      waitTimeMs: 1_000,
    });
    const failures = Object.fromEntries(
      dead.map((letter) => [letter.envelope.body, readFailureHeaders(letter.envelope.headers)]),
    );
    expect(Object.keys(failures).sort()).toEqual(['{"id":"poison"}', '{"id":"tired"}', '{"id":42}']);
    expect(failures['{"id":"poison"}']).toMatchObject({
      reason: FailureReason.Unrecoverable,
      errorName: 'UnrecoverableError',
      errorMessage: 'poison pill',
      attempts: 1,
      source: queueUrl.replace(/^http:\/\/[^/]+/, 'https://sqs.us-east-1.amazonaws.com'),
    });
    expect(failures['{"id":42}']).toMatchObject({
      reason: FailureReason.InvalidBody,
      errorName: 'InvalidMessageError',
    });
    expect(failures['{"id":42}']?.issues?.map((issue) => issue.path)).toEqual([['id']]);
    expect(failures['{"id":"tired"}']).toMatchObject({ reason: FailureReason.AttemptsExhausted, attempts: 3 });
    const poison = dead.find((letter) => letter.envelope.body === '{"id":"poison"}');
    expect(poison?.envelope.headers.tenant).toBe('acme');
  });

  it('without a dead-letter queue, reports an unrecoverable record failed and leaves it to the redrive policy', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'poison' } }]);
    const handler = sqsHandler<Job>(
      () => {
        throw new UnrecoverableError('poison pill');
      },
      { client },
    );
    const before = sent.length;
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    // No call at all: no visibility change, no dead-letter send.
    expect(sent.slice(before)).toEqual([]);
  });

  it('reports a record failed, with its backoff, when its dead-letter send fails', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl, deadLetterQueueUrl } = await withDeadLetterQueue(client);
    const event = await eventOf(client, queueUrl, [{ body: { id: 'poison' } }]);
    injectErrors(client, (command) => (command === 'SendMessageBatchCommand' ? 'InternalError' : undefined));
    const errors: Error[] = [];
    const handler = sqsHandler<Job>(
      () => {
        throw new UnrecoverableError('poison pill');
      },
      {
        client,
        deadLetter: sqsQueue({ client, queueUrl: deadLetterQueueUrl }),
        retry: { backoff: { initialDelayMs: 4_000, jitter: 'none' } },
        onError: (error) => errors.push(error),
      },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^Dead-letter send of message \\S+ to ${deadLetterQueueUrl} failed \\(SendMessageBatch`),
      ),
    ]);
    expect(visibilitiesSet(sent)).toEqual({ [event.Records[0]?.receiptHandle as string]: 4 });
  });
});
