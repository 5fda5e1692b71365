/** An entry of a {@link DeadlineHeap}: the heap keeps `heapIndex` current so it can remove in O(log n). */
export interface Deadlined {
  /** When the entry falls due, in milliseconds since the epoch. */
  deadline: number;
  /** Breaks ties between equal deadlines, so entries due together come out in the order they went in. */
  readonly sequence: number;
  /** Position in the heap, or -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

/**
 * A binary min-heap on (deadline, sequence) that supports removal and re-keying of any entry.
 * The in-memory queue keeps every visibility and delay deadline in one of these, behind one
 * timer, instead of a timer per message.
 */
export class DeadlineHeap<T extends Deadlined> {
  readonly #items: T[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Adds `item`, or moves it if it is already in the heap, to its current `deadline`. */
  upsert(item: T): void {
    if (item.heapIndex >= 0) {
      this.#siftUp(item.heapIndex);
      this.#siftDown(item.heapIndex);
      return;
    }
    item.heapIndex = this.#items.length;
    this.#items.push(item);
    this.#siftUp(item.heapIndex);
  }

  /** Removes `item` if it is in the heap. */
  remove(item: T): void {
    const index = item.heapIndex;
    if (index < 0) return;
    const last = this.#items.pop() as T;
    item.heapIndex = -1;
    if (index === this.#items.length) return;
    this.#items[index] = last;
    last.heapIndex = index;
    this.#siftUp(index);
    this.#siftDown(last.heapIndex);
  }

  /** Removes and returns the earliest entry if it is due at `now`. */
  popDue(now: number): T | undefined {
    const first = this.#items[0];
    if (!first || first.deadline > now) return undefined;
    this.remove(first);
    return first;
  }

  /** Empties the heap, returning what it held. */
  drain(): T[] {
    const items = this.#items.splice(0);
    for (const item of items) item.heapIndex = -1;
    return items;
  }

  #less(a: T, b: T): boolean {
    return a.deadline < b.deadline || (a.deadline === b.deadline && a.sequence < b.sequence);
  }

  #siftUp(start: number): void {
    const items = this.#items;
    const item = items[start] as T;
    let index = start;
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (!this.#less(item, parent)) break;
      items[index] = parent;
      parent.heapIndex = index;
      index = parentIndex;
    }
    items[index] = item;
    item.heapIndex = index;
  }

  #siftDown(start: number): void {
    const items = this.#items;
    const length = items.length;
    const item = items[start] as T;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= length) break;
      const right = left + 1;
      let child = left;
      if (right < length && this.#less(items[right] as T, items[left] as T)) child = right;
      const smaller = items[child] as T;
      if (!this.#less(smaller, item)) break;
      items[index] = smaller;
      smaller.heapIndex = index;
      index = child;
    }
    items[index] = item;
    item.heapIndex = index;
  }
}
