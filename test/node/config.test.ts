import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsortiaError } from '../../src/lib/errors.js';
import { loadNodeConfig, nodeEnvNames, nodeEnvOverlay, parseHostPort, parseNodeConfig } from '../../src/node/config.js';

const dir = mkdtempSync(join(tmpdir(), 'consortia-node-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PK = 'ab'.repeat(32);

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConsortiaError);
    expect((err as ConsortiaError).code).toBe('INVALID_CONFIG');
    return (err as ConsortiaError).message;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('node config', () => {
  it('applies contract defaults to a minimal config', () => {
    const cfg = parseNodeConfig({ chainId: 'c1', dataDir: '/var/lib/n1' });
    expect(cfg.role).toBe('validator');
    expect(cfg.apiListen).toBe('127.0.0.1:26657');
    expect(cfg.p2pListen).toBe('127.0.0.1:26656');
    expect(cfg.mempool).toEqual({ maxTxs: 20_000, maxBytes: 64 * 1024 * 1024 });
    expect(cfg.maxTxBytes).toBe(32 * 1024);
    expect(cfg.logLevel).toBe('info');
    expect(cfg.consensus.timeoutProposeMs).toBeGreaterThan(0);
    expect(cfg.consensus.timeoutDeltaMs).toBeGreaterThanOrEqual(0);
    expect(cfg.peers).toEqual([]);
    expect(cfg.keyFile).toBe('/var/lib/n1/node-key.json');
    expect(cfg.genesisFile).toBeUndefined();
  });

  it('reads a YAML file and lets CONSORTIA_NODE_* env override it, including nested keys', () => {
    const file = join(dir, 'node.yaml');
    writeFileSync(
      file,
      [
        'role: super',
        'chainId: yaml-chain',
        `dataDir: ${dir}/data`,
        'apiListen: 127.0.0.2:0',
        'mempool:',
        '  maxTxs: 100',
        'peers:',
        `  - { publicKey: "${PK}", address: "127.0.0.3:4000" }`,
      ].join('\n'),
    );
    const cfg = loadNodeConfig(['--config', file], {
      CONSORTIA_NODE_ROLE: 'ordinary',
      CONSORTIA_NODE_MEMPOOL_MAX_BYTES: '2048',
      CONSORTIA_NODE_RETENTION_BLOCKS: '500',
      CONSORTIA_NODE_FOLLOW_ACCOUNTS: `${PK},${'cd'.repeat(32)}`,
    });
    expect(cfg.role).toBe('ordinary');
    expect(cfg.chainId).toBe('yaml-chain');
    expect(cfg.mempool).toEqual({ maxTxs: 100, maxBytes: 2048 });
    expect(cfg.retentionBlocks).toBe(500);
    expect(cfg.followAccounts).toHaveLength(2);
    expect(cfg.peers).toEqual([{ publicKey: PK, address: '127.0.0.3:4000' }]);
  });

  it('accepts JSON files, --config=F, and a config made only of env', () => {
    const file = join(dir, 'node.json');
    writeFileSync(file, JSON.stringify({ chainId: 'json-chain', dataDir: 'rel/data', genesisFile: 'g.json' }));
    const cfg = loadNodeConfig([`--config=${file}`], {});
    expect(cfg.chainId).toBe('json-chain');
    expect(cfg.dataDir).toBe(join(process.cwd(), 'rel/data'));
    expect(cfg.genesisFile).toBe(join(process.cwd(), 'g.json'));

    const envOnly = loadNodeConfig([], {
      CONSORTIA_NODE_CHAIN_ID: 'env-chain',
      CONSORTIA_NODE_DATA_DIR: '/d',
      CONSORTIA_NODE_KEY_FILE: '/k/node.key',
      CONSORTIA_NODE_PEERS: `${PK}@10.0.0.1:26656`,
      CONSORTIA_NODE_CONSENSUS_TIMEOUT_PROPOSE_MS: '1500',
    });
    expect(envOnly.keyFile).toBe('/k/node.key');
    expect(envOnly.peers).toEqual([{ publicKey: PK, address: '10.0.0.1:26656' }]);
    expect(envOnly.consensus.timeoutProposeMs).toBe(1500);
  });

  it('names each bad value', () => {
    expect(problemsOf(() => parseNodeConfig({ dataDir: '/d' }))).toMatch(/chainId/);
    expect(problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', role: 'miner' }))).toMatch(/role/);
    expect(problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', apiListen: 'localhost' }))).toMatch(
      /apiListen/,
    );
    expect(problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', p2pListen: '127.0.0.1:70000' }))).toMatch(
      /p2pListen/,
    );
    expect(problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', mempool: { maxTxs: 0 } }))).toMatch(
      /mempool\/maxTxs/,
    );
    expect(
      problemsOf(() =>
        parseNodeConfig({ chainId: 'c', dataDir: '/d', peers: [{ publicKey: 'xyz', address: '1.2.3.4:5' }] }),
      ),
    ).toMatch(/peers\/0\/publicKey/);
    expect(
      problemsOf(() =>
        parseNodeConfig({ chainId: 'c', dataDir: '/d', peers: [{ publicKey: PK, address: '1.2.3.4:0' }] }),
      ),
    ).toMatch(/peers\/0\/address/);
    expect(problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', logLevel: 'loud' }))).toMatch(/logLevel/);
    expect(problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', bogus: 1 }))).toMatch(/bogus|additional/i);
    expect(
      problemsOf(() =>
        loadNodeConfig([], {
          CONSORTIA_NODE_CHAIN_ID: 'c',
          CONSORTIA_NODE_DATA_DIR: '/d',
          CONSORTIA_NODE_MAX_TX_BYTES: 'lots',
        }),
      ),
    ).toMatch(/maxTxBytes/);
  });

  it('reports unreadable or malformed files and env as INVALID_CONFIG', () => {
    problemsOf(() => loadNodeConfig(['--config', join(dir, 'missing.yaml')], {}));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{not json');
    problemsOf(() => loadNodeConfig(['--config', bad], {}));
    problemsOf(() => loadNodeConfig([], { CONSORTIA_NODE_PEERS: 'no-at-sign' }));
    problemsOf(() => loadNodeConfig(['--config'], {}));
  });

  it('maps every schema leaf to one env name', () => {
    const names = nodeEnvNames().map((n) => n.env);
    expect(names).toContain('CONSORTIA_NODE_MEMPOOL_MAX_TXS');
    expect(names).toContain('CONSORTIA_NODE_P2P_ADVERTISE');
    expect(new Set(names).size).toBe(names.length);
    expect(nodeEnvOverlay({ CONSORTIA_NODE_API_BODY_LIMIT_BYTES: '4096', UNRELATED: 'x' })).toEqual({
      api: { bodyLimitBytes: '4096' },
    });
  });

  it('reads the admin credential file and the expected genesis from file or env', () => {
    const hash = 'ab'.repeat(32);
    const members = [{ memberId: 'org_a', adminKeys: ['cd'.repeat(32)] }];
    const cfg = loadNodeConfig([], {
      CONSORTIA_NODE_CHAIN_ID: 'c',
      CONSORTIA_NODE_DATA_DIR: '/d',
      CONSORTIA_NODE_ADMIN_TOKEN_FILE: 'secrets/admin-token',
      CONSORTIA_NODE_EXPECTED_GENESIS_HASH: hash,
      CONSORTIA_NODE_EXPECTED_GENESIS_INCLUDES_SELF: 'true',
      CONSORTIA_NODE_EXPECTED_GENESIS_MEMBERS: JSON.stringify(members),
    });
    expect(cfg.adminTokenFile).toBe(join(process.cwd(), 'secrets/admin-token'));
    expect(cfg.expectedGenesis).toEqual({ hash, includesSelf: true, members });
    expect(
      problemsOf(() => parseNodeConfig({ chainId: 'c', dataDir: '/d', expectedGenesis: { hash: 'nothex' } })),
    ).toMatch(/expectedGenesis/);
    expect(
      problemsOf(() =>
        parseNodeConfig({
          chainId: 'c',
          dataDir: '/d',
          expectedGenesis: { members: [{ memberId: 'x', adminKeys: [] }] },
        }),
      ),
    ).toMatch(/expectedGenesis/);
  });

  it('parses host:port including IPv6', () => {
    expect(parseHostPort('127.0.0.2:0')).toEqual({ host: '127.0.0.2', port: 0 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
    expect(() => parseHostPort('nohost')).toThrow(ConsortiaError);
  });
});

describe('node key file', () => {
  it('accepts a bare hex seed, rejects garbage and a mismatched public key', async () => {
    const { readNodeKey, loadOrCreateNodeKey } = await import('../../src/node/keygen.js');
    const f = join(dir, 'seed.key');
    writeFileSync(f, '11'.repeat(32) + '\n');
    const kp = readNodeKey(f)!;
    expect(Buffer.from(kp.secretKey).toString('hex')).toBe('11'.repeat(32));
    expect(kp.publicKey).toHaveLength(32);
    expect(readNodeKey(join(dir, 'absent.key'))).toBeUndefined();
    writeFileSync(f, 'garbage');
    expect(() => readNodeKey(f)).toThrow(/seed/);
    writeFileSync(f, JSON.stringify({ type: 'ed25519', publicKey: '22'.repeat(32), secretKey: '11'.repeat(32) }));
    expect(() => readNodeKey(f)).toThrow(/does not match/);
    const created = loadOrCreateNodeKey(join(dir, 'new', 'node.key'));
    expect(created.created).toBe(true);
    const again = loadOrCreateNodeKey(join(dir, 'new', 'node.key'));
    expect(again.created).toBe(false);
    expect(again.keyPair.publicKey).toEqual(created.keyPair.publicKey);
  });
});
