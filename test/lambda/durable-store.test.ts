/**
 * sqsHandler with the DynamoDB idempotency store on DynamoDB Local: what "many Lambda containers"
 * means for duplicates. Records are real (sent to fauxqs, received with their receipt handles).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { ManualClock } from 'missive';
import { dynamoDbIdempotencyStore } from 'missive/dynamodb';
import { sqsHandler } from 'missive/lambda';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { recordEnvelope } from '../../src/lambda/event.ts';
import { createIdempotencyTable, dynamoDbClient } from '../helpers/dynamodb.ts';
import { createSqsQueue, sqsClient, waitUntil } from '../helpers/sqs.ts';
import { eventOf } from './events.ts';

interface Job {
  readonly id: string;
}

const sqsClients: SQSClient[] = [];
const dynamoClients: DynamoDBClient[] = [];

afterAll(() => {
  for (const client of sqsClients) client.destroy();
  for (const client of dynamoClients) client.destroy();
});

/** A Lambda container's DynamoDB client: each container has its own. */
function container(): DynamoDBClient {
  const client = dynamoDbClient(inject('dynamoDbEndpoint'));
  dynamoClients.push(client);
  return client;
}

async function queue() {
  const client = sqsClient();
  sqsClients.push(client);
  const { queueUrl } = await createSqsQueue(client, { name: 'lambda-durable' });
  return { client, queueUrl };
}

const context = (remaining: () => number = () => 60_000) =>
  ({ getRemainingTimeInMillis: remaining }) as unknown as Context;

const failedIds = (response: SQSBatchResponse) => response.batchItemFailures.map((failure) => failure.itemIdentifier);

describe('sqsHandler with the DynamoDB idempotency store', () => {
  it('runs a record once across two containers, however its copies arrive', async () => {
    const { client, queueUrl } = await queue();
    const tableName = await createIdempotencyTable(container());
    const event = await eventOf(client, queueUrl, [{ body: { id: 'charge-1' } }, { body: { id: 'charge-2' } }]);
    const charged: string[] = [];
    let started = 0;
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handlerIn = (dynamo: DynamoDBClient) =>
      sqsHandler<Job>(
        async (message) => {
          started++;
          await slow;
          charged.push(message.body.id);
        },
        { client, idempotency: { store: dynamoDbIdempotencyStore({ client: dynamo, tableName }) } },
      );
    const first = handlerIn(container());
    const second = handlerIn(container());
    // The same batch in two containers at once (SQS is at least once): the second finds both
    // keys in progress and reports both failed, to come back later.
    const running = first(event, context());
    await waitUntil(() => started === 2);
    const meanwhile = await second(event, context());
    expect(failedIds(meanwhile).sort()).toEqual(event.Records.map((record) => record.messageId).sort());
    release();
    expect(failedIds(await running)).toEqual([]);
    // The copies come back: now duplicates, acknowledged without running the handler again.
    expect(failedIds(await second(event, context()))).toEqual([]);
    expect(charged.sort()).toEqual(['charge-1', 'charge-2']);
    expect(started).toBe(2);
  });

  it('releases the lease of a record given up at the timeout, so the next container runs it', async () => {
    const { client, queueUrl } = await queue();
    const tableName = await createIdempotencyTable(container());
    const event = await eventOf(client, queueUrl, [{ body: { id: 'stuck' } }]);
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    let started = 0;
    const stuck = sqsHandler<Job>(
      () => {
        started++;
        return new Promise(() => undefined);
      },
      {
        client,
        clock,
        timeoutMarginMs: 2_000,
        idempotency: { store: dynamoDbIdempotencyStore({ client: container(), tableName, clock }) },
      },
    );
    const response = stuck(
      event,
      context(() => deadline - clock.now()),
    );
    await waitUntil(() => started === 1);
    await clock.advance(9_000);
    expect(failedIds(await response)).toEqual([event.Records[0]?.messageId]);
    // Another container, its own client, well inside the first lease's time: the key is free.
    const store = dynamoDbIdempotencyStore({ client: container(), tableName, clock });
    const key = recordEnvelope(event.Records[0] as (typeof event.Records)[0]).idempotencyKey;
    expect((await store.begin(key, { leaseMs: 1_000 })).status).toBe('new');
  });
});
