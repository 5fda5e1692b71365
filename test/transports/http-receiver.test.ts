import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ConfigurationError,
  ErrorCode,
  type IdempotencyStore,
  isMissiveErrorCode,
  type Message,
  memoryIdempotencyStore,
  RetryLaterError,
  UnrecoverableError,
  WebhookVerificationError,
} from 'missive';
import {
  createWebhookReceiver,
  fetchWebhookHandler,
  type LambdaHttpEvent,
  lambdaWebhookHandler,
  nodeHttpWebhookHandler,
  secretKey,
  sign,
  verifyWebhook,
  type WebhookReceiver,
  type WebhookReceiverOptions,
  webhookTarget,
} from 'missive/http';
import { ManualClock } from 'missive/memory';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { gate } from '../helpers/gate.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEXT_SECRET = 'whsec_dGhlIG5leHQgc2VjcmV0IGFmdGVyIHJvdGF0aW9u';
const UNKNOWN_SECRET = 'whsec_c29tZWJvZHkgZWxzZSdzIHNlY3JldCBrZXk=';
/** The parts of a secret that must never show in a response or an error. */
const SECRET_PARTS = [SECRET, SECRET.slice('whsec_'.length), NEXT_SECRET.slice('whsec_'.length)];

function expectNoSecret(text: string): void {
  for (const part of SECRET_PARTS) expect(text).not.toContain(part);
}

let ids = 0;
const nextId = () => `msg_${++ids}_${Date.now()}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SignOptions {
  readonly id?: string;
  readonly secrets?: readonly string[];
  readonly timestampSeconds?: number;
  readonly headers?: Record<string, string>;
}

/** Standard Webhooks headers for `body`, signed by the reference library with every secret given. */
function signed(body: string, options: SignOptions = {}): Record<string, string> {
  const id = options.id ?? nextId();
  const timestampSeconds = options.timestampSeconds ?? nowSeconds();
  const signature = (options.secrets ?? [SECRET])
    .map((secret) => new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body))
    .join(' ');
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signature,
    ...options.headers,
  };
}

interface Calls<Body> {
  readonly messages: Message<Body>[];
  readonly errors: Error[];
}

/** A receiver whose handler records each message, then runs `then` (default: succeed). */
function recordingReceiver<Body = unknown>(
  then: (message: Message<Body>, context: { attempt: number; signal: AbortSignal }) => unknown = () => undefined,
  options: Partial<WebhookReceiverOptions<Body>> = {},
): { receiver: WebhookReceiver } & Calls<Body> {
  const messages: Message<Body>[] = [];
  const errors: Error[] = [];
  const receiver = createWebhookReceiver<Body>({
    secret: SECRET,
    onError: (error) => errors.push(error),
    handler: (message, context) => {
      messages.push(message);
      return then(message, context);
    },
    ...options,
  });
  return { receiver, messages, errors };
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/** Starts a real node:http server on 127.0.0.1 and returns its URL. */
async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
}

const serveNode = (receiver: WebhookReceiver) => listen(nodeHttpWebhookHandler(receiver));

/** Serves a fetch handler from node:http, the way @hono/node-server does: IncomingMessage → Request → Response. */
function serveFetch(receiver: WebhookReceiver): Promise<string> {
  const handler = fetchWebhookHandler(receiver);
  return listen(async (req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(await response.text());
  });
}

async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
}

/** A promise with its resolve function, to hold a handler open. */

describe('webhook receiver over node:http', () => {
  it('runs the handler once for a genuine webhook and answers 200', async () => {
    const { receiver, messages } = recordingReceiver<{ orderId: string }>();
    const url = await serveNode(receiver);
    const timestampSeconds = nowSeconds();
    const body = JSON.stringify({ orderId: 'o-1' });
    const headers = signed(body, { id: 'evt_1', timestampSeconds, headers: { traceparent: '00-abc-def-01' } });
    const response = await post(url, body, headers);
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: 'handled' });
    expect(response.headers.get('missive-duplicate')).toBeNull();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      id: 'evt_1',
      idempotencyKey: 'evt_1',
      body: { orderId: 'o-1' },
      createdAt: timestampSeconds * 1000,
      headers: { traceparent: '00-abc-def-01' },
    });
  });

  it("builds the message from the Missive sender's headers, carrying only the headers it lists", async () => {
    const { receiver, messages } = recordingReceiver();
    const url = await serveNode(receiver);
    const body = '{"a":1}';
    const response = await post(
      url,
      body,
      signed(body, {
        id: 'key-1',
        headers: {
          'missive-message-id': '0190a6c1-msg',
          'missive-created-at': '1767225600123',
          'missive-headers': 'tenant, x-request-id,authorization',
          tenant: 'acme',
          'x-request-id': 'r-9',
          'x-unlisted': 'not carried',
          authorization: 'Bearer hop-only',
        },
      }),
    );
    expect(response.status).toBe(200);
    expect(messages[0]).toMatchObject({ id: '0190a6c1-msg', idempotencyKey: 'key-1', createdAt: 1_767_225_600_123 });
    expect(messages[0]?.headers).toEqual({ tenant: 'acme', 'x-request-id': 'r-9' });
  });

  it('answers a duplicate id 200 with missive-duplicate, without running the handler again', async () => {
    const { receiver, messages } = recordingReceiver();
    const url = await serveNode(receiver);
    const body = '{"a":1}';
    const first = await post(url, body, signed(body, { id: 'evt_dup' }));
    // The sender's retry: same id, a fresh timestamp and signature.
    const again = await post(url, body, signed(body, { id: 'evt_dup', timestampSeconds: nowSeconds() + 1 }));
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get('missive-duplicate')).toBe('true');
    expect(again.json).toEqual({ status: 'duplicate' });
    expect(messages).toHaveLength(1);
  });

  it('answers 401 to a bad signature, without echoing secrets or signatures', async () => {
    const { receiver, messages } = recordingReceiver();
    const url = await serveNode(receiver);
    const body = '{"a":1}';
    const headers = signed(body, { secrets: [UNKNOWN_SECRET] });
    const forged = await post(url, body, headers);
    const tampered = await post(url, '{"a":2}', signed(body));
    expect(forged.status).toBe(401);
    expect(forged.json).toMatchObject({ error: 'invalid-signature' });
    expect(forged.text).not.toContain((headers['webhook-signature'] as string).slice(3));
    expect(tampered.status).toBe(401);
    for (const response of [forged, tampered]) expectNoSecret(response.text);
    expect(messages).toHaveLength(0);
  });

  it('answers 401 to missing headers and malformed timestamps', async () => {
    const { receiver } = recordingReceiver();
    const url = await serveNode(receiver);
    const body = '{}';
    const { 'webhook-signature': _, ...unsigned } = signed(body);
    const missing = await post(url, body, unsigned);
    const malformed = await post(url, body, { ...signed(body), 'webhook-timestamp': 'yesterday' });
    expect(missing).toMatchObject({ status: 401, json: { error: 'missing-headers' } });
    expect(malformed).toMatchObject({ status: 401, json: { error: 'invalid-timestamp' } });
  });

  it('answers 401 to a timestamp older or newer than the tolerance', async () => {
    const { receiver, messages } = recordingReceiver(undefined, { toleranceMs: 60_000 });
    const url = await serveNode(receiver);
    const body = '{}';
    const stale = await post(url, body, signed(body, { timestampSeconds: nowSeconds() - 61 }));
    const future = await post(url, body, signed(body, { timestampSeconds: nowSeconds() + 61 }));
    const inside = await post(url, body, signed(body, { timestampSeconds: nowSeconds() - 50 }));
    expect(stale).toMatchObject({ status: 401, json: { error: 'timestamp-out-of-tolerance' } });
    expect(future).toMatchObject({ status: 401, json: { error: 'timestamp-out-of-tolerance' } });
    expect(inside.status).toBe(200);
    expect(messages).toHaveLength(1);
  });

  it('accepts either of two active secrets while one rotates, and a request signed with both', async () => {
    const { receiver, messages } = recordingReceiver(undefined, { secret: [SECRET, NEXT_SECRET] });
    const url = await serveNode(receiver);
    const body = '{}';
    expect((await post(url, body, signed(body, { secrets: [SECRET] }))).status).toBe(200);
    expect((await post(url, body, signed(body, { secrets: [NEXT_SECRET] }))).status).toBe(200);
    expect((await post(url, body, signed(body, { secrets: [UNKNOWN_SECRET] }))).status).toBe(401);
    // The sender mid-rotation signs with old and new; a receiver that already dropped the old one accepts it.
    const { receiver: rotated } = recordingReceiver(undefined, { secret: NEXT_SECRET });
    const rotatedUrl = await serveNode(rotated);
    expect((await post(rotatedUrl, body, signed(body, { secrets: [UNKNOWN_SECRET, NEXT_SECRET] }))).status).toBe(200);
    expect(messages).toHaveLength(2);
  });

  it('answers 400 to a body that is not JSON or fails its schema, without running the handler', async () => {
    const schema = z.object({ orderId: z.string(), total: z.number() });
    const { receiver, messages } = recordingReceiver<z.infer<typeof schema>>(undefined, { schema });
    const url = await serveNode(receiver);
    const notJson = await post(url, '{"orderId":', signed('{"orderId":'));
    const invalid = '{"orderId":"o-1","total":"12"}';
    const failing = await post(url, invalid, signed(invalid));
    expect(notJson).toMatchObject({ status: 400, json: { error: 'invalid-body' } });
    expect(notJson.json.message).toMatch(/could not be decoded as application\/json/);
    expect(failing).toMatchObject({ status: 400, json: { error: 'invalid-body', issues: [{ path: ['total'] }] } });
    expect(failing.json.message).toMatch(/failed its schema/);
    const valid = '{"orderId":"o-1","total":12}';
    expect((await post(url, valid, signed(valid))).status).toBe(200);
    expect(messages.map((message) => message.body)).toEqual([{ orderId: 'o-1', total: 12 }]);
  });

  it('answers 400 to a body that is not UTF-8', async () => {
    const { receiver, messages } = recordingReceiver();
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const id = nextId();
    const ts = nowSeconds();
    const response = await receiver.handle({
      method: 'POST',
      headers: (name) =>
        ({
          'webhook-id': id,
          'webhook-timestamp': String(ts),
          'webhook-signature': sign(secretKey(SECRET), id, ts, body),
        })[name],
      body,
    });
    expect(response.status).toBe(400);
    expect(messages).toHaveLength(0);
  });

  it('answers 422 when the handler throws UnrecoverableError', async () => {
    const { receiver } = recordingReceiver(() => {
      throw new UnrecoverableError('order o-1 has no customer');
    });
    const url = await serveNode(receiver);
    const response = await post(url, '{}', signed('{}'));
    expect(response).toMatchObject({ status: 422, json: { error: 'unrecoverable' } });
    expect(response.json.message).toContain('order o-1 has no customer');
  });

  it('answers 503 with Retry-After when the handler throws, and runs it again on the retry', async () => {
    let fail = true;
    const { receiver, messages, errors } = recordingReceiver(
      () => {
        if (fail) throw new Error('database password=hunter2 unreachable');
      },
      { retryAfterSeconds: 7 },
    );
    const url = await serveNode(receiver);
    const headers = signed('{}');
    const failed = await post(url, '{}', headers);
    expect(failed).toMatchObject({ status: 503, json: { error: 'handler-failed' } });
    expect(failed.headers.get('retry-after')).toBe('7');
    // The handler's error stays inside: it may hold internals.
    expect(failed.text).not.toContain('hunter2');
    fail = false;
    const retried = await post(url, '{}', { ...headers });
    expect(retried.status).toBe(200);
    expect(messages).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it('answers RetryLaterError with 503 and Retry-After of its delay, rounded up to seconds', async () => {
    const { receiver } = recordingReceiver(() => {
      throw new RetryLaterError('rate limited', { delayMs: 2_500 });
    });
    const url = await serveNode(receiver);
    const response = await post(url, '{}', signed('{}'));
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('3');
  });

  it('answers 500 with Retry-After and reports to onError when the idempotency store fails', async () => {
    const broken: IdempotencyStore = {
      ...memoryIdempotencyStore(),
      begin: () => Promise.reject(new Error('store unreachable')),
    };
    const { receiver, messages, errors } = recordingReceiver(undefined, { idempotency: { store: broken } });
    const url = await serveNode(receiver);
    const response = await post(url, '{}', signed('{}'));
    expect(response).toMatchObject({ status: 500, json: { error: 'receiver-failed' } });
    expect(response.headers.get('retry-after')).toBe('30');
    expect(response.text).not.toContain('store unreachable');
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(
        /^The idempotency store failed to begin key .*: store unreachable\. The message is retried/,
      ),
    ]);
    expect(errors[0]?.cause).toMatchObject({ message: 'store unreachable' });
    expect(messages).toHaveLength(0);
  });

  it('answers 405 with Allow: POST to other methods', async () => {
    const { receiver, messages } = recordingReceiver();
    const url = await serveNode(receiver);
    const response = await fetch(url);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toMatchObject({ error: 'method-not-allowed' });
    expect(messages).toHaveLength(0);
  });

  it('answers 413 at once to a Content-Length over the limit', async () => {
    const { receiver, messages } = recordingReceiver(undefined, { maxBodyBytes: 1_000 });
    const url = await serveNode(receiver);
    const body = 'x'.repeat(1_001);
    const response = await post(url, body, signed(body));
    expect(response).toMatchObject({ status: 413, json: { error: 'body-too-large' } });
    expect(messages).toHaveLength(0);
  });

  it('answers 413 as soon as a streamed body passes the limit, and reads no further', async () => {
    const limit = 64 * 1024;
    const { receiver, messages } = recordingReceiver(undefined, { maxBodyBytes: limit });
    const handler = nodeHttpWebhookHandler(receiver);
    let seen = 0;
    const url = await listen((req, res) => {
      req.on('data', (chunk: Buffer) => {
        seen += chunk.byteLength;
      });
      handler(req, res);
    });
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(16 * 1024, 0x61);
    let written = 0;
    const answer = await new Promise<{ status: number | undefined; writtenBefore: number; body: string }>(
      (resolve, reject) => {
        // Chunked: no Content-Length, so only counting while reading can catch it.
        const req = httpRequest(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
        let answered = false;
        let failed = false;
        req.on('response', (res) => {
          answered = true;
          const writtenBefore = written;
          let body = '';
          res.on('data', (data) => {
            body += data;
          });
          res.on('end', () => resolve({ status: res.statusCode, writtenBefore, body }));
        });
        // Writes after the 413 fail once the server closes; only the response matters.
        req.on('error', (error) => {
          failed = true;
          if (!answered) reject(error);
        });
        // Keeps sending after the answer too (as a sender that does not read it would), until the server hangs up.
        const pump = async () => {
          while (!failed && written < total) {
            written += chunk.byteLength;
            if (!req.write(chunk)) await Promise.race([once(req, 'drain'), once(req, 'close')]).catch(() => undefined);
            await new Promise((resolve) => setImmediate(resolve));
          }
          if (!failed) req.end();
        };
        void pump();
      },
    );
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'body-too-large' });
    // Answered long before the sender finished: the server did not wait for (or buffer) the rest.
    expect(answer.writtenBefore).toBeLessThan(total / 4);
    const seenAtAnswer = seen;
    await sleep(100);
    expect(seen).toBe(seenAtAnswer);
    expect(seen).toBeLessThan(limit + 256 * 1024);
    expect(messages).toHaveLength(0);
  });

  it('handles concurrent duplicates once: the others get 503 in-progress, and 200 duplicate once it is done', async () => {
    const release = gate();
    const { receiver, messages } = recordingReceiver(() => release.promise);
    const url = await serveNode(receiver);
    const body = '{}';
    const headers = signed(body, { id: 'evt_concurrent' });
    const first = post(url, body, headers);
    while (messages.length === 0) await sleep(1);
    const duplicates = await Promise.all(Array.from({ length: 5 }, () => post(url, body, headers)));
    for (const duplicate of duplicates) {
      expect(duplicate).toMatchObject({ status: 503, json: { error: 'in-progress' } });
      expect(Number(duplicate.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    release.open();
    expect((await first).status).toBe(200);
    const retry = await post(url, body, headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('missive-duplicate')).toBe('true');
    expect(messages).toHaveLength(1);
  });

  it('renews the idempotency lease while a slow handler runs, so a duplicate never runs it twice', async () => {
    const clock = new ManualClock(Date.now());
    const started = gate();
    const finish = gate();
    const { receiver, messages, errors } = recordingReceiver(
      () => {
        started.open();
        return finish.promise;
      },
      { clock, idempotency: { leaseMs: 60 } },
    );
    const url = await serveNode(receiver);
    const headers = signed('{}', { id: 'evt_slow' });
    const first = post(url, '{}', headers);
    await started.promise;
    // Five lease periods pass while the handler runs; only renewals keep the key held.
    for (let i = 0; i < 30; i++) await clock.advance(10);
    const duplicate = await post(url, '{}', headers);
    expect(duplicate.status).toBe(503);
    finish.open();
    expect((await first).status).toBe(200);
    expect(messages).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('aborts the handler signal when the sender hangs up', async () => {
    let aborted: unknown;
    const started = gate();
    const { receiver } = recordingReceiver(async (_message, { signal }) => {
      started.open();
      await once(signal, 'abort');
      aborted = signal.reason;
      throw signal.reason;
    });
    const url = await serveNode(receiver);
    const controller = new AbortController();
    const request = fetch(url, { method: 'POST', body: '{}', headers: signed('{}'), signal: controller.signal });
    await started.promise;
    controller.abort();
    await expect(request).rejects.toThrow();
    while (aborted === undefined) await sleep(1);
    expect(String(aborted)).toMatch(/closed the connection/);
  });

  it('uses a body an Express parser kept (req.rawBody), and reports one it consumed without keeping', async () => {
    const { receiver, messages, errors } = recordingReceiver();
    const handler = nodeHttpWebhookHandler(receiver);
    const body = '{"kept":true}';
    const parsing = (keepRaw: boolean) =>
      listen(async (req, res) => {
        // What express.json({ verify }) does: read the stream, keep the bytes, parse.
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const raw = Buffer.concat(chunks);
        Object.assign(req, { body: JSON.parse(raw.toString()), _body: true }, keepRaw ? { rawBody: raw } : {});
        handler(req, res);
      });
    const kept = await post(await parsing(true), body, signed(body));
    expect(kept.status).toBe(200);
    expect(messages.map((message) => message.body)).toEqual([{ kept: true }]);
    const lost = await post(await parsing(false), body, signed(body));
    expect(lost).toMatchObject({ status: 500, json: { error: 'receiver-failed' } });
    expect(errors).toHaveLength(1);
    expect(isMissiveErrorCode(errors[0], ErrorCode.Configuration)).toBe(true);
    expect(errors[0]?.message).toMatch(/before express\.json\(\)/);
  });
});

describe('webhook receiver through the Fetch API', () => {
  it('handles a real Request: 200, then duplicate, and 401 for a bad signature', async () => {
    const { receiver, messages } = recordingReceiver();
    const handler = fetchWebhookHandler(receiver);
    const body = '{"via":"fetch"}';
    const headers = signed(body, { id: 'evt_fetch' });
    const request = () => new Request('https://hooks.example.com/orders', { method: 'POST', body, headers });
    const first = await handler(request());
    expect(first.status).toBe(200);
    const again = await handler(request());
    expect(again.headers.get('missive-duplicate')).toBe('true');
    const forged = await handler(
      new Request('https://hooks.example.com/orders', {
        method: 'POST',
        body,
        headers: signed(body, { secrets: [UNKNOWN_SECRET] }),
      }),
    );
    expect(forged.status).toBe(401);
    expectNoSecret(await forged.text());
    expect(messages.map((message) => message.body)).toEqual([{ via: 'fetch' }]);
  });

  it('answers 405 to GET and 413 to a Content-Length over the limit without reading the body', async () => {
    const { receiver } = recordingReceiver(undefined, { maxBodyBytes: 100 });
    const handler = fetchWebhookHandler(receiver);
    const get = await handler(new Request('https://hooks.example.com/orders'));
    expect(get.status).toBe(405);
    let pulls = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(50));
      },
    });
    const declared = await handler(
      new Request('https://hooks.example.com/orders', {
        method: 'POST',
        body: stream,
        duplex: 'half',
        headers: { ...signed(''), 'content-length': '5000' },
      } as RequestInit),
    );
    expect(declared.status).toBe(413);
    expect(pulls).toBeLessThanOrEqual(1);
  });

  it('answers 413 once a streamed body passes the limit, and cancels the stream', async () => {
    const { receiver, messages } = recordingReceiver(undefined, { maxBodyBytes: 64 * 1024 });
    const handler = fetchWebhookHandler(receiver);
    let pulls = 0;
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        controller.enqueue(new Uint8Array(16 * 1024));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = await handler(
      new Request('https://hooks.example.com/orders', {
        method: 'POST',
        body: stream,
        duplex: 'half',
        headers: signed('ignored'),
      } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(cancelled).toBe(true);
    expect(pulls).toBeLessThan(10);
    expect(messages).toHaveLength(0);
  });

  it('serves through node:http as Hono would, including the streamed limit', async () => {
    const { receiver, messages } = recordingReceiver(undefined, { maxBodyBytes: 1_000 });
    const url = await serveFetch(receiver);
    const body = '{"via":"node-bridge"}';
    expect((await post(url, body, signed(body))).status).toBe(200);
    expect((await fetch(url)).status).toBe(405);
    const big = 'x'.repeat(5_000);
    expect((await post(url, big, signed(big))).status).toBe(413);
    expect(messages).toHaveLength(1);
  });
});

describe('webhook receiver on AWS Lambda', () => {
  const base64 = (text: string) => Buffer.from(text).toString('base64');

  it('handles a function URL (payload 2.0) event with a base64 body', async () => {
    const { receiver, messages } = recordingReceiver();
    const handler = lambdaWebhookHandler(receiver);
    const body = '{"orderId":"o-7"}';
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawPath: '/',
      rawQueryString: '',
      headers: {
        ...signed(body, { id: 'evt_lambda_v2' }),
        host: 'abcdefghij.lambda-url.eu-west-1.on.aws',
        'x-forwarded-proto': 'https',
        'user-agent': 'missive',
      },
      requestContext: {
        accountId: 'anonymous',
        apiId: 'abcdefghij',
        domainName: 'abcdefghij.lambda-url.eu-west-1.on.aws',
        http: { method: 'POST', path: '/', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'missive' },
        requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
        routeKey: '$default',
        stage: '$default',
        time: '01/Jan/2026:00:00:00 +0000',
        timeEpoch: 1_767_225_600_000,
      },
      body: base64(body),
      isBase64Encoded: true,
    };
    const result = await handler(event);
    expect(result).toMatchObject({ statusCode: 200, isBase64Encoded: false });
    expect(JSON.parse(result.body)).toEqual({ status: 'handled' });
    expect(messages.map((message) => message.body)).toEqual([{ orderId: 'o-7' }]);
    const again = await handler(event);
    expect(again.headers['missive-duplicate']).toBe('true');
    expect(messages).toHaveLength(1);
  });

  it('handles a REST API proxy (payload 1.0) event with header names in any case', async () => {
    const { receiver, messages } = recordingReceiver();
    const handler = lambdaWebhookHandler(receiver);
    const body = '{"orderId":"o-8"}';
    const headers = Object.fromEntries(
      Object.entries(signed(body)).map(([name, value]) => [
        name.replace(/(^|-)\w/g, (letter) => letter.toUpperCase()),
        value,
      ]),
    );
    const requestContext = { resourcePath: '/webhooks', httpMethod: 'POST', path: '/prod/webhooks', stage: 'prod' };
    const event: LambdaHttpEvent & Record<string, unknown> = {
      resource: '/webhooks',
      path: '/webhooks',
      httpMethod: 'POST',
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      requestContext,
      body,
      isBase64Encoded: false,
    };
    const result = await handler(event);
    expect(result.statusCode).toBe(200);
    expect(messages).toHaveLength(1);
    expect(headers['Webhook-Id']).toBeDefined();
  });

  it('answers 401, 405 and 413 with JSON bodies, never the secret', async () => {
    const { receiver } = recordingReceiver(undefined, { maxBodyBytes: 10 });
    const handler = lambdaWebhookHandler(receiver);
    const forged = await handler({
      requestContext: { http: { method: 'POST' } },
      headers: signed('{}', { secrets: [UNKNOWN_SECRET] }),
      body: '{}',
    });
    const get = await handler({ requestContext: { http: { method: 'GET' } }, headers: {} });
    const big = 'x'.repeat(11);
    const tooBig = await handler({
      httpMethod: 'POST',
      headers: signed(big),
      body: base64(big),
      isBase64Encoded: true,
    });
    expect([forged.statusCode, get.statusCode, tooBig.statusCode]).toEqual([401, 405, 413]);
    expect(get.headers.allow).toBe('POST');
    for (const result of [forged, get, tooBig]) {
      expect(result.headers['content-type']).toBe('application/json');
      expectNoSecret(result.body);
    }
  });
});

describe('interoperability with the reference standardwebhooks library', () => {
  // A fixed vector: the reference library's signature for these inputs, computed once and pinned.
  const vector = {
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestampSeconds: 1_614_265_330,
    body: '{"test": 2432232314}',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
  };

  it('signs the pinned vector exactly as the reference library does', () => {
    const { secret, id, timestampSeconds, body, signature } = vector;
    expect(new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body)).toBe(signature);
    expect(sign(secretKey(secret), id, timestampSeconds, body)).toBe(signature);
    expect(sign(secretKey(secret), id, timestampSeconds, Buffer.from(body))).toBe(signature);
  });

  it('verifies the pinned vector with verifyWebhook at its own time, and refuses it later', () => {
    const { secret, id, timestampSeconds, body, signature } = vector;
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': signature };
    expect(verifyWebhook({ headers, body, secret, now: timestampSeconds * 1000 + 1_000 })).toEqual({
      id,
      timestamp: timestampSeconds * 1000,
    });
    expect(() => verifyWebhook({ headers, body, secret })).toThrow(WebhookVerificationError);
  });

  it("accepts the reference library's signatures in the receiver and in verifyWebhook", async () => {
    const { receiver, messages } = recordingReceiver();
    const url = await serveNode(receiver);
    const body = '{"from":"reference"}';
    const id = nextId();
    const timestamp = new Date();
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(SECRET).sign(id, timestamp, body),
    };
    expect(verifyWebhook({ headers, body, secret: SECRET }).id).toBe(id);
    expect((await post(url, body, headers)).status).toBe(200);
    expect(messages).toHaveLength(1);
  });

  it("produces signatures the reference library's verify() accepts, from sign() and from the sender", async () => {
    const body = '{"from":"missive"}';
    const id = nextId();
    const timestampSeconds = nowSeconds();
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': sign(secretKey(SECRET), id, timestampSeconds, body),
    };
    expect(new Webhook(SECRET).verify(body, headers)).toEqual({ from: 'missive' });

    // What webhookTarget really puts on the wire, signed with both secrets while rotating.
    let received: { body: string; headers: Record<string, string> } | undefined;
    const url = await listen(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      received = { body: Buffer.concat(chunks).toString(), headers: req.headers as Record<string, string> };
      res.end();
    });
    const target = webhookTarget({ url, secret: [SECRET, NEXT_SECRET], allowAddresses: ['loopback'] });
    try {
      const [outcome] = await target.send([
        { id: 'm-1', body, headers: {}, idempotencyKey: 'k-1', createdAt: Date.now() },
      ]);
      expect(outcome?.status).toBe('accepted');
    } finally {
      await target.close();
    }
    expect(received?.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(SECRET).verify(received?.body ?? '', received?.headers ?? {})).toEqual({ from: 'missive' });
    expect(new Webhook(NEXT_SECRET).verify(received?.body ?? '', received?.headers ?? {})).toEqual({ from: 'missive' });
  });
});

describe('sender to receiver', () => {
  it("webhookTarget's outcomes follow the receiver's answers: accepted, duplicate, permanent, retryable", async () => {
    const { receiver, messages } = recordingReceiver<{ n: number }>((message) => {
      if (message.body.n === 2) throw new UnrecoverableError('n = 2 is refused');
      if (message.body.n === 3) throw new RetryLaterError('busy', { delayMs: 4_000 });
    });
    const url = await serveNode(receiver);
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'] });
    const envelope = (n: number, key = `k-${n}`) => ({
      id: `m-${n}`,
      body: JSON.stringify({ n }),
      headers: { tenant: 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      idempotencyKey: key,
      createdAt: 1_767_225_600_000 + n,
    });
    try {
      const outcomes = await target.send([envelope(1), envelope(2), envelope(3)]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['accepted', 'permanent', 'retryable']);
      const retryable = outcomes[2];
      expect(retryable?.status === 'retryable' && retryable.retryAfterMs).toBe(4_000);
      // A resend of an accepted message after a lost response is acknowledged, not run again.
      const [resent] = await target.send([envelope(1)]);
      expect(resent?.status).toBe('accepted');
    } finally {
      await target.close();
    }
    expect(messages.filter((message) => message.body.n === 1)).toHaveLength(1);
    expect(messages[0]).toEqual({
      id: 'm-1',
      body: { n: 1 },
      headers: { tenant: 'acme', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      idempotencyKey: 'k-1',
      createdAt: 1_767_225_600_001,
      groupId: undefined,
    });
  });
});

describe('verifyWebhook', () => {
  it('takes headers as a record in any case, a Headers object or a function', () => {
    const body = '{}';
    const headers = signed(body, { id: 'evt_shapes' });
    const upper = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toUpperCase(), value]));
    for (const shape of [headers, upper, new Headers(headers), (name: string) => headers[name]]) {
      expect(verifyWebhook({ headers: shape, body, secret: SECRET }).id).toBe('evt_shapes');
    }
    expect(verifyWebhook({ headers, body: Buffer.from(body), secret: [UNKNOWN_SECRET, SECRET] }).id).toBe('evt_shapes');
  });

  it('throws WebhookVerificationError with a reason, and never the secret or signature', () => {
    const body = '{}';
    const cases = [
      { headers: signed(body, { secrets: [UNKNOWN_SECRET] }), reason: 'invalid-signature' },
      { headers: signed(body, { timestampSeconds: nowSeconds() - 600 }), reason: 'timestamp-out-of-tolerance' },
      { headers: { 'webhook-id': 'x' }, reason: 'missing-headers' },
    ];
    for (const { headers, reason } of cases) {
      let thrown: unknown;
      try {
        verifyWebhook({ headers, body, secret: [SECRET, NEXT_SECRET] });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(WebhookVerificationError);
      expect((thrown as WebhookVerificationError).reason).toBe(reason);
      expect(isMissiveErrorCode(thrown, ErrorCode.WebhookVerification)).toBe(true);
      const text = `${(thrown as Error).message} ${JSON.stringify(thrown)}`;
      expectNoSecret(text);
      const signature = (headers as Record<string, string>)['webhook-signature'];
      if (signature) expect(text).not.toContain(signature.slice(3));
    }
  });
});

describe('createWebhookReceiver options', () => {
  const handler = () => undefined;

  it('refuses invalid options with a ConfigurationError naming the option', () => {
    const invalid: [string, Partial<WebhookReceiverOptions<unknown>>][] = [
      ['secret', { secret: [] }],
      ['secret', { secret: '' }],
      ['secret[1]', { secret: [SECRET, 42 as unknown as string] }],
      ['handler', { handler: 'nope' as unknown as () => void }],
      ['maxBodyBytes', { maxBodyBytes: 0 }],
      ['toleranceMs', { toleranceMs: 1.5 }],
      ['retryAfterSeconds', { retryAfterSeconds: -1 }],
      ['idempotency.leaseMs', { idempotency: { leaseMs: 0 } }],
      ['schema', { schema: {} as never }],
    ];
    for (const [option, overrides] of invalid) {
      let thrown: unknown;
      try {
        createWebhookReceiver({ secret: SECRET, handler, ...overrides });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, option).toBeInstanceOf(ConfigurationError);
      expect((thrown as ConfigurationError).option).toBe(option);
    }
  });

  it('never shows a secret in a configuration error', () => {
    const secrets = ['whsec_', 'whsec_!!!!'];
    for (const secret of secrets) {
      let thrown: unknown;
      try {
        createWebhookReceiver({ secret: [SECRET, secret], handler });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      expectNoSecret(`${(thrown as Error).message} ${JSON.stringify(thrown)}`);
      expect(JSON.stringify((thrown as ConfigurationError).received)).not.toContain('!!!!');
    }
  });

  it('answers with the defaults: 5 minute tolerance, 1 MiB limit, Retry-After 30', async () => {
    const receiver = createWebhookReceiver({
      secret: SECRET,
      handler: () => {
        throw new Error('down');
      },
    });
    expect(receiver.maxBodyBytes).toBe(1_048_576);
    const body = '{}';
    const inside = signed(body, { timestampSeconds: nowSeconds() - 290 });
    const outside = signed(body, { timestampSeconds: nowSeconds() - 310 });
    const handle = (headers: Record<string, string>, text = body) =>
      receiver.handle({ method: 'POST', headers: (name) => headers[name], body: text });
    const failed = await handle(inside);
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBe('30');
    expect((await handle(outside)).status).toBe(401);
    const big = 'x'.repeat(1_048_577);
    expect((await handle(signed(big), big)).status).toBe(413);
  });
});
