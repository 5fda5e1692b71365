import { reporterOf, type WebhookReceiver } from './receiver.ts';
import { rejection, WebhookRejection, type WebhookResponse } from './response.ts';
import { headerLookup } from './verify.ts';

/**
 * The parts of an AWS Lambda HTTP event the receiver reads. Function URL and API Gateway HTTP API
 * events (payload 2.0) carry the method in `requestContext.http.method`; API Gateway REST API
 * proxy events (1.0) and ALB events in `httpMethod`. Header names may be in any case.
 */
export interface LambdaHttpEvent {
  readonly version?: string | undefined;
  readonly httpMethod?: string | undefined;
  readonly requestContext?:
    | { readonly http?: { readonly method?: string | undefined } | undefined; readonly httpMethod?: string | undefined }
    | undefined;
  readonly headers?: Readonly<Record<string, string | undefined>> | null | undefined;
  /** Payload 1.0: every value of each header. */
  readonly multiValueHeaders?: Readonly<Record<string, readonly string[] | undefined>> | null | undefined;
  readonly body?: string | null | undefined;
  /** Whether `body` is base64 (Lambda encodes bodies it does not consider text). */
  readonly isBase64Encoded?: boolean | undefined;
}

/** What a Lambda HTTP handler returns; every event format above accepts this shape. */
export interface LambdaHttpResult {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly isBase64Encoded: false;
}

/**
 * Serves a receiver from AWS Lambda: behind a function URL, an API Gateway HTTP API (payload 1.0
 * or 2.0), a REST API proxy integration, or an Application Load Balancer. A base64 body is
 * decoded before its signature is checked.
 *
 * @example
 * ```ts
 * import { createWebhookReceiver, lambdaWebhookHandler } from 'missive/http';
 *
 * export const handler = lambdaWebhookHandler(createWebhookReceiver({ secret: process.env.WEBHOOK_SECRET!, handler: onOrder }));
 * ```
 */
export function lambdaWebhookHandler(receiver: WebhookReceiver): (event: LambdaHttpEvent) => Promise<LambdaHttpResult> {
  const report = reporterOf(receiver);
  return async (event) => {
    let response: WebhookResponse;
    try {
      const method = event.requestContext?.http?.method ?? event.httpMethod ?? event.requestContext?.httpMethod ?? '';
      const raw = event.body ?? '';
      const body = event.isBase64Encoded ? Buffer.from(raw, 'base64') : raw;
      response = await receiver.handle({ method, headers: eventHeaders(event), body });
    } catch (error) {
      report(error as Error);
      response = rejection(500, WebhookRejection.ReceiverFailed, 'The receiver failed; retry later.');
    }
    return {
      statusCode: response.status,
      headers: { ...response.headers },
      body: response.body,
      isBase64Encoded: false,
    };
  };
}

/** Payload 1.0's multi-value headers when present (they hold every value), else the single-value ones. */
function eventHeaders(event: LambdaHttpEvent): (name: string) => string | undefined {
  if (event.multiValueHeaders && Object.keys(event.multiValueHeaders).length > 0) {
    return headerLookup(event.multiValueHeaders);
  }
  return headerLookup(event.headers ?? {});
}
