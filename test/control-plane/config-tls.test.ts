/** The `tls` block of the control-plane configuration (file + CONSORTIA_* environment), checked at start. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadControlPlaneConfig } from '../../src/control-plane/config.js';
import { buildNodeConfig, nodePaths } from '../../src/control-plane/runtimes/local/node-config.js';

const dir = mkdtempSync(join(tmpdir(), 'cp-config-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const load = (env: Record<string, string>, file?: Record<string, unknown>) => {
  const argv: string[] = [];
  if (file) {
    const f = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify(file));
    argv.push('--config', f);
  }
  return loadControlPlaneConfig(argv, env);
};

describe('control-plane tls config', () => {
  it('defaults to HTTPS (mode on, no files: a generated certificate)', () => {
    expect(load({}).tls).toEqual({ mode: 'on' });
  });
  it('takes certificate files from the file and the environment (environment wins)', () => {
    expect(load({ CONSORTIA_TLS_CERT_FILE: '/e/c.pem', CONSORTIA_TLS_KEY_FILE: '/e/k.pem' }).tls).toEqual({
      mode: 'on',
      certFile: '/e/c.pem',
      keyFile: '/e/k.pem',
    });
    const both = load(
      { CONSORTIA_TLS_CERT_FILE: '/e/c.pem' },
      { tls: { certFile: '/f/c.pem', keyFile: '/f/k.pem', caFile: '/f/ca.pem' } },
    );
    expect(both.tls).toEqual({ mode: 'on', certFile: '/e/c.pem', keyFile: '/f/k.pem', caFile: '/f/ca.pem' });
  });
  it('CONSORTIA_INSECURE_HTTP=1 (or tls.mode off) serves plain HTTP on loopback', () => {
    expect(load({ CONSORTIA_INSECURE_HTTP: '1' }).tls.mode).toBe('off');
    expect(load({ CONSORTIA_INSECURE_HTTP: 'true', CONSORTIA_LISTEN: 'localhost:9000' }).tls.mode).toBe('off');
    expect(load({}, { tls: { mode: 'off' }, listen: '127.0.0.2:80' }).tls.mode).toBe('off');
    expect(load({ CONSORTIA_INSECURE_HTTP: '0' }).tls.mode).toBe('on');
  });
  it('refuses plain HTTP on a non-loopback listen address, naming both settings', () => {
    expect(() => load({ CONSORTIA_INSECURE_HTTP: '1', CONSORTIA_LISTEN: '0.0.0.0:8080' })).toThrow(
      /tls\.mode \(CONSORTIA_INSECURE_HTTP\) is 'off' \(plain HTTP\) but listen \(CONSORTIA_LISTEN\) "0\.0\.0\.0" is not a loopback address/,
    );
    expect(() => load({}, { tls: { mode: 'off' }, listen: '10.0.0.5:8080' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
    // plainOnNetwork is for nodes the Kubernetes runtime runs, and still needs mode off
    expect(() => load({}, { tls: { mode: 'on', plainOnNetwork: true } })).toThrow(/plainOnNetwork only applies/);
  });
  it('refuses a certificate without its key, a bad mode, an unknown key, and a bad CONSORTIA_INSECURE_HTTP', () => {
    expect(() => load({ CONSORTIA_TLS_CERT_FILE: '/c.pem' })).toThrow(
      /tls\.certFile \(CONSORTIA_TLS_CERT_FILE\) and tls\.keyFile \(CONSORTIA_TLS_KEY_FILE\) must be given together/,
    );
    expect(() => load({}, { tls: { mode: 'maybe' } })).toThrow(/INVALID_CONFIG|invalid configuration/);
    expect(() => load({}, { tls: { cert: '/c.pem' } })).toThrow(/invalid configuration/);
    expect(() => load({ CONSORTIA_INSECURE_HTTP: 'yes' })).toThrow(
      /CONSORTIA_INSECURE_HTTP must be 1\/true or 0\/false/,
    );
  });
});

describe('local runtime node config', () => {
  it('asks for plain HTTP explicitly; the node listens on its loopback address', () => {
    const paths = nodePaths(dir, 'c1', 'n1');
    const spec = {
      nodeId: 'n1',
      consortiumId: 'c1',
      chainId: 'chain',
      role: 'validator',
      mode: 'keygen',
      peers: [],
      tier: {},
    } as unknown as Parameters<typeof buildNodeConfig>[0];
    const cfg = buildNodeConfig(
      spec,
      paths,
      { host: '127.0.0.123', apiPort: 1234, p2pPort: 1235 } as Parameters<typeof buildNodeConfig>[2],
      'warn',
    );
    expect(cfg['tls']).toEqual({ mode: 'off' });
    expect(cfg['apiListen']).toBe('127.0.0.123:1234');
  });
});
