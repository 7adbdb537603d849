import type { NodeSpec } from '../../runtime.js';
import { ANNOTATION, LABEL, nodeAnnotations, nodeLabels, nodeObjectNames, nodeSelectorLabels } from '../names.js';
import {
  buildKeyProviderClaims,
  buildKeyProviderServiceAccount,
  buildKeySecret,
  keyProviderPod,
} from './key-provider-objects.js';
import { ADMIN_SECRET_KEY, POD_PATHS, TLS_SECRET_KEYS, buildConfigData, configHash } from './node-config.js';
import type { BuildContext, Manifest } from './types.js';

/** ConfigMap key holding the desired NodeSpec (minus genesis, which is genesis.json): lets the runtime resume after a restart. */
export const SPEC_KEY = 'consortia-spec.json';

export function specRecord(spec: NodeSpec): string {
  // Never the admin token: it lives only in the node's admin Secret. A spec restored from this
  // record has none, so the runtime then leaves the Secret as it is (see buildAdminSecret).
  const { genesis: _g, adminToken: _t, keyPin: _p, ...rest } = spec;
  return JSON.stringify(rest);
}

/** Inverse of specRecord + genesis.json; undefined when the record is missing or malformed. */
export function specFromConfigData(data: Record<string, string> | undefined): NodeSpec | undefined {
  const raw = data?.[SPEC_KEY];
  if (!raw) return undefined;
  try {
    const spec = JSON.parse(raw) as NodeSpec;
    if (typeof spec.nodeId !== 'string' || typeof spec.consortiumId !== 'string') return undefined;
    const g = data?.['genesis.json'];
    return g !== undefined ? { ...spec, genesis: JSON.parse(g) as unknown } : spec;
  } catch {
    return undefined;
  }
}

/** ConfigMap with node.json (+ genesis.json once sealed). Nothing secret: the node key never leaves the pod, the admin token is in the admin Secret. */
export function buildConfigMap(spec: NodeSpec, ctx: BuildContext): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: nodeObjectNames(spec.nodeId).configMap,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    data: { ...buildConfigData(spec, ctx.namespace, ctx.opts), [SPEC_KEY]: specRecord(spec) },
  };
}

/**
 * The node's admin credential (domain/node-credentials.ts) as a Secret, mounted read-only into the
 * pod only. Built only when the spec carries the token: a spec restored from the ConfigMap record has
 * none, and then the Secret already applied is left untouched.
 */
export function buildAdminSecret(spec: NodeSpec, ctx: BuildContext): Manifest | undefined {
  if (spec.adminToken === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: nodeObjectNames(spec.nodeId).adminSecret,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    type: 'Opaque',
    data: { [ADMIN_SECRET_KEY]: Buffer.from(spec.adminToken, 'utf8').toString('base64') },
  };
}

/**
 * The node's HTTPS certificate, key and the node CA (ctx.tls, issued by node-tls.ts) as a
 * kubernetes.io/tls Secret, mounted read-only into the pod only.
 */
export function buildTlsSecret(spec: NodeSpec, ctx: BuildContext): Manifest {
  const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: nodeObjectNames(spec.nodeId).tlsSecret,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    type: 'kubernetes.io/tls',
    data: {
      [TLS_SECRET_KEYS.cert]: b64(ctx.tls.cert),
      [TLS_SECRET_KEYS.key]: b64(ctx.tls.key),
      [TLS_SECRET_KEYS.ca]: b64(ctx.tls.ca),
    },
  };
}

/** Storage class and size of the node's PVC: from its tier, size overridable per node. */
export function tierStorage(
  spec: Pick<NodeSpec, 'role' | 'resources'>,
  ctx: BuildContext,
): { storageClass?: string; size: string } {
  const t = ctx.opts.storage[spec.role];
  return { ...(t.storageClass ? { storageClass: t.storageClass } : {}), size: spec.resources.storage ?? t.size };
}

export function buildStatefulSet(spec: NodeSpec, ctx: BuildContext): Manifest {
  const { opts } = ctx;
  const names = nodeObjectNames(spec.nodeId);
  const labels = nodeLabels(spec);
  const storage = tierStorage(spec, ctx);
  const hash = configHash(buildConfigData(spec, ctx.namespace, opts));
  const keyPod = keyProviderPod(spec);
  // HTTPS probes: the kubelet does not verify the certificate (it only needs an answer).
  const probe = (path: string, period: number, failures: number) => ({
    httpGet: { path, port: 'api', scheme: 'HTTPS' },
    periodSeconds: period,
    timeoutSeconds: 3,
    failureThreshold: failures,
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: names.statefulSet,
      namespace: ctx.namespace,
      labels,
      annotations: { ...nodeAnnotations(spec), [ANNOTATION.generation]: String(spec.generation) },
    },
    spec: {
      replicas: 1,
      serviceName: names.headlessService,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: {
        whenDeleted: opts.pvcPolicy === 'delete' ? 'Delete' : 'Retain',
        whenScaled: 'Retain',
      },
      selector: { matchLabels: nodeSelectorLabels(spec.nodeId, spec.consortiumId) },
      template: {
        metadata: {
          labels,
          annotations: {
            ...nodeAnnotations(spec),
            [ANNOTATION.configHash]: hash,
            [ANNOTATION.tlsDigest]: ctx.tls.digest,
          },
        },
        spec: {
          // A KMS key's provider names the service account whose cloud identity may sign with it
          // (EKS Pod Identity or IRSA inject their own credentials; no Kubernetes API token is mounted).
          ...(keyPod.serviceAccountName !== undefined ? { serviceAccountName: keyPod.serviceAccountName } : {}),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: opts.runAsUser,
            runAsGroup: opts.runAsUser,
            fsGroup: opts.runAsUser,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'node',
              image: spec.image ?? opts.image,
              ...(opts.imagePullPolicy ? { imagePullPolicy: opts.imagePullPolicy } : {}),
              args: ['--config', POD_PATHS.configFile],
              // The node's calls to other nodes' APIs (syncFrom: snapshots, light-client sources) use
              // node's fetch, whose trust store takes extra CAs only from this variable, read once at
              // process start: the node CA that signed every node's certificate.
              env: [{ name: 'NODE_EXTRA_CA_CERTS', value: POD_PATHS.tlsCaFile }, ...keyPod.env],
              ports: [
                { name: 'p2p', containerPort: opts.ports.p2p, protocol: 'TCP' },
                { name: 'api', containerPort: opts.ports.api, protocol: 'TCP' },
              ],
              resources: {
                requests: { cpu: spec.resources.cpu, memory: spec.resources.memory },
                limits: { cpu: spec.resources.cpu, memory: spec.resources.memory },
              },
              livenessProbe: probe('/healthz', 10, 6),
              readinessProbe: probe('/readyz', 5, 3),
              // A node that stops on its own (GENESIS_MISMATCH, exit code 3) explains why in its last log line.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: names.pvcTemplate, mountPath: POD_PATHS.dataDir },
                { name: 'config', mountPath: POD_PATHS.configDir, readOnly: true },
                { name: 'admin', mountPath: POD_PATHS.adminDir, readOnly: true },
                { name: 'tls', mountPath: POD_PATHS.tlsDir, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
                ...keyPod.mounts,
              ],
            },
          ],
          volumes: [
            { name: 'config', configMap: { name: names.configMap } },
            // optional: a node without its Secret starts, and refuses every admin request
            {
              name: 'admin',
              secret: {
                secretName: names.adminSecret,
                optional: true,
                defaultMode: 0o440,
                items: [{ key: ADMIN_SECRET_KEY, path: ADMIN_SECRET_KEY }],
              },
            },
            // Not optional: a node without its certificate cannot serve its API.
            { name: 'tls', secret: { secretName: names.tlsSecret, defaultMode: 0o440 } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            ...keyPod.volumes,
          ],
        },
      },
      volumeClaimTemplates: [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: names.pvcTemplate, labels },
          spec: {
            accessModes: ['ReadWriteOnce'],
            ...(storage.storageClass ? { storageClassName: storage.storageClass } : {}),
            resources: { requests: { storage: storage.size } },
          },
        },
      ],
    },
  };
}

/** Headless Service: stable per-pod DNS for P2P; publishes not-ready pods so peers can meet before consensus starts. */
export function buildHeadlessService(spec: NodeSpec, ctx: BuildContext): Manifest {
  const names = nodeObjectNames(spec.nodeId);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.headlessService,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: nodeSelectorLabels(spec.nodeId, spec.consortiumId),
      ports: [{ name: 'p2p', port: ctx.opts.ports.p2p, targetPort: 'p2p', protocol: 'TCP' }],
    },
  };
}

/** Client Service: HTTPS API and /metrics (same listener). */
export function buildClientService(spec: NodeSpec, ctx: BuildContext): Manifest {
  const names = nodeObjectNames(spec.nodeId);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.clientService,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    spec: {
      type: 'ClusterIP',
      selector: nodeSelectorLabels(spec.nodeId, spec.consortiumId),
      ports: [{ name: 'api', port: ctx.opts.ports.api, targetPort: 'api', protocol: 'TCP' }],
    },
  };
}

/** Multi-cluster: P2P reachable from outside the cluster (LoadBalancer / NodePort). */
export function buildExternalP2pService(spec: NodeSpec, ctx: BuildContext): Manifest | undefined {
  if (!ctx.opts.p2pExternalServiceType) return undefined;
  const names = nodeObjectNames(spec.nodeId);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: names.externalP2pService,
      namespace: ctx.namespace,
      labels: nodeLabels(spec),
      annotations: nodeAnnotations(spec),
    },
    spec: {
      type: ctx.opts.p2pExternalServiceType,
      externalTrafficPolicy: 'Local',
      selector: nodeSelectorLabels(spec.nodeId, spec.consortiumId),
      ports: [{ name: 'p2p', port: ctx.opts.ports.p2p, targetPort: 'p2p', protocol: 'TCP' }],
    },
  };
}

/** Prometheus job of every chain node (the alert rules and dashboards select it): the pods' app.kubernetes.io/name. */
export const NODE_METRICS_JOB = 'consortia-node';

/** The storage tier a node's data lives on, as its `tier` target label: its PVC's storage class. */
export function storageTierOf(spec: Pick<NodeSpec, 'role' | 'resources'>, ctx: BuildContext): string {
  return tierStorage(spec, ctx).storageClass ?? 'default';
}

/**
 * Prometheus Operator ServiceMonitor for the node's /metrics (only when the CRD is served). Every
 * series of the node gets consortium, organization and role as target labels from the pod labels
 * the runtime sets, and tier (its PVC's storage class) as a fixed value: target labels, not labels
 * on each series, so the node exports none of them. job is `consortia-node` for every node.
 */
export function buildServiceMonitor(spec: NodeSpec, ctx: BuildContext): Manifest | undefined {
  if (!ctx.serviceMonitorAvailable) return undefined;
  const names = nodeObjectNames(spec.nodeId);
  const podLabel = (label: string): string => `__meta_kubernetes_pod_label_${label.replace(/[^A-Za-z0-9_]/g, '_')}`;
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    // Extra labels (options.serviceMonitorLabels) let a Prometheus' serviceMonitorSelector pick it up; ours win on a clash.
    metadata: {
      name: names.serviceMonitor,
      namespace: ctx.namespace,
      labels: { ...ctx.opts.serviceMonitorLabels, ...nodeLabels(spec) },
      annotations: nodeAnnotations(spec),
    },
    spec: {
      jobLabel: LABEL.name,
      selector: { matchLabels: { ...nodeSelectorLabels(spec.nodeId, spec.consortiumId) } },
      endpoints: [
        {
          port: 'api',
          path: '/metrics',
          interval: '30s',
          scheme: 'https',
          // Prometheus verifies the node's certificate against the node CA in the node's own TLS Secret.
          tlsConfig: {
            ca: { secret: { name: names.tlsSecret, key: TLS_SECRET_KEYS.ca } },
            serverName: `${names.clientService}.${ctx.namespace}.svc`,
          },
          relabelings: [
            { action: 'replace', sourceLabels: [podLabel(LABEL.consortium)], targetLabel: 'consortium' },
            { action: 'replace', sourceLabels: [podLabel(LABEL.org)], targetLabel: 'organization' },
            { action: 'replace', sourceLabels: [podLabel(LABEL.role)], targetLabel: 'role' },
            { action: 'replace', targetLabel: 'tier', replacement: storageTierOf(spec, ctx) },
          ],
        },
      ],
    },
  };
}

/**
 * All objects of one node, in apply order (Secret and config before the StatefulSet that mounts them).
 * Note: the client Service selects pods by nodeSelectorLabels, which the headless Service shares,
 * so a ServiceMonitor selecting those labels would match both Services; it matches on port name 'api',
 * which only the client Service has.
 */
export function buildNodeObjects(spec: NodeSpec, ctx: BuildContext): Manifest[] {
  const out: (Manifest | undefined)[] = [
    buildAdminSecret(spec, ctx),
    buildKeySecret(spec, ctx),
    buildTlsSecret(spec, ctx),
    ...buildKeyProviderClaims(spec, ctx),
    buildKeyProviderServiceAccount(spec, ctx),
    buildConfigMap(spec, ctx),
    buildHeadlessService(spec, ctx),
    buildClientService(spec, ctx),
    buildExternalP2pService(spec, ctx),
    buildStatefulSet(spec, ctx),
    buildServiceMonitor(spec, ctx),
  ];
  return out.filter((m): m is Manifest => m !== undefined);
}
