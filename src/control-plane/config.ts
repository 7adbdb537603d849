/**
 * Control-plane configuration: optional file (--config F, YAML or JSON) overlaid by
 * CONSORTIA_* environment variables, validated once at start and passed down.
 */
import { Type, type Static } from 'typebox';
import { envOverlay, readConfigFile, validateConfig } from '../lib/config.js';

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
  logLevel: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error'), Type.Literal('silent')], {
    default: 'info',
  }),
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
};

export function loadControlPlaneConfig(argv: string[], env: NodeJS.ProcessEnv): ControlPlaneConfig {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  const fromFile = file ? readConfigFile(file) : {};
  return validateConfig(ControlPlaneConfigSchema, { ...fromFile, ...envOverlay(env, ENV_MAPPING) });
}

export function parseListen(listen: string): { host: string; port: number } {
  const idx = listen.lastIndexOf(':');
  return { host: listen.slice(0, idx), port: Number(listen.slice(idx + 1)) };
}
