/** Catches what a test would otherwise leave unhandled, which ends a Node process by default. */

/** Runs `work`, and returns the unhandled rejections raised meanwhile and in the turn after it. */
export async function unhandledRejectionsDuring(work: () => Promise<unknown>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => void unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await work();
    // Node reports a rejection as unhandled only after the microtasks of its turn have run.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}
