import { randomUUID } from 'node:crypto';
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { type Clock, systemClock } from '../../../clock.ts';
import { ConfigurationError, IdempotencyTableNotFoundError } from '../../../errors.ts';
import { integerOption } from '../../../options.ts';
import type { BeginResult, IdempotencyStore } from '../store.ts';
import { expiresAtOf, FIXED_ATTRIBUTES, foundItem, type Item, MAX_ITEM_BYTES, ttlSeconds } from './item.ts';

/** Options of {@link dynamoDbIdempotencyStore}. */
export interface DynamoDbIdempotencyStoreOptions {
  /** Your `DynamoDBClient`; the store never creates one. Its retries apply to every call. */
  readonly client: DynamoDBClient;
  /** The table's name (or ARN); see `idempotencyTableDefinition` for its shape. */
  readonly tableName: string;
  /** How long a completed key is remembered, in milliseconds. Default 3 600 000 (1 hour); at least 1. */
  readonly ttlMs?: number;
  /**
   * The table's partition key, a string attribute. Default `id`; not one of the store's own
   * attributes (`status`, `expiresAtMs`, `token`, `fingerprint`, `result`).
   */
  readonly keyAttribute?: string;
  /**
   * The attribute that holds the expiry in epoch seconds, for DynamoDB TTL: enable TTL on it.
   * Default `ttl`; neither `keyAttribute` nor one of the store's own attributes.
   */
  readonly ttlAttribute?: string;
  /** Prepended to every idempotency key, to share one table between services. Default none. */
  readonly keyPrefix?: string;
  /**
   * Clock that leases and time to live are measured on. Default the system clock. Workers
   * compare expiry times written by each other, so keep their clocks in sync (NTP).
   */
  readonly clock?: Clock;
}

type Command = PutItemCommand | UpdateItemCommand | DeleteItemCommand | GetItemCommand;

/** Extra placeholders of an expression. */
interface Expression {
  readonly names?: Record<string, string>;
  readonly values?: Item;
}

/** The condition every write by a lease holder carries. */
interface Condition {
  readonly ConditionExpression: string;
  readonly ExpressionAttributeNames: Record<string, string>;
  readonly ExpressionAttributeValues: Item;
}

/**
 * An idempotency store in a DynamoDB table, shared by every worker and Lambda container that
 * uses it. Each call is one conditional write, so DynamoDB itself arbitrates races:
 *
 * - `begin` is a `PutItem` conditioned on `attribute_not_exists(id) OR expiresAtMs <= now`;
 *   when the condition fails, the item in the way comes back with the failure
 *   (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), so no second, possibly stale, read is made.
 *   (Endpoints that do not return it get a `GetItem` with `ConsistentRead: true` instead.)
 * - `complete` and `renew` are `UpdateItem`s, and `release` a `DeleteItem`, conditioned on
 *   `token = :token AND status = in-progress AND expiresAtMs > now`.
 *
 * Item layout: the partition key (`keyPrefix` + key), `status`, `expiresAtMs`, `token`,
 * `fingerprint`, `result`, and `ttl` in epoch seconds; enable DynamoDB TTL on `ttl` so expired
 * items are deleted (it only saves storage: expired items are ignored either way).
 *
 * An item holds at most 400 KB. A result that would make it larger is not stored: the key is
 * still completed, and duplicates get `completed` without a result. Keep results small; the
 * idempotency step caps them at `maxResultBytes` (64 KiB by default). Keys (with the prefix)
 * may be up to 2 048 bytes.
 *
 * A missing table rejects with {@link IdempotencyTableNotFoundError}; every other failure
 * (throttling, 5xx, network) rejects with the SDK's own error, after the client's retries, which
 * the idempotency step wraps in an `IdempotencyStoreError` and retries the message. A `complete`
 * that rejects leaves the key not done. Bad options throw a `ConfigurationError` at once.
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { dynamoDbIdempotencyStore } from 'missive/dynamodb';
 *
 * const store = dynamoDbIdempotencyStore({
 *   client: new DynamoDBClient({}),
 *   tableName: 'orders-idempotency',
 *   ttlMs: 24 * 60 * 60 * 1000,
 * });
 * createConsumer({ transport: queue, handler, idempotency: { store, leaseMs: 60_000 } });
 * ```
 */
export function dynamoDbIdempotencyStore(options: DynamoDbIdempotencyStoreOptions): IdempotencyStore {
  const client = options.client;
  if (typeof client?.send !== 'function') throw new ConfigurationError('client', client, 'a DynamoDBClient');
  const tableName = stringOption('tableName', options.tableName, undefined);
  const ttlMs = integerOption('ttlMs', options.ttlMs, 3_600_000, 1);
  const keyAttribute = stringOption('keyAttribute', options.keyAttribute, 'id');
  const ttlAttribute = stringOption('ttlAttribute', options.ttlAttribute, 'ttl');
  if (FIXED_ATTRIBUTES.includes(keyAttribute)) {
    throw new ConfigurationError('keyAttribute', keyAttribute, `a name other than ${FIXED_ATTRIBUTES.join(', ')}`);
  }
  if (FIXED_ATTRIBUTES.includes(ttlAttribute) || ttlAttribute === keyAttribute) {
    const taken = [...FIXED_ATTRIBUTES, keyAttribute].join(', ');
    throw new ConfigurationError('ttlAttribute', ttlAttribute, `a name other than ${taken}`);
  }
  const keyPrefix = options.keyPrefix ?? '';
  if (typeof keyPrefix !== 'string') throw new ConfigurationError('keyPrefix', keyPrefix, 'a string');
  const clock = options.clock ?? systemClock;

  const keyOf = (key: string): Item => ({ [keyAttribute]: { S: keyPrefix + key } });

  const send = async <T>(command: Command): Promise<T> => {
    try {
      // One call site for four command types; the SDK's `send` overloads want one at a time.
      return (await client.send(command as PutItemCommand)) as T;
    } catch (error) {
      if ((error as { name?: unknown } | undefined)?.name !== 'ResourceNotFoundException') throw error;
      throw new IdempotencyTableNotFoundError(tableName, await regionOf(client), error);
    }
  };

  /** Sends the write `make` builds, conditioned on `token` holding the current lease; false when it does not. */
  const whileHeld = async (token: string, make: (condition: Condition) => Command, more: Expression = {}) => {
    const condition: Condition = {
      ConditionExpression: '#token = :token AND #status = :inProgress AND #expiresAt > :now',
      ExpressionAttributeNames: {
        ...more.names,
        '#token': 'token',
        '#status': 'status',
        '#expiresAt': 'expiresAtMs',
      },
      ExpressionAttributeValues: {
        ...more.values,
        ':token': { S: token },
        ':inProgress': { S: 'in-progress' },
        ':now': { N: String(clock.now()) },
      },
    };
    try {
      await send(make(condition));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  };

  /** Moves the expiry (and TTL) to `expiresAtMs` and `SET`s `more`, while `token` holds the lease. */
  const update = (key: string, token: string, expiresAtMs: number, more: Expression & { set?: string } = {}) =>
    whileHeld(
      token,
      (condition) =>
        new UpdateItemCommand({
          TableName: tableName,
          Key: keyOf(key),
          UpdateExpression: `SET #expiresAt = :expiresAt, #ttl = :ttl${more.set ?? ''}`,
          ...condition,
        }),
      {
        names: { ...more.names, '#ttl': ttlAttribute },
        values: {
          ...more.values,
          ':expiresAt': { N: String(expiresAtMs) },
          ':ttl': { N: String(ttlSeconds(expiresAtMs)) },
        },
      },
    );

  const complete = (key: string, token: string, result: string | undefined) => {
    const completed = { ':completed': { S: 'completed' } };
    return update(
      key,
      token,
      clock.now() + ttlMs,
      result === undefined
        ? { set: ', #status = :completed', values: completed }
        : {
            set: ', #status = :completed, #result = :result',
            names: { '#result': 'result' },
            values: { ...completed, ':result': { S: result } },
          },
    );
  };

  return {
    async begin(key, { leaseMs, fingerprint }): Promise<BeginResult> {
      const now = clock.now();
      const lease = { token: randomUUID(), expiresAt: now + leaseMs };
      const item: Item = {
        ...keyOf(key),
        status: { S: 'in-progress' },
        expiresAtMs: { N: String(lease.expiresAt) },
        [ttlAttribute]: { N: String(ttlSeconds(lease.expiresAt)) },
        token: { S: lease.token },
        ...(fingerprint === undefined ? {} : { fingerprint: { S: fingerprint } }),
      };
      try {
        await send(
          new PutItemCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#id) OR #expiresAt <= :now',
            ExpressionAttributeNames: { '#id': keyAttribute, '#expiresAt': 'expiresAtMs' },
            ExpressionAttributeValues: { ':now': { N: String(now) } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { status: 'new', lease };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        let blocking = (error as { Item?: Item }).Item;
        // An endpoint without ReturnValuesOnConditionCheckFailure (an old emulator): read it, strongly.
        blocking ??= (
          await send<{ Item?: Item }>(
            new GetItemCommand({ TableName: tableName, Key: keyOf(key), ConsistentRead: true }),
          )
        ).Item;
        // Released or lapsed since the write: report a lease that lapses now, so the caller looks again at once.
        if (blocking === undefined || !(expiresAtOf(blocking) > now)) return { status: 'in-progress', expiresAt: now };
        return foundItem(blocking, fingerprint);
      }
    },

    async complete(key, token, result) {
      // Nothing over the item limit can fit: skip the doomed attempt and complete without it.
      if (result !== undefined && Buffer.byteLength(result, 'utf8') >= MAX_ITEM_BYTES) {
        return complete(key, token, undefined);
      }
      try {
        return await complete(key, token, result);
      } catch (error) {
        if (result === undefined || !isItemTooLarge(error)) throw error;
        return complete(key, token, undefined);
      }
    },

    release(key, token) {
      return whileHeld(
        token,
        (condition) => new DeleteItemCommand({ TableName: tableName, Key: keyOf(key), ...condition }),
      );
    },

    renew(key, token, leaseMs) {
      return update(key, token, clock.now() + leaseMs);
    },
  };
}

function stringOption(name: string, value: string | undefined, fallback: string | undefined): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || value === '') throw new ConfigurationError(name, value, 'a non-empty string');
  return value;
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** DynamoDB's answer to a write over 400 KB: a ValidationException about the item size. */
function isItemTooLarge(error: unknown): boolean {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  return name === 'ValidationException' && typeof message === 'string' && /item size/i.test(message);
}

async function regionOf(client: DynamoDBClient): Promise<string | undefined> {
  try {
    return await client.config.region();
  } catch {
    return undefined;
  }
}
