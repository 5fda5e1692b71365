/** Runs a consumer on a manual clock until a condition holds, then stops it: the telemetry tests' common loop. */
import type { Consumer } from 'missive';
import type { ManualClock } from 'missive/memory';

/**
 * Starts `consumer` unless `started`, advances `clock` until `until(consumer)` holds, then stops
 * it, advancing past the stop's timeout so that the stop resolves.
 */
export async function consumeUntil(
  consumer: Consumer,
  clock: ManualClock,
  until: (consumer: Consumer) => boolean,
  { started = false } = {},
): Promise<void> {
  if (!started) consumer.start();
  await clock.advanceUntil(() => until(consumer));
  const stopping = consumer.stop();
  await clock.advance(30_000);
  await stopping;
}
