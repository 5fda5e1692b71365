import { type OutgoingEnvelope, type Sender, type SendOutcome, TransportError } from 'missive';

/** What a {@link flakySender} does with one envelope on one call. */
export type Fault = 'pass' | 'retryable' | 'permanent';

/**
 * Wraps a real sender and fails chosen envelopes on chosen calls, to drive the producer's
 * retry logic. `fault(envelope, call)` decides; `call` counts the sends of that envelope, from 1.
 */
export function flakySender(inner: Sender, fault: (envelope: OutgoingEnvelope, call: number) => Fault) {
  const calls = new Map<string, number>();
  const batches: string[][] = [];
  const sender: Sender = {
    destination: inner.destination,
    features: inner.features,
    async send(envelopes, options) {
      batches.push(envelopes.map((e) => e.id));
      const decisions = envelopes.map((envelope) => {
        const call = (calls.get(envelope.id) ?? 0) + 1;
        calls.set(envelope.id, call);
        return fault(envelope, call);
      });
      const passing = envelopes.filter((_, i) => decisions[i] === 'pass');
      const accepted = passing.length ? await inner.send(passing, options) : [];
      let next = 0;
      return envelopes.map((envelope, i): SendOutcome => {
        const decision = decisions[i];
        if (decision === 'pass') return accepted[next++] as SendOutcome;
        const error = new TransportError(inner.destination, `injected ${decision} failure`, decision === 'retryable');
        return decision === 'retryable'
          ? { status: 'retryable', id: envelope.id, error }
          : { status: 'permanent', id: envelope.id, error };
      });
    },
  };
  return { sender, calls, batches };
}
