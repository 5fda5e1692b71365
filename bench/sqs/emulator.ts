/**
 * fauxqs in a child process (bench/fauxqs-server.ts) for bench/sqs.ts, so the emulator and the
 * code under test each get a core: its endpoint, clients configured like test/helpers/sqs.ts,
 * fresh queues, its inspection endpoint, and the CPU time it spends.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateQueueCommand, DeleteQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type ForkedServer, forkServer } from '../lib/child.ts';
import { round } from '../lib.ts';

const here = dirname(fileURLToPath(import.meta.url));

let server: ForkedServer<string> | undefined;
let endpoint = '';
let admin: SQSClient;
let queueSerial = 0;

/** Starts fauxqs; every client and queue below talks to it. Returns its endpoint. */
export async function startEmulator(): Promise<string> {
  server = await forkServer(resolve(here, '../fauxqs-server.ts'), 'fauxqs', (message) => {
    const { endpoint } = message as { endpoint?: unknown };
    return typeof endpoint === 'string' ? endpoint : undefined;
  });
  endpoint = server.ready;
  admin = sqsClient();
  return endpoint;
}

/** Closes the admin client and stops fauxqs. */
export async function stopEmulator(): Promise<void> {
  admin.destroy();
  await server?.stop();
}

/** A client for fauxqs, configured like test/helpers/sqs.ts: explicit endpoint, dummy credentials, `maxAttempts: 1`. */
export function sqsClient(): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

export interface BenchQueue {
  readonly url: string;
  readonly name: string;
  readonly deadLetterUrl: string;
  readonly deadLetterName: string;
}

/**
 * A fresh standard queue with a dead-letter queue redriven to after 5 receives, the way
 * Missive's native dead-lettering expects (the consumer reads the policy when it starts).
 */
export async function createQueue(label: string): Promise<BenchQueue> {
  const name = `bench-${label}-${process.pid}-${++queueSerial}`;
  const deadLetterName = `${name}-dlq`;
  const { QueueUrl: deadLetterUrl } = await admin.send(new CreateQueueCommand({ QueueName: deadLetterName }));
  const { Attributes } = await admin.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
  );
  const { QueueUrl } = await admin.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '30',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 5 }),
      },
    }),
  );
  return { url: QueueUrl as string, name, deadLetterUrl: deadLetterUrl as string, deadLetterName };
}

export async function deleteQueue(queue: BenchQueue): Promise<void> {
  await admin.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
  await admin.send(new DeleteQueueCommand({ QueueUrl: queue.deadLetterUrl }));
}

interface InspectedQueue {
  readonly messages: {
    readonly ready: { readonly body: string }[];
    readonly delayed: { readonly body: string }[];
    readonly inflight: unknown[];
  };
}

/** fauxqs's non-destructive view of a queue (GET /_fauxqs/queues/:name). */
export async function inspectQueue(name: string): Promise<InspectedQueue> {
  const response = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
  if (!response.ok) throw new Error(`inspecting ${name}: HTTP ${response.status}`);
  return (await response.json()) as InspectedQueue;
}

/** CPU time used so far by the fauxqs process, in ms (Linux /proc); undefined elsewhere. */
function serverCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/${server?.child.pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses): utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds the bench process and fauxqs spent while `work` ran. */
export async function withCpu<T>(
  work: () => Promise<T>,
): Promise<{ result: T; cpu: { bench: number; fauxqs: number | null } }> {
  const bench = process.cpuUsage();
  const fauxqs = serverCpuMs();
  const result = await work();
  const used = process.cpuUsage(bench);
  const fauxqsAfter = serverCpuMs();
  return {
    result,
    cpu: {
      bench: round((used.user + used.system) / 1000, 0),
      fauxqs: fauxqs === undefined || fauxqsAfter === undefined ? null : round(fauxqsAfter - fauxqs, 0),
    },
  };
}
