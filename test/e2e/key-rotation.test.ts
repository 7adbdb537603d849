/**
 * An organization rotates its admin key on a running consortium through the real `consortia`
 * binary, the real control plane and real node processes on loopback, while transactions flow:
 * `keys rotate --wait` (new key in a SoftHSM2 token when one is installed, else a file), the other
 * member votes, the chain executes it, the profile switches to the new key, blocks keep
 * committing, and a vote signed with the retired key is refused by the control plane
 * (409 KEY_RETIRED) and by the chain (GOV_KEY_RETIRED).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeTx,
  fromHex,
  generateKeyPair,
  governanceActionHash,
  signGovernanceVote,
  signTx,
  toHex,
  type UnsignedTx,
} from '../../src/chain/index.js';
import { waitFor } from '../harness/cp-api.js';
import { builtArtifactsPresent, CLI_MAIN, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { createSoftHsmToken, SOFTHSM_MODULE, type SoftHsmToken } from '../lib/custody/softhsm.js';

const run = promisify(execFile);
const HSM_PIN = '135790';
const softHsm = existsSync(SOFTHSM_MODULE);

describe.skipIf(!builtArtifactsPresent() || !existsSync(CLI_MAIN))('admin key rotation on a running chain', () => {
  let cp: ControlPlane;
  let home = '';
  let token: SoftHsmToken | undefined;
  let stopLoad = false;
  beforeAll(async () => {
    cp = await startControlPlane({ hostRange: { first: 231, last: 240 } });
    home = mkdtempSync(join(tmpdir(), 'consortia-rotation-e2e-'));
    if (softHsm) token = createSoftHsmToken('acme-admin', HSM_PIN); // sets SOFTHSM2_CONF for the CLI processes
  });
  afterAll(async () => {
    stopLoad = true;
    await cp?.shutdown();
    token?.remove();
    rmSync(home, { recursive: true, force: true });
  });

  async function cli(args: string[], tok?: string): Promise<{ code: number; out: string; err: string }> {
    try {
      const r = await run(process.execPath, [CLI_MAIN, '--home', home, ...(tok ? ['--token', tok] : []), ...args], {
        timeout: 180_000,
        env: { ...process.env, CONSORTIA_HOME: '', ACME_HSM_PIN: HSM_PIN },
      });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, out: e.stdout ?? '', err: e.stderr ?? '' };
    }
  }
  async function json(args: string[], tok?: string): Promise<any> {
    const r = await cli(['--json', ...args], tok);
    if (r.code !== 0) throw new Error(`consortia ${args.join(' ')} failed (${r.code}): ${r.err}`);
    return JSON.parse(r.out);
  }
  async function submit(
    api: string,
    u: UnsignedTx,
    sk: Uint8Array,
    wait = true,
  ): Promise<{ status: number; body: any }> {
    const r = await fetch(`${api}/v1/txs${wait ? '?wait=commit&timeoutMs=15000' : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: toHex(encodeTx(signTx(u, sk))) }),
      signal: AbortSignal.timeout(20_000),
    });
    return { status: r.status, body: await r.json() };
  }
  async function height(api: string): Promise<number> {
    const r = await fetch(`${api}/v1/blocks/latest`, { signal: AbortSignal.timeout(5000) });
    const b = (await r.json()) as { header?: { height?: number } };
    return Number(b.header?.height ?? 0);
  }

  it('rotates acme from a file key to a new key while anchors commit; the retired key is refused', async () => {
    expect((await cli(['login', '--api-url', cp.url, '--token', cp.token])).code).toBe(0);
    const ka = await json(['keys', 'create', '--org', 'acme']);
    await json(['keys', 'create', '--org', 'globex']);
    const a = await json(['org', 'create', '--name', 'acme', '--key-org', 'acme']);
    const b = await json(['org', 'create', '--name', 'globex', '--key-org', 'globex']);
    const ta = (await json(['token', 'create', '--org', a.id, '--name', 'ops', '--role', 'org-admin'])).token as string;
    const tb = (await json(['token', 'create', '--org', b.id, '--name', 'ops', '--role', 'org-admin'])).token as string;
    const c = await json(
      [
        'consortium',
        'create',
        '--name',
        'trade',
        '--founders',
        `${a.id},${b.id}`,
        '--block-interval-ms',
        '200',
        '--threshold',
        '50',
        '--proposal-duration',
        '300',
      ],
      ta,
    );
    await json(['node', 'create', c.id, '--org', a.id, '--role', 'validator', '--wait', '--timeout', '90'], ta);
    expect((await cli(['ceremony', 'start', c.id, '--wait', '--timeout', '90'], ta)).code).toBe(0);
    await json(['ceremony', 'approve', c.id, '--member', a.id, '--key-org', 'acme', '--yes'], ta);
    await json(['ceremony', 'approve', c.id, '--member', b.id, '--key-org', 'globex', '--yes'], tb);
    const [node] = await json(['node', 'wait', c.id, '--ready', '--timeout', '90'], ta);
    const api = node.status.endpoints.api as string;
    const chainId = c.chainId as string;

    // transactions flow during the whole rotation: anchors from one account, each waited to commit
    const sender = generateKeyPair();
    expect(
      (
        await submit(
          api,
          { chainId, signer: sender.publicKey, nonce: 0, body: { type: 'create_account' } },
          sender.secretKey,
        )
      ).body.code,
    ).toBe('OK');
    const committedAt: number[] = [];
    const load = (async () => {
      for (let nonce = 1; !stopLoad; nonce++) {
        const hash = new Uint8Array(32);
        hash.set(Buffer.from(`rotation-e2e-${nonce}`));
        const r = await submit(
          api,
          { chainId, signer: sender.publicKey, nonce, body: { type: 'anchor', hash, metadata: '' } },
          sender.secretKey,
        );
        if (r.body.code !== 'OK') throw new Error(`anchor ${nonce}: ${JSON.stringify(r.body)}`);
        committedAt.push(Number(r.body.height));
      }
    })();

    const newKeyFlags = token
      ? ['--backend', 'pkcs11', '--module', SOFTHSM_MODULE, '--token-label', 'acme-admin', '--pin-env', 'ACME_HSM_PIN']
      : ['--backend', 'file'];
    // bad input names what is wrong, and creates nothing
    const same = await cli(
      ['keys', 'rotate', c.id, '--member', a.id, '--key-org', 'acme', '--new-key-org', 'acme', '--existing'],
      ta,
    );
    expect(same.code).toBe(2);
    expect(same.err).toContain('is the current admin key');
    const badBackend = await cli(
      ['keys', 'rotate', c.id, '--member', a.id, '--key-org', 'acme', '--new-key-org', 'x', '--backend', 'usb'],
      ta,
    );
    expect(badBackend.code).toBe(2);
    expect(badBackend.err).toContain('--backend');

    const rotating = json(
      [
        'keys',
        'rotate',
        c.id,
        '--member',
        a.id,
        '--key-org',
        'acme',
        '--new-key-org',
        'acme-2',
        ...newKeyFlags,
        '--wait',
        '--timeout',
        '120',
      ],
      ta,
    );
    const proposal = await waitFor(
      'the rotation proposal with acme YES',
      async () => {
        const ps = await json(['proposal', 'list', c.id], tb);
        return ps.find((p: any) => p.action?.type === 'rotate_admin_keys' && p.yesVotes === 1);
      },
      60_000,
      500,
    );
    const voted = await json(['vote', c.id, proposal.id, '--yes', '--member', b.id, '--key-org', 'globex'], tb);
    expect(voted.status).toBe('APPROVED');
    const rotated = await rotating;
    expect(rotated).toMatchObject({
      status: 'EXECUTED',
      switched: true,
      newKeyOrg: 'acme-2',
      oldPublicKey: ka.publicKey,
    });
    expect(rotated.backend).toBe(token ? 'pkcs11' : 'file');
    const executedAt = rotated.height as number;
    expect(executedAt).toBeGreaterThan(0);

    // the control plane's record follows the chain
    const members = await json(['member', 'list', c.id], ta);
    expect(members.find((m: any) => m.memberId === a.id).adminKeys).toEqual([rotated.newPublicKey]);
    expect((await json(['org', 'show', a.id], ta)).adminPublicKeys).toEqual([rotated.newPublicKey]);

    // a vote signed with the retired key: refused by the control plane...
    const next = await json(['proposal', 'create', c.id, '--change-params', '{"blockIntervalMs":250}'], tb);
    const old = await cli(['vote', c.id, next.id, '--yes', '--member', a.id, '--key-org', 'acme'], ta);
    expect(old.code).toBe(1);
    expect(old.err).toContain('KEY_RETIRED');
    // ...and by the chain, whatever a relay submits
    const oldSecret = fromHex(JSON.parse(readFileSync(ka.file, 'utf8')).secretKey as string, 32);
    const action = { type: 'change_params' as const, params: { blockIntervalMs: 300 } };
    const vote = signGovernanceVote(
      chainId,
      'e2e-retired',
      governanceActionHash(action),
      'YES',
      a.id,
      oldSecret,
      fromHex(ka.publicKey, 32),
    );
    const relay = generateKeyPair();
    await submit(
      api,
      { chainId, signer: relay.publicKey, nonce: 0, body: { type: 'create_account' } },
      relay.secretKey,
    );
    const refused = await submit(
      api,
      {
        chainId,
        signer: relay.publicKey,
        nonce: 1,
        body: { type: 'governance', proposalId: 'e2e-retired', action, votes: [vote] },
      },
      relay.secretKey,
      false,
    );
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('GOV_KEY_RETIRED');
    // the profile's key is the new one now: a plain `vote` signs with it and is accepted
    const withNew = await json(['vote', c.id, next.id, '--yes', '--member', a.id], ta);
    expect([withNew.status, withNew.yesVotes]).toEqual(['IN_PROGRESS', 1]); // globex has not voted yet

    // blocks kept committing and transactions kept landing across the switch height
    await waitFor('blocks after the rotation', async () => (await height(api)) > executedAt + 5, 30_000);
    await waitFor(
      'anchors committed after the rotation',
      async () => committedAt.some((h) => h > executedAt + 2),
      30_000,
    );
    stopLoad = true;
    await load;
    expect(committedAt.some((h) => h < executedAt)).toBe(true);
  });
});
