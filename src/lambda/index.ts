/**
 * Missive in AWS Lambda: the handler you give `createConsumer`, run by an SQS event source
 * mapping with partial batch responses. Import from `missive/lambda`. It loads no AWS SDK until
 * a record fails (then `@aws-sdk/client-sqs`, for the visibility change), so a cold start pays
 * only for what it uses.
 *
 * @module
 */
export type {
  LambdaContext,
  SqsBatchResponse,
  SqsEvent,
  SqsRecord,
  SqsRecordAttributes,
  SqsRecordMessageAttribute,
} from './event.ts';
export { type SqsHandlerOptions, type SqsLambdaHandler, sqsHandler } from './handler.ts';
export type { SqsClientSource } from './sqs-calls.ts';
