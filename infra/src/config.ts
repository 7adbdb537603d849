/**
 * Stack configuration: read once from Pulumi config (or any getter, for tests), validated,
 * defaults applied. Every problem is reported at once so that `pulumi up` fails before
 * creating anything.
 */

/** Storage tiers the kubernetes runtime maps node roles to (see runtimes/kubernetes/options.ts). */
export type StorageTier = 'validator' | 'archive' | 'standard';
export const STORAGE_TIERS: readonly StorageTier[] = ['validator', 'archive', 'standard'];

export interface TierVolume {
  /** EBS volume type. */
  type: 'gp3' | 'io2' | 'st1';
  /** Back the tier's volumes up with AWS Backup (the plan selects them by a tag the storage class puts on them). */
  backup: boolean;
  /** Provisioned IOPS (gp3: 3000-16000; io2: required). */
  iops?: number;
  /** Throughput MiB/s (gp3 only: 125-1000). */
  throughput?: number;
  /** What happens to the volume when its claim is deleted. */
  reclaimPolicy: 'Retain' | 'Delete';
}

/** How cloud admins and enterprises reach the control-plane API. */
export type ControlPlaneExposure = 'port-forward' | 'internal-nlb';

export interface InfraConfig {
  region: string;
  environment: string;
  clusterName: string;
  kubernetesVersion: string;
  vpcCidr: string;
  availabilityZones: string[];
  natGatewayPerAz: boolean;
  /** CIDRs allowed to reach the public EKS API endpoint; 0.0.0.0/0 only with allowPublicApi. */
  apiAllowedCidrs: string[];
  allowPublicApi: boolean;
  /** IAM roles (or users) given cluster admin through EKS access entries, besides the stack's deployer. */
  adminRoleArns: string[];
  /** IAM roles (or users) given read-only access (AmazonEKSViewPolicy: no Secrets). */
  viewerRoleArns: string[];
  /** CloudWatch retention of the EKS control-plane logs. */
  logRetentionDays: number;
  nodeInstanceTypes: string[];
  /** Node counts over all zones (one managed node group per zone; each gets its share). */
  nodeDesiredSize: number;
  nodeMinSize: number;
  nodeMaxSize: number;
  nodeDiskSizeGiB: number;
  /** IMDSv2 hop limit on nodes: 1 keeps pods from the node's instance role (they use Pod Identity). */
  imdsHopLimit: number;
  kmsDeletionWindowDays: number;
  /** AWS Backup: daily snapshot schedule (cron in UTC) and how long recovery points are kept. */
  backupSchedule: string;
  backupRetentionDays: number;
  controlPlaneNamespace: string;
  controlPlaneServiceAccount: string;
  /** Tag of the images in ECR to deploy; unset until they are pushed (then the Helm release is created). */
  imageTag?: string;
  controlPlaneExposure: ControlPlaneExposure;
  /** Tier whose storage class holds the control plane's own store. */
  controlPlaneStorageTier: StorageTier;
  controlPlaneStorageGiB: number;
  /** Tier whose storage class is the cluster default (EKS 1.30+ has none). */
  defaultStorageTier: StorageTier;
  monitoring: {
    enabled: boolean;
    namespace: string;
    chartVersion: string;
    prometheusStorageGiB: number;
    prometheusRetention: string;
  };
  clusterAutoscaler: { enabled: boolean; chartVersion: string; imageTag: string };
  tiers: Record<StorageTier, TierVolume>;
  tags: Record<string, string>;
}

/** Validated-by-default tier volumes: validators get fast disks, archives throughput. */
export const DEFAULT_TIERS: Record<StorageTier, TierVolume> = {
  validator: { type: 'gp3', iops: 6000, throughput: 250, reclaimPolicy: 'Retain', backup: true },
  archive: { type: 'gp3', iops: 3000, throughput: 500, reclaimPolicy: 'Retain', backup: true },
  // Ordinary and light nodes re-sync from the others: not worth a snapshot a day.
  standard: { type: 'gp3', iops: 3000, throughput: 125, reclaimPolicy: 'Delete', backup: false },
};

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Reads raw config values; `pulumi.Config` satisfies it via `(k) => cfg.get(k)`. */
export type ConfigGetter = (key: string) => string | undefined;

const NAME = /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/;
const CLUSTER = /^[a-zA-Z][a-zA-Z0-9-]{0,99}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const AZ = /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/;
// 1.30+: the chart's ValidatingAdmissionPolicy is GA there, and EKS standard support starts there.
const K8S_VERSION = /^1\.3\d$/;
const PRINCIPAL_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const CHART_VERSION = /^\d+\.\d+\.\d+$/;
const DURATION = /^\d+(h|d|w|y)$/;
const BACKUP_CRON = /^cron\([^()]+\)$/;
const INSTANCE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const TAG_KEY = /^[\w.:/=+@ -]{1,128}$/;

/** Parses "a.b.c.d/n" into [address, prefix]; undefined if malformed. */
export function parseCidr(cidr: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & mask) >>> 0 !== addr) return undefined; // host bits set
  return [addr, prefix];
}

function formatIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/** The index-th subnet of `newPrefix` bits inside `cidr` (like Terraform's cidrsubnet). */
export function subnetCidr(cidr: string, newPrefix: number, index: number): string {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`invalid CIDR ${cidr}`);
  const [base, prefix] = parsed;
  if (newPrefix < prefix || newPrefix > 28) throw new Error(`cannot split /${prefix} into /${newPrefix}`);
  if (index < 0 || index >= 2 ** (newPrefix - prefix))
    throw new Error(`subnet index ${index} out of range for ${cidr} -> /${newPrefix}`);
  return `${formatIp((base + index * 2 ** (32 - newPrefix)) >>> 0)}/${newPrefix}`;
}

export class InfraConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid consortia-infra configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'InfraConfigError';
  }
}

/** Validates raw config (namespace-less keys, plus "aws:region") into an InfraConfig. */
export function parseInfraConfig(get: ConfigGetter): InfraConfig {
  const problems: string[] = [];
  const str = (key: string, def: string | undefined, re: RegExp, what: string): string => {
    const v = get(key) ?? def;
    if (v === undefined) {
      problems.push(`${key} is required (${what})`);
      return '';
    }
    if (!re.test(v)) problems.push(`${key}: '${v}' is not ${what}`);
    return v;
  };
  const int = (key: string, def: number, min: number, max: number): number => {
    const raw = get(key);
    const v = raw === undefined ? def : Number(raw);
    if (!Number.isInteger(v) || v < min || v > max)
      problems.push(`${key}: '${raw}' must be an integer in [${min}, ${max}]`);
    return v;
  };
  const bool = (key: string, def: boolean): boolean => {
    const raw = get(key);
    if (raw === undefined) return def;
    if (raw !== 'true' && raw !== 'false') problems.push(`${key}: '${raw}' must be true or false`);
    return raw === 'true';
  };
  const json = <T>(key: string, def: T | undefined, what: string): T | undefined => {
    const raw = get(key);
    if (raw === undefined) {
      if (def === undefined) problems.push(`${key} is required (${what})`);
      return def;
    }
    try {
      return JSON.parse(raw) as T;
    } catch {
      problems.push(`${key}: not valid JSON (${what})`);
      return def;
    }
  };
  const strings = (
    key: string,
    def: string[] | undefined,
    re: RegExp,
    what: string,
    check?: (s: string) => boolean,
  ): string[] => {
    const v = json<unknown>(key, def, `a list of ${what}`);
    if (v === undefined) return [];
    if (
      !Array.isArray(v) ||
      v.length === 0 ||
      v.some((s) => typeof s !== 'string' || !re.test(s) || (check && !check(s)))
    ) {
      problems.push(`${key}: must be a non-empty list of ${what}`);
      return [];
    }
    return v as string[];
  };

  const region = str('aws:region', undefined, REGION, 'an AWS region such as eu-west-1');
  const environment = str(
    'environment',
    undefined,
    NAME,
    'a short lowercase name (3-20 chars: letters, digits, dashes)',
  );
  const clusterName = str('clusterName', `consortia-${environment}`, CLUSTER, 'an EKS cluster name');
  const kubernetesVersion = str(
    'kubernetesVersion',
    '1.33',
    K8S_VERSION,
    'a supported EKS version, 1.30 or later, like 1.33',
  );
  const vpcCidr = str('vpcCidr', '10.40.0.0/16', /^[\d./]+$/, 'a CIDR');
  const vpc = parseCidr(vpcCidr);
  if (!vpc || vpc[1] < 16 || vpc[1] > 20)
    problems.push(`vpcCidr: '${vpcCidr}' must be a valid network CIDR between /16 and /20`);
  const azCount = int('availabilityZoneCount', 3, 2, 3);
  const azs =
    get('availabilityZones') !== undefined
      ? strings('availabilityZones', undefined, AZ, 'availability zones like eu-west-1a')
      : ['a', 'b', 'c'].slice(0, azCount).map((s) => `${region}${s}`);
  if (azs.some((z) => !z.startsWith(region))) problems.push(`availabilityZones: every zone must be in ${region}`);
  const apiAllowedCidrs = strings(
    'apiAllowedCidrs',
    undefined,
    /^[\d./]+$/,
    'CIDRs (e.g. 203.0.113.0/24)',
    (s) => parseCidr(s) !== undefined,
  );
  const allowPublicApi = bool('allowPublicApi', false);
  if (apiAllowedCidrs.some((c) => parseCidr(c)?.[1] === 0) && !allowPublicApi) {
    problems.push(
      'apiAllowedCidrs: 0.0.0.0/0 opens the Kubernetes API endpoint to the whole internet; list your egress CIDRs, or set allowPublicApi=true to accept it',
    );
  }
  const principals = (key: string): string[] => {
    const v = json<unknown>(key, [], 'a list of IAM role or user ARNs');
    if (!Array.isArray(v) || v.some((a) => typeof a !== 'string' || !PRINCIPAL_ARN.test(a))) {
      problems.push(`${key}: must be a list of IAM role or user ARNs (arn:aws:iam::123456789012:role/name)`);
      return [];
    }
    return [...new Set(v as string[])];
  };
  const adminRoleArns = principals('adminRoleArns');
  const viewerRoleArns = principals('viewerRoleArns');
  const logRetentionDays = int('logRetentionDays', 90, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays))
    problems.push(
      `logRetentionDays: '${logRetentionDays}' is not a CloudWatch retention (${LOG_RETENTION_DAYS.join(', ')})`,
    );
  const nodeInstanceTypes = strings('nodeInstanceTypes', ['m6i.large'], INSTANCE, 'EC2 instance types');
  const nodeMinSize = int('nodeMinSize', 3, 1, 100);
  const nodeMaxSize = int('nodeMaxSize', 6, 1, 100);
  const nodeDesiredSize = int('nodeDesiredSize', 3, 1, 100);
  if (nodeMinSize > nodeDesiredSize || nodeDesiredSize > nodeMaxSize)
    problems.push('node sizes must satisfy nodeMinSize <= nodeDesiredSize <= nodeMaxSize');
  if (nodeMaxSize < azs.length)
    problems.push(
      `nodeMaxSize: must be at least the number of zones (${azs.length}): each zone has its own node group`,
    );
  const nodeDiskSizeGiB = int('nodeDiskSizeGiB', 50, 20, 1000);
  const imdsHopLimit = int('imdsHopLimit', 1, 1, 2);
  const kmsDeletionWindowDays = int('kmsDeletionWindowDays', 30, 7, 30);
  const backupSchedule = str(
    'backupSchedule',
    'cron(0 3 * * ? *)',
    BACKUP_CRON,
    'an AWS Backup cron expression like cron(0 3 * * ? *)',
  );
  const backupRetentionDays = int('backupRetentionDays', 35, 1, 36500);
  const controlPlaneNamespace = str('controlPlaneNamespace', 'consortia', DNS_LABEL, 'a namespace name');
  const controlPlaneServiceAccount = str('controlPlaneServiceAccount', 'consortia', DNS_LABEL, 'a ServiceAccount name');
  const imageTag =
    get('imageTag') === undefined ? undefined : str('imageTag', undefined, IMAGE_TAG, 'an image tag like 0.1.0');
  const exposure = get('controlPlaneExposure') ?? 'port-forward';
  if (exposure !== 'port-forward' && exposure !== 'internal-nlb')
    problems.push(`controlPlaneExposure: '${exposure}' must be port-forward or internal-nlb`);
  const tier = (key: string, def: StorageTier): StorageTier => {
    const v = get(key) ?? def;
    if (!(STORAGE_TIERS as readonly string[]).includes(v))
      problems.push(`${key}: '${v}' must be one of ${STORAGE_TIERS.join(', ')}`);
    return v as StorageTier;
  };
  const controlPlaneStorageTier = tier('controlPlaneStorageTier', 'validator');
  const controlPlaneStorageGiB = int('controlPlaneStorageGiB', 20, 1, 16384);
  const defaultStorageTier = tier('defaultStorageTier', 'standard');
  const monitoring = {
    enabled: bool('monitoring', true),
    namespace: str('monitoringNamespace', 'monitoring', DNS_LABEL, 'a namespace name'),
    chartVersion: str('kubePrometheusStackVersion', '67.8.0', CHART_VERSION, 'a chart version like 67.8.0'),
    prometheusStorageGiB: int('prometheusStorageGiB', 50, 10, 16384),
    prometheusRetention: str('prometheusRetention', '15d', DURATION, 'a Prometheus retention like 15d'),
  };
  if (monitoring.namespace === controlPlaneNamespace)
    problems.push('monitoringNamespace: must differ from controlPlaneNamespace');
  const clusterAutoscaler = {
    enabled: bool('clusterAutoscaler', true),
    chartVersion: str('clusterAutoscalerChartVersion', '9.38.0', CHART_VERSION, 'a chart version like 9.38.0'),
    // The autoscaler's minor version must match the cluster's.
    imageTag: str(
      'clusterAutoscalerImageTag',
      `v${kubernetesVersion}.0`,
      /^v1\.\d+\.\d+$/,
      'an image tag like v1.33.0',
    ),
  };
  if (!clusterAutoscaler.imageTag.startsWith(`v${kubernetesVersion}.`))
    problems.push(
      `clusterAutoscalerImageTag: '${clusterAutoscaler.imageTag}' must match kubernetesVersion ${kubernetesVersion}`,
    );

  const tierOverrides =
    json<Partial<Record<string, Partial<TierVolume>>>>('tiers', {}, 'per-tier volume settings') ?? {};
  const tiers = structuredClone(DEFAULT_TIERS);
  for (const [name, o] of Object.entries(tierOverrides)) {
    if (!(STORAGE_TIERS as readonly string[]).includes(name)) {
      problems.push(`tiers.${name}: unknown tier (expected ${STORAGE_TIERS.join(', ')})`);
      continue;
    }
    tiers[name as StorageTier] = { ...tiers[name as StorageTier], ...o };
  }
  for (const t of STORAGE_TIERS) {
    const v = tiers[t];
    if (!['gp3', 'io2', 'st1'].includes(v.type)) problems.push(`tiers.${t}.type: must be gp3, io2 or st1`);
    if (!['Retain', 'Delete'].includes(v.reclaimPolicy))
      problems.push(`tiers.${t}.reclaimPolicy: must be Retain or Delete`);
    if (v.type === 'gp3' && v.iops !== undefined && (v.iops < 3000 || v.iops > 16000))
      problems.push(`tiers.${t}.iops: gp3 allows 3000-16000`);
    if (v.type === 'gp3' && v.throughput !== undefined && (v.throughput < 125 || v.throughput > 1000))
      problems.push(`tiers.${t}.throughput: gp3 allows 125-1000 MiB/s`);
    if (v.type === 'io2' && (v.iops === undefined || v.iops < 100))
      problems.push(`tiers.${t}.iops: io2 needs provisioned iops`);
    if (v.type !== 'gp3' && v.throughput !== undefined)
      problems.push(`tiers.${t}.throughput: only gp3 takes a throughput`);
    if (typeof v.backup !== 'boolean') problems.push(`tiers.${t}.backup: must be true or false`);
  }

  const extraTags = json<Record<string, unknown>>('tags', {}, 'a map of tag names to values') ?? {};
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(extraTags)) {
    if (!TAG_KEY.test(k) || k.toLowerCase().startsWith('aws:') || typeof v !== 'string' || v.length > 256)
      problems.push(`tags.${k}: invalid tag`);
    else tags[k] = v;
  }

  const natGatewayPerAz = bool('natGatewayPerAz', false);
  if (problems.length > 0) throw new InfraConfigError(problems);
  return {
    region,
    environment,
    clusterName,
    kubernetesVersion,
    vpcCidr,
    availabilityZones: azs,
    natGatewayPerAz,
    apiAllowedCidrs,
    allowPublicApi,
    adminRoleArns,
    viewerRoleArns,
    logRetentionDays,
    nodeInstanceTypes,
    nodeDesiredSize,
    nodeMinSize,
    nodeMaxSize,
    nodeDiskSizeGiB,
    imdsHopLimit,
    kmsDeletionWindowDays,
    backupSchedule,
    backupRetentionDays,
    controlPlaneNamespace,
    controlPlaneServiceAccount,
    ...(imageTag !== undefined ? { imageTag } : {}),
    controlPlaneExposure: exposure as ControlPlaneExposure,
    controlPlaneStorageTier,
    controlPlaneStorageGiB,
    defaultStorageTier,
    monitoring,
    clusterAutoscaler,
    tiers,
    // Standard tags last so that a stack cannot override them.
    tags: { ...tags, Project: 'consortia', Environment: environment, ManagedBy: 'pulumi' },
  };
}

/** `total` nodes over `zones` node groups, as evenly as possible (the first zones take the remainder). */
export function splitAcrossZones(total: number, zones: number): number[] {
  return Array.from({ length: zones }, (_, i) => Math.floor(total / zones) + (i < total % zones ? 1 : 0));
}
