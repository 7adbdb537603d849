import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_TIERS,
  InfraConfigError,
  parseCidr,
  parseInfraConfig,
  splitAcrossZones,
  subnetCidr,
} from '../../infra/src/config.js';
import { keyPolicy, KEY_PURPOSES } from '../../infra/src/kms.js';
import { storageClassManifest, tierStorageClasses } from '../../infra/src/storage-classes.js';
import { eksKubeconfig } from '../../infra/src/kubeconfig.js';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

const REQUIRED: Record<string, string> = {
  'aws:region': 'eu-west-1',
  environment: 'dev',
  apiAllowedCidrs: '["203.0.113.0/24"]',
};
const getter = (values: Record<string, string>) => (k: string) => values[k];

function problemsOf(values: Record<string, string>): string[] {
  try {
    parseInfraConfig(getter(values));
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(InfraConfigError);
    return (err as InfraConfigError).problems;
  }
}

describe('infra config', () => {
  it('applies defaults around the required keys', () => {
    const cfg = parseInfraConfig(getter(REQUIRED));
    expect(cfg.clusterName).toBe('consortia-dev');
    expect(cfg.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(cfg.kubernetesVersion).toBe('1.33');
    expect(cfg.nodeInstanceTypes).toEqual(['m6i.large']);
    expect(cfg.tiers).toEqual(DEFAULT_TIERS);
    expect(cfg.tags).toEqual({ Project: 'consortia', Environment: 'dev', ManagedBy: 'pulumi' });
    expect(cfg).toMatchObject({
      allowPublicApi: false,
      adminRoleArns: [],
      viewerRoleArns: [],
      logRetentionDays: 90,
      imdsHopLimit: 1,
      controlPlaneExposure: 'port-forward',
      controlPlaneStorageTier: 'validator',
      defaultStorageTier: 'standard',
      monitoring: { enabled: true, namespace: 'monitoring' },
      clusterAutoscaler: { enabled: true, imageTag: 'v1.33.0' },
    });
    expect(cfg.imageTag).toBeUndefined(); // no release until the images are pushed
  });

  it('accepts the example stack infra/Pulumi.dev.yaml as it is', () => {
    const stack = parseYaml(
      readFileSync(fileURLToPath(new URL('../../infra/Pulumi.dev.yaml', import.meta.url)), 'utf8'),
    ).config as Record<string, unknown>;
    const values = Object.fromEntries(
      Object.entries(stack).map(([k, v]) => [
        k.replace(/^consortia-infra:/, ''),
        typeof v === 'string' ? v : JSON.stringify(v),
      ]),
    );
    const cfg = parseInfraConfig(getter(values));
    expect(cfg.environment).toBe('dev');
    expect(cfg.tags.CostCenter).toBe('blockchain');
  });

  it('refuses an API endpoint open to the whole internet unless allowPublicApi says so', () => {
    const open = { ...REQUIRED, apiAllowedCidrs: '["203.0.113.0/24","0.0.0.0/0"]' };
    expect(problemsOf(open).join('\n')).toMatch(
      /0\.0\.0\.0\/0 opens the Kubernetes API endpoint to the whole internet.*allowPublicApi/,
    );
    expect(parseInfraConfig(getter({ ...open, allowPublicApi: 'true' })).apiAllowedCidrs).toContain('0.0.0.0/0');
  });

  it('splits node counts across the zones', () => {
    expect(splitAcrossZones(3, 3)).toEqual([1, 1, 1]);
    expect(splitAcrossZones(7, 3)).toEqual([3, 2, 2]);
    expect(splitAcrossZones(1, 3)).toEqual([1, 0, 0]);
  });

  it('names every missing required key', () => {
    const problems = problemsOf({});
    expect(problems.join('\n')).toMatch(/aws:region is required/);
    expect(problems.join('\n')).toMatch(/environment is required/);
    expect(problems.join('\n')).toMatch(/apiAllowedCidrs is required/);
  });

  it.each([
    ['environment', 'Prod!'],
    ['apiAllowedCidrs', '["10.0.0.1/8"]'], // host bits set
    ['apiAllowedCidrs', '[]'],
    ['vpcCidr', '10.0.0.0/8'],
    ['availabilityZoneCount', '5'],
    ['availabilityZones', '["us-east-1a","us-east-1b"]'], // other region
    ['nodeMinSize', '7'], // above desired
    ['kmsDeletionWindowDays', '3'],
    ['backupRetentionDays', '0'],
    ['backupSchedule', 'every day'],
    ['allowPublicApi', 'maybe'],
    ['adminRoleArns', '["arn:aws:iam::123:role/x"]'], // account id is 12 digits
    ['adminRoleArns', '"arn:aws:iam::123456789012:role/x"'], // a list
    ['viewerRoleArns', '["arn:aws:sts::123456789012:assumed-role/x/y"]'], // a session, not a role
    ['logRetentionDays', '13'], // not a CloudWatch retention
    ['imdsHopLimit', '3'],
    ['kubernetesVersion', '1.29'], // the chart's admission policy needs 1.30
    ['imageTag', 'bad tag'],
    ['controlPlaneExposure', 'public'],
    ['controlPlaneStorageTier', 'fast'],
    ['defaultStorageTier', 'none'],
    ['nodeMaxSize', '2'], // below the number of zones (3)
    ['clusterAutoscalerImageTag', 'v1.31.0'], // must match kubernetesVersion
    ['monitoringNamespace', 'consortia'], // the control plane's
    ['kubePrometheusStackVersion', 'latest'],
    ['prometheusRetention', 'forever'],
    ['natGatewayPerAz', 'yes'],
    ['tiers', '{"validator":{"iops":100}}'],
    ['tiers', '{"fast":{"type":"gp3"}}'],
    ['tiers', '{"standard":{"type":"st1","throughput":500}}'],
    ['tiers', '{"standard":{"backup":"yes"}}'],
    ['tags', '{"aws:reserved":"x"}'],
    ['tags', 'not json'],
  ])('rejects %s = %s', (key, value) => {
    const problems = problemsOf({ ...REQUIRED, [key]: value });
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain(
      key === 'monitoringNamespace' ? 'monitoringNamespace' : key.replace(/Count$/, ''),
    );
  });

  it('keeps the standard tags even if a stack tries to override them', () => {
    const cfg = parseInfraConfig(getter({ ...REQUIRED, tags: '{"Project":"other","Team":"chain"}' }));
    expect(cfg.tags).toEqual({ Project: 'consortia', Environment: 'dev', ManagedBy: 'pulumi', Team: 'chain' });
  });

  it('splits the VPC into non-overlapping subnets', () => {
    expect(parseCidr('10.40.0.0/16')).toEqual([0x0a280000, 16]);
    expect(parseCidr('10.40.0.1/16')).toBeUndefined();
    expect(subnetCidr('10.40.0.0/16', 20, 0)).toBe('10.40.0.0/20');
    expect(subnetCidr('10.40.0.0/16', 20, 1)).toBe('10.40.16.0/20');
    expect(subnetCidr('10.40.0.0/16', 20, 8)).toBe('10.40.128.0/20');
    expect(() => subnetCidr('10.40.0.0/16', 20, 16)).toThrow(/out of range/);
  });
});

describe('tier storage classes', () => {
  const cfg = parseInfraConfig(getter(REQUIRED));
  const classes = tierStorageClasses(cfg, 'arn:aws:kms:eu-west-1:111111111111:key/k');

  it('uses the names the kubernetes runtime maps tiers to', () => {
    expect(classes.map((c) => c.metadata.name)).toEqual([
      'consortia-validator',
      'consortia-archive',
      'consortia-standard',
    ]);
  });

  it('encrypts every tier with the ebs key and binds in the pod zone; one class is the default', () => {
    expect(
      classes
        .filter((c) => c.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'] === 'true')
        .map((c) => c.metadata.name),
    ).toEqual(['consortia-standard']);
    expect(classes.map((c) => c.parameters.tagSpecification_2)).toEqual([
      'consortia.io/backup=consortia-dev',
      'consortia.io/backup=consortia-dev',
      undefined,
    ]);
    for (const c of classes) {
      expect(c.provisioner).toBe('ebs.csi.aws.com');
      expect(c.parameters.encrypted).toBe('true');
      expect(c.parameters.kmsKeyId).toBe('arn:aws:kms:eu-west-1:111111111111:key/k');
      expect(c.volumeBindingMode).toBe('WaitForFirstConsumer');
      expect(c.allowVolumeExpansion).toBe(true);
    }
  });

  it('gives validators fast disks and keeps validator and archive volumes on claim deletion', () => {
    const [validator, archive, standard] = classes;
    expect(validator!.parameters).toMatchObject({ type: 'gp3', iops: '6000', throughput: '250' });
    expect(archive!.parameters).toMatchObject({ throughput: '500' });
    expect(validator!.reclaimPolicy).toBe('Retain');
    expect(archive!.reclaimPolicy).toBe('Retain');
    expect(standard!.reclaimPolicy).toBe('Delete');
  });

  it('renders a multi-document manifest', () => {
    const docs = parseAllDocuments(storageClassManifest(classes)).map((d) => d.toJSON());
    expect(docs).toHaveLength(3);
    expect(docs.every((d) => d.kind === 'StorageClass')).toBe(true);
  });
});

describe('kubeconfig', () => {
  it('authenticates with aws eks get-token and embeds no secret', () => {
    const k = parseYaml(
      eksKubeconfig({ clusterName: 'c', endpoint: 'https://x.eks.amazonaws.com', caData: 'Q0E=', region: 'eu-west-1' }),
    );
    expect(k.clusters[0].cluster.server).toBe('https://x.eks.amazonaws.com');
    expect(k.users[0].user.exec.command).toBe('aws');
    expect(k.users[0].user.exec.args).toEqual([
      'eks',
      'get-token',
      '--cluster-name',
      'c',
      '--region',
      'eu-west-1',
      '--output',
      'json',
    ]);
    expect(JSON.stringify(k)).not.toMatch(/token:|password|client-key/);
  });
});

describe('KMS key policies', () => {
  const ctx = {
    partition: 'aws',
    accountId: '123456789012',
    region: 'eu-west-1',
    administrators: ['arn:aws:iam::123456789012:role/Deployer'],
    clusterRoleArn: 'arn:aws:iam::123456789012:role/cluster',
    logGroupArn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/c/cluster',
  };

  it('are explicit: administration for the administrators, use only as each purpose needs', () => {
    for (const p of KEY_PURPOSES) {
      const policy = keyPolicy(p, ctx);
      expect(policy.Statement[0]).toMatchObject({ Sid: 'KeyAdministration', Principal: { AWS: ctx.administrators } });
      expect(policy.Statement.length, p).toBeGreaterThan(1);
      for (const s of policy.Statement) {
        expect(s.Action, p).not.toContain('kms:*');
        if (s.Principal && 'AWS' in s.Principal && s.Principal.AWS === '*')
          expect(s.Condition?.StringEquals?.['kms:CallerAccount'], p).toBe('123456789012');
      }
    }
  });

  it('only the administrators decrypt the platform secrets', () => {
    const s = keyPolicy('secrets', ctx).Statement.find((x) => x.Action.includes('kms:Decrypt'))!;
    expect(s.Principal).toEqual({ AWS: ctx.administrators });
    expect(s.Condition?.StringEquals?.['kms:ViaService']).toBe('secretsmanager.eu-west-1.amazonaws.com');
  });
});
