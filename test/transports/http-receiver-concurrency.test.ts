/**
 * The webhook receiver while a handler runs: concurrent duplicates, idempotency lease renewal, and
 * a sender that hangs up.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from 'missive/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { gate } from '../helpers/gate.ts';
import { closeServers, post, recordingReceiver, serveNode, signed } from '../helpers/webhooks.ts';

afterEach(closeServers);

describe('webhook receiver over node:http', () => {
  it('handles concurrent duplicates once: the others get 503 in-progress, and 200 duplicate once it is done', async () => {
    const release = gate();
    const { receiver, messages } = recordingReceiver(() => release.promise);
    const url = await serveNode(receiver);
    const body = '{}';
    const headers = signed(body, { id: 'evt_concurrent' });
    const first = post(url, body, headers);
    while (messages.length === 0) await sleep(1);
    const duplicates = await Promise.all(Array.from({ length: 5 }, () => post(url, body, headers)));
    for (const duplicate of duplicates) {
      expect(duplicate).toMatchObject({ status: 503, json: { error: 'in-progress' } });
      expect(Number(duplicate.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    release.open();
    expect((await first).status).toBe(200);
    const retry = await post(url, body, headers);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('missive-duplicate')).toBe('true');
    expect(messages).toHaveLength(1);
  });

  it('renews the idempotency lease while a slow handler runs, so a duplicate never runs it twice', async () => {
    const clock = new ManualClock(Date.now());
    const started = gate();
    const finish = gate();
    const { receiver, messages, errors } = recordingReceiver(
      () => {
        started.open();
        return finish.promise;
      },
      { clock, idempotency: { leaseMs: 60 } },
    );
    const url = await serveNode(receiver);
    const headers = signed('{}', { id: 'evt_slow' });
    const first = post(url, '{}', headers);
    await started.promise;
    // Five lease periods pass while the handler runs; only renewals keep the key held.
    for (let i = 0; i < 30; i++) await clock.advance(10);
    const duplicate = await post(url, '{}', headers);
    expect(duplicate.status).toBe(503);
    finish.open();
    expect((await first).status).toBe(200);
    expect(messages).toHaveLength(1);
    expect(errors).toEqual([]);
  });

  it('aborts the handler signal when the sender hangs up', async () => {
    let aborted: unknown;
    const started = gate();
    const { receiver } = recordingReceiver(async (_message, { signal }) => {
      started.open();
      await once(signal, 'abort');
      aborted = signal.reason;
      throw signal.reason;
    });
    const url = await serveNode(receiver);
    const controller = new AbortController();
    const request = fetch(url, { method: 'POST', body: '{}', headers: signed('{}'), signal: controller.signal });
    await started.promise;
    controller.abort();
    await expect(request).rejects.toThrow();
    while (aborted === undefined) await sleep(1);
    expect(String(aborted)).toMatch(/closed the connection/);
  });
});
