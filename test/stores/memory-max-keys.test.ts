import { ManualClock, memoryIdempotencyStore } from 'missive';
import { expect, it } from 'vitest';

it('memory store: maxKeys never evicts a key whose lease is live (two holders at once)', async () => {
  const clock = new ManualClock();
  const store = memoryIdempotencyStore({ clock, maxKeys: 2 });
  const first = await store.begin('a', { leaseMs: 60_000 });
  await store.begin('b', { leaseMs: 60_000 });
  await store.begin('c', { leaseMs: 60_000 });
  // 'a' is still held by `first`: a second begin must not get the lease.
  expect((await store.begin('a', { leaseMs: 60_000 })).status).toBe('in-progress');
  expect(first.status === 'new' && (await store.complete('a', first.lease.token))).toBe(true);
});
