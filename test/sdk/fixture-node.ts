// Serves a chain built in memory (test/chain/chain-builder.ts: real execution, real commits) in the
// node API's JSON forms (src/node/rpc/routes), as a FetchLike: what an honest node would answer.
import {
  StateKeys,
  encodeCommit,
  encodeHeader,
  fromHex,
  merkleProof,
  stateProofToJSON,
  toHex,
  txHash,
  type WorldState,
} from '../../src/chain/index.js';
import type { FetchLike } from '../../src/sdk/index.js';
import type { buildChain } from '../chain/chain-builder.js';

type Built = ReturnType<typeof buildChain>;

function proven(s: WorldState, key: string) {
  const v = s.get(key);
  return { key, value: v === undefined ? null : toHex(v), proof: stateProofToJSON(s.prove(key)) };
}

export function fixtureNode(
  chain: Built,
  opts: { tip?: number; tamper?: (path: string, body: any) => void } = {},
): FetchLike {
  const tip = opts.tip ?? chain.blocks.length;
  const at = (h: number) => chain.blocks[h - 1]!;
  const answer = (path: string): { status: number; body: unknown } => {
    const url = new URL(path);
    const p = url.pathname;
    const top = at(tip);
    const s = top.state;
    const base = { height: tip, stateRoot: toHex(top.block.header.stateRoot) };
    if (p === '/v1/headers') {
      const from = Number(url.searchParams.get('from'));
      const count = Number(url.searchParams.get('count') ?? 100);
      const headers = [];
      for (let h = from; h <= Math.min(tip, from + count - 1); h++) {
        headers.push({
          height: h,
          header: toHex(encodeHeader(at(h).block.header)),
          commit: toHex(encodeCommit(at(h).commit)),
        });
      }
      return { status: 200, body: { headers } };
    }
    let m = /^\/v1\/accounts\/([0-9a-f]{64})$/.exec(p);
    if (m) {
      const pk = fromHex(m[1]!, 32);
      if (s.get(StateKeys.account(pk)) === undefined)
        return { status: 404, body: { error: { code: 'NOT_FOUND', message: 'account' } } };
      const prefix = StateKeys.balancePrefix(pk);
      return {
        status: 200,
        body: {
          ...base,
          proof: [
            proven(s, StateKeys.account(pk)),
            ...s
              .keysWithPrefix(prefix)
              .sort()
              .map((k) => proven(s, k)),
          ],
        },
      };
    }
    m = /^\/v1\/assets\/(.+)$/.exec(p);
    if (m) return { status: 200, body: { ...base, proof: proven(s, StateKeys.asset(decodeURIComponent(m[1]!))) } };
    m = /^\/v1\/anchors\/([0-9a-f]{64})$/.exec(p);
    if (m) return { status: 200, body: { ...base, proof: proven(s, StateKeys.anchor(fromHex(m[1]!, 32))) } };
    m = /^\/v1\/txs\/([0-9a-f]{64})$/.exec(p);
    if (m) {
      for (let h = 1; h <= tip; h++) {
        const txs = at(h).block.txs;
        const i = txs.findIndex((t) => toHex(txHash(t)) === m![1]);
        if (i >= 0) {
          const pr = merkleProof(txs, i);
          return {
            status: 200,
            body: {
              hash: m[1],
              height: h,
              index: i,
              code: 'OK',
              tx: toHex(txs[i]!),
              proof: { leafIndex: pr.index, treeSize: pr.total, path: pr.path.map(toHex) },
            },
          };
        }
      }
      return { status: 404, body: { error: { code: 'NOT_FOUND', message: 'tx' } } };
    }
    return { status: 404, body: { error: { code: 'NOT_FOUND', message: p } } };
  };
  return async (url) => {
    const r = answer(String(url));
    opts.tamper?.(String(url), r.body);
    return new Response(JSON.stringify(r.body), { status: r.status, headers: { 'content-type': 'application/json' } });
  };
}
