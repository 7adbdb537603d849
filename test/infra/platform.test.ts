import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseInfraConfig } from '../../infra/src/config.js';
import type { PlatformOutputs } from '../../infra/src/platform.js';

// Pulumi's official unit-test mocks: no engine, no AWS credentials. Every resource the
// program registers is recorded with its inputs so that the test can assert what would be created.
interface Created {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const created: Created[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
      created.push({ type: args.type, name: args.name, inputs: args.inputs });
      const state: Record<string, unknown> = { ...args.inputs, arn: `arn:aws:mock:eu-west-1:111111111111:${args.type.split(':').pop()}/${args.name}` };
      if (args.type === 'aws:eks/cluster:Cluster') {
        state.endpoint = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com';
        state.certificateAuthority = { data: 'Q0EtREFUQQ==' };
      }
      if (args.type === 'aws:ecr/repository:Repository') state.repositoryUrl = `111111111111.dkr.ecr.eu-west-1.amazonaws.com/${args.inputs.name}`;
      if (args.type === 'aws:s3/bucket:Bucket') state.bucket = `${args.inputs.bucketPrefix}0001`;
      if (args.type === 'aws:kms/key:Key') state.keyId = 'key-0001';
      return { id: `${args.name}-id`, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      return args.inputs;
    },
  },
  'consortia-infra',
  'test',
  false,
);

const cfg = parseInfraConfig((k) =>
  ({ 'aws:region': 'eu-west-1', environment: 'test', apiAllowedCidrs: '["203.0.113.0/24"]', tags: '{"CostCenter":"chain"}' })[k],
);

const value = <T>(o: pulumi.Output<T>): Promise<T> => new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
const ofType = (t: string): Created[] => created.filter((c) => c.type === t);
const one = (t: string): Created => {
  const list = ofType(t);
  expect(list, t).toHaveLength(1);
  return list[0]!;
};

let out: PlatformOutputs;
beforeAll(async () => {
  const { createPlatform } = await import('../../infra/src/platform.js');
  out = createPlatform(cfg);
  await Promise.all([
    value(out.kubeconfig), value(out.storageClassManifest), value(out.registryUrls.node), value(out.controlPlaneRoleArn),
    ...out.privateSubnetIds.map(value),
  ]);
  // Let registrations still in flight reach the mock (bounded).
  for (let i = 0, n = -1; i < 50 && n !== created.length; i++) {
    n = created.length;
    await new Promise((r) => setTimeout(r, 20));
  }
}, 60_000);

describe('AWS platform (Pulumi mocks)', () => {
  it('creates a VPC with public and private subnets in every zone', () => {
    expect(one('aws:ec2/vpc:Vpc').inputs).toMatchObject({ cidrBlock: '10.40.0.0/16', enableDnsHostnames: true, enableDnsSupport: true });
    const subnets = ofType('aws:ec2/subnet:Subnet');
    expect(subnets).toHaveLength(6);
    const cidrs = subnets.map((s) => s.inputs.cidrBlock);
    expect(new Set(cidrs).size).toBe(6);
    const priv = subnets.filter((s) => s.inputs.tags['kubernetes.io/role/internal-elb'] === '1');
    expect(priv.map((s) => s.inputs.availabilityZone).sort()).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(ofType('aws:ec2/natGateway:NatGateway')).toHaveLength(1); // single NAT by default
  });

  it('encrypts Kubernetes Secrets with the KMS key and limits the public endpoint', () => {
    const key = one('aws:kms/key:Key');
    expect(key.inputs).toMatchObject({ enableKeyRotation: true, deletionWindowInDays: 30 });
    const cluster = one('aws:eks/cluster:Cluster');
    expect(cluster.inputs.encryptionConfig.resources).toEqual(['secrets']);
    expect(cluster.inputs.encryptionConfig.provider.keyArn).toMatch(/:Key\/consortia-test-key$/);
    expect(cluster.inputs.vpcConfig.publicAccessCidrs).toEqual(['203.0.113.0/24']);
    expect(cluster.inputs.vpcConfig.endpointPrivateAccess).toBe(true);
    expect(cluster.inputs.enabledClusterLogTypes).toContain('audit');
    expect(cluster.inputs.version).toBe('1.33');
  });

  it('runs nodes in private subnets and installs the EBS CSI driver with KMS rights', () => {
    const ng = one('aws:eks/nodeGroup:NodeGroup');
    expect(ng.inputs.scalingConfig).toEqual({ desiredSize: 3, minSize: 3, maxSize: 6 });
    expect(ng.inputs.subnetIds).toHaveLength(3);
    expect(ng.inputs.subnetIds.every((id: string) => id.includes('-private-'))).toBe(true);
    const addons = ofType('aws:eks/addon:Addon').map((a) => a.inputs.addonName);
    expect(addons).toEqual(expect.arrayContaining(['aws-ebs-csi-driver', 'eks-pod-identity-agent']));
    const kmsPolicy = JSON.parse(created.find((c) => c.name === 'consortia-test-ebs-csi-kms')!.inputs.policy);
    expect(kmsPolicy.Statement.flatMap((s: any) => s.Action)).toEqual(expect.arrayContaining(['kms:CreateGrant', 'kms:GenerateDataKey*']));
  });

  it('ships encrypted tier storage classes', async () => {
    const docs = parseAllDocuments(await value(out.storageClassManifest)).map((d) => d.toJSON());
    expect(docs.map((d) => d.metadata.name)).toEqual(['consortia-validator', 'consortia-archive', 'consortia-standard']);
    for (const d of docs) expect(d.parameters).toMatchObject({ encrypted: 'true', kmsKeyId: expect.stringMatching(/:Key\/consortia-test-key$/) });
    expect(out.storageClasses).toEqual({ validator: 'consortia-validator', super: 'consortia-archive', ordinary: 'consortia-standard', light: 'consortia-standard' });
  });

  it('creates immutable, scanned, KMS-encrypted ECR repositories for both images', async () => {
    const repos = ofType('aws:ecr/repository:Repository');
    expect(repos.map((r) => r.inputs.name).sort()).toEqual(['consortia/test/control-plane', 'consortia/test/node']);
    for (const r of repos) {
      expect(r.inputs.imageTagMutability).toBe('IMMUTABLE');
      expect(r.inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
      expect(r.inputs.encryptionConfigurations[0].encryptionType).toBe('KMS');
    }
    expect(ofType('aws:ecr/lifecyclePolicy:LifecyclePolicy')).toHaveLength(2);
    expect(await value(out.registryUrls.controlPlane)).toBe('111111111111.dkr.ecr.eu-west-1.amazonaws.com/consortia/test/control-plane');
  });

  it('makes the backup bucket private, versioned, KMS-encrypted, TLS-only with a lifecycle', async () => {
    expect(one('aws:s3/bucketVersioning:BucketVersioning').inputs.versioningConfiguration).toEqual({ status: 'Enabled' });
    const sse = one('aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration').inputs.rules[0];
    expect(sse.applyServerSideEncryptionByDefault.sseAlgorithm).toBe('aws:kms');
    expect(sse.applyServerSideEncryptionByDefault.kmsMasterKeyId).toMatch(/:Key\/consortia-test-key$/);
    expect(sse.bucketKeyEnabled).toBe(true);
    expect(one('aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock').inputs).toMatchObject({
      blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
    });
    const rule = one('aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration').inputs.rules[0];
    expect(rule.status).toBe('Enabled');
    expect(rule.noncurrentVersionExpiration.noncurrentDays).toBe(90);
    expect(rule.transitions[0]).toEqual({ days: 30, storageClass: 'STANDARD_IA' });
    const policy = JSON.parse(one('aws:s3/bucketPolicy:BucketPolicy').inputs.policy);
    expect(policy.Statement[0]).toMatchObject({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
    expect(await value(out.backupBucket)).toBe('consortia-test-backups-0001');
  });

  it('tags every taggable resource with the project, environment and stack tags', () => {
    const taggable = created.filter((c) => c.inputs.tags !== undefined);
    expect(taggable.length).toBeGreaterThan(20);
    for (const c of taggable) {
      expect(c.inputs.tags, `${c.type} ${c.name}`).toMatchObject({ Project: 'consortia', Environment: 'test', ManagedBy: 'pulumi', CostCenter: 'chain' });
    }
    // Resources that AWS lets us tag must not be created untagged.
    const mustTag = ['aws:ec2/vpc:Vpc', 'aws:ec2/subnet:Subnet', 'aws:eks/cluster:Cluster', 'aws:eks/nodeGroup:NodeGroup', 'aws:kms/key:Key', 'aws:s3/bucket:Bucket', 'aws:ecr/repository:Repository', 'aws:iam/role:Role'];
    for (const t of mustTag) for (const c of ofType(t)) expect(c.inputs.tags, `${t} ${c.name}`).toBeDefined();
  });

  it('grants the control plane only KMS use and its backup bucket, through Pod Identity', () => {
    const pia = one('aws:eks/podIdentityAssociation:PodIdentityAssociation');
    expect(pia.inputs).toMatchObject({ namespace: 'consortia', serviceAccount: 'consortia' });
    const backups = JSON.parse(created.find((c) => c.name === 'consortia-test-control-plane-backups')!.inputs.policy);
    expect(backups.Statement.flatMap((s: any) => s.Action).sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(JSON.stringify(backups)).not.toContain('"*"');
  });

  it('outputs a kubeconfig that uses aws eks get-token', async () => {
    expect(await value(out.clusterName)).toBe('consortia-test');
    const k = parseYaml(await value(out.kubeconfig));
    expect(k.clusters[0].cluster.server).toBe('https://ABC.gr7.eu-west-1.eks.amazonaws.com');
    expect(k.users[0].user.exec.args).toContain('consortia-test');
  });
});
