/**
 * Vitest global setup: starts one `redis-server` on 127.0.0.1 and a free port, persistence off,
 * and hands its URL to the tests (`inject('redisUrl')`); stops it after the run.
 */
import type { TestProject } from 'vitest/node';
import { startRedis } from '../helpers/redis.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const redis = await startRedis();
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
