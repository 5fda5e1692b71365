/**
 * FIFO deduplication, as SQS does it on `MessageDeduplicationId`: a message whose idempotency key
 * was sent within the window is accepted as the earlier message and not stored again.
 */
import type { Envelope } from '../../message.ts';

export class DeduplicationWindow {
  readonly #windowMs: number;
  readonly #seen = new Map<string, { id: string; expiresAt: number }>();

  /** `windowMs`: how long a key is remembered, in milliseconds. */
  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  /** Returns the id of the message `envelope` duplicates within the window, or records it. */
  duplicateOf(envelope: Envelope, now: number): string | undefined {
    // The window is the same for every key, so entries expire in insertion order.
    for (const [key, entry] of this.#seen) {
      if (entry.expiresAt > now) break;
      this.#seen.delete(key);
    }
    const seen = this.#seen.get(envelope.idempotencyKey);
    if (seen) return seen.id;
    this.#seen.set(envelope.idempotencyKey, { id: envelope.id, expiresAt: now + this.#windowMs });
    return undefined;
  }
}
