/**
 * SQS clients whose every request bench/sqs.ts counts, and Missive's SQS transport, producer and
 * consumer on them. The counting is an SDK middleware at the `initialize` step: once per
 * `client.send()`, outside the SDK's own retries, aborted long polls included.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type * as Missive from '../../src/index.ts';
import type { Message } from '../../src/index.ts';
import type * as MissiveSqs from '../../src/transports/sqs/index.ts';
import { importSrc } from '../lib.ts';
import type { ProblemSink } from './checks.ts';
import { BATCH_SIZE, type Body, CONCURRENCY, EARLY_EMPTY_MARGIN_MS, LINGER_OVERRIDE } from './config.ts';
import { sqsClient } from './emulator.ts';

const missive = await importSrc<typeof Missive>('index.ts');
export const { createProducer } = missive;
const { createConsumer } = missive;
const { sqsQueue } = await importSrc<typeof MissiveSqs>('transports/sqs/index.ts');

/** What a client sent, by command (without the `Command` suffix). */
export interface Counts {
  /** Requests per command. */
  readonly calls: Record<string, number>;
  /** Batch entries per command (Send/Delete/ChangeMessageVisibility batches). */
  readonly entries: Record<string, number>;
  /** Failed requests per command (thrown: an aborted long poll, an error). */
  readonly errors: Record<string, number>;
  /** Entries SQS listed in `Failed`, per command. */
  readonly failedEntries: Record<string, number>;
  emptyReceives: number;
  /**
   * Empty receives answered well before their long poll's wait ran out. Real SQS keeps a long
   * poll open until a message arrives for it or the wait ends; fauxqs wakes every waiting poll
   * when any message arrives, and all but one come back empty at once.
   */
  earlyEmptyReceives: number;
  messagesReceived: number;
  /** Deletes SQS confirmed (`Successful` entries of DeleteMessageBatch). */
  deleted: number;
}

export interface Hooks {
  /** A command is about to be sent (the initialize step), with its input. */
  onStart?(command: string, input: Record<string, unknown>, at: number): void;
  /** A command answered. */
  onEnd?(command: string, input: Record<string, unknown>, startedAt: number, endedAt: number): void;
}

export interface CountedClient {
  readonly client: SQSClient;
  counts: Counts;
  hooks: Hooks;
  /** Called after each answered DeleteMessageBatch. */
  onDeleted: (() => void) | undefined;
}

function newCounts(): Counts {
  return {
    calls: {},
    entries: {},
    errors: {},
    failedEntries: {},
    emptyReceives: 0,
    earlyEmptyReceives: 0,
    messagesReceived: 0,
    deleted: 0,
  };
}

const add = (record: Record<string, number>, key: string, by = 1) => {
  record[key] = (record[key] ?? 0) + by;
};

export const totalCalls = (counts: Counts) => Object.values(counts.calls).reduce((sum, n) => sum + n, 0);

/** A client whose every request is counted, once per `send()`, outside the SDK's own retries. */
export function countedClient(): CountedClient {
  const counted: CountedClient = { client: sqsClient(), counts: newCounts(), hooks: {}, onDeleted: undefined };
  counted.client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName as string).replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      const { counts, hooks } = counted;
      add(counts.calls, command);
      const entries = input.Entries as unknown[] | undefined;
      if (entries) add(counts.entries, command, entries.length);
      const startedAt = performance.now();
      hooks.onStart?.(command, input, startedAt);
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        add(counts.errors, command);
        throw error;
      }
      const endedAt = performance.now();
      hooks.onEnd?.(command, input, startedAt, endedAt);
      const output = result.output as {
        Messages?: unknown[];
        Successful?: unknown[];
        Failed?: unknown[];
      };
      if (output.Failed?.length) add(counts.failedEntries, command, output.Failed.length);
      if (command === 'ReceiveMessage') {
        const received = output.Messages?.length ?? 0;
        counts.messagesReceived += received;
        if (received === 0) {
          counts.emptyReceives++;
          const waitMs = Number(input.WaitTimeSeconds ?? 0) * 1000;
          if (waitMs > 0 && endedAt - startedAt < waitMs - EARLY_EMPTY_MARGIN_MS) counts.earlyEmptyReceives++;
        }
      } else if (command === 'DeleteMessageBatch') {
        counts.deleted += output.Successful?.length ?? 0;
        counted.onDeleted?.();
      }
      return result;
    },
    { step: 'initialize', name: 'benchCountRequests' },
  );
  return counted;
}

/** Missive's SQS transport on a counted client. */
export function queueOf(counted: CountedClient, queueUrl: string) {
  return sqsQueue({
    client: counted.client,
    queueUrl,
    ...(LINGER_OVERRIDE === undefined ? {} : { batchLingerMs: LINGER_OVERRIDE }),
  });
}

/** `createConsumer` on `transport` with CONCURRENCY and BATCH_SIZE, its errors added to `problems`. */
export function benchConsumer(
  transport: ReturnType<typeof queueOf>,
  problems: ProblemSink,
  handler: (message: Message<Body>) => Promise<void>,
) {
  return createConsumer<Body>({
    transport,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    onError: (error) => problems.add(`consumer error: ${error.message}`),
    handler,
  });
}
