import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EnvCerts {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  saKey: string;
  saPub: string;
}

const openssl = (dir: string, args: string[]) =>
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * Self-signed CA, a serving cert for 127.0.0.1/localhost (plus `extraSans`, e.g. "IP:10.96.0.1")
 * signed by it, and the service-account signing key pair.
 */
export function generateCerts(dir: string, extraSans: string[] = []): EnvCerts {
  const p = (f: string) => join(dir, f);
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=consortia-test-ca',
    '-days',
    '2',
  ]);
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'serving.key',
    '-out',
    'serving.csr',
    '-subj',
    '/CN=kube-apiserver',
  ]);
  const sans = ['IP:127.0.0.1', 'DNS:localhost', 'DNS:kubernetes.default.svc', ...extraSans].join(',');
  writeFileSync(p('serving.ext'), `subjectAltName=${sans}\nextendedKeyUsage=serverAuth\n`);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'serving.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'serving.crt',
    '-days',
    '2',
    '-extfile',
    'serving.ext',
  ]);
  openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
  return {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('serving.crt'),
    servingKey: p('serving.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

/** A client certificate signed by the CA of generateCerts (`cn` user, `org` group). */
export function generateClientCert(dir: string, name: string, cn: string, org: string): { cert: string; key: string } {
  openssl(dir, [
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/O=${org}/CN=${cn}`,
  ]);
  writeFileSync(join(dir, `${name}.ext`), 'extendedKeyUsage=clientAuth\n');
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}
