import { EventEmitter } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import { type Consumer, createConsumer, createProducer } from 'missive';
import { memoryQueue } from 'missive/memory';

interface Report {
  readonly reportId: string;
  readonly workMs: number;
}

// #region stop-on-signals
/**
 * Stops `consumer` on SIGTERM (what Kubernetes, ECS and systemd send) or SIGINT (Ctrl-C).
 * Returns a function that removes the handlers again.
 */
export function stopOnSignals(consumer: Consumer, target: NodeJS.EventEmitter = process): () => void {
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const removeHandlers = () => {
    for (const signal of signals) target.off(signal, onSignal);
  };
  const onSignal = () => {
    // A second signal now gets Node's default behaviour: exit at once.
    removeHandlers();
    void consumer.stop();
  };
  for (const signal of signals) target.once(signal, onSignal);
  return removeHandlers;
}
// #endregion stop-on-signals

export async function main() {
  const deadLetters = memoryQueue({ name: 'reports-dlq' });
  const reports = memoryQueue({ name: 'reports', deadLetterQueue: deadLetters });
  await createProducer<Report>({ transport: reports }).sendBatch([
    { body: { reportId: 'quick', workMs: 10 } },
    { body: { reportId: 'slow', workMs: 60_000 } },
  ]);

  // #region consumer
  const finished: string[] = [];
  const consumer = createConsumer<Report>({
    transport: reports,
    // On stop, in-flight handlers get 200 ms to finish (default 25 000 ms).
    stopTimeoutMs: 200,
    handler: async (message, { signal }) => {
      // Pass the signal on: it aborts when the stop deadline passes, so slow work ends early.
      await setTimeout(message.body.workMs, undefined, { signal });
      finished.push(message.body.reportId);
    },
  });
  consumer.start();
  const removeHandlers = stopOnSignals(consumer);
  // #endregion consumer
  removeHandlers();

  // For the example only: an emitter stands in for `process`, so it can send itself a signal.
  const fakeProcess = new EventEmitter();
  stopOnSignals(consumer, fakeProcess);
  while (consumer.stats().inFlight < 2) await setTimeout(5);
  fakeProcess.emit('SIGTERM');

  // stop() returns the same promise to every caller: this waits for the stop the signal began.
  const { released } = await consumer.stop();
  return {
    finished,
    released,
    visibleAgain: reports.counts().visible,
    listenersLeft: fakeProcess.listenerCount('SIGTERM'),
  };
}
