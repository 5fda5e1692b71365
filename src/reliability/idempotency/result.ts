/**
 * What the idempotency step stores with a key: the payload's fingerprint and the handler's
 * result, both as strings, since stores treat them as opaque.
 *
 * @module
 */
import { hash } from 'node:crypto';
import { ResultNotCachedError } from '../../errors.ts';

/** The default payload fingerprint: SHA-256 of the encoded body, base64url (43 characters). */
export function bodyFingerprint(body: string): string {
  // The one-shot hash: a third of createHash's cost on short bodies, which are the common case.
  return hash('sha256', body, 'base64url');
}

/**
 * The handler's result as JSON, or undefined when there is none to store: no result, none JSON
 * can represent, or one over `maxBytes` (reported through `notCached`, as it may be a surprise).
 */
export function encodeResult(
  key: string,
  result: unknown,
  maxBytes: number,
  notCached: (error: Error) => void,
): string | undefined {
  if (result === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch (error) {
    notCached(new ResultNotCachedError(key, maxBytes, undefined, error));
    return undefined;
  }
  // Functions and symbols have no JSON form: treated as no result, like undefined.
  if (text === undefined) return undefined;
  // Most results are short; only count bytes when the characters alone could exceed the limit.
  const sizeBytes = text.length * 3 > maxBytes ? Buffer.byteLength(text, 'utf8') : text.length;
  if (sizeBytes > maxBytes) {
    notCached(new ResultNotCachedError(key, maxBytes, sizeBytes));
    return undefined;
  }
  return text;
}

/** A stored result decoded; undefined, reported, when it is not JSON (written by something else). */
export function decodeResult(key: string, text: string | undefined, report: (error: Error) => void): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    report(new Error(`The result stored with idempotency key ${key} is not JSON; it is ignored.`, { cause: error }));
    return undefined;
  }
}
