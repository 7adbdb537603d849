import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { AUTOSCALER_NAMESPACE, clusterAutoscalerValues } from './autoscaler.js';
import type { InfraConfig } from './config.js';
import { ROLE_STORAGE_CLASSES, TIER_STORAGE_CLASS, tierStorageClasses } from './storage-classes.js';

/** charts/consortia of this repository: the release deploys the chart the repository tests. */
export const CONSORTIA_CHART = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'charts', 'consortia');
export const CONSORTIA_RELEASE = 'consortia';
export const KPS_RELEASE = 'kube-prometheus-stack';
/** The label kube-prometheus-stack's Prometheus selects ServiceMonitors and PrometheusRules by. */
export const PROMETHEUS_SELECTOR = { release: KPS_RELEASE } as const;
export const AUTH_SECRET = 'consortia-auth';
export const GRAFANA_ADMIN_SECRET = 'grafana-admin';
export const CONTROL_PLANE_PORT = 8080;

const everyNamespace = { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }] };
const namespacePeer = (name: string) => ({
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': name } },
});

/** Helm values of charts/consortia, wired from the stack (pure: the mock tests assert them). */
export function consortiaValues(
  cfg: InfraConfig,
  o: { controlPlaneRepository: string; nodeRepository: string; imageTag: string; authSecret: string },
): Record<string, unknown> {
  const nlb = cfg.controlPlaneExposure === 'internal-nlb';
  const monitoring = cfg.monitoring.enabled;
  return {
    fullnameOverride: CONSORTIA_RELEASE,
    image: { repository: o.controlPlaneRepository, tag: o.imageTag, pullPolicy: 'IfNotPresent' },
    controlPlane: {
      nodeImage: `${o.nodeRepository}:${o.imageTag}`,
      // The chain nodes' PVCs: one storage class per role, applied by this program.
      config: { kubernetesRuntime: { storageClasses: { ...ROLE_STORAGE_CLASSES }, imagePullPolicy: 'IfNotPresent' } },
    },
    // The credentials from Secrets Manager (secrets.ts); the chart generates nothing.
    auth: { existingSecret: o.authSecret },
    // Pod Identity associates by namespace and ServiceAccount name: none of this stack's roles is the
    // control plane's (it calls no AWS API); the name is fixed so that one can be associated.
    serviceAccount: { create: true, name: cfg.controlPlaneServiceAccount },
    rbac: { create: true, restrictToManagedNamespaces: true },
    persistence: {
      enabled: true,
      storageClass: TIER_STORAGE_CLASS[cfg.controlPlaneStorageTier],
      size: `${cfg.controlPlaneStorageGiB}Gi`,
    },
    service: nlb
      ? {
          type: 'LoadBalancer',
          port: CONTROL_PLANE_PORT,
          annotations: {
            'service.beta.kubernetes.io/aws-load-balancer-type': 'nlb',
            'service.beta.kubernetes.io/aws-load-balancer-internal': 'true',
          },
        }
      : { type: 'ClusterIP', port: CONTROL_PLANE_PORT },
    networkPolicy: {
      enabled: true,
      from: [
        ...(monitoring ? [namespacePeer(cfg.monitoring.namespace)] : []),
        ...(nlb ? [{ ipBlock: { cidr: cfg.vpcCidr } }] : []),
      ],
    },
    podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
    // Picked up by kube-prometheus-stack: the label goes on the chart's ServiceMonitor and PrometheusRule
    // and, through kubernetesRuntime.serviceMonitorLabels, on every chain node's ServiceMonitor.
    serviceMonitor: { enabled: monitoring, labels: { ...PROMETHEUS_SELECTOR } },
    prometheusRule: { enabled: monitoring, labels: { ...PROMETHEUS_SELECTOR } },
    // Into Grafana's namespace, where its dashboard sidecar looks (it needs no cluster-wide read).
    grafanaDashboards: { enabled: monitoring, namespace: monitoring ? cfg.monitoring.namespace : '' },
  };
}

/** Helm values of kube-prometheus-stack: Prometheus selects our ServiceMonitors and rules in every namespace; Grafana loads our dashboards. */
export function kubePrometheusStackValues(cfg: InfraConfig): Record<string, unknown> {
  return {
    crds: { enabled: true },
    prometheus: {
      prometheusSpec: {
        serviceMonitorSelector: { matchLabels: { ...PROMETHEUS_SELECTOR } },
        serviceMonitorNamespaceSelector: everyNamespace,
        ruleSelector: { matchLabels: { ...PROMETHEUS_SELECTOR } },
        ruleNamespaceSelector: everyNamespace,
        retention: cfg.monitoring.prometheusRetention,
        storageSpec: {
          volumeClaimTemplate: {
            spec: {
              storageClassName: TIER_STORAGE_CLASS.standard,
              accessModes: ['ReadWriteOnce'],
              resources: { requests: { storage: `${cfg.monitoring.prometheusStorageGiB}Gi` } },
            },
          },
        },
      },
    },
    grafana: {
      admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: 'admin-user', passwordKey: 'admin-password' },
      sidecar: {
        dashboards: {
          enabled: true,
          label: 'grafana_dashboard',
          labelValue: '1',
          folderAnnotation: 'grafana_folder',
          provider: { foldersFromFilesStructure: true },
        },
      },
    },
  };
}

export interface KubernetesInputs {
  kubeconfig: pulumi.Input<string>;
  /** Nodes, add-ons and access entries: what must exist before anything is deployed. */
  clusterReady: pulumi.Input<pulumi.Resource>[];
  ebsKeyArn: pulumi.Input<string>;
  autoscalerIdentity?: pulumi.Resource;
  controlPlaneRepository: pulumi.Input<string>;
  nodeRepository: pulumi.Input<string>;
  encryptionKey: pulumi.Input<string>;
  bootstrapToken: pulumi.Input<string>;
}

export interface KubernetesDeployment {
  provider: k8s.Provider;
  storageClasses: k8s.storage.v1.StorageClass[];
  monitoring?: k8s.helm.v3.Release;
  autoscaler?: k8s.helm.v3.Release;
  consortia?: k8s.helm.v3.Release;
  /** https://<internal NLB>:8080 with controlPlaneExposure=internal-nlb (the API serves HTTPS only, charts/consortia values tls.*). */
  controlPlaneLoadBalancer?: pulumi.Output<string>;
}

/**
 * What runs on the cluster: the tier storage classes (one default), the monitoring stack, the
 * cluster autoscaler and, once `imageTag` is set (the images are in ECR), the Consortia release.
 */
export function deployToCluster(
  cfg: InfraConfig,
  i: KubernetesInputs,
  opts?: pulumi.ComponentResourceOptions,
): KubernetesDeployment {
  const name = cfg.clusterName;
  const provider = new k8s.Provider(
    `${name}-k8s`,
    { kubeconfig: i.kubeconfig, enableServerSideApply: true },
    { ...opts, dependsOn: i.clusterReady },
  );
  const on = (
    dependsOn: pulumi.Input<pulumi.Input<pulumi.Resource>[]> = i.clusterReady,
  ): pulumi.CustomResourceOptions => ({ ...opts, provider, dependsOn });

  const storageClasses = pulumi.output(i.ebsKeyArn).apply((arn) => tierStorageClasses(cfg, arn));
  const classes = (Object.keys(TIER_STORAGE_CLASS) as (keyof typeof TIER_STORAGE_CLASS)[]).map(
    (tier, n) =>
      new k8s.storage.v1.StorageClass(
        `${name}-${TIER_STORAGE_CLASS[tier]}`,
        {
          metadata: storageClasses.apply((c) => c[n]!.metadata),
          provisioner: 'ebs.csi.aws.com',
          parameters: storageClasses.apply((c) => c[n]!.parameters),
          reclaimPolicy: cfg.tiers[tier].reclaimPolicy,
          allowVolumeExpansion: true,
          volumeBindingMode: 'WaitForFirstConsumer',
        },
        on(),
      ),
  );

  const consortiaNs = new k8s.core.v1.Namespace(
    `${name}-consortia-ns`,
    {
      metadata: {
        name: cfg.controlPlaneNamespace,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'app.kubernetes.io/part-of': 'consortia' },
      },
    },
    on(),
  );

  let monitoring: k8s.helm.v3.Release | undefined;
  if (cfg.monitoring.enabled) {
    const ns = new k8s.core.v1.Namespace(
      `${name}-monitoring-ns`,
      { metadata: { name: cfg.monitoring.namespace } },
      on(),
    );
    const grafanaPassword = new random.RandomPassword(`${name}-grafana-admin`, { length: 32, special: false }, opts);
    const grafanaAdmin = new k8s.core.v1.Secret(
      `${name}-grafana-admin`,
      {
        metadata: { name: GRAFANA_ADMIN_SECRET, namespace: ns.metadata.name },
        stringData: { 'admin-user': 'admin', 'admin-password': grafanaPassword.result },
      },
      on(),
    );
    monitoring = new k8s.helm.v3.Release(
      `${name}-kube-prometheus-stack`,
      {
        name: KPS_RELEASE,
        namespace: ns.metadata.name,
        chart: 'kube-prometheus-stack',
        version: cfg.monitoring.chartVersion,
        repositoryOpts: { repo: 'https://prometheus-community.github.io/helm-charts' },
        values: kubePrometheusStackValues(cfg),
        timeout: 900,
        cleanupOnFail: true,
      },
      on([...i.clusterReady, ...classes, grafanaAdmin]),
    );
  }

  let autoscaler: k8s.helm.v3.Release | undefined;
  if (cfg.clusterAutoscaler.enabled) {
    autoscaler = new k8s.helm.v3.Release(
      `${name}-cluster-autoscaler`,
      {
        name: 'cluster-autoscaler',
        namespace: AUTOSCALER_NAMESPACE,
        chart: 'cluster-autoscaler',
        version: cfg.clusterAutoscaler.chartVersion,
        repositoryOpts: { repo: 'https://kubernetes.github.io/autoscaler' },
        values: clusterAutoscalerValues(cfg),
        timeout: 600,
      },
      on([...i.clusterReady, ...(i.autoscalerIdentity ? [i.autoscalerIdentity] : [])]),
    );
  }

  const auth = new k8s.core.v1.Secret(
    `${name}-consortia-auth`,
    {
      metadata: {
        name: AUTH_SECRET,
        namespace: consortiaNs.metadata.name,
        labels: { 'app.kubernetes.io/part-of': 'consortia' },
      },
      type: 'Opaque',
      stringData: { 'bootstrap-token': i.bootstrapToken, 'encryption-key': i.encryptionKey },
    },
    on(),
  );

  let consortia: k8s.helm.v3.Release | undefined;
  let controlPlaneLoadBalancer: pulumi.Output<string> | undefined;
  if (cfg.imageTag !== undefined) {
    const tag = cfg.imageTag;
    consortia = new k8s.helm.v3.Release(
      `${name}-consortia`,
      {
        name: CONSORTIA_RELEASE,
        namespace: consortiaNs.metadata.name,
        chart: CONSORTIA_CHART,
        values: pulumi
          .all([i.controlPlaneRepository, i.nodeRepository, auth.metadata.name])
          .apply(([controlPlaneRepository, nodeRepository, authSecret]) =>
            consortiaValues(cfg, { controlPlaneRepository, nodeRepository, imageTag: tag, authSecret }),
          ),
        timeout: 600,
        waitForJobs: true,
      },
      on([...i.clusterReady, ...classes, auth, ...(monitoring ? [monitoring] : [])]),
    );
    if (cfg.controlPlaneExposure === 'internal-nlb') {
      const svc = k8s.core.v1.Service.get(
        `${name}-consortia-svc`,
        pulumi.interpolate`${cfg.controlPlaneNamespace}/${CONSORTIA_RELEASE}`,
        { provider, dependsOn: [consortia] },
      );
      controlPlaneLoadBalancer = svc.status.apply((s) => {
        const ingress = s?.loadBalancer?.ingress?.[0];
        return `https://${ingress?.hostname ?? ingress?.ip ?? '<pending>'}:${CONTROL_PLANE_PORT}`;
      });
    }
  }
  return {
    provider,
    storageClasses: classes,
    ...(monitoring ? { monitoring } : {}),
    ...(autoscaler ? { autoscaler } : {}),
    ...(consortia ? { consortia } : {}),
    ...(controlPlaneLoadBalancer ? { controlPlaneLoadBalancer } : {}),
  };
}
