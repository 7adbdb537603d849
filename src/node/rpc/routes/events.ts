import type { ServerResponse } from 'node:http';
import type { NewBlockEvent } from '../backend.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { hex } from '../json.js';

/** A subscriber that cannot keep up is disconnected rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function renderBlockEvent(e: NewBlockEvent): string {
  const data = JSON.stringify({ height: e.height, hash: hex(e.hash), time: e.time, txs: e.txs.map(hex) });
  return `id: ${e.height}\nevent: block\ndata: ${data}\n\n`;
}

/**
 * GET /v1/events: server-sent events of committed blocks (event 'block', id = height),
 * comment keep-alives, and unsubscribe on disconnect or server close.
 */
export function registerEventRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend, limits } = ctx;
  const open = new Set<() => void>();

  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  app.get('/v1/events', async (req, reply) => {
    reply.hijack();
    const res: ServerResponse = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 2000\n: connected height=${backend.latestHeight()}\n\n`);

    let closed = false;
    const write = (chunk: string): void => {
      if (closed) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        req.log.warn({ buffered: res.writableLength }, 'SSE subscriber too slow; disconnecting');
        close();
        return;
      }
      res.write(chunk);
    };
    const unsubscribe = backend.subscribe((ev) => write(renderBlockEvent(ev)));
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), limits.sseKeepAliveMs);
    keepAlive.unref();
    function close(): void {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      unsubscribe();
      open.delete(close);
      if (!res.writableEnded) res.end();
    }
    open.add(close);
    req.raw.on('close', close);
    res.on('error', close);
  });
}
