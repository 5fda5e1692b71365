import type { Clock, TimerHandle } from '../clock.ts';
import { RetryLaterError, toError } from '../errors.ts';
import { failureOf } from '../failure.ts';
import type { Message } from '../message.ts';
import type { Backoff } from '../reliability/backoff.ts';
import type { Handler } from '../reliability/consumer.ts';
import { idempotencyStep, type ResolvedIdempotency } from '../reliability/idempotency/step.ts';
import { compose, type Outcome, type Process, type ProcessContext, type Step } from '../reliability/pipeline.ts';
import { classify } from '../reliability/retry.ts';
import { mapConcurrently } from './concurrently.ts';
import { RecordDelivery, type RecordSource } from './delivery.ts';
import { isFifoArn, type SqsBatchResponse, type SqsRecord } from './event.ts';

/** A queue records come from, with the telemetry step for it. */
export interface BatchSource extends RecordSource {
  readonly traced: Step | undefined;
}

/** What one invocation needs from its `sqsHandler`: the options, checked. */
export interface BatchSetup<Body> {
  readonly handler: Handler<Body>;
  readonly concurrency: number;
  readonly marginMs: number;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly random: () => number;
  readonly clock: Clock;
  /** The decode step, and the retry step (innermost). */
  readonly decode: Step;
  readonly retry: Step;
  readonly idempotency: ResolvedIdempotency | undefined;
  /** Whether `idempotency.leaseMs` was given; else a lease lasts the invocation's remaining time. */
  readonly leaseFixed: boolean;
  readonly sourceOf: (eventSourceArn: string) => BatchSource;
  readonly report: (error: unknown) => void;
  /** Told when an invocation started with less time than `marginMs`. */
  readonly marginTooLong: (remainingMs: number) => void;
}

/**
 * Processes one batch: each record through the consumer's pipeline (telemetry, decoding,
 * idempotency, retry, the handler), with bounded concurrency, FIFO groups in order, and no record
 * started within `marginMs` of the deadline. Then sets the visibility of failed records and
 * answers with them. `remainingMs()` is the invocation's time left.
 */
export async function processBatch<Body>(
  setup: BatchSetup<Body>,
  records: readonly SqsRecord[],
  remainingMs: () => number,
): Promise<SqsBatchResponse> {
  const { clock, backoff, random, maxAttempts, report } = setup;
  const startMs = remainingMs();
  // A margin as long as the whole invocation would start nothing and release every record at
  // once, in a loop: keep half the time instead, and say so.
  let marginMs = setup.marginMs;
  if (startMs <= marginMs) {
    marginMs = Math.floor(startMs / 2);
    setup.marginTooLong(startMs);
  }
  const receivedAt = clock.now();
  // Before the timers: a record that cannot be read rejects the invocation without leaving them set.
  const deliveries = records.map(
    (record) => new RecordDelivery(record, setup.sourceOf(record.eventSourceARN), receivedAt),
  );
  const deadline = deadlineTimers(clock, startMs, marginMs);
  const process = pipeline(setup, deadline, startMs);
  const canStart = () => !deadline.signal.aborted && remainingMs() >= marginMs;

  /** Runs one record and settles it; true when its FIFO group may go on. */
  const run = async (delivery: RecordDelivery): Promise<boolean> => {
    const source = delivery.source as BatchSource;
    const processing: ProcessContext = { delivery, source: source.queueUrl, signal: deadline.signal };
    let outcome: Outcome;
    try {
      outcome = await (source.traced ? source.traced(process) : process)(processing);
    } catch (error) {
      // A step failed outside the handler (a store outage, say): a failed attempt.
      report(error);
      outcome = classify(toError(error), delivery.attempt, maxAttempts, backoff, random);
    }
    try {
      await settle(delivery, outcome, clock);
    } catch (error) {
      // The dead-letter send failed: the record comes back after the backoff, to try again.
      report(error);
      await delivery.retry({ delayMs: backoff.delayMs(delivery.attempt, undefined, random) });
    }
    return delivery.result?.status === 'succeeded';
  };

  const runLane = async (lane: readonly RecordDelivery[]) => {
    for (const delivery of lane) {
      // Nothing starts within the margin; the first failure in a FIFO group holds back the rest of it.
      if (!canStart() || !(await run(delivery))) return;
    }
  };
  try {
    // A store call or dead-letter send that hangs must not take the response past the timeout:
    // at a quarter of the margin, whatever is still unsettled is reported failed.
    await Promise.race([mapConcurrently(toLanes(deliveries), setup.concurrency, runLane), deadline.cutOff]);
  } finally {
    deadline.clear();
  }
  // Records not started (out of time, or behind a failure in their FIFO group) come back at once.
  for (const delivery of deliveries) if (!delivery.result) delivery.release();
  // Visibility changes are best effort (a record whose change is lost comes back after the
  // queue's visibility timeout instead): they must not hold the response past the timeout either.
  // One still under way when the batch answers may finish once the container thaws for a later
  // invocation; its errors are reported then.
  await withinMs(clock, remainingMs() - marginMs / 8, changeVisibilities(deliveries, report));
  return {
    batchItemFailures: deliveries
      .filter((delivery) => delivery.result?.status !== 'succeeded')
      .map((delivery) => ({ itemIdentifier: delivery.record.messageId })),
  };
}

interface Deadline {
  /** Aborts once `marginMs` remain: no record starts after, and handlers are asked to stop. */
  readonly signal: AbortSignal;
  /** Rejects once `marginMs / 2` remain: handlers still running are given up. */
  readonly givenUp: Promise<never>;
  /** Resolves once `marginMs / 4` remain: the batch answers with what has settled. */
  readonly cutOff: Promise<void>;
  clear(): void;
}

function deadlineTimers(clock: Clock, remainingMs: number, marginMs: number): Deadline {
  const timers: TimerHandle[] = [];
  /** Calls `fire` once `ms` remain; never without a deadline (a context without one, in a local test). */
  const at = (ms: number, fire: () => void) => {
    if (Number.isFinite(remainingMs)) timers.push(clock.setTimeout(fire, remainingMs - ms));
  };
  const stop = new AbortController();
  at(marginMs, () => stop.abort(new Error(`The Lambda invocation times out in ${marginMs} ms (timeoutMarginMs).`)));
  const givenUp = new Promise<never>((_, reject) =>
    at(marginMs / 2, () =>
      reject(
        new RetryLaterError(
          `Handler still running ${Math.ceil(marginMs / 2)} ms before the Lambda timeout: given up, and retried at once. Stop work when its signal aborts.`,
          { delayMs: 0 },
        ),
      ),
    ),
  );
  givenUp.catch(() => undefined);
  const cutOff = new Promise<void>((resolve) => at(marginMs / 4, resolve));
  return {
    signal: stop.signal,
    givenUp,
    cutOff,
    clear: () => {
      for (const timer of timers) clock.clearTimeout(timer);
    },
  };
}

/** The pipeline for one invocation, the handler given up when the deadline says so. */
function pipeline<Body>(setup: BatchSetup<Body>, deadline: Deadline, remainingMs: number): Process {
  const { handler, idempotency, backoff, clock, report } = setup;
  const callHandler: Process = async (processing) => {
    const running = (async () =>
      handler(processing.message as Message<Body>, {
        attempt: processing.delivery.attempt,
        signal: deadline.signal,
      }))();
    // A given-up handler is retried at once (so the idempotency step releases its lease) but keeps
    // running until Lambda freezes the process; its result, if any, is ignored. An outcome, not a
    // throw: the retry step would count the cut-short run as a failed attempt, and dead-letter it
    // on its last attempt while it is still running.
    return Promise.race<Outcome>([
      running.then((result) => ({ status: 'ack', result })),
      deadline.givenUp.catch((error: Error) => ({ status: 'retry', delayMs: 0, error })),
    ]);
  };
  const steps: Step[] = [setup.decode];
  if (idempotency) {
    // Leases are not renewed in Lambda: by default one lasts as long as the invocation may.
    const leaseMs = setup.leaseFixed || !Number.isFinite(remainingMs) ? idempotency.leaseMs : Math.max(1, remainingMs);
    const environment = { clock, pollDelayMs: (attempt: number) => Math.max(1, backoff.bounds(attempt).maxMs), report };
    steps.push(idempotencyStep({ ...idempotency, leaseMs }, environment));
  }
  steps.push(setup.retry);
  return compose(steps, callHandler);
}

function settle(delivery: RecordDelivery, outcome: Outcome, clock: Clock): Promise<void> {
  switch (outcome.status) {
    case 'ack':
      return delivery.ack();
    case 'retry':
      return delivery.retry({ delayMs: outcome.delayMs });
    case 'dead-letter': {
      const failure = failureOf(outcome, delivery, delivery.source.queueUrl, clock.now());
      return delivery.deadLetter(failure);
    }
  }
}

/** Lanes of records run one after another: one per record, or on a FIFO queue one per message group. */
function toLanes(deliveries: readonly RecordDelivery[]): RecordDelivery[][] {
  const lanes: RecordDelivery[][] = [];
  const groups = new Map<string, RecordDelivery[]>();
  for (const delivery of deliveries) {
    const group = isFifoArn(delivery.record.eventSourceARN) ? delivery.record.attributes.MessageGroupId : undefined;
    if (group === undefined) {
      lanes.push([delivery]);
      continue;
    }
    let lane = groups.get(group);
    if (!lane) {
      lane = [];
      groups.set(group, lane);
      lanes.push(lane);
    }
    lane.push(delivery);
  }
  return lanes;
}

/** Sets the visibility of every failed record that asks for it, per queue, in batch calls. */
async function changeVisibilities(deliveries: readonly RecordDelivery[], report: (error: unknown) => void) {
  const byQueue = new Map<RecordSource, { receiptHandle: string; timeoutMs: number }[]>();
  for (const delivery of deliveries) {
    const result = delivery.result;
    if (result?.status !== 'failed' || result.visibilityMs === undefined) continue;
    const changes = byQueue.get(delivery.source) ?? [];
    changes.push({ receiptHandle: delivery.record.receiptHandle, timeoutMs: result.visibilityMs });
    byQueue.set(delivery.source, changes);
  }
  await Promise.all(
    [...byQueue].map(async ([source, changes]) => {
      const errors = await source.sqs.changeVisibility(source.queueUrl, source.region, changes);
      // One failed call fails all its entries with the same error: report it once.
      for (const error of new Set(errors)) if (error) report(error);
    }),
  );
}

/** Waits for `work`, or `ms` (when finite), whichever comes first. */
async function withinMs(clock: Clock, ms: number, work: Promise<void>): Promise<void> {
  if (!Number.isFinite(ms)) return work;
  let timer: TimerHandle | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = clock.setTimeout(resolve, Math.max(0, ms));
  });
  try {
    await Promise.race([work, expired]);
  } finally {
    clock.clearTimeout(timer as TimerHandle);
  }
}
