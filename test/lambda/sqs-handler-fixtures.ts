/**
 * Fixtures of the sqsHandler tests: clients on fauxqs that record the commands they send, Lambda
 * contexts, and readers of batch responses.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { recordCommands, type SentCommand } from '../helpers/sdk-middleware.ts';
import { sqsClient } from '../helpers/sqs.ts';
import { bodyOf, toRecord } from './events.ts';

/** The body of the test jobs: `fail` makes the handler throw. */
export interface Job {
  readonly id: string;
  readonly fail?: boolean;
}

const clients: SQSClient[] = [];

/** Destroys every client {@link recordedClient} made; each test file runs it `afterEach`. */
export function destroyClients(): void {
  for (const client of clients.splice(0)) client.destroy();
}

/** A client on fauxqs, recording the commands it sends. */
export function recordedClient(): { client: SQSClient; sent: SentCommand[] } {
  const client = sqsClient();
  clients.push(client);
  return { client, sent: recordCommands(client) };
}

/** A Lambda context whose remaining time is `remaining()`. */
export function lambdaContext(remaining: () => number = () => 60_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'jobs',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:jobs',
    memoryLimitInMB: '128',
    awsRequestId: 'request-1',
    logGroupName: '/aws/lambda/jobs',
    logStreamName: 'stream',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The visibility timeouts set, in seconds, by receipt handle. */
export function visibilitiesSet(sent: readonly SentCommand[]): Record<string, number> {
  const set: Record<string, number> = {};
  for (const command of sent.filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand'))
    for (const entry of command.input.Entries as { ReceiptHandle: string; VisibilityTimeout: number }[])
      set[entry.ReceiptHandle] = entry.VisibilityTimeout;
  return set;
}

/** The ids in a batch response (an `SQSHandler` may also answer nothing). */
export const failedIds = (response: unknown) =>
  ((response as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier);

/** The message ids of the records whose job `pick` selects. */
export const idsOf = (event: SQSEvent, pick: (body: Job) => boolean) =>
  event.Records.filter((record) => pick(bodyOf(record) as Job)).map((record) => record.messageId);

/** A record of a made-up message, for events that never reach SQS. */
export async function fakeRecord(): Promise<SQSEvent['Records'][0]> {
  return toRecord({ MessageId: 'm-1', ReceiptHandle: 'r-1', Body: '{}', Attributes: {} }, 'arn:aws:sqs:us-east-1:1:q');
}
