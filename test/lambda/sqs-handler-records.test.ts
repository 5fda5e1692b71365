/** What sqsHandler reads from a record and an event, and the options it refuses. */
import type { SQSEvent } from 'aws-lambda';
import { ConfigurationError, RetryLaterError } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { queueUrlOfArn } from '../../src/lambda/event.ts';
import { createSqsQueue } from '../helpers/sqs.ts';
import { createEvent, eventOf } from './events.ts';
import {
  destroyClients,
  failedIds,
  fakeRecord,
  type Job,
  lambdaContext,
  recordedClient,
  visibilitiesSet,
} from './sqs-handler-fixtures.ts';

afterEach(destroyClients);

describe('sqsHandler: records', () => {
  it("reads a record from another producer (the SQS template's own) from its SQS fields", async () => {
    const event = createEvent('aws:sqs', { Records: [{ body: '{"id":"foreign"}' } as SQSEvent['Records'][0]] });
    const seen: unknown[] = [];
    const handler = sqsHandler<Job>((message, { attempt }) => void seen.push({ ...message, attempt }));
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(seen).toEqual([
      {
        id: '059f36b4-87a3-44ab-83d2-661975830a7d',
        body: { id: 'foreign' },
        headers: {},
        idempotencyKey: '059f36b4-87a3-44ab-83d2-661975830a7d',
        createdAt: 1545082649183,
        groupId: undefined,
        attempt: 1,
      },
    ]);
  });

  it('reads message attributes whose unused value is null, as some producers send them', async () => {
    const record = createEvent('aws:sqs', { Records: [{ body: '{"id":"nulls"}' } as SQSEvent['Records'][0]] })
      .Records[0] as SQSEvent['Records'][0];
    const event = {
      Records: [
        {
          ...record,
          messageAttributes: {
            tenant: {
              stringValue: 'acme',
              binaryValue: null,
              stringListValues: [],
              binaryListValues: [],
              dataType: 'String',
            },
            blob: {
              stringValue: null,
              binaryValue: 'AAEC',
              stringListValues: [],
              binaryListValues: [],
              dataType: 'Binary',
            },
          },
        },
      ],
    } as unknown as SQSEvent;
    const seen: unknown[] = [];
    const handler = sqsHandler<Job>((message) => void seen.push(message.headers));
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(seen).toEqual([{ tenant: 'acme', blob: 'AAEC' }]);
  });

  it.each([
    ['not JSON', 'missive v1'],
    ['an id that is not a string', JSON.stringify({ i: 7, t: 1 })],
    ['headers that are not strings', JSON.stringify({ i: 'm-1', t: 1, h: { tenant: 42 } })],
    ['headers that are not an object', JSON.stringify({ i: 'm-1', t: 1, h: 'tenant' })],
  ])('reads a record whose "missive" attribute is another producer\'s (%s) as foreign', async (_, value) => {
    const record = createEvent('aws:sqs', { Records: [{ body: '{"id":"foreign"}' } as SQSEvent['Records'][0]] })
      .Records[0] as SQSEvent['Records'][0];
    const event = {
      Records: [{ ...record, messageAttributes: { missive: { stringValue: value, dataType: 'String' } } }],
    } as unknown as SQSEvent;
    const seen: { id: string; headers: unknown }[] = [];
    const handler = sqsHandler<Job>((message) => void seen.push({ id: message.id, headers: message.headers }));
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(seen).toEqual([{ id: record.messageId, headers: {} }]);
  });

  it('derives the queue URL from the ARN, in the standard and China partitions', () => {
    expect(queueUrlOfArn('arn:aws:sqs:eu-west-1:123456789012:orders')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
    );
    expect(queueUrlOfArn('arn:aws-cn:sqs:cn-north-1:123456789012:orders.fifo')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/orders.fifo',
    );
  });

  it('changes visibility on the queue URL the queueUrl option gives, rather than one derived from the ARN', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'bad', fail: true } }]);
    const arns: string[] = [];
    const handler = sqsHandler<Job>(
      () => {
        throw new Error('no');
      },
      {
        client,
        queueUrl: (arn) => {
          arns.push(arn);
          return queueUrl;
        },
      },
    );
    await handler(event, lambdaContext());
    expect(arns).toEqual([event.Records[0]?.eventSourceARN]);
    const change = sent.find((command) => command.name === 'ChangeMessageVisibilityBatchCommand');
    expect(change?.input.QueueUrl).toBe(queueUrl);
  });

  it('sets the visibility a RetryLaterError asks for', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'later' } }]);
    const handler = sqsHandler<Job>(
      () => {
        throw new RetryLaterError('rate limited', { delayMs: 42_500 });
      },
      { client },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    expect(visibilitiesSet(sent)).toEqual({ [event.Records[0]?.receiptHandle as string]: 43 });
  });
});

describe('sqsHandler: options', () => {
  it.each([
    ['concurrency', { concurrency: 0 }],
    ['timeoutMarginMs', { timeoutMarginMs: -1 }],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
    ['retry.backoff.initialDelayMs', { retry: { backoff: { initialDelayMs: 1.5 } } }],
    ['deadLetter', { deadLetter: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/orders-dlq' } }],
    ['queueUrl', { queueUrl: 'orders' }],
    ['client', { client: {} }],
    ['idempotency.store', { idempotency: {} }],
  ])('rejects an invalid %s with a ConfigurationError naming it', (option, options) => {
    const attempt = () => sqsHandler(() => undefined, options as never);
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(`Invalid option ${option}:`);
  });

  it('rejects an event that is not from an SQS event source mapping', async () => {
    const handler = sqsHandler(() => undefined);
    await expect(handler({} as never, lambdaContext())).rejects.toThrow(/an SQS event/);
    await expect(
      handler(
        { Records: [{ ...(await fakeRecord()), eventSourceARN: 'arn:aws:sns:us-east-1:1:topic' }] },
        lambdaContext(),
      ),
    ).rejects.toThrow(/eventSourceARN|SQS queue ARN/);
  });
});
