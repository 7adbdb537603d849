import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
  verifyProofOfPossession,
  type Genesis,
} from '../../src/chain/index.js';
import { keygen, parseKeygenArgs } from '../../src/node/keygen.js';

/**
 * The node entrypoint as a process (run from source through tsx, so no build is needed):
 * keygen mode, config errors, the 'listening' line, awaiting-genesis mode, PUT /v1/genesis,
 * and a graceful SIGTERM.
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
  return spawnSync(process.execPath, [...MAIN, ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
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

  it('starts awaiting genesis, installs a sealed genesis over the API, and stops cleanly on SIGTERM', async () => {
    const cfgFile = join(dir, 'node.yaml');
    writeFileSync(cfgFile, [`chainId: main-test`, `dataDir: ${join(dir, 'data')}`, 'apiListen: 127.0.0.1:0', 'p2pListen: 127.0.0.1:0', 'logLevel: warn'].join('\n'));
    const child = spawn(process.execPath, [...MAIN, '--config', cfgFile], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
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
    expect(listening.event).toBe('listening');
    expect(listening.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(listening.publicKey).toMatch(/^[0-9a-f]{64}$/);

    const get = (p: string) => fetch(listening.api + p);
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(503);
    const id = (await (await get('/v1/identity')).json()) as { publicKey: string; proofOfPossession: string; chainId: string };
    expect(id.publicKey).toBe(listening.publicKey);
    expect((await get('/v1/blocks/latest')).status).toBe(503);

    // the control plane's ceremony, in miniature: this node is the only validator
    const admin = generateKeyPair();
    const genesis: Genesis = {
      chainId: 'main-test',
      genesisTime: Date.now(),
      params: DEFAULT_PARAMS,
      members: [{ memberId: 'org1', name: 'Org 1', adminKeys: [admin.publicKey] }],
      validators: [{ memberId: 'org1', publicKey: fromHex(id.publicKey), power: 1, proofOfPossession: fromHex(id.proofOfPossession) }],
      nodes: [{ memberId: 'org1', publicKey: fromHex(id.publicKey), role: 'validator' }],
      accounts: [],
    };
    const put = (approvals: ReturnType<typeof signGenesisApproval>[]) =>
      fetch(listening.api + '/v1/genesis', {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(sealedGenesisToJSON({ genesis, approvals })),
      });
    const unsigned = await put([]);
    expect(unsigned.status).toBe(400);
    const ok = await put([signGenesisApproval(genesis, 'org1', admin.secretKey, admin.publicKey)]);
    expect(ok.status, await ok.clone().text()).toBe(200);
    const status = (await (await get('/v1/status')).json()) as { genesisInstalled: boolean; chainId: string };
    expect(status).toMatchObject({ genesisInstalled: true, chainId: 'main-test' });
    expect((await get('/metrics')).status).toBe(200);

    const exit = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    child.kill('SIGTERM');
    const code = await Promise.race([exit, new Promise<string>((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code, stderr).toBe(0);
  }, 90_000);
});
