import { memoryIdempotencyStore } from 'missive';
import { describeIdempotencyStore } from './suite.ts';

describeIdempotencyStore('memory', {
  create: async ({ clock, ttlMs }) => memoryIdempotencyStore({ clock, ttlMs }),
});
