/**
 * The Powertools side of the cold start benchmark: an SQS handler with partial batch responses
 * (`@aws-lambda-powertools/batch`) and per-record idempotency in DynamoDB
 * (`@aws-lambda-powertools/idempotency`), as the Powertools docs combine them. Same work, same
 * idempotency key (the SQS message id) and the same single `DynamoDBClient`, built at import, as
 * the Missive side.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { fulfil, type Order } from './work.ts';

const processor = new BatchProcessor(EventType.SQS);
const persistenceStore = new DynamoDBPersistenceLayer({
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
  awsSdkV3Client: new DynamoDBClient({}),
});
const config = new IdempotencyConfig({ eventKeyJmesPath: 'messageId' });

const processRecord = makeIdempotent(async (record: SQSRecord) => fulfil(JSON.parse(record.body) as Order), {
  persistenceStore,
  config,
});

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  config.registerLambdaContext(context);
  return processPartialResponse(event, processRecord, processor, { context });
};
