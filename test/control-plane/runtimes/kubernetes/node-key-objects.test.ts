import { describe, expect, it } from 'vitest';
import {
  buildConfigMap,
  buildNodeObjects,
  buildStatefulSet,
  specFromConfigData,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import type { NodeSpec } from '../../../../src/control-plane/runtimes/runtime.js';
import { ctx, spec } from './fixtures.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const hsmPod = {
  volumes: [
    { name: 'hsm-lib', hostPath: { path: '/usr/lib/softhsm', type: 'Directory' } },
    { name: 'hsm-tokens', hostPath: { path: '/var/lib/hsm', type: 'Directory' } },
  ],
  volumeMounts: [
    { name: 'hsm-lib', mountPath: '/opt/hsm/lib', readOnly: true },
    { name: 'hsm-tokens', mountPath: '/opt/hsm/tokens' },
  ],
  env: [{ name: 'SOFTHSM2_CONF', value: '/opt/hsm/tokens/softhsm2.conf' }],
};
const pkcs11 = (over: Partial<NodeSpec> = {}): NodeSpec =>
  spec({
    key: {
      backend: 'pkcs11',
      provider: 'hsm',
      module: '/opt/hsm/lib/libsofthsm2.so',
      tokenLabel: 'acme',
      keyLabel: 'consortia-n1',
      kubernetes: hsmPod,
    },
    keyPin: '1234',
    ...over,
  });

describe('a node whose key is in a key provider', () => {
  it('names the key in its config and gets the PIN from its own key Secret, never from the ConfigMap', () => {
    const objs = buildNodeObjects(pkcs11(), ctx);
    const cm = objs.find((o) => o.kind === 'ConfigMap') as Any;
    const cfg = JSON.parse(cm.data['node.json']);
    expect(cfg.key).toEqual({
      backend: 'pkcs11',
      module: '/opt/hsm/lib/libsofthsm2.so',
      tokenLabel: 'acme',
      keyLabel: 'consortia-n1',
      pinFile: '/etc/consortia-key/pin',
    });
    expect(JSON.stringify(cm.data)).not.toContain('1234');
    const secret = objs.find((o) => o.metadata.name === 'node-n1-key') as Any;
    expect(secret.kind).toBe('Secret');
    expect(Buffer.from(secret.data.pin, 'base64').toString('utf8')).toBe('1234');
    // the Secret is applied before the StatefulSet that mounts it
    expect(objs.findIndex((o) => o.metadata.name === 'node-n1-key')).toBeLessThan(
      objs.findIndex((o) => o.kind === 'StatefulSet'),
    );
  });

  it("mounts the provider's volumes and sets its env in the pod, next to the node's own", () => {
    const pod = (buildStatefulSet(pkcs11(), ctx) as Any).spec.template.spec;
    const c = pod.containers[0];
    for (const v of hsmPod.volumes) expect(pod.volumes).toContainEqual(v);
    expect(pod.volumes).toContainEqual({
      name: 'key',
      secret: { secretName: 'node-n1-key', defaultMode: 0o440, items: [{ key: 'pin', path: 'pin' }] },
    });
    for (const m of hsmPod.volumeMounts) expect(c.volumeMounts).toContainEqual(m);
    expect(c.volumeMounts).toContainEqual({ name: 'key', mountPath: '/etc/consortia-key', readOnly: true });
    expect(c.env).toContainEqual({ name: 'SOFTHSM2_CONF', value: '/opt/hsm/tokens/softhsm2.conf' });
    expect(c.env).toContainEqual({ name: 'NODE_EXTRA_CA_CERTS', value: '/etc/consortia-tls/ca.crt' });
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    // a file key's pod has none of it
    const plain = (buildStatefulSet(spec(), ctx) as Any).spec.template.spec;
    expect(plain.volumes.map((v: Any) => v.name)).not.toContain('key');
    expect(buildNodeObjects(spec(), ctx).some((o) => o.metadata.name === 'node-n1-key')).toBe(false);
  });

  it("creates the provider's PVCs in the consortium namespace, labelled by consortium and provider, not by node", () => {
    const claim = {
      name: 'hsm-client',
      spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
    };
    const base = pkcs11();
    const s = pkcs11({ key: { ...base.key!, kubernetes: { ...hsmPod, volumeClaims: [claim] } } as NodeSpec['key'] });
    const objs = buildNodeObjects(s, ctx);
    const pvc = objs.find((o) => o.kind === 'PersistentVolumeClaim') as Any;
    expect(pvc.metadata).toEqual({
      name: 'hsm-client',
      namespace: 'consortia-c1',
      labels: {
        'app.kubernetes.io/part-of': 'consortia',
        'app.kubernetes.io/managed-by': 'consortia',
        'consortia.io/consortium': 'c1',
        'consortia.io/key-provider': 'hsm',
      },
    });
    expect(pvc.spec).toEqual(claim.spec);
    // the same object from every node of the consortium on this provider
    const other = buildNodeObjects({ ...s, nodeId: 'n2', orgId: 'org-b' }, ctx).find(
      (o) => o.kind === 'PersistentVolumeClaim',
    );
    expect(other).toEqual(pvc);
    expect(objs.findIndex((o) => o.kind === 'PersistentVolumeClaim')).toBeLessThan(
      objs.findIndex((o) => o.kind === 'StatefulSet'),
    );
  });

  it('runs a KMS-keyed node under the provider service account, with no PIN', () => {
    const s = spec({
      key: {
        backend: 'aws-kms',
        provider: 'kms',
        keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k1',
        region: 'eu-west-1',
        kubernetes: {
          serviceAccountName: 'consortia-kms-signer',
          serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/kms-signer' },
        },
      },
    });
    const cfg = JSON.parse((buildConfigMap(s, ctx) as Any).data['node.json']);
    expect(cfg.key).toEqual({
      backend: 'aws-kms',
      keyId: 'arn:aws:kms:eu-west-1:111122223333:key/k1',
      region: 'eu-west-1',
    });
    const pod = (buildStatefulSet(s, ctx) as Any).spec.template.spec;
    expect(pod.serviceAccountName).toBe('consortia-kms-signer');
    expect(pod.automountServiceAccountToken).toBe(false);
    // the runtime makes the account in the consortium namespace, with the provider's annotations
    const sa = buildNodeObjects(s, ctx).find((o) => o.kind === 'ServiceAccount') as Any;
    expect(sa.metadata).toMatchObject({
      name: 'consortia-kms-signer',
      namespace: 'consortia-c1',
      annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/kms-signer' },
    });
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(buildNodeObjects(s, ctx).some((o) => o.metadata.name === 'node-n1-key')).toBe(false);
  });

  it('restores the same pod from its ConfigMap record after a restart, which carries no PIN', () => {
    const full = pkcs11();
    const cm = buildConfigMap(full, ctx) as Any;
    expect(cm.data['consortia-spec.json']).not.toContain('1234');
    const restored = specFromConfigData(cm.data)!;
    expect(restored.keyPin).toBeUndefined();
    expect(restored.key).toEqual(full.key);
    const hash = (s: NodeSpec) =>
      (buildStatefulSet(s, ctx) as Any).spec.template.metadata.annotations['consortia.io/config-hash'];
    expect(hash(restored)).toBe(hash(full));
    // without the PIN the Secret made before is left alone, not emptied
    expect(buildNodeObjects(restored, ctx).some((o) => o.metadata.name === 'node-n1-key')).toBe(false);
  });
});
