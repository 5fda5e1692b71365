/**
 * Vitest global setup: starts one DynamoDB Local (in memory, 127.0.0.1, a free port) and hands
 * its endpoint to the tests (`inject('dynamoDbEndpoint')`); stops it after the run.
 */
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../helpers/dynamodb.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const dynamoDb = await startDynamoDbLocal();
  project.provide('dynamoDbEndpoint', dynamoDb.endpoint);
  return () => dynamoDb.stop();
}
