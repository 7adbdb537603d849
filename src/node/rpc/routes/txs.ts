import { Type } from 'typebox';
import { decodeTx, txHash } from '../../../chain/index.js';
import { ConsortiaError, isConsortiaError } from '../../../lib/errors.js';
import type { TxBatchItemResult, TxSubmitResult } from '../backend.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex, parseHex, toJsonValue } from '../json.js';
import { HashParam, requireGenesis } from './common.js';

/** Hex text of one tx is twice its bytes; the JSON envelope adds a little. */
function singleTxBodyLimit(maxTxBytes: number): number {
  return maxTxBytes * 2 + 4096;
}

function parseTxHex(s: string, maxTxBytes: number): Uint8Array {
  if (s.length > maxTxBytes * 2) {
    throw new ConsortiaError(NodeApiCodes.TX_TOO_LARGE, `tx is larger than ${maxTxBytes} bytes`, { maxTxBytes, size: Math.ceil(s.length / 2) });
  }
  const b = parseHex(s, 'tx', NodeApiCodes.INVALID_TX);
  if (b.length === 0) throw new ConsortiaError(NodeApiCodes.INVALID_TX, 'tx is empty');
  return b;
}

export function renderSubmit(r: TxSubmitResult): Record<string, unknown> {
  return r.status === 'accepted'
    ? { hash: hex(r.hash), status: 'accepted' }
    : { hash: hex(r.hash), status: 'committed', height: r.height, index: r.index, code: r.code };
}

/**
 * Splits a binary batch: repeated [u32 BE length][encoded tx]. A framing error rejects the
 * whole request (400); a single oversized item is rejected on its own.
 */
export function splitLengthPrefixed(buf: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (off + 4 > buf.length) throw new ConsortiaError(NodeApiCodes.INVALID_REQUEST, `truncated length prefix at byte ${off}`);
    const len = view.getUint32(off);
    off += 4;
    if (off + len > buf.length) throw new ConsortiaError(NodeApiCodes.INVALID_REQUEST, `item at byte ${off - 4} overruns the body`, { length: len });
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** Concatenates encoded txs into the binary batch format (used by load generators and tests). */
export function encodeLengthPrefixed(items: readonly Uint8Array[]): Uint8Array {
  const total = items.reduce((n, b) => n + 4 + b.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let off = 0;
  for (const b of items) {
    view.setUint32(off, b.length);
    out.set(b, off + 4);
    off += 4 + b.length;
  }
  return out;
}

function rejectionOf(err: unknown, item: Uint8Array | null): TxBatchItemResult {
  const hash = item && item.length > 0 ? txHash(item) : null;
  if (isConsortiaError(err)) return { status: 'rejected', hash, code: err.code, message: err.message };
  return { status: 'rejected', hash, code: NodeApiCodes.INTERNAL, message: 'internal error' };
}

const SubmitQuery = Type.Object({
  wait: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('commit')])),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 0 })),
});

export function registerTxRoutes(app: NodeApp, ctx: NodeApiContext): void {
  const { backend, limits } = ctx;

  app.post(
    '/v1/txs',
    {
      bodyLimit: singleTxBodyLimit(limits.maxTxBytes),
      config: { tooLargeCode: NodeApiCodes.TX_TOO_LARGE },
      preHandler: requireGenesis(backend),
      schema: {
        querystring: SubmitQuery,
        body: Type.Object({ tx: Type.String() }),
      },
    },
    async (req, reply) => {
      const bytes = parseTxHex(req.body.tx, limits.maxTxBytes);
      const wait = req.query.wait ?? 'none';
      const timeoutMs = Math.min(req.query.timeoutMs ?? limits.maxWaitMs, limits.maxWaitMs);
      const result = await backend.submitTx(bytes, { wait, timeoutMs });
      return reply.code(result.status === 'committed' ? 200 : 202).send(renderSubmit(result));
    },
  );

  app.post(
    '/v1/txs/batch',
    {
      // Body: application/octet-stream (repeated u32 BE length + encoded tx) or JSON; checked by hand below.
      preHandler: requireGenesis(backend),
    },
    async (req) => {
      let items: (Uint8Array | ConsortiaError)[];
      const body: unknown = req.body;
      if (Buffer.isBuffer(body)) {
        items = splitLengthPrefixed(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      } else {
        const list = Array.isArray(body) ? body : (body as { txs?: unknown } | null)?.txs;
        if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
          throw new ConsortiaError(NodeApiCodes.INVALID_REQUEST, 'JSON batch must be an array of hex txs or { txs: [hex] }');
        }
        items = (list as string[]).map((s) => {
          try {
            return parseTxHex(s, limits.maxTxBytes);
          } catch (err) {
            return err as ConsortiaError;
          }
        });
      }
      const results: TxBatchItemResult[] = new Array(items.length);
      const good: { i: number; bytes: Uint8Array }[] = [];
      items.forEach((it, i) => {
        if (it instanceof ConsortiaError) results[i] = rejectionOf(it, null);
        else if (it.length > limits.maxTxBytes) {
          results[i] = rejectionOf(new ConsortiaError(NodeApiCodes.TX_TOO_LARGE, `tx is larger than ${limits.maxTxBytes} bytes`), it);
        } else if (it.length === 0) results[i] = rejectionOf(new ConsortiaError(NodeApiCodes.INVALID_TX, 'tx is empty'), null);
        else good.push({ i, bytes: it });
      });
      if (backend.submitTxBatch) {
        const out = await backend.submitTxBatch(good.map((g) => g.bytes));
        good.forEach((g, k) => (results[g.i] = out[k] ?? rejectionOf(new Error('missing result'), g.bytes)));
      } else {
        for (const g of good) {
          try {
            const r = await backend.submitTx(g.bytes, { wait: 'none', timeoutMs: 0 });
            results[g.i] = { status: 'accepted', hash: r.hash };
          } catch (err) {
            results[g.i] = rejectionOf(err, g.bytes);
          }
        }
      }
      const accepted = results.filter((r) => r.status === 'accepted').length;
      return {
        accepted,
        rejected: results.length - accepted,
        results: results.map((r) =>
          r.status === 'accepted'
            ? { hash: hex(r.hash), status: 'accepted' }
            : { hash: r.hash ? hex(r.hash) : null, status: 'rejected', error: { code: r.code, message: r.message } },
        ),
      };
    },
  );

  app.get('/v1/txs/:hash', { preHandler: requireGenesis(backend), schema: { params: HashParam } }, async (req) => {
    const hash = parseHex(req.params.hash, 'hash', NodeApiCodes.INVALID_REQUEST, 32);
    const found = await backend.getTx(hash);
    if (!found) throw new ConsortiaError(NodeApiCodes.NOT_FOUND, `tx ${req.params.hash.toLowerCase()} not found`);
    let decoded: unknown = null;
    try {
      decoded = toJsonValue(decodeTx(found.tx));
    } catch {
      decoded = null; // committed bytes always decode; keep the raw hex authoritative regardless
    }
    return {
      hash: hex(found.hash),
      height: found.height,
      index: found.index,
      code: found.code,
      tx: hex(found.tx),
      decoded,
      proof: toJsonValue(found.proof),
    };
  });
}
