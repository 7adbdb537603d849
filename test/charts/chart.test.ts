import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseEncryptionKey } from '../../src/control-plane/domain/secret-box.js';
import { helmBinary, renderChartValues, type K8sObject } from '../harness/helm.js';

// Unit checks of charts/consortia: the schema accepts the defaults and rejects bad values, every
// values key is documented, helpers carry the chart prefix; the tls values are rendered with helm.
const CHART = fileURLToPath(new URL('../../charts/consortia/', import.meta.url));
const valuesText = readFileSync(join(CHART, 'values.yaml'), 'utf8');
const values = parseYaml(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as Record<string, unknown>;

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
const validate = ajv.compile(schema);

/** Deep copy of the defaults with one path replaced (undefined deletes it). */
function withValue(path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(values);
  const keys = path.split('.');
  let node = copy as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

function errorsOf(v: unknown): string[] {
  return validate(v) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
}

describe('values.schema.json', () => {
  it('is draft-07 and closed at the top level', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.additionalProperties).toBe(false);
  });

  it('accepts the default values.yaml', () => {
    expect(errorsOf(values)).toEqual([]);
  });

  it('accepts realistic overrides', () => {
    const v = structuredClone(values) as Record<string, any>;
    v.image = {
      repository: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/consortia/control-plane',
      tag: 'v1.2.3',
      digest: '',
      pullPolicy: 'Always',
    };
    v.controlPlane.nodeImage = 'registry.local:5000/consortia/node:0.1.0@sha256:' + 'a'.repeat(64);
    v.controlPlane.extraEnv = [{ name: 'CONSORTIA_RECONCILE_INTERVAL_MS', value: '500' }];
    v.controlPlane.config = { reconcileIntervalMs: 500 };
    v.auth.encryptionKey = Buffer.alloc(32, 7).toString('base64');
    v.ingress = {
      enabled: true,
      className: 'alb',
      annotations: {},
      host: 'consortia.example.com',
      path: '/',
      tls: { enabled: true, secretName: '' },
    };
    v.networkPolicy.from = [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } },
      { ipBlock: { cidr: '10.40.0.0/16' } },
    ];
    v.resources.limits.cpu = 2;
    v.persistence.storageClass = 'consortia-validator';
    v.serviceMonitor = {
      enabled: true,
      interval: '15s',
      scrapeTimeout: '5s',
      labels: { release: 'kube-prometheus-stack' },
    };
    v.nodeSelector = { 'kubernetes.io/arch': 'amd64' };
    expect(errorsOf(v)).toEqual([]);
  });

  const bad: [string, unknown][] = [
    ['replicaCount', 2], // single-writer store
    ['image.repository', 'Not A/Repo'],
    ['image.repository', 'ghcr.io/consortia/control-plane:tag'], // tag belongs in image.tag
    ['image.tag', 'bad tag'],
    ['image.digest', 'sha256:xyz'],
    ['image.pullPolicy', 'Sometimes'],
    ['controlPlane.nodeImage', 'ghcr.io/x y'],
    ['controlPlane.port', 80], // privileged port: the pod is non-root
    ['controlPlane.logLevel', 'verbose'],
    ['controlPlane.extraEnv', [{ name: '1BAD', value: 'x' }]],
    ['auth.encryptionKey', 'short'],
    ['auth.encryptionKey', 'a'.repeat(63)], // hex of 31.5 bytes
    ['auth.encryptionKey', Buffer.alloc(32, 0xfb).toString('base64url')], // base64url, not standard base64
    ['auth.encryptionKey', Buffer.alloc(31, 7).toString('base64')],
    ['ingress.host', 'Not A Host'],
    ['ingress', { enabled: true, host: '' }], // a host is required when enabled
    ['networkPolicy.from', [{ pods: {} }]],
    ['podDisruptionBudget.maxUnavailable', 2],
    ['probes.startup', undefined], // required
    ['auth.bootstrapToken', 'too-short'],
    ['resources.requests.cpu', 'lots'],
    ['resources.limits.memory', '512 MB'],
    ['persistence.size', '10'], // needs a unit
    ['persistence.storageClass', 'Fast_SSD'],
    ['persistence.accessMode', 'ReadOnlyMany'],
    ['podSecurity.runAsUser', 0], // never root
    ['service.type', 'ExternalName'],
    ['serviceMonitor.interval', 'often'],
    ['grafanaDashboards.namespace', 'Monitoring'],
    ['nameOverride', 'Consortia!'],
    ['podLabels', { 'bad key!': 'x' }],
    ['probes.liveness.periodSeconds', 0],
    ['unknownTopLevelKey', true],
    ['serviceMonitor.unknown', true],
    ['image', undefined], // required
  ];
  it.each(bad)('rejects %s = %j', (path, value) => {
    expect(errorsOf(withValue(path, value)).length).toBeGreaterThan(0);
  });

  it('anchors every pattern (^...$) so that a partial match never passes', () => {
    const patterns: string[] = [];
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === 'object') {
        for (const [k, v] of Object.entries(n)) {
          if (k === 'pattern' && typeof v === 'string') patterns.push(v);
          else walk(v);
        }
      }
    };
    walk(schema);
    expect(patterns.length).toBeGreaterThan(10);
    for (const p of patterns) expect(p, p).toMatch(/^\^.*\$$/);
  });

  it('describes every key of values.yaml (no key missing from the schema)', () => {
    const missing: string[] = [];
    const resolve = (s: any): any =>
      s?.$ref ? resolve((schema.definitions as any)[s.$ref.replace('#/definitions/', '')]) : s;
    const walk = (v: unknown, s: any, path: string): void => {
      s = resolve(s);
      if (!v || typeof v !== 'object' || Array.isArray(v) || !s?.properties) return;
      for (const [k, child] of Object.entries(v)) {
        if (!(k in s.properties)) missing.push(`${path}${k}`);
        else walk(child, s.properties[k], `${path}${k}.`);
      }
    };
    walk(values, schema, '');
    expect(missing).toEqual([]);
  });
});

describe('values.yaml documentation', () => {
  it('has a comment for every key', () => {
    const lines = valuesText.split('\n');
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const key = /^(\s*)([A-Za-z0-9_.-]+):(\s|$)/.exec(line);
      if (!key) return;
      if (/\s#\s/.test(line)) return; // inline comment
      // The nearest non-blank line above must be a comment at the same indentation.
      let j = i - 1;
      while (j >= 0 && lines[j]!.trim() === '') j--;
      const above = j >= 0 ? lines[j]! : '';
      if (!(above.trimStart().startsWith('#') && above.indexOf('#') === key[1]!.length))
        undocumented.push(`line ${i + 1}: ${key[2]}`);
    });
    expect(undocumented).toEqual([]);
  });

  it('the check finds an undocumented key (the test can fail)', () => {
    const text = '# -- a\na: 1\nb: 2\n';
    const keysWithoutComment = text
      .split('\n')
      .filter((l, i, all) => /^[a-z]+:/.test(l) && !(all[i - 1] ?? '').startsWith('#'));
    expect(keysWithoutComment).toEqual(['b: 2']);
  });
});

describe('templates', () => {
  // Every template file, with its path under templates/ (helm test hooks live in templates/tests/).
  const templates = (readdirSync(join(CHART, 'templates'), { recursive: true }) as string[]).filter((f) =>
    /\.(ya?ml|tpl|txt)$/.test(f),
  );
  const text = templates.map((f) => readFileSync(join(CHART, 'templates', f), 'utf8')).join('\n');

  it('prefixes every helper with the chart name', () => {
    const defines = [...text.matchAll(/define\s+"([^"]+)"/g)].map((m) => m[1]);
    expect(defines.length).toBeGreaterThan(5);
    for (const d of defines) expect(d).toMatch(/^consortia\./);
    const includes = [...text.matchAll(/include\s+"([^"]+)"/g)].map((m) => m[1]);
    for (const inc of includes) expect(defines).toContain(inc);
  });

  it('ships NOTES.txt and the templates the issue asks for', () => {
    for (const f of [
      'NOTES.txt',
      'deployment.yaml',
      'service.yaml',
      'serviceaccount.yaml',
      'rbac.yaml',
      'admission-policy.yaml',
      'configmap.yaml',
      'secret.yaml',
      'secret-generate.yaml',
      'pvc.yaml',
      'servicemonitor.yaml',
      'prometheusrule.yaml',
      'dashboards.yaml',
      'networkpolicy.yaml',
      'poddisruptionbudget.yaml',
      'ingress.yaml',
      'certificate.yaml',
      'tests/smoke.yaml',
    ]) {
      expect(templates).toContain(f);
    }
  });

  it('grants no wildcard in RBAC', () => {
    for (const f of ['rbac.yaml', 'secret-generate.yaml']) {
      const rbac = readFileSync(join(CHART, 'templates', f), 'utf8');
      expect(rbac, f).not.toMatch(/["']\*["']/);
      expect(rbac, f).not.toMatch(/\bescalate\b|\bbind\b|\bimpersonate\b/);
    }
  });

  it('renders nothing random and looks nothing up (a render depends only on its values)', () => {
    expect(text).not.toMatch(
      /\brand[A-Z]\w*|\buuidv4\b|\blookup\b|\bnow\b|\bgenPrivateKey\b|\bgenCA\b|\bgenSelfSignedCert\b/,
    );
  });
});

describe('auth.encryptionKey', () => {
  const authSchema = (schema.properties as any).auth.properties.encryptionKey as { pattern: string };
  const pattern = new RegExp(authSchema.pattern);
  const accepts = (k: string): boolean => {
    try {
      parseEncryptionKey(k);
      return true;
    } catch {
      return false;
    }
  };

  it('the schema accepts exactly the keys the control plane parses (CONSORTIA_ENCRYPTION_KEY)', () => {
    const samples = [
      'ab'.repeat(32), // openssl rand -hex 32
      'AB'.repeat(32),
      Buffer.alloc(32, 0xfe).toString('base64'), // openssl rand -base64 32 (44 characters with "=")
      Buffer.alloc(32, 0xfe).toString('base64').replace(/=$/, ''),
      Buffer.alloc(32, 0xfe).toString('base64url'),
      Buffer.alloc(31, 1).toString('base64'),
      Buffer.alloc(33, 1).toString('base64'),
      'a'.repeat(63),
      'a'.repeat(65),
      'g'.repeat(64),
      'short',
      ' ' + 'ab'.repeat(32),
      `${'ab'.repeat(32)}=`,
    ];
    for (const k of samples) expect(pattern.test(k), k).toBe(accepts(k.trim()) && k === k.trim());
    // Both forms of a real key decode to the same 32 bytes.
    const bytes = Buffer.alloc(32, 9);
    expect(parseEncryptionKey(bytes.toString('hex'))).toEqual(parseEncryptionKey(bytes.toString('base64')));
  });

  it('takes the README command `openssl rand -hex 32` as it is', () => {
    const v = withValue('auth.encryptionKey', 'c0ffee'.repeat(10) + 'c0ff');
    expect(errorsOf(v)).toEqual([]);
  });
});

describe('tls (rendered with helm)', () => {
  // helm from .ci/tools/helm.sh (cached after the first build).
  let helm = '';
  const render = (tls: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    renderChartValues(helm, 'r', 'ns', { tls, ...extra }).objects;
  const deployment = (objs: K8sObject[]) =>
    objs.find((o) => o.kind === 'Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            containers: {
              env: { name: string; value?: string }[];
              volumeMounts: { name: string; mountPath: string }[];
              startupProbe: { httpGet: { scheme?: string } };
              livenessProbe: { httpGet: { scheme?: string } };
              readinessProbe: { httpGet: { scheme?: string } };
            }[];
            volumes: { name: string; secret?: { secretName: string } }[];
          };
        };
      };
    };
  const envOf = (objs: K8sObject[]) =>
    Object.fromEntries(deployment(objs).spec.template.spec.containers[0]!.env.map((e) => [e.name, e.value]));
  beforeAll(() => {
    helm = helmBinary();
  }, 20 * 60_000);

  it('by default: probes over HTTPS, no Secret mounted (the control plane generates its certificate), smoke test over https', () => {
    const objs = render({});
    const c = deployment(objs).spec.template.spec.containers[0]!;
    for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(p.httpGet.scheme).toBe('HTTPS');
    expect(envOf(objs)['CONSORTIA_TLS_CERT_FILE']).toBeUndefined();
    expect(c.volumeMounts.map((m) => m.name)).not.toContain('tls');
    expect(objs.some((o) => o.kind === 'Certificate')).toBe(false);
    const smoke = objs.find((o) => o.kind === 'Pod') as unknown as {
      spec: { containers: { env: { name: string; value: string }[] }[] };
    };
    expect(smoke.spec.containers[0]!.env.find((e) => e.name === 'BASE')?.value).toBe('https://r-consortia.ns.svc:8080');
  });

  it('tls.existingSecret: mounted read-only, its files passed as CONSORTIA_TLS_*; ca.crt only with includeCa', () => {
    const objs = render({ existingSecret: 'my-api-cert' });
    const d = deployment(objs).spec.template.spec;
    expect(d.volumes.find((v) => v.name === 'tls')?.secret?.secretName).toBe('my-api-cert');
    expect(d.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'tls', mountPath: '/etc/consortia-tls' }),
    );
    expect(envOf(objs)).toMatchObject({
      CONSORTIA_TLS_CERT_FILE: '/etc/consortia-tls/tls.crt',
      CONSORTIA_TLS_KEY_FILE: '/etc/consortia-tls/tls.key',
    });
    expect(envOf(objs)['CONSORTIA_TLS_CA_FILE']).toBeUndefined();
    expect(envOf(render({ existingSecret: 'my-api-cert', includeCa: true }))['CONSORTIA_TLS_CA_FILE']).toBe(
      '/etc/consortia-tls/ca.crt',
    );
    expect(objs.some((o) => o.kind === 'Certificate')).toBe(false);
  });

  it('tls.certManager.issuerRef: a Certificate for the Service names whose Secret the pod mounts', () => {
    const objs = render({ certManager: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' }, duration: '2160h' } });
    const cert = objs.find((o) => o.kind === 'Certificate') as unknown as {
      apiVersion: string;
      spec: Record<string, unknown>;
    };
    expect(cert.apiVersion).toBe('cert-manager.io/v1');
    expect(cert.spec).toMatchObject({
      secretName: 'r-consortia-server-tls',
      issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' },
      duration: '2160h',
      dnsNames: ['r-consortia', 'r-consortia.ns', 'r-consortia.ns.svc'],
      usages: ['server auth', 'digital signature'],
    });
    expect(deployment(objs).spec.template.spec.volumes.find((v) => v.name === 'tls')?.secret?.secretName).toBe(
      'r-consortia-server-tls',
    );
    // an existing Secret wins over cert-manager
    expect(
      render({ existingSecret: 'mine', certManager: { issuerRef: { name: 'corp-ca' } } }).some(
        (o) => o.kind === 'Certificate',
      ),
    ).toBe(false);
  });

  it('the ServiceMonitor scrapes https, and the Ingress talks HTTPS to the backend unless told otherwise', () => {
    const objs = render({}, { serviceMonitor: { enabled: true }, ingress: { enabled: true, host: 'api.example.com' } });
    const sm = objs.find((o) => o.kind === 'ServiceMonitor') as unknown as {
      spec: { endpoints: { scheme: string; tlsConfig?: unknown }[] };
    };
    expect(sm.spec.endpoints[0]).toMatchObject({ scheme: 'https', tlsConfig: { insecureSkipVerify: true } });
    const ing = objs.find((o) => o.kind === 'Ingress')!;
    expect(ing.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol']).toBe('HTTPS');
    const own = render(
      {},
      {
        ingress: {
          enabled: true,
          host: 'api.example.com',
          annotations: { 'nginx.ingress.kubernetes.io/backend-protocol': 'GRPCS' },
        },
      },
    ).find((o) => o.kind === 'Ingress')!;
    expect(own.metadata.annotations?.['nginx.ingress.kubernetes.io/backend-protocol']).toBe('GRPCS');
  });

  it('the schema refuses an issuerRef without a name, a bad kind, and unknown keys', () => {
    expect(errorsOf(withValue('tls.certManager.issuerRef', { kind: 'ClusterIssuer' })).join(' ')).toMatch(/name/);
    expect(errorsOf(withValue('tls.certManager.issuerRef', { name: 'x', kind: 'Vault' })).length).toBeGreaterThan(0);
    expect(errorsOf(withValue('tls.certFile', '/x')).length).toBeGreaterThan(0);
    expect(errorsOf(withValue('tls.existingSecret', 'Not_A_Name')).length).toBeGreaterThan(0);
    expect(errorsOf(withValue('tls.certManager.issuerRef', { name: 'corp-ca', kind: 'Issuer' }))).toEqual([]);
  });
});
