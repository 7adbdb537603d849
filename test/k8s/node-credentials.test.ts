import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startKubeEnv, type KubeEnv } from './env/index.js';
import { clients, eventually, fakeKubeletPod, validatorSpec } from './helpers.js';
import { createKubernetesRuntime, nodeObjectNames, type KubernetesRuntime } from '../../src/control-plane/runtimes/kubernetes/index.js';

/**
 * The kubernetes runtime against a real kube-apiserver: each node's admin credential is a Secret
 * of its own, mounted read-only, written by server-side apply with the node's spec (never blanked
 * by a restarted control plane), removed with the node; a node that stops with GENESIS_MISMATCH is
 * reported as such.
 */
const PREFIX = 'k8sc-';
const IMAGE = 'registry.example/consortia-node:1.0.0';
const TOKEN = 'cna_' + 'K'.repeat(43);

describe('kubernetes runtime: node admin credential and genesis mismatch', () => {
  let env: KubeEnv;
  let c: ReturnType<typeof clients>;
  const runtimes: KubernetesRuntime[] = [];
  const newRuntime = () => {
    const rt = createKubernetesRuntime({
      kubeconfig: env.kubeconfig, namespacePrefix: PREFIX, image: IMAGE, nodeAccess: 'proxy', pvcPolicy: 'delete',
      backoff: { baseMs: 100, maxMs: 2000 }, nodeApiTimeoutMs: 500, crdCheckIntervalMs: 0,
    });
    runtimes.push(rt);
    return rt;
  };
  const ns = `${PREFIX}cred`;
  const spec = validatorSpec('cred', 0, { adminToken: TOKEN, expectedGenesis: { members: [{ memberId: 'org-0', adminKeys: ['ab'.repeat(32)] }], includesSelf: true } });
  const names = nodeObjectNames(spec.nodeId);
  const readSecret = () => c.core.readNamespacedSecret({ name: names.adminSecret, namespace: ns });

  beforeAll(async () => {
    env = await startKubeEnv({ binaries: inject('kubeBinaries') });
    c = clients(env.kubeconfig);
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.close().catch(() => undefined);
    await env?.stop();
  });

  it('applies the token as the node\'s own Secret, mounted read-only; nothing else carries it', async () => {
    const rt = newRuntime();
    await rt.apply(spec);
    const secret = await readSecret();
    expect(Buffer.from(secret.data?.['admin-token'] ?? '', 'base64').toString()).toBe(TOKEN);
    expect(secret.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('consortia');
    expect(secret.metadata?.managedFields?.some((f) => f.manager === 'consortia' && f.operation === 'Apply')).toBe(true);
    const sts = await c.apps.readNamespacedStatefulSet({ name: names.statefulSet, namespace: ns });
    const pod = sts.spec!.template.spec!;
    expect(pod.volumes?.find((v) => v.name === 'admin')?.secret).toMatchObject({ secretName: names.adminSecret, optional: true, defaultMode: 0o440 });
    expect(pod.containers[0]!.volumeMounts).toContainEqual(expect.objectContaining({ name: 'admin', mountPath: '/etc/consortia-admin', readOnly: true }));
    expect(pod.containers[0]!.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    const cm = await c.core.readNamespacedConfigMap({ name: names.configMap, namespace: ns });
    expect(JSON.stringify(cm.data)).not.toContain(TOKEN);
    expect(JSON.stringify(sts)).not.toContain(TOKEN);
    const cfg = JSON.parse(cm.data?.['node.json'] ?? '{}') as Record<string, unknown>;
    expect(cfg['adminTokenFile']).toBe('/etc/consortia-admin/admin-token');
    expect(cfg['expectedGenesis']).toEqual(spec.expectedGenesis);
  });

  it('re-applies a deleted Secret with the node\'s spec; a restarted runtime, which cannot know the token, leaves it alone', async () => {
    // The chart grants secrets create/patch/delete only (never get/list/watch): the runtime never
    // reads a Secret, so it writes the node's on every apply of its spec rather than watching it.
    const rt = runtimes[0]!;
    await c.core.deleteNamespacedSecret({ name: names.adminSecret, namespace: ns });
    await rt.apply({ ...spec, generation: spec.generation + 1 });
    expect(Buffer.from((await readSecret()).data?.['admin-token'] ?? '', 'base64').toString()).toBe(TOKEN);
    await rt.close();
    const restarted = newRuntime();
    await restarted.ready();
    expect(restarted.desiredSpecs('cred')[0]?.adminToken).toBeUndefined();
    await restarted.idle();
    expect(Buffer.from((await readSecret()).data?.['admin-token'] ?? '', 'base64').toString()).toBe(TOKEN);
  });

  it('reports a pod whose node stops with exit code 3 as Failed GENESIS_MISMATCH', async () => {
    const rt = runtimes[runtimes.length - 1]!;
    await fakeKubeletPod(c, ns, spec, false);
    const cur = await c.core.readNamespacedPod({ name: names.pod, namespace: ns });
    const fatal = JSON.stringify({ level: 'error', msg: 'fatal', code: 'GENESIS_MISMATCH', error: `the data directory holds genesis ${'aa'.repeat(32)}, not the configured genesis ${'bb'.repeat(32)}` });
    cur.status!.containerStatuses = [{
      name: 'node', image: IMAGE, imageID: '', ready: false, restartCount: 4,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off restarting failed container' } },
      lastState: { terminated: { exitCode: 3, reason: 'Error', message: fatal + '\n', startedAt: new Date(), finishedAt: new Date() } },
    }];
    await c.core.replaceNamespacedPodStatus({ name: names.pod, namespace: ns, body: cur });
    const obs = await eventually('mismatch observed', async () => {
      const o = await rt.observe(spec);
      return o.phase === 'Failed' && o.message?.startsWith('GENESIS_MISMATCH') ? o : undefined;
    });
    expect(obs.message).toBe(`GENESIS_MISMATCH: the data directory holds genesis ${'aa'.repeat(32)}, not the configured genesis ${'bb'.repeat(32)}`);
    expect(obs.ready).toBe(false);
  });

  it('deleting the node deletes its Secret', async () => {
    const rt = runtimes[runtimes.length - 1]!;
    await rt.delete(spec);
    await eventually('Secret gone', async () => (await readSecret().catch(() => undefined)) === undefined);
  });
});
