/**
 * How a client (the CLI, the SDK, the control plane) trusts an HTTPS server: the system CAs, a
 * configured CA bundle, or one pinned certificate fingerprint (self-signed servers). Returns an
 * undici dispatcher to pass to undici's fetch; errors carry stable codes and name what was
 * expected and what was seen.
 */
import { readFileSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { ConsortiaError, CommonCodes } from './errors.js';
import { formatFingerprint } from './tls-fingerprint.js';

export const TlsClientCodes = {
  /** The server's certificate is not the pinned one. */
  TLS_FINGERPRINT_MISMATCH: 'TLS_FINGERPRINT_MISMATCH',
  /** The server's certificate is not signed by a trusted CA (and nothing is pinned). */
  TLS_UNTRUSTED: 'TLS_UNTRUSTED',
} as const;

export interface TlsTrust {
  /** PEM CA bundle trusted instead of the system CAs. */
  caFile?: string;
  /** "sha256:..." (canonical, see tls-fingerprint.ts): only this exact server certificate is accepted, CA or not. */
  fingerprint?: string;
}

/** Node's error codes for a certificate chain that does not verify. */
const UNTRUSTED_CERT_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

function readCa(caFile: string): string {
  try {
    return readFileSync(caFile, 'utf8');
  } catch (err) {
    throw new ConsortiaError(
      CommonCodes.INVALID_ARGUMENT,
      `cannot read the CA file ${caFile}: ${(err as Error).message}`,
    );
  }
}

/**
 * A dispatcher that enforces `trust`. With a fingerprint, chain and host name are not checked
 * (the pin names the one certificate accepted); TLS session resumption is off so every
 * connection shows its certificate.
 */
export function tlsDispatcher(trust: TlsTrust): Agent {
  const ca = trust.caFile !== undefined ? readCa(trust.caFile) : undefined;
  const expected = trust.fingerprint;
  if (expected === undefined) return new Agent({ connect: ca !== undefined ? { ca } : {} });
  const base = buildConnector({ rejectUnauthorized: false, maxCachedSessions: 0 });
  return new Agent({
    connect: (opts, cb) =>
      base(opts, (err, socket) => {
        if (err !== null) return cb(err, null);
        if (opts.protocol !== 'https:') return cb(null, socket);
        const raw = (socket as TLSSocket).getPeerCertificate().fingerprint256;
        const seen = raw ? formatFingerprint(raw) : 'none';
        if (seen !== expected) {
          socket.destroy();
          return cb(
            new ConsortiaError(
              TlsClientCodes.TLS_FINGERPRINT_MISMATCH,
              `the server at https://${opts.hostname}:${opts.port} presented a certificate with fingerprint ${seen}, but ${expected} is pinned; ` +
                'not connecting. If the server certificate was replaced on purpose, pin the new one (--tls-fingerprint)',
              { expected, seen },
            ),
            null,
          );
        }
        return cb(null, socket);
      }),
  });
}

/**
 * The TLS reason behind a failed fetch (undici wraps it as `cause`), as a ConsortiaError with a
 * stable code and what to do; undefined when the failure was not about trust.
 */
export function tlsFailure(err: unknown, url: string): ConsortiaError | undefined {
  const cause = (err as { cause?: unknown }).cause ?? err;
  if (cause instanceof ConsortiaError && cause.code === TlsClientCodes.TLS_FINGERPRINT_MISMATCH) return cause;
  const code = (cause as { code?: string }).code;
  if (code !== undefined && UNTRUSTED_CERT_CODES.has(code)) {
    return new ConsortiaError(
      TlsClientCodes.TLS_UNTRUSTED,
      `the certificate of ${url} is not trusted (${code}: ${(cause as Error).message}); pass --ca FILE (the CA that signed it) ` +
        'or --tls-fingerprint sha256:... (the fingerprint the server printed at start-up)',
      { tlsError: code },
    );
  }
  return undefined;
}
