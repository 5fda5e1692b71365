/**
 * The webhook receiver's answers over node:http: handled, duplicate, refused bodies and handler
 * outcomes; and what a webhookTarget makes of them.
 */
import { type IdempotencyStore, memoryIdempotencyStore, RetryLaterError, UnrecoverableError } from 'missive';
import { secretKey, sign, webhookTarget } from 'missive/http';
import { ManualClock } from 'missive/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { unhandledRejectionsDuring } from '../helpers/unhandled.ts';
import {
  closeServers,
  nextId,
  nowSeconds,
  post,
  recordingReceiver,
  SECRET,
  serveNode,
  signed,
} from '../helpers/webhooks.ts';

afterEach(closeServers);

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

  it('remembers ids for as long as a replay can pass the timestamp check, with a long tolerance', async () => {
    const start = Date.UTC(2026, 0, 1);
    const clock = new ManualClock(start);
    const toleranceMs = 2 * 3_600_000;
    const { receiver, messages } = recordingReceiver(undefined, { clock, toleranceMs });
    const body = '{"pay":100}';
    // Signed toleranceMs ahead of the receiver's clock (skew it allows), then replayed verbatim
    // until the timestamp is toleranceMs behind: a window of twice the tolerance.
    const headers = signed(body, { timestampSeconds: (start + toleranceMs) / 1000 });
    const handle = () => receiver.handle({ method: 'POST', headers: (name) => headers[name], body });
    expect((await handle()).status).toBe(200);
    const answers: string[] = [];
    for (const atMinutes of [61, 239, 241]) {
      await clock.advance(start + atMinutes * 60_000 - clock.now());
      const replay = await handle();
      answers.push(`${atMinutes} min: ${replay.status}${replay.headers['missive-duplicate'] ? ' duplicate' : ''}`);
    }
    expect(answers).toEqual(['61 min: 200 duplicate', '239 min: 200 duplicate', '241 min: 401']);
    expect(messages).toHaveLength(1);
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

  it('survives an async onError callback that rejects', async () => {
    const broken: IdempotencyStore = {
      ...memoryIdempotencyStore(),
      begin: () => Promise.reject(new Error('store unreachable')),
    };
    let called = 0;
    const { receiver } = recordingReceiver(undefined, {
      idempotency: { store: broken },
      onError: async () => {
        called++;
        throw new Error('logger down');
      },
    });
    const unhandled = await unhandledRejectionsDuring(async () => {
      const url = await serveNode(receiver);
      expect((await post(url, '{}', signed('{}'))).status).toBe(500);
    });
    expect(called).toBe(1);
    expect(unhandled).toEqual([]);
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
