/**
 * `node dist/control-plane/main.js [--config F]` — the control plane with the embedded
 * level store and the local runtime. Prints one JSON line {event:'listening', url} on
 * stdout, and on first start {event:'bootstrap-token', token} (the only time the
 * platform-admin secret is shown). SIGTERM/SIGINT: graceful stop.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Registry } from 'prom-client';
import { createLogger } from '../lib/logging.js';
import { ensureBootstrap } from './api/bootstrap.js';
import { loadControlPlaneConfig, parseListen } from './config.js';
import { fromHex, generateKeyPair, portable, toHex, type KeyPair } from './domain/chain-port.js';
import { ChangeBus } from './domain/events.js';
import { parseEncryptionKey } from './domain/secret-box.js';
import { createControlPlaneMetrics } from './metrics.js';
import { GovernanceWorker, httpChainClient, httpFetchNodeStatus, PeriodicTask, Reconciler, registerRuntimeFactory, RuntimeResolver } from './reconciler/index.js';
import { watchLifecycleDurations } from './reconciler/lifecycle-metrics.js';
import { kubernetesRuntimeFactory, registerKubernetesClusterValidator, resolveOptions, type KubernetesRuntimeInput } from './runtimes/kubernetes/index.js';
import { createLocalRuntime } from './runtimes/local/index.js';
import { buildServer } from './server.js';
import { LevelStore, queries } from './store/index.js';

/** The control plane's own tx-submitter key (never an org or node key): created once, mode 0600. */
function loadSubmitterKey(dataDir: string): KeyPair {
  const file = join(dataDir, 'submitter.key');
  if (!existsSync(file)) {
    const kp = generateKeyPair();
    writeFileSync(file, toHex(kp.secretKey) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const sk = fromHex(readFileSync(file, 'utf8').trim(), 32);
  return { secretKey: sk, publicKey: portable.getPublicKey(sk) };
}

/**
 * Key that seals each node's admin credential in the store (domain/node-credentials.ts): the
 * configured encryptionKey, else one generated once into the data directory (mode 0600).
 */
function loadNodeSecretsKey(dataDir: string, configured: Buffer | undefined): Buffer {
  if (configured) return configured;
  const file = join(dataDir, 'node-secrets.key');
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return parseEncryptionKey(readFileSync(file, 'utf8'));
}

async function main(): Promise<void> {
  const cfg = loadControlPlaneConfig(process.argv.slice(2), process.env);
  const log = createLogger(cfg.logLevel, { component: 'control-plane' });
  const dataDir = resolve(cfg.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const store = new LevelStore(join(dataDir, 'store'));
  await store.open();
  const now = Date.now;
  const { generatedToken } = await ensureBootstrap(store, { now, ...(cfg.bootstrapToken ? { bootstrapToken: cfg.bootstrapToken } : {}) });
  const encryptionKey = cfg.encryptionKey ? parseEncryptionKey(cfg.encryptionKey) : undefined;
  const submitter = loadSubmitterKey(dataDir);
  // Kubernetes clusters: registration checks reachability; one runtime per registered cluster.
  const kubeOptions = { ...(cfg.kubernetesRuntime ?? {}), ...(cfg.nodeImage ? { image: cfg.nodeImage } : {}) } as KubernetesRuntimeInput;
  resolveOptions(kubeOptions); // fail at start on a bad option, not at the first node
  registerKubernetesClusterValidator();
  registerRuntimeFactory('kubernetes', (c) => kubernetesRuntimeFactory(c, { ...kubeOptions, ...(c.runtimeOptions as KubernetesRuntimeInput | undefined), logger: log.child({ component: 'k8s-runtime', clusterId: c.id }) }));

  const registry = new Registry();
  const metrics = createControlPlaneMetrics(registry);
  const bus = new ChangeBus();
  watchLifecycleDurations(bus, metrics, (cid) => queries(store).ceremony(cid));
  const local = createLocalRuntime({ baseDir: join(dataDir, 'nodes'), logger: log.child({ component: 'local-runtime' }), ...(cfg.localRuntime ?? {}) });
  const runtimes = new RuntimeResolver({ local, ...(encryptionKey ? { encryptionKey } : {}), ...(cfg.nodeImage ? { nodeImage: cfg.nodeImage } : {}), loadCluster: (id) => queries(store).cluster(id) });
  const reconciler = new Reconciler({
    store, bus, runtimes, metrics, logger: log.child({ component: 'reconciler' }), now, fetchStatus: (api) => httpFetchNodeStatus(api),
    intervalMs: cfg.reconcileIntervalMs, maxBackoffMs: cfg.maxBackoffMs, ...(cfg.nodeImage ? { nodeImage: cfg.nodeImage } : {}),
    nodeSecretsKey: loadNodeSecretsKey(dataDir, encryptionKey),
  });
  const governance = new GovernanceWorker({ store, bus, submitter, chain: httpChainClient(), metrics, logger: log, now, kickNodes: () => reconciler.kick() });
  const govTask = new PeriodicTask(() => governance.pass(), cfg.reconcileIntervalMs, (err) => log.error('governance pass failed', { error: (err as Error).message }));
  let ready = false;
  const { app } = await buildServer({
    store, bus, now, registry, metrics, ...(encryptionKey ? { encryptionKey } : {}),
    logger: { level: cfg.logLevel === 'silent' ? 'silent' : cfg.logLevel, stream: process.stderr },
    ready: () => ready,
    rateLimit: { max: cfg.rateLimitMax, windowMs: cfg.rateLimitWindowMs },
    kick: (what) => (what === 'governance' ? govTask.kick() : reconciler.kick()),
  });
  const { host, port } = parseListen(cfg.listen);
  const address = await app.listen({ host, port });
  reconciler.start();
  govTask.start();
  ready = true;
  if (generatedToken) process.stdout.write(JSON.stringify({ event: 'bootstrap-token', role: 'platform-admin', token: generatedToken, note: 'shown once; store it now' }) + '\n');
  process.stdout.write(JSON.stringify({ event: 'listening', url: address }) + '\n');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    ready = false;
    log.info('shutting down', { signal });
    const hard = setTimeout(() => process.exit(1), 15_000);
    hard.unref();
    await app.close().catch(() => undefined);
    await reconciler.stop();
    await govTask.stop();
    await runtimes.closeAll();
    await local.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(JSON.stringify({ level: 'error', msg: 'control plane failed to start', error: (err as Error).message, code: (err as { code?: string }).code }) + '\n');
  process.exit(1);
});
