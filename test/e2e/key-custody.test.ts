import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, verifyProofOfPossession } from '../../src/chain/index.js';
import { SOFTHSM_MODULE } from '../lib/custody/softhsm.js';
import { ChainNet, MAIN } from '../harness/chain-net.js';

// 4 validators whose consensus keys live in SoftHSM2 tokens, one token (and tokendir) per node:
// each key is generated inside its token by `main.js keygen` (the node's own keygen mode), the node
// signs votes and proposals with CKM_EDDSA there, and presents a p2p certificate bound to it.
const PIN = '246810';
const hsm = new Map<number, { conf: string }>();

function tokenFor(i: number, dataDir: string): { conf: string; env: Record<string, string> } {
  const dir = join(dataDir, 'softhsm');
  mkdirSync(join(dir, 'tokens'), { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', `validator-${i}`, '--pin', PIN, '--so-pin', `${PIN}0`],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe' },
  );
  hsm.set(i, { conf });
  return { conf, env: { SOFTHSM2_CONF: conf, NODE_HSM_PIN: PIN } };
}

const keyConfig = (i: number) => ({
  backend: 'pkcs11',
  module: SOFTHSM_MODULE,
  tokenLabel: `validator-${i}`,
  keyLabel: 'consensus',
  pinEnv: 'NODE_HSM_PIN',
});

const net = new ChainNet({
  validators: 4,
  externalKey: (i, chainId, dataDir) => {
    const { env } = tokenFor(i, dataDir);
    const k = keyConfig(i);
    const out = execFileSync(
      process.execPath,
      [MAIN, 'keygen', '--key-file', join(dataDir, 'unused-key-file.json'), '--chain-id', chainId],
      {
        env: {
          ...process.env,
          ...env,
          CONSORTIA_NODE_KEY_BACKEND: k.backend,
          CONSORTIA_NODE_KEY_MODULE: k.module,
          CONSORTIA_NODE_KEY_TOKEN_LABEL: k.tokenLabel,
          CONSORTIA_NODE_KEY_KEY_LABEL: k.keyLabel,
          CONSORTIA_NODE_KEY_PIN_ENV: k.pinEnv,
        },
        encoding: 'utf8',
      },
    );
    const j = JSON.parse(out.trim().split('\n').pop()!) as { publicKey: string; proofOfPossession: string };
    return { publicKey: fromHex(j.publicKey, 32), proofOfPossession: fromHex(j.proofOfPossession, 64) };
  },
  nodeConfig: (n) => ({ key: keyConfig(n.index) }),
  nodeEnv: (n) => ({ SOFTHSM2_CONF: hsm.get(n.index)!.conf, NODE_HSM_PIN: PIN }),
});

beforeAll(async () => {
  await net.init();
  await net.startAll();
}, 120_000);
afterAll(async () => {
  if (process.env.CHAIN_E2E_LOGS)
    for (const n of net.nodes) console.log(`--- node${n.index}\n${net.dumpLogs(n.index)}`);
  await net.stop();
});

describe('validators signing with SoftHSM2 keys', () => {
  it('keygen made each key inside its token and its proof of possession verifies; no key file exists', () => {
    for (const v of net.genesis.validators)
      expect(verifyProofOfPossession(net.chainId, v.publicKey, v.proofOfPossession)).toBe(true);
    for (const n of net.nodes) {
      expect(n.key.secretKey.length).toBe(0);
      expect(existsSync(join(n.dataDir, 'unused-key-file.json'))).toBe(false);
      expect(existsSync(join(n.dataDir, 'node-key.json'))).toBe(false);
    }
  });

  it('finalizes blocks signed by the token keys, and every node has the same hash at every height', async () => {
    await net.waitHeight(net.nodes, 5, 90_000);
    const hashes = await net.agreedHashes(net.nodes, 5);
    expect(new Set(hashes).size).toBe(5);
    const b = (await net.block(net.nodes[0]!, 5)) as { header?: { proposer?: string } } | null;
    const proposer = b?.header?.proposer;
    if (proposer !== undefined)
      expect(net.genesis.validators.map((v) => Buffer.from(v.publicKey).toString('hex'))).toContain(proposer);
  });
});
