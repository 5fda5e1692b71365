/**
 * The value stored under each idempotency key: compact JSON with a version, so the layout can
 * change without old and new workers misreading each other. Written by the store (`begin`) and
 * by its Lua scripts (`complete`, `renew`), read by both.
 *
 * ```json
 * {"v":1,"s":"p","t":"<lease token>","e":1767225660000,"f":"<fingerprint>"}
 * {"v":1,"s":"c","e":1767229200000,"f":"<fingerprint>","r":"<result>"}
 * ```
 *
 * `e` is when the lease lapses (`p`) or the completed record is forgotten (`c`), in milliseconds
 * since the epoch on the store's clock; `f` and `r` are left out when there are none.
 *
 * @module
 */

/** The layout version this code writes and reads. */
export const RECORD_VERSION = 1;

/** A record's state: held under a lease, or completed. */
export const RecordState = { InProgress: 'p', Completed: 'c' } as const;

/** One of {@link RecordState}'s values. */
export type RecordState = (typeof RecordState)[keyof typeof RecordState];

/** An idempotency record as stored. */
export interface StoredRecord {
  readonly v: typeof RECORD_VERSION;
  readonly s: RecordState;
  /** Expiry, in milliseconds since the epoch. */
  readonly e: number;
  /** Lease token, while in progress. */
  readonly t?: string;
  readonly f?: string;
  readonly r?: string;
}

/** The value of a fresh lease. */
export function leaseRecord(token: string, expiresAt: number, fingerprint: string | undefined): string {
  const record: StoredRecord = { v: RECORD_VERSION, s: RecordState.InProgress, t: token, e: expiresAt };
  return JSON.stringify(fingerprint === undefined ? record : { ...record, f: fingerprint });
}

/** Reads the value found under `key`; throws when it is not a record this code understands. */
export function parseRecord(key: string, raw: unknown): StoredRecord {
  let record: Partial<StoredRecord> | undefined;
  try {
    record = typeof raw === 'string' ? JSON.parse(raw) : undefined;
  } catch {
    record = undefined;
  }
  if (record?.v !== RECORD_VERSION || typeof record.e !== 'number') {
    throw new Error(
      `Redis key ${key} does not hold a version-${RECORD_VERSION} idempotency record: ${String(raw).slice(0, 120)}. ` +
        'Give the store a keyPrefix no other data uses, and run one Missive version per prefix.',
    );
  }
  return record as StoredRecord;
}
