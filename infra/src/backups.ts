import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';

export interface Backups {
  bucket: aws.s3.Bucket;
}

/**
 * Backup bucket (control-plane store snapshots, chain archives): private, owner-enforced,
 * versioned, SSE-KMS with the platform key (bucket key on to cut KMS calls), TLS-only,
 * current objects move to Standard-IA then Glacier Instant Retrieval, old versions expire.
 */
export function createBackups(cfg: InfraConfig, key: aws.kms.Key, opts?: pulumi.CustomResourceOptions): Backups {
  const name = `${cfg.clusterName}-backups`;
  const bucket = new aws.s3.Bucket(name, {
    bucketPrefix: `${cfg.clusterName}-backups-`,
    forceDestroy: false,
    tags: { ...cfg.tags, Name: name },
  }, opts);
  new aws.s3.BucketOwnershipControls(name, { bucket: bucket.id, rule: { objectOwnership: 'BucketOwnerEnforced' } }, opts);
  new aws.s3.BucketPublicAccessBlock(name, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  }, opts);
  const versioning = new aws.s3.BucketVersioning(name, { bucket: bucket.id, versioningConfiguration: { status: 'Enabled' } }, opts);
  new aws.s3.BucketServerSideEncryptionConfiguration(name, {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: key.arn }, bucketKeyEnabled: true }],
  }, opts);
  new aws.s3.BucketLifecycleConfiguration(name, {
    bucket: bucket.id,
    rules: [
      {
        id: 'tiering-and-expiry',
        status: 'Enabled',
        filter: {},
        transitions: [
          { days: cfg.backupTransitionDays, storageClass: 'STANDARD_IA' },
          { days: cfg.backupTransitionDays + 60, storageClass: 'GLACIER_IR' },
        ],
        noncurrentVersionExpiration: { noncurrentDays: cfg.backupNoncurrentDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
      },
    ],
  }, { ...opts, dependsOn: [versioning] });
  new aws.s3.BucketPolicy(name, {
    bucket: bucket.id,
    policy: pulumi.all([bucket.arn]).apply(([arn]) => JSON.stringify({
      Version: '2012-10-17',
      Statement: [{
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }],
    })),
  }, opts);
  return { bucket };
}
