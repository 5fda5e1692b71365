/**
 * The events bench/http.ts posts: the same ~300-byte JSON objects (an order.paid event) in every
 * mode, built before the clock starts, with the body bytes the server should count.
 */
import { REQUESTS, WARMUP_REQUESTS } from './config.ts';

export interface OrderPaid {
  readonly type: 'order.paid';
  readonly n: number;
  readonly orderId: string;
  readonly customer: { readonly id: string; readonly email: string; readonly name: string };
  readonly amount: { readonly currency: string; readonly value: number };
  readonly items: readonly { readonly sku: string; readonly quantity: number; readonly unitPrice: number }[];
  readonly paidAt: string;
}

/** A realistic event of about 300 bytes of JSON; `n` makes every one different. */
function event(n: number): OrderPaid {
  const a = 1_000 + (n % 9_000);
  const b = 500 + ((n * 7) % 4_000);
  return {
    type: 'order.paid',
    n,
    orderId: `ord_${String(n).padStart(10, '0')}`,
    customer: {
      id: `cus_${(n * 7_919).toString(36).padStart(8, '0')}`,
      email: `buyer${n}@example.com`,
      name: 'Ada Lovelace',
    },
    amount: { currency: 'EUR', value: 2 * a + b },
    items: [
      { sku: `SKU-${n % 997}`, quantity: 2, unitPrice: a },
      { sku: `SKU-${(n * 31) % 997}`, quantity: 1, unitPrice: b },
    ],
    paidAt: new Date(Date.UTC(2026, 10, 24, 12) + n * 1_000).toISOString(),
  };
}

const EVENT_COUNT = Math.max(REQUESTS, WARMUP_REQUESTS);
/** Every event a run may post, by index. */
export const events: OrderPaid[] = Array.from({ length: EVENT_COUNT }, (_, n) => event(n));
/** Body bytes of the first `count` events, for the server's byte count. */
export const bytesOfFirst: number[] = [0];
for (const item of events) bytesOfFirst.push((bytesOfFirst.at(-1) as number) + Buffer.byteLength(JSON.stringify(item)));
/** The mean body size, in bytes. */
export const meanBodyBytes = Math.round((bytesOfFirst[EVENT_COUNT] as number) / EVENT_COUNT);
