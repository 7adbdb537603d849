import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, governanceVotePayload, Tags, verifyDomain } from '../../src/chain/index.js';
import { runCli, type CliIo } from '../../src/cli/index.js';
import { loadOrgKey } from '../../src/cli/key-file.js';
import { signVote } from '../../src/cli/signing.js';
import { KEY_ARN, startRecordedKms, type RecordedKms } from '../lib/custody/kms-recorded.js';
import { SOFTHSM_MODULE, createSoftHsmToken, type SoftHsmToken } from '../lib/custody/softhsm.js';

let home: string;
let token: SoftHsmToken;
let env: NodeJS.ProcessEnv;
let kms: RecordedKms;

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (t) => (out += t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => (err += t.endsWith('\n') ? t : `${t}\n`),
    errRaw: (t) => (err += t),
    isTTY: false,
    env,
    homedir: home,
    confirm: async () => false,
  };
  const code = await runCli(['--home', home, ...args], io);
  return { code, out, err };
}

beforeAll(async () => {
  kms = await startRecordedKms();
  home = mkdtempSync(join(tmpdir(), 'consortia-cli-custody-'));
  token = createSoftHsmToken('cli-custody');
  env = { ORG_PIN: token.pin, SOFTHSM2_CONF: token.conf };
});
afterAll(async () => {
  rmSync(home, { recursive: true, force: true });
  token.remove();
  await kms.close();
});

const pkcs11Args = [
  '--backend',
  'pkcs11',
  '--module',
  SOFTHSM_MODULE,
  '--token-label',
  'cli-custody',
  '--pin-env',
  'ORG_PIN',
];

describe('consortia keys create --backend pkcs11 (SoftHSM2)', () => {
  it('generates the key in the token and stores only a reference (no secret, no PIN)', async () => {
    const r = await cli(['--json', 'keys', 'create', '--org', 'acme', ...pkcs11Args]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { publicKey, file, backend } = JSON.parse(r.out) as { publicKey: string; file: string; backend: string };
    expect(backend).toBe('pkcs11');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(stored).toEqual({
      type: 'key-ref',
      org: 'acme',
      publicKey,
      ref: {
        backend: 'pkcs11',
        module: SOFTHSM_MODULE,
        tokenLabel: 'cli-custody',
        keyLabel: 'acme',
        pinEnv: 'ORG_PIN',
      },
    });
    expect(readFileSync(file, 'utf8')).not.toContain(token.pin);
    const shown = JSON.parse((await cli(['--json', 'keys', 'show', '--org', 'acme'])).out) as {
      publicKey: string;
      backend: string;
    };
    expect(shown).toMatchObject({ publicKey, backend: 'pkcs11' });
    const again = await cli(['keys', 'create', '--org', 'acme', ...pkcs11Args, '--force']);
    expect(again.code).toBe(1);
    expect(again.err).toContain('CUSTODY_KEY_EXISTS'); // the token never replaces a key, even with --force
  });

  it('a governance vote is signed inside the token and verifies', async () => {
    const key = loadOrgKey(home, 'acme', env);
    const hash = 'ab'.repeat(32);
    const v = await signVote(key, 'org1', 'chain-1', 'p1', hash, 'YES');
    expect(
      verifyDomain(
        Tags.GOV_VOTE,
        key.publicKey,
        governanceVotePayload('chain-1', 'p1', fromHex(hash, 32), 'YES'),
        fromHex(v.signature, 64),
      ),
    ).toBe(true);
  });

  it('without the PIN the vote is refused with a stable code', async () => {
    const key = loadOrgKey(home, 'acme', {});
    await expect(signVote(key, 'org1', 'chain-1', 'p1', 'ab'.repeat(32), 'YES')).rejects.toMatchObject({
      code: 'KEY_REF_INVALID',
    });
  });

  it('rejects incomplete backend flags before touching anything', async () => {
    const r = await cli([
      'keys',
      'create',
      '--org',
      'other',
      '--backend',
      'pkcs11',
      '--token-label',
      'cli-custody',
      '--pin-env',
      'ORG_PIN',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('KEY_REF_INVALID');
    const bad = await cli(['keys', 'create', '--org', 'other', '--backend', 'vault']);
    expect(bad.code).not.toBe(0);
    expect((await cli(['--json', 'keys', 'list'])).out).not.toContain('other');
  });
});

describe('consortia keys create --backend aws-kms (recorded KMS contract, see test/lib/custody/kms-recorded.ts)', () => {
  it('creates the key in KMS, stores its ARN, and a vote is signed by KMS and verifies', async () => {
    kms.seen.length = 0;
    const r = await cli([
      '--json',
      'keys',
      'create',
      '--org',
      'globex',
      '--backend',
      'aws-kms',
      '--region',
      'eu-west-1',
      '--endpoint',
      kms.endpoint,
    ]);
    expect(r.err).toBe('');
    const { publicKey, file } = JSON.parse(r.out) as { publicKey: string; file: string };
    expect(kms.seen.map((q) => q.target)).toEqual(['TrentService.CreateKey', 'TrentService.GetPublicKey']);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      type: 'key-ref',
      org: 'globex',
      publicKey,
      ref: { backend: 'aws-kms', keyId: KEY_ARN.split('/')[1], region: 'eu-west-1', endpoint: kms.endpoint },
    });
    const key = loadOrgKey(home, 'globex', env);
    const hash = 'cd'.repeat(32);
    const v = await signVote(key, 'org2', 'chain-1', 'p2', hash, 'NO');
    expect(
      verifyDomain(
        Tags.GOV_VOTE,
        key.publicKey,
        governanceVotePayload('chain-1', 'p2', fromHex(hash, 32), 'NO'),
        fromHex(v.signature, 64),
      ),
    ).toBe(true);
    expect(kms.seen.at(-1)!.body).toMatchObject({ MessageType: 'RAW', SigningAlgorithm: 'ED25519_SHA_512' });
  });

  it('refuses to sign when the KMS key behind the reference is no longer the recorded one', async () => {
    const key = loadOrgKey(home, 'globex', env);
    const recorded = kms.spki.subarray(12).toString('hex');
    kms.spki.fill(9, 12); // the KMS key now has another public key
    try {
      await expect(signVote(key, 'org2', 'chain-1', 'p2', 'cd'.repeat(32), 'NO')).rejects.toMatchObject({
        code: 'CUSTODY_KEY_UNSUITABLE',
      });
    } finally {
      Buffer.from(recorded, 'hex').copy(kms.spki, 12);
    }
  });
});
