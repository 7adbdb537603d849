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
  /** Provisioned IOPS (gp3: 3000-16000; io2: required). */
  iops?: number;
  /** Throughput MiB/s (gp3 only: 125-1000). */
  throughput?: number;
  /** What happens to the volume when its claim is deleted. */
  reclaimPolicy: 'Retain' | 'Delete';
}

export interface InfraConfig {
  region: string;
  environment: string;
  clusterName: string;
  kubernetesVersion: string;
  vpcCidr: string;
  availabilityZones: string[];
  natGatewayPerAz: boolean;
  apiAllowedCidrs: string[];
  nodeInstanceTypes: string[];
  nodeDesiredSize: number;
  nodeMinSize: number;
  nodeMaxSize: number;
  nodeDiskSizeGiB: number;
  kmsDeletionWindowDays: number;
  backupNoncurrentDays: number;
  backupTransitionDays: number;
  controlPlaneNamespace: string;
  controlPlaneServiceAccount: string;
  tiers: Record<StorageTier, TierVolume>;
  tags: Record<string, string>;
}

/** Validated-by-default tier volumes: validators get fast disks, archives throughput. */
export const DEFAULT_TIERS: Record<StorageTier, TierVolume> = {
  validator: { type: 'gp3', iops: 6000, throughput: 250, reclaimPolicy: 'Retain' },
  archive: { type: 'gp3', iops: 3000, throughput: 500, reclaimPolicy: 'Retain' },
  standard: { type: 'gp3', iops: 3000, throughput: 125, reclaimPolicy: 'Delete' },
};

/** Reads raw config values; `pulumi.Config` satisfies it via `(k) => cfg.get(k)`. */
export type ConfigGetter = (key: string) => string | undefined;

const NAME = /^[a-z][a-z0-9-]{1,18}[a-z0-9]$/;
const CLUSTER = /^[a-zA-Z][a-zA-Z0-9-]{0,99}$/;
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const AZ = /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/;
const K8S_VERSION = /^1\.(2[89]|3\d)$/;
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
  if (index < 0 || index >= 2 ** (newPrefix - prefix)) throw new Error(`subnet index ${index} out of range for ${cidr} -> /${newPrefix}`);
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
    if (!Number.isInteger(v) || v < min || v > max) problems.push(`${key}: '${raw}' must be an integer in [${min}, ${max}]`);
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
  const strings = (key: string, def: string[] | undefined, re: RegExp, what: string, check?: (s: string) => boolean): string[] => {
    const v = json<unknown>(key, def, `a list of ${what}`);
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.length === 0 || v.some((s) => typeof s !== 'string' || !re.test(s) || (check && !check(s)))) {
      problems.push(`${key}: must be a non-empty list of ${what}`);
      return [];
    }
    return v as string[];
  };

  const region = str('aws:region', undefined, REGION, 'an AWS region such as eu-west-1');
  const environment = str('environment', undefined, NAME, 'a short lowercase name (3-20 chars: letters, digits, dashes)');
  const clusterName = str('clusterName', `consortia-${environment}`, CLUSTER, 'an EKS cluster name');
  const kubernetesVersion = str('kubernetesVersion', '1.33', K8S_VERSION, 'a supported EKS version like 1.33');
  const vpcCidr = str('vpcCidr', '10.40.0.0/16', /^[\d./]+$/, 'a CIDR');
  const vpc = parseCidr(vpcCidr);
  if (!vpc || vpc[1] < 16 || vpc[1] > 20) problems.push(`vpcCidr: '${vpcCidr}' must be a valid network CIDR between /16 and /20`);
  const azCount = int('availabilityZoneCount', 3, 2, 3);
  const azs = get('availabilityZones') !== undefined
    ? strings('availabilityZones', undefined, AZ, 'availability zones like eu-west-1a')
    : ['a', 'b', 'c'].slice(0, azCount).map((s) => `${region}${s}`);
  if (azs.some((z) => !z.startsWith(region))) problems.push(`availabilityZones: every zone must be in ${region}`);
  const apiAllowedCidrs = strings('apiAllowedCidrs', undefined, /^[\d./]+$/, 'CIDRs (e.g. 203.0.113.0/24)', (s) => parseCidr(s) !== undefined);
  const nodeInstanceTypes = strings('nodeInstanceTypes', ['m6i.large'], INSTANCE, 'EC2 instance types');
  const nodeMinSize = int('nodeMinSize', 3, 1, 100);
  const nodeMaxSize = int('nodeMaxSize', 6, 1, 100);
  const nodeDesiredSize = int('nodeDesiredSize', 3, 1, 100);
  if (nodeMinSize > nodeDesiredSize || nodeDesiredSize > nodeMaxSize) problems.push('node sizes must satisfy nodeMinSize <= nodeDesiredSize <= nodeMaxSize');
  const nodeDiskSizeGiB = int('nodeDiskSizeGiB', 50, 20, 1000);
  const kmsDeletionWindowDays = int('kmsDeletionWindowDays', 30, 7, 30);
  const backupTransitionDays = int('backupTransitionDays', 30, 30, 3650);
  const backupNoncurrentDays = int('backupNoncurrentDays', 90, 1, 3650);
  const controlPlaneNamespace = str('controlPlaneNamespace', 'consortia', DNS_LABEL, 'a namespace name');
  const controlPlaneServiceAccount = str('controlPlaneServiceAccount', 'consortia', DNS_LABEL, 'a ServiceAccount name');

  const tierOverrides = json<Partial<Record<string, Partial<TierVolume>>>>('tiers', {}, 'per-tier volume settings') ?? {};
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
    if (!['Retain', 'Delete'].includes(v.reclaimPolicy)) problems.push(`tiers.${t}.reclaimPolicy: must be Retain or Delete`);
    if (v.type === 'gp3' && v.iops !== undefined && (v.iops < 3000 || v.iops > 16000)) problems.push(`tiers.${t}.iops: gp3 allows 3000-16000`);
    if (v.type === 'gp3' && v.throughput !== undefined && (v.throughput < 125 || v.throughput > 1000)) problems.push(`tiers.${t}.throughput: gp3 allows 125-1000 MiB/s`);
    if (v.type === 'io2' && (v.iops === undefined || v.iops < 100)) problems.push(`tiers.${t}.iops: io2 needs provisioned iops`);
    if (v.type !== 'gp3' && v.throughput !== undefined) problems.push(`tiers.${t}.throughput: only gp3 takes a throughput`);
  }

  const extraTags = json<Record<string, unknown>>('tags', {}, 'a map of tag names to values') ?? {};
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(extraTags)) {
    if (!TAG_KEY.test(k) || k.toLowerCase().startsWith('aws:') || typeof v !== 'string' || v.length > 256) problems.push(`tags.${k}: invalid tag`);
    else tags[k] = v;
  }

  const natGatewayPerAz = bool('natGatewayPerAz', false);
  if (problems.length > 0) throw new InfraConfigError(problems);
  return {
    region, environment, clusterName, kubernetesVersion, vpcCidr, availabilityZones: azs,
    natGatewayPerAz, apiAllowedCidrs, nodeInstanceTypes,
    nodeDesiredSize, nodeMinSize, nodeMaxSize, nodeDiskSizeGiB, kmsDeletionWindowDays,
    backupNoncurrentDays, backupTransitionDays, controlPlaneNamespace, controlPlaneServiceAccount,
    tiers,
    // Standard tags last so that a stack cannot override them.
    tags: { ...tags, Project: 'consortia', Environment: environment, ManagedBy: 'pulumi' },
  };
}
