import { memoryIdempotencyStore } from 'missive';
import { ManualClock } from 'missive/memory';

export async function main() {
  const clock = new ManualClock();
  const store = memoryIdempotencyStore({ clock, ttlMs: 3_600_000 });
  const key = 'charge:o-1';

  // Worker A claims the key for 10 s.
  const a = await store.begin(key, { leaseMs: 10_000 });
  // Worker B, with a duplicate, is told to come back later.
  const b = await store.begin(key, { leaseMs: 10_000 });

  // Worker A stalls. Its lease lapses, so the key is not blocked forever: C claims it.
  await clock.advance(10_000);
  const c = await store.begin(key, { leaseMs: 10_000 });
  if (a.status !== 'new' || c.status !== 'new') throw new Error('expected two leases');

  // A wakes up: its lease is no longer current, so it can neither complete nor release.
  const lateComplete = await store.complete(key, a.lease.token, 'from A');
  const completed = await store.complete(key, c.lease.token, JSON.stringify({ receipt: 'r-1' }));

  // Every later duplicate gets the stored result, for the store's time to live (here 1 h).
  const d = await store.begin(key, { leaseMs: 10_000 });
  await clock.advance(3_600_000);
  const e = await store.begin(key, { leaseMs: 10_000 });

  return {
    statuses: [a.status, b.status, c.status, d.status, e.status],
    lateComplete,
    completed,
    duplicateResult: d.status === 'completed' && d.result !== undefined ? JSON.parse(d.result) : undefined,
  };
}
