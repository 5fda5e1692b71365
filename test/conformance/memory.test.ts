import { ManualClock, memoryQueue } from 'missive/memory';
import { describeConformance } from './suite.ts';

const clock = new ManualClock();

describeConformance({
  name: 'memory',
  features: { fifo: true, delay: true, deadLetter: true, nativeDeadLetter: true, persistence: false },
  clock,
  async createQueue({ fifo = false, visibilityTimeoutMs = 30_000, maxReceiveCount } = {}) {
    const deadLetters = memoryQueue({ clock, fifo });
    const redrive = maxReceiveCount === undefined ? {} : { maxReceiveCount };
    const queue = memoryQueue({ clock, fifo, visibilityTimeoutMs, deadLetterQueue: deadLetters, ...redrive });
    return { sender: queue, receiver: queue, deadLetters, visibilityTimeoutMs };
  },
  waitFor: (condition, limitMs = 600_000) => clock.advanceUntil(condition, { stepMs: 50, limitMs }),
  elapse: (ms) => clock.advance(ms),
});
