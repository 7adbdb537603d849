import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { splitAcrossZones, type InfraConfig } from './config.js';
import { assumeRolePolicy, attachManaged, kmsUsePolicy } from './iam.js';
import { logGroupName, type PlatformKeys } from './kms.js';
import type { Network } from './network.js';

export interface Cluster {
  cluster: aws.eks.Cluster;
  logGroup: aws.cloudwatch.LogGroup;
  launchTemplate: aws.ec2.LaunchTemplate;
  nodeGroups: aws.eks.NodeGroup[];
  nodeRole: aws.iam.Role;
  ebsCsiRole: aws.iam.Role;
  addons: aws.eks.Addon[];
  accessEntries: aws.eks.AccessEntry[];
  /** Everything a Kubernetes client needs before it can deploy workloads (nodes, CNI, CSI, access). */
  ready: pulumi.Resource[];
}

export const POD_IDENTITY_TRUST = assumeRolePolicy('pods.eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']);
export const CLUSTER_LOG_TYPES = ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'];
export const CLUSTER_ADMIN_POLICY = 'AmazonEKSClusterAdminPolicy';
export const VIEW_POLICY = 'AmazonEKSViewPolicy';

/** The cluster's IAM role: created first, the Secrets key's policy names it. */
export function createClusterRole(
  cfg: InfraConfig,
  opts?: pulumi.CustomResourceOptions,
): { role: aws.iam.Role; attached: aws.iam.RolePolicyAttachment[] } {
  const role = new aws.iam.Role(
    `${cfg.clusterName}-cluster`,
    { assumeRolePolicy: assumeRolePolicy('eks.amazonaws.com', ['sts:AssumeRole', 'sts:TagSession']), tags: cfg.tags },
    opts,
  );
  const attached = attachManaged(
    `${cfg.clusterName}-cluster`,
    role,
    ['arn:aws:iam::aws:policy/AmazonEKSClusterPolicy'],
    opts,
  );
  return { role, attached };
}

/**
 * EKS from the plain resources: the control-plane log group (KMS, retention) before the cluster
 * so that EKS does not create one without either; the cluster (Secrets envelope-encrypted with
 * the eks key, API endpoint limited to apiAllowedCidrs); one managed node group per zone (EBS
 * volumes are zonal: the cluster autoscaler must be able to add a node in the zone of a pending
 * pod's volume) from a launch template that requires IMDSv2 and encrypts the root volume with the
 * ebs key; the VPC CNI with NetworkPolicy enforcement, the Pod Identity agent and the EBS CSI
 * driver as EKS add-ons; access entries for the named admin and viewer roles.
 */
export function createCluster(
  cfg: InfraConfig,
  net: Network,
  keys: PlatformKeys,
  clusterRole: { role: aws.iam.Role; attached: aws.iam.RolePolicyAttachment[] },
  partition: pulumi.Input<string>,
  opts?: pulumi.CustomResourceOptions,
): Cluster {
  const name = cfg.clusterName;
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-cluster`,
    {
      name: logGroupName(cfg),
      retentionInDays: cfg.logRetentionDays,
      kmsKeyId: keys.logs.arn,
      tags: { ...cfg.tags, Name: logGroupName(cfg) },
    },
    opts,
  );

  const cluster = new aws.eks.Cluster(
    name,
    {
      name,
      version: cfg.kubernetesVersion,
      roleArn: clusterRole.role.arn,
      vpcConfig: {
        subnetIds: [...net.privateSubnets, ...net.publicSubnets].map((s) => s.id),
        endpointPrivateAccess: true,
        endpointPublicAccess: true,
        publicAccessCidrs: cfg.apiAllowedCidrs,
      },
      encryptionConfig: { provider: { keyArn: keys.eks.arn }, resources: ['secrets'] },
      enabledClusterLogTypes: CLUSTER_LOG_TYPES,
      // The deployer stays admin (this program deploys into the cluster); named roles get entries below.
      accessConfig: { authenticationMode: 'API', bootstrapClusterCreatorAdminPermissions: true },
      tags: { ...cfg.tags, Name: name },
    },
    { ...opts, dependsOn: [...clusterRole.attached, logGroup] },
  );

  const accessEntries: aws.eks.AccessEntry[] = [];
  const access = (principalArn: string, policy: string, i: number, kind: string): pulumi.Resource[] => {
    const entry = new aws.eks.AccessEntry(
      `${name}-${kind}-${i}`,
      { clusterName: cluster.name, principalArn, type: 'STANDARD', tags: cfg.tags },
      opts,
    );
    accessEntries.push(entry);
    const assoc = new aws.eks.AccessPolicyAssociation(
      `${name}-${kind}-${i}`,
      {
        clusterName: cluster.name,
        principalArn,
        policyArn: pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/${policy}`,
        accessScope: { type: 'cluster' },
      },
      { ...opts, dependsOn: [entry] },
    );
    return [entry, assoc];
  };
  const accessReady = [
    ...cfg.adminRoleArns.flatMap((arn, i) => access(arn, CLUSTER_ADMIN_POLICY, i, 'admin')),
    ...cfg.viewerRoleArns.flatMap((arn, i) => access(arn, VIEW_POLICY, i, 'viewer')),
  ];

  const nodeRole = new aws.iam.Role(
    `${name}-node`,
    { assumeRolePolicy: assumeRolePolicy('ec2.amazonaws.com'), tags: cfg.tags },
    opts,
  );
  const nodeAttach = attachManaged(
    `${name}-node`,
    nodeRole,
    [
      'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
      'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
    ],
    opts,
  );

  const launchTemplate = new aws.ec2.LaunchTemplate(
    `${name}-nodes`,
    {
      description: `Consortia ${cfg.environment} EKS nodes: IMDSv2 only, encrypted root volume`,
      updateDefaultVersion: true,
      metadataOptions: {
        httpEndpoint: 'enabled',
        httpTokens: 'required',
        httpPutResponseHopLimit: cfg.imdsHopLimit,
        instanceMetadataTags: 'disabled',
      },
      blockDeviceMappings: [
        {
          deviceName: '/dev/xvda', // AL2023 root device
          ebs: {
            volumeSize: cfg.nodeDiskSizeGiB,
            volumeType: 'gp3',
            encrypted: 'true',
            kmsKeyId: keys.ebs.arn,
            deleteOnTermination: 'true',
          },
        },
      ],
      tagSpecifications: [
        { resourceType: 'instance', tags: { ...cfg.tags, Name: `${name}-node` } },
        { resourceType: 'volume', tags: { ...cfg.tags, Name: `${name}-node-root` } },
      ],
      tags: { ...cfg.tags, Name: `${name}-nodes` },
    },
    opts,
  );

  const min = splitAcrossZones(cfg.nodeMinSize, cfg.availabilityZones.length);
  const max = splitAcrossZones(cfg.nodeMaxSize, cfg.availabilityZones.length);
  const desired = splitAcrossZones(cfg.nodeDesiredSize, cfg.availabilityZones.length);
  const nodeGroups = cfg.availabilityZones.map(
    (az, i) =>
      new aws.eks.NodeGroup(
        `${name}-${az}`,
        {
          clusterName: cluster.name,
          nodeGroupName: `${name}-${az}`,
          nodeRoleArn: nodeRole.arn,
          subnetIds: [net.privateSubnets[i]!.id],
          instanceTypes: cfg.nodeInstanceTypes,
          amiType: 'AL2023_x86_64_STANDARD',
          capacityType: 'ON_DEMAND',
          launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply((v) => String(v)) },
          scalingConfig: { desiredSize: desired[i]!, minSize: min[i]!, maxSize: max[i]! },
          // Roll one node at a time: validators keep quorum through their PodDisruptionBudget.
          updateConfig: { maxUnavailable: 1 },
          labels: { 'consortia.io/pool': 'default' },
          // EKS tags the node group's Auto Scaling group for the cluster autoscaler's auto-discovery.
          tags: { ...cfg.tags, Name: `${name}-${az}` },
        },
        { ...opts, dependsOn: nodeAttach, ignoreChanges: ['scalingConfig.desiredSize'] },
      ),
  );

  const vpcCni = new aws.eks.Addon(
    `${name}-vpc-cni`,
    {
      clusterName: cluster.name,
      addonName: 'vpc-cni',
      // Enforce NetworkPolicies (the chart's, and the one per consortium that keeps P2P to its nodes).
      configurationValues: JSON.stringify({ enableNetworkPolicy: 'true' }),
      resolveConflictsOnCreate: 'OVERWRITE',
      resolveConflictsOnUpdate: 'OVERWRITE',
      tags: cfg.tags,
    },
    opts,
  );
  const podIdentityAgent = new aws.eks.Addon(
    `${name}-pod-identity`,
    {
      clusterName: cluster.name,
      addonName: 'eks-pod-identity-agent',
      resolveConflictsOnCreate: 'OVERWRITE',
      tags: cfg.tags,
    },
    { ...opts, dependsOn: nodeGroups },
  );

  const ebsCsiRole = new aws.iam.Role(
    `${name}-ebs-csi`,
    { assumeRolePolicy: POD_IDENTITY_TRUST, tags: cfg.tags },
    opts,
  );
  attachManaged(`${name}-ebs-csi`, ebsCsiRole, ['arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy'], opts);
  new aws.iam.RolePolicy(
    `${name}-ebs-csi-kms`,
    { role: ebsCsiRole.name, policy: kmsUsePolicy(keys.ebs.arn, true) },
    opts,
  );
  const ebsCsi = new aws.eks.Addon(
    `${name}-ebs-csi`,
    {
      clusterName: cluster.name,
      addonName: 'aws-ebs-csi-driver',
      resolveConflictsOnCreate: 'OVERWRITE',
      podIdentityAssociations: [{ roleArn: ebsCsiRole.arn, serviceAccount: 'ebs-csi-controller-sa' }],
      tags: cfg.tags,
    },
    { ...opts, dependsOn: [podIdentityAgent] },
  );

  const addons = [vpcCni, podIdentityAgent, ebsCsi];
  return {
    cluster,
    logGroup,
    launchTemplate,
    nodeGroups,
    nodeRole,
    ebsCsiRole,
    addons,
    accessEntries,
    ready: [...nodeGroups, ...addons, ...accessReady],
  };
}
