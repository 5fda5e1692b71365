import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;
const HEX: string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

let lastMs = -1;
let sequence = 0;

function randomBytes(count: number): number {
  if (poolOffset + count > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const start = poolOffset;
  poolOffset += count;
  return start;
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix time in milliseconds, then a 12-bit sequence that keeps
 * ids made in the same millisecond in order, then 62 random bits. Ids sort by creation time as
 * strings, which keeps logs, stores and dead-letter queues readable.
 *
 * @param nowMs - the time to embed, in milliseconds since the epoch; default `Date.now()`.
 * @example
 * ```ts
 * uuidv7(); // '019ab3c4-5d6e-7f01-8a2b-3c4d5e6f7a8b'
 * ```
 */
export function uuidv7(nowMs: number = Date.now()): string {
  let ms = nowMs;
  if (ms > lastMs) {
    lastMs = ms;
    // Start each millisecond at a random point of the lower half, leaving room to count up.
    sequence = (pool[randomBytes(1)] as number) << 3;
  } else {
    ms = lastMs;
    sequence++;
    if (sequence > 0xfff) {
      // 4,096 ids in one millisecond: borrow the next millisecond rather than lose the order.
      lastMs = ++ms;
      sequence = 0;
    }
  }
  const r = randomBytes(8);
  const high = Math.floor(ms / 0x1000000);
  const low = ms % 0x1000000;
  return (
    high.toString(16).padStart(6, '0') +
    HEX[(low >>> 16) & 0xff] +
    '-' +
    HEX[(low >>> 8) & 0xff] +
    HEX[low & 0xff] +
    '-' +
    HEX[0x70 | (sequence >>> 8)] +
    HEX[sequence & 0xff] +
    '-' +
    HEX[0x80 | ((pool[r] as number) & 0x3f)] +
    HEX[pool[r + 1] as number] +
    '-' +
    HEX[pool[r + 2] as number] +
    HEX[pool[r + 3] as number] +
    HEX[pool[r + 4] as number] +
    HEX[pool[r + 5] as number] +
    HEX[pool[r + 6] as number] +
    HEX[pool[r + 7] as number]
  );
}
