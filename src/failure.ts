/**
 * Failure metadata: why a message was dead-lettered, written into its headers so whoever
 * inspects or redrives the dead-letter queue sees what happened without searching logs.
 *
 * @module
 */
import type { ValidationIssue } from './errors.ts';
import type { Headers } from './message.ts';

/** Why a message left the normal flow. */
export const FailureReason = {
  /** The handler failed on every one of `retry.maxAttempts` attempts. */
  AttemptsExhausted: 'attempts-exhausted',
  /** The handler threw an `UnrecoverableError`. */
  Unrecoverable: 'unrecoverable',
  /** The body could not be decoded, or failed its schema. */
  InvalidBody: 'invalid-body',
  /** The idempotency key was already used for a different payload (`IdempotencyConflictError`). */
  IdempotencyConflict: 'idempotency-conflict',
} as const;

/** One of {@link FailureReason}'s values. */
export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/** The header names failure metadata is written under (SQS message attributes on SQS). */
export const FailureHeader = {
  reason: 'missive-failure-reason',
  errorName: 'missive-failure-error-name',
  errorMessage: 'missive-failure-error-message',
  attempts: 'missive-failure-attempts',
  firstAttemptAt: 'missive-failure-first-attempt-at',
  failedAt: 'missive-failure-failed-at',
  source: 'missive-failure-source',
  issues: 'missive-failure-issues',
} as const;

type FailureHeaderName = (typeof FailureHeader)[keyof typeof FailureHeader];

/** Longest error message kept in metadata, in characters; SQS attributes and HTTP headers are small. */
const MAX_MESSAGE_CHARS = 1024;

/** What went wrong with a message, as recorded when it is dead-lettered. */
export interface FailureMetadata {
  readonly reason: FailureReason;
  /** The last error's `name`, such as `UnrecoverableError`. */
  readonly errorName: string;
  /** The last error's message, cut to 1 024 characters when written to headers. */
  readonly errorMessage: string;
  /** Attempts made, the failing one included. */
  readonly attempts: number;
  /** When the first attempt started (the first receive), in milliseconds since the epoch. */
  readonly firstAttemptAt: number;
  /** When the last attempt failed, in milliseconds since the epoch. */
  readonly failedAt: number;
  /** The queue or endpoint the message was consumed from. */
  readonly source: string;
  /** Schema issues, for {@link FailureReason.InvalidBody}. */
  readonly issues?: readonly ValidationIssue[] | undefined;
}

/**
 * The metadata of a delivery that failed for `reason` with `error` on its `attempt`, consumed
 * from `source`. Schema issues travel along when `error` carries them.
 *
 * @internal
 */
export function failureOf(
  failed: { readonly reason: FailureReason; readonly error: Error },
  delivery: { readonly attempt: number; readonly firstReceivedAt: number },
  source: string,
  failedAt: number,
): FailureMetadata {
  return {
    reason: failed.reason,
    errorName: failed.error.name,
    errorMessage: failed.error.message,
    attempts: delivery.attempt,
    firstAttemptAt: delivery.firstReceivedAt,
    failedAt,
    source,
    ...('issues' in failed.error ? { issues: failed.error.issues as FailureMetadata['issues'] } : {}),
  };
}

/**
 * Writes `failure` into a copy of `headers`. Times are ISO 8601 strings; long texts are bounded.
 *
 * @example
 * ```ts
 * const headers = withFailureHeaders(envelope.headers, { reason: 'unrecoverable', errorName: 'Error', errorMessage: 'no stock',
 *   attempts: 1, firstAttemptAt: Date.now(), failedAt: Date.now(), source: 'orders' });
 * ```
 */
export function withFailureHeaders(headers: Headers, failure: FailureMetadata): Headers {
  // The names written out rather than read from FailureHeader, which would keep that whole table
  // in every bundle; typed by it, so a name misspelt or left out fails the type check.
  const written: Record<Exclude<FailureHeaderName, 'missive-failure-issues'>, string> = {
    'missive-failure-reason': failure.reason,
    'missive-failure-error-name': failure.errorName,
    'missive-failure-error-message': truncate(failure.errorMessage),
    'missive-failure-attempts': String(failure.attempts),
    'missive-failure-first-attempt-at': new Date(failure.firstAttemptAt).toISOString(),
    'missive-failure-failed-at': new Date(failure.failedAt).toISOString(),
    'missive-failure-source': failure.source,
  };
  const out: Record<string, string> = { ...headers, ...written };
  // A message dead-lettered twice must not keep the issues of its first failure.
  delete out['missive-failure-issues'];
  if (failure.issues?.length) out['missive-failure-issues'] = issuesJson(failure.issues);
  return out;
}

/**
 * Reads failure metadata back from a dead-lettered message's headers, if it has any.
 *
 * @example
 * ```ts
 * for (const letter of await deadLetters.receive({ maxMessages: 10, waitTimeMs: 0 })) {
 *   const failure = readFailureHeaders(letter.envelope.headers);
 *   console.log(letter.envelope.id, failure?.reason, failure?.errorMessage, failure?.attempts);
 * }
 * ```
 */
export function readFailureHeaders(headers: Headers): FailureMetadata | undefined {
  const reason = headers[FailureHeader.reason] as FailureReason | undefined;
  if (!reason) return undefined;
  const issues = headers[FailureHeader.issues];
  return {
    reason,
    errorName: headers[FailureHeader.errorName] ?? '',
    errorMessage: headers[FailureHeader.errorMessage] ?? '',
    attempts: Number(headers[FailureHeader.attempts]),
    firstAttemptAt: Date.parse(headers[FailureHeader.firstAttemptAt] ?? ''),
    failedAt: Date.parse(headers[FailureHeader.failedAt] ?? ''),
    source: headers[FailureHeader.source] ?? '',
    ...(issues ? { issues: parseIssues(issues) } : {}),
  };
}

/** The issues as JSON within the metadata size limit: whole issues are dropped from the end, never cut. */
function issuesJson(all: readonly ValidationIssue[]): string {
  const issues = all.map((issue) => ({
    message: truncate(issue.message, 200),
    ...(issue.path ? { path: issue.path.map(String) } : {}),
  }));
  let json = JSON.stringify(issues);
  while (json.length > MAX_MESSAGE_CHARS && issues.length > 1) {
    issues.pop();
    json = JSON.stringify(issues);
  }
  return json.length > MAX_MESSAGE_CHARS ? '[]' : json;
}

function parseIssues(json: string): ValidationIssue[] {
  try {
    const parsed: unknown = JSON.parse(json);
    return Array.isArray(parsed) ? (parsed as ValidationIssue[]) : [];
  } catch {
    return [];
  }
}

function truncate(text: string, limit = MAX_MESSAGE_CHARS): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}
