import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign, toHex } from '../../../src/chain/index.js';
import { CONSENSUS_KEYS_MANIFEST, ConsensusKeyCodes, ConsensusKeys } from '../../../src/node/consensus-keys.js';
import type { NodeKey } from '../../../src/node/node-key.js';
import { makeTlsIdentity } from '../../../src/node/p2p/index.js';
import { createNodeApi, type NodeApp } from '../../../src/node/rpc/index.js';
import { FakeBackend, makeSealedGenesis } from './fake-backend.js';

// A validator whose node key is in AWS KMS refuses to make a rotation key (it would need
// kms:CreateKey): POST /v1/consensus-keys answers 409 with a stable code and writes nothing.
const ADMIN_TOKEN = 'consensus-keys-kms-admin-token-0123456789';
const LIMITS = { maxTxBytes: 2048, bodyLimitBytes: 64 * 1024, maxWaitMs: 2000, sseKeepAliveMs: 60_000 };
const KMS_KEY = { backend: 'aws-kms', keyId: 'alias/validator-1', region: 'eu-west-1' };

describe('consensus key rotation on a node whose key is in AWS KMS', () => {
  const { sealed } = makeSealedGenesis();
  const backend = new FakeBackend('test-chain', sealed);
  // Stands in for the KMS key (no network): the backend tag is what ConsensusKeys goes by.
  const nodeKey: NodeKey = {
    backend: 'aws-kms',
    publicKey: backend.nodeKey.publicKey,
    sign: async (m) => sign(backend.nodeKey.secretKey, m),
    tlsIdentity: () => makeTlsIdentity(backend.nodeKey.secretKey),
    close: () => undefined,
  };
  let dir: string;
  let keys: ConsensusKeys;
  let app: NodeApp;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'consensus-keys-kms-'));
    keys = ConsensusKeys.open(dir, nodeKey, KMS_KEY, {});
    Object.assign(backend, {
      prepareConsensusKey: () => ({ ...keys.prepare('test-chain'), currentKey: nodeKey.publicKey }),
      consensusKeys: () => keys.list([{ publicKey: nodeKey.publicKey }]),
    });
    app = await createNodeApi({ backend, registry: new Registry(), limits: LIMITS, adminToken: () => ADMIN_TOKEN });
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('POST /v1/consensus-keys is a 409 KEY_ROTATION_UNSUPPORTED, and no key is recorded', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/consensus-keys',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: {},
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({
      code: ConsensusKeyCodes.KEY_ROTATION_UNSUPPORTED,
      message: expect.stringMatching(/kms:CreateKey/),
    });
    expect(existsSync(join(dir, CONSENSUS_KEYS_MANIFEST))).toBe(false);
  });

  it('GET /v1/consensus-keys lists the KMS node key as the active one', async () => {
    const res = await app.inject({ method: 'GET', url: '/v1/consensus-keys' });
    expect(res.statusCode).toBe(200);
    expect(res.json().keys).toEqual([
      { publicKey: toHex(nodeKey.publicKey), backend: 'aws-kms', nodeKey: true, active: true, pending: false },
    ]);
  });
});
