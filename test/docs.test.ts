/**
 * Keeps the documentation honest, in two ways:
 *
 * 1. Every code block in docs/**\/*.md comes from a file. A block is introduced by a marker line,
 *    `<!-- snippet: docs/snippets/NAME.ts -->` for a whole file, or
 *    `<!-- snippet: docs/snippets/NAME.ts#REGION -->` for the lines between `// #region REGION`
 *    and `// #endregion REGION` in that file (with their common indentation removed, and any
 *    other region markers dropped). The ```ts block right after the marker must equal that text
 *    exactly, and every ```ts block must have a marker, so the docs cannot drift from the code.
 * 2. Every snippet runs, and what it returns is checked.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createConsumer, ErrorCode, FailureReason, Jitter } from 'missive';
import { memoryQueue } from 'missive/memory';
import { describe, expect, inject, it } from 'vitest';
import * as backoff from '../docs/snippets/backoff.ts';
import * as backpressure from '../docs/snippets/backpressure.ts';
import * as deadLetters from '../docs/snippets/dead-letters.ts';
import * as firstQueue from '../docs/snippets/first-queue.ts';
import * as gracefulStop from '../docs/snippets/graceful-stop.ts';
import * as handlingErrors from '../docs/snippets/handling-errors.ts';
import * as idempotency from '../docs/snippets/idempotency.ts';
import * as idempotencyDynamoDb from '../docs/snippets/idempotency-dynamodb.ts';
import * as idempotencyKeys from '../docs/snippets/idempotency-keys.ts';
import * as idempotencyRedis from '../docs/snippets/idempotency-redis.ts';
import * as idempotencyStore from '../docs/snippets/idempotency-store.ts';
import * as lambdaSqs from '../docs/snippets/lambda-sqs.ts';
import * as retryBudget from '../docs/snippets/retry-budget.ts';
import * as schema from '../docs/snippets/schema.ts';
import * as sqsWorker from '../docs/snippets/sqs-worker.ts';
import * as tracing from '../docs/snippets/tracing.ts';
import * as visibility from '../docs/snippets/visibility.ts';
import * as webhooksReceive from '../docs/snippets/webhooks-receive.ts';
import * as webhooksSend from '../docs/snippets/webhooks-send.ts';
import { dynamoDbClient } from './helpers/dynamodb.ts';
import { createSqsQueue, sqsClient } from './helpers/sqs.ts';
import { generateCertificates } from './helpers/tls.ts';
import { receiveEvent } from './lambda/events.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');

const MARKER = /^<!-- snippet: (docs\/snippets\/[\w.-]+\.ts)(?:#([\w-]+))? -->$/;
const REGION_LINE = /^\s*\/\/ #(?:end)?region\b/;

interface Embed {
  /** Where the marker is, as `docs/FILE.md:LINE`. */
  readonly at: string;
  readonly file: string;
  readonly region: string | undefined;
  /** The code block's content, or undefined when no ```ts block follows the marker. */
  readonly code: string | undefined;
}

function markdownFiles(): string[] {
  return readdirSync(`${root}docs`, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.md'))
    .map((path) => `docs/${path.replaceAll('\\', '/')}`)
    .sort();
}

/** The snippet markers of one markdown file, and every ```ts block that has none. */
function parse(doc: string): { embeds: Embed[]; unmarked: string[] } {
  const lines = read(doc).split('\n');
  const embeds: Embed[] = [];
  const unmarked: string[] = [];
  let marker: { at: string; file: string; region: string | undefined } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const match = MARKER.exec(line);
    if (match) {
      if (marker) embeds.push({ ...marker, code: undefined });
      marker = { at: `${doc}:${i + 1}`, file: match[1] as string, region: match[2] };
      continue;
    }
    if (line.startsWith('```')) {
      const end = lines.findIndex((candidate, j) => j > i && candidate.startsWith('```'));
      if (end < 0) throw new Error(`${doc}:${i + 1}: code block is never closed`);
      if (line === '```ts') {
        const code = lines.slice(i + 1, end).join('\n');
        if (marker) embeds.push({ ...marker, code });
        else unmarked.push(`${doc}:${i + 1}`);
      } else if (marker) {
        embeds.push({ ...marker, code: undefined });
      }
      marker = undefined;
      i = end;
      continue;
    }
    // Only blank lines may sit between a marker and its block.
    if (marker && line.trim() !== '') {
      embeds.push({ ...marker, code: undefined });
      marker = undefined;
    }
  }
  if (marker) embeds.push({ ...marker, code: undefined });
  return { embeds, unmarked };
}

/** The text a marker stands for: the whole file, or one region of it. */
function snippetText(file: string, region: string | undefined): string {
  const text = read(file).replace(/\n$/, '');
  if (region === undefined) return text;
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `// #region ${region}`);
  const end = lines.findIndex((line) => line.trim() === `// #endregion ${region}`);
  if (start < 0 || end < start) throw new Error(`${file} has no region ${region}`);
  const body = lines.slice(start + 1, end).filter((line) => !REGION_LINE.test(line));
  const indent = Math.min(
    ...body.filter((line) => line.trim() !== '').map((line) => /^ */.exec(line)?.[0].length ?? 0),
  );
  return body.map((line) => line.slice(indent)).join('\n');
}

describe('docs: every code block comes from a snippet file', () => {
  const docs = markdownFiles();
  const parsed = docs.map((doc) => ({ doc, ...parse(doc) }));

  it('finds the guides', () => {
    expect(docs).toEqual(expect.arrayContaining(['docs/concepts.md', 'docs/getting-started.md']));
  });

  it('has a snippet marker before every ts block, and a ts block after every marker', () => {
    expect(parsed.flatMap((p) => p.unmarked)).toEqual([]);
    const dangling = parsed.flatMap((p) => p.embeds).filter((embed) => embed.code === undefined);
    expect(dangling.map((embed) => embed.at)).toEqual([]);
  });

  for (const { doc, embeds } of parsed) {
    for (const embed of embeds) {
      const name = `${embed.file}${embed.region ? `#${embed.region}` : ''}`;
      it(`${embed.at} shows ${name} exactly`, () => {
        expect(embed.code).toBe(snippetText(embed.file, embed.region));
      });
    }
    it(`${doc} embeds at least one snippet`, () => {
      expect(embeds.length).toBeGreaterThan(0);
    });
  }

  it('shows every snippet file somewhere', () => {
    const shown = new Set(parsed.flatMap((p) => p.embeds.map((embed) => embed.file)));
    const files = readdirSync(`${root}docs/snippets`)
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `docs/snippets/${file}`);
    expect(files.filter((file) => !shown.has(file))).toEqual([]);
  });

  it('extracts regions without their markers and with indentation removed', () => {
    const text = snippetText('docs/snippets/graceful-stop.ts', 'consumer');
    expect(text.startsWith('const finished: string[] = [];\nconst consumer = createConsumer<Report>({')).toBe(true);
    expect(text).not.toMatch(REGION_LINE);
  });
});

/** Every snippet file, by name; each one is run by a test below. */
const snippets: Record<string, unknown> = {
  'backoff.ts': backoff,
  'backpressure.ts': backpressure,
  'dead-letters.ts': deadLetters,
  'first-queue.ts': firstQueue,
  'graceful-stop.ts': gracefulStop,
  'handling-errors.ts': handlingErrors,
  'idempotency.ts': idempotency,
  'idempotency-dynamodb.ts': idempotencyDynamoDb,
  'idempotency-keys.ts': idempotencyKeys,
  'idempotency-redis.ts': idempotencyRedis,
  'idempotency-store.ts': idempotencyStore,
  'lambda-sqs.ts': lambdaSqs,
  'retry-budget.ts': retryBudget,
  'schema.ts': schema,
  'sqs-worker.ts': sqsWorker,
  'tracing.ts': tracing,
  'visibility.ts': visibility,
  'webhooks-receive.ts': webhooksReceive,
  'webhooks-send.ts': webhooksSend,
};

describe('docs: every snippet runs and does what the docs say', () => {
  it('covers every snippet file', () => {
    const files = readdirSync(`${root}docs/snippets`).filter((file) => file.endsWith('.ts'));
    expect(Object.keys(snippets).sort()).toEqual(files.sort());
  });

  it('first-queue: ships every order, acks each once, leaves the queue empty', async () => {
    const { shipped, stats, left } = await firstQueue.main();
    expect([...shipped].sort()).toEqual(['o-1', 'o-2', 'o-3']);
    expect(stats).toMatchObject({ received: 3, acked: 3, retried: 0, deadLettered: 0, inFlight: 0 });
    expect(left).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('handling-errors: RetryLaterError retries once, UnrecoverableError dead-letters at once', async () => {
    const { chargeAttempts, failure, stats } = await handlingErrors.main();
    expect(chargeAttempts).toEqual([1, 2]);
    expect(failure).toMatchObject({
      reason: FailureReason.Unrecoverable,
      errorName: 'UnrecoverableError',
      errorMessage: 'order o-2 has no customer',
      attempts: 1,
      source: 'payments',
    });
    expect(stats).toMatchObject({ acked: 1, retried: 1, deadLettered: 1 });
  });

  it('idempotency: the duplicate charge is acked without running the handler', async () => {
    const { charged, stats } = await idempotency.main();
    expect(charged).toEqual(['o-1', 'o-2']);
    expect(stats).toMatchObject({ received: 3, acked: 2, duplicates: 1, retried: 0 });
  });

  it('schema: the producer refuses an invalid body, the consumer dead-letters one with its issues', async () => {
    const { refused, totals, failure } = await schema.main();
    expect(refused).toMatch(/failed its schema .* at total/);
    expect(totals).toEqual([19]);
    expect(failure?.reason).toBe(FailureReason.InvalidBody);
    expect(failure?.errorName).toBe('InvalidMessageError');
    expect(failure?.issues?.map((issue) => issue.path)).toEqual([['orderId'], ['total']]);
  });

  it('graceful-stop: the quick job finishes, the slow one is released, no handler leaks', async () => {
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const result = await gracefulStop.main();
    expect(result).toEqual({ finished: ['quick'], released: 1, visibleAgain: 1, listenersLeft: 0 });
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
  });

  it('graceful-stop: stopOnSignals installs one handler per signal and removes them', () => {
    const queue = memoryQueue({ deadLetterQueue: memoryQueue() });
    const consumer = createConsumer({ transport: queue, handler: () => undefined });
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    const remove = gracefulStop.stopOnSignals(consumer);
    expect(process.listenerCount('SIGTERM')).toBe(before.term + 1);
    expect(process.listenerCount('SIGINT')).toBe(before.int + 1);
    remove();
    expect(process.listenerCount('SIGTERM')).toBe(before.term);
    expect(process.listenerCount('SIGINT')).toBe(before.int);
  });

  it('visibility: an unsettled message comes back after the timeout, one attempt later', async () => {
    const result = await visibility.main();
    expect(result).toEqual({
      attempts: [1, 2],
      sameMessage: true,
      whileInFlight: { visible: 0, inFlight: 1, delayed: 0 },
      meanwhile: 0,
      afterAck: { visible: 0, inFlight: 0, delayed: 0 },
    });
  });

  it('backoff: bounds follow the formulas in concepts.md', () => {
    const { ranges, drawn } = backoff.main();
    const maxes = (jitter: Jitter) => ranges[jitter]?.map((r) => r.maxMs);
    const mins = (jitter: Jitter) => ranges[jitter]?.map((r) => r.minMs);
    expect(maxes(Jitter.Full)).toEqual([100, 200, 400, 800, 1_000]);
    expect(mins(Jitter.Full)).toEqual([0, 0, 0, 0, 0]);
    expect(mins(Jitter.Equal)).toEqual([50, 100, 200, 400, 500]);
    expect(maxes(Jitter.Equal)).toEqual([100, 200, 400, 800, 1_000]);
    expect(mins(Jitter.Decorrelated)).toEqual([100, 100, 100, 100, 100]);
    expect(maxes(Jitter.Decorrelated)).toEqual([300, 300, 600, 1_000, 1_000]);
    expect(mins(Jitter.None)).toEqual(maxes(Jitter.None));
    expect(maxes(Jitter.None)).toEqual([100, 200, 400, 800, 1_000]);
    expect(drawn).toBe(200);
  });

  it('retry-budget: the shared budget allows two retries, then refuses', async () => {
    const result = await retryBudget.main();
    expect(result).toEqual({
      errors: [ErrorCode.SendFailed, ErrorCode.RetryBudgetExhausted],
      calls: 4,
      tokensLeft: 0,
    });
  });

  it('dead-letters: attempts exhausted, failure metadata written, original headers kept', async () => {
    const { tenant, reasonHeader, failure, stats } = await deadLetters.main();
    expect(tenant).toBe('acme');
    expect(reasonHeader).toBe('attempts-exhausted');
    expect(failure).toMatchObject({
      reason: FailureReason.AttemptsExhausted,
      errorName: 'Error',
      errorMessage: 'SMTP server refused the connection',
      attempts: 4,
      firstAttemptAt: Date.UTC(2026, 0, 1),
      source: 'emails',
    });
    // Three backoff delays, each at most its ceiling: 1 000 + 2 000 + 4 000 ms.
    const waitedMs = (failure?.failedAt ?? 0) - (failure?.firstAttemptAt ?? 0);
    expect(waitedMs).toBeGreaterThanOrEqual(0);
    expect(waitedMs).toBeLessThanOrEqual(7_000);
    expect(stats).toMatchObject({ received: 4, retried: 3, deadLettered: 1, acked: 0 });
  });

  it('idempotency-store: begin → new | in-progress | completed, with leases that lapse', async () => {
    const result = await idempotencyStore.main();
    expect(result).toEqual({
      statuses: ['new', 'in-progress', 'new', 'completed', 'new'],
      lateComplete: false,
      completed: true,
      duplicateResult: { receipt: 'r-1' },
    });
  });

  it('idempotency-keys: a resend is acked as a duplicate, another payload under the key is dead-lettered', async () => {
    const result = await idempotencyKeys.main();
    expect(result.charged).toEqual([{ orderId: 'o-1', amount: 42 }]);
    // The resend waited for the first copy (waitForInProgress) instead of being retried.
    expect(result.stats).toMatchObject({ received: 3, acked: 1, duplicates: 1, deadLettered: 1, retried: 0 });
    expect(result.deadLetter).toMatchObject({
      body: '{"orderId":"o-1","amount":43}',
      reason: FailureReason.IdempotencyConflict,
    });
    expect(result.deadLetter.errorMessage).toMatch(
      /^Idempotency key charge:o-1 was already used for a different payload/,
    );
  });

  it('idempotency-dynamodb: two workers sharing a table on DynamoDB Local charge each order once', async () => {
    const endpoint = inject('dynamoDbEndpoint');
    const clients = [dynamoDbClient(endpoint), dynamoDbClient(endpoint)];
    try {
      const result = await idempotencyDynamoDb.main({ clients, tableName: `docs-charges-${randomUUID()}` });
      expect(result).toEqual({ charged: ['o-1', 'o-2'], duplicates: 1 });
    } finally {
      for (const client of clients) client.destroy();
    }
  });

  it('idempotency-redis: a node-redis worker and an ioredis worker sharing Redis charge each order once', async () => {
    const result = await idempotencyRedis.main({ url: inject('redisUrl') });
    expect(result).toEqual({ charged: ['o-1', 'o-2'], duplicates: 1 });
  });

  it('sqs-worker: good orders fulfilled once, the poison one dead-lettered at maxReceiveCount, nothing left', async () => {
    // Test-only setup: the queue and its dead-letter queue, in the fauxqs emulator.
    const client = sqsClient();
    const { queueUrl, deadLetterQueueUrl } = await createSqsQueue(client, { name: 'orders', maxReceiveCount: 3 });
    const before = { term: process.listenerCount('SIGTERM'), int: process.listenerCount('SIGINT') };
    try {
      const result = await sqsWorker.main({ client, queueUrl, deadLetterQueueUrl: deadLetterQueueUrl as string });
      expect(result.sent).toEqual(Array(13).fill('sent'));
      expect([...result.fulfilled].sort()).toEqual(Array.from({ length: 12 }, (_, i) => `o-${i + 1}`).sort());
      expect(result.deadLetters).toHaveLength(1);
      const [dead] = result.deadLetters;
      expect(dead?.order).toEqual({ orderId: 'o-13', sku: 'discontinued', quantity: 1 });
      // retry.maxAttempts is 10, but the redrive policy's maxReceiveCount of 3 wins.
      expect(dead?.failure).toMatchObject({
        reason: FailureReason.AttemptsExhausted,
        errorName: 'Error',
        errorMessage: 'No stock record for SKU discontinued',
        attempts: 3,
        source: queueUrl,
      });
      expect(dead?.failure?.failedAt).toBeGreaterThanOrEqual(dead?.failure?.firstAttemptAt ?? Number.NaN);
      expect(result.stats).toMatchObject({
        received: 15,
        acked: 12,
        duplicates: 0,
        retried: 2,
        deadLettered: 1,
        released: 0,
        inFlight: 0,
      });
      expect(result.left).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
      expect(result.listenersLeft).toBe(0);
      expect(process.listenerCount('SIGTERM')).toBe(before.term);
      expect(process.listenerCount('SIGINT')).toBe(before.int);
    } finally {
      client.destroy();
    }
  });

  it('lambda-sqs: the failing order retried on redelivery, the empty one dead-lettered with its reason', async () => {
    // Test-only setup: the queue and the dead-letter queue, in the fauxqs emulator.
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'orders-lambda' });
    const { queueUrl: deadLetterQueueUrl } = await createSqsQueue(client, { name: 'orders-lambda-dlq' });
    try {
      const result = await lambdaSqs.main({
        client,
        queueUrl,
        deadLetterQueueUrl,
        receiveEvent: (count) => receiveEvent(client, queueUrl, count),
      });
      expect(result.failures).toEqual([['o-3'], []]);
      expect(result.fulfilled).toEqual(['o-1', 'o-3']);
      expect(result.deadLetters).toHaveLength(1);
      expect(result.deadLetters[0]?.order.orderId).toBe('o-2');
      expect(result.deadLetters[0]?.failure).toMatchObject({
        reason: FailureReason.Unrecoverable,
        errorName: 'UnrecoverableError',
        errorMessage: 'Order o-2 has no items',
        attempts: 1,
      });
    } finally {
      client.destroy();
    }
  });

  it('webhooks-receive: handled once, duplicate acknowledged, 422 and 400 refused, every adapter answers', async () => {
    const result = await webhooksReceive.main();
    expect(result).toEqual({
      paid: ['o-1', 'o-4'],
      sent: ['sent', 422, 400],
      resent: ['sent'],
      fetchStatus: 200,
      lambdaStatus: 401,
      forged: 'invalid-signature',
      verifiedId: 'evt_o-4_paid',
    });
  });

  it('webhooks-send: 503 + Retry-After retried once, 422 refused for good, 410 stops deliveries, mTLS', async () => {
    const result = await webhooksSend.main(generateCertificates());
    expect(result.statuses).toEqual([503, 204]);
    // Retry-After: 1 was honoured (the backoff alone draws anything from 0 to 1 000 ms).
    expect(result.waitedMs).toBeGreaterThanOrEqual(950);
    expect(result.sameWebhookId).toBe(true);
    expect(result.headers).toEqual({
      'webhook-id': 'evt_o-1_paid',
      'missive-message-id': result.sentId,
      'missive-headers': 'x-tenant',
      'x-tenant': 'acme',
      'content-type': 'application/json',
      authorization: expect.stringMatching(/^Bearer demo-token-\d+$/),
      signatures: 2,
    });
    expect(result.verifiesWithNewSecret).toBe(true);
    expect(result.verifiesWithOldSecret).toBe(true);
    expect(result.refusal).toEqual({
      status: 422,
      excerpt: '{"error":"unknown order"}',
      retryable: false,
      message: expect.stringMatching(
        /failed after 1 attempt\(s\): POST http:\/\/127\.0\.0\.1:\d+\/hooks\/strict answered 422/,
      ),
    });
    expect(result.refusal?.message).not.toContain('s3cr3t');
    expect(result.refusal?.message).not.toContain('whsec_');
    expect(result.strictRequests).toBe(1);
    expect(result.gone).toHaveLength(2);
    expect(result.gone[1]).toMatch(/answered 410: "subscription removed"\. The endpoint is gone/);
    expect(result.removedRequests).toBe(1);
    expect(result.tls).toEqual({ status: 'accepted', clientCertificate: 'client' });
  });

  it('tracing: many webhook URLs share one span name through the destination template', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    try {
      const telemetry = tracing.customerWebhooksTelemetry();
      for (const url of ['https://hooks.acme.example/missive', 'https://globex.example/webhooks'])
        await telemetry.send({ name: url, system: 'webhook' }, [], async () => []);
      expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes['messaging.destination.name']])).toEqual([
        ['send customer-webhooks', 'https://hooks.acme.example/missive'],
        ['send customer-webhooks', 'https://globex.example/webhooks'],
      ]);
    } finally {
      trace.disable();
    }
  });

  it('tracing: a retried message is one trace (send → attempts → handler spans), rendered as in the recipe', async () => {
    const { spans, tree, stats } = await tracing.main();
    expect(stats).toMatchObject({ received: 2, acked: 1, retried: 1, deadLettered: 0 });
    const sends = spans.filter((span) => span.kind === SpanKind.PRODUCER);
    expect(sends.map((span) => span.name)).toEqual(['send orders']);
    const attempts = spans.filter((span) => span.kind === SpanKind.CONSUMER);
    expect(
      attempts.map((s) => [s.name, s.attributes['missive.delivery.attempt'], s.attributes['missive.outcome']]),
    ).toEqual([
      ['process orders', 1, 'retry'],
      ['process orders', 2, 'ack'],
    ]);
    expect(attempts.map((span) => span.events.find((event) => event.name === 'missive.settle')?.attributes)).toEqual([
      { 'missive.outcome': 'retry', 'missive.retry.delay_ms': 100 },
      { 'missive.outcome': 'ack' },
    ]);
    // consumerContext 'parent': both attempts are children of the send, the handler's spans of each attempt.
    const sendId = sends[0]?.spanContext().spanId;
    expect(attempts.map((span) => span.parentSpanContext?.spanId)).toEqual([sendId, sendId]);
    const charges = spans.filter((span) => span.name === 'charge card');
    expect(charges.map((span) => span.parentSpanContext?.spanId)).toEqual(attempts.map((s) => s.spanContext().spanId));
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    // The tree in the recipe is this run's (durations are rendered as `n ms`, ids not at all).
    const recipe = read('docs/recipes/tracing.md').split('\n');
    const at = recipe.findIndex((line) => line.startsWith('<!-- rendered from docs/snippets/tracing.ts'));
    expect(recipe[at + 1]).toBe('```text');
    expect(recipe.slice(at + 2, recipe.indexOf('```', at + 2)).join('\n')).toBe(tree);
  });

  it('backpressure: never more messages in flight than the concurrency', async () => {
    const { mostInFlight, acked } = await backpressure.main();
    expect(mostInFlight).toBe(4);
    expect(acked).toBe(20);
  });
});
