import { type Attributes, context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

/** A histogram data point's value, as the SDK collects it. */
export interface HistogramPoint {
  readonly count: number;
  readonly sum?: number;
  readonly buckets: { readonly boundaries: number[]; readonly counts: number[] };
}

/**
 * The real OpenTelemetry SDK, recording into memory: a tracer provider with an in-memory span
 * exporter, a meter provider with a reader collected on demand, and the global context manager
 * and W3C propagator (which Missive uses through the API). Call `shutdown()` after the test.
 */
export function otelSdk() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(0),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return {
    tracerProvider,
    meterProvider,
    finishedSpans: (): ReadableSpan[] => spans.getFinishedSpans(),
    /** Sums of every counter and counts of every histogram, by metric name. */
    async metrics(): Promise<Record<string, number>> {
      const { resourceMetrics } = await reader.collect();
      const totals: Record<string, number> = {};
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          for (const point of metric.dataPoints) {
            const value = point.value as number | { count: number };
            totals[metric.descriptor.name] =
              (totals[metric.descriptor.name] ?? 0) + (typeof value === 'number' ? value : value.count);
          }
        }
      }
      return totals;
    },
    /**
     * Every data point of every metric, by metric name: its attributes, and its value (a sum, or a
     * histogram). Points are deltas: each call (like `metrics()`) sees what was recorded since the last.
     */
    async points(): Promise<Record<string, { attributes: Attributes; value: number | HistogramPoint }[]>> {
      const { resourceMetrics } = await reader.collect();
      const points: Record<string, { attributes: Attributes; value: number | HistogramPoint }[]> = {};
      for (const scope of resourceMetrics.scopeMetrics) {
        for (const metric of scope.metrics) {
          const named = points[metric.descriptor.name] ?? [];
          for (const point of metric.dataPoints)
            named.push({ attributes: point.attributes, value: point.value as number | HistogramPoint });
          points[metric.descriptor.name] = named;
        }
      }
      return points;
    },
    async shutdown() {
      context.disable();
      propagation.disable();
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}
