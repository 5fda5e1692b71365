import { uuidv7 } from 'missive';
import { describe, expect, it } from 'vitest';

describe('uuidv7', () => {
  it('is a version 7, variant 10 UUID embedding the time', () => {
    const now = Date.UTC(2026, 10, 24, 8, 30);
    const id = uuidv7(now);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(now);
  });

  it('sorts in creation order, within one millisecond too', () => {
    const now = Date.UTC(2030, 0, 1);
    const ids = Array.from({ length: 10_000 }, (_, i) => uuidv7(now + Math.floor(i / 5_000)));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('stays ordered if the clock steps back', () => {
    const first = uuidv7(Date.UTC(2031, 0, 1, 0, 0, 1));
    const second = uuidv7(Date.UTC(2031, 0, 1, 0, 0, 0));
    expect(second > first).toBe(true);
  });
});
