// #region imports
import {
  CreateTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { createConsumer, type IdempotencyStore } from 'missive';
import { dynamoDbIdempotencyStore, idempotencyTableDefinition } from 'missive/dynamodb';
// #endregion imports

// Only for main() at the end, the docs test's run of two workers.
import { setTimeout } from 'node:timers/promises';
import { createProducer } from 'missive';
import { memoryQueue } from 'missive/memory';

/** Creates the table once, from a setup script (or model your infrastructure code on it). */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  // #region table
  const { table, timeToLive } = idempotencyTableDefinition(tableName);
  // One string partition key (`id`), billed on demand.
  await client.send(new CreateTableCommand(table));
  await waitUntilTableExists({ client, maxWaitTime: 120 }, { TableName: tableName });
  // DynamoDB deletes expired items by the `ttl` attribute (epoch seconds).
  await client.send(new UpdateTimeToLiveCommand(timeToLive));
  // #endregion table
}

/** What each worker process builds at startup, on its own client. */
export function createStore(client: DynamoDBClient, tableName: string): IdempotencyStore {
  // #region store
  return dynamoDbIdempotencyStore({
    client, // your DynamoDBClient; its retry settings apply
    tableName,
    ttlMs: 24 * 60 * 60 * 1000, // remember completed keys for a day
    keyPrefix: 'charges:', // lets several services share one table
  });
  // #endregion store
}

/**
 * For the docs test only: two workers, each with its own client and store on one table, consume
 * one queue that holds a charge twice. `clients` are DynamoDB Local's.
 */
export async function main({ clients, tableName }: { clients: readonly DynamoDBClient[]; tableName: string }) {
  await createTable(clients[0] as DynamoDBClient, tableName);
  const queue = memoryQueue({ name: 'charges', deadLetterQueue: memoryQueue({ name: 'charges-dlq' }) });
  const producer = createProducer<{ orderId: string }>({ transport: queue });
  for (const orderId of ['o-1', 'o-1', 'o-2'])
    await producer.send({ orderId }, { idempotencyKey: `charge:${orderId}` });

  const charged: string[] = [];
  const workers = clients.map((client) =>
    createConsumer<{ orderId: string }>({
      transport: queue,
      idempotency: { store: createStore(client, tableName), waitForInProgress: { timeoutMs: 10_000 } },
      handler: async (message) => {
        charged.push(message.body.orderId);
        await setTimeout(50);
      },
    }),
  );
  for (const worker of workers) worker.start();
  const settled = () => workers.reduce((sum, w) => sum + w.stats().acked + w.stats().duplicates, 0);
  while (settled() < 3) await setTimeout(10);
  await Promise.all(workers.map((worker) => worker.stop()));
  return { charged: charged.sort(), duplicates: workers.reduce((sum, w) => sum + w.stats().duplicates, 0) };
}
