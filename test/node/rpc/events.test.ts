import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApi, type NodeApp } from '../../../src/node/rpc/index.js';
import { FakeBackend, makeSealedGenesis } from './fake-backend.js';

/** Over real sockets: SSE delivery/keep-alive/unsubscribe, and oversized bodies on the wire. */
describe('node API over a real socket', () => {
  const backend = new FakeBackend('test-chain', makeSealedGenesis().sealed);
  let app: NodeApp;
  let base: string;

  beforeAll(async () => {
    app = await createNodeApi({
      backend,
      registry: new Registry(),
      limits: { maxTxBytes: 1024, bodyLimitBytes: 32 * 1024, maxWaitMs: 1000, sseKeepAliveMs: 1000 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('streams block events, sends keep-alives, and unsubscribes when the client leaves', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/v1/events`, { signal: ac.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitFor(() => backend.listeners.size === 1);

    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = '';
    const readUntil = async (pred: (t: string) => boolean): Promise<void> => {
      const end = Date.now() + 5000;
      while (!pred(text)) {
        if (Date.now() > end) throw new Error(`stream timeout; got ${JSON.stringify(text)}`);
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        text += dec.decode(value, { stream: true });
      }
    };

    const b1 = backend.commitPending();
    const b2 = backend.commitPending();
    await readUntil((t) => (t.match(/event: block/g) ?? []).length >= 2);
    const events = text
      .split('\n\n')
      .filter((chunk) => chunk.includes('event: block'))
      .map(
        (chunk) =>
          JSON.parse(
            chunk
              .split('\n')
              .find((l) => l.startsWith('data: '))!
              .slice(6),
          ) as { height: number; hash: string },
      );
    expect(events.map((e) => e.height)).toEqual([b1.header.height, b2.header.height]);
    expect(events[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(text).toContain(`id: ${b1.header.height}`);

    await readUntil((t) => t.includes(': keep-alive'));

    ac.abort();
    await reader.cancel().catch(() => undefined);
    await waitFor(() => backend.listeners.size === 0);
  });

  it('ends open streams when the server closes', async () => {
    const other = await createNodeApi({
      backend,
      registry: new Registry(),
      limits: { maxTxBytes: 1024, bodyLimitBytes: 32 * 1024, maxWaitMs: 1000, sseKeepAliveMs: 60_000 },
    });
    await other.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`http://127.0.0.1:${(other.server.address() as AddressInfo).port}/v1/events`);
    await waitFor(() => backend.listeners.size === 1);
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(backend.listeners.size).toBe(0);
    await res.body?.cancel().catch(() => undefined);
  });

  it('answers 413 to a streamed body over the limit and keeps serving', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${base}/v1/txs/batch`,
        { method: 'POST', headers: { 'content-type': 'application/octet-stream' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (err) =>
        String(err).includes('EPIPE') || String(err).includes('ECONNRESET') ? resolve(413) : reject(err),
      );
      // chunked upload without content-length: the limit must be enforced while reading
      const chunk = Buffer.alloc(8 * 1024);
      let sent = 0;
      const pump = (): void => {
        while (sent < 256 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    const declared = await fetch(`${base}/v1/txs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: 'ab'.repeat(50_000) }),
    });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('TX_TOO_LARGE');
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
  });
});
