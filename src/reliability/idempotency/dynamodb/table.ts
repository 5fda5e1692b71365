import type { CreateTableCommandInput, UpdateTimeToLiveCommandInput } from '@aws-sdk/client-dynamodb';

/** Options of {@link idempotencyTableDefinition}; match the store's. */
export interface IdempotencyTableOptions {
  /** The partition key's name. Default `id`. */
  readonly keyAttribute?: string;
  /** The attribute DynamoDB TTL deletes items by, in epoch seconds. Default `ttl`. */
  readonly ttlAttribute?: string;
}

/** What it takes to create an idempotency table: the table itself, then its time to live. */
export interface IdempotencyTableDefinition {
  /** Input of `CreateTableCommand`: a string partition key, on-demand capacity. */
  readonly table: CreateTableCommandInput & { TableName: string };
  /** Input of `UpdateTimeToLiveCommand`, sent once the table is active, so DynamoDB deletes expired items. */
  readonly timeToLive: UpdateTimeToLiveCommandInput;
}

/**
 * The shape of a table for {@link dynamoDbIdempotencyStore}: one string partition key and
 * nothing else, billed on demand, with DynamoDB TTL on the TTL attribute. Use it from a setup
 * script or as the model for your infrastructure code (CloudFormation, CDK, Terraform). TTL only
 * saves storage: expired items are ignored whether or not DynamoDB has deleted them yet.
 *
 * @example
 * ```ts
 * import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
 * import { idempotencyTableDefinition } from 'missive/dynamodb';
 *
 * const client = new DynamoDBClient({});
 * const { table, timeToLive } = idempotencyTableDefinition('orders-idempotency');
 * await client.send(new CreateTableCommand(table));
 * await waitUntilTableExists({ client, maxWaitTime: 120 }, { TableName: table.TableName });
 * await client.send(new UpdateTimeToLiveCommand(timeToLive));
 * ```
 */
export function idempotencyTableDefinition(
  tableName: string,
  options: IdempotencyTableOptions = {},
): IdempotencyTableDefinition {
  const keyAttribute = options.keyAttribute ?? 'id';
  return {
    table: {
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: keyAttribute, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: keyAttribute, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    },
    timeToLive: {
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: options.ttlAttribute ?? 'ttl', Enabled: true },
    },
  };
}
