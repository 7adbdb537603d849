/**
 * `node dist/control-plane/main.js [--config F]` — the control plane with the embedded
 * level store and the local runtime. Prints one JSON line {event:'listening', url} on
 * stdout, and on first start {event:'bootstrap-token', token} (the only time the
 * platform-admin secret is shown); when serving HTTPS, {event:'tls', fingerprint} before it (pin
 * it with `consortia login --tls-fingerprint`). SIGTERM/SIGINT: graceful stop.
 */
import { loadKeyProviders } from './domain/key-providers.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Registry } from 'prom-client';
import { Agent } from 'undici';
import { createLogger } from '../lib/logging.js';
import { loadOrCreateCa } from '../lib/tls-ca.js';
import { defaultServerNames, GENERATED_TLS_DIR, loadServerTls, type ServerTls } from '../lib/tls-cert.js';
import { ensureBootstrap } from './api/bootstrap.js';
import { loadControlPlaneConfig, parseListen } from './config.js';
import { fromHex, generateKeyPair, portable, toHex, type KeyPair } from './domain/chain-port.js';
import { DeliveryWorker, httpsWebhookClient, nodeChainReader } from './delivery/index.js';
import { ChangeBus } from './domain/events.js';
import { parseEncryptionKey } from './domain/secret-box.js';
import { createControlPlaneMetrics } from './metrics.js';
import {
  GovernanceWorker,
  httpChainClient,
  httpFetchNodeStatus,
  PeriodicTask,
  Reconciler,
  registerRuntimeFactory,
  RuntimeResolver,
} from './reconciler/index.js';
import { watchLifecycleDurations } from './reconciler/lifecycle-metrics.js';
import { nodeConsensusKeyRequester } from './reconciler/node-consensus-key.js';
import {
  kubernetesRuntimeFactory,
  registerKubernetesClusterValidator,
  resolveOptions,
  type KubernetesRuntimeInput,
} from './runtimes/kubernetes/index.js';
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
  // It holds the submitter key, the node-secrets key and (local runtime) the nodes' data: owner only.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dirStat = statSync(dataDir);
  if ((dirStat.mode & 0o077) !== 0 && dirStat.uid === process.getuid?.()) {
    chmodSync(dataDir, 0o700);
    log.info('data directory made owner-only (it holds keys)', { dataDir });
  }
  const store = new LevelStore(join(dataDir, 'store'));
  await store.open();
  const now = Date.now;
  const tokens = { defaultTtlSeconds: cfg.tokenTtlSeconds, maxTtlSeconds: cfg.tokenMaxTtlSeconds };
  const { generatedToken } = await ensureBootstrap(store, {
    now,
    tokens,
    ...(cfg.bootstrapToken ? { bootstrapToken: cfg.bootstrapToken } : {}),
  });
  const encryptionKey = cfg.encryptionKey ? parseEncryptionKey(cfg.encryptionKey) : undefined;
  const keyProviders = loadKeyProviders(cfg.keyProviders, process.env);
  const submitter = loadSubmitterKey(dataDir);
  // The node CA (<dataDir>/tls/node-ca.{crt,key}, created once): signs the HTTPS certificate of every
  // node the kubernetes runtime runs; clients get its certificate from GET /v1/platform/node-ca.
  const nodeCa = await loadOrCreateCa(join(dataDir, GENERATED_TLS_DIR), 'consortia-node-ca');
  // Every call to a node (status, governance txs, webhook reads) trusts the public CAs and the node
  // CA; local-runtime nodes answer plain HTTP on loopback through the same dispatcher.
  const nodeDispatcher = new Agent({ connect: { ca: [...rootCertificates, nodeCa.cert] } });
  // Kubernetes clusters: registration checks reachability; one runtime per registered cluster.
  const kubeOptions = {
    ...(cfg.kubernetesRuntime ?? {}),
    ...(cfg.nodeImage ? { image: cfg.nodeImage } : {}),
  } as KubernetesRuntimeInput;
  resolveOptions(kubeOptions); // fail at start on a bad option, not at the first node
  registerKubernetesClusterValidator();
  registerRuntimeFactory('kubernetes', (c) =>
    kubernetesRuntimeFactory(c, {
      ...kubeOptions,
      ...(c.runtimeOptions as KubernetesRuntimeInput | undefined),
      nodeCa,
      logger: log.child({ component: 'k8s-runtime', clusterId: c.id }),
    }),
  );

  const registry = new Registry();
  const metrics = createControlPlaneMetrics(registry);
  const bus = new ChangeBus();
  watchLifecycleDurations(bus, metrics, (cid) => queries(store).ceremony(cid));
  const local = createLocalRuntime({
    baseDir: join(dataDir, 'nodes'),
    logger: log.child({ component: 'local-runtime' }),
    ...(cfg.localRuntime ?? {}),
  });
  const runtimes = new RuntimeResolver({
    local,
    ...(encryptionKey ? { encryptionKey } : {}),
    ...(cfg.nodeImage ? { nodeImage: cfg.nodeImage } : {}),
    loadCluster: (id) => queries(store).cluster(id),
  });
  const nodeSecretsKey = loadNodeSecretsKey(dataDir, encryptionKey);
  const reconciler = new Reconciler({
    store,
    bus,
    runtimes,
    metrics,
    logger: log.child({ component: 'reconciler' }),
    now,
    fetchStatus: (api) => httpFetchNodeStatus(api, undefined, nodeDispatcher),
    intervalMs: cfg.reconcileIntervalMs,
    maxBackoffMs: cfg.maxBackoffMs,
    ...(cfg.nodeImage ? { nodeImage: cfg.nodeImage } : {}),
    nodeSecretsKey,
    keyProviders,
  });
  const governance = new GovernanceWorker({
    store,
    bus,
    submitter,
    chain: httpChainClient(undefined, nodeDispatcher),
    metrics,
    logger: log,
    now,
    kickNodes: () => reconciler.kick(),
  });
  const govTask = new PeriodicTask(
    () => governance.pass(),
    cfg.reconcileIntervalMs,
    (err) => log.error('governance pass failed', { error: (err as Error).message }),
  );
  // Webhook delivery (delivery/): durable per-subscription cursors; woken by every control-plane change too.
  const webhookClient = httpsWebhookClient(cfg.webhooks.caFile ? readFileSync(cfg.webhooks.caFile, 'utf8') : undefined);
  const delivery = new DeliveryWorker({
    store,
    chain: nodeChainReader((cid) => queries(store).consortiumNodes(cid), nodeDispatcher),
    webhooks: webhookClient,
    metrics,
    config: cfg.webhooks,
    logger: log.child({ component: 'delivery' }),
    now,
  });
  const deliveryTask = new PeriodicTask(
    () => delivery.pass(),
    cfg.webhooks.pollIntervalMs,
    (err) => log.error('delivery pass failed', { error: (err as Error).message }),
  );
  bus.subscribe(() => deliveryTask.kick());
  let ready = false;
  const { host, port } = parseListen(cfg.listen);
  // HTTPS unless tls.mode is 'off' (loopback only, checked in config.ts).
  const tls: ServerTls | undefined =
    cfg.tls.mode === 'off'
      ? undefined
      : await loadServerTls(cfg.tls, dataDir, {
          names: defaultServerNames(host),
          commonName: 'consortia-control-plane',
        });
  const { app } = await buildServer({
    ...(tls ? { https: { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } } : {}),
    store,
    bus,
    now,
    registry,
    metrics,
    ...(encryptionKey ? { encryptionKey } : {}),
    logger: { level: cfg.logLevel === 'silent' ? 'silent' : cfg.logLevel, stream: process.stderr },
    ready: () => ready,
    rateLimit: { max: cfg.rateLimitMax, windowMs: cfg.rateLimitWindowMs },
    tokens,
    webhooks: { allowHttpLoopback: cfg.webhooks.allowHttpLoopback },
    platform: { nodeCa: { certificate: nodeCa.cert, fingerprint: nodeCa.fingerprint } },
    kick: (what) => (what === 'governance' ? govTask.kick() : reconciler.kick()),
    requestConsensusKey: nodeConsensusKeyRequester(queries(store), nodeSecretsKey, nodeDispatcher),
    keyProviders,
  });
  const address = await app.listen({ host, port });
  reconciler.start();
  govTask.start();
  deliveryTask.start();
  ready = true;
  if (generatedToken)
    process.stdout.write(
      JSON.stringify({
        event: 'bootstrap-token',
        role: 'platform-admin',
        token: generatedToken,
        note: 'shown once; store it now',
      }) + '\n',
    );
  if (tls) {
    // Clients of a self-signed certificate pin this (`consortia login --tls-fingerprint ...`).
    process.stdout.write(
      JSON.stringify({
        event: 'tls',
        fingerprint: tls.fingerprint,
        certificate: tls.certFile,
        generated: tls.generated,
        selfSigned: tls.selfSigned,
      }) + '\n',
    );
  } else log.warn('serving plain HTTP (tls.mode off) on loopback only', { listen: cfg.listen });
  process.stdout.write(
    JSON.stringify({ event: 'listening', url: address, ...(tls ? { tlsFingerprint: tls.fingerprint } : {}) }) + '\n',
  );

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
    await deliveryTask.stop();
    await delivery.settle();
    webhookClient.close();
    await nodeDispatcher.close().catch(() => undefined);
    await runtimes.closeAll();
    await local.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    JSON.stringify({
      level: 'error',
      msg: 'control plane failed to start',
      error: (err as Error).message,
      code: (err as { code?: string }).code,
    }) + '\n',
  );
  process.exit(1);
});
