/**
 * Pulumi entry point (infra/Pulumi.yaml): reads and validates the stack config, creates the
 * platform, exports its outputs. All logic lives in src/ so that tests import it with mocks
 * and no AWS credentials.
 */
import * as pulumi from '@pulumi/pulumi';
import { parseInfraConfig } from './src/config.js';
import { createPlatform } from './src/platform.js';

const project = new pulumi.Config();
const awsConfig = new pulumi.Config('aws');
// Lists and maps are stored as JSON by `pulumi config set --path` / YAML; get() returns that JSON text.
const cfg = parseInfraConfig((key) => (key.startsWith('aws:') ? awsConfig.get(key.slice(4)) : project.get(key)));
const out = createPlatform(cfg);

export const clusterName = out.clusterName;
export const clusterEndpoint = out.clusterEndpoint;
export const kubeconfig = out.kubeconfig;
export const controlPlaneUrl = out.controlPlaneUrl;
export const controlPlaneAccess = out.controlPlaneAccess;
export const bootstrapTokenCommand = out.bootstrapTokenCommand;
export const grafanaAccess = out.grafanaAccess;
export const nextStep = out.nextStep;
export const registry = out.registry;
export const registryUrls = out.registryUrls;
export const imageNamePrefix = out.imageNamePrefix;
export const pushImagesCommands = out.pushImagesCommands;
export const kmsKeyArns = out.kmsKeyArns;
export const encryptionKeySecretArn = out.encryptionKeySecretArn;
export const bootstrapTokenSecretArn = out.bootstrapTokenSecretArn;
export const backupVault = out.backupVault;
export const backupPlanId = out.backupPlanId;
export const storageClassManifest = out.storageClassManifest;
export const storageClasses = out.storageClasses;
export const vpcId = out.vpcId;
export const privateSubnetIds = out.privateSubnetIds;
