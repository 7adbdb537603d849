import { Type } from 'typebox';
import { decodeTx } from '../../../chain/index.js';
import { ConsortiaError } from '../../../lib/errors.js';
import { AdmissionQueue, rejectionOf, type AdmitStep } from '../admission.js';
import type { NodeApiBackend, TxBatchItemResult, TxSubmitResult } from '../backend.js';
import type { NodeApiContext, NodeApp } from '../context.js';
import { NodeApiCodes } from '../errors.js';
import { hex, parseHex, toJsonValue } from '../json.js';
import {
  ADMIT_QUEUE_TXS_MAX,
  ADMIT_SLICE_MS,
  ADMIT_STEP_TXS,
  ADMIT_STEP_TXS_OFF_THREAD,
  ADMIT_WAIT_MS_MAX,
  BATCH_BODY_BYTES_MAX,
  BATCH_ITEM_MESSAGE_CHARS_MAX,
  TXS_PER_BATCH_MAX,
} from '../limits.js';
import { HashParam, requireGenesis } from './common.js';

/** Hex text of one tx is twice its bytes; the JSON envelope adds a little. */
function singleTxBodyLimit(maxTxBytes: number): number {
  return maxTxBytes * 2 + 4096;
}

function parseTxHex(s: string, maxTxBytes: number): Uint8Array {
  if (s.length > maxTxBytes * 2) {
    throw new ConsortiaError(NodeApiCodes.TX_TOO_LARGE, `tx is larger than ${maxTxBytes} bytes`, {
      maxTxBytes,
      size: Math.ceil(s.length / 2),
    });
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

/** 413 BATCH_TOO_LARGE: more than `limit` items (counted without decoding any). */
function tooManyTxs(limit: number, count: number): ConsortiaError {
  return new ConsortiaError(NodeApiCodes.BATCH_TOO_LARGE, `a batch carries at most ${limit} txs; split it`, {
    limit,
    unit: 'txs',
    count,
  });
}

/**
 * Splits a binary batch: repeated [u32 BE length][encoded tx]. A framing error rejects the
 * whole request (400), and so does an item past `maxItems` (413 BATCH_TOO_LARGE, found before any
 * item is looked at); a single oversized item is rejected on its own.
 */
export function splitLengthPrefixed(buf: Uint8Array, maxItems: number = Number.POSITIVE_INFINITY): Uint8Array[] {
  const out: Uint8Array[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let off = 0;
  while (off < buf.length) {
    if (out.length >= maxItems) throw tooManyTxs(maxItems, out.length + countFramed(view, off));
    if (off + 4 > buf.length)
      throw new ConsortiaError(NodeApiCodes.INVALID_REQUEST, `truncated length prefix at byte ${off}`);
    const len = view.getUint32(off);
    off += 4;
    if (off + len > buf.length)
      throw new ConsortiaError(NodeApiCodes.INVALID_REQUEST, `item at byte ${off - 4} overruns the body`, {
        length: len,
      });
    out.push(buf.subarray(off, off + len));
    off += len;
  }
  return out;
}

/** Items framed from byte `off` on (a truncated tail counts as one): only reads the length prefixes. */
function countFramed(view: DataView, off: number): number {
  let n = 0;
  for (; off < view.byteLength; n++) off += 4 + (off + 4 <= view.byteLength ? view.getUint32(off) : 0);
  return n;
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

function clip(message: string): string {
  return message.length > BATCH_ITEM_MESSAGE_CHARS_MAX
    ? `${message.slice(0, BATCH_ITEM_MESSAGE_CHARS_MAX - 3)}...`
    : message;
}

/** The node's batch fast path, else one submitTx per item (test doubles). */
function admitStepOf(backend: NodeApiBackend): AdmitStep {
  if (backend.submitTxBatch) return (txs) => backend.submitTxBatch!(txs);
  return async (txs) => {
    const out: TxBatchItemResult[] = [];
    for (const bytes of txs) {
      try {
        const r = await backend.submitTx(bytes, { wait: 'none', timeoutMs: 0 });
        out.push({ status: 'accepted', hash: r.hash });
      } catch (err) {
        out.push(rejectionOf(err, bytes));
      }
    }
    return out;
  };
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
        summary: 'Submit one signed tx',
        description:
          "202 `accepted`: the tx passed admission and is in THIS node's mempool, which is not durable (a restart, the " +
          'mempool TTL `mempool.txTtlMs` (60 s by default) or eviction drops it); it is gossiped to the other nodes on a best-effort basis. A client that ' +
          'sees no commit within the TTL resubmits the same signed bytes, to any node: submission is idempotent by tx hash ' +
          '(a pending tx answers 202 again, a committed one 200 `committed` with its height, index and result code). ' +
          '200 `committed`: in a finalized block (also `?wait=commit` once it commits). A refusal is 4xx with a stable code: ' +
          "BAD_NONCE / NONCE_TOO_FAR_AHEAD (more than `mempool.futureNoncesMax` above the account's next executable nonce) 422, " +
          'MEMPOOL_FULL / ACCOUNT_MEMPOOL_FULL 429 (retry later), MEMPOOL_BUSY 429 with Retry-After (the node sheds load: ' +
          'more txs are pending than the chain commits in `mempool.backlogTargetMs`), BAD_SIGNATURE and other chain codes 422.',
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

  // Every batch of every client is admitted through one queue, in slices that leave the event
  // loop to consensus between them (see AdmissionQueue); its size, body and answer are bounded.
  const admission = new AdmissionQueue(admitStepOf(backend), {
    sliceMs: ADMIT_SLICE_MS,
    // with signatures verified off the main thread a step costs this thread ~20 µs a tx, not ~100
    stepTxs: () => (backend.verifiesOffThread?.() ? ADMIT_STEP_TXS_OFF_THREAD : ADMIT_STEP_TXS),
    maxQueuedTxs: ADMIT_QUEUE_TXS_MAX,
    waitMaxMs: ADMIT_WAIT_MS_MAX,
    overloaded: () => backend.sheddingLoad?.() ?? false,
    expired: (n) => {
      const retryAfterS = backend.shedQueuedTxs?.(n) ?? 1;
      return new ConsortiaError(
        NodeApiCodes.MEMPOOL_BUSY,
        `not admitted within ${ADMIT_WAIT_MS_MAX} ms: the node is shedding load; retry in ${retryAfterS} s`,
        { retryAfterSeconds: retryAfterS },
      );
    },
  });
  app.post(
    '/v1/txs/batch',
    {
      // Body: application/octet-stream (repeated u32 BE length + encoded tx) or JSON; checked by hand below.
      bodyLimit: Math.min(BATCH_BODY_BYTES_MAX, limits.bodyLimitBytes),
      preHandler: requireGenesis(backend),
    },
    async (req) => {
      let items: (Uint8Array | ConsortiaError)[];
      const body: unknown = req.body;
      if (Buffer.isBuffer(body)) {
        items = splitLengthPrefixed(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), TXS_PER_BATCH_MAX);
      } else {
        const list = Array.isArray(body) ? body : (body as { txs?: unknown } | null)?.txs;
        // the object form is closed, like every schema-checked body (lib/http-contract.ts)
        const unknown =
          body !== null && typeof body === 'object' && !Array.isArray(body)
            ? Object.keys(body).filter((k) => k !== 'txs')
            : [];
        if (unknown.length > 0) {
          throw new ConsortiaError(
            NodeApiCodes.INVALID_REQUEST,
            `${unknown[0]}: is not a known field (a JSON batch is [hex] or { txs: [hex] })`,
            {
              field: unknown[0],
              unknownFields: unknown.slice(0, 20),
              count: unknown.length,
              problems: unknown.slice(0, 20).map((field) => ({ field, message: 'is not a known field' })),
            },
          );
        }
        if (Array.isArray(list) && list.length > TXS_PER_BATCH_MAX) throw tooManyTxs(TXS_PER_BATCH_MAX, list.length);
        if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
          throw new ConsortiaError(
            NodeApiCodes.INVALID_REQUEST,
            'JSON batch must be an array of hex txs or { txs: [hex] }',
          );
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
          results[i] = rejectionOf(
            new ConsortiaError(NodeApiCodes.TX_TOO_LARGE, `tx is larger than ${limits.maxTxBytes} bytes`),
            it,
          );
        } else if (it.length === 0)
          results[i] = rejectionOf(new ConsortiaError(NodeApiCodes.INVALID_TX, 'tx is empty'), null);
        else good.push({ i, bytes: it });
      });
      // Load shedding before any decode or verify: past the backlog the chain commits in
      // mempool.backlogTargetMs, the batch's tail is refused (all of it: 429 with Retry-After).
      const room = backend.takeTxRoom?.(good.length, admission.size);
      if (room && room.granted === 0 && good.length > 0) {
        throw new ConsortiaError(
          NodeApiCodes.MEMPOOL_BUSY,
          `the chain is committing less than it is offered (${room.bound} txs may be pending); retry in ${room.retryAfterSeconds} s`,
          { bound: room.bound, unit: 'pending txs', retryAfterSeconds: room.retryAfterSeconds },
        );
      }
      const taken = room ? good.slice(0, room.granted) : good;
      if (taken.length < good.length) {
        const busy = new ConsortiaError(
          NodeApiCodes.MEMPOOL_BUSY,
          `not admitted: the node is shedding load; retry in ${room!.retryAfterSeconds} s`,
          { retryAfterSeconds: room!.retryAfterSeconds },
        );
        for (const g of good.slice(taken.length)) results[g.i] = rejectionOf(busy, g.bytes);
      }
      const out = await admission.submit(taken.map((g) => g.bytes));
      taken.forEach((g, k) => {
        results[g.i] = out[k]!;
      });
      const accepted = results.filter((r) => r.status === 'accepted').length;
      return {
        accepted,
        rejected: results.length - accepted,
        results: results.map((r) =>
          r.status === 'accepted'
            ? { hash: hex(r.hash), status: 'accepted' }
            : {
                hash: r.hash ? hex(r.hash) : null,
                status: 'rejected',
                error: {
                  code: r.code,
                  message: clip(r.message),
                  ...(r.retryAfterSeconds !== undefined ? { retryAfterSeconds: r.retryAfterSeconds } : {}),
                },
              },
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
