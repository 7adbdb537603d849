import { stringify } from 'yaml';
import type { InfraConfig, StorageTier, TierVolume } from './config.js';

/**
 * EBS CSI StorageClasses, one per storage tier, named as the kubernetes runtime expects
 * (src/control-plane/runtimes/kubernetes/options.ts): validator nodes -> consortia-validator,
 * super (archive) nodes -> consortia-archive, ordinary and light nodes -> consortia-standard.
 * They are Kubernetes objects, so this program outputs them as a manifest
 * (`pulumi stack output storageClassManifest | kubectl apply -f -`) instead of needing a
 * Kubernetes provider and cluster credentials at preview time.
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

export function tierStorageClass(tier: StorageTier, v: TierVolume, kmsKeyArn: string): StorageClassObject {
  const parameters: Record<string, string> = { type: v.type, 'csi.storage.k8s.io/fstype': 'ext4', encrypted: 'true', kmsKeyId: kmsKeyArn };
  if (v.iops !== undefined) parameters.iops = String(v.iops);
  if (v.throughput !== undefined) parameters.throughput = String(v.throughput);
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: TIER_STORAGE_CLASS[tier],
      labels: { 'app.kubernetes.io/part-of': 'consortia', 'consortia.io/storage-tier': tier },
    },
    provisioner: 'ebs.csi.aws.com',
    parameters,
    reclaimPolicy: v.reclaimPolicy,
    allowVolumeExpansion: true,
    // Bind in the zone where the pod is scheduled (EBS volumes are zonal).
    volumeBindingMode: 'WaitForFirstConsumer',
  };
}

export function tierStorageClasses(cfg: Pick<InfraConfig, 'tiers'>, kmsKeyArn: string): StorageClassObject[] {
  return (Object.keys(TIER_STORAGE_CLASS) as StorageTier[]).map((t) => tierStorageClass(t, cfg.tiers[t], kmsKeyArn));
}

/** Multi-document YAML for kubectl apply. */
export function storageClassManifest(classes: StorageClassObject[]): string {
  return classes.map((c) => stringify(c)).join('---\n');
}
