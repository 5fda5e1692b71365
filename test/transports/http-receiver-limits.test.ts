/** The webhook receiver's body limit over node:http, and its options: invalid ones refused, defaults answered. */
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError } from 'missive';
import {
  createWebhookReceiver,
  nodeHttpWebhookHandler,
  verifyWebhook,
  type WebhookReceiverOptions,
  webhookTarget,
} from 'missive/http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  expectNoSecret,
  listen,
  nowSeconds,
  post,
  recordingReceiver,
  SECRET,
  serveNode,
  signed,
} from '../helpers/webhooks.ts';

afterEach(closeServers);

describe('webhook receiver over node:http', () => {
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

  it('refuses an empty byte secret, which would let anyone sign (an unset env var decoded to bytes)', () => {
    const empty = Buffer.from(process.env.MISSIVE_UNSET_SECRET ?? '', 'base64');
    expect(() => createWebhookReceiver({ secret: empty, handler })).toThrow(ConfigurationError);
    expect(() => createWebhookReceiver({ secret: [SECRET, new Uint8Array(0)], handler })).toThrow(/secret\[1\]/);
    expect(() => verifyWebhook({ headers: {}, body: '{}', secret: empty })).toThrow(ConfigurationError);
    expect(() => webhookTarget({ url: 'https://example.com/hooks', secret: empty })).toThrow(ConfigurationError);
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
