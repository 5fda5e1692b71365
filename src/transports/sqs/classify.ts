import { TransportError } from '../../errors.ts';

/** What the AWS SDK attaches to its errors, as far as classification needs it. */
interface SdkError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly $fault?: 'client' | 'server';
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: { readonly throttling?: boolean };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'KmsThrottled',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
]);
const ACCESS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidSecurity',
  'KmsAccessDenied',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
]);
const NETWORK = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** The SQS error code, without the `AWS.SimpleQueueService.` prefix query-compatible errors carry. */
export function errorCode(error: unknown): string {
  const name = (error as SdkError | undefined)?.name ?? 'Error';
  return name.replace(/^AWS\.SimpleQueueService\./, '');
}

/** Whether an SQS failure may succeed if tried again: throttling, 5xx, and network errors. */
export function isRetryable(error: unknown): boolean {
  const e = (error ?? {}) as SdkError;
  const code = errorCode(error);
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING.has(code) || e.$retryable?.throttling || status === 429) return true;
  if (e.$fault === 'server' || (status !== undefined && status >= 500)) return true;
  if (code === 'TimeoutError' || (e.code !== undefined && NETWORK.has(e.code))) return true;
  // No HTTP status at all: the request never got an answer (a socket error of another name).
  return status === undefined && !ACCESS.has(code) && code !== 'QueueDoesNotExist' && code !== 'NonExistentQueue';
}

/**
 * Wraps an AWS SDK error in a {@link TransportError} whose message names the queue, the SQS
 * error code, and what to do about it.
 */
export function toTransportError(error: unknown, queueUrl: string, operation: string): TransportError {
  const code = errorCode(error);
  const detail = (error as SdkError | undefined)?.message ?? String(error);
  const retryable = isRetryable(error);
  let advice: string;
  if (code === 'QueueDoesNotExist' || code === 'NonExistentQueue') {
    advice = `Queue ${queueUrl} does not exist (SQS ${code}). Create it, or check the queue URL and the client's region.`;
  } else if (ACCESS.has(code)) {
    advice = `Access to queue ${queueUrl} was denied for ${operation} (SQS ${code}). Grant the caller's role sqs:${operation.replace(/Batch$/, '')} on the queue (and kms:Decrypt / kms:GenerateDataKey for an encrypted queue), or check its credentials.`;
  } else if (retryable) {
    advice = `${operation} on ${queueUrl} failed transiently (SQS ${code}: ${detail}); it is retried with backoff.`;
  } else {
    advice = `${operation} on ${queueUrl} was rejected (SQS ${code}: ${detail}). Fix the request; retrying cannot help.`;
  }
  return new TransportError(queueUrl, advice, retryable, error);
}
