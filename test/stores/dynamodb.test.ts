import { randomUUID } from 'node:crypto';
import {
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  GetItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  ConfigurationError,
  ErrorCode,
  type IdempotencyStore,
  IdempotencyTableNotFoundError,
  isMissiveErrorCode,
} from 'missive';
import { dynamoDbIdempotencyStore, idempotencyTableDefinition } from 'missive/dynamodb';
import { ManualClock } from 'missive/memory';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createIdempotencyTable,
  dropConnections,
  dynamoDbClient,
  injectDynamoDbErrors,
  recordCommands,
} from '../helpers/dynamodb.ts';
import { describeIdempotencyStore, type StoreFixture } from './suite.ts';

const endpoint = inject('dynamoDbEndpoint');
const clients: DynamoDBClient[] = [];
const client = () => {
  const created = dynamoDbClient(endpoint);
  clients.push(created);
  return created;
};
afterAll(() => {
  for (const created of clients.splice(0)) created.destroy();
});

let sharedTable: Promise<string> | undefined;
/** One table for the conformance suite; each store gets its own key prefix in it. */
const table = () => {
  sharedTable ??= createIdempotencyTable(client());
  return sharedTable;
};
const prefix = () => `test:${randomUUID()}:`;

/** The conformance fixture: each store on its own client, whose requests an outage drops. */
function fixture(): StoreFixture {
  const down = new Map<IdempotencyStore, { value: boolean }>();
  return {
    async create({ clock, ttlMs }) {
      const flag = { value: false };
      const own = client();
      dropConnections(own, () => flag.value);
      const store = dynamoDbIdempotencyStore({
        client: own,
        tableName: await table(),
        keyPrefix: prefix(),
        clock,
        ttlMs,
      });
      down.set(store, flag);
      return store;
    },
    async outage(store) {
      const flag = down.get(store);
      if (!flag) throw new Error('outage of a store this fixture did not create');
      flag.value = true;
      return {
        async restore() {
          flag.value = false;
        },
      };
    },
  };
}

describeIdempotencyStore('DynamoDB', fixture());

describe('dynamoDbIdempotencyStore', () => {
  let tableName: string;
  beforeAll(async () => {
    tableName = await table();
  });

  /** A store with its own clock, client and key prefix, and a way to read its raw items. */
  const setup = (
    options: { ttlMs?: number; clock?: ManualClock; client?: DynamoDBClient; keyPrefix?: string } = {},
  ) => {
    const clock = options.clock ?? new ManualClock();
    const keyPrefix = options.keyPrefix ?? prefix();
    const own = options.client ?? client();
    const store = dynamoDbIdempotencyStore({
      client: own,
      tableName,
      clock,
      keyPrefix,
      ...(options.ttlMs ? { ttlMs: options.ttlMs } : {}),
    });
    const read = async (key: string, table = tableName, keyAttribute = 'id') =>
      (
        await own.send(
          new GetItemCommand({
            TableName: table,
            Key: { [keyAttribute]: { S: keyPrefix + key } },
            ConsistentRead: true,
          }),
        )
      ).Item;
    return { clock, store, client: own, keyPrefix, read };
  };

  const claim = async (
    store: IdempotencyStore,
    key: string,
    options: { leaseMs?: number; fingerprint?: string } = {},
  ) => {
    const begun = await store.begin(key, { leaseMs: 10_000, ...options });
    if (begun.status !== 'new') throw new Error(`expected to claim ${key}, got ${begun.status}`);
    return begun.lease;
  };

  describe('item layout', () => {
    it('writes the lease, then the completion, with expiresAtMs in milliseconds and ttl in seconds rounded up', async () => {
      // A clock that is not on a whole second, so rounding shows.
      const clock = new ManualClock(Date.UTC(2026, 0, 1) + 1_234);
      const { store, read, keyPrefix } = setup({ clock, ttlMs: 600_000 });
      const lease = await claim(store, 'order:1', { leaseMs: 30_000, fingerprint: 'fp-a' });
      expect(await read('order:1')).toEqual({
        id: { S: `${keyPrefix}order:1` },
        status: { S: 'in-progress' },
        expiresAtMs: { N: String(clock.now() + 30_000) },
        ttl: { N: String(Math.ceil((clock.now() + 30_000) / 1000)) },
        token: { S: lease.token },
        fingerprint: { S: 'fp-a' },
      });
      expect(lease.expiresAt).toBe(clock.now() + 30_000);

      await clock.advance(5_000);
      expect(await store.renew('order:1', lease.token, 90_000)).toBe(true);
      expect(await read('order:1')).toMatchObject({
        status: { S: 'in-progress' },
        expiresAtMs: { N: String(clock.now() + 90_000) },
        ttl: { N: String(Math.ceil((clock.now() + 90_000) / 1000)) },
      });

      await clock.advance(5_000);
      expect(await store.complete('order:1', lease.token, '{"receipt":"r-1"}')).toBe(true);
      const completedUntil = clock.now() + 600_000;
      expect(await read('order:1')).toEqual({
        id: { S: `${keyPrefix}order:1` },
        status: { S: 'completed' },
        expiresAtMs: { N: String(completedUntil) },
        ttl: { N: String(Math.ceil(completedUntil / 1000)) },
        token: { S: lease.token },
        fingerprint: { S: 'fp-a' },
        result: { S: '{"receipt":"r-1"}' },
      });
      expect(Number((await read('order:1'))?.ttl?.N) * 1000).toBeGreaterThanOrEqual(completedUntil);
    });

    it('deletes the item on release', async () => {
      const { store, read } = setup();
      const lease = await claim(store, 'order:1');
      expect(await store.release('order:1', lease.token)).toBe(true);
      expect(await read('order:1')).toBeUndefined();
    });

    it('uses the key and TTL attribute names it is given, on a table made by idempotencyTableDefinition', async () => {
      const own = client();
      const custom = await createIdempotencyTable(own, { keyAttribute: 'pk' });
      const clock = new ManualClock();
      const store = dynamoDbIdempotencyStore({
        client: own,
        tableName: custom,
        keyAttribute: 'pk',
        ttlAttribute: 'expires_at',
        clock,
      });
      const lease = await claim(store, 'order:1');
      expect(await store.complete('order:1', lease.token)).toBe(true);
      const item = (await own.send(new GetItemCommand({ TableName: custom, Key: { pk: { S: 'order:1' } } }))).Item;
      expect(item).toMatchObject({
        pk: { S: 'order:1' },
        status: { S: 'completed' },
        expires_at: { N: String(Math.ceil((clock.now() + 3_600_000) / 1000)) },
      });
      expect(item).not.toHaveProperty('ttl');
      expect(item).not.toHaveProperty('result');
    });

    it('gives a definition whose time to live DynamoDB accepts, on the TTL attribute', async () => {
      const own = client();
      const name = await createIdempotencyTable(own);
      const { timeToLive } = idempotencyTableDefinition(name);
      await own.send(new UpdateTimeToLiveCommand(timeToLive));
      const described = await own.send(new DescribeTimeToLiveCommand({ TableName: name }));
      expect(described.TimeToLiveDescription).toMatchObject({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
    });
  });

  describe('results near the 400 KB item limit', () => {
    it('stores and returns a result of 400 000 bytes, which still fits in one item', async () => {
      const { store } = setup();
      const result = 'r'.repeat(400_000);
      const lease = await claim(store, 'order:1', { fingerprint: 'x'.repeat(43) });
      expect(await store.complete('order:1', lease.token, result)).toBe(true);
      const begun = await store.begin('order:1', { leaseMs: 10_000, fingerprint: 'x'.repeat(43) });
      expect(begun.status === 'completed' && begun.result === result).toBe(true);
    });

    it('completes the key without the result when DynamoDB refuses the item as too large', async () => {
      const { store, client: own } = setup();
      const sent = recordCommands(own);
      const lease = await claim(store, 'order:1');
      // Under 400 KiB by itself, over it with the item's other attributes.
      expect(await store.complete('order:1', lease.token, 'r'.repeat(409_550))).toBe(true);
      expect(sent.map(({ name }) => name)).toEqual(['PutItemCommand', 'UpdateItemCommand', 'UpdateItemCommand']);
      expect(await store.begin('order:1', { leaseMs: 10_000 })).toEqual({ status: 'completed' });
    });

    it('does not send a result larger than an item can ever be, and still completes the key', async () => {
      const { store, client: own } = setup();
      const sent = recordCommands(own);
      const lease = await claim(store, 'order:1');
      expect(await store.complete('order:1', lease.token, '€'.repeat(140_000))).toBe(true);
      const updates = sent.filter(({ name }) => name === 'UpdateItemCommand');
      expect(updates).toHaveLength(1);
      expect(JSON.stringify(updates[0]?.input)).not.toContain('€');
      expect(await store.begin('order:1', { leaseMs: 10_000 })).toEqual({ status: 'completed' });
    });
  });

  describe('failures', () => {
    it('rejects with IdempotencyTableNotFoundError naming the table, the region and the fix', async () => {
      const store = dynamoDbIdempotencyStore({ client: client(), tableName: 'no-such-table' });
      const error = await store.begin('order:1', { leaseMs: 10_000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(IdempotencyTableNotFoundError);
      expect(isMissiveErrorCode(error, ErrorCode.IdempotencyTableNotFound)).toBe(true);
      expect(error).toMatchObject({ tableName: 'no-such-table', region: 'us-east-1' });
      expect((error as Error).message).toBe(
        'DynamoDB table no-such-table does not exist in region us-east-1 (DynamoDB ResourceNotFoundException), ' +
          'so idempotency keys cannot be recorded and every delivery is retried. ' +
          "Create it (idempotencyTableDefinition('no-such-table') from missive/dynamodb gives its shape), " +
          "or check the client's region and endpoint.",
      );
      expect(((error as Error).cause as Error).name).toBe('ResourceNotFoundException');
      await expect(store.complete('order:1', 'token', '"r"')).rejects.toBeInstanceOf(IdempotencyTableNotFoundError);
    });

    it.each([
      ['throttled', 'ProvisionedThroughputExceededException'],
      ['throttled by the account', 'ThrottlingException'],
      ['failing with a 500', 'InternalServerError'],
      ['unreachable', undefined],
    ])(
      'rejects complete with the SDK error while DynamoDB is %s, and leaves the key held, not completed',
      async (_, code) => {
        const clock = new ManualClock();
        const keyPrefix = prefix();
        const { store, client: own } = setup({ clock, keyPrefix });
        const witness = setup({ clock, keyPrefix }).store;
        let failing = false;
        if (code)
          injectDynamoDbErrors(own, (command) => (failing && command === 'UpdateItemCommand' ? code : undefined));
        else dropConnections(own, () => failing);
        const lease = await claim(store, 'order:1');
        failing = true;
        const error = await store.complete('order:1', lease.token, '"r"').catch((caught: unknown) => caught);
        expect(error).toMatchObject(code ? { name: code } : { code: 'ECONNRESET' });
        expect(await witness.begin('order:1', { leaseMs: 10_000 })).toEqual({
          status: 'in-progress',
          expiresAt: lease.expiresAt,
        });
        // Once the lease lapses, the redelivery processes the key.
        await clock.advance(10_000);
        expect((await witness.begin('order:1', { leaseMs: 10_000 })).status).toBe('new');
      },
    );
  });

  describe('consistency', () => {
    it('decides every call from its conditional write alone, never from a read', async () => {
      const { store, client: own } = setup();
      const sent = recordCommands(own);
      const lease = await claim(store, 'order:1', { fingerprint: 'fp-a' });
      await store.begin('order:1', { leaseMs: 10_000, fingerprint: 'fp-a' });
      await store.renew('order:1', lease.token, 10_000);
      await store.complete('order:1', lease.token, '"r"');
      await store.begin('order:1', { leaseMs: 10_000, fingerprint: 'fp-b' });
      expect(sent.map(({ name }) => name)).toEqual([
        'PutItemCommand',
        'PutItemCommand',
        'UpdateItemCommand',
        'UpdateItemCommand',
        'PutItemCommand',
      ]);
      expect(sent[1]?.input).toMatchObject({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD' });
    });

    it('falls back to a strongly consistent read where a failed write does not return the item', async () => {
      const { clock, store, client: own } = setup();
      // What an endpoint without ReturnValuesOnConditionCheckFailure answers: the failure alone.
      own.middlewareStack.add(
        (next) => async (args) => {
          try {
            return await next(args);
          } catch (error) {
            if ((error as Error).name === 'ConditionalCheckFailedException') delete (error as { Item?: unknown }).Item;
            throw error;
          }
        },
        { step: 'initialize', name: 'strip-item' },
      );
      const sent = recordCommands(own);
      const lease = await claim(store, 'order:1', { fingerprint: 'fp-a' });
      expect(await store.begin('order:1', { leaseMs: 10_000, fingerprint: 'fp-a' })).toEqual({
        status: 'in-progress',
        expiresAt: lease.expiresAt,
      });
      expect(await store.begin('order:1', { leaseMs: 10_000, fingerprint: 'fp-b' })).toEqual({
        status: 'conflict',
        fingerprint: 'fp-a',
      });
      await clock.advance(1_000);
      expect(await store.complete('order:1', lease.token, '"r"')).toBe(true);
      expect(await store.begin('order:1', { leaseMs: 10_000, fingerprint: 'fp-a' })).toEqual({
        status: 'completed',
        result: '"r"',
      });
      const reads = sent.filter(({ name }) => name === 'GetItemCommand');
      expect(reads).toHaveLength(3);
      for (const read of reads) expect(read.input).toMatchObject({ ConsistentRead: true });
    });

    it('lets exactly one of 20 concurrent begins from four clients take over a lapsed lease', async () => {
      const clock = new ManualClock();
      const keyPrefix = prefix();
      const stores = Array.from({ length: 4 }, () => setup({ clock, keyPrefix }).store);
      await claim(stores[0] as IdempotencyStore, 'order:1', { leaseMs: 60_000 });
      await clock.advance(60_000);
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (stores[i % 4] as IdempotencyStore).begin('order:1', { leaseMs: 60_000 })),
      );
      expect(results.filter((result) => result.status === 'new')).toHaveLength(1);
      const expiresAt = clock.now() + 60_000;
      expect(results.filter((result) => result.status === 'in-progress')).toEqual(
        Array.from({ length: 19 }, () => ({ status: 'in-progress', expiresAt })),
      );
    });

    it("refuses a stale worker's complete, release and renew issued concurrently with the takeover", async () => {
      const clock = new ManualClock();
      const keyPrefix = prefix();
      const { store } = setup({ clock, keyPrefix });
      const staleWorker = setup({ clock, keyPrefix }).store;
      const { token } = await claim(staleWorker, 'order:1', { leaseMs: 10_000 });
      await clock.advance(10_000);
      const staleCalls = () =>
        Array.from({ length: 5 }, () => [
          staleWorker.complete('order:1', token, '"stale"'),
          staleWorker.release('order:1', token),
          staleWorker.renew('order:1', token, 10_000),
        ]).flat();
      const [takeover, ...refused] = await Promise.all([store.begin('order:1', { leaseMs: 10_000 }), ...staleCalls()]);
      expect(refused).toEqual(Array(15).fill(false));
      if (takeover?.status !== 'new') throw new Error(`expected new, got ${takeover?.status}`);
      expect(await store.complete('order:1', takeover.lease.token, '"current"')).toBe(true);
      expect(await store.begin('order:1', { leaseMs: 10_000 })).toEqual({ status: 'completed', result: '"current"' });
    });
  });

  describe('options', () => {
    it.each([
      ['tableName', { tableName: '' }],
      ['ttlMs', { ttlMs: 0 }],
      ['keyAttribute', { keyAttribute: 'status' }],
      ['ttlAttribute', { ttlAttribute: 'id' }],
      ['keyPrefix', { keyPrefix: 7 as unknown as string }],
    ])('refuses an invalid %s', (option, invalid) => {
      let caught: unknown;
      try {
        dynamoDbIdempotencyStore({ client: client(), tableName: 'idempotency', ...invalid });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigurationError);
      expect(caught).toMatchObject({ option });
    });
  });
});
