/**
 * What travels: a {@link Message} as handlers see it, and the {@link Envelope} that transports
 * carry (the same message with its body encoded to text).
 *
 * @module
 */

/** Message headers: user metadata, trace context, failure metadata. Names are lower case. */
export type Headers = Readonly<Record<string, string>>;

/** A message as a handler receives it. */
export interface Message<Body = unknown> {
  /** Unique and time-sortable (a UUIDv7 unless the producer set one). */
  readonly id: string;
  /** The decoded (and, with a schema, validated) body. */
  readonly body: Body;
  /** The producer's headers, trace context included; failure metadata on dead letters. */
  readonly headers: Headers;
  /** The key duplicates are recognised by; defaults to {@link Message.id}. */
  readonly idempotencyKey: string;
  /** When the producer created the message, in milliseconds since the Unix epoch. */
  readonly createdAt: number;
  /** The FIFO message group, on FIFO destinations. */
  readonly groupId?: string | undefined;
}

/** A message with its body encoded to text: the unit every transport carries. */
export interface Envelope {
  /** As {@link Message.id}. */
  readonly id: string;
  /** The encoded body. */
  readonly body: string;
  readonly headers: Headers;
  /** As {@link Message.idempotencyKey}. */
  readonly idempotencyKey: string;
  /** When the producer created the message, in milliseconds since the Unix epoch. */
  readonly createdAt: number;
  /** The FIFO message group, on FIFO destinations. */
  readonly groupId?: string | undefined;
}

/** An envelope on its way out, with the per-message send options a transport applies. */
export interface OutgoingEnvelope extends Envelope {
  /** Keep the message invisible for this long after it is accepted, in milliseconds. Default none. */
  readonly delayMs?: number | undefined;
}

/**
 * The size a message occupies at its destination: body plus header names and values, in UTF-8 bytes.
 *
 * @example
 * ```ts
 * envelopeSizeBytes({ id, body: '{"a":1}', headers: { tenant: 'acme' }, idempotencyKey: id, createdAt: Date.now() }); // 17
 * ```
 */
export function envelopeSizeBytes(envelope: Envelope): number {
  let size = Buffer.byteLength(envelope.body, 'utf8');
  for (const name in envelope.headers) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(envelope.headers[name] as string, 'utf8');
  }
  return size;
}
