import { systemClock } from 'missive';
import { sqsQueue } from 'missive/sqs';
import { createSqsQueue, pause, sqsClient, waitUntil } from '../helpers/sqs.ts';
import { describeConformance } from './suite.ts';

const client = sqsClient();

describeConformance({
  name: 'sqs (fauxqs)',
  features: { fifo: true, delay: true, deadLetter: true, nativeDeadLetter: true, persistence: true },
  clock: systemClock,
  async createQueue({ fifo = false, visibilityTimeoutMs = 1_000, maxReceiveCount = 10 } = {}) {
    const seconds = Math.ceil(visibilityTimeoutMs / 1000);
    const { queueUrl, deadLetterQueueUrl } = await createSqsQueue(client, {
      fifo,
      visibilityTimeoutSeconds: seconds,
      maxReceiveCount,
    });
    const queue = sqsQueue({ client, queueUrl });
    const deadLetters = sqsQueue({ client, queueUrl: deadLetterQueueUrl as string });
    return { sender: queue, receiver: queue, deadLetters, visibilityTimeoutMs: seconds * 1000 };
  },
  waitFor: (condition, limitMs = 30_000) => waitUntil(condition, limitMs),
  elapse: (ms) => pause(ms),
});
