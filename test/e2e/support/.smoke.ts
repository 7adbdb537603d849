import { ChainNet } from '/work/main/test/e2e/support/chain-net.js';
const net = new ChainNet({ validators: 4, logLevel: 'debug' });
await net.init();
try {
  await net.startAll();
  console.log('started');
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    console.log(await Promise.all(net.nodes.map((n) => net.height(n))));
  }
} catch (e) { console.log(e); }
console.log(net.dumpLogs(0));
await net.stop();
