/**
 * The product's core path on a real cluster, only through the Helm chart and the REST API: the
 * control plane (our image) installed with helm, the cluster registered in-cluster, a consortium
 * of four validators whose pods run our node image on kubelet + containerd, the ceremony, blocks
 * finalized in pods, a transfer through a node's Service, a super, an ordinary and a light node
 * added and synced, a validator pod deleted and recreated from its PVC, the control-plane pod
 * killed mid-provisioning, a rolling upgrade that never takes more than one validator down, the
 * consortium deleted with its PVCs, and `helm test`. One validator keeps its key in a PKCS#11 token
 * (SoftHSM2 on a volume the key provider mounts into its pod), generated there. Every API is HTTPS: the control plane's with a
 * certificate from a Secret (platform.ts), the nodes' with certificates from the node CA.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { fetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { encodeTx, signTx, type UnsignedTx } from '../../../src/chain/tx.js';
import { namespaceName, nodeObjectNames } from '../../../src/control-plane/runtimes/kubernetes/index.js';
import { tlsDispatcher } from '../../../src/lib/tls-client.js';
import {
  client,
  createOrg,
  generateKeyPair,
  signedApproval,
  signedVote,
  toHex,
  waitFor,
  type Call,
  type OrgHandle,
} from '../../harness/cp-api.js';
import { REPO_ROOT } from '../../harness/kube-env/binaries.js';
import { installPlatform, type Platform } from '../../harness/kube-cluster/platform.js';
import { createSoftHsmVolume, type SoftHsmVolume } from '../../harness/kube-cluster/softhsm-volume.js';

const PREFIX = 'cx-';
const BLOCK_INTERVAL_MS = 500;
/** Requests per node pod: seven node pods and the control plane share two cores. */
const NODE_RESOURCES = { cpu: '200m', memory: '384Mi' };
const UPGRADE_TAG = 'upgrade';
/** On failure: how much of the control plane's log to read, and how many warnings of it to print. */
const CP_LOG_TAIL_LINES = 2000;
const CP_LOG_NOTABLE_MAX = 60;
/** The key provider of the validator whose key is in a token; the runtime's default pod user owns the volume. */
const HSM = { name: 'softhsm', tokenLabel: 'acme-validators', pinEnv: 'SOFTHSM_PIN', pin: '86420', uid: 10001 };

interface ApiNode {
  id: string;
  key?: { provider: string; backend: string; keyLabel?: string };
  orgId: string;
  role: string;
  status: {
    phase: string;
    ready: boolean;
    height?: number;
    endpoints?: { api: string; p2p: string };
    identity?: { publicKey: string };
  };
  registration?: { status: string; proposalId: string; actionHash: string; txHash?: string };
}

describe('a consortium on a real Kubernetes cluster, through helm and the REST API', () => {
  const cluster = inject('cluster');
  const images = inject('clusterImages');
  let p: Platform;
  let admin: Call;
  let a: OrgHandle;
  let b: OrgHandle;
  let clusterId = '';
  let cid = '';
  let chainId = '';
  let ns = '';
  let validators: ApiNode[] = [];
  let hsm: SoftHsmVolume;
  const bob = generateKeyPair();
  let failed = false;

  const nodeUrl = async (n: ApiNode): Promise<string> => p.hostUrl(n.status.endpoints!.api);
  async function nodeJson(base: string, path: string): Promise<any> {
    const r = await fetch(base + path, { signal: AbortSignal.timeout(5000), dispatcher: await p.nodeDispatcher() });
    return r.ok ? r.json() : undefined;
  }
  async function listNodes(): Promise<ApiNode[]> {
    return (await a.call('GET', `/v1/consortia/${cid}/nodes`)).body.items as ApiNode[];
  }
  async function heights(urls: string[]): Promise<number[]> {
    return Promise.all(
      urls.map(
        async (u) => ((await nodeJson(u, '/v1/status').catch(() => undefined))?.height as number | undefined) ?? 0,
      ),
    );
  }
  async function submit(base: string, u: UnsignedTx, sk: Uint8Array): Promise<{ status: number; body: any }> {
    const r = await fetch(`${base}/v1/txs?wait=commit&timeoutMs=30000`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tx: toHex(encodeTx(signTx(u, sk))) }),
      signal: AbortSignal.timeout(40_000),
      dispatcher: await p.nodeDispatcher(),
    });
    return { status: r.status, body: await r.json() };
  }
  async function requestNode(
    org: OrgHandle,
    role: string,
    tier?: Record<string, unknown>,
    key?: Record<string, unknown>,
  ): Promise<ApiNode> {
    const r = await org.call('POST', `/v1/consortia/${cid}/nodes`, {
      orgId: org.id,
      role,
      clusterId,
      resources: NODE_RESOURCES,
      ...(tier ? { tier } : {}),
      ...(key ? { key } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
    return r.body as ApiNode;
  }
  /** A node requested after genesis: its key comes out of its pod, its organization signs its registration. */
  async function registerNode(org: OrgHandle, nodeId: string): Promise<void> {
    const reg = await waitFor(
      'node key reported, registration awaiting signature',
      async () => {
        const r = await org.call('GET', `/v1/consortia/${cid}/nodes/${nodeId}`);
        return r.body.registration?.status === 'AWAITING_SIGNATURE' ? r.body.registration : undefined;
      },
      300_000,
      1000,
    );
    const { vote: _yes, ...signedReg } = signedVote(org, chainId, reg.proposalId, reg.actionHash, 'YES');
    const accepted = await org.call('POST', `/v1/consortia/${cid}/nodes/${nodeId}/registration`, signedReg);
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    let last: unknown;
    await waitFor(
      'registration executed on chain',
      async () => {
        const r = await org.call('GET', `/v1/consortia/${cid}/nodes/${nodeId}`);
        last = r.body.registration;
        if (r.body.registration?.status === 'FAILED') throw new Error(JSON.stringify(r.body.registration));
        return r.body.registration?.status === 'REGISTERED';
      },
      120_000,
      1000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last registration ${JSON.stringify(last)}`);
    });
  }
  async function readyNode(nodeId: string, timeoutMs = 300_000): Promise<ApiNode> {
    return waitFor(
      `node ${nodeId} ready`,
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes/${nodeId}`);
        return r.body.status?.ready && r.body.status.endpoints ? (r.body as ApiNode) : undefined;
      },
      timeoutMs,
      1000,
    );
  }
  async function podOf(nodeId: string): Promise<V1Pod | undefined> {
    return p.core.readNamespacedPod({ name: nodeObjectNames(nodeId).pod, namespace: ns }).catch(() => undefined);
  }
  const podReady = (pod: V1Pod | undefined) =>
    !!pod &&
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase === 'Running' &&
    !!pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
  /** A node's API on its pod's own address: answers whether or not the pod is ready (a Service routes only to ready pods). */
  async function podUrl(nodeId: string): Promise<string> {
    const ip = (await waitFor(
      `pod IP of ${nodeId}`,
      async () => (await podOf(nodeId))?.status?.podIP,
      300_000,
      1000,
    )) as string;
    return `https://${ip}:26657`;
  }
  /** Every height up to the lowest tip has one block hash on every validator (asked pod by pod). */
  async function assertNoFork(nodeIds: string[]): Promise<number> {
    const urls = await Promise.all(nodeIds.map(podUrl));
    const hs = await waitFor(
      'every validator answering with a height',
      async () => {
        const h = await heights(urls);
        return h.every((x) => x > 0) ? h : undefined;
      },
      300_000,
      1000,
    );
    const top = Math.min(...hs);
    const step = Math.max(1, Math.floor(top / 25));
    for (let h = 1; h <= top; h += step) {
      const hashes = new Set(
        await Promise.all(
          urls.map(async (u) => (await nodeJson(u, `/v1/blocks/${h}/header`))?.hash as string | undefined),
        ),
      );
      expect([...hashes].every(Boolean) && hashes.size === 1, `height ${h}: ${[...hashes].join(' ')}`).toBe(true);
    }
    return top;
  }

  beforeAll(async () => {
    const kc = new KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    hsm = await createSoftHsmVolume(kc.makeApiClient(CoreV1Api), {
      name: HSM.name,
      pvDir: cluster.pvDir,
      nodeName: cluster.nodeName,
      tokenLabel: HSM.tokenLabel,
      pinEnv: HSM.pinEnv,
      pin: HSM.pin,
      uid: HSM.uid,
    });
    p = await installPlatform({
      helm: inject('clusterHelm'),
      kubeconfig: cluster.kubeconfig,
      kubeconfigPath: cluster.kubeconfigPath,
      images,
      dns: { host: cluster.gateway, port: cluster.dnsPort },
      runtime: {
        namespacePrefix: PREFIX,
        pvcPolicy: 'delete',
        nodeAccess: 'direct',
        storage: {
          validator: { size: '1Gi' },
          super: { size: '2Gi' },
          ordinary: { size: '1Gi' },
          light: { size: '256Mi' },
        },
        backoff: { baseMs: 200, maxMs: 5000 },
      },
      // The PIN reaches the control plane as an operator would pass it: env from a Secret.
      config: { keyProviders: [hsm.provider] },
      secrets: { 'softhsm-pin': { pin: HSM.pin } },
      extraEnv: [{ name: HSM.pinEnv, valueFrom: { secretKeyRef: { name: 'softhsm-pin', key: 'pin' } } }],
    });
    admin = client(p.url, p.token, p.dispatcher);
  });

  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });

  afterAll(async () => {
    if (!p) return;
    // On failure, what the pods said is the first thing anyone needs.
    const pods = await p.core.listPodForAllNamespaces().catch(() => undefined);
    for (const pod of pods?.items ?? []) {
      if (podReady(pod) || pod.status?.phase === 'Succeeded') continue;
      process.stderr.write(
        `[cluster] pod ${pod.metadata?.namespace}/${pod.metadata?.name} not ready: ${JSON.stringify(pod.status?.containerStatuses?.map((c) => c.state))}\n`,
      );
    }
    if (!failed) return;
    // The control plane's own account of what it tried: its warnings and errors, and each node's state.
    const cp = await p.controlPlanePod().catch(() => undefined);
    if (cp?.metadata?.name) {
      const log = await p.core
        .readNamespacedPodLog({ name: cp.metadata.name, namespace: p.namespace, tailLines: CP_LOG_TAIL_LINES })
        .catch((e: Error) => `(no log: ${e.message})`);
      const notable = String(log)
        .split('\n')
        .filter((l) => /"level":"(warn|error)"|no log/.test(l));
      process.stderr.write(
        `[cluster] control plane ${cp.metadata.name} warnings (${notable.length}):\n${notable.slice(-CP_LOG_NOTABLE_MAX).join('\n')}\n`,
      );
    }
    if (cid) {
      const nodes = await listNodes().catch(() => [] as ApiNode[]);
      for (const n of nodes)
        process.stderr.write(
          `[cluster] node ${n.id} ${n.role} ${n.status.phase} ready=${n.status.ready} registration=${JSON.stringify(n.registration ?? null)}\n`,
        );
    }
  });

  it('installs the control plane with helm: its pod runs our image, non-root, on a read-only root filesystem', async () => {
    const pod = await p.controlPlanePod();
    expect(podReady(pod)).toBe(true);
    const c = pod!.spec!.containers[0]!;
    expect(c.image).toBe(images.controlPlane.image);
    expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(pod!.spec!.securityContext?.runAsNonRoot).toBe(true);
    expect(pod!.status!.containerStatuses![0]!.imageID).toMatch(/sha256:/);
    expect((await fetch(`${p.url}/healthz`, { dispatcher: p.dispatcher })).status).toBe(200);
  });

  it('registers the cluster it runs in and creates a consortium of four validators that finalizes blocks in pods', async () => {
    const reg = await admin('POST', '/v1/clusters', { name: 'home', kind: 'kubernetes', inCluster: true });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    clusterId = reg.body.id;
    expect(reg.body.status).toBe('Ready');
    a = await createOrg(admin, p.url, 'acme', p.dispatcher);
    b = await createOrg(admin, p.url, 'globex', p.dispatcher);
    const created = await a.call('POST', '/v1/consortia', {
      name: 'trade',
      founders: [a.id, b.id],
      params: { blockIntervalMs: BLOCK_INTERVAL_MS, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 3600 },
    });
    expect(created.status).toBe(201);
    cid = created.body.id;
    chainId = created.body.chainId;
    ns = namespaceName(PREFIX, cid);
    const hsmNode = await requestNode(a, 'validator', undefined, { provider: HSM.name });
    expect(hsmNode.key).toEqual({ provider: HSM.name, backend: 'pkcs11', keyLabel: `consortia-${hsmNode.id}` });
    for (const org of [a, b, b]) await requestNode(org, 'validator');
    expect((await a.call('POST', `/v1/consortia/${cid}/ceremony`)).status).toBe(202);
    const cer = await waitFor(
      'genesis assembled from keys generated in the pods',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/ceremony`);
        return r.body.status === 'AWAITING_APPROVALS' ? r.body : undefined;
      },
      480_000,
      1000,
    );
    expect(
      (await a.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(a, cer.genesisHash))).status,
    ).toBe(200);
    const sealed = await b.call('POST', `/v1/consortia/${cid}/ceremony/approvals`, signedApproval(b, cer.genesisHash));
    expect(sealed.body.status).toBe('SEALED');
    validators = await waitFor(
      'four validators ready',
      async () => {
        const items = await listNodes();
        return items.length === 4 && items.every((n) => n.status.ready && n.status.endpoints) ? items : undefined;
      },
      480_000,
      1000,
    );
    // Node APIs are HTTPS only, with certificates from the control plane's node CA (nodeJson trusts nothing else).
    for (const v of validators) expect(v.status.endpoints!.api).toMatch(/^https:\/\/[^/]+\.svc\.cluster\.local:26657$/);
    const plain = await fetch(`${(await nodeUrl(validators[0]!)).replace(/^https:/, 'http:')}/v1/status`, {
      signal: AbortSignal.timeout(5000),
    }).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).not.toBe(200);
    const urls = await Promise.all(validators.map(nodeUrl));
    const hs = await waitFor(
      'blocks finalized on every validator',
      async () => {
        const h = await heights(urls);
        return h.every((x) => x >= 3) ? h : undefined;
      },
      180_000,
      1000,
    );
    expect(Math.min(...hs)).toBeGreaterThanOrEqual(3);
    // The nodes are pods of our image, started by the kubelet, each with its own bound PVC.
    for (const v of validators) {
      const pod = await podOf(v.id);
      expect(podReady(pod)).toBe(true);
      expect(pod!.spec!.containers[0]!.image).toBe(images.node.image);
      expect(pod!.spec!.containers[0]!.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(pod!.status!.podIP).toMatch(/^10\.244\.0\./);
      const pvc = await p.core.readNamespacedPersistentVolumeClaim({
        name: `${nodeObjectNames(v.id).pvcTemplate}-${nodeObjectNames(v.id).pod}`,
        namespace: ns,
      });
      expect(pvc.status?.phase).toBe('Bound');
      expect(pvc.spec?.storageClassName).toBe('consortia-validator');
    }
    await assertNoFork(validators.map((v) => v.id));
    // The token-keyed validator: its pod mounts the provider's volume and its own key Secret, the
    // PIN is in no ConfigMap, and the key generated in the token is in the validator set.
    const hsmPod = await podOf(hsmNode.id);
    expect(hsmPod!.spec!.volumes!.map((v) => v.name)).toEqual(expect.arrayContaining(['softhsm', 'key']));
    expect(hsmPod!.spec!.containers[0]!.env).toContainEqual({
      name: 'SOFTHSM2_CONF',
      value: '/opt/softhsm/softhsm2.conf',
    });
    const cm = await p.core.readNamespacedConfigMap({ name: nodeObjectNames(hsmNode.id).configMap, namespace: ns });
    expect(JSON.parse(cm.data!['node.json']!).key).toMatchObject({ backend: 'pkcs11', tokenLabel: HSM.tokenLabel });
    expect(JSON.stringify(cm.data)).not.toContain(HSM.pin);
    const hsmStatus = await nodeJson(await nodeUrl(validators.find((v) => v.id === hsmNode.id)!), '/v1/status');
    expect(hsmStatus.validators.map((v: { publicKey: string }) => v.publicKey)).toContain(
      validators.find((v) => v.id === hsmNode.id)!.status.identity!.publicKey,
    );
  });

  it('commits a transfer submitted through a node Service', async () => {
    const alice = generateKeyPair();
    const api = await nodeUrl(validators[1]!);
    const base = { chainId, signer: alice.publicKey };
    expect(
      (await submit(api, { ...base, nonce: 0, body: { type: 'create_account' } }, alice.secretKey)).body.code,
    ).toBe('OK');
    expect(
      (await submit(api, { chainId, signer: bob.publicKey, nonce: 0, body: { type: 'create_account' } }, bob.secretKey))
        .body.code,
    ).toBe('OK');
    expect(
      (
        await submit(
          api,
          { ...base, nonce: 1, body: { type: 'issue_asset', asset: 'USD', amount: 1000n, to: alice.publicKey } },
          alice.secretKey,
        )
      ).body.code,
    ).toBe('OK');
    const t = await submit(
      api,
      { ...base, nonce: 2, body: { type: 'transfer', asset: 'USD', to: bob.publicKey, amount: 250n } },
      alice.secretKey,
    );
    expect(t.body).toMatchObject({ status: 'committed', code: 'OK' });
    const other = await nodeUrl(validators[3]!);
    const seen = await waitFor(
      'transfer visible on another validator',
      async () => nodeJson(other, `/v1/txs/${t.body.hash}`),
      60_000,
      1000,
    );
    expect(seen.code).toBe('OK');
  });

  it('adds a super, an ordinary and a light node that register and sync', async () => {
    const sup = await requestNode(a, 'super');
    const ord = await requestNode(b, 'ordinary', { retentionBlocks: 1000 });
    const light = await requestNode(b, 'light', { followAccounts: [toHex(bob.publicKey)] });
    for (const [org, n] of [
      [a, sup],
      [b, ord],
      [b, light],
    ] as const)
      await registerNode(org, n.id);
    const ref = await nodeUrl(validators[0]!);
    for (const n of [sup, ord]) {
      const ready = await readyNode(n.id);
      const url = await nodeUrl(ready);
      const synced = await waitFor(
        `${n.role} node synced`,
        async () => {
          const [mine, top] = await heights([url, ref]);
          return mine! > 0 && mine! >= top! - 3 ? { mine, top } : undefined;
        },
        300_000,
        1000,
      );
      expect(synced.mine).toBeGreaterThan(0);
    }
    const lightNode = await readyNode(light.id);
    const lightUrl = await nodeUrl(lightNode);
    const account = await waitFor(
      'followed account proven on the light node',
      async () => nodeJson(lightUrl, `/v1/accounts/${toHex(bob.publicKey)}`),
      300_000,
      1000,
    );
    expect(account.balances).toEqual([{ asset: 'USD', amount: '250' }]);
    const pvc = await p.core.readNamespacedPersistentVolumeClaim({
      name: `${nodeObjectNames(sup.id).pvcTemplate}-${nodeObjectNames(sup.id).pod}`,
      namespace: ns,
    });
    expect(pvc.spec?.storageClassName).toBe('consortia-archive');
  });

  it('a deleted validator pod comes back from its PVC with the same key and rejoins without a fork', async () => {
    const v = validators[2]!;
    const before = await podOf(v.id);
    const claim = `${nodeObjectNames(v.id).pvcTemplate}-${nodeObjectNames(v.id).pod}`;
    const volumeBefore = (await p.core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ns })).spec
      ?.volumeName;
    const heightBefore = Math.max(...(await heights(await Promise.all(validators.map((x) => podUrl(x.id))))));
    await p.core.deleteNamespacedPod({ name: before!.metadata!.name!, namespace: ns, gracePeriodSeconds: 0 });
    const after = await waitFor(
      'validator pod recreated and ready',
      async () => {
        const pod = await podOf(v.id);
        return pod && pod.metadata?.uid !== before!.metadata?.uid && podReady(pod) ? pod : undefined;
      },
      300_000,
      1000,
    );
    expect(after.metadata?.uid).not.toBe(before!.metadata?.uid);
    expect((await p.core.readNamespacedPersistentVolumeClaim({ name: claim, namespace: ns })).spec?.volumeName).toBe(
      volumeBefore,
    );
    const url = await nodeUrl(v);
    const identity = await waitFor('identity served again', async () => nodeJson(url, '/v1/identity'), 120_000, 1000);
    expect(identity.publicKey).toBe(v.status.identity?.publicKey ?? identity.publicKey);
    await waitFor(
      'rejoined and caught up past the height before',
      async () => {
        const hs = await heights(await Promise.all(validators.map((x) => podUrl(x.id))));
        return hs.every((h) => h > heightBefore + 2);
      },
      300_000,
      1000,
    );
    await assertNoFork(validators.map((x) => x.id));
  });

  it('a control-plane pod killed mid-provisioning converges with no duplicates', async () => {
    const n = await requestNode(a, 'ordinary', { retentionBlocks: 1000 });
    const cp = await p.controlPlanePod();
    await p.core.deleteNamespacedPod({ name: cp!.metadata!.name!, namespace: p.namespace, gracePeriodSeconds: 0 });
    await waitFor(
      'a new control-plane pod ready',
      async () => {
        const pod = await p.controlPlanePod();
        return pod && pod.metadata?.uid !== cp!.metadata?.uid && podReady(pod);
      },
      300_000,
      1000,
    );
    await waitFor(
      'control plane answering through its Service',
      async () => (await a.call('GET', `/v1/consortia/${cid}`)).status === 200,
      120_000,
      1000,
    );
    await registerNode(a, n.id);
    await readyNode(n.id);
    const items = await listNodes();
    expect(items.filter((x) => x.id === n.id)).toHaveLength(1);
    expect(new Set(items.map((x) => x.id)).size).toBe(items.length);
    const sets = await p.apps.listNamespacedStatefulSet({ namespace: ns });
    expect(sets.items).toHaveLength(items.length);
    expect(new Set(sets.items.map((s) => s.metadata?.name)).size).toBe(items.length);
    const pods = await p.core.listNamespacedPod({ namespace: ns });
    expect(pods.items.filter((x) => !x.metadata?.deletionTimestamp)).toHaveLength(items.length);
  });

  it('a rolling upgrade to a second image tag never has more than one validator down, and blocks keep finalizing', async () => {
    const [repo] = images.node.image.split(/:(?=[^:/]+$)/);
    const target = `${repo}:${UPGRADE_TAG}`;
    // A second tag of the node image in the node's containerd, as a registry push of a new version would give.
    const full = (ref: string) =>
      ref.split('/')[0]!.includes('.') ? ref : `docker.io/${ref.includes('/') ? ref : `library/${ref}`}`;
    execFileSync(
      'ctr',
      [
        '--address',
        cluster.containerdSocket,
        '-n',
        'k8s.io',
        'images',
        'tag',
        '--force',
        full(images.node.image),
        full(target),
      ],
      { stdio: 'pipe' },
    );
    let urls = await Promise.all(validators.map((v) => podUrl(v.id)));
    let maxDown = 0;
    let lastHeight = Math.max(...(await heights(urls)));
    let lastProgress = Date.now();
    let maxStallMs = 0;
    let done = false;
    const watch = (async () => {
      while (!done) {
        const pods = await Promise.all(validators.map((v) => podOf(v.id)));
        maxDown = Math.max(maxDown, pods.filter((pod) => !podReady(pod)).length);
        // A recreated pod has a new address.
        urls = pods.map((pod, i) => (pod?.status?.podIP ? `https://${pod.status.podIP}:26657` : urls[i]!));
        const h = Math.max(...(await heights(urls)));
        if (h > lastHeight) {
          lastHeight = h;
          lastProgress = Date.now();
        }
        maxStallMs = Math.max(maxStallMs, Date.now() - lastProgress);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const patched = await admin('PATCH', `/v1/consortia/${cid}`, { nodeImage: target });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    try {
      await waitFor(
        'every node pod on the new image and ready',
        async () => {
          const pods = await p.core.listNamespacedPod({ namespace: ns });
          const live = pods.items.filter((x) => !x.metadata?.deletionTimestamp);
          return live.length > 0 && live.every((x) => x.spec?.containers[0]?.image === target && podReady(x));
        },
        900_000,
        2000,
      );
      const heightAtEnd = lastHeight;
      await waitFor(
        'blocks after the upgrade',
        async () => Math.max(...(await heights(urls))) > heightAtEnd + 2,
        120_000,
        1000,
      );
    } finally {
      done = true;
      await watch;
    }
    expect(maxDown).toBeLessThanOrEqual(1);
    // One validator down of four keeps a quorum: a stall is at most a few round timeouts, never the whole roll.
    expect(maxStallMs).toBeLessThan(60_000);
    await assertNoFork(validators.map((v) => v.id));
  });

  it('deleting the consortium removes every object it owned and, by policy, its PVCs', async () => {
    const del = await admin('DELETE', `/v1/consortia/${cid}`);
    expect(del.status).toBe(202);
    await waitFor(
      'consortium DELETED',
      async () => (await admin('GET', `/v1/consortia/${cid}`)).body.status === 'DELETED',
      600_000,
      2000,
    );
    await waitFor(
      'namespace gone',
      async () => !(await p.core.readNamespace({ name: ns }).catch(() => undefined)),
      300_000,
      2000,
    );
    const claims = await p.core.listPersistentVolumeClaimForAllNamespaces();
    expect(claims.items.filter((c) => c.metadata?.namespace === ns)).toHaveLength(0);
    const volumes = await p.core.listPersistentVolume();
    expect(volumes.items.filter((v) => v.spec?.claimRef?.namespace === ns && v.status?.phase === 'Bound')).toHaveLength(
      0,
    );
  });

  it('helm test smoke-checks the installed release', () => {
    const r = p.helm(['test', p.release, '-n', p.namespace, '--timeout', '5m', '--logs'], 6 * 60_000);
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/Phase:\s+Succeeded/);
  });

  it("README's Helm install, word for word, gives a working control plane", async () => {
    // The release above used the same names: remove it and its namespace first.
    p.uninstall();
    await p.core.deleteNamespace({ name: p.namespace }).catch(() => undefined);
    await waitFor(
      'namespace of the first release gone',
      async () => !(await p.core.readNamespace({ name: p.namespace }).catch(() => undefined)),
      300_000,
      2000,
    );
    const kubectl = inject('clusterKubectl');
    const env = {
      ...process.env,
      KUBECONFIG: cluster.kubeconfigPath,
      PATH: `${dirname(inject('clusterHelm'))}:${dirname(kubectl)}:${process.env['PATH']}`,
    };
    // The README's command enables the ServiceMonitor and PrometheusRule: the Prometheus Operator's CRDs must exist, as on any cluster it targets.
    execFileSync(kubectl, ['apply', '--server-side', '-f', inject('promOperatorCrds')], { env, stdio: 'pipe' });
    // The first sh block under "Deploy on Kubernetes (Helm)", placeholders filled with the images built here.
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Deploy on Kubernetes (Helm)'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBeDefined();
    const [repoPrefix, tag] = [
      images.node.image.slice(0, images.node.image.lastIndexOf('/')),
      images.node.image.split(':').pop()!,
    ];
    const script = block!.replaceAll('<registry>', repoPrefix).replaceAll('<version>', tag);
    const out = execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
      timeout: 600_000,
    });
    const token = out.trim().split('\n').pop()!.trim();
    expect(token.length).toBeGreaterThanOrEqual(16);
    await waitFor(
      'the README release ready',
      async () => {
        const d = await p.apps.readNamespacedDeployment({ name: 'consortia', namespace: 'consortia' });
        return (d.status?.readyReplicas ?? 0) >= 1;
      },
      300_000,
      2000,
    );
    const svc = await p.core.readNamespacedService({ name: 'consortia', namespace: 'consortia' });
    const base = `https://${svc.spec!.clusterIP}:${svc.spec!.ports![0]!.port}`;
    // No certificate given: the control plane generated a self-signed one and logged its fingerprint
    // (as the chart's NOTES say, `kubectl logs ... | grep '"event":"tls"'`); pin it like `consortia login --tls-fingerprint`.
    const fingerprint = await waitFor(
      "the generated certificate's fingerprint in the control-plane log",
      async () => {
        const pods = await p.core.listNamespacedPod({
          namespace: 'consortia',
          labelSelector: 'app.kubernetes.io/instance=consortia',
        });
        for (const pod of pods.items.filter(
          (x) => !x.metadata?.deletionTimestamp && !x.metadata?.labels?.['helm.sh/chart-test'],
        )) {
          const log = String(
            await p.core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: 'consortia' }).catch(() => ''),
          );
          const line = log.split('\n').find((l) => l.includes('"event":"tls"'));
          if (line) return (JSON.parse(line) as { fingerprint: string }).fingerprint;
        }
        return undefined;
      },
      300_000,
      2000,
    );
    expect(fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    const call = client(base, token, tlsDispatcher({ fingerprint }));
    await waitFor(
      'control plane answering with the token the README prints',
      async () => (await call('GET', '/v1/organizations')).status === 200,
      120_000,
      1000,
    );
    const home = await call('POST', '/v1/clusters', { name: 'home', kind: 'kubernetes', inCluster: true });
    expect(home.status, JSON.stringify(home.body)).toBe(201);
    const monitors = execFileSync(
      kubectl,
      ['-n', 'consortia', 'get', 'servicemonitors,prometheusrules', '-o', 'name'],
      { env, encoding: 'utf8' },
    );
    expect(monitors).toMatch(/servicemonitor/);
    expect(monitors).toMatch(/prometheusrule/);
    const t = execFileSync(inject('clusterHelm'), ['test', 'consortia', '-n', 'consortia', '--timeout', '5m'], {
      env,
      encoding: 'utf8',
      timeout: 360_000,
    });
    expect(t).toMatch(/Phase:\s+Succeeded/);
  });
});
