// #region imports
import { createServer } from 'node:http';
import { UnrecoverableError } from 'missive';
import {
  createWebhookReceiver,
  fetchWebhookHandler,
  lambdaWebhookHandler,
  nodeHttpWebhookHandler,
  verifyWebhook,
} from 'missive/http';
import { z } from 'zod';
// #endregion imports

// Only for main() at the end, the docs test's run: a sender, and requests signed by hand.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type BatchItemResult, createProducer, HttpStatusError, WebhookVerificationError } from 'missive';
import { secretKey, sign, webhookTarget } from 'missive/http';

// #region schema
const OrderEvent = z.object({
  type: z.enum(['order.paid', 'order.cancelled']),
  orderId: z.string(),
});
export type OrderEvent = z.infer<typeof OrderEvent>;
// #endregion schema

// #region verify
/** A route of your own: check the signature first, then do what you like with the body. */
export async function readVerified(request: Request, secret: string): Promise<{ id: string; event: unknown }> {
  // The exact bytes that were signed: parse only after verifying.
  const body = await request.text();
  // Throws WebhookVerificationError (code MISSIVE_WEBHOOK_VERIFICATION) unless genuine and recent.
  const { id } = verifyWebhook({ headers: request.headers, body, secret });
  return { id, event: JSON.parse(body) };
}
// #endregion verify

/** A secret for the run below; yours comes from your secret store. */
const DEMO_SECRET = 'whsec_bWlzc2l2ZSBkb2NzIGRlbW8gc2VjcmV0IGtleQ==';

export async function main(signingSecrets: readonly string[] = [DEMO_SECRET]) {
  // #region receiver
  const paid: string[] = [];
  const receiver = createWebhookReceiver<OrderEvent>({
    // The endpoint's signing secret (whsec_…). While rotating, both the old and the new one.
    secret: signingSecrets,
    // Bodies that fail it are answered 400, and the handler never sees them.
    schema: OrderEvent,
    handler: async (message) => {
      // message.id, .headers and .createdAt are the sender's; .idempotencyKey is the webhook-id.
      if (message.body.orderId.startsWith('test-')) {
        throw new UnrecoverableError(`Order ${message.body.orderId} is a test order`);
      }
      if (message.body.type === 'order.paid') paid.push(message.body.orderId);
    },
  });
  // #endregion receiver

  // #region node
  const onOrderWebhook = nodeHttpWebhookHandler(receiver);
  // node:http. With Express: app.post('/webhooks/orders', onOrderWebhook), before app.use(express.json()).
  const server = createServer(onOrderWebhook);
  server.listen(0, '127.0.0.1');
  // #endregion node
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/orders`;

  // The sending side, as in webhooks-send.md: a producer on a webhook target.
  const target = webhookTarget({ url, secret: signingSecrets[0] as string, allowAddresses: ['loopback'] });
  const producer = createProducer<unknown>({ transport: target, retry: { maxAttempts: 1 } });
  // A refused send fails with a SendFailedError whose cause holds the receiver's answer.
  const statusOf = (result: BatchItemResult) =>
    result.status === 'sent'
      ? 'sent'
      : result.error.cause instanceof HttpStatusError
        ? result.error.cause.status
        : 'error';
  const sent = await producer.sendBatch([
    { body: { type: 'order.paid', orderId: 'o-1' }, idempotencyKey: 'evt_o-1_paid' },
    { body: { type: 'order.paid', orderId: 'test-2' }, idempotencyKey: 'evt_test-2_paid' },
    { body: { type: 'order.shipped', orderId: 'o-3' }, idempotencyKey: 'evt_o-3_shipped' },
  ]);
  // The same event again, as after a lost response: acknowledged, not handled twice.
  const resent = await producer.sendBatch([
    { body: { type: 'order.paid', orderId: 'o-1' }, idempotencyKey: 'evt_o-1_paid' },
  ]);
  await target.close();
  server.close();

  // #region fetch
  const onOrderWebhookFetch = fetchWebhookHandler(receiver);
  // Hono: app.post('/webhooks/orders', (c) => onOrderWebhookFetch(c.req.raw)). Deno.serve and Bun.serve take it as is.
  // #endregion fetch
  // #region lambda
  // In a Lambda function's module: export const handler = lambdaWebhookHandler(receiver);
  const onOrderWebhookLambda = lambdaWebhookHandler(receiver);
  // #endregion lambda

  const body = JSON.stringify({ type: 'order.paid', orderId: 'o-4' });
  const timestampSeconds = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': 'application/json',
    'webhook-id': 'evt_o-4_paid',
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': sign(secretKey(signingSecrets[0] as string), 'evt_o-4_paid', timestampSeconds, body),
  };
  const viaFetch = await onOrderWebhookFetch(new Request(url, { method: 'POST', headers, body }));
  const viaLambda = await onOrderWebhookLambda({
    version: '2.0',
    requestContext: { http: { method: 'POST' } },
    headers: { ...headers, 'webhook-id': 'evt_o-5_paid', 'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl' },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  });
  let forged: string | undefined;
  try {
    await readVerified(new Request(url, { method: 'POST', headers, body: `${body} ` }), signingSecrets[0] as string);
  } catch (error) {
    if (error instanceof WebhookVerificationError) forged = error.reason;
  }
  const verified = await readVerified(new Request(url, { method: 'POST', headers, body }), signingSecrets[0] as string);

  return {
    paid,
    sent: sent.map(statusOf),
    resent: resent.map(statusOf),
    fetchStatus: viaFetch.status,
    lambdaStatus: viaLambda.statusCode,
    forged,
    verifiedId: verified.id,
  };
}
