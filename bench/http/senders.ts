/**
 * The three senders bench/http.ts compares, each driven by CONCURRENCY callers awaiting one
 * request at a time: Missive's full sender, a raw undici pool, and the raw pool signing like
 * Missive.
 */
import { createHmac, createSecretKey, randomUUID } from 'node:crypto';
import { Pool } from 'undici';
import type * as Missive from '../../src/index.ts';
import type * as MissiveHttp from '../../src/transports/http/index.ts';
import { importSrc, timedOut } from '../lib.ts';
import { CONCURRENCY, type Mode, PATH, RUN_TIMEOUT_MS, SECRET } from './config.ts';
import { events, type OrderPaid } from './events.ts';

const { createProducer } = await importSrc<typeof Missive>('index.ts');
const { webhookTarget } = await importSrc<typeof MissiveHttp>('transports/http/index.ts');

export interface RunResult {
  readonly elapsedMs: number;
  /** Client CPU time (user + system) during the timed part, in microseconds. */
  readonly clientCpuUs: number;
  readonly problems: string[];
}

/** Runs CONCURRENCY workers that each await `post(event)` until `count` events are posted. */
async function drive(count: number, post: (item: OrderPaid) => Promise<void>): Promise<RunResult> {
  const problems: string[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const item = events[next++] as OrderPaid;
      try {
        await post(item);
      } catch (error) {
        if (++errors <= 10) problems.push(`event ${item.n}: ${(error as Error).message}`);
      }
    }
  };
  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  const workers = Array.from({ length: CONCURRENCY }, worker);
  const late = await timedOut(Promise.all(workers), RUN_TIMEOUT_MS);
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuAtStart);
  if (late) problems.unshift(`did not finish within ${RUN_TIMEOUT_MS} ms (${next} of ${count} started)`);
  if (errors > 10) problems.push(`… ${errors} failed in all`);
  return { elapsedMs, clientCpuUs: cpu.user + cpu.system, problems };
}

/** Missive: `createProducer` on `webhookTarget`, every caller awaiting `producer.send(event)`. */
async function runFull(url: string, count: number): Promise<RunResult> {
  const target = webhookTarget({
    url,
    secret: SECRET,
    // Bench only: the server is on 127.0.0.1, which the SSRF guard refuses by default.
    allowAddresses: ['loopback'],
    maxConnections: CONCURRENCY,
  });
  const producer = createProducer<OrderPaid>({ transport: target });
  const result = await drive(count, async (item) => {
    await producer.send(item);
  });
  await producer.close();
  await target.close();
  return result;
}

/** A raw undici Pool posting the JSON body with a content-type, no signing, no retries. */
async function runBaseline(url: string, count: number): Promise<RunResult> {
  const pool = new Pool(new URL(url).origin, { connections: CONCURRENCY });
  const result = await drive(count, async (item) => {
    const response = await pool.request({
      path: PATH,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(item),
    });
    await response.body.dump();
    if (response.statusCode !== 204) throw new Error(`answered ${response.statusCode}`);
  });
  await pool.close();
  return result;
}

const signingKey = createSecretKey(Buffer.from(SECRET.slice('whsec_'.length), 'base64'));

/** The raw pool sending the headers Missive sends, signed with node:crypto (key imported once). */
async function runRawSigned(url: string, count: number): Promise<RunResult> {
  const pool = new Pool(new URL(url).origin, { connections: CONCURRENCY });
  const result = await drive(count, async (item) => {
    const id = randomUUID();
    const body = JSON.stringify(item);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', signingKey).update(`${id}.${timestamp}.`).update(body).digest('base64');
    const response = await pool.request({
      path: PATH,
      method: 'POST',
      headers: {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${signature}`,
        'content-type': 'application/json',
        'user-agent': 'bench',
        'missive-message-id': id,
        'missive-created-at': String(Date.now()),
      },
      body,
    });
    await response.body.dump();
    if (response.statusCode !== 204) throw new Error(`answered ${response.statusCode}`);
  });
  await pool.close();
  return result;
}

/** The sender of each mode: posts the first `count` events to `url`. */
export const senders: Record<Mode, (url: string, count: number) => Promise<RunResult>> = {
  full: runFull,
  baseline: runBaseline,
  'raw-signed': runRawSigned,
};
