import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tags, domainMessage, toHex, verify, verifyProofOfPossession, voteSignBytes } from '../../src/chain/index.js';
import { createPrivValidator, type NodeContext } from '../../src/node/assembly.js';
import { ConsensusKeys, CONSENSUS_KEYS_MANIFEST } from '../../src/node/consensus-keys.js';
import { openNodeKey, type NodeKeyConfig } from '../../src/node/node-key.js';
import { DoubleSignError } from '../../src/node/store/index.js';
import { SOFTHSM_MODULE, createSoftHsmToken, type SoftHsmToken } from '../lib/custody/softhsm.js';

const CHAIN = 'rot-unit';
let root: string;
let token: SoftHsmToken;
const env = { NODE_PIN: '' };

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'consortia-consensus-keys-'));
  token = createSoftHsmToken('consensus-keys-unit');
  env.NODE_PIN = token.pin;
});
afterAll(() => {
  token.remove();
  rmSync(root, { recursive: true, force: true });
});

async function open(dir: string, keyConfig?: NodeKeyConfig) {
  const { key } = await openNodeKey(join(dir, 'node-key.json'), keyConfig, env);
  return { key, keys: ConsensusKeys.open(dir, key, keyConfig, env) };
}
const vote = (h: number, r = 0) =>
  domainMessage(Tags.VOTE, voteSignBytes(CHAIN, 'precommit', h, r, new Uint8Array(32).fill(h)));

describe('consensus keys of a validator', () => {
  it('generates a file key (0600) returning only its public key and proof of possession; a retry gets the same pending key', async () => {
    const dir = join(root, 'file');
    const { key, keys } = await open(dir);
    const p = keys.prepare(CHAIN);
    expect(p.created).toBe(true);
    expect(Object.keys(p).sort()).toEqual(['created', 'proofOfPossession', 'publicKey']);
    expect(verifyProofOfPossession(CHAIN, p.publicKey, p.proofOfPossession)).toBe(true);
    expect(toHex(p.publicKey)).not.toBe(toHex(key.publicKey));
    expect(statSync(join(dir, 'consensus-keys', 'key-1.json')).mode & 0o777).toBe(0o600);
    expect(keys.prepare(CHAIN)).toMatchObject({ created: false, publicKey: p.publicKey });
    expect(keys.activeKey).toBe(toHex(key.publicKey)); // preparing changes nothing the node signs with
  });

  it('selects the key in the validator set of the height to sign, records the switch, and finds it after a restart', async () => {
    const dir = join(root, 'switch');
    const { key, keys } = await open(dir);
    const p = keys.prepare(CHAIN);
    const before = [{ publicKey: key.publicKey }];
    const after = [{ publicKey: p.publicKey }];
    expect(toHex(keys.select(before).publicKey)).toBe(toHex(key.publicKey));
    expect(toHex(keys.select(after).publicKey)).toBe(toHex(p.publicKey));
    keys.activate(toHex(p.publicKey), 8);
    expect(JSON.parse(readFileSync(join(dir, CONSENSUS_KEYS_MANIFEST), 'utf8')).keys[0].activeFromHeight).toBe(8);
    keys.close();
    key.close();
    const again = await open(dir);
    expect(again.keys.activeKey).toBe(toHex(p.publicKey));
    expect(again.keys.list(after).map((k) => [k.nodeKey, k.active, k.pending])).toEqual([
      [true, false, false],
      [false, true, false],
    ]);
    // the next rotation makes a new key; the used one is never handed out again
    expect(toHex(again.keys.prepare(CHAIN).publicKey)).not.toBe(toHex(p.publicKey));
  });

  it('signs below the switch with the old key and from it with the new one; no position is signed twice with either key', async () => {
    const dir = join(root, 'privval');
    const { key, keys } = await open(dir);
    const ctx = { config: { dataDir: dir }, key, consensusKeys: keys } as unknown as NodeContext;
    const pv = createPrivValidator(ctx);
    const p = keys.prepare(CHAIN);
    const s7 = pv.sign(7, 0, 'precommit', vote(7));
    expect(verify(key.publicKey, vote(7), s7)).toBe(true);
    keys.activate(toHex(p.publicKey), 8); // block 7 moved the validator to the new key
    // the same position again with the new key: refused, even for the identical bytes
    expect(() => pv.sign(7, 0, 'precommit', vote(7))).toThrow(DoubleSignError);
    expect(() => pv.sign(7, 0, 'prevote', vote(7))).toThrow(DoubleSignError);
    const s8 = pv.sign(8, 0, 'precommit', vote(8));
    expect(verify(p.publicKey, vote(8), s8)).toBe(true);
    expect(verify(key.publicKey, vote(8), s8)).toBe(false);
    expect(() => pv.sign(8, 0, 'precommit', vote(8, 1))).toThrow(DoubleSignError); // conflicting bytes
    expect(Buffer.from(pv.sign(8, 0, 'precommit', vote(8)))).toEqual(Buffer.from(s8)); // re-broadcast
    pv.close();
    // after a restart the record (with its key) is still there
    const pv2 = createPrivValidator(ctx);
    expect(pv2.lastSigned()).toEqual({ height: 8, round: 0, step: 3, key: toHex(p.publicKey) });
    expect(() => pv2.sign(7, 5, 'precommit', vote(7, 5))).toThrow(DoubleSignError);
    pv2.close();
  });

  it('generates the new key inside the PKCS#11 token of the node key, where it stays', async () => {
    const dir = join(root, 'pkcs11');
    const cfg: NodeKeyConfig = {
      backend: 'pkcs11',
      module: SOFTHSM_MODULE,
      tokenLabel: 'consensus-keys-unit',
      keyLabel: 'validator',
      pinEnv: 'NODE_PIN',
    };
    const { key, keys } = await open(dir, cfg);
    const p = keys.prepare(CHAIN);
    expect(verifyProofOfPossession(CHAIN, p.publicKey, p.proofOfPossession)).toBe(true);
    const rec = JSON.parse(readFileSync(join(dir, CONSENSUS_KEYS_MANIFEST), 'utf8')).keys[0];
    expect(rec).toMatchObject({ backend: 'pkcs11', keyLabel: 'validator.consensus.1', publicKey: toHex(p.publicKey) });
    expect(rec.file).toBeUndefined();
    keys.close();
    key.close();
    const again = await open(dir, cfg);
    const m = vote(3);
    expect(verify(p.publicKey, m, again.keys.signer(toHex(p.publicKey)).signSync!(m))).toBe(true);
    again.keys.close();
    again.key.close();
  });
});
