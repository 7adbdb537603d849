/**
 * Control-plane configuration: optional file (--config F, YAML or JSON) overlaid by
 * CONSORTIA_* environment variables, validated once at start and passed down.
 */
import { Type, type Static } from 'typebox';
import { envOverlay, readConfigFile, validateConfig } from '../lib/config.js';
import { checkTlsConfig, TlsConfigSchema, type TlsConfig } from '../lib/tls-config.js';
import { CommonCodes, ConsortiaError } from '../lib/errors.js';
import { WebhookConfigSchema } from './delivery/config.js';
import { KeyProviderSchema } from './domain/key-providers.js';
import { TOKEN_TTL_CEILING_SECONDS, TOKEN_TTL_DEFAULT_SECONDS, TOKEN_TTL_MIN_SECONDS } from './domain/tokens.js';

/**
 * Default API rate limit: 1000 requests per 10 s per client (100/s). The CLI polls every 500 ms
 * and the e2e suites at most every 100-250 ms, far below; loopback is not exempt (the embedded
 * default serves everything on 127.0.0.1, where an exemption would switch the limit off).
 */
export const RATE_LIMIT_DEFAULTS = { max: 1000, windowMs: 10_000 } as const;

export const ControlPlaneConfigSchema = Type.Object({
  dataDir: Type.String({ default: './data/control-plane', minLength: 1 }),
  listen: Type.String({ default: '127.0.0.1:8080', pattern: '^[^:]+:[0-9]+$' }),
  /** If set, this secret is the platform-admin token (hashed at first start); else one is generated and printed once. */
  bootstrapToken: Type.Optional(Type.String({ minLength: 16 })),
  /** 32 bytes, hex or base64: AES-256-GCM key for cluster credentials at rest. */
  encryptionKey: Type.Optional(Type.String({ minLength: 32 })),
  logLevel: Type.Union(
    [Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')],
    {
      default: 'info',
    },
  ),
  reconcileIntervalMs: Type.Integer({ default: 1000, minimum: 50 }),
  /** Upper bound of the per-node retry backoff. */
  maxBackoffMs: Type.Integer({ default: 30000, minimum: 100 }),
  /** Container image for kubernetes nodes. */
  nodeImage: Type.Optional(Type.String()),
  /** Passed as-is to createLocalRuntime(opts) (runtimes/local). */
  localRuntime: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /**
   * Options of the kubernetes runtime for every registered cluster (namespacePrefix, storage per
   * tier, nodeAccess, pvcPolicy, ...; see runtimes/kubernetes/options.ts). Checked at start.
   */
  kubernetesRuntime: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  /**
   * Per-client (IP) API rate limit: requests per rateLimitWindowMs, 429 RATE_LIMITED (Retry-After)
   * beyond; 0 disables. /healthz, /readyz and /metrics are not limited. See RATE_LIMIT_DEFAULTS.
   */
  rateLimitMax: Type.Integer({ default: RATE_LIMIT_DEFAULTS.max, minimum: 0 }),
  rateLimitWindowMs: Type.Integer({ default: RATE_LIMIT_DEFAULTS.windowMs, minimum: 100 }),
  /**
   * HTTPS of the API (lib/tls-config.ts): certFile/keyFile (+ caFile), else a self-signed certificate
   * generated once into <dataDir>/tls; mode 'off' (CONSORTIA_INSECURE_HTTP=1) only on a loopback listen.
   */
  tls: TlsConfigSchema,
  /** Lifetime of an API token created without ttlSeconds, and the longest one a request may ask for (domain/tokens.ts). */
  tokenTtlSeconds: Type.Integer({
    default: TOKEN_TTL_DEFAULT_SECONDS,
    minimum: TOKEN_TTL_MIN_SECONDS,
    maximum: TOKEN_TTL_CEILING_SECONDS,
  }),
  tokenMaxTtlSeconds: Type.Integer({
    default: TOKEN_TTL_CEILING_SECONDS,
    minimum: TOKEN_TTL_MIN_SECONDS,
    maximum: TOKEN_TTL_CEILING_SECONDS,
  }),
  /** Webhook delivery of subscriptions (delivery/config.ts): extra CA, attempts, backoff, poll interval. */
  webhooks: WebhookConfigSchema,
  /**
   * Where nodes may keep their keys besides a key file (domain/key-providers.ts): PKCS#11 tokens and
   * AWS KMS, each named; a node request picks one with `key.provider`. Checked, PINs read, at start.
   */
  keyProviders: Type.Array(KeyProviderSchema, { default: [], maxItems: 32 }),
});
export type ControlPlaneConfig = Static<typeof ControlPlaneConfigSchema>;

export const ENV_MAPPING: Record<string, string> = {
  dataDir: 'CONSORTIA_DATA_DIR',
  listen: 'CONSORTIA_LISTEN',
  bootstrapToken: 'CONSORTIA_BOOTSTRAP_TOKEN',
  encryptionKey: 'CONSORTIA_ENCRYPTION_KEY',
  logLevel: 'CONSORTIA_LOG_LEVEL',
  reconcileIntervalMs: 'CONSORTIA_RECONCILE_INTERVAL_MS',
  maxBackoffMs: 'CONSORTIA_MAX_BACKOFF_MS',
  nodeImage: 'CONSORTIA_NODE_IMAGE',
  rateLimitMax: 'CONSORTIA_RATE_LIMIT_MAX',
  rateLimitWindowMs: 'CONSORTIA_RATE_LIMIT_WINDOW_MS',
  tokenTtlSeconds: 'CONSORTIA_TOKEN_TTL_SECONDS',
  tokenMaxTtlSeconds: 'CONSORTIA_TOKEN_MAX_TTL_SECONDS',
};

/** Environment variables of the nested `tls` block; CONSORTIA_INSECURE_HTTP=1 (or true) means tls.mode 'off'. */
export const TLS_ENV_MAPPING = {
  certFile: 'CONSORTIA_TLS_CERT_FILE',
  keyFile: 'CONSORTIA_TLS_KEY_FILE',
  caFile: 'CONSORTIA_TLS_CA_FILE',
  insecureHttp: 'CONSORTIA_INSECURE_HTTP',
} as const;

/** The `tls` block from file and environment (environment wins, key by key). */
function tlsOverlay(fromFile: unknown, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const tls: Record<string, unknown> =
    fromFile && typeof fromFile === 'object' && !Array.isArray(fromFile)
      ? { ...(fromFile as Record<string, unknown>) }
      : {};
  for (const key of ['certFile', 'keyFile', 'caFile'] as const) {
    const v = env[TLS_ENV_MAPPING[key]];
    if (v !== undefined && v !== '') tls[key] = v;
  }
  const insecure = env[TLS_ENV_MAPPING.insecureHttp];
  if (insecure !== undefined && insecure !== '') {
    if (insecure === '1' || insecure === 'true') tls['mode'] = 'off';
    else if (insecure !== '0' && insecure !== 'false') {
      throw new ConsortiaError(
        CommonCodes.INVALID_CONFIG,
        `invalid configuration: ${TLS_ENV_MAPPING.insecureHttp} must be 1/true or 0/false, got ${JSON.stringify(insecure)}`,
      );
    }
  }
  return tls;
}

/** Plain HTTP only on loopback and only when asked for; a certificate needs its key. */
export function checkControlPlaneTls(tls: TlsConfig, listen: string): void {
  checkTlsConfig(tls, parseListen(listen).host, {
    mode: `tls.mode (${TLS_ENV_MAPPING.insecureHttp})`,
    listen: 'listen (CONSORTIA_LISTEN)',
    certFile: `tls.certFile (${TLS_ENV_MAPPING.certFile})`,
    keyFile: `tls.keyFile (${TLS_ENV_MAPPING.keyFile})`,
  });
}

export function loadControlPlaneConfig(argv: string[], env: NodeJS.ProcessEnv): ControlPlaneConfig {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  const rawFile = file ? readConfigFile(file) : {};
  const fromFile = { ...rawFile, tls: tlsOverlay(rawFile['tls'], env) };
  const cfg = validateConfig(ControlPlaneConfigSchema, { ...fromFile, ...envOverlay(env, ENV_MAPPING) });
  if (cfg.tokenTtlSeconds > cfg.tokenMaxTtlSeconds) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `invalid configuration: tokenTtlSeconds (${cfg.tokenTtlSeconds}) is over tokenMaxTtlSeconds (${cfg.tokenMaxTtlSeconds})`,
    );
  }
  checkControlPlaneTls(cfg.tls, cfg.listen);
  return cfg;
}

export function parseListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  return { host: listen.slice(0, idx), port: Number(listen.slice(idx + 1)) };
}
