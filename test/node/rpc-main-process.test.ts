import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PARAMS,
  fromHex,
  generateKeyPair,
  sealedGenesisToJSON,
  signGenesisApproval,
  toHex,
  verifyProofOfPossession,
  type Genesis,
} from '../../src/chain/index.js';
import { keygen, parseKeygenArgs } from '../../src/node/keygen.js';
import { fetch as undiciFetch } from 'undici';
import { createSelfSignedCert, pemFingerprint } from '../../src/lib/tls-cert.js';
import { tlsDispatcher } from '../../src/lib/tls-client.js';

/**
 * The node entrypoint as a process (run from source through tsx, so no build is needed):
 * keygen mode, config errors, the 'listening' line, awaiting-genesis mode, PUT /v1/genesis (admin
 * credential, provisioned-genesis check), a graceful SIGTERM, and exit code 3 on a foreign stored genesis.
 */
const root = resolve(import.meta.dirname, '../..');
const MAIN = ['--import', 'tsx', join(root, 'src/node/main.ts')];
const dir = mkdtempSync(join(tmpdir(), 'consortia-node-main-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function runSync(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [...MAIN, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
}

describe('node main process', () => {
  it('keygen creates a 0600 key once and prints a verifiable proof of possession', () => {
    const keyFile = join(dir, 'k', 'node.key');
    const r1 = runSync(['keygen', '--key-file', keyFile, '--chain-id', 'chain-a']);
    expect(r1.status, r1.stderr).toBe(0);
    const out = JSON.parse(r1.stdout.trim()) as { publicKey: string; proofOfPossession: string };
    expect(Object.keys(out).sort()).toEqual(['proofOfPossession', 'publicKey']);
    expect(verifyProofOfPossession('chain-a', fromHex(out.publicKey), fromHex(out.proofOfPossession))).toBe(true);
    expect(verifyProofOfPossession('chain-b', fromHex(out.publicKey), fromHex(out.proofOfPossession))).toBe(false);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    // idempotent: the same key comes back (in-process, to keep the test fast)
    expect(keygen(keyFile, 'chain-a').publicKey).toBe(out.publicKey);
    expect(() => parseKeygenArgs(['--key-file', keyFile], {})).toThrow(/usage/);
  }, 60_000);

  it('exits 2 with a JSON error naming the bad config value', () => {
    const r = runSync([], { CONSORTIA_NODE_CHAIN_ID: 'c', CONSORTIA_NODE_DATA_DIR: dir, CONSORTIA_NODE_ROLE: 'miner' });
    expect(r.status).toBe(2);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!) as { level: string; code: string; error: string };
    expect(line).toMatchObject({ level: 'error', code: 'INVALID_CONFIG' });
    expect(line.error).toMatch(/role/);
    expect(r.stdout).toBe('');
  }, 60_000);

  /** Starts the node process on `cfgFile`; resolves with its 'listening' line. */
  async function startNode(
    cfgFile: string,
    extraArgs: string[] = ['--insecure-http'],
  ): Promise<{
    child: ChildProcess;
    listening: { event: string; api: string; p2p: string; publicKey: string };
    stderr: () => string;
  }> {
    const child = spawn(process.execPath, [...MAIN, '--config', cfgFile, ...extraArgs], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const listening = await new Promise<{ event: string; api: string; p2p: string; publicKey: string }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no listening line; stderr: ${stderr}`)), 30_000);
      child.once('exit', (code) => rej(new Error(`exited ${code}: ${stderr}`)));
      createInterface({ input: child.stdout! }).once('line', (line) => {
        clearTimeout(timer);
        res(JSON.parse(line));
      });
    });
    return { child, listening, stderr: () => stderr };
  }

  it('serves HTTPS with the configured certificate and prints its fingerprint', async () => {
    const made = await createSelfSignedCert(['127.0.0.1'], 'node-under-test');
    const tlsDir = join(dir, 'tls-configured');
    mkdirSync(tlsDir);
    writeFileSync(join(tlsDir, 'node.crt'), made.cert);
    writeFileSync(join(tlsDir, 'node.key'), made.key, { mode: 0o600 });
    const cfgFile = join(dir, 'node-tls.yaml');
    writeFileSync(
      cfgFile,
      [
        'chainId: main-test',
        `dataDir: ${join(dir, 'data-tls')}`,
        'apiListen: 127.0.0.1:0',
        'p2pListen: 127.0.0.1:0',
        'logLevel: warn',
        'tls:',
        `  certFile: ${join(tlsDir, 'node.crt')}`,
        `  keyFile: ${join(tlsDir, 'node.key')}`,
      ].join('\n'),
    );
    const { child, listening } = await startNode(cfgFile, []);
    const fingerprint = pemFingerprint(made.cert, 'test');
    expect(listening.api).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((listening as { tlsFingerprint?: string }).tlsFingerprint).toBe(fingerprint);
    // trusted as its own CA (SAN 127.0.0.1), and by pin
    const viaCa = await undiciFetch(`${listening.api}/healthz`, {
      dispatcher: tlsDispatcher({ caFile: join(tlsDir, 'node.crt') }),
    });
    expect(viaCa.status).toBe(200);
    const viaPin = await undiciFetch(`${listening.api}/v1/identity`, { dispatcher: tlsDispatcher({ fingerprint }) });
    expect(viaPin.status).toBe(200);
    // not trusted by default, and no plain HTTP on the same port
    await expect(undiciFetch(`${listening.api}/healthz`)).rejects.toThrow();
    await expect(fetch(`${listening.api.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    const exited = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 60_000);

  it('refuses plain HTTP on a non-loopback API address, naming the setting (exit 2)', () => {
    const r = runSync(['--insecure-http'], {
      CONSORTIA_NODE_CHAIN_ID: 'c',
      CONSORTIA_NODE_DATA_DIR: join(dir, 'data-plain'),
      CONSORTIA_NODE_API_LISTEN: '0.0.0.0:0',
    });
    expect(r.status).toBe(2);
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!) as { code: string; error: string };
    expect(line.code).toBe('INVALID_CONFIG');
    expect(line.error).toMatch(
      /tls\.mode \(CONSORTIA_NODE_TLS_MODE, --insecure-http\) is 'off' \(plain HTTP\) but apiListen .*"0\.0\.0\.0" is not a loopback address/,
    );
    expect(r.stdout).toBe('');
  }, 60_000);

  const ADMIN_TOKEN = 'main-test-admin-token-' + 'x'.repeat(24);
  const founder = generateKeyPair();
  /** A genesis of org1 (founder's key) with the node at `id` as its only validator. */
  function genesisFor(
    id: { publicKey: string; proofOfPossession: string },
    memberId = 'org1',
    admin = founder,
  ): { genesis: Genesis; approve: () => ReturnType<typeof signGenesisApproval> } {
    const genesis: Genesis = {
      chainId: 'main-test',
      genesisTime: Date.now(),
      params: DEFAULT_PARAMS,
      members: [{ memberId, name: memberId, adminKeys: [admin.publicKey] }],
      validators: [
        { memberId, publicKey: fromHex(id.publicKey), power: 1, proofOfPossession: fromHex(id.proofOfPossession) },
      ],
      nodes: [{ memberId, publicKey: fromHex(id.publicKey), role: 'validator' }],
      accounts: [],
    };
    return { genesis, approve: () => signGenesisApproval(genesis, memberId, admin.secretKey, admin.publicKey) };
  }
  let nodeIdentity: { publicKey: string; proofOfPossession: string } | undefined;

  it('starts awaiting genesis, refuses a genesis without its admin credential or from outsiders, installs the provisioned one, and stops cleanly on SIGTERM', async () => {
    const cfgFile = join(dir, 'node.yaml');
    const tokenFile = join(dir, 'admin-token');
    writeFileSync(tokenFile, ADMIN_TOKEN + '\n', { mode: 0o600 });
    writeFileSync(
      cfgFile,
      [
        `chainId: main-test`,
        `dataDir: ${join(dir, 'data')}`,
        'apiListen: 127.0.0.1:0',
        'p2pListen: 127.0.0.1:0',
        'logLevel: warn',
        `adminTokenFile: ${tokenFile}`,
        // what the control plane writes for a key-generation node: its founders, and itself in the genesis
        'expectedGenesis:',
        '  includesSelf: true',
        '  members:',
        '    - memberId: org1',
        `      adminKeys: [${toHex(founder.publicKey)}]`,
      ].join('\n'),
    );
    const { child, listening, stderr } = await startNode(cfgFile);
    expect(listening.event).toBe('listening');
    expect(listening.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.publicKey).toMatch(/^[0-9a-f]{64}$/);

    const get = (p: string) => fetch(listening.api + p);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(503);
    const id = (await (await get('/v1/identity')).json()) as {
      publicKey: string;
      proofOfPossession: string;
      chainId: string;
    };
    nodeIdentity = id;
    expect(id.publicKey).toBe(listening.publicKey);
    expect((await get('/v1/blocks/latest')).status).toBe(503);

    const put = (body: unknown, token?: string) =>
      fetch(listening.api + '/v1/genesis', {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
    // an outsider's one-member genesis around this node's public identity
    const mallory = generateKeyPair();
    const foreign = genesisFor(id, 'mallory', mallory);
    const foreignJson = sealedGenesisToJSON({ genesis: foreign.genesis, approvals: [foreign.approve()] });
    for (const token of [undefined, 'not-the-token-' + 'y'.repeat(30)]) {
      const r = await put(foreignJson, token);
      expect(r.status).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    }
    expect(stderr()).toContain('admin credential refused');
    expect(stderr()).not.toContain(ADMIN_TOKEN);
    expect(await (await get('/metrics')).text()).toMatch(/consortia_node_api_unauthorized_total\{reason="missing"\} 1/);
    // even with the credential, a genesis of other founders is not this node's
    const notOurs = await put(foreignJson, ADMIN_TOKEN);
    expect(notOurs.status).toBe(409);
    expect(((await notOurs.json()) as { error: { code: string } }).error.code).toBe('GENESIS_MISMATCH');
    expect(((await (await get('/v1/status')).json()) as { genesisInstalled: boolean }).genesisInstalled).toBe(false);

    // the control plane's ceremony, in miniature: this node is the only validator
    const real = genesisFor(id);
    const unsigned = await put(sealedGenesisToJSON({ genesis: real.genesis, approvals: [] }), ADMIN_TOKEN);
    expect(unsigned.status).toBe(400);
    const ok = await put(sealedGenesisToJSON({ genesis: real.genesis, approvals: [real.approve()] }), ADMIN_TOKEN);
    expect(ok.status, await ok.clone().text()).toBe(200);
    const status = (await (await get('/v1/status')).json()) as { genesisInstalled: boolean; chainId: string };
    expect(status).toMatchObject({ genesisInstalled: true, chainId: 'main-test' });
    expect((await get('/metrics')).status).toBe(200);

    const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exit, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code, stderr()).toBe(0);
  }, 90_000);

  it('refuses to start, exit code 3, when its data directory holds another genesis than the configured one', async () => {
    expect(nodeIdentity).toBeDefined();
    // same data directory (it holds the genesis installed above), but provisioned with another genesis
    const other = genesisFor(nodeIdentity!);
    const genesisFile = join(dir, 'other-genesis.json');
    writeFileSync(
      genesisFile,
      JSON.stringify(
        sealedGenesisToJSON({
          genesis: { ...other.genesis, genesisTime: other.genesis.genesisTime + 1 },
          approvals: [],
        }),
      ),
    );
    const cfgFile = join(dir, 'node-other.yaml');
    writeFileSync(
      cfgFile,
      [
        `chainId: main-test`,
        `dataDir: ${join(dir, 'data')}`,
        'apiListen: 127.0.0.1:0',
        'p2pListen: 127.0.0.1:0',
        'logLevel: warn',
        `genesisFile: ${genesisFile}`,
      ].join('\n'),
    );
    const r = runSync(['--config', cfgFile]);
    expect(r.status, r.stderr).toBe(3);
    expect(r.stdout).toBe(''); // never listened
    const fatal = JSON.parse(r.stderr.trim().split('\n').pop()!) as {
      level: string;
      msg: string;
      code: string;
      error: string;
    };
    expect(fatal).toMatchObject({ level: 'error', msg: 'fatal', code: 'GENESIS_MISMATCH' });
    expect(fatal.error).toMatch(/data directory holds genesis [0-9a-f]{64}.*not the configured genesis/);
  }, 60_000);
});
