/**
 * `npm run demo -- --trace`: the real OpenTelemetry SDK, recording into memory, and the tree of one
 * retried message printed after the run. orders.ts imports this module only under --trace, so a
 * plain run loads no OpenTelemetry code at all.
 *
 * @module
 */
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { missiveTelemetry } from '../src/telemetry/index.ts';
import { renderTraceTree, retriedMessages, spansOfMessage } from './trace-tree.ts';

/**
 * Both services of the demo run in this one process, so the tree labels spans by kind: the
 * producer is the API that takes orders, the consumer the worker that fulfils them. (Separate
 * processes would each set `service.name` on their SDK's resource.)
 */
const service = (span: ReadableSpan) =>
  ['send', 'create'].includes(span.attributes['messaging.operation.type'] as string)
    ? 'orders-api'
    : 'fulfilment-worker';

/** Registers the SDK globally, as an application would, and returns the telemetry to pass to Missive. */
export function startTracing() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.setGlobalTracerProvider(tracerProvider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    // Parent, not link: each message's attempts hang under its send, one tree per message.
    telemetry: missiveTelemetry({ consumerContext: 'parent' }),

    /** Prints the trace of the message retried most (then the earliest), and what the spans add up to. */
    async print(orderOf: (messageId: string) => string | undefined): Promise<void> {
      await tracerProvider.forceFlush();
      const spans = exporter.getFinishedSpans();
      console.log(`\nTracing: ${summary(spans)}`);
      const [message] = retriedMessages(spans);
      if (!message) {
        console.log('No message was retried and then handled in this run: no trace to show.');
        return;
      }
      const branch = spansOfMessage(spans, message.messageId);
      const traceId = message.attempts[0]?.spanContext().traceId;
      const order = orderOf(message.messageId);
      console.log(
        `\nTrace ${traceId}: ${order ? `order ${order}, ` : ''}message ${message.messageId}, ` +
          `retried ${message.retries} time${message.retries === 1 ? '' : 's'}`,
      );
      const batch = branch.find((span) => typeof span.attributes['messaging.batch.message_count'] === 'number');
      if (batch)
        console.log(
          `(it was sent in a batch: the other ${Number(batch.attributes['messaging.batch.message_count']) - 1} messages under that send are left out)`,
        );
      console.log(`\n${indent(renderTraceTree(branch, { service }))}`);
      console.log(
        '\n  START is the time since the send. Between attempts, a message waits out its backoff (the retry delay),' +
          '\n  then its turn behind the messages already queued.',
      );
    },

    async shutdown(): Promise<void> {
      await tracerProvider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Span counts by kind and outcome: `21 send spans, 2,555 process spans (1,994 ack, 505 retry, …)`. */
function summary(spans: readonly ReadableSpan[]): string {
  const count = (list: readonly ReadableSpan[]) => list.length.toLocaleString('en-US');
  const sends = spans.filter((span) => span.attributes['messaging.operation.type'] === 'send');
  const processes = spans.filter((span) => span.kind === SpanKind.CONSUMER);
  const outcomes = new Map<string, number>();
  for (const span of processes) {
    const outcome = String(span.attributes['missive.outcome'] ?? 'none');
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  const byOutcome = [...outcomes].map(([outcome, n]) => `${n.toLocaleString('en-US')} ${outcome}`).join(', ');
  return `${count(sends)} send spans, ${count(processes)} process spans (${byOutcome})`;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
