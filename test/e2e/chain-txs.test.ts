import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTx, encodeTx, fromHex, generateKeyPair, signTx, toHex, type Tx } from '../../src/chain/index.js';
import { ChainNet } from '../harness/chain-net.js';

const alice = generateKeyPair();
const bob = generateKeyPair();
const net = new ChainNet({
  validators: 4,
  accounts: [
    { publicKey: alice.publicKey, balances: [{ asset: 'USD', amount: 1_000n }] },
    { publicKey: bob.publicKey, balances: [{ asset: 'USD', amount: 1n }] },
  ],
});

beforeAll(async () => {
  await net.init();
  await net.startAll();
}, 60_000);
afterAll(async () => {
  await net.stop();
});

function transfer(nonce: number, amount: bigint, memoPad = 0): Tx {
  return signTx(
    {
      chainId: net.chainId,
      signer: alice.publicKey,
      nonce,
      body: { type: 'transfer', asset: 'USD', to: bob.publicKey, amount },
    },
    alice.secretKey,
  );
}
async function submit(n: number, tx: Uint8Array, wait = false): Promise<{ status: number; body: Record<string, any> }> {
  const r = await fetch(`${net.nodes[n]!.api}/v1/txs${wait ? '?wait=commit&timeoutMs=15000' : ''}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tx: toHex(tx) }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}
async function account(n: number, pk: Uint8Array): Promise<Record<string, any>> {
  return (await (await fetch(`${net.nodes[n]!.api}/v1/accounts/${toHex(pk)}`)).json()) as Record<string, any>;
}

describe('tx admission over the node API', () => {
  it('commits a valid transfer and every node sees the new balances', async () => {
    const r = await submit(0, encodeTx(transfer(0, 10n)), true);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'committed', code: 'OK' });
    await net.waitHeight(net.nodes, r.body.height);
    for (let i = 0; i < 4; i++) expect(JSON.stringify((await account(i, bob.publicKey)).balances)).toContain('"11"');
    // a block's results in one read (what event delivery uses): the tx at its index, with its code
    for (let i = 0; i < 4; i++) {
      const res = await net.get(net.nodes[i]!, `/v1/blocks/${r.body.height}/results`);
      expect(res.status).toBe(200);
      expect(res.body.height).toBe(r.body.height);
      expect(res.body.results[r.body.index]).toEqual({ hash: r.body.hash, code: 'OK' });
    }
    const ahead = await net.get(net.nodes[0]!, `/v1/blocks/${r.body.height + 10_000}/results`);
    expect(ahead.status).toBe(404);
  });

  it('refuses bad signature / replayed nonce / oversized tx with a clear 4xx and changes nothing', async () => {
    const before = await account(1, alice.publicKey);
    const bad = encodeTx(transfer(1, 5n));
    bad[bad.length - 1]! ^= 0xff;
    const r1 = await submit(1, bad);
    expect(r1.status).toBe(422);
    expect(r1.body.error.code).toBe('BAD_SIGNATURE');
    const r2 = await submit(1, encodeTx(transfer(0, 7n))); // nonce 0 already used
    expect(r2.status).toBe(422);
    expect(r2.body.error.code).toBe('BAD_NONCE');
    const huge = signTx(
      {
        chainId: net.chainId,
        signer: alice.publicKey,
        nonce: 1,
        body: { type: 'anchor', hash: new Uint8Array(32), metadata: 'x'.repeat(1000) },
      },
      alice.secretKey,
    );
    const big = new Uint8Array(70_000);
    big.set(encodeTx(huge));
    const r3 = await submit(1, big);
    expect([400, 413]).toContain(r3.status);
    const r4 = await fetch(`${net.nodes[1]!.api}/v1/txs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: 'zz' }),
    });
    expect(r4.status).toBe(400);
    // nothing changed: same nonce and balance a few blocks later, mempool empty
    const h = await net.height(net.nodes[1]!);
    await net.waitHeight(net.nodes, h + 2);
    const after = await account(1, alice.publicKey);
    expect(after.account).toEqual(before.account);
    expect(after.balances).toEqual(before.balances);
  });

  it("pages through an account's txs with next cursors, inside one block too", async () => {
    // three at once: they land in one block (or a few), each page holds one tx
    const rs = await Promise.all([1, 2, 3].map((n) => submit(2, encodeTx(transfer(n, 1n)), true)));
    for (const r of rs) expect(r.body).toMatchObject({ status: 'committed', code: 'OK' });
    const seen: { height: number; index: number; nonce: number }[] = [];
    let q = 'fromHeight=1';
    for (let i = 0; i < 10 && q; i++) {
      const page = (await (
        await fetch(`${net.nodes[2]!.api}/v1/accounts/${toHex(alice.publicKey)}/txs?${q}&limit=1`)
      ).json()) as { txs: any[]; next: { fromHeight: number; fromIndex: number } | null };
      expect(page.txs.length).toBeLessThanOrEqual(1);
      for (const t of page.txs) seen.push({ height: t.height, index: t.index, nonce: decodeTx(fromHex(t.tx)).nonce });
      q = page.next ? `fromHeight=${page.next.fromHeight}&fromIndex=${page.next.fromIndex}` : '';
    }
    expect(seen.map((t) => t.nonce)).toEqual([0, 1, 2, 3]); // each once, in chain order
    expect(rs.map((r) => r.body.height)).toEqual(seen.slice(1).map((t) => t.height));
    const bad = await fetch(`${net.nodes[2]!.api}/v1/accounts/${toHex(alice.publicKey)}/txs?fromIndex=-1`);
    expect(bad.status).toBe(400);
  });
});
