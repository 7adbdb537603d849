import { describe, expect, it } from 'vitest';
import {
  encodeAmount,
  decodeAmount,
  fromHex,
  sealedGenesisToJSON,
  sha256,
  toHex,
  type KeyPair,
} from '../../src/chain/index.js';
import { ConsortiaClient, SdkCodes, verifyAnchorBundle, type FetchLike } from '../../src/sdk/index.js';
import { buildChain } from '../chain/chain-builder.js';
import { key, makeFixture, stx } from '../chain/fixtures.js';
import { fixtureNode } from './fixture-node.js';

const f = makeFixture();
const gateway: KeyPair = key(3);
const doc = sha256(Buffer.from('vaccine batch 4711'));
const chain = buildChain(
  8,
  (h) => {
    switch (h) {
      case 1:
        return [stx(gateway, 0, { type: 'create_account' }), stx(f.bob, 0, { type: 'create_account' })];
      case 2:
        return [stx(gateway, 1, { type: 'issue_asset', asset: 'POINTS', amount: 1000n, to: gateway.publicKey })];
      case 3:
        return [stx(gateway, 2, { type: 'transfer', asset: 'POINTS', to: f.bob.publicKey, amount: 300n })];
      case 4:
        return [stx(f.bob, 1, { type: 'transfer', asset: 'POINTS', to: gateway.publicKey, amount: 100n })];
      case 5:
        return [stx(gateway, 3, { type: 'burn_asset', asset: 'POINTS', amount: 100n })];
      case 6:
        return [stx(f.admins[0]!, 0, { type: 'create_account' })];
      case 7:
        return [stx(f.admins[0]!, 1, { type: 'anchor', hash: doc, metadata: 'batch 4711' })];
      default:
        return [];
    }
  },
  f,
);
const sealedGenesis = sealedGenesisToJSON(f.sealed);

/** Routes each node URL to its own FetchLike. */
function net(nodes: Record<string, FetchLike>): FetchLike {
  return (url, init) => nodes[new URL(String(url)).origin]!(url, init);
}
const honest = fixtureNode(chain);
const raiseBalances = (path: string, body: any): void => {
  if (!path.includes('/v1/accounts/')) return;
  for (const p of body.proof ?? [])
    if (p.key.startsWith('bal/') && p.value) p.value = toHex(encodeAmount(decodeAmount(fromHex(p.value)) + 1_000_000n));
};

describe('ConsortiaClient reads (proofs verified against certified headers)', () => {
  it('reads accounts, assets, anchors and txs, each proven', async () => {
    const c = new ConsortiaClient({ nodes: ['http://a'], sealedGenesis, fetch: net({ 'http://a': honest }) });
    expect(await c.account(f.bob.publicKey)).toMatchObject({
      nonce: 2,
      balances: [{ asset: 'POINTS', amount: 200n }],
      height: 8,
    });
    expect(await c.asset('POINTS')).toEqual({
      id: 'POINTS',
      height: 8,
      issuer: toHex(gateway.publicKey),
      supply: 900n,
      ledger: null,
    });
    expect(await c.anchorRecord(doc)).toMatchObject({
      submitter: toHex(f.admins[0]!.publicKey),
      metadata: 'batch 4711',
      anchoredAt: 7,
    });
    const tx = await c.tx(sha256(chain.blocks[2]!.block.txs[0]!));
    expect(tx).toMatchObject({ height: 3, index: 0, code: 'OK' });
    expect(tx!.tx.body).toMatchObject({ type: 'transfer', amount: 300n });
    expect(await c.account(key(77).publicKey)).toBeNull();
    expect(await c.nextNonce(gateway.publicKey)).toBe(4);
    expect(c.chain.height).toBe(8);
  });

  it('refuses a node that tampers with a proven value, and uses an honest one instead', async () => {
    const liar = fixtureNode(chain, { tamper: raiseBalances });
    const alone = new ConsortiaClient({ nodes: ['http://liar'], sealedGenesis, fetch: net({ 'http://liar': liar }) });
    await expect(alone.account(f.bob.publicKey)).rejects.toMatchObject({ code: SdkCodes.PROOF_REJECTED });
    const both = new ConsortiaClient({
      nodes: ['http://liar', 'http://a'],
      sealedGenesis,
      fetch: net({ 'http://liar': liar, 'http://a': honest }),
    });
    expect((await both.account(f.bob.publicKey))?.balances).toEqual([{ asset: 'POINTS', amount: 200n }]);
    // the liar is benched: the next read goes straight to the honest node
    expect(both.pool.order()).toEqual(['http://a']);
  });

  it('refuses an answer whose state root is not the certified one', async () => {
    const liar = fixtureNode(chain, {
      tamper: (p, b) => {
        if (p.includes('/v1/assets/')) b.stateRoot = '00'.repeat(32);
      },
    });
    const c = new ConsortiaClient({ nodes: ['http://liar'], sealedGenesis, fetch: net({ 'http://liar': liar }) });
    await expect(c.asset('POINTS')).rejects.toMatchObject({ code: SdkCodes.PROOF_REJECTED });
  });

  it('refuses headers not certified by the genesis validators', async () => {
    const forged = fixtureNode(chain, {
      tamper: (p, b) => {
        if (p.includes('/v1/headers')) b.headers[0].commit = b.headers[1]?.commit ?? b.headers[0].commit;
      },
    });
    const c = new ConsortiaClient({ nodes: ['http://x'], sealedGenesis, fetch: net({ 'http://x': forged }) });
    await expect(c.asset('POINTS')).rejects.toMatchObject({ code: SdkCodes.PROOF_REJECTED });
    expect(c.chain.height).toBe(0);
  });

  it('refuses a tx whose bytes are not the requested hash or not in the block', async () => {
    const h = toHex(sha256(chain.blocks[2]!.block.txs[0]!));
    const swap = fixtureNode(chain, {
      tamper: (p, b) => {
        if (p.includes('/v1/txs/')) b.tx = toHex(chain.blocks[3]!.block.txs[0]!);
      },
    });
    const c = new ConsortiaClient({ nodes: ['http://x'], sealedGenesis, fetch: net({ 'http://x': swap }) });
    await expect(c.tx(h)).rejects.toMatchObject({ code: SdkCodes.PROOF_REJECTED });
  });

  it('resumes from saved trust and proves older heights by the hash chain', async () => {
    const first = new ConsortiaClient({ nodes: ['http://a'], sealedGenesis, fetch: net({ 'http://a': honest }) });
    await first.asset('POINTS');
    const saved = first.trustState();
    expect(saved.height).toBe(8);
    const later = new ConsortiaClient({
      nodes: ['http://a'],
      sealedGenesis,
      trust: JSON.parse(JSON.stringify(saved)),
      fetch: net({ 'http://a': honest }),
    });
    expect(later.chain.height).toBe(8);
    expect((await later.tx(sha256(chain.blocks[1]!.block.txs[0]!)))?.height).toBe(2);
  });
});

describe('genesis trust', () => {
  it('refuses a genesis that is not the pinned one or lacks an approval', () => {
    expect(() => new ConsortiaClient({ nodes: ['http://a'], sealedGenesis, genesisHash: '11'.repeat(32) })).toThrow(
      expect.objectContaining({ code: SdkCodes.GENESIS_UNTRUSTED }),
    );
    const unapproved = { ...sealedGenesis, approvals: (sealedGenesis.approvals as unknown[]).slice(1) };
    expect(() => new ConsortiaClient({ nodes: ['http://a'], sealedGenesis: unapproved })).toThrow(
      expect.objectContaining({ code: SdkCodes.GENESIS_UNTRUSTED }),
    );
  });
});

describe('anchor proof bundles (offline verification)', () => {
  const client = () => new ConsortiaClient({ nodes: ['http://a'], sealedGenesis, fetch: net({ 'http://a': honest }) });

  it('verifies with no network: height, time, signer organization, certifying validators', async () => {
    const bundle = JSON.parse(JSON.stringify(await client().anchorBundle(doc)));
    const v = verifyAnchorBundle(bundle, { contentHash: toHex(doc) });
    expect(v).toMatchObject({
      height: 7,
      time: chain.blocks[6]!.block.header.time,
      metadata: 'batch 4711',
      signerOrganization: { memberId: 'm0', name: 'Member 0' },
    });
    expect(v.certifiedBy.map((x) => x.memberId).sort()).toEqual(['m0', 'm1', 'm2']);
  });

  it('fails for another file, another genesis, or any tampered part', async () => {
    const good = JSON.parse(JSON.stringify(await client().anchorBundle(doc)));
    const fails = (b: unknown, o = {}) =>
      expect(() => verifyAnchorBundle(b, o)).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^SDK_(BUNDLE_INVALID|GENESIS_UNTRUSTED)$/) }),
      );
    fails(good, { contentHash: '22'.repeat(32) });
    fails(good, { pinnedGenesisHash: '33'.repeat(32) });
    const h = fromHex(good.inclusion.header);
    h[h.length - 1]! ^= 1; // header bytes changed: its commit no longer certifies it
    fails({ ...good, inclusion: { ...good.inclusion, header: toHex(h) } });
    fails({
      ...good,
      inclusion: { ...good.inclusion, tx: toHex(chain.blocks[6]!.block.txs[0]!).replace(/..$/, '00') },
    });
    fails({ ...good, state: { ...good.state, value: good.state.value.replace(/^../, 'ff') } });
    fails({ ...good, hash: '44'.repeat(32) });
  });
});
