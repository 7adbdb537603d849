#!/usr/bin/env node
import { collectDefaultMetrics, Registry } from 'prom-client';
import { isConsortiaError } from '../lib/errors.js';
import { createLogger, type Logger } from '../lib/logging.js';
import { defaultServerNames, loadServerTls } from '../lib/tls-cert.js';
import { GENESIS_MISMATCH, NodeExitCodes } from '../lib/node-exit.js';
import { ChainNode } from './chain-node.js';
import { LightNode } from './light/index.js';
import { loadNodeConfig, parseHostPort, type NodeConfig } from './config.js';
import { parseKeygenArgs } from './keygen.js';
import { keygenWith, nodeKeyConfigFromEnv } from './node-key.js';
import { createNodeMetrics } from './metrics.js';
import { ADMIN_TOKEN_MIN_CHARS, adminTokenFromFile } from './rpc/admin-auth.js';
import type { NodeApiBackend } from './rpc/backend.js';
import { createNodeApi } from './rpc/server.js';
import type { NodeApp } from './rpc/context.js';

/**
 * Chain-node process entrypoint.
 *   node dist/node/main.js --config FILE            run the node (config file + CONSORTIA_NODE_* env)
 *   node dist/node/main.js keygen --key-file F --chain-id C   print { publicKey, proofOfPossession }
 * stdout carries only machine-readable lines (keygen JSON, or one {event:'listening',...} line);
 * logs are JSON lines on stderr. Exit codes (lib/node-exit.ts): 0 clean stop, 1 fatal error, 2 bad config/usage,
 * 3 GENESIS_MISMATCH (the data directory or the config holds a genesis this node was not provisioned for).
 */

const SHUTDOWN_TIMEOUT_MS = 15_000;

type RunningNode = NodeApiBackend & { close(): Promise<void> };

function fatal(logger: Logger, err: unknown, exitCode: number): never {
  const fields = isConsortiaError(err)
    ? { code: err.code, error: err.message, details: err.details }
    : { error: err instanceof Error ? err.message : String(err), stack: err instanceof Error ? err.stack : undefined };
  logger.error('fatal', fields);
  process.exit(exitCode);
}

async function runKeygen(argv: readonly string[]): Promise<void> {
  const { keyFile, chainId } = parseKeygenArgs(argv, process.env);
  const out = await keygenWith(keyFile, chainId, nodeKeyConfigFromEnv(process.env), process.env);
  process.stdout.write(JSON.stringify({ publicKey: out.publicKey, proofOfPossession: out.proofOfPossession }) + '\n');
}

function formatAddress(addr: string | { address: string; port: number } | null): string {
  if (addr === null) return '';
  if (typeof addr === 'string') return addr;
  return addr.address.includes(':') ? `[${addr.address}]:${addr.port}` : `${addr.address}:${addr.port}`;
}

async function runNode(config: NodeConfig, logger: Logger): Promise<void> {
  const adminToken = adminTokenFromFile(config.adminTokenFile);
  if (adminToken() === undefined) {
    logger.warn('no admin credential: admin endpoints (PUT /v1/genesis) refuse every request', {
      adminTokenFile: config.adminTokenFile ?? null,
      minChars: ADMIN_TOKEN_MIN_CHARS,
    });
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createNodeMetrics(registry);

  // a light node is a different program behind the same API: headers and proofs only
  const node: RunningNode =
    config.role === 'light'
      ? await LightNode.open(config, { logger, metrics })
      : await ChainNode.open(config, { logger, metrics });
  let api: NodeApp | undefined;
  let stopping = false;

  const stop = async (signal: string): Promise<void> => {
    if (stopping) {
      logger.warn('second signal during shutdown; exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal });
    const timer = setTimeout(() => {
      logger.error('shutdown timed out', { timeoutMs: SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    try {
      // API first (no new txs), then the node (consensus, p2p, store flush).
      if (api) await api.close();
      await node.close();
      logger.info('stopped');
      process.exit(0);
    } catch (err) {
      fatal(logger, err, 1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  let tls: Awaited<ReturnType<typeof loadServerTls>> | undefined;
  try {
    const { host, port } = parseHostPort(config.apiListen);
    // HTTPS unless tls.mode is 'off' (loopback only, or plainOnNetwork; checked in config.ts).
    tls =
      config.tls.mode === 'off'
        ? undefined
        : await loadServerTls(config.tls, config.dataDir, {
            names: defaultServerNames(host),
            commonName: `consortia-node-${config.chainId}`,
          });
    api = await createNodeApi({
      backend: node,
      ...(tls ? { https: { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } } : {}),
      adminToken,
      registry,
      limits: {
        maxTxBytes: config.maxTxBytes,
        bodyLimitBytes: config.api.bodyLimitBytes,
        maxWaitMs: config.api.maxWaitMs,
        sseKeepAliveMs: config.api.sseKeepAliveMs,
        rateLimit: { max: config.api.rateLimitMax, windowMs: config.api.rateLimitWindowMs },
      },
      // Same JSON-lines shape as lib/logging (level names, ISO time) on stderr; stdout stays machine-readable.
      logger:
        config.logLevel === 'silent'
          ? false
          : {
              level: config.logLevel,
              stream: process.stderr,
              base: { component: 'node-api' },
              formatters: { level: (label: string) => ({ level: label }) },
              timestamp: () => `,"time":"${new Date().toISOString()}"`,
            },
    });
    await api.listen({ host, port });
  } catch (err) {
    await node.close().catch(() => undefined);
    throw err;
  }

  const apiAddr = formatAddress(api.server.address());
  const scheme = tls ? 'https' : 'http';
  if (tls)
    logger.info('serving HTTPS', { fingerprint: tls.fingerprint, certificate: tls.certFile, generated: tls.generated });
  const id = node.identity();
  const status = node.status();
  process.stdout.write(
    JSON.stringify({
      event: 'listening',
      api: `${scheme}://${apiAddr}`,
      metrics: `${scheme}://${apiAddr}/metrics`,
      ...(tls ? { tlsFingerprint: tls.fingerprint } : {}),
      p2p: status.p2pAddress ?? config.p2pListen,
      publicKey: Buffer.from(id.publicKey).toString('hex'),
      role: id.role,
      chainId: id.chainId,
      genesisInstalled: status.genesisInstalled,
    }) + '\n',
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const bootLogger = createLogger('info', { component: 'node' });
  process.on('uncaughtException', (err) => fatal(bootLogger, err, 1));
  process.on('unhandledRejection', (err) => fatal(bootLogger, err, 1));

  if (argv[0] === 'keygen') {
    try {
      await runKeygen(argv.slice(1));
    } catch (err) {
      fatal(bootLogger, err, 2);
    }
    return;
  }

  let config: NodeConfig;
  try {
    config = loadNodeConfig(argv, process.env);
  } catch (err) {
    fatal(bootLogger, err, 2);
  }
  const logger = createLogger(config.logLevel, { component: 'node', role: config.role, chainId: config.chainId });
  try {
    await runNode(config, logger);
  } catch (err) {
    // A foreign genesis (stored or configured) has its own exit code: the runtimes report it as GENESIS_MISMATCH.
    fatal(
      logger,
      err,
      isConsortiaError(err) && err.code === GENESIS_MISMATCH ? NodeExitCodes.GENESIS_MISMATCH : NodeExitCodes.FATAL,
    );
  }
}

void main();
