/**
 * Who the webhook receiver lets in: signatures, timestamps, secret rotation, verifyWebhook, and
 * agreement with the reference standardwebhooks library.
 */
import { ErrorCode, isMissiveErrorCode, WebhookVerificationError } from 'missive';
import { secretKey, sign, verifyWebhook, webhookTarget } from 'missive/http';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  expectNoSecret,
  listen,
  NEXT_SECRET,
  nextId,
  nowSeconds,
  post,
  recordingReceiver,
  SECRET,
  serveNode,
  signed,
  UNKNOWN_SECRET,
} from '../helpers/webhooks.ts';

afterEach(closeServers);

describe('webhook receiver over node:http', () => {
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
