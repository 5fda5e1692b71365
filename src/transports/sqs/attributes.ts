/**
 * How an {@link Envelope} maps onto an SQS message. SQS allows 10 message attributes, with naming
 * rules; Missive spends one on its own envelope fields and maps headers onto the other nine, packing
 * any surplus (or invalidly named) headers into its own attribute and unpacking them on receive.
 *
 * @module
 */
import type { MessageAttributeValue, ReceiveMessageCommandInput, Message as SqsMessage } from '@aws-sdk/client-sqs';
import type { Envelope, Headers } from '../../message.ts';

/** The attribute holding Missive's envelope fields and surplus headers, as JSON. */
export const ENVELOPE_ATTRIBUTE = 'missive';
/** SQS's limit on message attributes per message. */
export const MAX_ATTRIBUTES = 10;

/** What a receive asks SQS for: every message attribute, and the system attributes {@link envelopeOf} reads. */
export const RECEIVE_ATTRIBUTES = {
  MessageAttributeNames: ['All'],
  MessageSystemAttributeNames: [
    'ApproximateReceiveCount',
    'ApproximateFirstReceiveTimestamp',
    'SentTimestamp',
    'MessageGroupId',
    'MessageDeduplicationId',
    'AWSTraceHeader',
  ],
} satisfies Pick<ReceiveMessageCommandInput, 'MessageAttributeNames' | 'MessageSystemAttributeNames'>;

interface PackedEnvelope {
  /** The Missive message id. */
  i: string;
  /** The idempotency key, when it differs from the id. */
  k?: string;
  /** createdAt, in milliseconds since the epoch. */
  t: number;
  /** Headers that did not fit into attributes of their own. */
  h?: Record<string, string>;
}

/**
 * SQS attribute names: up to 256 characters of `A-Za-z0-9_-.`, not starting with `AWS.` or
 * `Amazon.` (any case), not starting or ending with a period, no two periods in a row.
 */
function isValidAttributeName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 256 &&
    /^[A-Za-z0-9_.-]+$/.test(name) &&
    !/^(aws|amazon)\./i.test(name) &&
    !name.startsWith('.') &&
    !name.endsWith('.') &&
    !name.includes('..') &&
    name !== ENVELOPE_ATTRIBUTE
  );
}

/** The message attributes for `envelope`. */
export function toMessageAttributes(envelope: Envelope): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  const packed: PackedEnvelope = { i: envelope.id, t: envelope.createdAt };
  if (envelope.idempotencyKey !== envelope.id) packed.k = envelope.idempotencyKey;
  let free = MAX_ATTRIBUTES - 1;
  for (const name in envelope.headers) {
    const value = envelope.headers[name] as string;
    // SQS rejects empty string values; those travel packed.
    if (free > 0 && value !== '' && isValidAttributeName(name)) {
      attributes[name] = { DataType: 'String', StringValue: value };
      free--;
    } else {
      packed.h ??= {};
      packed.h[name] = value;
    }
  }
  attributes[ENVELOPE_ATTRIBUTE] = { DataType: 'String', StringValue: JSON.stringify(packed) };
  return attributes;
}

/** The size SQS counts for a message: body plus each attribute's name, type and value, in bytes. */
export function sqsMessageSizeBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const name in attributes) {
    const attribute = attributes[name] as MessageAttributeValue;
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.DataType ?? '', 'utf8');
    if (attribute.StringValue !== undefined) size += Buffer.byteLength(attribute.StringValue, 'utf8');
    if (attribute.BinaryValue !== undefined) size += attribute.BinaryValue.byteLength;
  }
  return size;
}

/** The SQS system attributes an envelope is read from, named as both the SQS API and Lambda name them. */
export interface SystemAttributes {
  readonly SentTimestamp?: string | undefined;
  readonly MessageGroupId?: string | undefined;
  readonly MessageDeduplicationId?: string | undefined;
  /** The X-Ray trace header of the producer, when it traced. */
  readonly AWSTraceHeader?: string | undefined;
}

/** An attribute as a header: its string value, or its binary value in base64. */
const messageHeader = ({ StringValue, BinaryValue }: MessageAttributeValue) =>
  StringValue ?? (BinaryValue === undefined ? undefined : Buffer.from(BinaryValue).toString('base64'));

/** The envelope of a received SQS message. */
export function fromSqsMessage(message: SqsMessage): Envelope {
  return envelopeOf(
    message.MessageId as string,
    message.Body ?? '',
    message.Attributes ?? {},
    message.MessageAttributes ?? {},
    messageHeader,
  );
}

/**
 * The envelope of an SQS message, from the SQS API or a Lambda record: `headerOf` reads one
 * message attribute as a header, its string value or its binary value in base64. Messages sent
 * by other producers (no Missive attribute) get the SQS message id, the deduplication id (or
 * message id) as key, and the sent time.
 */
export function envelopeOf<Attribute>(
  messageId: string,
  body: string,
  system: SystemAttributes,
  attributes: Readonly<Record<string, Attribute>>,
  headerOf: (attribute: Attribute) => string | undefined,
): Envelope {
  const headers: Record<string, string> = {};
  let packed: Partial<PackedEnvelope> = {};
  for (const name in attributes) {
    const value = headerOf(attributes[name] as Attribute);
    if (name === ENVELOPE_ATTRIBUTE) packed = parsePacked(value);
    else if (value !== undefined) headers[name] = value;
  }
  if (packed.h) Object.assign(headers, packed.h);
  // The AWS X-Ray trace header SQS sets as a system attribute, for telemetry to link to.
  if (system.AWSTraceHeader && headers['x-amzn-trace-id'] === undefined)
    headers['x-amzn-trace-id'] = system.AWSTraceHeader;
  const id = packed.i ?? messageId;
  return {
    id,
    body,
    headers: headers as Headers,
    idempotencyKey: packed.k ?? system.MessageDeduplicationId ?? id,
    createdAt: packed.t ?? Number(system.SentTimestamp ?? Date.now()),
    groupId: system.MessageGroupId,
  };
}

/**
 * The Missive attribute's fields; none when it is not the shape Missive writes (another producer's
 * attribute of the same name, or a binary value): the message is then read as a foreign one.
 */
function parsePacked(json: string | undefined): Partial<PackedEnvelope> {
  let value: unknown;
  try {
    value = JSON.parse(json ?? '');
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null) return {};
  const { i, k, t, h } = value as Record<string, unknown>;
  const ours =
    typeof i === 'string' &&
    typeof t === 'number' &&
    (k === undefined || typeof k === 'string') &&
    (h === undefined || isStringRecord(h));
  return ours ? (value as PackedEnvelope) : {};
}

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const key in value) if (typeof (value as Record<string, unknown>)[key] !== 'string') return false;
  return true;
}
