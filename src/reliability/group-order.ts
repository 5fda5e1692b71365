/**
 * Keeps FIFO order inside a consumer. SQS may hand out several messages of one group in a single
 * receive; running them concurrently would reorder them. The sequencer runs each group's
 * deliveries one after another, and once one of them fails, it releases the group's later
 * deliveries unprocessed, so they come back after the failed one is retried.
 */
export class GroupSequencer {
  readonly #tails = new Map<string, Promise<boolean>>();

  /**
   * Runs `work` after the group's earlier deliveries; if one of them did not succeed, runs
   * `release` instead. Both resolve true when the group may go on.
   */
  run(group: string, work: () => Promise<boolean>, release: () => Promise<boolean>): Promise<boolean> {
    const previous = this.#tails.get(group);
    const next = previous ? previous.then((ok) => (ok ? work() : release())) : work();
    this.#tails.set(group, next);
    const forget = () => {
      if (this.#tails.get(group) === next) this.#tails.delete(group);
    };
    next.then(forget, forget);
    return next;
  }
}
