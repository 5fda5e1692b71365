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
  // Written as character codes into one buffer and decoded once: a flat 36-byte string, where
  // concatenation would leave a rope of ~15 cons-strings (~490 bytes) behind every id.
  hex(0, (high >>> 16) & 0xff);
  hex(2, (high >>> 8) & 0xff);
  hex(4, high & 0xff);
  hex(6, (low >>> 16) & 0xff);
  hex(9, (low >>> 8) & 0xff);
  hex(11, low & 0xff);
  hex(14, 0x70 | (sequence >>> 8));
  hex(16, sequence & 0xff);
  hex(19, 0x80 | ((pool[r] as number) & 0x3f));
  hex(21, pool[r + 1] as number);
  hex(24, pool[r + 2] as number);
  hex(26, pool[r + 3] as number);
  hex(28, pool[r + 4] as number);
  hex(30, pool[r + 5] as number);
  hex(32, pool[r + 6] as number);
  hex(34, pool[r + 7] as number);
  return text.toString('latin1', 0, 36);
}

const HEX_CODES = new Uint8Array(512);
for (let byte = 0; byte < 256; byte++) {
  HEX_CODES[2 * byte] = (HEX[byte] as string).charCodeAt(0);
  HEX_CODES[2 * byte + 1] = (HEX[byte] as string).charCodeAt(1);
}
const text = Buffer.alloc(36, 0x2d); // '-' at 8, 13, 18 and 23 stays; the rest is overwritten.

function hex(at: number, byte: number): void {
  text[at] = HEX_CODES[2 * byte] as number;
  text[at + 1] = HEX_CODES[2 * byte + 1] as number;
}
