import { createSecretKey, type KeyObject } from 'node:crypto';
/**
 * Standalone verification of a received webhook, for users who route requests themselves, and
 * the header and secret handling the receiver shares with it.
 *
 * @module
 */
import { ConfigurationError } from '../../errors.ts';
import { integerOption, requiredOption } from '../../options.ts';
import { secretKey, verifySignature } from './signature.ts';

/** A signing secret (`whsec_…`, or any other string used as UTF-8 bytes), or several while one rotates. */
export type WebhookSecret = string | Uint8Array | readonly (string | Uint8Array)[];

/**
 * Request headers in any of the usual shapes: a lookup function, a Fetch `Headers` object, or a
 * plain record such as `node:http`'s `req.headers` (names matched case-insensitively).
 */
export type WebhookHeaders =
  | ((name: string) => string | undefined)
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** The request's headers, in any of the {@link WebhookHeaders} shapes. */
  readonly headers: WebhookHeaders;
  /** The raw body, exactly as received: verify before parsing. */
  readonly body: string | Uint8Array;
  /** The shared secret, or several while one rotates: any of them verifies. */
  readonly secret: WebhookSecret;
  /** Largest distance between `webhook-timestamp` and now, in milliseconds. Default 300 000 (5 min); at least 1 000. */
  readonly toleranceMs?: number;
  /** Now, in milliseconds since the epoch. Default `Date.now()`. */
  readonly now?: number;
}

/** What {@link verifyWebhook} returns for a genuine webhook. */
export interface VerifiedWebhook {
  /** The `webhook-id`: the sender's idempotency key, the same on every retry of one message. */
  readonly id: string;
  /** The signed `webhook-timestamp`, in milliseconds since the epoch. */
  readonly timestamp: number;
}

/** Default timestamp tolerance, in milliseconds: the Standard Webhooks recommendation of 5 minutes. */
export const DEFAULT_TOLERANCE_MS = 300_000;

/**
 * Verifies a received webhook's Standard Webhooks signature, in constant time against every
 * active secret, and its timestamp against the tolerance. Returns its id and timestamp, or throws
 * `WebhookVerificationError` (whose message never contains a secret or a signature).
 *
 * It does not deduplicate: a replay inside the tolerance verifies again. Record `id` in an
 * idempotency store, or use `createWebhookReceiver`, which does.
 *
 * @example
 * ```ts
 * import { verifyWebhook } from 'missive/http';
 *
 * const { id } = verifyWebhook({ headers: request.headers, body: await request.text(), secret: process.env.WEBHOOK_SECRET! });
 * ```
 */
export function verifyWebhook(options: VerifyWebhookOptions): VerifiedWebhook {
  const keys = secretKeys(options.secret);
  const body = requiredOption('body', options.body, 'the raw request body, a string or bytes');
  const toleranceMs = integerOption('toleranceMs', options.toleranceMs, DEFAULT_TOLERANCE_MS, 1_000);
  const header = headerLookup(requiredOption('headers', options.headers, 'the request headers'));
  const verified = verifySignature({ header, body, keys, toleranceMs, nowMs: options.now ?? Date.now() });
  return { id: verified.id, timestamp: verified.timestampSeconds * 1000 };
}

/** The key bytes of every active secret; a bad secret is a {@link ConfigurationError} that never shows it. */
export function secretKeys(secret: WebhookSecret | undefined): KeyObject[] {
  const given = requiredOption('secret', secret, 'a signing secret such as whsec_…, or a list of them');
  const list = typeof given === 'string' || given instanceof Uint8Array ? [given] : [...given];
  if (list.length === 0) throw new ConfigurationError('secret', '[]', 'at least one signing secret');
  return list.map((one, i) => {
    const option = list.length > 1 ? `secret[${i}]` : 'secret';
    if (typeof one !== 'string' && !(one instanceof Uint8Array)) {
      throw new ConfigurationError(option, '(redacted)', 'a string such as whsec_…, or bytes');
    }
    return createSecretKey(secretKey(one, option));
  });
}

/** A case-insensitive lookup over any {@link WebhookHeaders}; repeated headers are joined with `, `. */
export function headerLookup(headers: WebhookHeaders): (name: string) => string | undefined {
  if (typeof headers === 'function') return headers;
  if (typeof headers.get === 'function') {
    const withGet = headers as { get(name: string): string | null };
    return (name) => withGet.get(name) ?? undefined;
  }
  const lower = new Map<string, string>();
  for (const [name, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (value === undefined || value === null) continue;
    const text = typeof value === 'string' ? value : value.join(', ');
    const key = name.toLowerCase();
    const before = lower.get(key);
    lower.set(key, before === undefined ? text : `${before}, ${text}`);
  }
  return (name) => lower.get(name.toLowerCase());
}
