import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { caFromPem, createCa, issueServerCert, loadOrCreateCa } from '../../src/lib/tls-ca.js';

describe('node CA (lib/tls-ca.ts)', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  async function serve(cert: string, key: string): Promise<{ server: Server; port: number }> {
    const server = createServer({ cert, key }, (_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    return { server, port: (server.address() as AddressInfo).port };
  }

  it('issues server certificates signed by the CA, for exactly the names asked', async () => {
    const ca = await createCa('test-node-ca');
    const caCert = new X509Certificate(ca.cert);
    expect(caCert.ca).toBe(true);
    expect(ca.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    const names = ['node-a.ns.svc.cluster.local', 'node-a', '127.0.0.1'];
    const issued = await issueServerCert(ca, names);
    const leaf = new X509Certificate(issued.cert);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe('DNS:node-a.ns.svc.cluster.local, DNS:node-a, IP Address:127.0.0.1');
    // a real handshake: trusted with the CA, by name (servername) and by IP
    const { port } = await serve(issued.cert, issued.key);
    const byName = new Agent({ connect: { ca: ca.cert, servername: 'node-a' } });
    expect(await (await fetch(`https://127.0.0.1:${port}/`, { dispatcher: byName })).text()).toBe('ok');
    expect(
      await (await fetch(`https://127.0.0.1:${port}/`, { dispatcher: new Agent({ connect: { ca: ca.cert } }) })).text(),
    ).toBe('ok');
    // another name, or another CA, is refused
    const wrongName = new Agent({ connect: { ca: ca.cert, servername: 'node-b' } });
    await expect(fetch(`https://127.0.0.1:${port}/`, { dispatcher: wrongName })).rejects.toMatchObject({
      cause: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' },
    });
    const other = await createCa('other-ca');
    const wrongCa = new Agent({ connect: { ca: other.cert, servername: 'node-a' } });
    await expect(fetch(`https://127.0.0.1:${port}/`, { dispatcher: wrongCa })).rejects.toMatchObject({
      cause: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    });
  });

  it('is generated once into its directory, key owner-only, and the same on the next load', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-ca-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const first = await loadOrCreateCa(join(dir, 'tls'), 'consortia-node-ca');
    expect(first.generated).toBe(true);
    expect(statSync(join(dir, 'tls', 'node-ca.key')).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateCa(join(dir, 'tls'), 'consortia-node-ca');
    expect(again.generated).toBe(false);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(again.cert).toBe(first.cert);
  });

  it('refuses a certificate that is not a CA, or a key that is not one', async () => {
    const ca = await createCa('test-node-ca');
    const leaf = await issueServerCert(ca, ['x']);
    await expect(caFromPem(leaf.cert, leaf.key, 'leaf')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(caFromPem(ca.cert, 'not a key', 'bad key')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
