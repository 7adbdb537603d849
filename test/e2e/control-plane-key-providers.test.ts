/**
 * Keys in PKCS#11 tokens end to end, through the control plane with real processes: both founding
 * organizations' admin keys are generated inside a SoftHSM2 token and sign the genesis approvals
 * there; the platform config names a PKCS#11 key provider (another token, its PIN in a file the
 * control plane reads at start); two of four validators are requested with `key.provider`, each
 * generates its key inside that token on first start, the ceremony runs unchanged, and the four
 * finalize blocks. Bad key requests are refused with 400 and create nothing.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, builtArtifactsPresent, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { Tags, domainMessage, fromHex, toHex } from '../../src/chain/index.js';
import { generatePkcs11Key, type Pkcs11Signer } from '../../src/lib/custody/index.js';
import { client, createOrgWithAdminKey, waitFor, type Call, type OrgHandle } from '../harness/cp-api.js';
import { SOFTHSM_MODULE, createSoftHsmToken, type SoftHsmToken } from '../lib/custody/softhsm.js';

const present = builtArtifactsPresent() && existsSync(SOFTHSM_MODULE);
const PIN = '975310';

/** The public key of `keyLabel` in the token, read in a process of its own (the module keeps per-process state). */
function tokenPublicKey(token: SoftHsmToken, keyLabel: string): string {
  const script = `
    const { openPkcs11Signer } = await import(${JSON.stringify(join(ROOT, 'dist/lib/custody/index.js'))});
    const s = openPkcs11Signer({ backend: 'pkcs11', module: ${JSON.stringify(SOFTHSM_MODULE)}, tokenLabel: 'acme', keyLabel: ${JSON.stringify(keyLabel)}, pinEnv: 'P' }, ${JSON.stringify(PIN)});
    process.stdout.write(Buffer.from(s.publicKey).toString('hex'));
    s.close();`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SOFTHSM2_CONF: token.conf },
    encoding: 'utf8',
  });
}

/** An organization whose admin key is generated inside the founders' token: it signs there, never in this process. */
async function createHsmOrg(
  admin: Call,
  baseUrl: string,
  name: string,
  token: SoftHsmToken,
): Promise<OrgHandle & { signer: Pkcs11Signer }> {
  const signer = generatePkcs11Key(
    { backend: 'pkcs11', module: SOFTHSM_MODULE, tokenLabel: token.tokenLabel, keyLabel: `${name}-admin`, pinEnv: 'P' },
    token.pin,
  );
  const org = await createOrgWithAdminKey(admin, baseUrl, name, signer.publicKey);
  return { ...org, key: { publicKey: signer.publicKey, secretKey: new Uint8Array(0) }, signer };
}

/** A genesis approval signed inside the token (the same bytes signedApproval signs with a file key). */
function hsmApproval(org: OrgHandle & { signer: Pkcs11Signer }, genesisHash: string) {
  return {
    memberId: org.id,
    adminKey: toHex(org.signer.publicKey),
    signature: toHex(org.signer.signSync(domainMessage(Tags.GENESIS_APPROVAL, fromHex(genesisHash, 32)))),
  };
}

describe.skipIf(!present)('control plane e2e: founders and validators keep their keys in PKCS#11 tokens', () => {
  let token: SoftHsmToken;
  let founders: SoftHsmToken;
  let pinDir = '';
  let cp: ControlPlane;
  let admin: Call;
  let a: OrgHandle & { signer: Pkcs11Signer };
  let b: OrgHandle & { signer: Pkcs11Signer };
  let cid = '';

  beforeAll(async () => {
    // SOFTHSM2_CONF is in the control plane's environment, which its local node processes inherit.
    // Both tokens exist before this process first loads the module (it reads the token dir then).
    token = createSoftHsmToken('acme', PIN);
    founders = createSoftHsmToken('founders', PIN);
    pinDir = mkdtempSync(join(tmpdir(), 'consortia-pin-'));
    writeFileSync(join(pinDir, 'pin'), `${PIN}\n`, { mode: 0o600 });
    cp = await startControlPlane({
      hostRange: { first: 251, last: 254 },
      config: {
        keyProviders: [
          {
            name: 'acme-hsm',
            backend: 'pkcs11',
            module: SOFTHSM_MODULE,
            tokenLabel: 'acme',
            pinFile: join(pinDir, 'pin'),
          },
        ],
      },
    });
    admin = client(cp.url, cp.token);
  });
  afterAll(async () => {
    await cp?.shutdown();
    a?.signer.close();
    b?.signer.close();
    founders?.remove();
    token?.remove();
    if (pinDir) rmSync(pinDir, { recursive: true, force: true });
  });

  it('refuses a key request it cannot honour with 400, creating nothing', async () => {
    a = await createHsmOrg(admin, cp.url, 'acme', founders);
    b = await createHsmOrg(admin, cp.url, 'globex', founders);
    const created = await a.call('POST', '/v1/consortia', {
      name: 'custody',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 300, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 120 },
    });
    expect(created.status).toBe(201);
    cid = created.body.id;
    const ask = (key: unknown, role = 'validator') =>
      a.call('POST', `/v1/consortia/${cid}/nodes`, { orgId: a.id, role, clusterId: 'local', key });
    const refusals = [
      [await ask({ provider: 'vault' }), 'key.provider'],
      [await ask({ provider: 'acme-hsm', keyId: 'alias/x' }), 'key.keyId'],
      [await ask({ provider: 'acme-hsm' }, 'light'), 'key'],
    ] as const;
    for (const [r, field] of refusals) {
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION_FAILED');
      expect(r.body.error.details?.field).toBe(field);
    }
    const unknownField = await ask({ provider: 'acme-hsm', pin: PIN });
    expect(unknownField.status).toBe(400);
    expect((await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items).toEqual([]);
  });

  it('founders approve the genesis with token keys; two validators on token keys and two on key files finalize blocks', async () => {
    const hsmNodes: string[] = [];
    for (const [org, key] of [
      [a, { provider: 'acme-hsm' }],
      [a, { provider: 'acme-hsm', keyLabel: 'acme-validator-2' }],
      [b, undefined],
      [b, undefined],
    ] as const) {
      const r = await org.call('POST', `/v1/consortia/${cid}/nodes`, {
        orgId: org.id,
        role: 'validator',
        clusterId: 'local',
        ...(key ? { key } : {}),
      });
      expect(r.status, JSON.stringify(r.body)).toBe(202);
      if (key) {
        expect(r.body.key).toEqual({
          provider: 'acme-hsm',
          backend: 'pkcs11',
          keyLabel: key.keyLabel ?? `consortia-${r.body.id}`,
        });
        hsmNodes.push(r.body.id);
      }
    }
    expect((await a.call('POST', `/v1/consortia/${cid}/ceremony`)).status).toBe(202);
    const cer = await waitFor(
      'genesis assembled',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      90_000,
    );
    for (const org of [a, b])
      expect(
        (await org.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, hsmApproval(org, cer.genesisHash))).status,
      ).toBe(200);
    const nodes = await waitFor(
      'validators ready and in the set',
      async () => {
        const items = (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as any[];
        return items.length === 4 && items.every((n) => n.status.ready && n.status.inValidatorSet === true)
          ? items
          : undefined;
      },
      120_000,
      500,
    );
    const start = Math.max(...nodes.map((n) => n.status.height ?? 0));
    await waitFor(
      'five more blocks on every node',
      async () => {
        const items = (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as any[];
        return items.every((n) => (n.status.height ?? 0) >= start + 5) ? items : undefined;
      },
      90_000,
      500,
    );

    // each token-keyed node's identity is the key generated in the token; no key file was written
    for (const id of hsmNodes) {
      const n = nodes.find((x) => x.id === id)!;
      const label = n.key.keyLabel as string;
      expect(tokenPublicKey(token, label)).toBe(n.status.identity.publicKey);
      expect(existsSync(join(cp.workDir, 'nodes', cid, id, 'data', 'node.key'))).toBe(false);
      expect(JSON.stringify(n)).not.toContain(PIN);
    }
    // a file-keyed node has its key file
    const fileNode = nodes.find((x) => !hsmNodes.includes(x.id))!;
    expect(existsSync(join(cp.workDir, 'nodes', cid, fileNode.id, 'data', 'node.key'))).toBe(true);
  });
});
