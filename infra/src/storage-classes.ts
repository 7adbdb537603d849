import { stringify } from 'yaml';
import { BACKUP_TAG } from './backups.js';
import type { InfraConfig, StorageTier, TierVolume } from './config.js';

/**
 * EBS CSI StorageClasses, one per storage tier, named as the kubernetes runtime expects
 * (src/control-plane/runtimes/kubernetes/options.ts): validator nodes -> consortia-validator,
 * super (archive) nodes -> consortia-archive, ordinary and light nodes -> consortia-standard.
 * The program applies them to the cluster (kubernetes.ts), one of them marked the default class
 * (EKS 1.30+ has no default StorageClass, and a claim without a class would stay Pending), and
 * also outputs them as a manifest (storageClassManifest).
 */
export const TIER_STORAGE_CLASS: Record<StorageTier, string> = {
  validator: 'consortia-validator',
  archive: 'consortia-archive',
  standard: 'consortia-standard',
};

export interface StorageClassObject {
  apiVersion: 'storage.k8s.io/v1';
  kind: 'StorageClass';
  metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> };
  provisioner: 'ebs.csi.aws.com';
  parameters: Record<string, string>;
  reclaimPolicy: 'Retain' | 'Delete';
  allowVolumeExpansion: true;
  volumeBindingMode: 'WaitForFirstConsumer';
}

export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

export function tierStorageClass(
  tier: StorageTier,
  v: TierVolume,
  kmsKeyArn: string,
  o: { clusterName: string; isDefault: boolean },
): StorageClassObject {
  const parameters: Record<string, string> = {
    type: v.type,
    'csi.storage.k8s.io/fstype': 'ext4',
    encrypted: 'true',
    kmsKeyId: kmsKeyArn,
  };
  if (v.iops !== undefined) parameters.iops = String(v.iops);
  if (v.throughput !== undefined) parameters.throughput = String(v.throughput);
  // EBS CSI puts these tags on every volume it creates; AWS Backup selects volumes by BACKUP_TAG.
  parameters.tagSpecification_1 = `consortia.io/storage-tier=${tier}`;
  if (v.backup) parameters.tagSpecification_2 = `${BACKUP_TAG}=${o.clusterName}`;
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: TIER_STORAGE_CLASS[tier],
      labels: { 'app.kubernetes.io/part-of': 'consortia', 'consortia.io/storage-tier': tier },
      ...(o.isDefault ? { annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' } } : {}),
    },
    provisioner: 'ebs.csi.aws.com',
    parameters,
    reclaimPolicy: v.reclaimPolicy,
    allowVolumeExpansion: true,
    // Bind in the zone where the pod is scheduled (EBS volumes are zonal).
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

export function tierStorageClasses(
  cfg: Pick<InfraConfig, 'tiers' | 'clusterName' | 'defaultStorageTier'>,
  kmsKeyArn: string,
): StorageClassObject[] {
  return (Object.keys(TIER_STORAGE_CLASS) as StorageTier[]).map((t) =>
    tierStorageClass(t, cfg.tiers[t], kmsKeyArn, {
      clusterName: cfg.clusterName,
      isDefault: t === cfg.defaultStorageTier,
    }),
  );
}

/** The kubernetes runtime's storage class per node role (kubernetesRuntime.storageClasses). */
export const ROLE_STORAGE_CLASSES = {
  validator: TIER_STORAGE_CLASS.validator,
  super: TIER_STORAGE_CLASS.archive,
  ordinary: TIER_STORAGE_CLASS.standard,
  light: TIER_STORAGE_CLASS.standard,
} as const;

/** Multi-document YAML for kubectl apply. */
export function storageClassManifest(classes: StorageClassObject[]): string {
  return classes.map((c) => stringify(c)).join('---\n');
}
