import type { Clock } from '../clock.ts';
import { messageOf, TransportError } from '../errors.ts';
import { failureOf, withFailureHeaders } from '../failure.ts';
import type { Delivery, Receiver, Sender } from '../transports/contract.ts';
import type { Backoff } from './backoff.ts';
import type { Outcome } from './pipeline.ts';

/** Moves a delivery to its dead-letter destination; rejects when the message stays on its queue. */
export type DeadLetter = (delivery: Delivery, outcome: Outcome & { status: 'dead-letter' }) => Promise<void>;

/** Options of {@link deadLetterTo}. */
export interface DeadLetterOptions {
  readonly receiver: Receiver;
  /** Receives dead letters instead of the transport's own dead-letter queue. */
  readonly sender: Sender | undefined;
  readonly clock: Clock;
  /** Delay before a message whose dead-letter send failed comes back. */
  readonly backoff: Backoff;
  readonly random: () => number;
}

/**
 * Dead-letters deliveries with failure metadata: through the transport's own `deadLetter()`, or
 * as a send to `sender` with the metadata in the headers, deleting the original only once that
 * send succeeded.
 */
export function deadLetterTo({ receiver, sender, clock, backoff, random }: DeadLetterOptions): DeadLetter {
  return async (delivery, outcome) => {
    const failure = failureOf(outcome, delivery, receiver.source, clock.now());
    if (!sender) return delivery.deadLetter(failure);
    const [sent] = await sender.send([
      { ...delivery.envelope, headers: withFailureHeaders(delivery.envelope.headers, failure) },
    ]);
    if (sent?.status !== 'accepted') {
      // Keep the original: it comes back after the backoff and is dead-lettered again then.
      await delivery.retry({ delayMs: backoff.delayMs(delivery.attempt, undefined, random) });
      throw new TransportError(
        sender.destination,
        `Dead-letter send to ${sender.destination} failed (${sent ? messageOf(sent.error) : 'no outcome'}); message ${delivery.envelope.id} stays on ${receiver.source} and will be retried.`,
        true,
        sent && 'error' in sent ? sent.error : undefined,
      );
    }
    return delivery.ack();
  };
}
