import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';

/** The two images the platform ships: the control plane (root Dockerfile) and the chain node (node-image/). */
export const IMAGES = { controlPlane: 'control-plane', node: 'node' } as const;

/** Keep the last 50 tagged releases; drop untagged layers after a week. */
export const ECR_LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'expire untagged images after 7 days',
      selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 },
      action: { type: 'expire' },
    },
    {
      rulePriority: 2,
      description: 'keep the 50 most recent images',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 },
      action: { type: 'expire' },
    },
  ],
});

/** ECR repositories: immutable tags (a release tag always means the same image), scan on push, KMS encryption. */
export function createRegistry(
  cfg: InfraConfig,
  key: aws.kms.Key,
  opts?: pulumi.CustomResourceOptions,
): Record<keyof typeof IMAGES, aws.ecr.Repository> {
  const repo = (image: string): aws.ecr.Repository => {
    const r = new aws.ecr.Repository(
      `${cfg.clusterName}-${image}`,
      {
        name: `consortia/${cfg.environment}/${image}`,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: 'KMS', kmsKey: key.arn }],
        forceDelete: false,
        tags: { ...cfg.tags, Name: `consortia-${image}` },
      },
      opts,
    );
    new aws.ecr.LifecyclePolicy(
      `${cfg.clusterName}-${image}`,
      { repository: r.name, policy: ECR_LIFECYCLE_POLICY },
      opts,
    );
    return r;
  };
  return { controlPlane: repo(IMAGES.controlPlane), node: repo(IMAGES.node) };
}
