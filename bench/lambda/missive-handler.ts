/**
 * The Missive side of the cold start benchmark: `sqsHandler` from `missive/lambda` with the
 * DynamoDB idempotency store from `missive/dynamodb`, everything else at its defaults. Same work,
 * and the same single `DynamoDBClient`, built at import, as the Powertools side. The idempotency
 * key is Missive's default, the message's idempotency key, which for a record sent without
 * Missive is its SQS message id, as on the Powertools side. The `SQSClient` for per-record
 * backoff is created on the first failed record, so the SQS SDK is not loaded at import.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbIdempotencyStore } from 'missive/dynamodb';
import { sqsHandler } from 'missive/lambda';
import { fulfil, type Order } from './work.ts';

const store = dynamoDbIdempotencyStore({
  client: new DynamoDBClient({}),
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
});

export const handler = sqsHandler<Order>(async (message) => fulfil(message.body), { idempotency: { store } });
