/**
 * The server certificate of an HTTPS listener: the configured PEM files, or a self-signed
 * certificate generated once into <dataDir>/tls (kept across restarts, so a client's pinned
 * fingerprint stays valid). node:crypto cannot create certificates; @peculiar/x509 does.
 */
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
// @peculiar/x509 needs a Reflect metadata polyfill loaded before it (its README).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { ConsortiaError, CommonCodes } from './errors.js';
import type { TlsConfig } from './tls-config.js';
import { formatFingerprint } from './tls-fingerprint.js';

/** A generated certificate lasts ten years: renewing it would change the fingerprint every client pinned. */
export const SELF_SIGNED_VALIDITY_DAYS = 3650;
const DAY_MS = 86_400_000;

/** Directory (under the data directory) and file names of a generated certificate. */
export const GENERATED_TLS_DIR = 'tls';
export const GENERATED_CERT_FILE = 'server.crt';
export const GENERATED_KEY_FILE = 'server.key';

export interface ServerTls {
  cert: string;
  key: string;
  ca?: string;
  /** "sha256:<64 lowercase hex>" of the leaf certificate. */
  fingerprint: string;
  certFile: string;
  /** True when the certificate was created by this start (first start). */
  generated: boolean;
  /** True when the certificate is one this program generated (now or earlier), not a configured one. */
  selfSigned: boolean;
}

function readPem(path: string, what: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `cannot read the TLS ${what} ${path} (${setting}): ${(err as Error).message}`,
    );
  }
}

/** "sha256:..." of the first certificate of a PEM text; INVALID_CONFIG naming `source` when it is not one. */
export function pemFingerprint(pem: string, source: string): string {
  try {
    return formatFingerprint(new NodeX509(pem).fingerprint256);
  } catch (err) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `${source} is not a PEM certificate: ${(err as Error).message}`,
    );
  }
}

/** Subject alternative names of a generated certificate: loopback, this host's name, and the listen host when it is specific. */
export function defaultServerNames(listenHost: string): string[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', hostname()]);
  if (listenHost !== '' && listenHost !== '0.0.0.0' && listenHost !== '::') names.add(listenHost);
  return [...names];
}

/** A self-signed ECDSA P-256 server certificate for `names` (DNS names and IP addresses). */
export async function createSelfSignedCert(
  names: readonly string[],
  commonName: string,
  now: Date = new Date(),
): Promise<{ cert: string; key: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      name: `CN=${commonName.replace(/[,+="\\<>;]/g, '_')}`,
      notBefore: new Date(now.getTime() - DAY_MS),
      notAfter: new Date(now.getTime() + SELF_SIGNED_VALIDITY_DAYS * DAY_MS),
      signingAlgorithm: alg,
      // @peculiar/x509 is typed against the DOM's CryptoKeyPair; node's webcrypto keys are the same objects.
      keys: keys as never,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((n) => ({ type: isIP(n) ? ('ip' as const) : ('dns' as const), value: n })),
        ),
      ],
    },
    webcrypto as never,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: cert.toString('pem') + '\n', key };
}

/**
 * The certificate to serve: configured files when tls.certFile/keyFile are set, else the one in
 * <dataDir>/tls, generated (key mode 0600) when absent. `settings` names the config keys for errors.
 */
export async function loadServerTls(
  tls: TlsConfig,
  dataDir: string,
  opts: {
    names: readonly string[];
    commonName: string;
    settings?: { certFile: string; keyFile: string; caFile: string };
  },
): Promise<ServerTls> {
  const settings = opts.settings ?? { certFile: 'tls.certFile', keyFile: 'tls.keyFile', caFile: 'tls.caFile' };
  const ca = tls.caFile !== undefined ? readPem(tls.caFile, 'CA file', settings.caFile) : undefined;
  if (tls.certFile !== undefined && tls.keyFile !== undefined) {
    const cert = readPem(tls.certFile, 'certificate', settings.certFile);
    const key = readPem(tls.keyFile, 'key', settings.keyFile);
    return {
      cert,
      key,
      ...(ca !== undefined ? { ca } : {}),
      fingerprint: pemFingerprint(cert, `${settings.certFile} ${tls.certFile}`),
      certFile: tls.certFile,
      generated: false,
      selfSigned: false,
    };
  }
  const dir = join(dataDir, GENERATED_TLS_DIR);
  const certFile = join(dir, GENERATED_CERT_FILE);
  const keyFile = join(dir, GENERATED_KEY_FILE);
  let generated = false;
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const made = await createSelfSignedCert(opts.names, opts.commonName);
    writeFileSync(keyFile, made.key, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    writeFileSync(certFile, made.cert, { mode: 0o644 });
    generated = true;
  }
  const cert = readPem(certFile, 'certificate', certFile);
  const key = readPem(keyFile, 'key', keyFile);
  return {
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    fingerprint: pemFingerprint(cert, certFile),
    certFile,
    generated,
    selfSigned: true,
  };
}
