/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `${id}.${timestamp}.${body}`, sent as `webhook-signature: v1,<base64>`, with secrets written
 * `whsec_<base64 key>`. Several signatures may be sent at once while a secret rotates.
 *
 * @module
 */
import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import { ConfigurationError, WebhookVerificationError } from '../../errors.ts';

/** The header names of the Standard Webhooks spec. */
export const WebhookHeader = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

const SECRET_PREFIX = 'whsec_';

/**
 * The key bytes of a secret: `whsec_` followed by base64 (the Standard Webhooks form), or any
 * other string used as UTF-8 bytes. Throws a `ConfigurationError` (naming `option`, never the
 * secret) for an empty secret, empty bytes, or an empty `whsec_` key: an empty HMAC key lets
 * anyone sign.
 *
 * @example
 * ```ts
 * import { secretKey } from 'missive/http';
 *
 * secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').length; // 24 bytes
 * ```
 */
export function secretKey(secret: string | Uint8Array, option = 'secret'): Buffer {
  if (typeof secret !== 'string') {
    // Bytes decoded from an unset variable (Buffer.from(undefined ?? '', 'base64')) are empty.
    if (secret.byteLength === 0) throw new ConfigurationError(option, '(empty bytes)', 'a key of at least one byte');
    return Buffer.from(secret);
  }
  if (!secret) throw new ConfigurationError(option, secret, 'a non-empty secret, such as whsec_ followed by base64');
  if (!secret.startsWith(SECRET_PREFIX)) return Buffer.from(secret, 'utf8');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length === 0)
    throw new ConfigurationError(option, '(redacted)', 'whsec_ followed by a base64 key of at least one byte');
  return key;
}

/**
 * The `v1,` signature of one message under one key, with `timestampSeconds` in Unix seconds.
 *
 * @example
 * ```ts
 * import { secretKey, sign } from 'missive/http';
 *
 * sign(secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), 'msg_1', 1_700_000_000, '{"a":1}'); // 'v1,…'
 * ```
 */
export function sign(key: Buffer | KeyObject, id: string, timestampSeconds: number, body: string | Uint8Array): string {
  const hmac = createHmac('sha256', key);
  if (typeof body === 'string') hmac.update(`${id}.${timestampSeconds}.${body}`);
  else hmac.update(`${id}.${timestampSeconds}.`).update(body);
  return `v1,${hmac.digest('base64')}`;
}

/** The `webhook-signature` header value: one `v1,` signature per key, space-separated. */
export function signature(
  keys: readonly (Buffer | KeyObject)[],
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  if (keys.length === 1) return sign(keys[0] as Buffer | KeyObject, id, timestampSeconds, body);
  return keys.map((key) => sign(key, id, timestampSeconds, body)).join(' ');
}

/** What {@link verifySignature} checks against. */
export interface VerifyInput {
  /** Header lookup, case-insensitive (lower-case names are asked for). */
  readonly header: (name: string) => string | undefined;
  /** The raw body, exactly as received. */
  readonly body: string | Uint8Array;
  readonly keys: readonly (Buffer | KeyObject)[];
  /** Now, in milliseconds since the epoch. */
  readonly nowMs: number;
  /** Largest distance between the timestamp and now, in milliseconds. */
  readonly toleranceMs: number;
}

/**
 * Checks a received webhook's headers and signature, in constant time against every key.
 * Returns its id and timestamp, or throws {@link WebhookVerificationError}.
 */
export function verifySignature(input: VerifyInput): { id: string; timestampSeconds: number } {
  const id = input.header(WebhookHeader.id);
  const timestamp = input.header(WebhookHeader.timestamp);
  const signatures = input.header(WebhookHeader.signature);
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      'missing-headers',
      'Webhook is missing webhook-id, webhook-timestamp or webhook-signature. Send it with a Standard Webhooks signer.',
    );
  }
  const timestampSeconds = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || !Number.isSafeInteger(timestampSeconds)) {
    throw new WebhookVerificationError(
      'invalid-timestamp',
      `Webhook ${id} has a malformed webhook-timestamp; expected Unix seconds.`,
    );
  }
  if (Math.abs(input.nowMs - timestampSeconds * 1000) > input.toleranceMs) {
    throw new WebhookVerificationError(
      'timestamp-out-of-tolerance',
      `Webhook ${id} has a timestamp ${Math.round((input.nowMs - timestampSeconds * 1000) / 1000)} s away from now, beyond the ${input.toleranceMs / 1000} s tolerance. Check the sender's clock, or it is a replay.`,
    );
  }
  const offered = signatures
    .split(' ')
    .filter((part) => part.startsWith('v1,'))
    .map((part) => Buffer.from(part.slice(3), 'base64'));
  for (const key of input.keys) {
    const expected = Buffer.from(sign(key, id, timestampSeconds, input.body).slice(3), 'base64');
    // Compare against every offered signature, without stopping early, in constant time per pair.
    let match = false;
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) match = true;
    }
    if (match) return { id, timestampSeconds };
  }
  throw new WebhookVerificationError(
    'invalid-signature',
    `Webhook ${id} has no signature that matches an active secret. Check that sender and receiver share the secret.`,
  );
}
