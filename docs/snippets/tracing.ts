// #region imports
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createConsumer, createProducer } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { missiveTelemetry } from 'missive/telemetry';
// #endregion imports
import { renderTraceTree } from '../../demo/trace-tree.ts';

interface Order {
  readonly orderId: string;
}

/** Charges an order; the first call fails, as a payment API does now and then. */
let charges = 0;
async function chargeCard(_order: Order): Promise<void> {
  if (++charges === 1) throw new Error('payment API timed out');
}

export async function main() {
  charges = 0;
  // #region sdk
  // Spans end up here; in production, an OTLP exporter behind a BatchSpanProcessor.
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  trace.setGlobalTracerProvider(tracerProvider);
  // Without a context manager, no span would be the parent of another within the process.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // Without a propagator, no trace context would travel in the messages.
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // #endregion sdk

  try {
    // #region wiring
    const telemetry = missiveTelemetry({ consumerContext: 'parent' });
    const clock = new ManualClock();
    const orders = memoryQueue({ name: 'orders', clock, deadLetterQueue: memoryQueue({ name: 'orders-dlq', clock }) });

    const producer = createProducer<Order>({ transport: orders, clock, telemetry });
    await producer.send({ orderId: 'o-1' });

    const tracer = trace.getTracer('fulfilment');
    const consumer = createConsumer<Order>({
      transport: orders,
      clock,
      telemetry,
      retry: { backoff: { initialDelayMs: 100, jitter: 'none' } },
      // The handler runs inside the attempt's span: spans it starts are its children.
      handler: (message) =>
        tracer.startActiveSpan('charge card', async (span) => {
          try {
            await chargeCard(message.body);
          } catch (error) {
            span.recordException(error as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
            throw error;
          } finally {
            span.end();
          }
        }),
    });
    // #endregion wiring

    consumer.start();
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    const stopping = consumer.stop();
    await clock.advance(30_000);
    await stopping;

    const spans = exporter.getFinishedSpans();
    // Both services run in this one process: label their spans by kind. Durations are left out,
    // as they change from run to run (and the backoff passes on a manual clock here).
    const service = (span: ReadableSpan) => (span.kind === SpanKind.PRODUCER ? 'orders-api' : 'fulfilment-worker');
    return { spans, tree: renderTraceTree(spans, { service, timings: false }), stats: consumer.stats() };
  } finally {
    await tracerProvider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

/** Telemetry for a webhook sender with one URL per customer, on the global tracer provider. */
export function customerWebhooksTelemetry() {
  // #region templates
  const telemetry = missiveTelemetry({
    destinationTemplate: ({ system }) => (system === 'webhook' ? 'customer-webhooks' : undefined),
  });
  // #endregion templates
  return telemetry;
}
