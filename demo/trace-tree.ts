/**
 * Renders finished OpenTelemetry spans as an indented tree for a terminal or a text file, so the
 * shape of a trace can be read without a collector: one line per span, with its service, name,
 * delivery attempt, duration and outcome (ack, retry with its delay, dead-letter with its reason).
 *
 *   SERVICE               SPAN             ATTEMPT    START  DURATION  OUTCOME
 *   orders-api            send orders                +0 ms    0.4 ms  sent, batch of 100
 *   ├─ fulfilment-worker  process orders         1   +1 ms   14.2 ms  retry in 7 ms · Error: …
 *   └─ fulfilment-worker  process orders         2  +25 ms   12.0 ms  ack
 *
 * Used by `npm run demo -- --trace` and by the tracing recipe (docs/recipes/tracing.md).
 *
 * @module
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

// The attribute and event names Missive writes (src/telemetry/semconv.ts), spelled out so this
// module reads spans from any process, not only from this package.
const ATTR_MESSAGE_ID = 'messaging.message.id';
const ATTR_OPERATION_TYPE = 'messaging.operation.type';
const ATTR_BATCH_COUNT = 'messaging.batch.message_count';
const ATTR_ATTEMPT = 'missive.delivery.attempt';
const ATTR_OUTCOME = 'missive.outcome';
const ATTR_RETRY_DELAY = 'missive.retry.delay_ms';
const ATTR_DEAD_LETTER_REASON = 'missive.dead_letter.reason';
const ATTR_ERROR_TYPE = 'error.type';
const EVENT_SETTLE = 'missive.settle';

/** One span and the spans under it, earliest first. */
export interface TraceNode {
  readonly span: ReadableSpan;
  /** True when the span hangs here by a link (consumerContext 'link'), not as a child. */
  readonly linked: boolean;
  readonly children: TraceNode[];
}

/** Options of {@link renderTraceTree}. */
export interface TraceTreeOptions {
  /**
   * The service a span belongs to. Default the resource's `service.name`, or the span kind
   * (`producer`, `consumer`, `internal`) when the SDK was set up without one.
   */
  readonly service?: (span: ReadableSpan) => string;
  /**
   * `false` prints every duration as `n ms` and leaves out the START column: for output that
   * must not change from run to run, such as the docs, or a run on a manual clock. Default true.
   */
  readonly timings?: boolean;
}

const spanId = (span: ReadableSpan) => span.spanContext().spanId;
const millis = ([seconds, nanos]: readonly [number, number]) => seconds * 1_000 + nanos / 1_000_000;
const byStart = (a: TraceNode, b: TraceNode) => millis(a.span.startTime) - millis(b.span.startTime);

/**
 * The spans as a forest, built from their parent span ids. A span whose parent is not among
 * `spans` hangs under the first span it links to, if that one is; otherwise it is a root.
 */
export function buildTraceTree(spans: readonly ReadableSpan[]): TraceNode[] {
  const nodes = new Map<string, TraceNode>();
  for (const span of spans) nodes.set(spanId(span), { span, linked: false, children: [] });
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.span.parentSpanContext ? nodes.get(node.span.parentSpanContext.spanId) : undefined;
    if (parent) {
      parent.children.push(node);
      continue;
    }
    // Only a delivery attempt hangs under what it links to: a batch send links to its messages'
    // create spans, which are its own children.
    const link =
      node.span.kind === SpanKind.CONSUMER
        ? node.span.links.map((l) => nodes.get(l.context.spanId)).find((linked) => linked !== undefined)
        : undefined;
    if (link && link !== node) link.children.push({ ...node, linked: true });
    else roots.push(node);
  }
  const sort = (list: TraceNode[]) => {
    list.sort(byStart);
    for (const node of list) sort(node.children);
  };
  sort(roots);
  return roots;
}

/**
 * The spans of one message: its send and process spans (by `messaging.message.id`), the spans
 * they descend from (such as the batch send it went out in) and the spans under them (the
 * handler's own), without the other messages of a batch.
 */
export function spansOfMessage(spans: readonly ReadableSpan[], messageId: string): ReadableSpan[] {
  const byId = new Map(spans.map((span) => [spanId(span), span]));
  const chosen = new Set(spans.filter((span) => span.attributes[ATTR_MESSAGE_ID] === messageId));
  // Up: parents and linked sends.
  for (const span of [...chosen]) {
    let current: ReadableSpan | undefined = span;
    while (current) {
      chosen.add(current);
      // A delivery attempt's link leads to its send; a batch send's links lead to every
      // message of the batch, so those are not followed.
      for (const link of current.kind === SpanKind.CONSUMER ? current.links : []) {
        const linked = byId.get(link.context.spanId);
        if (linked) chosen.add(linked);
      }
      current = current.parentSpanContext ? byId.get(current.parentSpanContext.spanId) : undefined;
    }
  }
  // Down: everything under a chosen span that belongs to no other message.
  const below = new Set([...chosen].filter((span) => span.attributes[ATTR_MESSAGE_ID] === messageId));
  for (let grew = true; grew; ) {
    grew = false;
    for (const span of spans) {
      const parent = span.parentSpanContext ? byId.get(span.parentSpanContext.spanId) : undefined;
      if (!below.has(span) && parent && below.has(parent) && span.attributes[ATTR_MESSAGE_ID] === undefined) {
        below.add(span);
        chosen.add(span);
        grew = true;
      }
    }
  }
  return spans.filter((span) => chosen.has(span));
}

/** A message whose delivery failed at least once and then succeeded, with its CONSUMER spans. */
export interface RetriedMessage {
  readonly messageId: string;
  readonly retries: number;
  readonly attempts: readonly ReadableSpan[];
}

/**
 * The messages that were retried and then handled (acked, not skipped as duplicates), most
 * retries first, then earliest first.
 */
export function retriedMessages(spans: readonly ReadableSpan[]): RetriedMessage[] {
  const attempts = new Map<string, ReadableSpan[]>();
  for (const span of spans) {
    const id = span.attributes[ATTR_MESSAGE_ID];
    if (span.kind !== SpanKind.CONSUMER || typeof id !== 'string') continue;
    attempts.set(id, [...(attempts.get(id) ?? []), span]);
  }
  const retried: RetriedMessage[] = [];
  for (const [messageId, list] of attempts) {
    list.sort((a, b) => millis(a.startTime) - millis(b.startTime));
    const retries = list.filter((span) => span.attributes[ATTR_OUTCOME] === 'retry').length;
    if (retries > 0 && list.at(-1)?.attributes[ATTR_OUTCOME] === 'ack')
      retried.push({ messageId, retries, attempts: list });
  }
  const startOf = (message: RetriedMessage) => millis((message.attempts[0] as ReadableSpan).startTime);
  return retried.sort((a, b) => b.retries - a.retries || startOf(a) - startOf(b));
}

/** What became of a span: the settlement of a delivery attempt, the result of a send, or an error. */
export function outcomeOf(span: ReadableSpan): string {
  const error = span.status.code === SpanStatusCode.ERROR;
  const cause = `${span.attributes[ATTR_ERROR_TYPE] ?? 'Error'}${span.status.message ? `: ${span.status.message}` : ''}`;
  const settle = span.events.find((event) => event.name === EVENT_SETTLE)?.attributes ?? {};
  const outcome = settle[ATTR_OUTCOME] ?? span.attributes[ATTR_OUTCOME];
  switch (outcome) {
    case 'ack':
      return 'ack';
    case 'duplicate':
      return 'duplicate skipped (ack)';
    case 'retry': {
      const delay = settle[ATTR_RETRY_DELAY] ?? span.attributes[ATTR_RETRY_DELAY];
      return `retry${delay === undefined ? '' : ` in ${delay} ms`} · ${cause}`;
    }
    case 'dead-letter': {
      const reason = settle[ATTR_DEAD_LETTER_REASON] ?? span.attributes[ATTR_DEAD_LETTER_REASON];
      return `dead-letter (${reason ?? 'no reason given'}) · ${cause}`;
    }
  }
  const operation = span.attributes[ATTR_OPERATION_TYPE];
  if (operation === 'create') return 'created in the batch';
  // A single send is a PRODUCER span; a batch send, whose messages have create spans, a CLIENT one.
  if (operation === 'send') {
    const batch = span.attributes[ATTR_BATCH_COUNT];
    const what = error ? `send failed · ${cause}` : 'sent';
    return typeof batch === 'number' ? `${what}, batch of ${batch}` : what;
  }
  return error ? `error · ${cause}` : '';
}

const defaultService = (span: ReadableSpan): string => {
  const name = span.resource?.attributes['service.name'];
  if (typeof name === 'string' && !name.startsWith('unknown_service')) return name;
  return SpanKind[span.kind].toLowerCase();
};

const formatMs = (ms: number) => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;

/** The spans as an indented tree, one line per span under a header line; no trailing newline. */
export function renderTraceTree(spans: readonly ReadableSpan[], options: TraceTreeOptions = {}): string {
  const service = options.service ?? defaultService;
  const timings = options.timings ?? true;
  const roots = buildTraceTree(spans);
  const origin = spans.reduce((earliest, span) => Math.min(earliest, millis(span.startTime)), Number.POSITIVE_INFINITY);
  const rows: string[][] = [];
  const walk = (node: TraceNode, lead: string, branch: string) => {
    const { span } = node;
    const attempt = span.attributes[ATTR_ATTEMPT];
    rows.push([
      `${lead}${branch}${service(span)}`,
      `${span.name}${node.linked ? ' (link)' : ''}`,
      attempt === undefined ? '' : String(attempt),
      ...(timings ? [`+${Math.round(millis(span.startTime) - origin)} ms`] : []),
      timings ? formatMs(millis(span.duration)) : 'n ms',
      outcomeOf(span),
    ]);
    const under = `${lead}${branch === '' ? '' : branch === '├─ ' ? '│  ' : '   '}`;
    node.children.forEach((child, i) => {
      walk(child, under, i === node.children.length - 1 ? '└─ ' : '├─ ');
    });
  };
  for (const root of roots) walk(root, '', '');
  const header = ['SERVICE', 'SPAN', 'ATTEMPT', ...(timings ? ['START'] : []), 'DURATION', 'OUTCOME'];
  const table = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] as string).length)));
  // Text columns are left-aligned; numbers (attempt, start, duration) right-aligned.
  const numeric = (column: number) => column >= 2 && column < header.length - 1;
  return table
    .map((row) =>
      row
        .map((cell, column) =>
          numeric(column) ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number),
        )
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
