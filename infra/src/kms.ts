import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';

/**
 * One customer-managed key for the platform: EKS secrets envelope encryption (the Secret with
 * the control plane's encryption key and bootstrap token), EBS volumes of every tier, ECR
 * images and S3 backups. Rotated yearly by AWS. The default key policy (account root) applies;
 * access is granted through IAM policies on the roles that need it.
 */
export function createKey(cfg: InfraConfig, opts?: pulumi.CustomResourceOptions): { key: aws.kms.Key; alias: aws.kms.Alias } {
  const key = new aws.kms.Key(`${cfg.clusterName}-key`, {
    description: `Consortia ${cfg.environment}: EKS secrets, EBS volumes, ECR and backups`,
    keyUsage: 'ENCRYPT_DECRYPT',
    customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    enableKeyRotation: true,
    rotationPeriodInDays: 365,
    deletionWindowInDays: cfg.kmsDeletionWindowDays,
    tags: { ...cfg.tags, Name: `${cfg.clusterName}-key` },
  }, opts);
  const alias = new aws.kms.Alias(`${cfg.clusterName}-key`, { name: `alias/${cfg.clusterName}`, targetKeyId: key.keyId }, opts);
  return { key, alias };
}
