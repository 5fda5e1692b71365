import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^missive$/, replacement: source('./src/index.ts') },
      { find: /^missive\/memory$/, replacement: source('./src/transports/memory/index.ts') },
      { find: /^missive\/sqs$/, replacement: source('./src/transports/sqs/index.ts') },
      { find: /^missive\/http$/, replacement: source('./src/transports/http/index.ts') },
      { find: /^missive\/telemetry$/, replacement: source('./src/telemetry/index.ts') },
      { find: /^missive\/dynamodb$/, replacement: source('./src/reliability/idempotency/dynamodb/index.ts') },
      { find: /^missive\/redis$/, replacement: source('./src/reliability/idempotency/redis/index.ts') },
      { find: /^missive\/lambda$/, replacement: source('./src/lambda/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/fauxqs.ts', 'test/setup/redis.ts', 'test/setup/dynamodb.ts'],
    testTimeout: 30_000,
  },
});
