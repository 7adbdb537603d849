/**
 * Fault-recovery benchmark (figures, not a test): 4 validators as real processes on 127.0.0.2-5,
 * P2P links cut with iptables in a chain this bench owns (test/harness/netfault.ts: only the
 * nodes' own P2P links; root and iptables needed), clients committing transfers throughout.
 * Per scenario it prints the seconds from the heal to
 *   - heal_to_block: every node finalized a block above its height at the heal (the cut-off
 *     nodes are back in consensus or block sync),
 *   - catchup: every node is above the highest height at the heal and every link is up again,
 *   - reconnect: every node is connected to all three others,
 * and stall: from the cut to the next block on the side that kept a quorum.
 * Scenarios: isolate-one (validator 3), split-2-2, flap (one link cut/up twice, then cut), and
 * isolate-proposer (the proposer of the next height, cut as the previous block is finalized).
 * Then committed tx/s under a load above block capacity (maxBlockTxs per 300 ms block) with all
 * four validators up, and with validator 3 killed: one_down_tps_ratio = one-down / all-up.
 *   npm run bench:faults -- [--cut-seconds 60] [--load-seconds 20] [--scenarios isolate-one,flap]
 * Last line: one JSON object with heal_to_block_s_max, catchup_s_max, one_down_tps_ratio.
 */
import { TxLoad } from '../test/harness/tx-load.js';
import { netFaultUnsupportedReason } from '../test/harness/netfault.js';
import { PartitionLab, type Recovery } from '../test/harness/partition-lab.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const CUT_MS = arg('cut-seconds', 60) * 1000;
const LOAD_S = arg('load-seconds', 20);
const si = process.argv.indexOf('--scenarios');
const ALL = ['isolate-one', 'split-2-2', 'flap', 'isolate-proposer'];
const SCENARIOS = si >= 0 ? process.argv[si + 1]!.split(',') : ALL;
const BLOCK_TXS = 100;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const unsupported = netFaultUnsupportedReason();
  if (unsupported) {
    console.error(`bench:faults cannot run here: ${unsupported}`);
    process.exit(2);
  }
  const lab = new PartitionLab({
    tag: 'FBENCH',
    committers: 4,
    net: {
      params: { blockIntervalMs: 300, maxBlockTxs: BLOCK_TXS },
      ...(process.env.BENCH_LOG_LEVEL ? { logLevel: process.env.BENCH_LOG_LEVEL } : {}),
    },
  });
  const load = new TxLoad(lab.net.chainId, 60);
  lab.net.opts.accounts!.push(...load.genesisAccounts()); // funded in the genesis made by start()
  const results: Recovery[] = [];
  let allUp = 0,
    oneDown = 0;
  try {
    await lab.start();
    lab.committer.start();
    await lab.net.waitHeight(lab.nodes, 4);
    const ep = lab.endpoints;
    for (const name of SCENARIOS) {
      let r: Recovery;
      if (name === 'isolate-one') r = await lab.scenario(name, () => lab.cutter.isolate(ep[3]!, ep), CUT_MS, [0, 1, 2]);
      else if (name === 'split-2-2')
        r = await lab.scenario(name, () => lab.cutter.partition([ep[0]!, ep[1]!], [ep[2]!, ep[3]!]), CUT_MS);
      else if (name === 'flap') {
        r = await lab.scenario(
          name,
          async () => {
            for (let i = 0; i < 2; i++) {
              lab.cutter.cut(ep[0]!, ep[1]!);
              await sleep(CUT_MS / 4);
              lab.cutter.heal();
              await sleep(3_000);
            }
            lab.cutter.cut(ep[0]!, ep[1]!);
          },
          CUT_MS / 2,
          [0, 1, 2, 3],
        );
      } else if (name === 'isolate-proposer') {
        r = await lab.scenario(
          name,
          async () => {
            lab.cutter.isolate(ep[await lab.nextProposerAtBlock()]!, ep);
          },
          CUT_MS,
          [0, 1, 2, 3],
        );
      } else throw new Error(`unknown scenario ${name}`);
      results.push(r);
      console.log(
        `${name}: cut ${r.cut_s} s -> heal to next block ${r.heal_to_block_s.toFixed(1)} s, full catch-up ${r.catchup_s.toFixed(1)} s, links up ${r.reconnect_s.toFixed(1)} s${r.stall_s !== null ? `, stall at the cut ${r.stall_s.toFixed(1)} s` : ''}`,
      );
      await lab.checkAgreement();
      await lab.waitMesh(120_000);
    }
    await lab.committer.stop();
    const missing = await lab.committer.missing(lab.nodes);
    console.log(
      `acknowledged commits: ${lab.committer.acked.size}, missing on some node: ${missing.length}, agreed up to height ${await lab.checkAgreement()}`,
    );

    // Throughput with a validator down, against all up: a load above block capacity.
    const committed = async (): Promise<number> => lab.net.metric(lab.nodes[0]!, 'consortia_chain_txs_committed_total');
    const window = async (): Promise<number> => {
      await sleep(3_000); // settle
      const [c0, t0] = [await committed(), Date.now()];
      await sleep(LOAD_S * 1000);
      return ((await committed()) - c0) / ((Date.now() - t0) / 1000);
    };
    load.start(
      lab.nodes.map((n) => n.api),
      100,
    );
    allUp = await window();
    console.log(`all four up: ${allUp.toFixed(0)} tx/s committed (blocks of at most ${BLOCK_TXS} txs every 300 ms)`);
    load.stop();
    await lab.net.kill(3);
    load.start(
      lab.nodes.slice(0, 3).map((n) => n.api),
      100,
    );
    oneDown = await window();
    load.stop();
    console.log(`validator 3 down: ${oneDown.toFixed(0)} tx/s committed (${(oneDown / allUp).toFixed(2)} of all up)`);
  } finally {
    load.stop();
    await lab.committer.stop().catch(() => undefined);
    if (process.env.BENCH_LOG_LEVEL)
      for (const n of lab.nodes) console.error(`--- node${n.index}\n${lab.net.dumpLogs(n.index)}`);
    await lab.stop();
  }
  const round = (x: number): number => Math.round(x * 100) / 100;
  console.log(
    JSON.stringify({
      heal_to_block_s_max: round(Math.max(...results.map((r) => r.heal_to_block_s))),
      catchup_s_max: round(Math.max(...results.map((r) => r.catchup_s))),
      reconnect_s_max: round(Math.max(...results.map((r) => r.reconnect_s))),
      one_down_tps_ratio: round(oneDown / allUp),
      all_up_tps: Math.round(allUp),
      one_down_tps: Math.round(oneDown),
      cut_s: CUT_MS / 1000,
      scenarios: results.map((r) => ({
        ...r,
        heal_to_block_s: round(r.heal_to_block_s),
        catchup_s: round(r.catchup_s),
        reconnect_s: round(r.reconnect_s),
        stall_s: r.stall_s === null ? null : round(r.stall_s),
      })),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
