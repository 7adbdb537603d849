/**
 * The `tls` block shared by the control-plane and chain-node configurations, and the one rule
 * both enforce at start-up: plain HTTP only when asked for explicitly AND on a loopback address
 * (docs/trust-model.md#transport-security).
 */
import { isIP } from 'node:net';
import { Type, type Static } from 'typebox';
import { ConsortiaError, CommonCodes } from './errors.js';
import { literalUnion } from './literal-union.js';

export const TLS_MODES = ['on', 'off'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

export const TlsConfigSchema = Type.Object(
  {
    mode: literalUnion(TLS_MODES, {
      default: 'on',
      description:
        "'on' (default): HTTPS with certFile/keyFile, or a self-signed certificate generated once into the data directory; 'off': plain HTTP, only on a loopback listen address (unless plainOnNetwork)",
    }),
    certFile: Type.Optional(
      Type.String({ minLength: 1, description: 'PEM certificate (chain) served; needs keyFile' }),
    ),
    keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of certFile' })),
    caFile: Type.Optional(
      Type.String({ minLength: 1, description: 'PEM CA bundle served with the certificate (intermediates)' }),
    ),
    plainOnNetwork: Type.Optional(
      Type.Boolean({
        description:
          "with mode 'off': also serve plain HTTP on a non-loopback address. Only for a network that is isolated or encrypted by other means (docs/trust-model.md)",
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type TlsConfig = Static<typeof TlsConfigSchema>;

/** True for addresses that never leave the host: 127.0.0.0/8, ::1 (also IPv4-mapped) and "localhost". */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    const lower = h.toLowerCase();
    return lower === '::1' || lower === '0:0:0:0:0:0:0:1' || lower.startsWith('::ffff:127.');
  }
  return false;
}

/**
 * Refuses a configuration that would serve plain HTTP where others can reach it, and a
 * certificate without its key (or the reverse). `names` are the setting names shown in the
 * message (file key and environment variable) so the operator knows what to change.
 */
export function checkTlsConfig(
  tls: TlsConfig,
  listenHost: string,
  names: { mode: string; listen: string; certFile: string; keyFile: string },
): void {
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: ${names.certFile} and ${names.keyFile} must be given together`,
      {
        problems: [`${names.certFile}/${names.keyFile}: only one is set`],
      },
    );
  }
  if (tls.mode === 'on' && tls.plainOnNetwork) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: tls.plainOnNetwork only applies with ${names.mode} 'off'`,
      {
        problems: ['tls.plainOnNetwork: needs mode off'],
      },
    );
  }
  if (tls.mode === 'off' && !tls.plainOnNetwork && !isLoopbackHost(listenHost)) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: ${names.mode} is 'off' (plain HTTP) but ${names.listen} ${JSON.stringify(listenHost)} is not a loopback address; ` +
        `plain HTTP is only allowed on 127.0.0.1/::1/localhost. Listen on loopback, or remove ${names.mode} to serve HTTPS`,
      { problems: [`${names.mode}: plain HTTP on non-loopback ${listenHost}`] },
    );
  }
}
