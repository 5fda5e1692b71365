import { ConfigurationError, createRetryBudget } from 'missive';
import { describe, expect, it } from 'vitest';

describe('retry budget', () => {
  it('allows capacity / cost retries in a row, then refuses', () => {
    const budget = createRetryBudget({ capacity: 20, retryCost: 5 });
    expect([1, 2, 3, 4, 5].map(() => budget.tryAcquire())).toEqual([true, true, true, true, false]);
    expect(budget.available).toBe(0);
  });

  it('refills on success, never past capacity', () => {
    const budget = createRetryBudget({ capacity: 10, retryCost: 5, successRefill: 2 });
    budget.tryAcquire();
    budget.tryAcquire();
    expect(budget.tryAcquire()).toBe(false);
    budget.recordSuccess();
    budget.recordSuccess();
    expect(budget.available).toBe(4);
    budget.recordSuccess();
    expect(budget.tryAcquire()).toBe(true);
    for (let i = 0; i < 20; i++) budget.recordSuccess();
    expect(budget.available).toBe(10);
  });

  it('rejects a retry cost above its capacity', () => {
    expect(() => createRetryBudget({ capacity: 10, retryCost: 11 })).toThrow(ConfigurationError);
  });
});
