import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  type ConsumerOptions,
  createConsumer,
  createProducer,
  memoryIdempotencyStore,
  UnrecoverableError,
} from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { missiveTelemetry } from 'missive/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTraceTree, outcomeOf, renderTraceTree, retriedMessages, spansOfMessage } from '../demo/trace-tree.ts';
import { otelSdk } from './helpers/otel.ts';

let sdk: ReturnType<typeof otelSdk>;
beforeEach(() => {
  sdk = otelSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

const service = (span: ReadableSpan) =>
  ['send', 'create'].includes(span.attributes['messaging.operation.type'] as string)
    ? 'orders-api'
    : 'fulfilment-worker';

interface Order {
  readonly orderId: string;
}

/** Real spans from the real SDK: a producer and a consumer on a memory queue, on a manual clock. */
async function run(
  send: (producer: ReturnType<typeof createProducer<Order>>) => Promise<unknown>,
  handler: ConsumerOptions<Order>['handler'],
  settled: number,
  options: { link?: boolean; idempotency?: boolean } = {},
): Promise<ReadableSpan[]> {
  const clock = new ManualClock();
  const telemetry = missiveTelemetry({
    tracerProvider: sdk.tracerProvider,
    ...(options.link ? {} : { consumerContext: 'parent' as const }),
  });
  const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock, name: 'orders-dlq' }) });
  await send(createProducer<Order>({ transport: queue, clock, telemetry }));
  const consumer = createConsumer<Order>({
    transport: queue,
    clock,
    telemetry,
    concurrency: 1,
    retry: { maxAttempts: 3, backoff: { initialDelayMs: 100, jitter: 'none' } },
    ...(options.idempotency ? { idempotency: { store: memoryIdempotencyStore({ clock }) } } : {}),
    handler,
  });
  consumer.start();
  await clock.advanceUntil(() => {
    const s = consumer.stats();
    return s.acked + s.deadLettered + s.duplicates >= settled;
  });
  const stopping = consumer.stop();
  await clock.advance(30_000);
  await stopping;
  return sdk.finishedSpans();
}

/** A handler that fails the first call for each order in `flaky`, inside a span of its own. */
function chargeCard(flaky: readonly string[] = [], poison: readonly string[] = []): ConsumerOptions<Order>['handler'] {
  const calls = new Map<string, number>();
  const tracer = sdk.tracerProvider.getTracer('fulfilment');
  return ({ body }) =>
    tracer.startActiveSpan('charge card', async (span) => {
      try {
        const call = (calls.get(body.orderId) ?? 0) + 1;
        calls.set(body.orderId, call);
        if (poison.includes(body.orderId)) throw new UnrecoverableError(`order ${body.orderId} has no customer`);
        if (call === 1 && flaky.includes(body.orderId)) throw new Error('payment API down');
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
}

describe('trace tree', () => {
  it("renders a retried message's send, attempts and handler spans as one tree", async () => {
    const spans = await run((producer) => producer.send({ orderId: 'o-1' }), chargeCard(['o-1']), 1);
    expect(renderTraceTree(spans, { service, timings: false })).toBe(
      [
        'SERVICE                  SPAN            ATTEMPT  DURATION  OUTCOME',
        'orders-api               send orders                  n ms  sent',
        '├─ fulfilment-worker     process orders        1      n ms  retry in 100 ms · Error: payment API down',
        '│  └─ fulfilment-worker  charge card                  n ms  error · Error: payment API down',
        '└─ fulfilment-worker     process orders        2      n ms  ack',
        '   └─ fulfilment-worker  charge card                  n ms',
      ].join('\n'),
    );
    // The tree follows the SDK's parent span ids: send → attempts → handler spans.
    const [root, ...others] = buildTraceTree(spans);
    expect(others).toEqual([]);
    expect(root?.span.kind).toBe(SpanKind.PRODUCER);
    expect(root?.children.map((node) => [node.span.attributes['missive.delivery.attempt'], node.linked])).toEqual([
      [1, false],
      [2, false],
    ]);
    for (const attempt of root?.children ?? []) {
      expect(attempt.span.parentSpanContext?.spanId).toBe(root?.span.spanContext().spanId);
      expect(attempt.children.map((node) => node.span.name)).toEqual(['charge card']);
    }
  });

  it('shows measured start offsets and durations by default', async () => {
    const spans = await run((producer) => producer.send({ orderId: 'o-1' }), chargeCard(['o-1']), 1);
    const lines = renderTraceTree(spans, { service }).split('\n');
    expect(lines[0]).toMatch(/^SERVICE +SPAN +ATTEMPT +START +DURATION +OUTCOME$/);
    expect(lines[1]).toMatch(/^orders-api +send orders +\+0 ms +\d+(\.\d)? ms +sent$/);
    expect(lines[2]).toMatch(/^├─ fulfilment-worker +process orders +1 +\+\d+ ms +\d+(\.\d)? ms +retry in 100 ms/);
    // Without a service callback: the kind, as no service.name was set on the SDK's resource.
    expect(renderTraceTree(spans, { timings: false }).split('\n')[1]).toMatch(/^producer +send orders/);
  });

  it("picks a retried message out of a batch and shows only its branch, with the batch's other outcomes", async () => {
    let ids: string[] = [];
    const spans = await run(
      async (producer) => {
        const sent = await producer.sendBatch([
          { body: { orderId: 'o-1' } },
          { body: { orderId: 'o-2' } },
          { body: { orderId: 'o-3' } },
        ]);
        ids = sent.map((result) => result.id);
      },
      chargeCard(['o-2'], ['o-3']),
      3,
    );
    const retried = retriedMessages(spans);
    expect(retried.map((message) => [message.messageId, message.retries])).toEqual([[ids[1], 1]]);
    const branch = spansOfMessage(spans, ids[1] as string);
    expect(renderTraceTree(branch, { service, timings: false })).toBe(
      [
        'SERVICE                     SPAN            ATTEMPT  DURATION  OUTCOME',
        'orders-api                  send orders                  n ms  sent, batch of 3',
        '└─ orders-api               create orders                n ms  created in the batch',
        '   ├─ fulfilment-worker     process orders        1      n ms  retry in 100 ms · Error: payment API down',
        '   │  └─ fulfilment-worker  charge card                  n ms  error · Error: payment API down',
        '   └─ fulfilment-worker     process orders        2      n ms  ack',
        '      └─ fulfilment-worker  charge card                  n ms',
      ].join('\n'),
    );
    // The whole trace: one send, a create span per message, each message's attempts under it.
    const outcomes = buildTraceTree(spans)[0]
      ?.children.flatMap((create) => create.children)
      .sort((a, b) => a.span.startTime[0] - b.span.startTime[0] || a.span.startTime[1] - b.span.startTime[1])
      .map((node) => outcomeOf(node.span));
    expect(outcomes).toEqual([
      'ack',
      'retry in 100 ms · Error: payment API down',
      'dead-letter (unrecoverable) · UnrecoverableError: order o-3 has no customer',
      'ack',
    ]);
  });

  it('hangs linked attempts under the send they link to, and shows duplicates skipped', async () => {
    const spans = await run(
      async (producer) => {
        await producer.send({ orderId: 'o-1' }, { idempotencyKey: 'o-1' });
        await producer.send({ orderId: 'o-1' }, { idempotencyKey: 'o-1' });
      },
      () => undefined,
      2,
      { link: true, idempotency: true },
    );
    // With links, each attempt starts a trace of its own; the tree still puts it under its send.
    const consumers = spans.filter((span) => span.kind === SpanKind.CONSUMER);
    expect(consumers.every((span) => span.parentSpanContext === undefined)).toBe(true);
    expect(renderTraceTree(spans, { service, timings: false })).toBe(
      [
        'SERVICE               SPAN                   ATTEMPT  DURATION  OUTCOME',
        'orders-api            send orders                         n ms  sent',
        '└─ fulfilment-worker  process orders (link)        1      n ms  ack',
        'orders-api            send orders                         n ms  sent',
        '└─ fulfilment-worker  process orders (link)        1      n ms  duplicate skipped (ack)',
      ].join('\n'),
    );
  });
});

describe('npm run demo', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const exec = promisify(execFile);

  it('loads no OpenTelemetry module without --trace', async () => {
    // A resolve hook that reports every @opentelemetry import, then the plain demo.
    const hook = `import { registerHooks } from 'node:module';
      registerHooks({ resolve(specifier, context, next) {
        if (specifier.includes('@opentelemetry')) process.stderr.write('loaded ' + specifier + '\\n');
        return next(specifier, context);
      } });`;
    const args = ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, 'demo/orders.ts', '--quiet'];
    const plain = await exec(process.execPath, args, { cwd: root });
    expect(plain.stdout).toContain('OK: every order was handled exactly once');
    expect(plain.stderr).not.toContain('loaded @opentelemetry');
    // The hook does see them under --trace, so its silence above means something.
    const traced = await exec(process.execPath, [...args, '--trace'], { cwd: root });
    expect(traced.stderr).toContain('loaded @opentelemetry/sdk-trace');
    expect(traced.stdout).toContain('OK: every order was handled exactly once');
  });

  it('prints the trace of one retried message with --trace', async () => {
    const { stdout } = await exec(process.execPath, ['demo/orders.ts', '--quiet', '--trace'], { cwd: root });
    // The tree: from its header line to the first blank line.
    const tree = stdout.slice(stdout.indexOf('  SERVICE')).split('\n\n')[0]?.split('\n') ?? [];
    expect(tree[0]).toMatch(/^ {2}SERVICE +SPAN +ATTEMPT +START +DURATION +OUTCOME$/);
    expect(tree[1]).toMatch(/^ {2}orders-api +send orders +\+0 ms +[\d.]+ ms +sent, batch of 100$/);
    expect(tree[2]).toMatch(/^ {2}└─ orders-api +create orders .* created in the batch$/);
    const attempts = tree.slice(3);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    attempts.forEach((line, i) => {
      expect(line).toMatch(new RegExp(`^ {5}[├└]─ fulfilment-worker +process orders +${i + 1} `));
      expect(line).toMatch(i < attempts.length - 1 ? / ms +retry in \d+ ms · Error: payment service/ : / ms +ack$/);
    });
    expect(stdout).toMatch(/Trace [0-9a-f]{32}: order ord-\d{5}, message [0-9a-f-]{36}, retried \d+ times?/);
  });
});
