import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createCa, type CertificateAuthority } from '../../src/lib/tls-ca.js';
import { startKubeEnv, type KubeEnv } from '../harness/kube-env/index.js';
import { clients, eventually, fakeKubeletPod, validatorSpec } from './helpers.js';
import {
  createKubernetesRuntime,
  nodeObjectNames,
  type KubernetesRuntime,
} from '../../src/control-plane/runtimes/kubernetes/index.js';

/**
 * The kubernetes runtime against a real kube-apiserver: each node's admin credential is a Secret
 * of its own, mounted read-only, written by server-side apply with the node's spec (never blanked
 * by a restarted control plane), removed with the node; its HTTPS certificate, from the node CA, is
 * a kubernetes.io/tls Secret of its own, likewise; a node that stops with GENESIS_MISMATCH is
 * reported as such.
 */
const PREFIX = 'k8sc-';
const IMAGE = 'registry.example/consortia-node:1.0.0';
const TOKEN = 'cna_' + 'K'.repeat(43);

describe('kubernetes runtime: node admin credential and genesis mismatch', () => {
  let env: KubeEnv;
  let c: ReturnType<typeof clients>;
  const runtimes: KubernetesRuntime[] = [];
  // One node CA for every runtime of the test, as the control plane keeps one in its data directory across restarts.
  let nodeCa: CertificateAuthority;
  const newRuntime = () => {
    const rt = createKubernetesRuntime({
      nodeCa,
      kubeconfig: env.kubeconfig,
      namespacePrefix: PREFIX,
      image: IMAGE,
      nodeAccess: 'proxy',
      pvcPolicy: 'delete',
      backoff: { baseMs: 100, maxMs: 2000 },
      nodeApiTimeoutMs: 500,
      crdCheckIntervalMs: 0,
    });
    runtimes.push(rt);
    return rt;
  };
  const ns = `${PREFIX}cred`;
  const spec = validatorSpec('cred', 0, {
    adminToken: TOKEN,
    expectedGenesis: { members: [{ memberId: 'org-0', adminKeys: ['ab'.repeat(32)] }], includesSelf: true },
  });
  const names = nodeObjectNames(spec.nodeId);
  const readSecret = () => c.core.readNamespacedSecret({ name: names.adminSecret, namespace: ns });
  const readTlsSecret = () => c.core.readNamespacedSecret({ name: names.tlsSecret, namespace: ns });
  const tlsDigest = async () =>
    (await c.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace: ns })).spec!.template.metadata!
      .annotations!['consortia.io/tls-digest'];

  beforeAll(async () => {
    nodeCa = await createCa('test-node-ca');
    env = await startKubeEnv({ binaries: inject('kubeBinaries') });
    c = clients(env.kubeconfig);
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.close().catch(() => undefined);
    await env?.stop();
  });

  it("applies the token as the node's own Secret, mounted read-only; nothing else carries it", async () => {
    const rt = newRuntime();
    await rt.apply(spec);
    const secret = await readSecret();
    expect(Buffer.from(secret.data?.['admin-token'] ?? '', 'base64').toString()).toBe(TOKEN);
    expect(secret.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('consortia');
    expect(secret.metadata?.managedFields?.some((f) => f.manager === 'consortia' && f.operation === 'Apply')).toBe(
      true,
    );
    const sts = await c.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace: ns });
    const pod = sts.spec!.template.spec!;
    expect(pod.volumes?.find((v) => v.name === 'admin')?.secret).toMatchObject({
      secretName: names.adminSecret,
      optional: true,
      defaultMode: 0o440,
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'admin', mountPath: '/etc/consortia-admin', readOnly: true }),
    );
    expect(pod.containers[0]!.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const cm = await c.core.readNamespacedConfigMap({ name: names.configMap, namespace: ns });
    expect(JSON.stringify(cm.data)).not.toContain(TOKEN);
    expect(JSON.stringify(sts)).not.toContain(TOKEN);
    const cfg = JSON.parse(cm.data?.['node.json'] ?? '{}') as Record<string, unknown>;
    expect(cfg['adminTokenFile']).toBe('/etc/consortia-admin/admin-token');
    expect(cfg['expectedGenesis']).toEqual(spec.expectedGenesis);
  });

  it('gives the node an HTTPS certificate from the node CA in its own kubernetes.io/tls Secret, mounted read-only', async () => {
    const tls = await readTlsSecret();
    expect(tls.type).toBe('kubernetes.io/tls');
    const pem = (k: string) => Buffer.from(tls.data?.[k] ?? '', 'base64').toString('utf8');
    expect(pem('ca.crt')).toBe(nodeCa.cert);
    const leaf = new X509Certificate(pem('tls.crt'));
    expect(leaf.checkIssued(new X509Certificate(nodeCa.cert))).toBe(true);
    expect(leaf.subjectAltName).toContain(`DNS:${names.clientService}.${ns}.svc.cluster.local`);
    expect(leaf.subjectAltName).toContain(`DNS:${names.pod}.${names.headlessService}.${ns}.svc.cluster.local`);
    expect(pem('tls.key')).toMatch(/BEGIN PRIVATE KEY/);
    const sts = await c.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace: ns });
    const pod = sts.spec!.template.spec!;
    expect(pod.volumes?.find((v) => v.name === 'tls')?.secret).toMatchObject({
      secretName: names.tlsSecret,
      defaultMode: 0o440,
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'tls', mountPath: '/etc/consortia-tls', readOnly: true }),
    );
    const cfg = JSON.parse(
      (await c.core.readNamespacedConfigMap({ name: names.configMap, namespace: ns })).data?.['node.json'] ?? '{}',
    ) as Record<string, unknown>;
    expect(cfg['tls']).toEqual({
      mode: 'on',
      certFile: '/etc/consortia-tls/tls.crt',
      keyFile: '/etc/consortia-tls/tls.key',
      caFile: '/etc/consortia-tls/ca.crt',
    });
    expect((await runtimes[0]!.observe(spec)).endpoints?.peerApi).toBe(
      `https://${names.clientService}.${ns}.svc.cluster.local:26657`,
    );
  });

  it("re-applies a deleted Secret with the node's spec; a restarted runtime, which cannot know the token, leaves it alone", async () => {
    // The chart grants secrets create/patch/delete only (never get/list/watch): the runtime never
    // reads a Secret, so it writes the node's on every apply of its spec rather than watching it.
    const rt = runtimes[0]!;
    await c.core.deleteNamespacedSecret({ name: names.adminSecret, namespace: ns });
    await rt.apply({ ...spec, generation: spec.generation + 1 });
    expect(Buffer.from((await readSecret()).data?.['admin-token'] ?? '', 'base64').toString()).toBe(TOKEN);
    const digest = await tlsDigest();
    await rt.close();
    const restarted = newRuntime();
    await restarted.ready();
    expect(restarted.desiredSpecs('cred')[0]?.adminToken).toBeUndefined();
    await restarted.idle();
    expect(Buffer.from((await readSecret()).data?.['admin-token'] ?? '', 'base64').toString()).toBe(TOKEN);
    // Same node CA after the restart: the (re-issued) certificate does not restart the pod.
    expect(await tlsDigest()).toBe(digest);
    expect(
      new X509Certificate(Buffer.from((await readTlsSecret()).data?.['tls.crt'] ?? '', 'base64')).checkIssued(
        new X509Certificate(nodeCa.cert),
      ),
    ).toBe(true);
  });

  it('reports a pod whose node stops with exit code 3 as Failed GENESIS_MISMATCH', async () => {
    const rt = runtimes[runtimes.length - 1]!;
    await fakeKubeletPod(c, ns, spec, false);
    const cur = await c.core.readNamespacedPod({ name: names.pod, namespace: ns });
    const fatal = JSON.stringify({
      level: 'error',
      msg: 'fatal',
      code: 'GENESIS_MISMATCH',
      error: `the data directory holds genesis ${'aa'.repeat(32)}, not the configured genesis ${'bb'.repeat(32)}`,
    });
    cur.status!.containerStatuses = [
      {
        name: 'node',
        image: IMAGE,
        imageID: '',
        ready: false,
        restartCount: 4,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } },
        lastState: {
          terminated: {
            exitCode: 3,
            reason: 'Error',
            message: fatal + '\n',
            startedAt: new Date(),
            finishedAt: new Date(),
          },
        },
      },
    ];
    await c.core.replaceNamespacedPodStatus({ name: names.pod, namespace: ns, body: cur });
    const obs = await eventually('mismatch observed', async () => {
      const o = await rt.observe(spec);
      return o.phase === 'Failed' && o.message?.startsWith('GENESIS_MISMATCH') ? o : undefined;
    });
    expect(obs.message).toBe(
      `GENESIS_MISMATCH: the data directory holds genesis ${'aa'.repeat(32)}, not the configured genesis ${'bb'.repeat(32)}`,
    );
    expect(obs.ready).toBe(false);
  });

  it('deleting the node deletes its Secrets', async () => {
    const rt = runtimes[runtimes.length - 1]!;
    await rt.delete(spec);
    await eventually('Secret gone', async () => (await readSecret().catch(() => undefined)) === undefined);
    await eventually('TLS Secret gone', async () => (await readTlsSecret().catch(() => undefined)) === undefined);
  });
});
