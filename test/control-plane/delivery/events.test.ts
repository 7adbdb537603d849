import { describe, expect, it } from 'vitest';
import { encodeTx, generateKeyPair, signTx, toHex, type TxBody } from '../../../src/chain/index.js';
import {
  chainEvent,
  changeEvent,
  changeMatches,
  nextIndexInBlock,
  positionOfEventId,
  txMatches,
  txView,
  type BlockView,
} from '../../../src/control-plane/delivery/events.js';
import type { Subscription, SubscriptionFilter } from '../../../src/control-plane/delivery/types.js';

const alice = generateKeyPair();
const bob = generateKeyPair();
const carol = generateKeyPair();
const A = toHex(alice.publicKey);
const B = toHex(bob.publicKey);

function tx(signer: typeof alice, nonce: number, body: TxBody): Uint8Array {
  return encodeTx(signTx({ chainId: 'c-1', signer: signer.publicKey, nonce, body }, signer.secretKey));
}

const block: BlockView = {
  height: 7,
  hash: 'ab'.repeat(32),
  timeMs: Date.parse('2026-03-01T10:00:00Z'),
  txs: [
    txView(tx(alice, 0, { type: 'create_account' })),
    txView(tx(carol, 0, { type: 'anchor', hash: new Uint8Array(32).fill(9), metadata: 'batch 42' })),
    txView(tx(alice, 1, { type: 'issue_asset', asset: 'PTS', amount: 1000n, to: alice.publicKey })),
    txView(tx(alice, 2, { type: 'transfer', asset: 'PTS', to: bob.publicKey, amount: 250n })),
    txView(tx(carol, 1, { type: 'transfer', asset: 'USD', to: carol.publicKey, amount: 1n })),
    txView(tx(bob, 0, { type: 'burn_asset', asset: 'PTS', amount: 5n })),
    txView(tx(carol, 2, { type: 'create_asset', asset: 'GW', issuer: bob.publicKey })),
  ],
};

function sub(filter: SubscriptionFilter): Subscription {
  return {
    version: 1,
    id: 'sub_1',
    consortiumId: 'cons_1',
    orgId: 'org_a',
    url: 'https://x',
    filter,
    status: 'ACTIVE',
    createdAt: '',
  };
}
function all(s: Subscription): number[] {
  const out: number[] = [];
  for (let i = nextIndexInBlock(s, block, 0); i !== undefined; i = nextIndexInBlock(s, block, i + 1)) out.push(i);
  return out;
}

describe('event extraction from a committed block', () => {
  it('decodes txs into JSON (hex keys, decimal amounts)', () => {
    const t = block.txs[3]!;
    expect(t).toMatchObject({ type: 'transfer', signer: A, nonce: 2, body: { asset: 'PTS', to: B, amount: '250' } });
    expect(t.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('account_txs: signed by or sent to the account, or an asset created with it as issuer', () => {
    expect(all(sub({ kind: 'account_txs', account: A }))).toEqual([0, 2, 3]);
    expect(all(sub({ kind: 'account_txs', account: B }))).toEqual([3, 5, 6]);
  });

  it('asset_movements: creation, issue, transfer and burn of that asset only', () => {
    expect(all(sub({ kind: 'asset_movements', asset: 'PTS' }))).toEqual([2, 3, 5]);
    expect(all(sub({ kind: 'asset_movements', asset: 'GW' }))).toEqual([6]);
    expect(all(sub({ kind: 'asset_movements', asset: 'USD' }))).toEqual([4]);
    expect(txMatches({ kind: 'asset_movements', asset: 'PT' }, block.txs[2]!)).toBe(false);
  });

  it('anchors: every anchor, or only those of one signer', () => {
    expect(all(sub({ kind: 'anchors' }))).toEqual([1]);
    expect(all(sub({ kind: 'anchors', account: A }))).toEqual([]);
  });

  it('blocks: one event per block at index 0, then nothing', () => {
    const s = sub({ kind: 'blocks' });
    expect(nextIndexInBlock(s, block, 0)).toBe(0);
    expect(nextIndexInBlock(s, block, 1)).toBeUndefined();
    const e = chainEvent(s, block, 0, undefined);
    expect(e.event).toMatchObject({ id: '7:0:blocks', height: 7, block: { height: 7, txCount: 7 } });
    expect(e.next).toEqual({ height: 8, index: 0, seq: 0 });
  });

  it('tx events: deterministic id, position and the next cursor', () => {
    const s = sub({ kind: 'account_txs', account: B });
    const e = chainEvent(s, block, 3, 'OK');
    expect(e.event.id).toBe('7:3:account_txs');
    expect(e.event.tx).toMatchObject({ type: 'transfer', code: 'OK', body: { amount: '250' } });
    expect(e.event.at).toBe('2026-03-01T10:00:00.000Z');
    expect(e.next).toEqual({ height: 7, index: 4, seq: 0 });
    expect(positionOfEventId(e.event.id)).toBe(e.position);
    // positions sort like (height, index)
    expect(chainEvent(s, { ...block, height: 10 }, 0, 'OK').position > chainEvent(s, block, 5, 'OK').position).toBe(
      true,
    );
  });

  it('positionOfEventId refuses ids it did not make', () => {
    expect(positionOfEventId('12:control_plane')).toMatch(/^c0+12$/);
    expect(positionOfEventId('x:1:blocks')).toBeUndefined();
    expect(positionOfEventId('1:2:control_plane')).toBeUndefined();
    expect(positionOfEventId('../../etc')).toBeUndefined();
  });

  it('control-plane changes: this consortium, visible to the organization', () => {
    const s = sub({ kind: 'control_plane' });
    const a = {
      id: 'x',
      at: '2026-03-01T10:00:00.000Z',
      actor: 'org:org_a',
      action: 'node.requested',
      resource: 'consortia/cons_1/nodes/n1',
      orgIds: ['org_a'],
    };
    expect(changeMatches(s, a)).toBe(true);
    expect(changeMatches(s, { ...a, orgIds: ['org_b'] })).toBe(false);
    expect(changeMatches(s, { ...a, resource: 'consortia/cons_10/nodes/n1' })).toBe(false);
    expect(changeEvent(s, 12, a).event).toMatchObject({
      id: '12:control_plane',
      change: { seq: 12, type: 'node.requested' },
    });
  });
});
