import { createProducer, createRetryBudget, isMissiveError, type Sender } from 'missive';

export async function main() {
  let calls = 0;
  // A destination that is down: every send fails in a way that might succeed later.
  const billingApi: Sender = {
    destination: 'billing-api',
    features: { fifo: false, delay: false, deadLetter: false, nativeDeadLetter: false, persistence: true },
    async send(envelopes) {
      calls++;
      return envelopes.map(({ id }) => ({ status: 'retryable', id, error: new Error('503 Service Unavailable') }));
    },
  };

  // Room for two retries (10 tokens, 5 per retry). Each success would put back 1 token.
  const retryBudget = createRetryBudget({ capacity: 10, retryCost: 5, successRefill: 1 });
  // Two producers for the same destination share one budget.
  const retry = { maxAttempts: 3, backoff: { initialDelayMs: 1, maxDelayMs: 1 } };
  const invoices = createProducer({ transport: billingApi, retryBudget, retry });
  const receipts = createProducer({ transport: billingApi, retryBudget, retry });

  const errors: string[] = [];
  const record = (error: unknown) => {
    errors.push(isMissiveError(error) ? error.code : String(error));
  };
  // The first send fails three times, using both retries...
  await invoices.send({ invoiceId: 'inv-1' }).catch(record);
  // ...so the second gets no retry: it fails after one attempt.
  await receipts.send({ receiptId: 'rct-1' }).catch(record);
  return { errors, calls, tokensLeft: retryBudget.available };
}
