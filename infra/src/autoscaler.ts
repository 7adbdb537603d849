import * as aws from '@pulumi/aws';
import type * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';
import { POD_IDENTITY_TRUST } from './cluster.js';

export const AUTOSCALER_NAMESPACE = 'kube-system';
export const AUTOSCALER_SERVICE_ACCOUNT = 'cluster-autoscaler';

/** What the cluster autoscaler may do: read the groups, and resize only this cluster's (by the tag EKS puts on them). */
export function autoscalerPolicy(clusterName: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Discover',
        Effect: 'Allow',
        Action: [
          'autoscaling:DescribeAutoScalingGroups',
          'autoscaling:DescribeAutoScalingInstances',
          'autoscaling:DescribeLaunchConfigurations',
          'autoscaling:DescribeScalingActivities',
          'autoscaling:DescribeTags',
          'ec2:DescribeImages',
          'ec2:DescribeInstanceTypes',
          'ec2:DescribeLaunchTemplateVersions',
          'ec2:GetInstanceTypesFromInstanceRequirements',
          'eks:DescribeNodegroup',
        ],
        Resource: '*',
      },
      {
        Sid: 'ResizeThisClusterOnly',
        Effect: 'Allow',
        Action: ['autoscaling:SetDesiredCapacity', 'autoscaling:TerminateInstanceInAutoScalingGroup'],
        Resource: '*',
        Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: 'owned' } },
      },
    ],
  });
}

/** Helm values of the cluster-autoscaler chart (kubernetes.github.io/autoscaler). */
export function clusterAutoscalerValues(cfg: InfraConfig): Record<string, unknown> {
  return {
    cloudProvider: 'aws',
    awsRegion: cfg.region,
    autoDiscovery: { clusterName: cfg.clusterName },
    image: { repository: 'registry.k8s.io/autoscaling/cluster-autoscaler', tag: cfg.clusterAutoscaler.imageTag },
    rbac: { create: true, serviceAccount: { create: true, name: AUTOSCALER_SERVICE_ACCOUNT } },
    extraArgs: {
      // One node group per zone: keep them the same size, so every zone has room for its volumes' pods.
      'balance-similar-node-groups': true,
      expander: 'least-waste',
      // Pods with an emptyDir (/tmp of the control plane and the nodes) must not pin a node forever.
      'skip-nodes-with-local-storage': false,
      'skip-nodes-with-system-pods': false,
    },
    resources: { requests: { cpu: '100m', memory: '300Mi' }, limits: { memory: '600Mi' } },
  };
}

/** IAM role for the autoscaler's ServiceAccount through Pod Identity. */
export function createAutoscalerIdentity(
  cfg: InfraConfig,
  cluster: aws.eks.Cluster,
  opts?: pulumi.CustomResourceOptions,
): { role: aws.iam.Role; association: aws.eks.PodIdentityAssociation } {
  const name = `${cfg.clusterName}-cluster-autoscaler`;
  const role = new aws.iam.Role(name, { assumeRolePolicy: POD_IDENTITY_TRUST, tags: cfg.tags }, opts);
  new aws.iam.RolePolicy(name, { role: role.name, policy: autoscalerPolicy(cfg.clusterName) }, opts);
  const association = new aws.eks.PodIdentityAssociation(
    name,
    {
      clusterName: cluster.name,
      namespace: AUTOSCALER_NAMESPACE,
      serviceAccount: AUTOSCALER_SERVICE_ACCOUNT,
      roleArn: role.arn,
      tags: cfg.tags,
    },
    opts,
  );
  return { role, association };
}
