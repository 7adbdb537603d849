/** lib/tls-cert.ts + lib/tls-client.ts against a real HTTPS server on loopback. */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCert, loadServerTls } from '../../src/lib/tls-cert.js';
import { tlsDispatcher, tlsFailure } from '../../src/lib/tls-client.js';

const dir = mkdtempSync(join(tmpdir(), 'tls-client-'));
let server: Server;
let url = '';
let fingerprint = '';

beforeAll(async () => {
  const tls = await loadServerTls({ mode: 'on' }, dir, { names: ['localhost', '127.0.0.1'], commonName: 'test' });
  fingerprint = tls.fingerprint;
  writeFileSync(join(dir, 'ca.pem'), tls.cert);
  server = createServer({ cert: tls.cert, key: tls.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return tlsFailure(err, url) ?? err;
  }
  throw new Error('expected the request to fail');
}

describe('server certificate', () => {
  it('is generated once into <dataDir>/tls (key 0600) and kept across loads', async () => {
    expect(statSync(join(dir, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
    const again = await loadServerTls({ mode: 'on' }, dir, { names: ['localhost'], commonName: 'test' });
    expect(again.generated).toBe(false);
    expect(again.fingerprint).toBe(fingerprint);
    const x = new X509Certificate(readFileSync(join(dir, 'tls', 'server.crt')));
    expect(x.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x.issuer).toBe(x.subject);
    expect(x.verify(x.publicKey)).toBe(true); // self-signed
  });
  it('configured files win; a missing one is INVALID_CONFIG naming the setting', async () => {
    const made = await createSelfSignedCert(['example.test'], 'other');
    writeFileSync(join(dir, 'c.pem'), made.cert);
    writeFileSync(join(dir, 'k.pem'), made.key);
    const cfg = await loadServerTls({ mode: 'on', certFile: join(dir, 'c.pem'), keyFile: join(dir, 'k.pem') }, dir, {
      names: [],
      commonName: 'x',
    });
    expect(cfg.fingerprint).not.toBe(fingerprint);
    expect(cfg.selfSigned).toBe(false);
    await expect(
      loadServerTls({ mode: 'on', certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'k.pem') }, dir, {
        names: [],
        commonName: 'x',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringMatching(/tls\.certFile/) });
  });
});

describe('tlsDispatcher', () => {
  it('accepts the pinned certificate', async () => {
    const r = await fetch(url, { dispatcher: tlsDispatcher({ fingerprint }) });
    expect(await r.text()).toBe('ok');
  });
  it('refuses another certificate, naming the pinned and the seen fingerprints', async () => {
    const wrong = 'sha256:' + '00'.repeat(32);
    const err = await failure(fetch(url, { dispatcher: tlsDispatcher({ fingerprint: wrong }) }));
    expect(err).toMatchObject({ code: 'TLS_FINGERPRINT_MISMATCH', details: { expected: wrong, seen: fingerprint } });
    expect((err as Error).message).toContain(`fingerprint ${fingerprint}, but ${wrong} is pinned`);
  });
  it('trusts a configured CA file', async () => {
    const r = await fetch(url, { dispatcher: tlsDispatcher({ caFile: join(dir, 'ca.pem') }) });
    expect(r.status).toBe(200);
  });
  it('without a pin or CA, a self-signed server is TLS_UNTRUSTED with what to do', async () => {
    const err = await failure(fetch(url, { dispatcher: tlsDispatcher({}) }));
    expect(err).toMatchObject({ code: 'TLS_UNTRUSTED' });
    expect((err as Error).message).toMatch(/--ca FILE.*--tls-fingerprint/);
  });
});
