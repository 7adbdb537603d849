import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { createAutoscalerIdentity } from './autoscaler.js';
import { createBackups } from './backups.js';
import { createCluster, createClusterRole } from './cluster.js';
import type { InfraConfig } from './config.js';
import { createKeys, KEY_PURPOSES, type KeyPurpose } from './kms.js';
import { eksKubeconfig } from './kubeconfig.js';
import {
  AUTH_SECRET,
  CONSORTIA_RELEASE,
  CONTROL_PLANE_PORT,
  deployToCluster,
  GRAFANA_ADMIN_SECRET,
  KPS_RELEASE,
} from './kubernetes.js';
import { createNetwork } from './network.js';
import { createRegistry } from './registry.js';
import { createPlatformSecrets } from './secrets.js';
import { ROLE_STORAGE_CLASSES, storageClassManifest, tierStorageClasses } from './storage-classes.js';

export interface PlatformOutputs {
  clusterName: pulumi.Output<string>;
  clusterEndpoint: pulumi.Output<string>;
  kubeconfig: pulumi.Output<string>;
  registryUrls: { controlPlane: pulumi.Output<string>; node: pulumi.Output<string> };
  /** The ECR registry host, for `aws ecr get-login-password | skopeo login`. */
  registry: pulumi.Output<string>;
  /** IMAGE_NAME_PREFIX for `npm run images`: <registry>/consortia/<environment>. */
  imageNamePrefix: pulumi.Output<string>;
  /** The commands that build and push the images (README "For cloud admins"). */
  pushImagesCommands: pulumi.Output<string>;
  kmsKeyArns: Record<KeyPurpose, pulumi.Output<string>>;
  backupVault: pulumi.Output<string>;
  backupPlanId: pulumi.Output<string>;
  storageClassManifest: pulumi.Output<string>;
  storageClasses: Record<string, string>;
  vpcId: pulumi.Output<string>;
  privateSubnetIds: pulumi.Output<string>[];
  encryptionKeySecretArn: pulumi.Output<string>;
  bootstrapTokenSecretArn: pulumi.Output<string>;
  /** The shell command that prints the first platform-admin token. */
  bootstrapTokenCommand: pulumi.Output<string>;
  /** Where the control-plane API answers, and how to get there. */
  controlPlaneUrl: pulumi.Output<string>;
  controlPlaneAccess: pulumi.Output<string>;
  grafanaAccess: pulumi.Output<string>;
  /** What is left to do (push the images and set imageTag), or "platform deployed". */
  nextStep: pulumi.Output<string>;
}

/** Creates the whole platform for one stack. Pure wiring: every resource lives in its own module. */
export function createPlatform(cfg: InfraConfig): PlatformOutputs {
  const caller = aws.getCallerIdentityOutput();
  const partition = aws.getPartitionOutput().partition;
  // Key policies name the deployer's role, not its temporary session.
  const deployer = aws.iam.getSessionContextOutput({ arn: caller.arn }).issuerArn;
  const clusterRole = createClusterRole(cfg);
  const { keys } = createKeys(cfg, {
    partition,
    accountId: caller.accountId,
    administrators: deployer.apply((d) => [...new Set([d, ...cfg.adminRoleArns])]),
    clusterRoleArn: clusterRole.role.arn,
  });
  const network = createNetwork(cfg);
  const registry = createRegistry(cfg, keys.ecr);
  const backups = createBackups(cfg, keys.backup);
  const secrets = createPlatformSecrets(cfg, keys.secrets);
  const eks = createCluster(cfg, network, keys, clusterRole, partition);
  const autoscalerIdentity = cfg.clusterAutoscaler.enabled ? createAutoscalerIdentity(cfg, eks.cluster) : undefined;

  const kubeconfig = pulumi
    .all([eks.cluster.name, eks.cluster.endpoint, eks.cluster.certificateAuthority])
    .apply(([clusterName, endpoint, ca]) =>
      eksKubeconfig({ clusterName, endpoint, caData: ca?.data ?? '', region: cfg.region }),
    );

  const deployed = deployToCluster(cfg, {
    kubeconfig: pulumi.secret(kubeconfig),
    clusterReady: eks.ready,
    ebsKeyArn: keys.ebs.arn,
    ...(autoscalerIdentity ? { autoscalerIdentity: autoscalerIdentity.association } : {}),
    controlPlaneRepository: registry.controlPlane.repositoryUrl,
    nodeRepository: registry.node.repositoryUrl,
    encryptionKey: secrets.encryptionKeyValue,
    bootstrapToken: secrets.bootstrapTokenValue,
  });

  const registryHost = registry.controlPlane.repositoryUrl.apply((u) => u.split('/')[0]!);
  const imageNamePrefix = pulumi.interpolate`${registryHost}/consortia/${cfg.environment}`;
  const tag = cfg.imageTag ?? '<version>';
  const pushImagesCommands = pulumi.interpolate`IMAGE_NAME_PREFIX=${imageNamePrefix} IMAGE_TAG=${tag} npm run images
aws ecr get-login-password --region ${cfg.region} | skopeo login --username AWS --password-stdin ${registryHost}
for image in node control-plane; do skopeo copy docker-archive:.cache/images/consortia-$image-${tag}.tar docker://${imageNamePrefix}/$image:${tag}; done`;
  const ns = cfg.controlPlaneNamespace;
  const portForward = `kubectl -n ${ns} port-forward svc/${CONSORTIA_RELEASE} ${CONTROL_PLANE_PORT}:${CONTROL_PLANE_PORT}`;
  const controlPlaneUrl = deployed.controlPlaneLoadBalancer ?? pulumi.output(`https://127.0.0.1:${CONTROL_PLANE_PORT}`);
  const controlPlaneAccess = pulumi.output(
    cfg.controlPlaneExposure === 'internal-nlb'
      ? `an internal network load balancer: reachable from inside the VPC (${cfg.vpcCidr}) and networks routed to it`
      : `${portForward}   # then use controlPlaneUrl`,
  );

  return {
    clusterName: eks.cluster.name,
    clusterEndpoint: eks.cluster.endpoint,
    kubeconfig: pulumi.secret(kubeconfig),
    registryUrls: { controlPlane: registry.controlPlane.repositoryUrl, node: registry.node.repositoryUrl },
    registry: registryHost,
    imageNamePrefix,
    pushImagesCommands,
    kmsKeyArns: Object.fromEntries(KEY_PURPOSES.map((p) => [p, keys[p].arn])) as Record<
      KeyPurpose,
      pulumi.Output<string>
    >,
    backupVault: backups.vault.name,
    backupPlanId: backups.plan.id,
    storageClassManifest: keys.ebs.arn.apply((arn) => storageClassManifest(tierStorageClasses(cfg, arn))),
    storageClasses: { ...ROLE_STORAGE_CLASSES },
    vpcId: network.vpc.id,
    privateSubnetIds: network.privateSubnets.map((s) => s.id),
    encryptionKeySecretArn: secrets.encryptionKey.arn,
    bootstrapTokenSecretArn: secrets.bootstrapToken.arn,
    bootstrapTokenCommand: pulumi.interpolate`aws secretsmanager get-secret-value --region ${cfg.region} --secret-id ${secrets.bootstrapToken.arn} --query SecretString --output text`,
    controlPlaneUrl,
    controlPlaneAccess,
    grafanaAccess: pulumi.output(
      cfg.monitoring.enabled
        ? `kubectl -n ${cfg.monitoring.namespace} port-forward svc/${KPS_RELEASE}-grafana 3000:80   # user admin, password: kubectl -n ${cfg.monitoring.namespace} get secret ${GRAFANA_ADMIN_SECRET} -o jsonpath='{.data.admin-password}' | base64 -d`
        : 'monitoring disabled',
    ),
    nextStep: pulumi.output(
      cfg.imageTag === undefined
        ? `push the images (pulumi stack output pushImagesCommands), then: pulumi config set consortia-infra:imageTag <version> && pulumi up`
        : `platform deployed: ${CONSORTIA_RELEASE} ${cfg.imageTag} in namespace ${ns} (credentials from Secret ${AUTH_SECRET})`,
    ),
  };
}
