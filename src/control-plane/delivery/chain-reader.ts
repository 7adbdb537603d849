/**
 * Reads committed blocks of a consortium from its own nodes' APIs (GET /v1/status, /v1/blocks/{h},
 * /v1/blocks/{h}/results, /v1/txs/{hash}), trying each running node in turn so a node that is down or behind is skipped.
 * Blocks are final once a node serves them (BFT commit), so an event built from one never changes.
 * Not verified against commit certificates here: the nodes are the consortium's own, provisioned by
 * this control plane (docs/control-plane.md#event-delivery).
 */
import { fetch, type Dispatcher } from 'undici';
import { fromHex } from '../domain/chain-port.js';
import type { NodeRecord } from '../domain/types.js';
import { txView, type BlockView } from './events.js';

/** Per request to a node. */
export const NODE_READ_TIMEOUT_MS = 5_000;
/**
 * Tx-result lookups in flight at once for one batch, where a node has no GET /v1/blocks/{h}/results
 * (an older image). Each is one GET /v1/txs/{hash}, for which the node decodes the whole block and
 * builds a Merkle proof; they are shared out over the running nodes (all on one, that node fell
 * behind already at 1,000 tx/s).
 */
export const TX_CODE_LOOKUPS_IN_FLIGHT_MAX = 32;
/** Decoded blocks kept for subscriptions reading the same heights (per control plane). */
export const BLOCK_CACHE_MAX = 512;
/** Block reads in flight at once when a range of heights is read (`blocks`). */
export const BLOCK_READS_IN_FLIGHT_MAX = 8;

export interface ChainReader {
  /** Highest committed height the running nodes report; undefined if none answers. */
  latestHeight(cid: string): Promise<number | undefined>;
  /** The committed block, or undefined if no node serves it (yet). */
  block(cid: string, height: number): Promise<BlockView | undefined>;
  /**
   * Blocks from..to (inclusive), read concurrently (at most BLOCK_READS_IN_FLIGHT_MAX in flight);
   * an entry is undefined where no node serves that height (yet).
   */
  blocks(cid: string, from: number, to: number): Promise<(BlockView | undefined)[]>;
  /**
   * The execution results of a block's txs in block order, from one GET /v1/blocks/{h}/results
   * (shared by every subscription reading that block); undefined if no node serves it (an older
   * node without the route: txCode per tx then).
   */
  blockCodes(cid: string, height: number): Promise<string[] | undefined>;
  /** Execution result of a committed tx ('OK' or a rejection code), or undefined if no node answers. */
  txCode(cid: string, hash: string): Promise<string | undefined>;
  /** Looks up several results at once (at most TX_CODE_LOOKUPS_IN_FLIGHT_MAX in flight), so later txCode calls hit the cache. */
  prefetchTxCodes(cid: string, hashes: string[]): Promise<void>;
}

async function getJson(url: string, dispatcher: Dispatcher | undefined): Promise<unknown> {
  const r = await fetch(url, {
    signal: AbortSignal.timeout(NODE_READ_TIMEOUT_MS),
    ...(dispatcher ? { dispatcher } : {}),
  });
  if (!r.ok) return undefined;
  return r.json();
}

/** `dispatcher`: trusts the node CA (control-plane main.ts), for nodes serving HTTPS with a certificate it signed. */
export function nodeChainReader(nodesOf: (cid: string) => Promise<NodeRecord[]>, dispatcher?: Dispatcher): ChainReader {
  // Promises, so subscriptions asking for the same block or result at once share one read.
  const cache = new Map<string, Promise<BlockView | undefined>>();
  const codes = new Map<string, Promise<string | undefined>>();
  const blockResults = new Map<string, Promise<string[] | undefined>>();
  // Start with the node that answered last (per consortium), so a dead node costs one timeout, not one per read.
  const preferred = new Map<string, string>();

  async function apis(cid: string): Promise<string[]> {
    const urls = (await nodesOf(cid))
      .filter((n) => n.desired === 'present' && n.mode === 'run' && n.status.endpoints?.api)
      .map((n) => n.status.endpoints!.api as string);
    const first = preferred.get(cid);
    return first && urls.includes(first) ? [first, ...urls.filter((u) => u !== first)] : urls;
  }

  /** `spread`: start at the node this many places after the preferred one (lookups shared out over the nodes). */
  async function firstAnswer<T>(
    cid: string,
    path: string,
    parse: (j: unknown) => T | undefined,
    spread = 0,
  ): Promise<T | undefined> {
    const list = await apis(cid);
    const k = list.length > 0 ? spread % list.length : 0;
    for (const api of [...list.slice(k), ...list.slice(0, k)]) {
      try {
        const v = parse(await getJson(api + path, dispatcher));
        if (v !== undefined) {
          if (spread === 0) preferred.set(cid, api);
          return v;
        }
      } catch {
        /* node down or slow: try the next */
      }
    }
    return undefined;
  }

  const remember = <K, V>(m: Map<K, V>, k: K, v: V) => {
    m.set(k, v);
    if (m.size > BLOCK_CACHE_MAX * 8) m.delete(m.keys().next().value as K);
  };

  function txCode(cid: string, hash: string, spread = 0): Promise<string | undefined> {
    const hit = codes.get(hash);
    if (hit) return hit;
    const code = firstAnswer(
      cid,
      `/v1/txs/${hash}`,
      (j) => {
        const c = (j as { code?: unknown } | undefined)?.code;
        return typeof c === 'string' ? c : undefined;
      },
      spread,
    );
    remember(codes, hash, code);
    // not found (yet) on any node: asked again next time
    const forget = () => codes.get(hash) === code && codes.delete(hash);
    void code.then((c) => c === undefined && forget(), forget);
    return code;
  }

  function blockCodes(cid: string, height: number): Promise<string[] | undefined> {
    const key = `${cid}:${height}`;
    const hit = blockResults.get(key);
    if (hit) return hit;
    const r = firstAnswer(cid, `/v1/blocks/${height}/results`, (j) => {
      const o = j as { height?: number; results?: { code?: unknown }[] } | undefined;
      if (o?.height !== height || !Array.isArray(o.results)) return undefined;
      const out = o.results.map((x) => x?.code);
      return out.every((c): c is string => typeof c === 'string' && c !== 'UNKNOWN') ? out : undefined;
    });
    blockResults.set(key, r);
    if (blockResults.size > BLOCK_CACHE_MAX) blockResults.delete(blockResults.keys().next().value as string);
    const forget = () => blockResults.get(key) === r && blockResults.delete(key);
    void r.then((v) => v === undefined && forget(), forget);
    return r;
  }

  function block(cid: string, height: number): Promise<BlockView | undefined> {
    const key = `${cid}:${height}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const b = firstAnswer(cid, `/v1/blocks/${height}`, (j) => {
      const o = j as { hash?: string; header?: { height?: number; time?: number }; txs?: string[] } | undefined;
      if (!o?.hash || o.header?.height !== height || typeof o.header.time !== 'number' || !Array.isArray(o.txs))
        return undefined;
      return { height, hash: o.hash, timeMs: o.header.time, txs: o.txs.map((t) => txView(fromHex(t))) };
    });
    cache.set(key, b);
    if (cache.size > BLOCK_CACHE_MAX) cache.delete(cache.keys().next().value as string);
    const forget = () => cache.get(key) === b && cache.delete(key);
    void b.then((v) => v === undefined && forget(), forget);
    return b;
  }

  return {
    txCode,
    blockCodes,
    block,
    async blocks(cid, from, to) {
      const out: (BlockView | undefined)[] = new Array(Math.max(0, to - from + 1));
      let next = 0;
      const worker = async () => {
        while (next < out.length) {
          const i = next++;
          out[i] = await block(cid, from + i);
        }
      };
      await Promise.all(Array.from({ length: Math.min(BLOCK_READS_IN_FLIGHT_MAX, out.length) }, worker));
      return out;
    },
    async prefetchTxCodes(cid, hashes) {
      const todo = hashes.filter((h) => !codes.has(h));
      let i = 0;
      const worker = async () => {
        while (i < todo.length) {
          const k = i++;
          await txCode(cid, todo[k]!, k);
        }
      };
      await Promise.all(Array.from({ length: Math.min(TX_CODE_LOOKUPS_IN_FLIGHT_MAX, todo.length) }, worker));
    },
    async latestHeight(cid) {
      // every node at once: one that is down costs no more than the slowest answer
      const heights = await Promise.all(
        (await apis(cid)).map(async (api) => {
          try {
            const st = (await getJson(`${api}/v1/status`, dispatcher)) as { height?: unknown } | undefined;
            return typeof st?.height === 'number' ? st.height : undefined;
          } catch {
            return undefined;
          }
        }),
      );
      const known = heights.filter((h): h is number => h !== undefined);
      return known.length > 0 ? Math.max(...known) : undefined;
    },
  };
}
