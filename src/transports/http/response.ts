/**
 * The requests a webhook receiver handles and the answers it gives, independent of any server
 * framework: the adapters translate from and to `node:http`, the Fetch API and AWS Lambda.
 *
 * @module
 */
import { CodecError, DuplicateInProgressError, InvalidMessageError, RetryLaterError } from '../../errors.ts';
import type { Outcome } from '../../reliability/pipeline.ts';

/** One received HTTP request, as the receiver needs it. */
export interface WebhookRequest {
  /** The HTTP method; only `POST` is accepted. */
  readonly method: string;
  /** Looks a header up; asked for with lower-case names. A repeated header comes joined with `, `. */
  readonly headers: (name: string) => string | undefined;
  /** The raw body, exactly as received (the signature covers these bytes). */
  readonly body: Uint8Array | string;
  /** Aborts when the sender has gone away; handed on to the handler. */
  readonly signal?: AbortSignal | undefined;
}

/** The receiver's answer: a status the sender acts on, headers, and a short JSON body. */
export interface WebhookResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The `error` field of a rejection's JSON body. */
export const WebhookRejection = {
  /** 405: only POST carries a webhook. */
  MethodNotAllowed: 'method-not-allowed',
  /** 413: the body is larger than `maxBodyBytes`. */
  BodyTooLarge: 'body-too-large',
  /** 400: the body could not be decoded, or failed its schema. */
  InvalidBody: 'invalid-body',
  /** 422: the handler threw `UnrecoverableError`. */
  Unrecoverable: 'unrecoverable',
  /** 422: the `webhook-id` was already used for a different body. */
  IdempotencyConflict: 'idempotency-conflict',
  /** 503: another request with the same `webhook-id` is being handled. */
  InProgress: 'in-progress',
  /** 503: the handler failed, or asked for a later retry. */
  HandlerFailed: 'handler-failed',
  /** 500: the receiver itself failed (the idempotency store is down, say). */
  ReceiverFailed: 'receiver-failed',
} as const;

/** One of {@link WebhookRejection}'s values. A 401's `error` is a `WebhookVerificationReason` instead. */
export type WebhookRejection = (typeof WebhookRejection)[keyof typeof WebhookRejection];

const JSON_TYPE = 'application/json';
const MAX_ISSUES_IN_RESPONSE = 10;

/** A response with a JSON body. */
export function jsonResponse(status: number, payload: object, headers: Record<string, string> = {}): WebhookResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(payload) };
}

/** A rejection: `{ "error": code, "message": … }`, with extra fields and headers if given. */
export function rejection(
  status: number,
  error: string,
  message: string,
  extra: { readonly fields?: object; readonly headers?: Record<string, string> } = {},
): WebhookResponse {
  return jsonResponse(status, { error, message, ...extra.fields }, extra.headers);
}

/** A retryable rejection with `Retry-After` in whole seconds. */
export function retryLater(status: 500 | 503, error: string, message: string, delayMs: number): WebhookResponse {
  const seconds = Math.max(0, Math.ceil(delayMs / 1000));
  return rejection(status, error, message, { headers: { 'retry-after': String(seconds) } });
}

/** 413 for a body over `limitBytes`; the sender must not retry the same body. */
export function tooLarge(limitBytes: number): WebhookResponse {
  return rejection(
    413,
    WebhookRejection.BodyTooLarge,
    `Body exceeds this endpoint's limit of ${limitBytes} bytes. Send a smaller payload, or a reference to it.`,
  );
}

/** 405 for anything but POST. */
export function methodNotAllowed(method: string): WebhookResponse {
  return rejection(
    405,
    WebhookRejection.MethodNotAllowed,
    `${method.slice(0, 16)} is not accepted; send webhooks with POST.`,
    {
      headers: { allow: 'POST' },
    },
  );
}

/** The answer to a processed webhook: the sender retries after a 5xx, and never after a 4xx. */
export function outcomeResponse(
  id: string,
  outcome: Outcome,
  contentType: string,
  retryAfterMs: number,
): WebhookResponse {
  switch (outcome.status) {
    case 'ack':
      return outcome.duplicate
        ? jsonResponse(200, { status: 'duplicate' }, { 'missive-duplicate': 'true' })
        : jsonResponse(200, { status: 'handled' });
    case 'retry': {
      const { error, delayMs } = outcome;
      if (error instanceof DuplicateInProgressError) {
        return retryLater(
          503,
          WebhookRejection.InProgress,
          `Webhook ${id} is being handled by another request; retry later.`,
          delayMs,
        );
      }
      const asked = error instanceof RetryLaterError ? ', as the handler asked' : '';
      return retryLater(
        503,
        WebhookRejection.HandlerFailed,
        `Webhook ${id} could not be handled now; retry later${asked}.`,
        delayMs,
      );
    }
    case 'dead-letter':
      if (outcome.reason === 'invalid-body') return invalidBody(id, outcome.error, contentType);
      if (outcome.reason === 'unrecoverable') {
        return rejection(
          422,
          WebhookRejection.Unrecoverable,
          `Webhook ${id} was refused: ${outcome.error.message.slice(0, 500)}`,
        );
      }
      // 422, as the IETF Idempotency-Key draft answers a key reused with another payload: the
      // request is well-formed but cannot be processed, and a sender never retries it.
      if (outcome.reason === 'idempotency-conflict') {
        return rejection(
          422,
          WebhookRejection.IdempotencyConflict,
          `Webhook ${id} was refused: this webhook-id was already used for a different body. Use a webhook-id unique per payload.`,
        );
      }
      // Attempts never run out here; should they, the sender decides when to stop.
      return retryLater(
        503,
        WebhookRejection.HandlerFailed,
        `Webhook ${id} could not be handled now; retry later.`,
        retryAfterMs,
      );
  }
}

/** 400 for a body the codec or the schema refused, with the schema's first issues. */
export function invalidBody(id: string, error: Error, contentType: string): WebhookResponse {
  if (error instanceof InvalidMessageError) {
    const issues = error.issues.slice(0, MAX_ISSUES_IN_RESPONSE).map((issue) => ({
      message: issue.message.slice(0, 200),
      ...(issue.path ? { path: issue.path.map(String) } : {}),
    }));
    return rejection(400, WebhookRejection.InvalidBody, error.message, { fields: { issues } });
  }
  const cause =
    error instanceof CodecError && error.cause instanceof Error ? `: ${error.cause.message.slice(0, 200)}` : '';
  return rejection(
    400,
    WebhookRejection.InvalidBody,
    `Body of webhook ${id} could not be decoded as ${contentType}${cause}. Fix the payload; a retry cannot help.`,
  );
}
