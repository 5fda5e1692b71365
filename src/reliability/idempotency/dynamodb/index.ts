/**
 * The DynamoDB idempotency store. Import from `missive/dynamodb`; it works on your own
 * `DynamoDBClient` from `@aws-sdk/client-dynamodb` (an optional peer dependency) and imports
 * only the four item commands it sends.
 *
 * @module
 */
export { type DynamoDbIdempotencyStoreOptions, dynamoDbIdempotencyStore } from './store.ts';
export { type IdempotencyTableDefinition, type IdempotencyTableOptions, idempotencyTableDefinition } from './table.ts';
