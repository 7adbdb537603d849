import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Static, type TSchema } from 'typebox';
import { ConsortiaError, CommonCodes } from '../lib/errors.js';
import { readConfigFile, validateConfig } from '../lib/config.js';
import { checkTlsConfig, TlsConfigSchema } from '../lib/tls-config.js';
import { literalUnion } from '../lib/literal-union.js';
import { parseKeyRef } from '../lib/custody/index.js';
import { RATE_LIMIT_MAX_DEFAULT, RATE_LIMIT_WINDOW_MS_DEFAULT } from './rpc/limits.js';
import { DEFAULT_TIMEOUTS } from '../consensus/timeouts.js';
import { PEER_TIMEOUT_MS, PING_INTERVAL_MS } from './p2p/network.js';
import { VERIFY_WORKERS_MAX, defaultVerifyWorkers } from './verify-pool/pool.js';
import {
  MEMPOOL_ACCOUNT_TXS_MAX,
  MEMPOOL_FUTURE_NONCES_MAX,
  MEMPOOL_PEER_SHARE_PERCENT,
  MEMPOOL_TX_TTL_MS,
} from './mempool/mempool.js';
import { MEMPOOL_BACKLOG_FLOOR_TXS, MEMPOOL_BACKLOG_TARGET_MS } from './mempool/backlog-gate.js';

/**
 * Chain-node configuration: a YAML/JSON file overlaid by
 * CONSORTIA_NODE_<UPPER_SNAKE> environment variables, validated once at start-up and
 * passed down. Nested keys join with '_' (mempool.maxTxs -> CONSORTIA_NODE_MEMPOOL_MAX_TXS).
 */

export const NODE_ROLES = ['validator', 'super', 'ordinary', 'light'] as const;
export type NodeRoleName = (typeof NODE_ROLES)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/** "host:port" with an IPv4/hostname host or a bracketed IPv6 host; port 0 means "pick a free one". */
const HOST_PORT_PATTERN = '^(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):([0-9]{1,5})$';
const HEX32_PATTERN = '^[0-9a-f]{64}$';

const HostPort = (description: string) => Type.String({ pattern: HOST_PORT_PATTERN, description });
const Int = (min: number, max: number, def: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

export const PeerSchema = Type.Object(
  {
    publicKey: Type.String({
      pattern: HEX32_PATTERN,
      description: 'peer node key, 32-byte Ed25519 public key as lowercase hex',
    }),
    address: HostPort('peer P2P address host:port'),
  },
  { additionalProperties: false },
);

export const ConsensusTimeoutsSchema = Type.Object(
  {
    timeoutProposeMs: Int(50, 600_000, 3_000, 'wait for a proposal in round 0'),
    timeoutPrevoteMs: Int(10, 600_000, 1_000, 'wait after +2/3 prevotes for anything'),
    timeoutPrecommitMs: Int(10, 600_000, 1_000, 'wait after +2/3 precommits for anything'),
    timeoutDeltaMs: Int(0, 600_000, 500, 'added to each timeout per round (timeouts grow per round)'),
    timeoutProposeAbsentMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 600_000,
        description: `wait for a proposal in round 0 when its proposer let its last turn time out and was not heard from since (plus timeoutDeltaMs per round, at most the normal timeout; default ${DEFAULT_TIMEOUTS.proposeAbsentMs})`,
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const MempoolSchema = Type.Object(
  {
    maxTxs: Int(1, 10_000_000, 20_000, 'maximum number of pending transactions'),
    maxBytes: Int(1024, 4 * 1024 ** 3, 64 * 1024 * 1024, 'maximum total bytes of pending transactions'),
    // Optional, defaults in src/node/mempool (named constants with units):
    txTtlMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 86_400_000,
        description: `ms a pending tx may wait before it is dropped (default MEMPOOL_TX_TTL_MS = ${MEMPOOL_TX_TTL_MS})`,
      }),
    ),
    futureNoncesMax: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        description: `how far above its account's next executable nonce a tx's nonce may be (default MEMPOOL_FUTURE_NONCES_MAX = ${MEMPOOL_FUTURE_NONCES_MAX})`,
      }),
    ),
    accountMaxTxs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: `pending txs per account (default MEMPOOL_ACCOUNT_TXS_MAX = ${MEMPOOL_ACCOUNT_TXS_MAX})`,
      }),
    ),
    peerMaxTxs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: `pending txs first gossiped by one peer (default MEMPOOL_PEER_SHARE_PERCENT = ${MEMPOOL_PEER_SHARE_PERCENT}% of maxTxs)`,
      }),
    ),
    backlogTargetMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 600_000,
        description: `API submissions are refused (429 MEMPOOL_BUSY, Retry-After) while the pending txs amount to more than this many ms of the committed rate (default MEMPOOL_BACKLOG_TARGET_MS = ${MEMPOOL_BACKLOG_TARGET_MS})`,
      }),
    ),
    backlogFloorTxs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: `pending txs always allowed whatever the committed rate (default MEMPOOL_BACKLOG_FLOOR_TXS = ${MEMPOOL_BACKLOG_FLOOR_TXS})`,
      }),
    ),
  },
  { additionalProperties: false, default: {} },
);

export const ApiSchema = Type.Object(
  {
    bodyLimitBytes: Int(
      1024,
      1024 ** 3,
      16 * 1024 * 1024,
      'largest accepted HTTP body (batch submissions); larger gets 413',
    ),
    maxWaitMs: Int(0, 600_000, 30_000, 'upper bound for POST /v1/txs?wait=commit&timeoutMs'),
    sseKeepAliveMs: Int(1_000, 600_000, 15_000, 'interval of SSE keep-alive comments on /v1/events'),
    rateLimitMax: Int(
      0,
      1_000_000_000,
      RATE_LIMIT_MAX_DEFAULT,
      'requests per client (IP) per rateLimitWindowMs on the node API, 429 RATE_LIMITED beyond; 0 disables; /healthz, /readyz, /metrics are not limited',
    ),
    rateLimitWindowMs: Int(100, 3_600_000, RATE_LIMIT_WINDOW_MS_DEFAULT, 'window of api.rateLimitMax, ms'),
  },
  { additionalProperties: false, default: {} },
);

/**
 * What the genesis of the consortium a node was provisioned for must look like (set by the control
 * plane; every field optional, all given ones must hold): its exact hash once the ceremony sealed it,
 * else its founding members with their admin keys (every member must approve a genesis, so only the
 * founders' own keys can seal one) and this node listed in it.
 */
export const ExpectedGenesisSchema = Type.Object(
  {
    hash: Type.Optional(
      Type.String({
        pattern: HEX32_PATTERN,
        description: 'genesis hash (lowercase hex) of the only genesis this node accepts',
      }),
    ),
    members: Type.Optional(
      Type.Array(
        Type.Object(
          {
            memberId: Type.String({ minLength: 1 }),
            adminKeys: Type.Array(Type.String({ pattern: HEX32_PATTERN }), {
              minItems: 1,
              description: 'the admin keys this member may have in the genesis',
            }),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, description: 'exactly these members (the founders), each with only these admin keys' },
      ),
    ),
    includesSelf: Type.Optional(
      Type.Boolean({ description: "this node's key is a validator (role validator) or a node of the genesis" }),
    ),
  },
  { additionalProperties: false },
);

export const NodeConfigSchema = Type.Object(
  {
    role: literalUnion(NODE_ROLES, { default: 'validator' }),
    chainId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }),
    dataDir: Type.String({ minLength: 1 }),
    /** Ed25519 seed file; generated (0600) by the node if missing. Defaults to <dataDir>/node-key.json. */
    keyFile: Type.Optional(Type.String({ minLength: 1 })),
    /**
     * Where the node key lives (src/node/node-key.ts): `file` (default, keyFile above); `pkcs11`, a key
     * labelled keyLabel inside the token tokenLabel of the PKCS#11 module (generated there on first
     * start), the user PIN read from the variable pinEnv or the file pinFile; or `aws-kms`, an existing
     * ECC_NIST_EDWARDS25519 SIGN_VERIFY key keyId (id, ARN or alias) in region, credentials from the
     * AWS SDK's default chain (Pod Identity, IRSA, env), never from this config. Chain nodes only.
     */
    key: Type.Optional(
      Type.Object(
        {
          backend: literalUnion(['file', 'pkcs11', 'aws-kms'] as const, { default: 'file' }),
          module: Type.Optional(Type.String({ minLength: 1, description: 'absolute path of the PKCS#11 module' })),
          tokenLabel: Type.Optional(Type.String({ minLength: 1 })),
          keyLabel: Type.Optional(Type.String({ minLength: 1 })),
          pinEnv: Type.Optional(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })),
          pinFile: Type.Optional(Type.String({ minLength: 1 })),
          keyId: Type.Optional(Type.String({ minLength: 1, description: 'KMS key id, ARN or alias (aws-kms)' })),
          region: Type.Optional(Type.String({ minLength: 1, description: 'AWS region of the KMS key (aws-kms)' })),
          endpoint: Type.Optional(
            Type.String({ minLength: 1, description: 'a KMS-compatible endpoint URL instead of AWS (aws-kms)' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    /** Sealed genesis JSON; without it (and none persisted in dataDir) the node awaits PUT /v1/genesis. A persisted genesis that differs from it stops the node (GENESIS_MISMATCH). */
    genesisFile: Type.Optional(Type.String({ minLength: 1 })),
    p2pListen: HostPort('P2P listen address'),
    p2pAdvertise: Type.Optional(HostPort('address peers should dial, when it differs from p2pListen')),
    p2pPingIntervalMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 60_000,
        description: `ms between pings to each peer (default PING_INTERVAL_MS = ${PING_INTERVAL_MS})`,
      }),
    ),
    p2pPeerTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 500,
        maximum: 600_000,
        description: `a peer connection on which nothing arrived for this long is closed and redialed (default PEER_TIMEOUT_MS = ${PEER_TIMEOUT_MS}; at least 2 ping intervals)`,
      }),
    ),
    apiListen: HostPort('HTTP API listen address'),
    /**
     * HTTPS of the node API (lib/tls-config.ts): certFile/keyFile (+ caFile), else a self-signed certificate
     * generated once into <dataDir>/tls; mode 'off' (--insecure-http) only on a loopback apiListen, or
     * with plainOnNetwork (a network encrypted by other means). The Kubernetes runtime's pods get
     * certFile/keyFile/caFile from their TLS Secret (docs/trust-model.md#transport-security).
     */
    tls: TlsConfigSchema,
    peers: Type.Array(PeerSchema, { default: [] }),
    retentionBlocks: Type.Optional(Type.Integer({ minimum: 1 })),
    retentionSeconds: Type.Optional(Type.Integer({ minimum: 1 })),
    followAccounts: Type.Array(Type.String({ pattern: HEX32_PATTERN }), { default: [] }),
    syncFrom: Type.Array(Type.String({ pattern: '^https?://' }), { default: [] }),
    logLevel: literalUnion(LOG_LEVELS, { default: 'info' }),
    consensus: ConsensusTimeoutsSchema,
    mempool: MempoolSchema,
    maxTxBytes: Int(128, 16 * 1024 * 1024, 32 * 1024, 'largest encoded tx accepted at admission'),
    /** Threads that verify tx signatures (src/node/verify-pool); resolved at start-up, see NodeConfig. */
    verifyWorkers: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: VERIFY_WORKERS_MAX,
        description:
          'worker threads that verify tx signatures (admission, gossip, proposals) off the consensus thread; 0 verifies on the main thread; default: available cores - 1, at least 1',
      }),
    ),
    api: ApiSchema,
    /**
     * File holding this node's admin token (written by its runtime; see src/node/rpc/admin-auth.ts).
     * Every mutating endpoint but tx submission (PUT /v1/genesis) needs it as `Authorization: Bearer`;
     * without it (or while the file is absent) those endpoints refuse every request.
     */
    adminTokenFile: Type.Optional(Type.String({ minLength: 1 })),
    /** The genesis this node was provisioned for (src/node/genesis-policy.ts); any other is refused. */
    expectedGenesis: Type.Optional(ExpectedGenesisSchema),
  },
  { additionalProperties: false },
);

/** Defaults for the two listen addresses (docs/protocol.md#node-http-api). */
export const DEFAULT_API_LISTEN = '127.0.0.1:26657';
export const DEFAULT_P2P_LISTEN = '127.0.0.1:26656';

type RawNodeConfig = Static<typeof NodeConfigSchema>;
/** The validated config: keyFile always resolved; paths absolute. */
export type NodeConfig = Omit<RawNodeConfig, 'keyFile' | 'verifyWorkers'> & {
  keyFile: string;
  /** Always set: the configured value, else defaultVerifyWorkers() of this host. */
  verifyWorkers: number;
};
export type PeerConfig = Static<typeof PeerSchema>;
export type ConsensusTimeouts = Static<typeof ConsensusTimeoutsSchema>;
export type MempoolConfig = Static<typeof MempoolSchema>;

export const NODE_ENV_PREFIX = 'CONSORTIA_NODE_';
/** Env var naming the config file when --config is not given. */
export const NODE_CONFIG_FILE_ENV = 'CONSORTIA_NODE_CONFIG';

export function toUpperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Every leaf key of the schema with its env name, e.g. ['mempool','maxTxs'] -> CONSORTIA_NODE_MEMPOOL_MAX_TXS. */
export function nodeEnvNames(): { path: string[]; env: string; kind: 'scalar' | 'list' | 'peers' }[] {
  const out: { path: string[]; env: string; kind: 'scalar' | 'list' | 'peers' }[] = [];
  const props = NodeConfigSchema.properties as Record<
    string,
    TSchema & { properties?: Record<string, TSchema>; type?: string }
  >;
  for (const [key, schema] of Object.entries(props)) {
    if (schema.type === 'object' && schema.properties) {
      for (const [sub, subSchema] of Object.entries(schema.properties)) {
        const kind = (subSchema as { type?: string }).type === 'array' ? 'list' : 'scalar';
        out.push({ path: [key, sub], env: NODE_ENV_PREFIX + toUpperSnake(key) + '_' + toUpperSnake(sub), kind });
      }
    } else {
      const kind = key === 'peers' ? 'peers' : schema.type === 'array' ? 'list' : 'scalar';
      out.push({ path: [key], env: NODE_ENV_PREFIX + toUpperSnake(key), kind });
    }
  }
  return out;
}

/** Peers from env: a JSON array of {publicKey,address}, or "pubhex@host:port,pubhex@host:port". */
export function parsePeersEnv(value: string): unknown {
  const v = value.trim();
  if (v.startsWith('[')) return parseJsonEnv('PEERS', v);
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((entry) => {
      const at = entry.indexOf('@');
      if (at < 0)
        throw new ConsortiaError(
          CommonCodes.INVALID_CONFIG,
          `${NODE_ENV_PREFIX}PEERS entry "${entry}" must be publicKeyHex@host:port`,
        );
      return { publicKey: entry.slice(0, at), address: entry.slice(at + 1) };
    });
}

function parseJsonEnv(name: string, v: string): unknown {
  try {
    return JSON.parse(v);
  } catch (err) {
    throw new ConsortiaError(
      CommonCodes.INVALID_CONFIG,
      `${NODE_ENV_PREFIX}${name} is not valid JSON: ${(err as Error).message}`,
    );
  }
}

/** Env overlay for the node config (nested objects merged key by key). */
export function nodeEnvOverlay(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { path, env: name, kind } of nodeEnvNames()) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value =
      kind === 'peers'
        ? parsePeersEnv(raw)
        : kind === 'list'
          ? raw.trim().startsWith('[')
            ? parseJsonEnv(toUpperSnake(path[0]!), raw)
            : raw
                .split(',')
                .map((s) => s.trim())
                .filter((s) => s.length > 0)
          : raw;
    if (path.length === 1) out[path[0]!] = value;
    else {
      const parent = (out[path[0]!] ??= {}) as Record<string, unknown>;
      parent[path[1]!] = value;
    }
  }
  return out;
}

function mergeConfig(file: Record<string, unknown>, overlay: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(overlay)) {
    const base = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && base && typeof base === 'object' && !Array.isArray(base)) {
      out[k] = { ...(base as Record<string, unknown>), ...(v as Record<string, unknown>) };
    } else out[k] = v;
  }
  return out;
}

/** Node flag for tls.mode 'off' (plain HTTP; refused unless apiListen is loopback). */
export const INSECURE_HTTP_FLAG = '--insecure-http';

/** Finds `--config F` / `--config=F` in argv (process.argv.slice(2) style). */
export function configPathFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' || a === '-c') {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('-'))
        throw new ConsortiaError(CommonCodes.INVALID_CONFIG, '--config needs a file path');
      return next;
    }
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  const fromEnv = env[NODE_CONFIG_FILE_ENV];
  return fromEnv && fromEnv !== '' ? fromEnv : undefined;
}

/** Splits "host:port" (IPv6 in brackets) into parts; port 0 allowed. */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = new RegExp(HOST_PORT_PATTERN).exec(address);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) {
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `"${address}" is not host:port`);
  }
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** Fields each node key backend takes; any other is a mistake (a pkcs11 PIN next to a KMS key id). */
const KEY_FIELDS: Record<string, readonly string[]> = {
  file: ['backend'],
  pkcs11: ['backend', 'module', 'tokenLabel', 'keyLabel', 'pinEnv', 'pinFile'],
  'aws-kms': ['backend', 'keyId', 'region', 'endpoint'],
};

/**
 * A pkcs11 or aws-kms node key needs a complete reference (lib/custody/key-ref.ts) and no field of
 * another backend, and a chain node: a light node signs nothing.
 */
function checkNodeKeyConfig(cfg: RawNodeConfig): void {
  if (cfg.key === undefined) return;
  const problem = (field: string, p: string): never => {
    throw new ConsortiaError(CommonCodes.INVALID_CONFIG, `invalid configuration: ${field}: ${p}`, {
      problems: [`${field}: ${p}`],
    });
  };
  const backend = cfg.key.backend;
  const allowed = KEY_FIELDS[backend] ?? [];
  for (const [field, v] of Object.entries(cfg.key))
    if (v !== undefined && !allowed.includes(field)) problem(`/key/${field}`, `not a field of the ${backend} backend`);
  if (backend === 'file') return;
  if (cfg.role === 'light') problem('/key', 'a light node keeps its key in a file (backend file)');
  if (backend === 'aws-kms')
    for (const field of ['keyId', 'region'] as const)
      if (cfg.key[field] === undefined) problem(`/key/${field}`, 'an aws-kms node key needs keyId and region');
  try {
    parseKeyRef(cfg.key);
  } catch (err) {
    problem('/key', (err as Error).message);
  }
}

/** Validates an already-merged raw object (file + env) into a NodeConfig; `baseDir` resolves relative paths. */
export function parseNodeConfig(raw: Record<string, unknown>, baseDir: string = process.cwd()): NodeConfig {
  const withListenDefaults = { apiListen: DEFAULT_API_LISTEN, p2pListen: DEFAULT_P2P_LISTEN, ...raw };
  const cfg = validateConfig(NodeConfigSchema, withListenDefaults);
  checkNodeKeyConfig(cfg);
  for (const key of ['apiListen', 'p2pListen', 'p2pAdvertise'] as const) {
    const v = cfg[key];
    if (v !== undefined) {
      try {
        parseHostPort(v);
      } catch {
        throw new ConsortiaError(
          CommonCodes.INVALID_CONFIG,
          `invalid configuration: /${key}: port out of range in "${v}"`,
          {
            problems: [`/${key}: port out of range`],
          },
        );
      }
    }
  }
  for (const [i, p] of cfg.peers.entries()) {
    if (parseHostPort(p.address).port === 0) {
      throw new ConsortiaError(
        CommonCodes.INVALID_CONFIG,
        `invalid configuration: /peers/${i}/address: port 0 cannot be dialed`,
        {
          problems: [`/peers/${i}/address: port 0 cannot be dialed`],
        },
      );
    }
  }
  checkTlsConfig(cfg.tls, parseHostPort(cfg.apiListen).host, {
    mode: `tls.mode (${NODE_ENV_PREFIX}TLS_MODE, --insecure-http)`,
    listen: `apiListen (${NODE_ENV_PREFIX}API_LISTEN)`,
    certFile: `tls.certFile (${NODE_ENV_PREFIX}TLS_CERT_FILE)`,
    keyFile: `tls.keyFile (${NODE_ENV_PREFIX}TLS_KEY_FILE)`,
  });
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const dataDir = abs(cfg.dataDir);
  const tls = {
    ...cfg.tls,
    ...(cfg.tls.certFile !== undefined ? { certFile: abs(cfg.tls.certFile) } : {}),
    ...(cfg.tls.keyFile !== undefined ? { keyFile: abs(cfg.tls.keyFile) } : {}),
    ...(cfg.tls.caFile !== undefined ? { caFile: abs(cfg.tls.caFile) } : {}),
  };
  return {
    ...cfg,
    dataDir,
    tls,
    keyFile: cfg.keyFile !== undefined ? abs(cfg.keyFile) : join(dataDir, 'node-key.json'),
    verifyWorkers: cfg.verifyWorkers ?? defaultVerifyWorkers(),
    ...(cfg.genesisFile !== undefined ? { genesisFile: abs(cfg.genesisFile) } : {}),
    ...(cfg.adminTokenFile !== undefined ? { adminTokenFile: abs(cfg.adminTokenFile) } : {}),
  };
}

/**
 * Reads the node config once: optional file (--config F, or CONSORTIA_NODE_CONFIG), overlaid by
 * CONSORTIA_NODE_* env, validated. Throws ConsortiaError INVALID_CONFIG naming each bad field.
 * Relative paths resolve against the process's working directory.
 */
export function loadNodeConfig(argv: readonly string[], env: NodeJS.ProcessEnv): NodeConfig {
  const path = configPathFromArgs(argv, env);
  const file = path !== undefined ? readConfigFile(path) : {};
  const merged = mergeConfig(
    mergeConfig(file, nodeEnvOverlay(env)),
    argv.includes(INSECURE_HTTP_FLAG) ? { tls: { mode: 'off' } } : {},
  );
  return parseNodeConfig(merged, process.cwd());
}
