/**
 * The sdk-floor mode of bench/tracing.ts: no Missive, a bare loop that creates the spans Missive
 * creates with the same SDK, and nothing else.
 */
import type * as OtelApi from '@opentelemetry/api';
import { type Body, cpuMillis, type LayerRun, makeBodies, makeHandler } from '../lib/layer.ts';
import { CONCURRENCY, DESTINATION, type MissiveModules, SEND_CHUNK } from './config.ts';
import type { Sdk } from './sdk.ts';

interface FloorMessage {
  readonly id: string;
  readonly body: Body;
  readonly headers: Record<string, string>;
}

/**
 * The SDK floor: the spans Missive creates for a run (per chunk a send span, and a create span
 * per message if Missive makes them; a process span per message; propagation through the
 * headers; the same attributes, links and event), and nothing else. The names come from the
 * measured src/'s semconv module.
 */
export async function runFloor(
  count: number,
  sdk: Sdk,
  missive: MissiveModules,
  batchShape: 'send' | 'create',
): Promise<LayerRun> {
  const { api } = sdk;
  const { context, propagation, ROOT_CONTEXT, SpanKind, trace } = api;
  const { semconv } = missive;
  const getter: OtelApi.TextMapGetter<Record<string, string>> = {
    get: (carrier, key) => carrier[key],
    keys: (carrier) => Object.keys(carrier),
  };
  const tracer = trace.getTracer('missive');
  const bodies = makeBodies(count);
  // Missive makes ids (UUIDv7) itself; they are not the SDK's work, so they are made untimed here.
  const ids: string[] = new Array(count);
  for (let n = 0; n < count; n++) ids[n] = `0198a1b2-c3d4-7e5f-8a9b-${n.toString(16).padStart(12, '0')}`;
  const seen = new Uint8Array(count);
  const total = { sum: 0, handled: 0 };
  const handler = makeHandler(count, seen, total, () => undefined);
  const destination: OtelApi.Attributes = {
    [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MessagingSystem.Memory,
    [semconv.ATTR_MESSAGING_DESTINATION_NAME]: DESTINATION,
  };
  const processAttributes: OtelApi.Attributes = {
    ...destination,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
  };
  // Given when each span starts, as the conventions ask, so that samplers see them.
  const sendAttributes: OtelApi.Attributes = {
    ...destination,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'send',
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'send',
  };
  const createAttributes: OtelApi.Attributes = {
    ...destination,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'create',
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'create',
  };
  const perMessage = batchShape === 'create';

  const queue: FloorMessage[] = [];
  // The transport: append the batch to the queue (async, as a transport's send is).
  const enqueue = async (batch: FloorMessage[]) => {
    for (const message of batch) queue.push(message);
  };

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let first = 0; first < count; first += SEND_CHUNK) {
    const end = Math.min(first + SEND_CHUNK, count);
    // With create spans, the messages carry their contexts and the send span is a CLIENT one.
    const send = tracer.startSpan(`send ${DESTINATION}`, {
      kind: perMessage ? SpanKind.CLIENT : SpanKind.PRODUCER,
      attributes: sendAttributes,
    });
    send.setAttribute(semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT, end - first);
    const active = trace.setSpan(context.active(), send);
    const batch: FloorMessage[] = new Array(end - first);
    if (perMessage) {
      for (let n = first; n < end; n++) {
        const create = tracer.startSpan(
          `create ${DESTINATION}`,
          { kind: SpanKind.PRODUCER, attributes: { ...createAttributes, [semconv.ATTR_MESSAGING_MESSAGE_ID]: ids[n] } },
          active,
        );
        send.addLink({ context: create.spanContext() });
        const headers: Record<string, string> = {};
        propagation.inject(trace.setSpan(active, create), headers);
        create.end();
        batch[n - first] = { id: ids[n] as string, body: bodies[n] as Body, headers };
      }
    } else {
      const carrier: Record<string, string> = {};
      propagation.inject(active, carrier);
      for (let n = first; n < end; n++)
        batch[n - first] = { id: ids[n] as string, body: bodies[n] as Body, headers: { ...carrier } };
    }
    // As Missive does: the transport's send awaited inside the send span's context, and the send
    // span ended once it has resolved.
    await context.with(active, enqueue, undefined, batch);
    send.end();
    // The batch processor exports at most one batch (512) per synchronous stretch and drops what
    // overflows its queue (2 048): let it catch up between chunks, as it does between Missive's
    // sends (its consumer runs there), so that no span is dropped. ~200 turns a run: negligible.
    await new Promise((resolve) => setImmediate(resolve));
  }
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const message = queue[next] as FloorMessage;
      queue[next++] = undefined as unknown as FloorMessage;
      const extracted = propagation.extract(ROOT_CONTEXT, message.headers, getter);
      const producer = trace.getSpanContext(extracted);
      // The producer's baggage is the handler's too.
      const baggage = propagation.getBaggage(extracted);
      const parent = baggage ? propagation.setBaggage(context.active(), baggage) : context.active();
      const span = tracer.startSpan(
        `process ${DESTINATION}`,
        {
          kind: SpanKind.CONSUMER,
          links: producer ? [{ context: producer }] : [],
          attributes: { ...processAttributes, [semconv.ATTR_MESSAGING_MESSAGE_ID]: message.id },
        },
        parent,
      );
      span.setAttribute(semconv.ATTR_MISSIVE_ATTEMPT, 1);
      await context.with(trace.setSpan(parent, span), () => handler(message));
      span.setAttribute(semconv.ATTR_MISSIVE_OUTCOME, 'ack');
      span.addEvent(semconv.EVENT_MISSIVE_SETTLE, { [semconv.ATTR_MISSIVE_OUTCOME]: 'ack' });
      span.end();
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < CONCURRENCY; i++) workers.push(worker());
  await Promise.all(workers);
  const elapsedMs = performance.now() - start;
  return { elapsedMs, cpuMs: cpuMillis(cpuStart), seen, sum: total.sum, problems: [] };
}
