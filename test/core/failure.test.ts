import { FailureHeader, type FailureMetadata, FailureReason, readFailureHeaders, withFailureHeaders } from 'missive';
import { describe, expect, it } from 'vitest';

const failure: FailureMetadata = {
  reason: FailureReason.InvalidBody,
  errorName: 'InvalidMessageError',
  errorMessage: 'x'.repeat(5_000),
  attempts: 1,
  firstAttemptAt: Date.UTC(2026, 0, 1),
  failedAt: Date.UTC(2026, 0, 1, 0, 0, 5),
  source: 'orders',
  issues: Array.from({ length: 40 }, (_, i) => ({ message: `field ${i} is required`, path: ['items', i, 'sku'] })),
};

describe('failure metadata', () => {
  it('round-trips through headers, keeping the user headers', () => {
    const headers = withFailureHeaders({ 'x-tenant': 'acme' }, { ...failure, issues: failure.issues?.slice(0, 2) });
    expect(headers['x-tenant']).toBe('acme');
    expect(headers[FailureHeader.failedAt]).toBe('2026-01-01T00:00:05.000Z');
    expect(readFailureHeaders(headers)).toMatchObject({
      reason: 'invalid-body',
      attempts: 1,
      firstAttemptAt: failure.firstAttemptAt,
      failedAt: failure.failedAt,
      issues: [
        { message: 'field 0 is required', path: ['items', '0', 'sku'] },
        { message: 'field 1 is required', path: ['items', '1', 'sku'] },
      ],
    });
  });

  it('bounds long messages and issue lists, dropping whole issues so the JSON still parses', () => {
    const headers = withFailureHeaders({}, failure);
    expect(headers[FailureHeader.errorMessage]?.length).toBe(1_024);
    expect(headers[FailureHeader.issues]?.length).toBeLessThanOrEqual(1_024);
    const read = readFailureHeaders(headers);
    expect(read?.issues?.length).toBeGreaterThan(5);
    expect(read?.issues?.length).toBeLessThan(40);
    expect(read?.issues?.[0]).toEqual({ message: 'field 0 is required', path: ['items', '0', 'sku'] });
  });

  it('drops the issues of an earlier failure when dead-lettered again without issues', () => {
    const first = withFailureHeaders({}, failure);
    const second = withFailureHeaders(first, {
      ...failure,
      reason: FailureReason.AttemptsExhausted,
      issues: undefined,
    });
    expect(second[FailureHeader.issues]).toBeUndefined();
    expect(readFailureHeaders(second)?.reason).toBe('attempts-exhausted');
  });

  it('reads headers without failure metadata as none, and corrupt issues as empty', () => {
    expect(readFailureHeaders({ 'x-a': 'b' })).toBeUndefined();
    const corrupt = { ...withFailureHeaders({}, failure), [FailureHeader.issues]: '[{"message":' };
    expect(readFailureHeaders(corrupt)?.issues).toEqual([]);
  });
});
