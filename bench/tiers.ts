/**
 * Tiered storage benchmark (a figure, not a test): 4 validators + a super, an ordinary
 * (retention window) and a light node as real processes on loopback, under a load of signed
 * transfers with short blocks. Prints bytes on disk per role (the nodes' own /v1/status
 * storage.bytes) against chain length. Bounded: stops at --blocks or --seconds, kills every
 * process it started. Last line: one JSON object.
 *   npm run bench:tiers -- --blocks 1500 --seconds 240
 */
import { generateKeyPair, toHex } from '../src/chain/index.js';
import { ChainNet, type NodeHandle } from '../test/harness/chain-net.js';
import { TxLoad } from '../test/harness/tx-load.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const BLOCKS = arg('blocks', 1500);
const SECONDS = arg('seconds', 240);
const RETENTION = arg('retention', 200);
const [SUPER, ORD, LIGHT] = [4, 5, 6];

const follow = generateKeyPair();
const net = new ChainNet({
  validators: 4,
  extraNodes: 3,
  params: { blockIntervalMs: 50 },
  nodeConfig: (n) => {
    const api = (i: number): string => `http://${net.nodes[i]!.host}:${net.nodes[i]!.apiPort}`;
    if (n.index === SUPER) return { role: 'super' };
    if (n.index === ORD) return { role: 'ordinary', retentionBlocks: RETENTION };
    if (n.index === LIGHT)
      return { role: 'light', syncFrom: [api(SUPER)], followAccounts: [toHex(follow.publicKey)], peers: [] };
    return {};
  },
});
const load = new TxLoad(net.chainId, 32, follow.publicKey);
net.opts.accounts = [
  ...load.genesisAccounts(),
  { publicKey: follow.publicKey, balances: [{ asset: 'USD', amount: 1n }] },
];

const node = (i: number): NodeHandle => net.nodes[i]!;
const bytes = async (i: number): Promise<number> => (await net.status(node(i)))?.storage?.bytes ?? NaN;

async function main(): Promise<void> {
  const deadline = Date.now() + SECONDS * 1000;
  let stopped = false;
  const cleanup = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    load.stop();
    await net.stop();
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await net.init();
    await net.startAll();
    for (const i of [SUPER, ORD, LIGHT]) net.start(i);
    await Promise.all([SUPER, ORD, LIGHT].map((i) => net.waitReady(node(i))));
    const t0 = Date.now();
    load.start([node(0).api], 100, 64);
    console.log(
      `tiers bench: 4 validators + super + ordinary (retention ${RETENTION} blocks) + light; 50 ms blocks; ~320 tx/s of signed transfers`,
    );
    console.log('blocks\tsuper_bytes\tordinary_bytes\tlight_bytes\tordinary_lowest');
    let last = { blocks: 0, super: 0, ordinary: 0, light: 0, lowest: 0 };
    let next = 100;
    while (Date.now() < deadline) {
      const h = await net.height(node(SUPER));
      if (h >= next || h >= BLOCKS) {
        const st = await net.status(node(ORD));
        last = {
          blocks: h,
          super: await bytes(SUPER),
          ordinary: await bytes(ORD),
          light: await bytes(LIGHT),
          lowest: st?.storage?.lowestHeight ?? 0,
        };
        console.log(`${last.blocks}\t${last.super}\t${last.ordinary}\t${last.light}\t${last.lowest}`);
        next = h + 100;
        if (h >= BLOCKS) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const secs = (Date.now() - t0) / 1000;
    const txs = load.sent;
    await cleanup();
    console.log(
      JSON.stringify({
        blocks: last.blocks,
        super_bytes: last.super,
        ordinary_bytes: last.ordinary,
        light_bytes: last.light,
        ordinary_lowest_height: last.lowest,
        retention_blocks: RETENTION,
        txs_submitted: txs,
        seconds: Math.round(secs),
        light_fraction_of_super: Number((last.light / last.super).toFixed(3)),
        ordinary_fraction_of_super: Number((last.ordinary / last.super).toFixed(3)),
      }),
    );
  } catch (err) {
    await cleanup();
    console.error('bench failed:', (err as Error).message);
    process.exit(1);
  }
}

void main();
