import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';

/**
 * One customer-managed key per purpose, each with an explicit key policy (no "Enable IAM User
 * Permissions" root statement: an IAM policy alone never grants use of these keys):
 *   eks     envelope encryption of Kubernetes Secrets      used by the EKS cluster role only
 *   ebs     node root volumes and every PersistentVolume    used through EC2 by principals of this account
 *   ecr     the image repositories                          used through ECR by principals of this account
 *   logs    the EKS control-plane log group                 used by CloudWatch Logs for that log group only
 *   secrets the platform secrets in Secrets Manager         decrypted through Secrets Manager by the administrators only
 *   backup  the AWS Backup vault                            used through AWS Backup by principals of this account
 * The stack's deployer and `adminRoleArns` administer every key (rotate, tag, schedule deletion,
 * and create the grants the AWS services need) but get no plain encrypt/decrypt except on `secrets`.
 */
export type KeyPurpose = 'eks' | 'ebs' | 'ecr' | 'logs' | 'secrets' | 'backup';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['eks', 'ebs', 'ecr', 'logs', 'secrets', 'backup'];

export const KEY_DESCRIPTIONS: Record<KeyPurpose, string> = {
  eks: 'EKS envelope encryption of Kubernetes Secrets',
  ebs: 'EBS: node root volumes and PersistentVolumes of every storage tier',
  ecr: 'ECR image repositories',
  logs: 'CloudWatch Logs: EKS control-plane log group',
  secrets: 'Secrets Manager: platform encryption key and bootstrap token',
  backup: 'AWS Backup vault',
};

export const KEY_ADMIN_ACTIONS = [
  'kms:Create*',
  'kms:Describe*',
  'kms:Enable*',
  'kms:List*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Disable*',
  'kms:Get*',
  'kms:Delete*',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
  'kms:RotateKeyOnDemand',
];
const CRYPTO = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'];

export interface KeyPolicyContext {
  partition: string;
  accountId: string;
  region: string;
  /** Principals that administer the keys: the deployer (its role, not its session) and adminRoleArns. */
  administrators: string[];
  /** The EKS cluster's IAM role. */
  clusterRoleArn: string;
  /** The EKS control-plane log group (CloudWatch Logs may use the logs key for it alone). */
  logGroupArn: string;
}

interface Statement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string | string[] } | { Service: string };
  Action: string[];
  Resource: '*';
  Condition?: Record<string, Record<string, string | string[]>>;
}

/** Use of a key only through one AWS service, by principals of this account (how AWS-managed keys are scoped). */
function viaService(
  ctx: KeyPolicyContext,
  sid: string,
  service: string,
  principals: string | string[] = '*',
): Statement[] {
  const scope = { 'kms:CallerAccount': ctx.accountId, 'kms:ViaService': `${service}.${ctx.region}.amazonaws.com` };
  return [
    {
      Sid: sid,
      Effect: 'Allow',
      Principal: { AWS: principals },
      Action: CRYPTO,
      Resource: '*',
      Condition: { StringEquals: scope },
    },
    {
      Sid: `${sid}Grants`,
      Effect: 'Allow',
      Principal: { AWS: principals },
      Action: ['kms:CreateGrant', 'kms:ListGrants', 'kms:RevokeGrant'],
      Resource: '*',
      Condition: { StringEquals: scope, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    },
  ];
}

/** The key policy of one purpose (pure: tested without AWS). */
export function keyPolicy(
  purpose: KeyPurpose,
  ctx: KeyPolicyContext,
): { Version: '2012-10-17'; Statement: Statement[] } {
  const admin: Statement = {
    Sid: 'KeyAdministration',
    Effect: 'Allow',
    Principal: { AWS: ctx.administrators },
    Action: KEY_ADMIN_ACTIONS,
    Resource: '*',
  };
  const use: Record<KeyPurpose, Statement[]> = {
    eks: [
      {
        Sid: 'EksClusterRole',
        Effect: 'Allow',
        Principal: { AWS: ctx.clusterRoleArn },
        Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey'],
        Resource: '*',
      },
    ],
    // EC2 for the autoscaling service-linked role (root volumes), the EBS CSI driver (PersistentVolumes)
    // and AWS Backup (snapshots keep the volume's key): named principals would have to exist first.
    ebs: viaService(ctx, 'UseThroughEc2', 'ec2'),
    ecr: viaService(ctx, 'UseThroughEcr', 'ecr'),
    logs: [
      {
        Sid: 'CloudWatchLogsForTheClusterLogGroup',
        Effect: 'Allow',
        Principal: { Service: `logs.${ctx.region}.amazonaws.com` },
        Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        Resource: '*',
        Condition: { ArnEquals: { 'kms:EncryptionContext:aws:logs:arn': ctx.logGroupArn } },
      },
    ],
    // Only the administrators read the platform secrets (the bootstrap token, the encryption key).
    secrets: viaService(ctx, 'AdministratorsThroughSecretsManager', 'secretsmanager', ctx.administrators).slice(0, 1),
    backup: viaService(ctx, 'UseThroughBackup', 'backup'),
  };
  return { Version: '2012-10-17', Statement: [admin, ...use[purpose]] };
}

export type PlatformKeys = Record<KeyPurpose, aws.kms.Key>;

export interface KeyInputs {
  partition: pulumi.Input<string>;
  accountId: pulumi.Input<string>;
  administrators: pulumi.Input<string[]>;
  clusterRoleArn: pulumi.Input<string>;
}

export function logGroupName(cfg: Pick<InfraConfig, 'clusterName'>): string {
  return `/aws/eks/${cfg.clusterName}/cluster`;
}

export function createKeys(
  cfg: InfraConfig,
  inputs: KeyInputs,
  opts?: pulumi.CustomResourceOptions,
): { keys: PlatformKeys; aliases: Record<KeyPurpose, aws.kms.Alias> } {
  const ctx = pulumi
    .all([inputs.partition, inputs.accountId, inputs.administrators, inputs.clusterRoleArn])
    .apply(([partition, accountId, administrators, clusterRoleArn]) => ({
      partition,
      accountId,
      region: cfg.region,
      administrators,
      clusterRoleArn,
      logGroupArn: `arn:${partition}:logs:${cfg.region}:${accountId}:log-group:${logGroupName(cfg)}`,
    }));
  const keys = {} as PlatformKeys;
  const aliases = {} as Record<KeyPurpose, aws.kms.Alias>;
  for (const purpose of KEY_PURPOSES) {
    const name = `${cfg.clusterName}-${purpose}`;
    keys[purpose] = new aws.kms.Key(
      name,
      {
        description: `Consortia ${cfg.environment}: ${KEY_DESCRIPTIONS[purpose]}`,
        keyUsage: 'ENCRYPT_DECRYPT',
        customerMasterKeySpec: 'SYMMETRIC_DEFAULT',
        enableKeyRotation: true,
        rotationPeriodInDays: 365,
        deletionWindowInDays: cfg.kmsDeletionWindowDays,
        policy: ctx.apply((c) => JSON.stringify(keyPolicy(purpose, c))),
        tags: { ...cfg.tags, Name: name, Purpose: purpose },
      },
      opts,
    );
    aliases[purpose] = new aws.kms.Alias(
      name,
      { name: `alias/${cfg.clusterName}/${purpose}`, targetKeyId: keys[purpose].keyId },
      opts,
    );
  }
  return { keys, aliases };
}
