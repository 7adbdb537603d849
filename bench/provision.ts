/**
 * Provisioning benchmark (a figure, not a test). Starts the real control plane with the local
 * runtime on loopback, creates two organizations and a consortium with four validators, runs the
 * key ceremony with client-side signatures (genesis hash recomputed and approvals signed here, as
 * the CLI does), and measures seconds from the consortium create to the first finalized block.
 * Then measures API read throughput: concurrent authenticated GETs of a few read routes for a
 * bounded time, beside this machine's ceiling for the same server (GET /healthz: no auth, no store).
 * Bounded in time; stops by itself and removes every process and file it created.
 *   npm run bench:provision -- --read-seconds 5 --concurrency 32
 *   npm run bench:provision -- --runtime kubernetes   (a real one-node cluster on this host; root)
 * Last line: one JSON object with seconds_to_first_block and api_reads_per_s.
 */
import { availableParallelism, cpus } from 'node:os';
import { fetch, type Dispatcher } from 'undici';
import { fromHex, generateKeyPair, signDomainPortable, Tags, toHex, type KeyPair } from '../src/chain/index.js';
import { computeGenesisHash } from '../src/cli/index.js';
import { startControlPlane } from '../test/harness/cp-harness.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : def;
  return Number.isFinite(v) && v > 0 ? v : def;
};
const READ_SECONDS = arg('read-seconds', 5);
const CONCURRENCY = arg('concurrency', 32);
const PROVISION_TIMEOUT_S = arg('timeout', 120);
const VALIDATORS = 4;
// loopback addresses of this bench's nodes; kept apart from the e2e suites' ranges
const HOST_RANGE = { first: 200, last: 239 };

// biome-ignore lint/suspicious/noExplicitAny: the control plane's responses, read field by field as the CLI would
type Json = any;

/** `dispatcher`: how to trust an HTTPS control plane (the kubernetes run's platform.dispatcher). */
function api(base: string, token: string, dispatcher?: Dispatcher) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json }> => {
    const r = await fetch(base + path, {
      ...(dispatcher ? { dispatcher } : {}),
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
}
type Call = ReturnType<typeof api>;

function must(r: { status: number; body: Json }, want: number, what: string): Json {
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function until<T>(what: string, deadline: number, everyMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface Org {
  id: string;
  key: KeyPair;
  call: Call;
}

async function createOrg(admin: Call, url: string, name: string, dispatcher?: Dispatcher): Promise<Org> {
  const key = generateKeyPair();
  const org = must(
    await admin('POST', '/v1/organizations', { name, adminPublicKeys: [toHex(key.publicKey)] }),
    201,
    `create org ${name}`,
  );
  const tok = must(
    await admin('POST', `/v1/organizations/${org.id}/tokens`, { name: `${name}-admin`, role: 'org-admin' }),
    201,
    `token for ${name}`,
  );
  return { id: org.id, key, call: api(url, tok.token, dispatcher) };
}

interface Provisioned {
  cid: string;
  seconds: number;
  phases: Record<string, number>;
}

interface Target {
  clusterId: string;
  /** Node API URL as the control plane reports it -> a URL this process can reach. */
  reach(url: string): Promise<string>;
  /** Trusts the nodes' HTTPS certificates (kubernetes: the node CA); absent for plain HTTP nodes. */
  nodeDispatcher?: () => Promise<Dispatcher>;
  timeoutS: number;
}

async function provision(a: Org, b: Org, target: Target): Promise<Provisioned> {
  const t0 = performance.now();
  const deadline = Date.now() + target.timeoutS * 1000;
  const since = () => Number(((performance.now() - t0) / 1000).toFixed(3));
  const phases: Record<string, number> = {};
  const c = must(
    await a.call('POST', '/v1/consortia', {
      name: 'bench',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 3600 },
    }),
    201,
    'create consortium',
  );
  for (const org of [a, a, b, b].slice(0, VALIDATORS))
    must(
      await org.call('POST', `/v1/consortia/${c.id}/nodes`, {
        orgId: org.id,
        role: 'validator',
        clusterId: target.clusterId,
        ...(target.clusterId === 'local' ? {} : { resources: { cpu: '250m', memory: '384Mi' } }),
      }),
      202,
      'request validator',
    );
  must(await a.call('POST', `/v1/consortia/${c.id}/ceremony`), 202, 'start ceremony');
  phases.requested = since();
  await until('validator keys and genesis', deadline, 50, async () => {
    const r = await a.call('GET', `/v1/consortia/${c.id}/ceremony`);
    return r.body?.status === 'AWAITING_APPROVALS' ? true : undefined;
  });
  phases.genesis_assembled = since();
  // client side: recompute the genesis hash from the document and sign it with each founder's admin key
  const doc = must(await a.call('GET', `/v1/consortia/${c.id}/ceremony/genesis`), 200, 'genesis');
  const hash = computeGenesisHash(doc);
  if (hash !== doc.genesisHash) throw new Error('served genesis hash does not match the genesis document');
  let sealed: Json;
  for (const org of [a, b]) {
    const sig = signDomainPortable(Tags.GENESIS_APPROVAL, org.key.secretKey, fromHex(hash, 32));
    sealed = must(
      await org.call('POST', `/v1/consortia/${c.id}/ceremony/approvals`, {
        memberId: org.id,
        adminKey: toHex(org.key.publicKey),
        signature: toHex(sig),
      }),
      200,
      'approve genesis',
    );
  }
  if (sealed.status !== 'SEALED') throw new Error(`ceremony not sealed after both approvals: ${sealed.status}`);
  phases.sealed = since();
  let firstReady: number | undefined;
  await until('first finalized block', deadline, 50, async () => {
    const nodes = (await a.call('GET', `/v1/consortia/${c.id}/nodes`)).body.items as Json[];
    const apis = await Promise.all(
      (nodes.map((n) => n.status.endpoints?.api).filter(Boolean) as string[]).map((u) =>
        target.reach(u).catch(() => u),
      ),
    );
    if (firstReady === undefined && nodes.some((n) => n.status.ready)) firstReady = since();
    const dispatcher = await target.nodeDispatcher?.();
    const heights = await Promise.all(
      apis.map(async (u) => {
        const r = await fetch(`${u}/v1/status`, {
          signal: AbortSignal.timeout(1000),
          ...(dispatcher ? { dispatcher } : {}),
        }).catch(() => undefined);
        return r?.ok ? (((await r.json()) as { height?: number }).height ?? 0) : 0;
      }),
    );
    return heights.some((h) => h >= 1) ? true : undefined;
  });
  const seconds = since();
  if (firstReady !== undefined) phases.first_node_ready = firstReady;
  phases.first_block = seconds;
  return { cid: c.id, seconds, phases };
}

interface ReadFigures {
  reads_per_s: number;
  ok: number;
  errors: number;
  p50_ms: number;
  p99_ms: number;
}

async function hammer(
  seconds: number,
  concurrency: number,
  next: (i: number) => { url: string; headers: Record<string, string> },
): Promise<ReadFigures> {
  const end = performance.now() + seconds * 1000;
  const lat: number[] = [];
  let ok = 0;
  let errors = 0;
  let seq = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const { url, headers } = next(seq++);
      const t = performance.now();
      try {
        const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        if (r.ok) ok++;
        else errors++;
      } catch {
        errors++;
      }
      lat.push(performance.now() - t);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  lat.sort((x, y) => x - y);
  const pct = (p: number) => Number((lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0).toFixed(2));
  return { reads_per_s: Math.round(ok / elapsed), ok, errors, p50_ms: pct(0.5), p99_ms: pct(0.99) };
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  console.log(
    `machine: ${cores} core(s), ${cpus()[0]?.model ?? 'unknown cpu'}; control plane, ${VALIDATORS} validators and this client share them`,
  );
  const cp = await startControlPlane({ hostRange: HOST_RANGE, reconcileIntervalMs: 100 });
  let result: Record<string, unknown> = { seconds_to_first_block: null, api_reads_per_s: null };
  const hardStop = setTimeout(
    () => {
      console.error(`bench exceeded ${PROVISION_TIMEOUT_S + READ_SECONDS * 2 + 60}s; stopping`);
      void cp.shutdown().finally(() => process.exit(1));
    },
    (PROVISION_TIMEOUT_S + READ_SECONDS * 2 + 60) * 1000,
  );
  hardStop.unref();
  const onSignal = () => void cp.shutdown().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const admin = api(cp.url, cp.token);
    const a = await createOrg(admin, cp.url, 'bench-a');
    const b = await createOrg(admin, cp.url, 'bench-b');
    const p = await provision(a, b, { clusterId: 'local', reach: async (u) => u, timeoutS: PROVISION_TIMEOUT_S });
    console.log(
      `provisioning (${VALIDATORS} validators, local runtime): consortium create -> first finalized block in ${p.seconds.toFixed(2)} s (target < 10 s)`,
    );
    console.log(
      `  phases (s since create): ${Object.entries(p.phases)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );

    // API read throughput: authenticated reads of store-backed routes, round-robin
    const routes = [
      `/v1/consortia/${p.cid}`,
      `/v1/consortia/${p.cid}/nodes`,
      `/v1/consortia/${p.cid}/members`,
      `/v1/consortia/${p.cid}/proposals?limit=10`,
      `/v1/organizations/${a.id}`,
    ];
    const orgToken = must(
      await admin('POST', `/v1/organizations/${a.id}/tokens`, { name: 'bench-reader', role: 'org-viewer' }),
      201,
      'viewer token',
    ).token as string;
    const auth = { authorization: `Bearer ${orgToken}` };
    for (const r of routes) must(await api(cp.url, orgToken)('GET', r), 200, `GET ${r}`);
    const reads = await hammer(READ_SECONDS, CONCURRENCY, (i) => ({
      url: cp.url + routes[i % routes.length]!,
      headers: auth,
    }));
    console.log(
      `API reads: ${reads.reads_per_s}/s over ${READ_SECONDS} s, ${CONCURRENCY} concurrent (${routes.length} routes), p50 ${reads.p50_ms} ms, p99 ${reads.p99_ms} ms, errors ${reads.errors}`,
    );
    const ceiling = await hammer(Math.max(2, Math.round(READ_SECONDS / 2)), CONCURRENCY, () => ({
      url: `${cp.url}/healthz`,
      headers: {},
    }));
    console.log(
      `ceiling (same server, GET /healthz: no auth, no store): ${ceiling.reads_per_s}/s, p50 ${ceiling.p50_ms} ms`,
    );
    result = {
      seconds_to_first_block: p.seconds,
      api_reads_per_s: reads.reads_per_s,
      api_read_p50_ms: reads.p50_ms,
      api_read_p99_ms: reads.p99_ms,
      api_read_errors: reads.errors,
      api_ceiling_healthz_per_s: ceiling.reads_per_s,
      phases_s: p.phases,
      validators: VALIDATORS,
      concurrency: CONCURRENCY,
      read_seconds: READ_SECONDS,
      cores,
    };
  } catch (err) {
    console.error(`bench failed: ${(err as Error).message}`);
    result = { ...result, error: (err as Error).message };
    process.exitCode = 1;
  } finally {
    await cp.shutdown();
    clearTimeout(hardStop);
  }
  console.log(JSON.stringify(result));
}

/**
 * --runtime kubernetes: the real one-node cluster of test/k8s/cluster (kubelet + containerd on this
 * host), the control plane installed into it with the Helm chart from our image, validators as
 * pods. Images are built and imported before the clock starts (the target assumes them imported).
 */
async function mainKubernetes(): Promise<void> {
  const { ensureClusterBinaries } = await import('../test/harness/kube-env/binaries.js');
  const { buildImages, startCluster } = await import('../test/harness/kube-cluster/index.js');
  const { installPlatform } = await import('../test/harness/kube-cluster/platform.js');
  const { helmBinary } = await import('../test/harness/helm.js');
  const cores = availableParallelism();
  console.log(
    `machine: ${cores} core(s), ${cpus()[0]?.model ?? 'unknown cpu'}; one-node cluster, control plane and ${VALIDATORS} validator pods share them`,
  );
  const binaries = ensureClusterBinaries();
  const images = buildImages();
  const helm = helmBinary();
  const t0 = performance.now();
  const cluster = await startCluster({ binaries, images: [images.node.archive, images.controlPlane.archive] });
  const clusterStartS = Number(((performance.now() - t0) / 1000).toFixed(1));
  let result: Record<string, unknown> = { seconds_to_first_block: null, runtime: 'kubernetes' };
  const onSignal = () => void cluster.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t1 = performance.now();
    const platform = await installPlatform({
      helm,
      kubeconfig: cluster.kubeconfig,
      kubeconfigPath: cluster.kubeconfigPath,
      images,
      dns: { host: cluster.layout.net.gateway, port: cluster.layout.net.dnsPort },
      runtime: { namespacePrefix: 'bench-', pvcPolicy: 'delete', storage: { validator: { size: '1Gi' } } },
    });
    const helmInstallS = Number(((performance.now() - t1) / 1000).toFixed(1));
    const admin = api(platform.url, platform.token, platform.dispatcher);
    const home = must(
      await admin('POST', '/v1/clusters', { name: 'home', kind: 'kubernetes', inCluster: true }),
      201,
      'register cluster',
    );
    const a = await createOrg(admin, platform.url, 'bench-a', platform.dispatcher);
    const b = await createOrg(admin, platform.url, 'bench-b', platform.dispatcher);
    const p = await provision(a, b, {
      clusterId: home.id,
      reach: platform.hostUrl,
      nodeDispatcher: platform.nodeDispatcher,
      timeoutS: Math.max(PROVISION_TIMEOUT_S, 600),
    });
    console.log(
      `provisioning (${VALIDATORS} validators, kubernetes runtime, images imported): consortium create -> first finalized block in ${p.seconds.toFixed(2)} s (target < 60 s)`,
    );
    console.log(
      `  phases (s since create): ${Object.entries(p.phases)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
    console.log(
      `  cluster start ${clusterStartS} s, helm install (until the control plane is ready) ${helmInstallS} s`,
    );
    result = {
      seconds_to_first_block: p.seconds,
      runtime: 'kubernetes',
      phases_s: p.phases,
      cluster_start_s: clusterStartS,
      helm_install_s: helmInstallS,
      node_image_bytes: images.node.bytes,
      control_plane_image_bytes: images.controlPlane.bytes,
      validators: VALIDATORS,
      cores,
    };
  } catch (err) {
    console.error(`bench failed: ${(err as Error).message}`);
    result = { ...result, error: (err as Error).message };
    process.exitCode = 1;
  } finally {
    const left = await cluster.stop();
    if (left.length) console.error(`host not restored: ${left.join('; ')}`);
  }
  console.log(JSON.stringify(result));
}

const runtimeArg = process.argv.indexOf('--runtime');
const RUNTIME = runtimeArg >= 0 ? process.argv[runtimeArg + 1] : 'local';
if (RUNTIME === 'kubernetes') void mainKubernetes();
else if (RUNTIME === 'local') void main();
else {
  console.error(`--runtime must be local or kubernetes (got ${RUNTIME})`);
  process.exit(2);
}
