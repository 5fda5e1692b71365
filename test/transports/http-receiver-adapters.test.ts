/**
 * The webhook receiver behind each adapter other than plain node:http: an Express parser, the Fetch
 * API (and Hono's bridge), and AWS Lambda events.
 */
import { ErrorCode, isMissiveErrorCode } from 'missive';
import { fetchWebhookHandler, type LambdaHttpEvent, lambdaWebhookHandler, nodeHttpWebhookHandler } from 'missive/http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeServers,
  expectNoSecret,
  listen,
  post,
  recordingReceiver,
  serveFetch,
  signed,
  UNKNOWN_SECRET,
} from '../helpers/webhooks.ts';

afterEach(closeServers);

describe('webhook receiver over node:http', () => {
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
