import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import type { InfraConfig } from './config.js';
import { assumeRolePolicy, attachManaged, kmsUsePolicy } from './iam.js';
import type { Network } from './network.js';

export interface Cluster {
  cluster: aws.eks.Cluster;
  nodeGroup: aws.eks.NodeGroup;
  nodeRole: aws.iam.Role;
  ebsCsiRole: aws.iam.Role;
  controlPlaneRole: aws.iam.Role;
  ebsCsiAddon: aws.eks.Addon;
}

const POD_IDENTITY_TRUST = assumeRolePolicy('pods.eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']);

/**
 * EKS built from the plain resources (@pulumi/aws has no high-level EKS component):
 * cluster role, cluster with KMS envelope encryption of Secrets and audit logs, a managed
 * node group in the private subnets, the EBS CSI driver (EKS add-on, Pod Identity role with
 * use of the platform key so that the tier storage classes can encrypt volumes), and a Pod
 * Identity role for the control plane's ServiceAccount (KMS use + backup bucket).
 */
export function createCluster(
  cfg: InfraConfig,
  net: Network,
  key: aws.kms.Key,
  backupBucketArn: pulumi.Input<string>,
  opts?: pulumi.CustomResourceOptions,
): Cluster {
  const name = cfg.clusterName;
  const clusterRole = new aws.iam.Role(`${name}-cluster`, { assumeRolePolicy: assumeRolePolicy('eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']), tags: cfg.tags }, opts);
  const clusterAttach = attachManaged(`${name}-cluster`, clusterRole, ['arn:aws:iam::aws:policy/AmazonEKSClusterPolicy'], opts);

  const cluster = new aws.eks.Cluster(name, {
    name,
    version: cfg.kubernetesVersion,
    roleArn: clusterRole.arn,
    vpcConfig: {
      subnetIds: [...net.privateSubnets, ...net.publicSubnets].map((s) => s.id),
      endpointPrivateAccess: true,
      endpointPublicAccess: true,
      publicAccessCidrs: cfg.apiAllowedCidrs,
    },
    encryptionConfig: { provider: { keyArn: key.arn }, resources: ['secrets'] },
    enabledClusterLogTypes: ['api', 'audit', 'authenticator'],
    accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
    tags: { ...cfg.tags, Name: name },
  }, { ...opts, dependsOn: clusterAttach });

  const nodeRole = new aws.iam.Role(`${name}-node`, { assumeRolePolicy: assumeRolePolicy('ec2.amazonaws.com'), tags: cfg.tags }, opts);
  const nodeAttach = attachManaged(`${name}-node`, nodeRole, [
    'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
    'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
    'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
  ], opts);
  const nodeGroup = new aws.eks.NodeGroup(`${name}-default`, {
    clusterName: cluster.name,
    nodeGroupName: `${name}-default`,
    nodeRoleArn: nodeRole.arn,
    subnetIds: net.privateSubnets.map((s) => s.id),
    instanceTypes: cfg.nodeInstanceTypes,
    amiType: 'AL2023_x86_64_STANDARD',
    capacityType: 'ON_DEMAND',
    diskSize: cfg.nodeDiskSizeGiB,
    scalingConfig: { desiredSize: cfg.nodeDesiredSize, minSize: cfg.nodeMinSize, maxSize: cfg.nodeMaxSize },
    // Roll one node at a time: validators keep quorum through their PodDisruptionBudget.
    updateConfig: { maxUnavailable: 1 },
    labels: { 'consortia.io/pool': 'default' },
    tags: { ...cfg.tags, Name: `${name}-default` },
  }, { ...opts, dependsOn: nodeAttach, ignoreChanges: ['scalingConfig.desiredSize'] });

  const podIdentityAgent = new aws.eks.Addon(`${name}-pod-identity`, {
    clusterName: cluster.name,
    addonName: 'eks-pod-identity-agent',
    resolveConflictsOnCreate: 'OVERWRITE',
    tags: cfg.tags,
  }, { ...opts, dependsOn: [nodeGroup] });

  const ebsCsiRole = new aws.iam.Role(`${name}-ebs-csi`, { assumeRolePolicy: POD_IDENTITY_TRUST, tags: cfg.tags }, opts);
  attachManaged(`${name}-ebs-csi`, ebsCsiRole, ['arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy'], opts);
  new aws.iam.RolePolicy(`${name}-ebs-csi-kms`, { role: ebsCsiRole.name, policy: kmsUsePolicy(key.arn, true) }, opts);
  const ebsCsiAddon = new aws.eks.Addon(`${name}-ebs-csi`, {
    clusterName: cluster.name,
    addonName: 'aws-ebs-csi-driver',
    resolveConflictsOnCreate: 'OVERWRITE',
    podIdentityAssociations: [{ roleArn: ebsCsiRole.arn, serviceAccount: 'ebs-csi-controller-sa' }],
    tags: cfg.tags,
  }, { ...opts, dependsOn: [podIdentityAgent] });

  // The control plane (Helm release "consortia" in namespace "consortia" by default).
  const controlPlaneRole = new aws.iam.Role(`${name}-control-plane`, { assumeRolePolicy: POD_IDENTITY_TRUST, tags: cfg.tags }, opts);
  new aws.iam.RolePolicy(`${name}-control-plane-kms`, { role: controlPlaneRole.name, policy: kmsUsePolicy(key.arn, false) }, opts);
  new aws.iam.RolePolicy(`${name}-control-plane-backups`, {
    role: controlPlaneRole.name,
    policy: pulumi.output(backupBucketArn).apply((arn) => JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn },
        { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${arn}/*` },
      ],
    })),
  }, opts);
  new aws.eks.PodIdentityAssociation(`${name}-control-plane`, {
    clusterName: cluster.name,
    namespace: cfg.controlPlaneNamespace,
    serviceAccount: cfg.controlPlaneServiceAccount,
    roleArn: controlPlaneRole.arn,
    tags: cfg.tags,
  }, { ...opts, dependsOn: [podIdentityAgent] });

  return { cluster, nodeGroup, nodeRole, ebsCsiRole, controlPlaneRole, ebsCsiAddon };
}
