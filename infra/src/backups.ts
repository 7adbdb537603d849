import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';
import { assumeRolePolicy, attachManaged } from './iam.js';

/** Tag the tier storage classes put on the EBS volumes to back up; its value is the cluster name. */
export const BACKUP_TAG = 'consortia.io/backup';

export interface Backups {
  vault: aws.backup.Vault;
  plan: aws.backup.Plan;
  selection: aws.backup.Selection;
  role: aws.iam.Role;
}

/**
 * What holds state here is EBS: the control plane's store (level) and every chain node's data.
 * AWS Backup snapshots those volumes daily (crash-consistent; level recovers from its write-ahead
 * log like after a power cut) into a vault encrypted with the backup key, and keeps each recovery
 * point `backupRetentionDays`. It selects volumes by the tag BACKUP_TAG=<cluster>, which the
 * storage classes of the tiers with `backup: true` (validator and archive by default: the control
 * plane's store lives on the validator class) put on every volume they provision.
 * Restore: a recovery point becomes an EBS volume; a PersistentVolume bound to it brings a node
 * (or the control plane) back with its data.
 */
export function createBackups(cfg: InfraConfig, key: aws.kms.Key, opts?: pulumi.CustomResourceOptions): Backups {
  const name = `${cfg.clusterName}-backups`;
  const vault = new aws.backup.Vault(
    name,
    { name, kmsKeyArn: key.arn, forceDestroy: false, tags: { ...cfg.tags, Name: name } },
    opts,
  );
  const plan = new aws.backup.Plan(
    name,
    {
      name,
      rules: [
        {
          ruleName: 'daily',
          targetVaultName: vault.name,
          schedule: cfg.backupSchedule,
          startWindow: 60,
          completionWindow: 360,
          lifecycle: { deleteAfter: cfg.backupRetentionDays },
          recoveryPointTags: { ...cfg.tags, Name: name },
        },
      ],
      tags: { ...cfg.tags, Name: name },
    },
    opts,
  );
  const role = new aws.iam.Role(
    `${cfg.clusterName}-backup`,
    { assumeRolePolicy: assumeRolePolicy('backup.amazonaws.com'), tags: cfg.tags },
    opts,
  );
  const attached = attachManaged(
    `${cfg.clusterName}-backup`,
    role,
    [
      'arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup',
      'arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores',
    ],
    opts,
  );
  const selection = new aws.backup.Selection(
    name,
    {
      name: `${cfg.clusterName}-ebs`,
      planId: plan.id,
      iamRoleArn: role.arn,
      resources: ['arn:aws:ec2:*:*:volume/*'],
      selectionTags: [{ type: 'STRINGEQUALS', key: BACKUP_TAG, value: cfg.clusterName }],
    },
    { ...opts, dependsOn: attached },
  );
  return { vault, plan, selection, role };
}
