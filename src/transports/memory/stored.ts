/** A message as the in-memory queue keeps it, the states it moves through, and the FIFO group it belongs to. */
import type { Envelope } from '../../message.ts';
import type { Deadlined } from './deadline-heap.ts';
import type { Deque } from './deque.ts';

export const State = { Visible: 0, Delayed: 1, InFlight: 2, Gone: 3 } as const;
export type State = (typeof State)[keyof typeof State];

/** @internal A message as the queue keeps it. */
export class Stored implements Deadlined {
  deadline = 0;
  heapIndex = -1;
  state: State = State.Visible;
  receiveCount = 0;
  firstReceivedAt = 0;
  /** Bumped on every receive, so settlement through an older delivery is ignored. */
  receipt = 0;
  readonly envelope: Envelope;
  readonly sequence: number;
  readonly group: Group | undefined;

  constructor(envelope: Envelope, sequence: number, group: Group | undefined) {
    this.envelope = envelope;
    this.sequence = sequence;
    this.group = group;
  }
}

/** A FIFO message group: its messages in order; the head may be in flight. */
export interface Group {
  readonly id: string;
  readonly messages: Deque<Stored>;
  /** Whether the group sits in the ready list. */
  listed: boolean;
}
