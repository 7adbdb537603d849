import type { ServerResponse } from 'node:http';
import { ConsortiaError } from '../../../lib/errors.js';
import type { NewBlockEvent } from '../backend.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex } from '../json.js';
import { SSE_STREAMS_MAX, SSE_STREAMS_PER_CLIENT_MAX } from '../limits.js';

/** A subscriber that cannot keep up is disconnected rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function renderBlockEvent(e: NewBlockEvent): string {
  const data = JSON.stringify({ height: e.height, hash: hex(e.hash), time: e.time, txs: e.txs.map(hex) });
  return `id: ${e.height}\nevent: block\ndata: ${data}\n\n`;
}

/**
 * GET /v1/events: server-sent events of committed blocks (event 'block', id = height),
 * comment keep-alives, and unsubscribe on disconnect or server close. A block's event (every tx
 * hash of it) is rendered once for all streams; streams are capped per node and per client.
 */
export function registerEventRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend, limits } = ctx;
  const open = new Set<() => void>();
  const perClient = new Map<string, number>();
  let lastEvent: NewBlockEvent | null = null;
  let lastChunk: Buffer = Buffer.alloc(0);
  const rendered = (ev: NewBlockEvent): Buffer => {
    if (ev !== lastEvent) {
      lastEvent = ev;
      lastChunk = Buffer.from(renderBlockEvent(ev), 'utf8');
    }
    return lastChunk;
  };

  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  app.get('/v1/events', async (req, reply) => {
    const client = req.ip;
    const mine = perClient.get(client) ?? 0;
    if (open.size >= SSE_STREAMS_MAX) {
      throw new ConsortiaError(
        NodeApiCodes.BUSY,
        `${SSE_STREAMS_MAX} event streams are open on this node; retry later`,
        {
          limit: SSE_STREAMS_MAX,
          unit: 'event streams',
          retryAfterSeconds: 10,
        },
      );
    }
    if (mine >= SSE_STREAMS_PER_CLIENT_MAX) {
      throw new ConsortiaError(
        NodeApiCodes.RATE_LIMITED,
        `this client has ${mine} event streams open; close one first`,
        {
          limit: SSE_STREAMS_PER_CLIENT_MAX,
          unit: 'event streams per client',
        },
      );
    }
    perClient.set(client, mine + 1);
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
    const write = (chunk: string | Buffer): void => {
      if (closed) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        req.log.warn({ buffered: res.writableLength }, 'SSE subscriber too slow; disconnecting');
        close();
        return;
      }
      res.write(chunk);
    };
    const unsubscribe = backend.subscribe((ev) => write(rendered(ev)));
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), limits.sseKeepAliveMs);
    keepAlive.unref();
    function close(): void {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      unsubscribe();
      open.delete(close);
      const n = (perClient.get(client) ?? 1) - 1;
      if (n > 0) perClient.set(client, n);
      else perClient.delete(client);
      if (!res.writableEnded) res.end();
    }
    open.add(close);
    req.raw.on('close', close);
    res.on('error', close);
  });
}
