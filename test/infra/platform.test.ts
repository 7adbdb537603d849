import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseEncryptionKey } from '../../src/control-plane/domain/secret-box.js';
import { resolveOptions } from '../../src/control-plane/runtimes/kubernetes/options.js';
import { parseInfraConfig } from '../../infra/src/config.js';
import type { PlatformOutputs } from '../../infra/src/platform.js';

// Pulumi's official unit-test mocks: no engine, no AWS credentials, no cluster. Every resource the
// program registers is recorded with its inputs so that the test can assert what would be created.
// Two stacks: "test" (defaults: images not pushed yet, so no Consortia release) and "prod" (images
// pushed, internal NLB, named admin and viewer roles).
interface Created {
  type: string;
  name: string;
  inputs: Record<string, any>;
}
const created: Created[] = [];
const ACCOUNT = '111111111111';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOYER_ROLE = `arn:aws:iam::${ACCOUNT}:role/Deployer`;

pulumi.runtime.setMocks(
  {
    newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
      created.push({ type: args.type, name: args.name, inputs: unwrap(args.inputs) });
      const state: Record<string, unknown> = {
        ...args.inputs,
        arn: `arn:aws:mock:eu-west-1:${ACCOUNT}:${args.type.split(':').pop()}/${args.name}`,
      };
      if (args.type === 'aws:eks/cluster:Cluster') {
        state.endpoint = 'https://ABC.gr7.eu-west-1.eks.amazonaws.com';
        state.certificateAuthority = { data: 'Q0EtREFUQQ==' };
      }
      if (args.type === 'aws:ecr/repository:Repository')
        state.repositoryUrl = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/${args.inputs.name}`;
      if (args.type === 'aws:kms/key:Key') state.keyId = `key-${args.name}`;
      if (args.type === 'aws:ec2/launchTemplate:LaunchTemplate') state.latestVersion = 1;
      if (args.type === 'random:index/randomBytes:RandomBytes') {
        state.hex = 'ab'.repeat(args.inputs.length);
        state.base64 = Buffer.alloc(args.inputs.length, 0xab).toString('base64');
      }
      if (args.type === 'random:index/randomPassword:RandomPassword') state.result = 'p'.repeat(args.inputs.length);
      if (args.type === 'kubernetes:core/v1:Service')
        state.status = {
          loadBalancer: { ingress: [{ hostname: 'internal-consortia-123.elb.eu-west-1.amazonaws.com' }] },
        };
      return { id: args.id || `${args.name}-id`, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      if (args.token === 'aws:index/getCallerIdentity:getCallerIdentity')
        return {
          accountId: ACCOUNT,
          arn: `arn:aws:sts::${ACCOUNT}:assumed-role/Deployer/session-1`,
          userId: 'AROA:session-1',
          id: ACCOUNT,
        };
      if (args.token === 'aws:index/getPartition:getPartition')
        return { partition: 'aws', dnsSuffix: 'amazonaws.com', id: 'aws' };
      if (args.token === 'aws:iam/getSessionContext:getSessionContext')
        return { arn: args.inputs.arn, issuerArn: DEPLOYER_ROLE, issuerName: 'Deployer', id: 'x' };
      return args.inputs;
    },
  },
  'consortia-infra',
  'test',
  false,
);

const ADMIN = `arn:aws:iam::${ACCOUNT}:role/PlatformAdmins`;
const VIEWER = `arn:aws:iam::${ACCOUNT}:role/Auditors`;
const test = parseInfraConfig(
  (k) =>
    ({
      'aws:region': 'eu-west-1',
      environment: 'test',
      apiAllowedCidrs: '["203.0.113.0/24"]',
      tags: '{"CostCenter":"chain"}',
    })[k],
);
const prod = parseInfraConfig(
  (k) =>
    ({
      'aws:region': 'eu-west-1',
      environment: 'prod',
      apiAllowedCidrs: '["203.0.113.0/24"]',
      tags: '{"CostCenter":"chain"}',
      imageTag: '0.1.0',
      controlPlaneExposure: 'internal-nlb',
      adminRoleArns: JSON.stringify([ADMIN]),
      viewerRoleArns: JSON.stringify([VIEWER]),
    })[k],
);

const value = <T>(o: pulumi.Output<T>): Promise<T> =>
  new Promise((resolve) =>
    o.apply((v) => {
      resolve(v);
      return v;
    }),
  );
/** Resources of one stack: every name starts with its cluster name. */
const of = (stack: 'test' | 'prod', t: string): Created[] =>
  created.filter((c) => c.type === t && c.name.startsWith(`consortia-${stack}`));
const one = (stack: 'test' | 'prod', t: string, suffix = ''): Created => {
  const list = of(stack, t).filter((c) => c.name.endsWith(suffix));
  expect(list, `${t} ${suffix}`).toHaveLength(1);
  return list[0]!;
};
/** Inputs that are Pulumi secrets reach the mocks wrapped in a marker object: unwrap them. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
function unwrap(v: any): any {
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === 'object') {
    if (v[SECRET_SIG] !== undefined) return unwrap(v.value);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  }
  return v;
}
const named = (name: string, type?: string): Created => {
  const c = created.find((x) => x.name === name && (type === undefined || x.type === type));
  if (!c) throw new Error(`no resource named ${name}`);
  return c;
};

let outTest: PlatformOutputs;
let outProd: PlatformOutputs;
beforeAll(async () => {
  const { createPlatform } = await import('../../infra/src/platform.js');
  outTest = createPlatform(test);
  outProd = createPlatform(prod);
  for (const out of [outTest, outProd]) {
    await Promise.all([
      value(out.kubeconfig),
      value(out.storageClassManifest),
      value(out.registryUrls.node),
      value(out.controlPlaneUrl),
      value(out.pushImagesCommands),
      value(out.bootstrapTokenCommand),
      ...out.privateSubnetIds.map(value),
    ]);
  }
  // Let registrations still in flight reach the mock (bounded).
  for (let i = 0, n = -1; i < 100 && n !== created.length; i++) {
    n = created.length;
    await new Promise((r) => setTimeout(r, 20));
  }
}, 60_000);

describe('network and cluster', () => {
  it('creates a VPC with public and private subnets in every zone', () => {
    expect(one('test', 'aws:ec2/vpc:Vpc').inputs).toMatchObject({
      cidrBlock: '10.40.0.0/16',
      enableDnsHostnames: true,
      enableDnsSupport: true,
    });
    const subnets = of('test', 'aws:ec2/subnet:Subnet');
    expect(subnets).toHaveLength(6);
    expect(new Set(subnets.map((s) => s.inputs.cidrBlock)).size).toBe(6);
    const priv = subnets.filter((s) => s.inputs.tags['kubernetes.io/role/internal-elb'] === '1');
    expect(priv.map((s) => s.inputs.availabilityZone).sort()).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(of('test', 'aws:ec2/natGateway:NatGateway')).toHaveLength(1); // single NAT by default
  });

  it('encrypts Kubernetes Secrets with the eks key, limits the public endpoint and keeps its logs with a retention', () => {
    const cluster = one('test', 'aws:eks/cluster:Cluster');
    expect(cluster.inputs.encryptionConfig.resources).toEqual(['secrets']);
    expect(cluster.inputs.encryptionConfig.provider.keyArn).toMatch(/:Key\/consortia-test-eks$/);
    expect(cluster.inputs.vpcConfig.publicAccessCidrs).toEqual(['203.0.113.0/24']);
    expect(cluster.inputs.vpcConfig.endpointPrivateAccess).toBe(true);
    expect(cluster.inputs.enabledClusterLogTypes).toEqual(expect.arrayContaining(['api', 'audit', 'authenticator']));
    expect(cluster.inputs.version).toBe('1.33');
    const logs = one('test', 'aws:cloudwatch/logGroup:LogGroup');
    expect(logs.inputs).toMatchObject({ name: '/aws/eks/consortia-test/cluster', retentionInDays: 90 });
    expect(logs.inputs.kmsKeyId).toMatch(/:Key\/consortia-test-logs$/);
  });

  it('runs one node group per zone from a launch template: IMDSv2 required, root volume encrypted with the ebs key', () => {
    const lt = one('test', 'aws:ec2/launchTemplate:LaunchTemplate');
    expect(lt.inputs.metadataOptions).toMatchObject({
      httpEndpoint: 'enabled',
      httpTokens: 'required',
      httpPutResponseHopLimit: 1,
    });
    expect(lt.inputs.blockDeviceMappings).toHaveLength(1);
    expect(lt.inputs.blockDeviceMappings[0].ebs).toMatchObject({
      encrypted: 'true',
      volumeType: 'gp3',
      volumeSize: 50,
    });
    expect(lt.inputs.blockDeviceMappings[0].ebs.kmsKeyId).toMatch(/:Key\/consortia-test-ebs$/);
    const groups = of('test', 'aws:eks/nodeGroup:NodeGroup');
    expect(groups).toHaveLength(3);
    for (const g of groups) {
      expect(g.inputs.subnetIds).toHaveLength(1);
      expect(g.inputs.subnetIds[0]).toContain('-private-');
      expect(g.inputs.launchTemplate).toEqual({ id: `${lt.name}-id`, version: '1' });
      expect(g.inputs.diskSize).toBeUndefined(); // the launch template sizes the root volume
    }
    const sum = (k: string) => groups.reduce((n, g) => n + g.inputs.scalingConfig[k], 0);
    expect([sum('minSize'), sum('desiredSize'), sum('maxSize')]).toEqual([3, 3, 6]);
    expect(new Set(groups.map((g) => g.inputs.subnetIds[0])).size).toBe(3);
  });

  it('installs the VPC CNI with NetworkPolicy enforcement, Pod Identity and the EBS CSI driver', () => {
    const addons = of('test', 'aws:eks/addon:Addon');
    expect(addons.map((a) => a.inputs.addonName).sort()).toEqual([
      'aws-ebs-csi-driver',
      'eks-pod-identity-agent',
      'vpc-cni',
    ]);
    expect(JSON.parse(addons.find((a) => a.inputs.addonName === 'vpc-cni')!.inputs.configurationValues)).toEqual({
      enableNetworkPolicy: 'true',
    });
    const csi = addons.find((a) => a.inputs.addonName === 'aws-ebs-csi-driver')!;
    expect(csi.inputs.podIdentityAssociations[0].serviceAccount).toBe('ebs-csi-controller-sa');
    const kmsPolicy = JSON.parse(named('consortia-test-ebs-csi-kms').inputs.policy);
    expect(kmsPolicy.Statement.flatMap((s: any) => s.Action)).toEqual(
      expect.arrayContaining(['kms:CreateGrant', 'kms:GenerateDataKey*']),
    );
    expect(kmsPolicy.Statement[0].Resource).toMatch(/:Key\/consortia-test-ebs$/);
  });

  it('gives cluster admin to the named roles through access entries, read-only to the viewers', () => {
    expect(of('test', 'aws:eks/accessEntry:AccessEntry')).toHaveLength(0);
    const entries = of('prod', 'aws:eks/accessEntry:AccessEntry');
    expect(entries.map((e) => e.inputs.principalArn).sort()).toEqual([VIEWER, ADMIN].sort());
    const assoc = of('prod', 'aws:eks/accessPolicyAssociation:AccessPolicyAssociation');
    expect(assoc.map((a) => [a.inputs.principalArn, a.inputs.policyArn, a.inputs.accessScope.type]).sort()).toEqual(
      [
        [ADMIN, 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy', 'cluster'],
        [VIEWER, 'arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy', 'cluster'],
      ].sort(),
    );
    // The deployer keeps admin: this program deploys into the cluster.
    expect(one('prod', 'aws:eks/cluster:Cluster').inputs.accessConfig).toEqual({
      authenticationMode: 'API',
      bootstrapClusterCreatorAdminPermissions: true,
    });
  });
});

describe('KMS: one key per purpose, each with an explicit key policy', () => {
  const policyOf = (purpose: string, stack: 'test' | 'prod' = 'test') =>
    JSON.parse(named(`consortia-${stack}-${purpose}`, 'aws:kms/key:Key').inputs.policy);

  it('creates six rotated keys, each with its alias', () => {
    const keys = of('test', 'aws:kms/key:Key');
    expect(keys.map((k) => k.name).sort()).toEqual(
      ['backup', 'ebs', 'ecr', 'eks', 'logs', 'secrets'].map((p) => `consortia-test-${p}`),
    );
    for (const k of keys) {
      expect(k.inputs).toMatchObject({
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        keyUsage: 'ENCRYPT_DECRYPT',
      });
      expect(k.inputs.policy, k.name).toBeDefined();
    }
    expect(
      of('test', 'aws:kms/alias:Alias')
        .map((a) => a.inputs.name)
        .sort(),
    ).toEqual(['backup', 'ebs', 'ecr', 'eks', 'logs', 'secrets'].map((p) => `alias/consortia-test/${p}`));
  });

  it('never delegates to IAM through the account root, and the administrators get no plain decrypt', () => {
    for (const p of ['backup', 'ebs', 'ecr', 'eks', 'logs', 'secrets']) {
      const policy = policyOf(p);
      expect(JSON.stringify(policy), p).not.toMatch(/:root"/);
      expect(
        policy.Statement.flatMap((s: any) => s.Action),
        p,
      ).not.toContain('kms:*');
      const admin = policy.Statement.find((s: any) => s.Sid === 'KeyAdministration');
      // The deployer's role (not its session), plus the stack's admin roles.
      expect(admin.Principal.AWS, p).toEqual([DEPLOYER_ROLE]);
      expect(admin.Action).not.toContain('kms:Decrypt');
      expect(policyOf(p, 'prod').Statement[0].Principal.AWS).toEqual([DEPLOYER_ROLE, ADMIN]);
    }
  });

  it('lets each key be used only for its purpose', () => {
    const eks = policyOf('eks').Statement[1];
    expect(eks.Principal.AWS).toMatch(/:Role\/consortia-test-cluster$/);
    expect(eks.Action).toEqual(['kms:Encrypt', 'kms:Decrypt', 'kms:ListGrants', 'kms:DescribeKey']);
    const ebs = policyOf('ebs').Statement.slice(1);
    for (const s of ebs)
      expect(s.Condition.StringEquals).toEqual({
        'kms:CallerAccount': ACCOUNT,
        'kms:ViaService': 'ec2.eu-west-1.amazonaws.com',
      });
    expect(ebs[1].Condition.Bool).toEqual({ 'kms:GrantIsForAWSResource': 'true' });
    expect(policyOf('ecr').Statement[1].Condition.StringEquals['kms:ViaService']).toBe('ecr.eu-west-1.amazonaws.com');
    expect(policyOf('backup').Statement[1].Condition.StringEquals['kms:ViaService']).toBe(
      'backup.eu-west-1.amazonaws.com',
    );
    const logs = policyOf('logs').Statement[1];
    expect(logs.Principal).toEqual({ Service: 'logs.eu-west-1.amazonaws.com' });
    expect(logs.Condition.ArnEquals['kms:EncryptionContext:aws:logs:arn']).toBe(
      `arn:aws:logs:eu-west-1:${ACCOUNT}:log-group:/aws/eks/consortia-test/cluster`,
    );
    const secrets = policyOf('secrets').Statement;
    expect(secrets).toHaveLength(2);
    expect(secrets[1].Principal.AWS).toEqual([DEPLOYER_ROLE]);
    expect(secrets[1].Condition.StringEquals['kms:ViaService']).toBe('secretsmanager.eu-west-1.amazonaws.com');
  });
});

describe('storage', () => {
  it('applies the tier storage classes: encrypted with the ebs key, WaitForFirstConsumer, expandable, one default', () => {
    const classes = of('test', 'kubernetes:storage.k8s.io/v1:StorageClass');
    expect(classes.map((c) => c.inputs.metadata.name).sort()).toEqual([
      'consortia-archive',
      'consortia-standard',
      'consortia-validator',
    ]);
    for (const c of classes) {
      expect(c.inputs).toMatchObject({
        provisioner: 'ebs.csi.aws.com',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
      });
      expect(c.inputs.parameters).toMatchObject({
        encrypted: 'true',
        kmsKeyId: expect.stringMatching(/:Key\/consortia-test-ebs$/),
      });
    }
    const defaults = classes.filter(
      (c) => c.inputs.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true',
    );
    expect(defaults.map((c) => c.inputs.metadata.name)).toEqual(['consortia-standard']);
    expect(out(classes, 'consortia-validator').reclaimPolicy).toBe('Retain');
    expect(out(classes, 'consortia-standard').reclaimPolicy).toBe('Delete');
  });

  it('backs up the validator and archive volumes with AWS Backup: the selection tag is the one their classes put on volumes', () => {
    const vault = one('test', 'aws:backup/vault:Vault');
    expect(vault.inputs.kmsKeyArn).toMatch(/:Key\/consortia-test-backup$/);
    const rule = one('test', 'aws:backup/plan:Plan').inputs.rules[0];
    expect(rule).toMatchObject({
      schedule: 'cron(0 3 * * ? *)',
      lifecycle: { deleteAfter: 35 },
      targetVaultName: 'consortia-test-backups',
    });
    const selection = one('test', 'aws:backup/selection:Selection');
    expect(selection.inputs.selectionTags).toEqual([
      { type: 'STRINGEQUALS', key: 'consortia.io/backup', value: 'consortia-test' },
    ]);
    expect(selection.inputs.resources).toEqual(['arn:aws:ec2:*:*:volume/*']);
    expect(selection.inputs.iamRoleArn).toMatch(/:Role\/consortia-test-backup$/);
    const classes = of('test', 'kubernetes:storage.k8s.io/v1:StorageClass');
    const tagged = classes
      .filter((c) => Object.values(c.inputs.parameters).includes('consortia.io/backup=consortia-test'))
      .map((c) => c.inputs.metadata.name)
      .sort();
    expect(tagged).toEqual(['consortia-archive', 'consortia-validator']);
    // The control plane's store lives on a class that is backed up.
    expect(test.tiers[test.controlPlaneStorageTier].backup).toBe(true);
    // The unused S3 bucket and the control plane's S3 role are gone.
    expect(created.filter((c) => c.type.startsWith('aws:s3'))).toHaveLength(0);
    expect(created.filter((c) => c.name.endsWith('-control-plane-backups'))).toHaveLength(0);
  });

  it('outputs the storage classes as a manifest too', async () => {
    const docs = parseAllDocuments(await value(outTest.storageClassManifest)).map((d) => d.toJSON());
    expect(docs.map((d) => d.metadata.name)).toEqual([
      'consortia-validator',
      'consortia-archive',
      'consortia-standard',
    ]);
    expect(outTest.storageClasses).toEqual({
      validator: 'consortia-validator',
      super: 'consortia-archive',
      ordinary: 'consortia-standard',
      light: 'consortia-standard',
    });
  });
});

function out(list: Created[], name: string): Record<string, any> {
  return list.find((c) => c.inputs.metadata?.name === name)!.inputs;
}

describe('images', () => {
  it('creates immutable, scanned, ECR repositories encrypted with the ecr key', async () => {
    const repos = of('test', 'aws:ecr/repository:Repository');
    expect(repos.map((r) => r.inputs.name).sort()).toEqual(['consortia/test/control-plane', 'consortia/test/node']);
    for (const r of repos) {
      expect(r.inputs.imageTagMutability).toBe('IMMUTABLE');
      expect(r.inputs.imageScanningConfiguration).toEqual({ scanOnPush: true });
      expect(r.inputs.encryptionConfigurations[0]).toMatchObject({
        encryptionType: 'KMS',
        kmsKey: expect.stringMatching(/:Key\/consortia-test-ecr$/),
      });
    }
    expect(of('test', 'aws:ecr/lifecyclePolicy:LifecyclePolicy')).toHaveLength(2);
    expect(await value(outTest.registryUrls.controlPlane)).toBe(
      `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/consortia/test/control-plane`,
    );
  });

  it('outputs the commands that build the images into the repositories and push them with skopeo', async () => {
    const prefix = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/consortia/test`;
    expect(await value(outTest.imageNamePrefix)).toBe(prefix);
    const cmds = (await value(outTest.pushImagesCommands)).split('\n');
    expect(cmds[0]).toBe(`IMAGE_NAME_PREFIX=${prefix} IMAGE_TAG=<version> npm run images`);
    expect(cmds[1]).toBe(
      `aws ecr get-login-password --region eu-west-1 | skopeo login --username AWS --password-stdin ${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
    );
    // The archive names .ci/tools/images.sh writes, into the repositories ECR has.
    expect(cmds[2]).toContain(
      'skopeo copy docker-archive:.cache/images/consortia-$image-<version>.tar docker://' +
        prefix +
        '/$image:<version>',
    );
    const images = readFileSync(join(REPO, '.ci/tools/images.sh'), 'utf8');
    expect(images).toContain('archive="$CACHE_DIR/consortia-$target-$TAG.tar"');
    expect(images).toContain('ref="$PREFIX/$target:$TAG"');
    expect(await value(outProd.pushImagesCommands)).toContain('IMAGE_TAG=0.1.0');
  });
});

describe('the control plane on the cluster', () => {
  const chartDir = join(REPO, 'charts/consortia');
  const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
  const chartDefaults = parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));

  it('keeps its credentials in Secrets Manager under the secrets key and hands them to the chart as one Secret', () => {
    const secrets = of('test', 'aws:secretsmanager/secret:Secret');
    expect(secrets.map((s) => s.inputs.name).sort()).toEqual([
      'consortia/test/bootstrap-token',
      'consortia/test/encryption-key',
    ]);
    for (const s of secrets) expect(s.inputs.kmsKeyId).toMatch(/:Key\/consortia-test-secrets$/);
    const versions = of('test', 'aws:secretsmanager/secretVersion:SecretVersion');
    const key = versions.find((v) => v.name.endsWith('encryption-key'))!.inputs.secretString;
    expect(parseEncryptionKey(key)).toHaveLength(32); // what CONSORTIA_ENCRYPTION_KEY accepts
    const auth = one('test', 'kubernetes:core/v1:Secret', 'consortia-auth');
    expect(auth.inputs.metadata).toMatchObject({ name: 'consortia-auth', namespace: 'consortia' });
    expect(auth.inputs.stringData['encryption-key']).toBe(key);
    expect(auth.inputs.stringData['bootstrap-token']).toBe(
      versions.find((v) => v.name.endsWith('bootstrap-token'))!.inputs.secretString,
    );
  });

  it('waits for the images: no Consortia release before imageTag is set, and says what to do', async () => {
    expect(
      of('test', 'kubernetes:helm.sh/v3:Release')
        .map((r) => r.inputs.name)
        .sort(),
    ).toEqual(['cluster-autoscaler', 'kube-prometheus-stack']);
    expect(await value(outTest.nextStep)).toMatch(/pushImagesCommands.*imageTag/);
  });

  it('deploys charts/consortia with its values wired from the stack, valid against the chart schema', () => {
    const release = one('prod', 'kubernetes:helm.sh/v3:Release', '-consortia');
    expect(release.inputs).toMatchObject({ name: 'consortia', namespace: 'consortia' });
    expect(existsSync(join(release.inputs.chart, 'Chart.yaml'))).toBe(true);
    expect(release.inputs.chart.replace(/\/$/, '')).toBe(chartDir);
    const v = release.inputs.values;
    const merge = (a: any, b: any): any =>
      a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)
        ? Object.fromEntries(
            [...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, k in b ? merge(a[k], b[k]) : a[k]]),
          )
        : b;
    const merged = merge(chartDefaults, v); // what helm validates: the chart's defaults overlaid with the release's values
    expect(validate(merged), JSON.stringify(validate.errors)).toBe(true);
    const repo = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/consortia/prod`;
    expect(v.image).toEqual({ repository: `${repo}/control-plane`, tag: '0.1.0', pullPolicy: 'IfNotPresent' });
    expect(v.controlPlane.nodeImage).toBe(`${repo}/node:0.1.0`);
    // Storage classes for every PVC: the control plane's own, and the runtime's per node role.
    expect(v.persistence).toMatchObject({ enabled: true, storageClass: 'consortia-validator', size: '20Gi' });
    expect(v.controlPlane.config.kubernetesRuntime.storageClasses).toEqual(outProd.storageClasses);
    expect(resolveOptions(v.controlPlane.config.kubernetesRuntime).storage.super.storageClass).toBe(
      'consortia-archive',
    );
    const classes = of('prod', 'kubernetes:storage.k8s.io/v1:StorageClass').map((c) => c.inputs.metadata.name);
    for (const cls of [
      v.persistence.storageClass,
      ...Object.values(v.controlPlane.config.kubernetesRuntime.storageClasses),
    ])
      expect(classes).toContain(cls);
    // The encryption key from Secrets Manager, through the Secret this program creates.
    const auth = one('prod', 'kubernetes:core/v1:Secret', 'consortia-auth');
    expect(v.auth).toEqual({ existingSecret: auth.inputs.metadata.name });
    expect(auth.inputs.metadata.namespace).toBe(release.inputs.namespace);
    expect(v.serviceAccount).toEqual({ create: true, name: 'consortia' });
    expect(v.rbac).toEqual({ create: true, restrictToManagedNamespaces: true });
    // Reached through an internal NLB; the NetworkPolicy lets the VPC and Prometheus in.
    expect(v.service).toMatchObject({
      type: 'LoadBalancer',
      annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': 'true' },
    });
    expect(v.networkPolicy.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      { ipBlock: { cidr: '10.40.0.0/16' } },
    ]);
  });

  it('loads our dashboards and rules into kube-prometheus-stack and has its Prometheus select our ServiceMonitors', () => {
    const kps = one('prod', 'kubernetes:helm.sh/v3:Release', '-kube-prometheus-stack');
    expect(kps.inputs).toMatchObject({
      name: 'kube-prometheus-stack',
      namespace: 'monitoring',
      chart: 'kube-prometheus-stack',
      version: '67.8.0',
    });
    expect(kps.inputs.repositoryOpts.repo).toBe('https://prometheus-community.github.io/helm-charts');
    const spec = kps.inputs.values.prometheus.prometheusSpec;
    const v = one('prod', 'kubernetes:helm.sh/v3:Release', '-consortia').inputs.values;
    const selects = (selector: { matchLabels: Record<string, string> }, labels: Record<string, string>) =>
      Object.entries(selector.matchLabels).every(([k, x]) => labels[k] === x);
    // The chart's ServiceMonitor, the runtime's per-node ServiceMonitors and the PrometheusRule all match.
    expect(v.serviceMonitor.enabled).toBe(true);
    expect(selects(spec.serviceMonitorSelector, v.serviceMonitor.labels)).toBe(true);
    expect(selects(spec.ruleSelector, v.prometheusRule.labels)).toBe(true);
    expect(v.prometheusRule.enabled).toBe(true);
    // serviceMonitor.labels reach the runtime as kubernetesRuntime.serviceMonitorLabels (charts/consortia/templates/_helpers.tpl).
    expect(readFileSync(join(chartDir, 'templates/_helpers.tpl'), 'utf8')).toMatch(
      /set \$runtime "serviceMonitorLabels"/,
    );
    // Every namespace: chain nodes live in one namespace per consortium.
    expect(spec.serviceMonitorNamespaceSelector).toEqual({
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'Exists' }],
    });
    expect(spec.ruleNamespaceSelector).toEqual(spec.serviceMonitorNamespaceSelector);
    expect(spec.storageSpec.volumeClaimTemplate.spec.storageClassName).toBe('consortia-standard');
    // Dashboards: ConfigMaps in Grafana's namespace with the label and folder annotation its sidecar reads.
    expect(v.grafanaDashboards).toEqual({ enabled: true, namespace: 'monitoring' });
    const sidecar = kps.inputs.values.grafana.sidecar.dashboards;
    const dashboardsTpl = readFileSync(join(chartDir, 'templates/dashboards.yaml'), 'utf8');
    expect(dashboardsTpl).toContain(`${sidecar.label}: "${sidecar.labelValue}"`);
    expect(dashboardsTpl).toContain(`${sidecar.folderAnnotation}:`);
    // Grafana's admin password is generated, not the chart's well-known default.
    expect(kps.inputs.values.grafana.admin.existingSecret).toBe('grafana-admin');
    expect(one('prod', 'kubernetes:core/v1:Secret', 'grafana-admin').inputs.stringData['admin-password']).toHaveLength(
      32,
    );
  });

  it("scales the node groups with the cluster autoscaler, through Pod Identity, only this cluster's groups", () => {
    const ca = one('prod', 'kubernetes:helm.sh/v3:Release', '-cluster-autoscaler');
    expect(ca.inputs).toMatchObject({
      name: 'cluster-autoscaler',
      namespace: 'kube-system',
      chart: 'cluster-autoscaler',
    });
    const v = ca.inputs.values;
    expect(v).toMatchObject({
      cloudProvider: 'aws',
      awsRegion: 'eu-west-1',
      autoDiscovery: { clusterName: 'consortia-prod' },
    });
    expect(v.image.tag).toBe('v1.33.0');
    expect(v.extraArgs['balance-similar-node-groups']).toBe(true);
    const pia = of('prod', 'aws:eks/podIdentityAssociation:PodIdentityAssociation');
    expect(pia).toHaveLength(1);
    expect(pia[0]!.inputs).toMatchObject({
      namespace: ca.inputs.namespace,
      serviceAccount: v.rbac.serviceAccount.name,
    });
    const policy = JSON.parse(
      named('consortia-prod-cluster-autoscaler').inputs.policy ??
        of('prod', 'aws:iam/rolePolicy:RolePolicy').find((p) => p.name === 'consortia-prod-cluster-autoscaler')!.inputs
          .policy,
    );
    const resize = policy.Statement.find((s: any) => s.Sid === 'ResizeThisClusterOnly');
    expect(resize.Condition.StringEquals).toEqual({
      'aws:ResourceTag/k8s.io/cluster-autoscaler/consortia-prod': 'owned',
    });
  });

  it('outputs the control-plane URL and how to get the bootstrap token', async () => {
    expect(await value(outTest.controlPlaneUrl)).toBe('https://127.0.0.1:8080');
    expect(await value(outTest.controlPlaneAccess)).toMatch(
      /^kubectl -n consortia port-forward svc\/consortia 8080:8080/,
    );
    expect(await value(outProd.controlPlaneUrl)).toBe(
      'https://internal-consortia-123.elb.eu-west-1.amazonaws.com:8080',
    );
    const cmd = await value(outTest.bootstrapTokenCommand);
    expect(cmd).toBe(
      `aws secretsmanager get-secret-value --region eu-west-1 --secret-id ${await value(outTest.bootstrapTokenSecretArn)} --query SecretString --output text`,
    );
    expect(await value(outProd.nextStep)).toMatch(/^platform deployed: consortia 0\.1\.0/);
  });

  it('outputs a kubeconfig that uses aws eks get-token', async () => {
    expect(await value(outTest.clusterName)).toBe('consortia-test');
    const k = parseYaml(await value(outTest.kubeconfig));
    expect(k.clusters[0].cluster.server).toBe('https://ABC.gr7.eu-west-1.eks.amazonaws.com');
    expect(k.users[0].user.exec.args).toContain('consortia-test');
  });
});

describe('tags', () => {
  it('tags every taggable resource with the project, environment and stack tags', () => {
    const taggable = created.filter((c) => c.name.startsWith('consortia-test') && c.inputs.tags !== undefined);
    expect(taggable.length).toBeGreaterThan(30);
    for (const c of taggable) {
      expect(c.inputs.tags, `${c.type} ${c.name}`).toMatchObject({
        Project: 'consortia',
        Environment: 'test',
        ManagedBy: 'pulumi',
        CostCenter: 'chain',
      });
    }
    const mustTag = [
      'aws:ec2/vpc:Vpc',
      'aws:ec2/subnet:Subnet',
      'aws:eks/cluster:Cluster',
      'aws:eks/nodeGroup:NodeGroup',
      'aws:kms/key:Key',
      'aws:ecr/repository:Repository',
      'aws:iam/role:Role',
      'aws:ec2/launchTemplate:LaunchTemplate',
      'aws:cloudwatch/logGroup:LogGroup',
      'aws:backup/vault:Vault',
      'aws:secretsmanager/secret:Secret',
    ];
    for (const t of mustTag) {
      expect(of('test', t).length, t).toBeGreaterThan(0);
      for (const c of of('test', t)) expect(c.inputs.tags, `${t} ${c.name}`).toBeDefined();
    }
  });
});
