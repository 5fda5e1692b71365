/**
 * `sqsHandler` end to end in AWS's own runtime interface client (`aws-lambda-ric`, in a child
 * process), driven by a local Runtime API, with its default SQS client talking to fauxqs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createSqsQueue, sqsClient } from '../helpers/sqs.ts';
import { eventOf, queueArn, receiveAll, sendAll, toRecord } from './events.ts';
import type { Job, LogLine } from './fixtures/ric-function.ts';
import { LocalLambda } from './runtime-api.ts';

let lambda: LocalLambda;
let client: SQSClient;
let dir: string;
let logFile: string;

beforeAll(async () => {
  client = sqsClient();
  dir = mkdtempSync(join(tmpdir(), 'missive-lambda-log-'));
  logFile = join(dir, 'handled.jsonl');
  writeFileSync(logFile, '');
  lambda = await LocalLambda.start(fileURLToPath(new URL('./fixtures/ric-function.ts', import.meta.url)), 'handler', {
    HANDLED_LOG: logFile,
    // The function's default SQSClient finds fauxqs through the SDK's own configuration.
    AWS_ENDPOINT_URL_SQS: inject('sqsEndpoint'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterAll(async () => {
  await lambda?.stop();
  client?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Log lines since `from` (a count of lines already read). */
function logLines(from = 0): LogLine[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(from)
    .map((line) => JSON.parse(line) as LogLine);
}

/** Invokes the function and returns its batch response and the log lines it wrote. */
async function invoke(event: SQSEvent, timeoutMs?: number) {
  const from = logLines().length;
  const result = await lambda.invoke(event, timeoutMs === undefined ? {} : { timeoutMs });
  expect(result.status, lambda.output).toBe('response');
  const lines = logLines(from);
  const handled = lines.flatMap((line) => ('handled' in line ? [`${line.handled}#${line.attempt}`] : []));
  const done = lines.find((line) => 'sdk' in line);
  return { response: result.body as SQSBatchResponse, handled, sdk: done && 'sdk' in done ? done.sdk : undefined };
}

const failed = (response: SQSBatchResponse) => response.batchItemFailures.map((failure) => failure.itemIdentifier);
const idsOf = (event: SQSEvent, names: readonly string[]) =>
  event.Records.filter((record) => names.includes((JSON.parse(record.body) as Job).id)).map((r) => r.messageId);
const bodies = (messages: readonly Message[]) =>
  messages.map((message) => (JSON.parse(message.Body as string) as Job).id).sort();

describe('sqsHandler in the AWS Lambda runtime interface client', () => {
  it('answers a batch that succeeds with no failures, without loading the AWS SDK', async () => {
    const { queueUrl } = await createSqsQueue(client, { name: 'ric', visibilityTimeoutSeconds: 300 });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'ok-1' } }, { body: { id: 'ok-2' } }]);
    const { response, handled, sdk } = await invoke(event);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(handled.sort()).toEqual(['ok-1#1', 'ok-2#1']);
    expect(sdk).toEqual([]);
  });

  it('reports partial failures, and makes the failed records visible again through ChangeMessageVisibility', async () => {
    const { queueUrl } = await createSqsQueue(client, { name: 'ric', visibilityTimeoutSeconds: 300 });
    const jobs: Job[] = [{ id: 'p-1' }, { id: 'p-2', fail: true }, { id: 'p-3' }, { id: 'p-4', fail: true }];
    const event = await eventOf(
      client,
      queueUrl,
      jobs.map((body) => ({ body })),
    );
    const { response, handled, sdk } = await invoke(event);
    expect(failed(response).sort()).toEqual(idsOf(event, ['p-2', 'p-4']).sort());
    expect(handled.sort()).toEqual(['p-1#1', 'p-2#1', 'p-3#1', 'p-4#1']);
    // The SDK was loaded for the visibility change only now, by the function's default client.
    expect(sdk).toContain('@aws-sdk/client-sqs');
    // With a 300 s queue visibility timeout, only Missive's visibility change brings them back now.
    const again = await receiveAll(client, queueUrl, 2);
    expect(bodies(again)).toEqual(['p-2', 'p-4']);
    expect(again.map((message) => message.Attributes?.ApproximateReceiveCount)).toEqual(['2', '2']);
  });

  it('keeps FIFO groups in order, failing the rest of a group after its first failure', async () => {
    const { queueUrl } = await createSqsQueue(client, { name: 'ric', fifo: true, visibilityTimeoutSeconds: 300 });
    const jobs = [
      { body: { id: 'a-1' }, groupId: 'a' },
      { body: { id: 'b-1' }, groupId: 'b' },
      { body: { id: 'a-2', fail: true }, groupId: 'a' },
      { body: { id: 'b-2' }, groupId: 'b' },
      { body: { id: 'a-3' }, groupId: 'a' },
    ];
    // fauxqs hands out one message per group per receive: each travels in an SQS group of its
    // own, and its record carries the group Lambda would report.
    await sendAll(
      client,
      queueUrl,
      jobs.map(({ body }) => ({ body, groupId: body.id })),
    );
    const received = await receiveAll(client, queueUrl, jobs.length);
    const arn = await queueArn(client, queueUrl);
    const event: SQSEvent = {
      Records: jobs.map(({ body, groupId }) =>
        toRecord(received.find((m) => m.Body === JSON.stringify(body)) as Message, arn, { MessageGroupId: groupId }),
      ),
    };
    const { response, handled } = await invoke(event);
    expect(failed(response)).toEqual(idsOf(event, ['a-2', 'a-3']));
    expect(handled.filter((job) => job.startsWith('a'))).toEqual(['a-1#1', 'a-2#1']);
    expect(handled.filter((job) => job.startsWith('b'))).toEqual(['b-1#1', 'b-2#1']);
    // The failed record (zero backoff) and the one held back behind it are both visible again.
    expect(bodies(await receiveAll(client, queueUrl, 2))).toEqual(['a-2', 'a-3']);
  });

  it('stops at the timeout margin mid-batch, and a redelivery processes what it left, its lease released', async () => {
    const { queueUrl } = await createSqsQueue(client, { name: 'ric', visibilityTimeoutSeconds: 300 });
    const jobs: Job[] = [{ id: 't-1' }, { id: 't-2', stuck: true }, { id: 't-3' }, { id: 't-4' }];
    await sendAll(
      client,
      queueUrl,
      jobs.map((body) => ({ body })),
    );
    const received = await receiveAll(client, queueUrl, jobs.length);
    const arn = await queueArn(client, queueUrl);
    const inOrder = (messages: readonly Message[]) =>
      jobs.flatMap((job) => messages.filter((m) => m.Body === JSON.stringify(job)).map((m) => toRecord(m, arn)));
    const event: SQSEvent = { Records: inOrder(received) };
    // 4 s to the deadline with a 2 s margin: t-2 never finishes, so t-3 and t-4 never start; t-2
    // is given up 1 s before the deadline.
    const first = await invoke(event, 4_000);
    expect(first.handled).toEqual(['t-1#1', 't-2#1']);
    expect(failed(first.response)).toEqual(idsOf(event, ['t-2', 't-3', 't-4']));
    // All three are visible again at once; the redelivery finds t-2's key free, not in progress.
    const again = await receiveAll(client, queueUrl, 3);
    expect(bodies(again)).toEqual(['t-2', 't-3', 't-4']);
    const second = await invoke({ Records: inOrder(again) });
    expect(second.response).toEqual({ batchItemFailures: [] });
    expect(second.handled).toEqual(['t-2#2', 't-3#2', 't-4#2']);
  });
});
