/**
 * The OpenTelemetry side of bench/tracing.ts: the real SDK registered globally with an exporter
 * that discards spans (noting their shapes), and how Missive traces a batch send.
 */
import type * as OtelApi from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type { Body } from '../lib/layer.ts';
import { DESTINATION, type MissiveModules, SEND_CHUNK } from './config.ts';

export const KIND_NAMES = ['internal', 'server', 'client', 'producer', 'consumer'];

/**
 * An exporter that drops what it is given and reports success at once. It counts spans and,
 * while `scanning` (the warm-up run: the measured run pays nothing for it), notes the shape of
 * each kind of span.
 */
export class DiscardingSpanExporter implements SpanExporter {
  exported = 0;
  scanning = true;
  readonly shapes: Record<string, string> = {};

  export(spans: ReadableSpan[], resultCallback: (result: { code: number }) => void): void {
    this.exported += spans.length;
    if (this.scanning) {
      for (const span of spans) {
        const key = `${KIND_NAMES[span.kind] ?? span.kind} ${span.name}`;
        if (!this.shapes[key]) this.shapes[key] = shapeOf(span);
      }
    }
    resultCallback({ code: 0 }); // ExportResultCode.SUCCESS
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** What must be equal between Missive's spans and the floor's: attribute keys, links, events, parent. */
export function shapeOf(span: ReadableSpan): string {
  return JSON.stringify({
    attributes: Object.keys(span.attributes).sort(),
    links: span.links.length,
    events: span.events.map((event) => `${event.name}(${Object.keys(event.attributes ?? {}).join(',')})`),
    parent: span.parentSpanContext ? 'yes' : 'none',
  });
}

/** The real SDK, registered globally: what an application's tracing setup does. */
export async function registerSdk() {
  const api: typeof OtelApi = await import('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const exporter = new DiscardingSpanExporter();
  // BatchSpanProcessor with its defaults (maxQueueSize 2048, maxExportBatchSize 512, 5 s delay).
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const ok =
    api.trace.setGlobalTracerProvider(provider) &&
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()) &&
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!ok) throw new Error('could not register the OpenTelemetry SDK globally');
  return { api, provider, exporter };
}
export type Sdk = Awaited<ReturnType<typeof registerSdk>>;

/**
 * How Missive traces a batch send, read from Missive itself (a two-message sendBatch recorded by
 * a private tracer provider), so the floor creates the same spans as the src/ measured:
 * - 'send': one PRODUCER send span per batch whose context every message carries;
 * - 'create': one PRODUCER create span per message, carrying its own context, and one CLIENT send
 *   span per batch linked to each (the conventions' shape for batches).
 */
export async function probeBatchShape(missive: MissiveModules): Promise<'send' | 'create'> {
  const { TracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = await import('@opentelemetry/sdk-trace');
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const producer = missive.createProducer<Body>({
    transport: missive.memoryQueue({ name: DESTINATION }),
    telemetry: missive.missiveTelemetry({ tracerProvider: provider }),
  });
  await producer.sendBatch([{ body: { n: 0 } }, { body: { n: 1 } }]);
  await producer.close();
  await provider.forceFlush();
  const names = exporter.getFinishedSpans().map((span) => `${KIND_NAMES[span.kind]} ${span.name}`);
  await provider.shutdown();
  const shape = names.includes(`producer create ${DESTINATION}`) ? 'create' : 'send';
  const send = `${shape === 'create' ? 'client' : 'producer'} send ${DESTINATION}`;
  if (!names.includes(send)) throw new Error(`no ${send} span in ${names.join(', ')}`);
  return shape;
}

/** Spans per run: one send span per chunk, one process span per message, one create span per message if so. */
export function expectedSpans(count: number, batchShape: 'send' | 'create'): number {
  return Math.ceil(count / SEND_CHUNK) + count + (batchShape === 'create' ? count : 0);
}
