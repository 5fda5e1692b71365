/**
 * Lambda SQS events for tests, made the way Lambda makes them: real messages, sent by Missive's
 * SQS producer to fauxqs and received with real receipt handles, each turned into a record of
 * `@serverless/event-mocks`' SQS template (AWS's sample event), FIFO attributes included.
 */
import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import eventMocks from '@serverless/event-mocks';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createProducer } from 'missive';
import { sqsQueue } from 'missive/sqs';

// A CommonJS module with `exports.default`: Node's ESM loader hands over `module.exports` as the
// default export, vitest's interop `exports.default` itself.
type CreateEvent = typeof eventMocks.default;
export const createEvent = ((eventMocks as unknown as { default?: CreateEvent }).default ?? eventMocks) as CreateEvent;

/** The queue's ARN, as Lambda puts it in `eventSourceARN`. */
export async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return Attributes?.QueueArn as string;
}

/** Sends bodies with Missive's producer (`groupId` of each for FIFO queues). */
export async function sendAll(
  client: SQSClient,
  queueUrl: string,
  messages: readonly { body: unknown; groupId?: string; headers?: Record<string, string> }[],
): Promise<void> {
  const producer = createProducer({ transport: sqsQueue({ client, queueUrl }) });
  // One at a time, so a FIFO queue keeps the order given.
  for (const { body, groupId, headers } of messages) {
    await producer.send(body, { ...(groupId ? { groupId } : {}), ...(headers ? { headers } : {}) });
  }
}

/** Receives exactly `count` messages (waiting up to a few seconds), with every attribute. */
export async function receiveAll(client: SQSClient, queueUrl: string, count: number): Promise<Message[]> {
  const messages: Message[] = [];
  const deadline = Date.now() + 10_000;
  while (messages.length < count) {
    if (Date.now() > deadline) throw new Error(`received ${messages.length} of ${count} messages`);
    const output = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, count - messages.length),
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    messages.push(...(output.Messages ?? []));
  }
  return messages;
}

/** A received message as a Lambda record: the SQS template's record, with this message's fields. */
export function toRecord(message: Message, arn: string, overrides: Partial<SQSRecord['attributes']> = {}): SQSRecord {
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType as string,
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  const event = createEvent('aws:sqs', {
    Records: [
      {
        messageId: message.MessageId as string,
        receiptHandle: message.ReceiptHandle as string,
        body: message.Body as string,
        attributes: { ...(message.Attributes as unknown as SQSRecord['attributes']), ...overrides },
        messageAttributes,
        md5OfBody: message.MD5OfBody as string,
        eventSource: 'aws:sqs',
        eventSourceARN: arn,
        awsRegion: arn.split(':')[3] as string,
      },
    ],
  });
  return event.Records[0] as SQSRecord;
}

/** Receives `count` messages and returns them as one Lambda event, in the order received. */
export async function receiveEvent(client: SQSClient, queueUrl: string, count: number): Promise<SQSEvent> {
  const received = await receiveAll(client, queueUrl, count);
  const arn = await queueArn(client, queueUrl);
  return { Records: received.map((message) => toRecord(message, arn)) };
}

/** Sends `messages`, receives them, and returns them as one Lambda event, in the order received. */
export async function eventOf(
  client: SQSClient,
  queueUrl: string,
  messages: readonly { body: unknown; groupId?: string; headers?: Record<string, string> }[],
): Promise<SQSEvent> {
  await sendAll(client, queueUrl, messages);
  return receiveEvent(client, queueUrl, messages.length);
}

/** The body of a record, parsed. */
export function bodyOf(record: SQSRecord): unknown {
  return JSON.parse(record.body);
}
