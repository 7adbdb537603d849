import { ChainNet } from '/work/main/test/e2e/support/chain-net.js';
const net = new ChainNet({ validators: 4, logLevel: 'debug' });
await net.init();
try {
  await net.startAll();
  await new Promise((r) => setTimeout(r, 3000));
  for (const n of net.nodes) { const s = await net.status(n); console.log(JSON.stringify(s!.peers), s!.height); const m = await (await fetch(n.api + "/metrics")).text(); console.log(m.split("\n").filter((l) => l.startsWith("consortia_consensus_round") || l.startsWith("consortia_p2p")).join("\n")); }
} catch (e) { console.log(e); }
if (0) console.log(net.dumpLogs(i).split('\n').filter((l) => !l.includes('reqId')).join('\n').slice(-1500));
await net.stop();
