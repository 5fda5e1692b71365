/**
 * The HTTP transport: signed webhook delivery (Standard Webhooks) and a verifying receiver.
 * Import from `missive/http`.
 *
 * @module
 */
import { WebhookTarget, type WebhookTargetOptions } from './target.ts';

export type { AddressKind } from './address-guard.ts';
export type { CircuitBreakerOptions } from './circuit-breaker.ts';
export { fetchWebhookHandler } from './fetch-handler.ts';
export { type LambdaHttpEvent, type LambdaHttpResult, lambdaWebhookHandler } from './lambda-handler.ts';
export { nodeHttpWebhookHandler } from './node-handler.ts';
export { createWebhookReceiver, type WebhookReceiver, type WebhookReceiverOptions } from './receiver.ts';
export { WebhookRejection, type WebhookRequest, type WebhookResponse } from './response.ts';
export { secretKey, sign, WebhookHeader } from './signature.ts';
export { WebhookTarget, type WebhookTargetOptions, type WebhookTlsOptions } from './target.ts';
export {
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  verifyWebhook,
  type WebhookHeaders,
  type WebhookSecret,
} from './verify.ts';

/**
 * A webhook endpoint as a {@link Sender}: each message is POSTed with Standard Webhooks
 * signature headers; 2xx accepts it, 408/425/429/5xx and network errors are retried (honouring
 * `Retry-After`), 410 marks the endpoint gone, other 4xx fail for good.
 *
 * @example
 * ```ts
 * import { createProducer } from 'missive';
 * import { webhookTarget } from 'missive/http';
 *
 * const target = webhookTarget({ url: 'https://example.com/hooks/orders', secret: process.env.WEBHOOK_SECRET! });
 * const producer = createProducer<OrderEvent>({ transport: target, retry: { maxAttempts: 8 } });
 * await producer.send({ type: 'order.paid', orderId: 'o-1' }, { idempotencyKey: 'evt_o-1_paid' });
 * ```
 */
export function webhookTarget(options: WebhookTargetOptions): WebhookTarget {
  return new WebhookTarget(options);
}
