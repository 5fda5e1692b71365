/**
 * The order in which visible messages are received: arrival order on a standard queue; on a FIFO
 * queue, group by group, each group's head only, and no group with a message in flight.
 */
import { Deque } from './deque.ts';
import { type Group, State, type Stored } from './stored.ts';

export class ReceiveOrder {
  readonly #fifo: boolean;
  readonly #visible = new Deque<Stored>();
  readonly #groups = new Map<string, Group>();
  readonly #readyGroups = new Deque<Group>();

  constructor(fifo: boolean) {
    this.#fifo = fifo;
  }

  /** The FIFO group `id`, created on its first message. */
  group(id: string): Group {
    let group = this.#groups.get(id);
    if (!group) {
      group = { id, messages: new Deque(), listed: false };
      this.#groups.set(id, group);
    }
    return group;
  }

  /** Queues a FIFO message behind its group's earlier ones, whatever its state; it leaves on {@link leave}. */
  join(stored: Stored): void {
    (stored.group as Group).messages.push(stored);
  }

  /** Offers a message that became visible: FIFO messages become receivable when they head their group. */
  offer(stored: Stored): void {
    const group = stored.group;
    if (!group) {
      this.#visible.push(stored);
    } else if (group.messages.peek() === stored && !group.listed) {
      group.listed = true;
      this.#readyGroups.push(group);
    }
  }

  /** Takes the next receivable message. A FIFO message stays at its group's head until it {@link leave}s. */
  next(): Stored | undefined {
    if (!this.#fifo) return this.#visible.shift();
    const group = this.#readyGroups.shift();
    if (!group) return undefined;
    group.listed = false;
    return group.messages.peek();
  }

  /**
   * Takes a deleted FIFO message, its group's head, off its group. Returns true when that made the
   * group's next message receivable.
   */
  leave(stored: Stored): boolean {
    const group = stored.group as Group;
    group.messages.shift();
    const next = group.messages.peek();
    if (!next) {
      this.#groups.delete(group.id);
      return false;
    }
    if (next.state !== State.Visible || group.listed) return false;
    group.listed = true;
    this.#readyGroups.push(group);
    return true;
  }

  /** Empties the order, returning every message it held. */
  drain(): Stored[] {
    const held = [...this.#visible];
    for (const group of this.#groups.values()) for (const stored of group.messages) held.push(stored);
    this.#visible.clear();
    this.#groups.clear();
    this.#readyGroups.clear();
    return held;
  }
}
