import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  createProducer,
  HttpStatusError,
  type OutgoingEnvelope,
  type SendFailedError,
  TransportError,
  uuidv7,
} from 'missive';
import { webhookTarget } from 'missive/http';
import { ManualClock } from 'missive/memory';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCertificates } from '../helpers/tls.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A real server on 127.0.0.1 that records requests and answers with `respond`. */
async function endpoint(
  respond: (request: Received, res: ServerResponse, req: IncomingMessage) => void,
  server: Server = createServer(),
) {
  const received: Received[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const request = { headers: req.headers, body };
      received.push(request);
      respond(request, res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  const protocol = 'getTicketKeys' in server ? 'https' : 'http';
  return { received, url: `${protocol}://127.0.0.1:${port}/hooks/orders` };
}

function envelope(body: unknown, extra: Partial<OutgoingEnvelope> = {}): OutgoingEnvelope {
  const id = uuidv7();
  return {
    id,
    body: JSON.stringify(body),
    headers: {},
    idempotencyKey: `evt-${id}`,
    createdAt: 1_700_000_000_000,
    ...extra,
  };
}

/** An endpoint that never answers a "stall" body, behind a one-connection target: what comes after it waits. */
async function stallingTarget() {
  const { received, url } = await endpoint((request, res) => {
    if (request.body !== '"stall"') res.writeHead(200).end();
  });
  const target = webhookTarget({
    url,
    secret: SECRET,
    allowAddresses: ['loopback'],
    circuitBreaker: false,
    maxConnections: 1,
  });
  return { received, target };
}

describe('webhook target', () => {
  it('POSTs a Standard Webhooks request that the reference library verifies', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(204).end());
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'] });
    const sent = envelope(
      { orderId: 'o-1' },
      { headers: { 'x-tenant': 'acme', traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } },
    );
    expect(await target.send([sent])).toEqual([{ status: 'accepted', id: sent.id }]);
    const [request] = received;
    const verified = new Webhook(SECRET).verify(request?.body ?? '', request?.headers as Record<string, string>);
    expect(verified).toEqual({ orderId: 'o-1' });
    expect(request?.headers).toMatchObject({
      'webhook-id': sent.idempotencyKey,
      'content-type': 'application/json',
      'missive-message-id': sent.id,
      'missive-created-at': '1700000000000',
      'missive-headers': 'x-tenant,traceparent',
      'x-tenant': 'acme',
    });
    await target.close();
  });

  it('leaves out missive-message-id when webhook-id already carries it (the key is the id)', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(204).end());
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'] });
    const sent = envelope({ orderId: 'o-2' });
    await target.send([{ ...sent, idempotencyKey: sent.id }]);
    expect(received[0]?.headers['webhook-id']).toBe(sent.id);
    expect(received[0]?.headers).not.toHaveProperty('missive-message-id');
    expect(received[0]?.headers).not.toHaveProperty('missive-headers');
    await target.close();
  });

  it('signs with every secret while one rotates, and sends a fresh bearer token per request', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(200).end());
    let tokens = 0;
    const next = 'whsec_dGhlIG5leHQgc2VjcmV0IGtleSBmb3IgdGVzdHM=';
    const target = webhookTarget({
      url,
      secret: [SECRET, next],
      allowAddresses: ['loopback'],
      bearerToken: async () => `jwt-${++tokens}`,
    });
    await target.send([envelope(1), envelope(2)]);
    expect(received.map((r) => r.headers.authorization).sort()).toEqual(['Bearer jwt-1', 'Bearer jwt-2']);
    for (const request of received) {
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
      expect(() => new Webhook(next).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    }
    await target.close();
  });

  it.each([
    [200, 'accepted'],
    [202, 'accepted'],
    [408, 'retryable'],
    [425, 'retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
    [400, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
  ])('classifies %i as %s', async (status, outcome) => {
    const { url } = await endpoint((_r, res) => res.writeHead(status).end('x'.repeat(5_000)));
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'], circuitBreaker: false });
    const [result] = await target.send([envelope({})]);
    expect(result?.status).toBe(outcome);
    if (result && result.status !== 'accepted') {
      expect(result.error).toBeInstanceOf(HttpStatusError);
      expect((result.error as HttpStatusError).status).toBe(status);
      expect((result.error as HttpStatusError).bodyExcerpt).toBe(`${'x'.repeat(255)}…`);
      expect(result.error.message).not.toContain(SECRET.slice(6));
    }
    await target.close();
  });

  it.each([
    [
      'honours Retry-After in seconds and as an HTTP date, capped',
      ['120', new Date(Date.UTC(2026, 10, 24, 12, 0, 30)).toUTCString(), '999999'],
      [120_000, 30_000, 600_000],
    ],
    [
      'ignores a Retry-After that is neither seconds nor an HTTP date, and caps an overlong one',
      ['soon 1', '-5', '1.5', 'Tuesday', '9'.repeat(400)],
      [undefined, undefined, undefined, undefined, 600_000],
    ],
  ])('%s', async (_, values, expected) => {
    const clock = new ManualClock(Date.UTC(2026, 10, 24, 12));
    const answers = [...values];
    const { url } = await endpoint((_r, res) => res.writeHead(503, { 'retry-after': answers.shift() as string }).end());
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      clock,
      retryAfterCapMs: 600_000,
      circuitBreaker: false,
    });
    const delays = [];
    for (let i = 0; i < values.length; i++) {
      const [result] = await target.send([envelope({})]);
      delays.push(result?.status === 'retryable' ? result.retryAfterMs : 'not retryable');
    }
    expect(delays).toEqual(expected);
    await target.close();
  });

  it('makes the producer wait as long as Retry-After asks, then deliver', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const { url } = await endpoint((_r, res) =>
      ++calls === 1 ? res.writeHead(429, { 'retry-after': '60' }).end() : res.writeHead(200).end(),
    );
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'] });
    const producer = createProducer({ transport: target, clock, retry: { backoff: { initialDelayMs: 10 } } });
    let done = false;
    const sending = producer.send({ a: 1 }).then(() => {
      done = true;
    });
    await clock.advanceUntil(() => calls === 1, { stepMs: 1 });
    await clock.advance(59_000);
    expect(done).toBe(false);
    await clock.advanceUntil(() => done, { stepMs: 500 });
    await sending;
    expect(calls).toBe(2);
    await target.close();
  });

  it('stops delivering to an endpoint that answered 410 Gone', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(410).end('subscription removed'));
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'] });
    const [first] = await target.send([envelope({})]);
    const [second] = await target.send([envelope({})]);
    expect(first?.status).toBe('permanent');
    expect(second?.status === 'permanent' && second.error.message).toMatch(
      /answered 410: "subscription removed"\. The endpoint is gone/,
    );
    expect(received).toHaveLength(1);
    await target.close();
  });

  it('opens its circuit after repeated failures: one probe per interval, then closes on success', async () => {
    const clock = new ManualClock();
    let healthy = false;
    const { received, url } = await endpoint((_r, res) => res.writeHead(healthy ? 200 : 503).end());
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      clock,
      circuitBreaker: { failureThreshold: 3, openMs: 10_000 },
    });
    for (let i = 0; i < 10; i++) await target.send([envelope(i)]);
    expect(received).toHaveLength(3);
    const [blocked] = await target.send([envelope('x')]);
    expect(blocked?.status === 'retryable' && blocked.error.message).toMatch(/Circuit open .* next probe goes in 10 s/);
    await clock.advance(10_000);
    const probes = await Promise.all([target.send([envelope('p1')]), target.send([envelope('p2')])]);
    expect(received).toHaveLength(4);
    expect(probes.flat().map((o) => o.status)).toEqual(['retryable', 'retryable']);
    healthy = true;
    await clock.advance(10_000);
    expect((await target.send([envelope('ok')]))[0]?.status).toBe('accepted');
    expect((await target.send([envelope('ok2')]))[0]?.status).toBe('accepted');
    expect(received).toHaveLength(6);
    await target.close();
  });

  it('keeps probing after a probe is aborted, and retries a failing bearer-token provider', async () => {
    const clock = new ManualClock();
    let healthy = false;
    const { url } = await endpoint((_r, res) => res.writeHead(healthy ? 200 : 503).end());
    let tokenFails = true;
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      clock,
      circuitBreaker: { failureThreshold: 1, openMs: 1_000 },
      bearerToken: async () => {
        if (tokenFails) throw new Error('token service down');
        return 'jwt';
      },
    });
    const [noToken] = await target.send([envelope({})]);
    expect(noToken?.status === 'retryable' && noToken.error.message).toMatch(
      /bearerToken provider failed: token service down/,
    );
    tokenFails = false;
    await target.send([envelope({})]); // 503: the circuit opens
    await clock.advance(1_000);
    const [aborted] = await target.send([envelope({})], { signal: AbortSignal.abort(new Error('shutdown')) });
    expect(aborted?.status === 'retryable' && aborted.error.message).toBe('shutdown');
    healthy = true;
    expect((await target.send([envelope({})]))[0]?.status).toBe('accepted');
    await target.close();
  });

  it('keeps a short failure body whole, and aborts a request in flight when the signal fires', async () => {
    let stall = false;
    const { received, url } = await endpoint((_r, res) => {
      if (!stall) res.writeHead(400).end('missing field: total');
    });
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'], circuitBreaker: false });
    const [rejected] = await target.send([envelope({})]);
    expect(rejected?.status === 'permanent' && (rejected.error as HttpStatusError).bodyExcerpt).toBe(
      'missing field: total',
    );
    stall = true;
    const controller = new AbortController();
    const sending = target.send([envelope({})], { signal: controller.signal });
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error('shutting down'));
    const [aborted] = await sending;
    expect(aborted?.status === 'retryable' && aborted.error.message).toBe('shutting down');
    await target.close();
  });

  it('keeps the outcomes it knows when a batch is aborted, and reports the rest retryable', async () => {
    // "a" is answered before "stall" goes out, and "b" waits behind it.
    const { received, target } = await stallingTarget();
    const controller = new AbortController();
    const sending = target.send([envelope('a'), envelope('stall'), envelope('b')], { signal: controller.signal });
    while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error('shutting down'));
    const outcomes = await sending;
    expect(outcomes.map((o) => [o.status, o.status === 'accepted' ? undefined : o.error.message])).toEqual([
      ['accepted', undefined],
      ['retryable', 'shutting down'],
      ['retryable', 'shutting down'],
    ]);
    expect(received.map((r) => r.body)).toEqual(['"a"', '"stall"']);
    await target.close();
  });

  it.each([1, 3])(
    'reports a batch aborted part-way through the producer as sent and failed, not as a rejection (maxAttempts %i)',
    async (maxAttempts) => {
      const { received, target } = await stallingTarget();
      const producer = createProducer({ transport: target, retry: { maxAttempts } });
      const controller = new AbortController();
      const sending = producer.sendBatch([{ body: 'a' }, { body: 'stall' }, { body: 'b' }], {
        signal: controller.signal,
      });
      while (received.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      controller.abort(new Error('shutting down'));
      const results = await sending;
      expect(results.map((r) => [r.status, r.status === 'failed' ? r.error.message : undefined])).toEqual([
        ['sent', undefined],
        ['failed', 'shutting down'],
        ['failed', 'shutting down'],
      ]);
      await target.close();
    },
  );

  it('retries a connection reset and a stalled response, within the timeout', async () => {
    const { url } = await endpoint((request, res, req) => {
      if (request.body === '"reset"') req.socket.destroy();
      else if (request.body === '"stall"')
        return; // never answers
      else res.writeHead(200).end();
    });
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      timeoutMs: 300,
      circuitBreaker: false,
    });
    const [reset, stall, ok] = await target.send([envelope('reset'), envelope('stall'), envelope('fine')]);
    expect(reset?.status).toBe('retryable');
    expect(reset?.status === 'retryable' && reset.error).toBeInstanceOf(TransportError);
    expect(stall?.status).toBe('retryable');
    expect(stall?.status === 'retryable' && stall.error.message).toMatch(/failed: .*timeout/i);
    expect(ok?.status).toBe('accepted');
    await target.close();
  });

  it('refuses private, loopback and link-local destinations unless allowed (SSRF guard)', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(200).end());
    expect(() => webhookTarget({ url, secret: SECRET })).toThrow(ConfigurationError);
    expect(() => webhookTarget({ url: 'http://169.254.169.254/latest/meta-data', secret: SECRET })).toThrow(
      /link-local address \(SSRF guard\)/,
    );
    const port = new URL(url).port;
    const resolvesTo =
      (address: string) =>
      (_host: string, _options: unknown, callback: (e: null, a: { address: string; family: number }[]) => void) =>
        callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
    for (const address of ['10.1.2.3', '192.168.0.10', '127.0.0.1', '::ffff:127.0.0.1', 'fd00::1']) {
      const target = webhookTarget({
        url: `http://hooks.example.test:${port}/x`,
        secret: SECRET,
        lookup: resolvesTo(address),
      });
      const [outcome] = await target.send([envelope({})]);
      expect(outcome?.status, address).toBe('permanent');
      expect(outcome?.status === 'permanent' && outcome.error.message).toMatch(/resolves to .*\(SSRF guard\)/);
      await target.close();
    }
    const allowed = webhookTarget({
      url: `http://hooks.example.test:${port}/x`,
      secret: SECRET,
      lookup: resolvesTo('127.0.0.1'),
      allowAddresses: ['loopback'],
    });
    expect((await allowed.send([envelope({})]))[0]?.status).toBe('accepted');
    expect(received).toHaveLength(1);
    await allowed.close();
  });

  it('delivers over TLS with a custom CA and a client certificate (mTLS)', async () => {
    const certs = generateCertificates();
    const server = createTlsServer({
      key: certs.serverKey,
      cert: certs.serverCert,
      ca: certs.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const { received, url } = await endpoint((_r, res, req) => {
      res.writeHead(200).end(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN));
    }, server);
    const withoutClientCert = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      tls: { ca: certs.ca },
      circuitBreaker: false,
    });
    expect((await withoutClientCert.send([envelope({})]))[0]?.status).toBe('retryable');
    const untrusted = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      tls: { cert: certs.clientCert, key: certs.clientKey },
      circuitBreaker: false,
    });
    expect((await untrusted.send([envelope({})]))[0]?.status).toBe('retryable');
    const mutual = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey },
    });
    expect((await mutual.send([envelope({ secure: true })]))[0]?.status).toBe('accepted');
    expect(received.map((r) => r.body)).toEqual(['{"secure":true}']);
    await Promise.all([withoutClientCert.close(), untrusted.close(), mutual.close()]);
  });

  it('fails a header value HTTP cannot carry for good, without counting it against the endpoint', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(200).end());
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      circuitBreaker: { failureThreshold: 2 },
    });
    const unsendable = [
      envelope({}, { headers: { 'x-city': '東京' } }),
      envelope({}, { headers: { 'x-note': 'a\u0001b' } }),
    ];
    for (const message of unsendable) {
      const [outcome] = await target.send([message]);
      expect(outcome?.status).toBe('permanent');
      expect(outcome?.status === 'permanent' && outcome.error.message).toMatch(/cannot be sent as an HTTP header/);
    }
    // The endpoint is fine: its circuit stays closed for the next message.
    expect((await target.send([envelope({}, { headers: { 'x-city': 'Zürich' } })]))[0]?.status).toBe('accepted');
    expect(received).toHaveLength(1);
    await target.close();
  });

  it('fails an idempotency key or message id HTTP cannot carry for good, without counting it against the endpoint', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(200).end());
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      circuitBreaker: { failureThreshold: 1 },
    });
    const unsendable = [
      envelope({}, { idempotencyKey: 'order-東京' }),
      envelope({}, { idempotencyKey: 'order-1\r\nx-injected: 1' }),
      envelope({}, { id: 'msg\u0000', idempotencyKey: 'order-2' }),
    ];
    for (const message of unsendable) {
      const [outcome] = await target.send([message]);
      expect(outcome?.status).toBe('permanent');
      expect(outcome?.status === 'permanent' && outcome.error.message).toMatch(/cannot be sent as an HTTP header/);
    }
    expect((await target.send([envelope({})]))[0]?.status).toBe('accepted');
    expect(received).toHaveLength(1);
    await target.close();
  });

  it('retries a bearer token that cannot be sent without counting it against the endpoint', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(200).end());
    let token = 'sekr\nit';
    const target = webhookTarget({
      url,
      secret: SECRET,
      allowAddresses: ['loopback'],
      bearerToken: () => token,
      circuitBreaker: { failureThreshold: 1 },
    });
    const [outcome] = await target.send([envelope({})]);
    expect(outcome?.status).toBe('retryable');
    expect(outcome?.status === 'retryable' && outcome.error.message).toMatch(/bearerToken/);
    expect(outcome?.status === 'retryable' && outcome.error.message).not.toContain('sekr');
    token = 'token';
    expect((await target.send([envelope({})]))[0]?.status).toBe('accepted');
    expect(received).toHaveLength(1);
    await target.close();
  });

  it('refuses headers it cannot send, delays, and keeps the URL query out of errors', async () => {
    const { received, url } = await endpoint((_r, res) => res.writeHead(500).end());
    const target = webhookTarget({
      url: `${url}?token=s3cr3t`,
      secret: SECRET,
      allowAddresses: ['loopback'],
      circuitBreaker: false,
    });
    const [badName, reserved, delayed, failed] = await target.send([
      envelope({}, { headers: { 'bad header': 'x' } }),
      envelope({}, { headers: { 'webhook-id': 'spoof' } }),
      envelope({}, { delayMs: 1_000 }),
      envelope({}),
    ]);
    expect(badName?.status === 'permanent' && badName.error.message).toMatch(/Header "bad header" cannot be sent/);
    expect(reserved?.status).toBe('permanent');
    expect(delayed?.status === 'permanent' && delayed.error.message).toMatch(/cannot delay/);
    expect(failed?.status === 'retryable' && failed.error.message).not.toContain('s3cr3t');
    expect(received).toHaveLength(1);
    const producer = createProducer({ transport: target, retry: { maxAttempts: 1 } });
    const error = (await producer.send('x').catch((e: unknown) => e)) as SendFailedError;
    expect(error.message).not.toContain('s3cr3t');
    expect(error.message).toMatch(/answered 500/);
    await target.close();
  });

  it("never shows an unparseable URL's credentials or query string in its configuration error", () => {
    for (const url of [
      'https://user:pw-s3cr3t@example.com:99999/x?token=s3cr3t',
      'https://exa mple.com/x?token=s3cr3t',
    ]) {
      let thrown: unknown;
      try {
        webhookTarget({ url, secret: SECRET });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigurationError);
      expect((thrown as Error).message).toMatch(/Invalid option url: "https:\/\/.*\/x/);
      expect(`${(thrown as Error).message} ${JSON.stringify(thrown)}`).not.toContain('s3cr3t');
    }
  });

  it.each([
    [{ url: 'ftp://example.com/x' }, /Invalid option url: "ftp:"/],
    [{ url: 'not a url' }, /Invalid option url: "not a url"\. Expected an absolute http or https URL/],
    [{ secret: [] }, /Invalid option secret/],
    [{ timeoutMs: 0 }, /Invalid option timeoutMs: 0/],
    [{ contentType: 'application/json\r\nx-injected: 1' }, /Invalid option contentType/],
  ])('rejects invalid options %o', (overrides, message) => {
    const options = { url: 'https://example.com/hooks', secret: SECRET, ...overrides } as never;
    expect(() => webhookTarget(options)).toThrow(message);
  });
});
