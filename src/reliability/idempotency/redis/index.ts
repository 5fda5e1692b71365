/**
 * The Redis idempotency store. Import from `missive/redis`; it works on your own node-redis
 * (`redis`) or ioredis client, and depends on neither.
 *
 * @module
 */
export type { CallClient, RedisClientLike, SendCommandClient } from './client.ts';
export { type RedisIdempotencyStoreOptions, redisIdempotencyStore } from './store.ts';
