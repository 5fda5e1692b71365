/** The work both benchmark handlers do per record, so their only difference is the library around it. */

/** The body every benchmark record carries. */
export interface Order {
  readonly orderId: string;
  readonly amount: number;
}

/** Stands in for a real side effect: rejects a malformed order, otherwise returns a receipt. */
export function fulfil(order: Order): { readonly orderId: string; readonly charged: number } {
  if (typeof order.orderId !== 'string' || typeof order.amount !== 'number') {
    throw new Error(`Order ${JSON.stringify(order)} is malformed: expected { orderId: string, amount: number }.`);
  }
  return { orderId: order.orderId, charged: order.amount };
}
