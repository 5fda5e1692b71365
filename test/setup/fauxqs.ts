/**
 * Vitest global setup: starts the fauxqs SQS emulator in this process, bound to 127.0.0.1 on a
 * random port, and hands its endpoint to the tests (`inject('sqsEndpoint')`).
 */
import { buildApp } from 'fauxqs';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    sqsEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  project.provide('sqsEndpoint', endpoint);
  return async () => {
    await app.close();
  };
}
