import { isSpanContextValid, type SpanContext, TraceFlags } from '@opentelemetry/api';

/** The header an AWS X-Ray trace header travels in (SQS's `AWSTraceHeader` system attribute is mapped onto it). */
export const XRAY_HEADER = 'x-amzn-trace-id';

/**
 * Reads an AWS X-Ray trace header (`Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`)
 * as a remote span context, or undefined when it is not a valid one.
 *
 * @example
 * ```ts
 * import { fromXRayHeader } from 'missive/telemetry';
 *
 * fromXRayHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')?.traceId;
 * // '5759e988bd862e3fe1be46a994272793'
 * ```
 */
export function fromXRayHeader(header: string): SpanContext | undefined {
  const fields = new Map(header.split(';').map((part) => part.trim().split('=') as [string, string]));
  const root = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/i.exec(fields.get('Root') ?? '');
  const parent = fields.get('Parent');
  if (!root || !parent || !/^[0-9a-f]{16}$/i.test(parent)) return undefined;
  const context: SpanContext = {
    traceId: `${root[1]}${root[2]}`.toLowerCase(),
    spanId: parent.toLowerCase(),
    traceFlags: fields.get('Sampled') === '1' ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
  // All-zero ids are invalid, as in W3C trace context: no link or parent may point at them.
  return isSpanContextValid(context) ? context : undefined;
}
