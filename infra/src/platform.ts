import * as pulumi from '@pulumi/pulumi';
import { createBackups } from './backups.js';
import { createCluster } from './cluster.js';
import type { InfraConfig } from './config.js';
import { createKey } from './kms.js';
import { eksKubeconfig } from './kubeconfig.js';
import { createNetwork } from './network.js';
import { createRegistry } from './registry.js';
import { storageClassManifest, tierStorageClasses, TIER_STORAGE_CLASS } from './storage-classes.js';

export interface PlatformOutputs {
  clusterName: pulumi.Output<string>;
  clusterEndpoint: pulumi.Output<string>;
  kubeconfig: pulumi.Output<string>;
  registryUrls: { controlPlane: pulumi.Output<string>; node: pulumi.Output<string> };
  kmsKeyArn: pulumi.Output<string>;
  kmsKeyAlias: pulumi.Output<string>;
  backupBucket: pulumi.Output<string>;
  backupBucketArn: pulumi.Output<string>;
  controlPlaneRoleArn: pulumi.Output<string>;
  storageClassManifest: pulumi.Output<string>;
  storageClasses: Record<string, string>;
  vpcId: pulumi.Output<string>;
  privateSubnetIds: pulumi.Output<string>[];
}

/** Creates the whole AWS platform for one stack. Pure wiring: every resource lives in its own module. */
export function createPlatform(cfg: InfraConfig): PlatformOutputs {
  const { key, alias } = createKey(cfg);
  const network = createNetwork(cfg);
  const registry = createRegistry(cfg, key);
  const backups = createBackups(cfg, key);
  const eks = createCluster(cfg, network, key, backups.bucket.arn);

  const kubeconfig = pulumi
    .all([eks.cluster.name, eks.cluster.endpoint, eks.cluster.certificateAuthority])
    .apply(([clusterName, endpoint, ca]) => eksKubeconfig({ clusterName, endpoint, caData: ca?.data ?? '', region: cfg.region }));

  return {
    clusterName: eks.cluster.name,
    clusterEndpoint: eks.cluster.endpoint,
    kubeconfig: pulumi.secret(kubeconfig),
    registryUrls: { controlPlane: registry.controlPlane.repositoryUrl, node: registry.node.repositoryUrl },
    kmsKeyArn: key.arn,
    kmsKeyAlias: alias.name,
    backupBucket: backups.bucket.bucket,
    backupBucketArn: backups.bucket.arn,
    controlPlaneRoleArn: eks.controlPlaneRole.arn,
    storageClassManifest: key.arn.apply((arn) => storageClassManifest(tierStorageClasses(cfg, arn))),
    storageClasses: {
      validator: TIER_STORAGE_CLASS.validator,
      super: TIER_STORAGE_CLASS.archive,
      ordinary: TIER_STORAGE_CLASS.standard,
      light: TIER_STORAGE_CLASS.standard,
    },
    vpcId: network.vpc.id,
    privateSubnetIds: network.privateSubnets.map((s) => s.id),
  };
}
