import {
  ConfigurationError,
  ErrorCode,
  isMissiveError,
  isMissiveErrorCode,
  MessageTooLargeError,
  MissiveError,
  RetryLaterError,
  SendFailedError,
} from 'missive';
import { describe, expect, expectTypeOf, it } from 'vitest';

describe('errors', () => {
  it('carry a stable code, a name, and the cause', () => {
    const cause = new Error('socket hang up');
    const error = new SendFailedError('orders', 3, true, cause);
    expect(error.code).toBe(ErrorCode.SendFailed);
    expect(error.name).toBe('SendFailedError');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe('Sending to orders failed after 3 attempt(s): socket hang up');
    expect(error).toMatchObject({ destination: 'orders', attempts: 3, retryable: true });
  });

  it('are recognised by brand, even from another copy of the library', () => {
    const foreign = Object.assign(new Error('x'), {
      code: ErrorCode.Configuration,
      [Symbol.for('missive.error')]: true,
    });
    expect(isMissiveError(foreign)).toBe(true);
    expect(isMissiveErrorCode(foreign, ErrorCode.Configuration)).toBe(true);
    expect(isMissiveError(new Error('plain'))).toBe(false);
    expect(isMissiveError('string')).toBe(false);
    expect(isMissiveErrorCode(new RetryLaterError('later', { delayMs: 5 }), ErrorCode.Unrecoverable)).toBe(false);
  });

  it('narrow by code to the class, so its fields read without a cast', () => {
    const error: unknown = new SendFailedError('orders', 3, false, new Error('410 Gone'));
    if (!isMissiveErrorCode(error, ErrorCode.SendFailed)) throw new Error('expected a SendFailedError');
    expectTypeOf(error).toEqualTypeOf<SendFailedError>();
    expect([error.destination, error.attempts, error.retryable]).toEqual(['orders', 3, false]);
  });

  it('name the thing and the fix', () => {
    expect(new MessageTooLargeError('orders', 2_000_000, 1_048_576).message).toMatch(
      /2000000 bytes exceeds the 1048576-byte limit of orders\. Store the payload elsewhere/,
    );
    expect(new ConfigurationError('concurrency', 0, 'an integer from 1 to 10,000').message).toBe(
      'Invalid option concurrency: 0. Expected an integer from 1 to 10,000.',
    );
    expect(new ConfigurationError('x', 0, '')).toBeInstanceOf(MissiveError);
  });
});
