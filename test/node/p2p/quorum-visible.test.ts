import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Tags,
  generateKeyPair,
  sign,
  signDomain,
  toHex,
  voteSignBytes,
  type KeyPair,
} from '../../../src/chain/index.js';
import { createLogger } from '../../../src/lib/logging.js';
import { ConsensusEngine, encodeMsg } from '../../../src/node/engine/index.js';
import { createNodeMetrics } from '../../../src/node/metrics.js';
import { PrivValidator } from '../../../src/node/store/index.js';
import { openEngineChain, tipMempool } from '../engine/engine-fixture.js';
import { CHAIN } from '../../chain/fixtures.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * One started engine of a 4-validator chain (equal power: a quorum is 3), its node the first
 * validator, with metrics, its log lines and a clock the test moves (clock.ms).
 */
async function startEngine() {
  const { f, dir, store, tip } = await openEngineChain('quorum-', cleanups);
  const mempool = tipMempool(tip, 100);
  const registry = new Registry();
  const lines: Record<string, unknown>[] = [];
  const clock = { ms: 1_000_000 };
  const self = f.validators[0]!;
  const engine = new ConsensusEngine({
    tip,
    mempool,
    nodePublicKey: self.publicKey,
    metrics: createNodeMetrics(registry),
    now: () => clock.ms,
    logger: createLogger('info', {}, (l) => {
      lines.push(JSON.parse(l) as Record<string, unknown>);
    }),
    out: { broadcast: () => undefined, send: () => undefined },
    privval: new PrivValidator(join(dir, 'privval.state'), (m) => sign(self.secretKey, m)),
    timeouts: { proposeMs: 60_000, prevoteMs: 60_000, precommitMs: 60_000 },
    onCommitted: () => undefined,
    requestSync: () => undefined,
  });
  await engine.start(store);
  cleanups.push(() => engine.stop());
  return { f, engine, registry, lines, clock };
}

describe('quorum visibility', () => {
  it('tracks whether the connected validators hold a quorum, and says so in the log (rate-limited)', async () => {
    const { f, engine, registry, lines, clock } = await startEngine();
    const [, ...others] = f.validators;
    const gauge = async (): Promise<number> =>
      Number(/^consortia_p2p_quorum_visible (\d)$/m.exec(await registry.metrics())![1]);
    const cutOff = (): Record<string, unknown>[] =>
      lines.filter((l) => String(l.msg).startsWith('cannot see a quorum'));
    const [b, c, d] = others.map((k) => toHex(k.publicKey));

    engine.onPeerUp(b!);
    expect(await gauge()).toBe(0); // itself + 1 of 4
    expect(cutOff()).toEqual([]); // still in the start-up grace
    engine.onPeerUp(c!);
    expect(await gauge()).toBe(1); // itself + 2 of 4 = a quorum
    expect(engine.visiblePower()).toMatchObject({ visible: 30, total: 40, missing: [d] });

    clock.ms += 20_000;
    engine.onPeerDown(b!);
    expect(await gauge()).toBe(0);
    expect(cutOff()).toHaveLength(1);
    expect(cutOff()[0]).toMatchObject({ level: 'warn', visiblePower: 20, totalPower: 40 });
    engine.onPeerDown(c!);
    clock.ms += 5_000;
    engine.onPeerUp(d!);
    engine.onPeerDown(d!);
    expect(cutOff()).toHaveLength(1); // at most one per 15 s while it lasts
    clock.ms += 15_000;
    engine.onPeerDown(d!);
    expect(cutOff()).toHaveLength(2);
    expect(cutOff()[1]!.forMs).toBe(20_000);
    engine.onPeerUp(b!);
    engine.onPeerUp(c!);
    expect(await gauge()).toBe(1);
    expect(lines.some((l) => l.msg === 'quorum of validators visible again')).toBe(true);
  });

  it('counts a validator whose votes arrive though no connection carries its key (a rotated consensus key), for a few seconds', async () => {
    const { f, engine, clock } = await startEngine();
    const [, b, c, d] = f.validators;
    const prevote = (k: KeyPair, round: number) =>
      encodeMsg({
        kind: 'vote',
        type: 'prevote',
        height: 1,
        round,
        blockHash: null,
        validator: k.publicKey,
        signature: signDomain(Tags.VOTE, k.secretKey, voteSignBytes(CHAIN, 'prevote', 1, round, null)),
      });
    // b is connected under its own key; c's connection carries another key (its p2p identity)
    engine.onPeerUp(toHex(b!.publicKey));
    engine.onPeerUp('p2p-identity-of-c');
    expect(engine.visiblePower().missing.sort()).toEqual([toHex(c!.publicKey), toHex(d!.publicKey)].sort());
    engine.onMessage('p2p-identity-of-c', prevote(c!, 0));
    expect(engine.visiblePower()).toMatchObject({ visible: 30, missing: [toHex(d!.publicKey)] });
    // a vote under a key outside the set counts for nothing
    const stranger = generateKeyPair();
    engine.onMessage('p2p-identity-of-c', prevote(stranger, 0));
    expect(engine.visiblePower().visible).toBe(30);
    // no vote from c for longer than the window: not visible any more
    clock.ms += 6_000;
    expect(engine.visiblePower().missing.sort()).toEqual([toHex(c!.publicKey), toHex(d!.publicKey)].sort());
    engine.onMessage('p2p-identity-of-c', prevote(c!, 1));
    expect(engine.visiblePower().visible).toBe(30);
  });
});
