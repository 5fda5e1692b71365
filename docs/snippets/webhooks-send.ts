// #region imports
import { createProducer, createRetryBudget, ErrorCode, HttpStatusError, isMissiveErrorCode } from 'missive';
import { webhookTarget } from 'missive/http';
// #endregion imports

// Only for main() at the end, the docs test's run: local receivers, and a check of what they got.
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from 'missive/http';

// #region event
export interface OrderEvent {
  readonly type: 'order.paid' | 'order.refunded';
  readonly orderId: string;
  readonly amount: number;
}
// #endregion event

/** Secrets for the run below; yours come from your secret store, one set per subscription. */
const NEW_SECRET = 'whsec_bWlzc2l2ZSBkb2NzIG5ldyBzZW5kaW5nIGtleQ==';
const OLD_SECRET = 'whsec_bWlzc2l2ZSBkb2NzIG9sZCBzZW5kaW5nIGtleQ==';

/** Your token source, for endpoints that also want a bearer token: for example a short-lived JWT. */
async function mintAccessToken(): Promise<string> {
  return `demo-token-${Date.now()}`;
}

/** PEM material for the TLS part of the run: a private CA, the endpoint's and the client's certificates. */
export interface DemoCertificates {
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  readonly status: number;
}

/** A receiver on 127.0.0.1 that records every request and answers through `respond`. */
async function listen(
  server: Server,
  respond: (request: { path: string }) => [status: number, headers?: Record<string, string>, body?: string],
) {
  const received: Received[] = [];
  server.on('request', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      const path = req.url ?? '';
      const [status, headers, text] = respond({ path });
      received.push({ path, headers: req.headers, body, at: Date.now(), status });
      res.writeHead(status, headers).end(text);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { received, port: (server.address() as AddressInfo).port };
}

export async function main(certificates?: DemoCertificates) {
  // The customer's endpoints: one that is briefly overloaded, one that refuses a message, one removed.
  let overloaded = true;
  const server = createServer();
  const { received, port } = await listen(server, ({ path }) => {
    if (path.startsWith('/hooks/strict')) return [422, {}, '{"error":"unknown order"}'];
    if (path.startsWith('/hooks/removed')) return [410, {}, 'subscription removed'];
    if (!overloaded) return [204];
    overloaded = false;
    return [503, { 'retry-after': '1' }, 'busy'];
  });
  const subscription = { url: `http://127.0.0.1:${port}/hooks/orders`, secrets: [NEW_SECRET, OLD_SECRET] };

  // #region target
  const target = webhookTarget({
    url: subscription.url,
    // Each request is signed with every secret: while rotating, the new one and the old one.
    secret: subscription.secrets,
    // Optional: a fresh bearer token per request, for endpoints that ask for one.
    bearerToken: mintAccessToken,
    // Connecting, and then waiting for the response head, may take up to 10 s each.
    timeoutMs: 10_000,
    // After 5 failures in a row, one probe per 30 s instead of one request per message.
    circuitBreaker: { failureThreshold: 5, openMs: 30_000 },
    // TEST ONLY: the receiver of this example runs on 127.0.0.1, which the SSRF guard refuses.
    // Leave allowAddresses out in production, where the URL comes from your customer.
    allowAddresses: ['loopback'],
  });
  const orderEvents = createProducer<OrderEvent>({
    transport: target,
    // Up to 8 attempts; delays from 1 s doubling up to 60 s, or longer if Retry-After asks.
    retry: { maxAttempts: 8, backoff: { initialDelayMs: 1_000, maxDelayMs: 60_000 } },
    // One budget per endpoint, as each producer has by default (of 500 tokens): here 20 retries in a
    // row at 5 tokens each, then none until successes (1 token each) refill it.
    retryBudget: createRetryBudget({ capacity: 100, retryCost: 5 }),
  });
  // #endregion target

  // #region send
  // The idempotency key becomes webhook-id: the same on every retry, so the receiver can drop duplicates.
  const sent = await orderEvents.send(
    { type: 'order.paid', orderId: 'o-1', amount: 4200 },
    { idempotencyKey: 'evt_o-1_paid', headers: { 'x-tenant': 'acme' } },
  );
  // #endregion send
  await target.close();

  // The same setup for the other two endpoints (one target, and so one circuit, per endpoint).
  const endpoint = (path: string) => {
    const other = webhookTarget({
      url: `http://127.0.0.1:${port}${path}`,
      secret: NEW_SECRET,
      allowAddresses: ['loopback'],
    });
    return { target: other, producer: createProducer<OrderEvent>({ transport: other }) };
  };
  const strict = endpoint('/hooks/strict?token=s3cr3t-in-query');
  const orderRefunded = { type: 'order.refunded', orderId: 'o-2', amount: 900 } as const;

  // #region errors
  let refusal: { status: number; excerpt: string; retryable: boolean; message: string } | undefined;
  try {
    await strict.producer.send(orderRefunded, { idempotencyKey: 'evt_o-2_refunded' });
  } catch (error) {
    // SendFailedError: rejected for good, or still failing after the last attempt.
    if (!isMissiveErrorCode(error, ErrorCode.SendFailed)) throw error;
    const answer = error.cause;
    if (!(answer instanceof HttpStatusError)) throw error; // a network failure, a refused address...
    refusal = {
      status: answer.status, // 422
      excerpt: answer.bodyExcerpt, // the first 256 characters of the response body
      retryable: answer.retryable, // false: a 4xx other than 408, 425 and 429 is not retried
      message: error.message, // names the endpoint without its query string
    };
  }
  // #endregion errors
  await strict.target.close();

  const removed = endpoint('/hooks/removed');
  const gone: string[] = [];
  for (const orderId of ['o-3', 'o-4']) {
    await removed.producer.send({ type: 'order.paid', orderId, amount: 1 }).catch((error: Error) => {
      gone.push(error.message);
    });
  }
  await removed.target.close();
  server.close();

  // What the receiver got: two attempts of one message, then the other endpoints' requests.
  const attempts = received.filter((request) => request.path === '/hooks/orders');
  const [first, second] = attempts;
  const header = (request: Received | undefined, name: string) => request?.headers[name] as string | undefined;
  const verifiesWith = (secret: string) =>
    second !== undefined && verifyWebhook({ headers: second.headers, body: second.body, secret }).id === 'evt_o-1_paid';

  // Mutual TLS, when the test hands over certificates: an endpoint with a private CA that asks for a client certificate.
  let tls: { status: string; clientCertificate: string | undefined } | undefined;
  if (certificates) {
    const tlsServer = createHttpsServer({
      key: certificates.serverKey,
      cert: certificates.serverCert,
      ca: certificates.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    let clientCertificate: string | undefined;
    tlsServer.on('secureConnection', (socket) => {
      clientCertificate = socket.getPeerCertificate().subject?.CN as string | undefined;
    });
    const partner = await listen(tlsServer, () => [204]);
    const partnerUrl = `https://127.0.0.1:${partner.port}/hooks/orders`;
    const pem = { ca: certificates.ca, cert: certificates.clientCert, key: certificates.clientKey };
    // #region tls
    const partnerTarget = webhookTarget({
      url: partnerUrl,
      secret: NEW_SECRET,
      // PEM text or Buffers, for example readFileSync('partner-ca.pem').
      tls: {
        // Trust this CA for this endpoint, instead of Node's list of public CAs.
        ca: pem.ca,
        // Mutual TLS: the client certificate and its key, shown when the endpoint asks for one.
        cert: pem.cert,
        key: pem.key,
      },
      // TEST ONLY, as above.
      allowAddresses: ['loopback'],
    });
    // #endregion tls
    const [outcome] = await partnerTarget.send([
      { id: 'm-1', body: '{}', headers: {}, idempotencyKey: 'evt-tls', createdAt: Date.now() },
    ]);
    tls = { status: outcome?.status ?? 'none', clientCertificate };
    await partnerTarget.close();
    tlsServer.close();
  }

  return {
    sentId: sent.id,
    statuses: attempts.map((request) => request.status),
    waitedMs: (second?.at ?? 0) - (first?.at ?? 0),
    sameWebhookId: header(first, 'webhook-id') === header(second, 'webhook-id'),
    headers: {
      'webhook-id': header(second, 'webhook-id'),
      'missive-message-id': header(second, 'missive-message-id'),
      'missive-headers': header(second, 'missive-headers'),
      'x-tenant': header(second, 'x-tenant'),
      'content-type': header(second, 'content-type'),
      authorization: header(second, 'authorization'),
      signatures: header(second, 'webhook-signature')?.split(' ').length,
    },
    verifiesWithNewSecret: verifiesWith(NEW_SECRET),
    verifiesWithOldSecret: verifiesWith(OLD_SECRET),
    refusal,
    strictRequests: received.filter((request) => request.path.startsWith('/hooks/strict')).length,
    gone,
    removedRequests: received.filter((request) => request.path === '/hooks/removed').length,
    tls,
  };
}
