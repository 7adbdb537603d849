import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair, toHex } from '../../src/chain/index.js';
import { ChainNet, waitUntil, type NodeHandle } from '../harness/chain-net.js';
import { LyingProxy } from '../harness/lying-proxy.js';
import { TxLoad } from '../harness/tx-load.js';

/**
 * Tiered storage with real processes: 4 validators, a super (archive), an ordinary node with a
 * small retention window, a light node following one account, and later an ordinary node that
 * joins from a verified snapshot. Short blocks (50 ms) under a load of signed transfers.
 */
const BLOCKS = Number(process.env.TIERS_E2E_BLOCKS ?? 2500);
const RETENTION = 150;
const [SUPER, ORD, JOINER, LIGHT] = [4, 5, 6, 7];

const alice = generateKeyPair(); // the light node's followed account (receives part of the load)
const net = new ChainNet({
  validators: 4,
  extraNodes: 4,
  params: { blockIntervalMs: 50 },
  nodeConfig: (n) => roleConfig(n),
});
const load = new TxLoad(net.chainId, 32, alice.publicKey);
const proxy = new LyingProxy('', net.chainId);
net.opts.accounts = [
  ...load.genesisAccounts(),
  { publicKey: alice.publicKey, balances: [{ asset: 'USD', amount: 5n }] },
];

function roleConfig(n: NodeHandle): Record<string, unknown> {
  const api = (i: number): string => `http://${net.nodes[i]!.host}:${net.nodes[i]!.apiPort}`;
  if (n.index === SUPER) return { role: 'super' };
  if (n.index === ORD) return { role: 'ordinary', retentionBlocks: RETENTION };
  if (n.index === JOINER) return { role: 'ordinary', retentionBlocks: RETENTION, syncFrom: [api(ORD)] };
  if (n.index === LIGHT)
    return { role: 'light', syncFrom: [proxy.url, api(SUPER)], followAccounts: [toHex(alice.publicKey)], peers: [] };
  return {};
}

const node = (i: number): NodeHandle => net.nodes[i]!;
const bytes = async (i: number): Promise<number> => (await net.status(node(i)))?.storage?.bytes ?? NaN;
const samples: { height: number; super: number; ordinary: number; light: number }[] = [];

beforeAll(async () => {
  await proxy.start();
  await net.init();
  proxy.target = node(SUPER).api;
  await net.startAll();
  for (const i of [SUPER, ORD, LIGHT]) net.start(i);
  await Promise.all([SUPER, ORD, LIGHT].map((i) => net.waitReady(node(i))));
  load.start([node(0).api], 100, 64); // ~320 tx/s; every 64th transfer goes to alice
}, 120_000);

afterAll(async () => {
  load.stop();
  if (process.env.CHAIN_E2E_LOGS)
    for (const n of net.nodes) console.log(`--- node${n.index}\n` + net.dumpLogs(n.index));
  await net.stop();
  await proxy.stop();
});

describe('tiered storage: super, ordinary, light', () => {
  it('the light node rejects a header certified by a non-validator and a tampered balance proof', async () => {
    await waitUntil(async () => (await net.height(node(LIGHT))) >= 20, 60_000, 'light node following headers');
    const rejected0 = await net.metric(node(LIGHT), 'consortia_light_rejected_proofs_total');
    proxy.mode = 'forge-header';
    await waitUntil(
      async () => (await net.metric(node(LIGHT), 'consortia_light_rejected_proofs_total')) > rejected0,
      30_000,
      'forged header rejected',
    );
    expect(proxy.lies).toBeGreaterThan(0);
    // the light node went on with the honest super node, and its headers are the real ones
    const h = await net.height(node(LIGHT));
    await waitUntil(async () => (await net.height(node(LIGHT))) > h + 5, 30_000, 'light node continuing after a lie');
    const real = await net.get(node(SUPER), `/v1/blocks/${h + 1}/header`);
    const mine = await net.get(node(LIGHT), `/v1/blocks/${h + 1}/header`);
    expect(mine.body.hash).toBe(real.body.hash);

    proxy.mode = 'tamper-proof';
    const rejected1 = await net.metric(node(LIGHT), 'consortia_light_rejected_proofs_total');
    await waitUntil(
      async () => (await net.metric(node(LIGHT), 'consortia_light_rejected_proofs_total')) > rejected1,
      40_000,
      'tampered proof rejected',
    );
    proxy.mode = 'honest';
    expect(await net.metric(node(LIGHT), 'consortia_light_verified_headers_total')).toBeGreaterThan(20);
  });

  it(`runs ${BLOCKS} blocks under load: ordinary stays flat once its window is full, super grows`, async () => {
    const sample = async (): Promise<void> => {
      const height = await net.height(node(SUPER));
      samples.push({ height, super: await bytes(SUPER), ordinary: await bytes(ORD), light: await bytes(LIGHT) });
    };
    let joined = false;
    await waitUntil(
      async () => {
        const h = await net.height(node(SUPER));
        if (!joined && h >= BLOCKS / 2) {
          joined = true;
          net.start(JOINER);
        } // joins from a snapshot mid-run
        if (samples.length === 0 || h - samples[samples.length - 1]!.height >= 150) await sample();
        return h >= BLOCKS;
      },
      420_000,
      `${BLOCKS} blocks`,
    );
    await sample();
    load.stop();
    console.log(
      '[tiers] samples',
      JSON.stringify(samples.map((x) => [x.height, x.super, x.ordinary, x.light])),
      'load sent',
      load.sent,
      'refused',
      load.refused,
    );
    expect(load.sent).toBeGreaterThan(BLOCKS * 5);
    const full = samples.filter((s) => s.height >= RETENTION * 4);
    const first = full[0]!;
    const last = full[full.length - 1]!;
    const superGrowth = last.super - first.super;
    // trend, not single samples: LevelDB's log and compactions make any one reading jitter
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const half = Math.floor(full.length / 2);
    const ordTrend = mean(full.slice(half).map((s) => s.ordinary)) - mean(full.slice(0, half).map((s) => s.ordinary));
    const superTrend = mean(full.slice(half).map((s) => s.super)) - mean(full.slice(0, half).map((s) => s.super));
    console.log(
      '[tiers] after the window filled: super grew',
      superGrowth,
      'bytes (trend',
      superTrend,
      '); ordinary trend',
      ordTrend,
    );
    expect(superGrowth).toBeGreaterThan(2_000_000);
    expect(ordTrend).toBeLessThan(superTrend * 0.25); // flat while the archive grows
    expect(Math.max(...full.map((s) => s.ordinary))).toBeLessThan(last.super);
    expect(last.ordinary).toBeLessThan(last.super);
    expect(last.light).toBeLessThan(last.super * 0.2);
    const st = await net.status(node(ORD));
    expect(st!.storage!.lowestHeight).toBeGreaterThan(st!.storage!.highestHeight - RETENTION - 300);
    expect(await net.metric(node(ORD), 'consortia_storage_pruned_blocks_total')).toBeGreaterThan(BLOCKS / 2);
  });

  it('ordinary answers PRUNED (410) for old heights; the super answers them, including past account state', async () => {
    const pruned = await net.get(node(ORD), '/v1/blocks/5');
    expect(pruned.status).toBe(410);
    expect(pruned.body.error.code).toBe('PRUNED');
    expect(pruned.body.error.details.lowestHeight).toBeGreaterThan(5);
    expect(pruned.body.error.message).toMatch(/super/);
    const archived = await net.get(node(SUPER), '/v1/blocks/5');
    expect(archived.status).toBe(200);
    expect((await net.get(node(ORD), '/v1/blocks/5/commit')).status).toBe(410);
    expect((await net.get(node(SUPER), '/v1/blocks/5/commit')).status).toBe(200);
    const past = await net.get(node(SUPER), `/v1/accounts/${toHex(alice.publicKey)}?height=10`);
    expect(past.status).toBe(200);
    expect(past.body.height).toBe(10);
    expect(past.body.stateRoot).toBe((await net.get(node(SUPER), '/v1/blocks/10/header')).body.header.stateRoot);
    expect((await net.get(node(ORD), `/v1/accounts/${toHex(alice.publicKey)}?height=10`)).status).toBe(410);
  });

  it('the ordinary node that joined from a snapshot agrees on the state root without the old history', async () => {
    const head = await net.height(node(SUPER));
    await net.waitHeight([node(JOINER)], head, 120_000);
    const s = await net.status(node(JOINER));
    expect(s!.storage!.lowestHeight).toBeGreaterThan(BLOCKS / 2 - 50); // started at the snapshot, no replay
    const [a, b] = await Promise.all([
      net.get(node(JOINER), `/v1/blocks/${head}/header`),
      net.get(node(SUPER), `/v1/blocks/${head}/header`),
    ]);
    expect(a.body.header.stateRoot).toBe(b.body.header.stateRoot);
    expect(a.body.hash).toBe(b.body.hash);
    await waitUntil(
      async () => (await net.height(node(JOINER))) === (await net.height(node(SUPER))),
      20_000,
      'joiner at head',
    );
  });

  it('the light node verifies its followed account balance against a verified header', async () => {
    const pk = toHex(alice.publicKey);
    let light: { status: number; body: any } | null = null;
    await waitUntil(
      async () => {
        light = await net.get(node(LIGHT), `/v1/accounts/${pk}`);
        return light.status === 200 && light.body.height >= BLOCKS;
      },
      60_000,
      'light account state at the final height',
    );
    const l = light!.body;
    const archive = await net.get(node(SUPER), `/v1/accounts/${pk}?height=${l.height}`);
    expect(l.stateRoot).toBe(archive.body.stateRoot);
    expect(l.balances).toEqual(archive.body.balances);
    expect(BigInt(l.balances[0].amount)).toBeGreaterThan(5n); // it received part of the load
    const txs = await net.get(node(LIGHT), `/v1/accounts/${pk}/txs`);
    expect(txs.body.txs.length).toBeGreaterThan(5);
    expect((await net.get(node(LIGHT), '/v1/blocks/3')).status).toBe(410); // headers only
    expect((await net.get(node(LIGHT), '/v1/blocks/3/header')).status).toBe(200);
  });
});
