/**
 * From a verified request to what the consumer pipeline processes: the envelope (Missive's
 * sender puts the message's own id, creation time and headers in `missive-*` headers) and a
 * delivery whose only attempt is this request.
 *
 * @module
 */
import type { Envelope } from '../../message.ts';
import type { Delivery } from '../contract.ts';

/** Request headers Missive's sender uses for the message's own fields. */
export const MessageHeader = {
  id: 'missive-message-id',
  createdAt: 'missive-created-at',
  carried: 'missive-headers',
} as const;

/** Carried even when `missive-headers` does not list them (W3C trace context). */
const TRACE_HEADERS = ['traceparent', 'tracestate'];

/** Headers Missive's sender sets itself; a message header of the same name is refused. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'authorization',
  'user-agent',
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  MessageHeader.id,
  MessageHeader.createdAt,
  MessageHeader.carried,
]);

/** Never copied into message headers, whatever `missive-headers` lists: they belong to the hop, not the message. */
const HOP_HEADERS = new Set([...RESERVED_HEADERS, 'proxy-authorization', 'cookie']);

/** The envelope a request carries: Missive's own headers if the sender was Missive, else the webhook's. */
export function toEnvelope(
  id: string,
  timestampSeconds: number,
  body: string,
  header: (name: string) => string | undefined,
): Envelope {
  const createdAt = header(MessageHeader.createdAt);
  return {
    id: header(MessageHeader.id) || id,
    body,
    headers: carriedHeaders(header),
    idempotencyKey: id,
    createdAt: createdAt && /^\d{1,15}$/.test(createdAt) ? Number(createdAt) : timestampSeconds * 1000,
  };
}

/** Trace context, and the headers the sender listed in `missive-headers` as the message's own. */
function carriedHeaders(header: (name: string) => string | undefined): Record<string, string> {
  const names = new Set(TRACE_HEADERS);
  for (const listed of header(MessageHeader.carried)?.split(',') ?? []) {
    const name = listed.trim().toLowerCase();
    if (name && !HOP_HEADERS.has(name)) names.add(name);
  }
  const entries: [string, string][] = [];
  for (const name of names) {
    const value = header(name);
    if (value !== undefined) entries.push([name, value]);
  }
  // fromEntries defines own properties: a header named __proto__ stays a header.
  return Object.fromEntries(entries);
}

const settled = () => Promise.resolve();

/** A delivery for the pipeline: the request is the only attempt the receiver sees; the HTTP answer settles it. */
export function syntheticDelivery(envelope: Envelope, now: number): Delivery {
  return {
    envelope,
    attempt: 1,
    firstReceivedAt: now,
    ack: settled,
    retry: settled,
    deadLetter: settled,
    extendVisibility: settled,
  };
}
