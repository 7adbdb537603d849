import { describe, expect, it } from 'vitest';
import {
  buildNodeObjects,
  buildStatefulSet,
  buildConfigMap,
  buildHeadlessService,
  buildClientService,
  buildServiceMonitor,
  buildExternalP2pService,
  specFromConfigData,
  resolveOptions,
  SPEC_KEY,
  clientServiceUrl,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import type { NodeRole } from '../../../../src/control-plane/runtimes/runtime.js';
import { ctx, opts, spec, tls } from './fixtures.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('node manifest builders', () => {
  it('serve the node API over HTTPS with the certificate of its TLS Secret, mounted read-only', () => {
    const objs = buildNodeObjects(spec(), ctx);
    const secret = objs.find((o) => o.kind === 'Secret') as Any;
    expect(secret.type).toBe('kubernetes.io/tls');
    const data = (k: string) => Buffer.from(secret.data[k], 'base64').toString('utf8');
    expect([data('tls.crt'), data('tls.key'), data('ca.crt')]).toEqual([tls.cert, tls.key, tls.ca]);
    const cfg = JSON.parse((buildConfigMap(spec(), ctx) as Any).data['node.json']);
    expect(cfg.tls).toEqual({
      mode: 'on',
      certFile: '/etc/consortia-tls/tls.crt',
      keyFile: '/etc/consortia-tls/tls.key',
      caFile: '/etc/consortia-tls/ca.crt',
    });
    expect(cfg.tls.plainOnNetwork).toBeUndefined();
    const pod = (buildStatefulSet(spec(), ctx) as Any).spec.template;
    expect(pod.spec.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'node-n1-tls', defaultMode: 0o440 } });
    expect(pod.spec.containers[0].volumeMounts).toContainEqual({
      name: 'tls',
      mountPath: '/etc/consortia-tls',
      readOnly: true,
    });
    // outbound calls to other nodes trust the node CA
    expect(pod.spec.containers[0].env).toContainEqual({
      name: 'NODE_EXTRA_CA_CERTS',
      value: '/etc/consortia-tls/ca.crt',
    });
    // a new CA or new names restart the pod; the certificate bytes alone do not
    const digest = (c: typeof ctx) =>
      (buildStatefulSet(spec(), c) as Any).spec.template.metadata.annotations['consortia.io/tls-digest'];
    expect(digest({ ...ctx, tls: { ...tls, cert: 'other' } })).toBe(digest(ctx));
    expect(digest({ ...ctx, tls: { ...tls, digest: 'fedcba9876543210' } })).not.toBe(digest(ctx));
    expect(clientServiceUrl('n1', 'consortia-c1', opts)).toBe('https://node-n1.consortia-c1.svc.cluster.local:26657');
    const monitor = buildServiceMonitor(spec(), ctx) as Any;
    expect(monitor.spec.endpoints[0]).toMatchObject({
      scheme: 'https',
      tlsConfig: { ca: { secret: { name: 'node-n1-tls', key: 'ca.crt' } }, serverName: 'node-n1.consortia-c1.svc' },
    });
  });

  it('match the snapshot of a validator in keygen mode', () => {
    expect(buildNodeObjects(spec(), ctx)).toMatchSnapshot();
  });

  it.each<[NodeRole, string, string]>([
    ['validator', 'fast-ssd', '40Gi'],
    ['super', 'archive-hdd', '1Ti'],
    ['ordinary', 'standard', '30Gi'],
    ['light', 'standard', '2Gi'],
  ])('tier %s -> storage class %s, size %s', (role, cls, size) => {
    const pvc = (buildStatefulSet(spec({ role }), ctx) as Any).spec.volumeClaimTemplates[0];
    expect(pvc.spec.storageClassName).toBe(cls);
    expect(pvc.spec.resources.requests.storage).toBe(size);
  });

  it('per-node storage overrides the tier size; no class means the cluster default', () => {
    const o = resolveOptions({ image: 'x:1', storage: { light: { size: '1Gi' } } });
    const noClass = { ...ctx, opts: { ...o, storage: { ...o.storage, light: { size: '1Gi' } } } };
    const pvc = (
      buildStatefulSet(
        spec({ role: 'light', resources: { cpu: '100m', memory: '64Mi', storage: '3Gi' } }),
        noClass,
      ) as Any
    ).spec.volumeClaimTemplates[0];
    expect(pvc.spec.resources.requests.storage).toBe('3Gi');
    expect(pvc.spec.storageClassName).toBeUndefined();
  });

  it('runs non-root, read-only root filesystem, probes on /healthz and /readyz, requests = limits', () => {
    const pod = (buildStatefulSet(spec(), ctx) as Any).spec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'api', scheme: 'HTTPS' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'api', scheme: 'HTTPS' });
    expect(c.resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '500m', memory: '512Mi' },
    });
    expect(c.image).toBe('registry.example/node:1.0.0');
    expect((buildStatefulSet(spec({ image: 'other:2' }), ctx) as Any).spec.template.spec.containers[0].image).toBe(
      'other:2',
    );
  });

  it('labels every object with app.kubernetes.io/* and consortia.io/*', () => {
    for (const m of buildNodeObjects(spec({ orgId: 'Org_A/1' }), ctx)) {
      expect(m.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'consortia-node',
        'app.kubernetes.io/managed-by': 'consortia',
        'app.kubernetes.io/part-of': 'consortia',
        'app.kubernetes.io/component': 'validator',
        'consortia.io/consortium': 'c1',
        'consortia.io/org': 'Org_A-1',
        'consortia.io/role': 'validator',
        'consortia.io/node': 'n1',
      });
      expect(m.metadata.annotations?.['consortia.io/org-id']).toBe('Org_A/1');
    }
  });

  it('keeps the node key in the pod: config has a keyFile on the PVC, the only Secret is the TLS one', () => {
    const objs = buildNodeObjects(spec(), ctx);
    expect(objs.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual(['node-n1-tls']);
    const cfg = JSON.parse((buildConfigMap(spec(), ctx) as Any).data['node.json']);
    expect(cfg.keyFile).toBe('/data/node.key');
    expect(cfg.genesisFile).toBeUndefined();
  });

  it('run mode ships genesis and peers; a config change changes the pod template hash', () => {
    const genesis = { genesis: { chainId: 'chain-c1' }, approvals: [] };
    const peers = [
      { publicKey: 'ab'.repeat(32), address: 'node-n2-0.node-n2-p2p.consortia-c1.svc.cluster.local:26656' },
    ];
    const run = spec({ mode: 'run', genesis, peers, tier: { retentionBlocks: 1000 } });
    const data = (buildConfigMap(run, ctx) as Any).data;
    expect(JSON.parse(data['genesis.json'])).toEqual(genesis);
    const cfg = JSON.parse(data['node.json']);
    expect(cfg).toMatchObject({
      genesisFile: '/etc/consortia/genesis.json',
      peers,
      retentionBlocks: 1000,
      p2pListen: '0.0.0.0:26656',
    });
    const hash = (s: ReturnType<typeof spec>) =>
      (buildStatefulSet(s, ctx) as Any).spec.template.metadata.annotations['consortia.io/config-hash'];
    expect(hash(run)).not.toBe(hash(spec()));
    expect(hash(spec({ generation: 7 }))).toBe(hash(spec())); // generation alone does not roll the pod
  });

  it('round-trips the desired spec through the ConfigMap (resume after restart)', () => {
    const run = spec({ mode: 'run', genesis: { x: 1 }, peers: [{ publicKey: 'aa', address: 'h:1' }] });
    const data = (buildConfigMap(run, ctx) as Any).data;
    expect(JSON.parse(data[SPEC_KEY]).genesis).toBeUndefined();
    expect(specFromConfigData(data)).toEqual(run);
    expect(specFromConfigData({ [SPEC_KEY]: '{bad' })).toBeUndefined();
  });

  it('services: headless P2P publishes not-ready pods, client exposes the API; both select only this node', () => {
    const h = buildHeadlessService(spec(), ctx) as Any;
    expect(h.spec).toMatchObject({
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      ports: [{ name: 'p2p', port: 26656 }],
    });
    const cl = buildClientService(spec(), ctx) as Any;
    expect(cl.spec.ports).toEqual([{ name: 'api', port: 26657, targetPort: 'api', protocol: 'TCP' }]);
    expect(cl.spec.selector).toEqual(h.spec.selector);
    expect(cl.spec.selector['consortia.io/node']).toBe('n1');
  });

  it('ServiceMonitor only when the CRD exists; external P2P Service only when configured', () => {
    expect(buildServiceMonitor(spec(), { ...ctx, serviceMonitorAvailable: false })).toBeUndefined();
    const sm = buildServiceMonitor(spec(), ctx) as Any;
    expect(sm.spec.jobLabel).toBe('app.kubernetes.io/name'); // job="consortia-node" for every node (alerts select it)
    expect(sm.spec.endpoints).toMatchObject([{ port: 'api', path: '/metrics', interval: '30s' }]);
    // consortium, organization and role come from the pod labels the runtime sets; tier is the PVC's storage class
    expect(sm.spec.endpoints[0].relabelings).toEqual([
      {
        action: 'replace',
        sourceLabels: ['__meta_kubernetes_pod_label_consortia_io_consortium'],
        targetLabel: 'consortium',
      },
      {
        action: 'replace',
        sourceLabels: ['__meta_kubernetes_pod_label_consortia_io_org'],
        targetLabel: 'organization',
      },
      { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_consortia_io_role'], targetLabel: 'role' },
      { action: 'replace', targetLabel: 'tier', replacement: opts.storage.validator.storageClass ?? 'default' },
    ]);
    const pod = (buildStatefulSet(spec(), ctx) as Any).spec.template.metadata.labels;
    for (const l of ['consortia.io/consortium', 'consortia.io/org', 'consortia.io/role'])
      expect(pod[l], l).toBeTruthy();
    expect(buildExternalP2pService(spec(), ctx)).toBeUndefined();
    const ext = buildExternalP2pService(spec(), {
      ...ctx,
      opts: { ...opts, p2pExternalServiceType: 'LoadBalancer' },
    }) as Any;
    expect(ext.spec.type).toBe('LoadBalancer');
  });

  it('advertises the pod DNS name, or the multi-cluster template', () => {
    const cfg = (o: typeof opts) => JSON.parse((buildConfigMap(spec(), { ...ctx, opts: o }) as Any).data['node.json']);
    expect(cfg(opts).p2pAdvertise).toBe('node-n1-0.node-n1-p2p.consortia-c1.svc.cluster.local:26656');
    expect(cfg({ ...opts, p2pAdvertiseTemplate: '{node}.{consortium}.eu.example.com:443' }).p2pAdvertise).toBe(
      'node-n1.c1.eu.example.com:443',
    );
  });
});
