/**
 * The layout of one idempotency item in DynamoDB, and how to read one back.
 *
 * | attribute     | type | meaning                                                             |
 * |---------------|------|---------------------------------------------------------------------|
 * | `id`          | S    | partition key: key prefix + idempotency key (name set by `keyAttribute`) |
 * | `status`      | S    | `in-progress` or `completed`                                        |
 * | `expiresAtMs` | N    | lease expiry (in progress) or end of retention (completed), ms since the epoch |
 * | `token`       | S    | the current lease holder's token                                    |
 * | `fingerprint` | S    | the payload fingerprint given to `begin`, when there was one        |
 * | `result`      | S    | the encoded result, when there was one and it fit                   |
 * | `ttl`         | N    | `expiresAtMs` rounded up to seconds, for DynamoDB TTL (name set by `ttlAttribute`) |
 *
 * `expiresAtMs` alone decides whether an item counts: one at or past it is treated as absent,
 * so DynamoDB's lazy TTL deletion (up to days late) never matters for correctness.
 *
 * @module
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { BeginResult } from '../store.ts';

/** The fixed attribute names of the layout above; the key and TTL attributes are options of the store. */
export const FIXED_ATTRIBUTES: readonly string[] = ['status', 'expiresAtMs', 'token', 'fingerprint', 'result'];

/** DynamoDB's item size limit, in bytes (400 KB, attribute names included). */
export const MAX_ITEM_BYTES = 400 * 1024;

/** An item as the SDK returns it. */
export type Item = Record<string, AttributeValue>;

/** DynamoDB TTL wants whole seconds; rounding up keeps it from deleting an item we still count. */
export function ttlSeconds(expiresAtMs: number): number {
  return Math.ceil(expiresAtMs / 1000);
}

/** The expiry an item carries, in milliseconds since the epoch; NaN when it has none. */
export function expiresAtOf(item: Item): number {
  return Number(item.expiresAtMs?.N);
}

/** What a `begin` that found `item` in its way reports; `fingerprint` is the caller's. */
export function foundItem(item: Item, fingerprint: string | undefined): BeginResult {
  const stored = item.fingerprint?.S;
  if (stored !== undefined && fingerprint !== undefined && stored !== fingerprint) {
    return { status: 'conflict', fingerprint: stored };
  }
  if (item.status?.S === 'completed') {
    const result = item.result?.S;
    return result === undefined ? { status: 'completed' } : { status: 'completed', result };
  }
  return { status: 'in-progress', expiresAt: expiresAtOf(item) };
}
