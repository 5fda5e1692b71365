/**
 * What SQS refuses on `SendMessage`, checked the same way by the in-memory queue: messages too
 * large, delays out of range, and on FIFO queues a missing group id or a per-message delay.
 */
import { MessageTooLargeError, TransportError } from '../../errors.ts';
import { type Envelope, envelopeSizeBytes, type OutgoingEnvelope } from '../../message.ts';
import { MAX_DELAY_MS } from '../sqs-limits.ts';

/** Why queue `name` refuses `envelope` sent with `delayMs`, or undefined if it may be stored. */
export function sendRefusal(
  name: string,
  envelope: OutgoingEnvelope,
  delayMs: number,
  maxMessageBytes: number,
): Error | undefined {
  const size = mayExceed(envelope, maxMessageBytes) ? envelopeSizeBytes(envelope) : 0;
  if (size > maxMessageBytes) return new MessageTooLargeError(name, size, maxMessageBytes);
  if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
    return new TransportError(
      name,
      `delayMs ${delayMs} is outside 0 to ${MAX_DELAY_MS} ms, the range SQS allows. Schedule longer waits elsewhere (a database, EventBridge Scheduler).`,
      false,
    );
  }
  return undefined;
}

/** Why FIFO queue `name` refuses `envelope`, or undefined. A redriven message skips the per-message delay check. */
export function fifoSendRefusal(name: string, envelope: OutgoingEnvelope, fromRedrive: boolean): Error | undefined {
  if (!envelope.groupId) {
    return new TransportError(
      name,
      `FIFO queue ${name} needs a groupId on every message. Pass groupId to send().`,
      false,
    );
  }
  if (envelope.delayMs !== undefined && !fromRedrive) {
    return new TransportError(
      name,
      `FIFO queue ${name} does not support per-message delays (nor does SQS). Set delayMs on the queue instead.`,
      false,
    );
  }
  return undefined;
}

/**
 * Whether `envelope` may be larger than `maxBytes`. UTF-8 takes at most 3 bytes per UTF-16 code
 * unit, so most messages are cleared without encoding them to count their bytes.
 */
function mayExceed(envelope: Envelope, maxBytes: number): boolean {
  let units = envelope.body.length;
  for (const name in envelope.headers) units += name.length + (envelope.headers[name] as string).length;
  return units * 3 > maxBytes;
}
