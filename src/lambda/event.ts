/**
 * The shapes Lambda hands an SQS function, as far as Missive reads them, and how a record maps
 * onto an {@link Envelope}. The types are Missive's own, structurally compatible with
 * `@types/aws-lambda` (`SQSEvent`, `Context`, `SQSBatchResponse`), so that package is not needed
 * to use or type-check `missive/lambda`.
 *
 * @module
 */
import { ConfigurationError } from '../errors.ts';
import type { Envelope } from '../message.ts';
import { envelopeOf } from '../transports/sqs/attributes.ts';

/** One message attribute of an SQS record, as Lambda delivers it (binary values in base64). */
export interface SqsRecordMessageAttribute {
  /** Null rather than absent from some producers, when the value is binary. */
  readonly stringValue?: string | null | undefined;
  /** Null rather than absent from some producers, when the value is a string. */
  readonly binaryValue?: string | null | undefined;
  readonly dataType: string;
}

/** The SQS system attributes of a record that Missive reads. */
export interface SqsRecordAttributes {
  /** 1 on the first delivery; Missive's attempt number. */
  readonly ApproximateReceiveCount?: string;
  /** When the message was first received, in milliseconds since the epoch (as a string). */
  readonly ApproximateFirstReceiveTimestamp?: string;
  /** When SQS accepted the message, in milliseconds since the epoch (as a string). */
  readonly SentTimestamp?: string;
  /** FIFO queues only. */
  readonly MessageGroupId?: string | undefined;
  readonly MessageDeduplicationId?: string | undefined;
  /** The X-Ray trace header of the producer, when it traced. */
  readonly AWSTraceHeader?: string | undefined;
}

/** One record of an SQS event. */
export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: SqsRecordAttributes;
  readonly messageAttributes: Readonly<Record<string, SqsRecordMessageAttribute>>;
  /** `arn:aws:sqs:<region>:<account>:<queue name>`. */
  readonly eventSourceARN: string;
  readonly awsRegion?: string;
}

/** The event of an SQS event source mapping. */
export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

/** What Missive reads from the Lambda context. */
export interface LambdaContext {
  /** Milliseconds left before Lambda stops the invocation. */
  getRemainingTimeInMillis(): number;
}

/** The partial batch response (`ReportBatchItemFailures`): the records to deliver again. */
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

// Lambda gives binary values in base64 already, as a header carries them.
const recordHeader = (attribute: SqsRecordMessageAttribute) =>
  attribute.stringValue ?? attribute.binaryValue ?? undefined;

/** The envelope of a record, decoded exactly as the SQS transport decodes a received message. */
export function recordEnvelope(record: SqsRecord): Envelope {
  return envelopeOf(record.messageId, record.body, record.attributes, record.messageAttributes, recordHeader);
}

/** The record's receive count: 1 on its first delivery. */
export function recordAttempt(record: SqsRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount);
  return Number.isInteger(count) && count > 0 ? count : 1;
}

/** A FIFO queue's ARN ends in `.fifo`, as its name must. */
export function isFifoArn(arn: string): boolean {
  return typeof arn === 'string' && arn.endsWith('.fifo');
}

/**
 * The queue URL of an SQS ARN: `arn:aws:sqs:eu-west-1:123456789012:orders` is
 * `https://sqs.eu-west-1.amazonaws.com/123456789012/orders` (`amazonaws.com.cn` in China).
 */
export function queueUrlOfArn(arn: string): string {
  const [prefix, partition, service, region, account, name] = typeof arn === 'string' ? arn.split(':') : [];
  if (prefix !== 'arn' || service !== 'sqs' || !region || !account || !name) {
    throw new ConfigurationError(
      'queueUrl',
      arn,
      'records whose eventSourceARN is an SQS queue ARN (arn:aws:sqs:<region>:<account>:<name>), from an SQS event source mapping; or pass queueUrl',
    );
  }
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/** The region of an SQS ARN. */
export function regionOfArn(arn: string): string | undefined {
  return (typeof arn === 'string' && arn.split(':')[3]) || undefined;
}
