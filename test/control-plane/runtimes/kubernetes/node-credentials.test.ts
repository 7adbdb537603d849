import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  SPEC_KEY,
  buildAdminSecret,
  buildConfigMap,
  buildNodeObjects,
  buildStatefulSet,
  deriveObservation,
  nodeObjectNames,
  specFromConfigData,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import { ctx, spec } from './fixtures.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TOKEN = 'cna_' + 'Z'.repeat(43);
const expectedGenesis = { members: [{ memberId: 'org-a', adminKeys: ['ab'.repeat(32)] }], includesSelf: true };

describe('kubernetes runtime: the node admin credential and the expected genesis', () => {
  it('puts the token in a per-node Secret only, mounted read-only where node.json points', () => {
    const s = spec({ adminToken: TOKEN, expectedGenesis });
    const objs = buildNodeObjects(s, ctx);
    expect(objs.map((o) => o.kind).indexOf('Secret')).toBeLessThan(objs.map((o) => o.kind).indexOf('StatefulSet'));
    const secret = buildAdminSecret(s, ctx) as Any;
    expect(secret.metadata).toMatchObject({ name: nodeObjectNames('n1').adminSecret, namespace: 'consortia-c1' });
    expect(secret.metadata.labels['app.kubernetes.io/managed-by']).toBe('consortia');
    expect(secret.metadata.annotations['consortia.io/node-id']).toBe('n1');
    expect(Buffer.from(secret.data['admin-token'], 'base64').toString()).toBe(TOKEN);
    // nowhere else: not in node.json, not in the spec record the runtime resumes from
    for (const o of objs.filter((x) => x.kind !== 'Secret')) expect(JSON.stringify(o)).not.toContain(TOKEN);
    const data = (buildConfigMap(s, ctx) as Any).data;
    const cfg = JSON.parse(data['node.json']);
    expect(cfg.adminTokenFile).toBe('/etc/consortia-admin/admin-token');
    expect(cfg.expectedGenesis).toEqual(expectedGenesis);
    const pod = (buildStatefulSet(s, ctx) as Any).spec.template.spec;
    const c = pod.containers[0];
    expect(c.volumeMounts).toContainEqual({ name: 'admin', mountPath: '/etc/consortia-admin', readOnly: true });
    expect(pod.volumes).toContainEqual({
      name: 'admin',
      secret: {
        secretName: nodeObjectNames('n1').adminSecret,
        optional: true,
        defaultMode: 0o440,
        items: [{ key: 'admin-token', path: 'admin-token' }],
      },
    });
    expect(c.terminationMessagePolicy).toBe('FallbackToLogsOnError');
  });

  it('a spec restored from the ConfigMap has no token: the Secret is left as it is and the pod does not roll', () => {
    const s = spec({ adminToken: TOKEN, expectedGenesis });
    const restored = specFromConfigData((buildConfigMap(s, ctx) as Any).data)!;
    expect(restored.adminToken).toBeUndefined();
    expect(JSON.parse((buildConfigMap(s, ctx) as Any).data[SPEC_KEY]).adminToken).toBeUndefined();
    expect(restored.expectedGenesis).toEqual(expectedGenesis);
    // Only the TLS Secret: no admin Secret is built from a restored spec.
    expect(
      buildNodeObjects(restored, ctx)
        .filter((o) => o.kind === 'Secret')
        .map((o) => o.metadata.name),
    ).toEqual(['node-n1-tls']);
    const hash = (x: typeof s) =>
      (buildStatefulSet(x, ctx) as Any).spec.template.metadata.annotations['consortia.io/config-hash'];
    expect(hash(restored)).toBe(hash(s));
    expect(hash(spec({ adminToken: 'cna_other'.padEnd(47, 'q'), expectedGenesis }))).toBe(hash(s)); // the node reads the file per request
    expect(hash(spec({ expectedGenesis: { hash: 'cd'.repeat(32) } }))).not.toBe(hash(spec({ expectedGenesis })));
  });

  it('reports a node that stops on a foreign genesis (exit code 3) as Failed GENESIS_MISMATCH, not Running / CrashLoopBackOff', () => {
    const sts = {
      metadata: { name: 's' },
      spec: { template: { metadata: { annotations: {} }, spec: { containers: [{ name: 'node', image: 'i' }] } } },
    } as unknown as V1StatefulSet;
    const fatal = JSON.stringify({
      level: 'error',
      msg: 'fatal',
      code: 'GENESIS_MISMATCH',
      error: 'the data directory holds genesis aa, not the configured genesis bb',
    });
    const pod = (status: Any): V1Pod =>
      ({
        metadata: { name: 'p' },
        spec: { containers: [{ name: 'node', image: 'i' }] },
        status: {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'False' }],
          containerStatuses: [{ name: 'node', image: 'i', imageID: '', restartCount: 3, ...status }],
        },
      }) as V1Pod;
    const backoff = pod({
      ready: false,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 3, message: `{"level":"info"}\n${fatal}\n` } },
    });
    expect(deriveObservation(sts, backoff)).toMatchObject({
      phase: 'Failed',
      ready: false,
      message: 'GENESIS_MISMATCH: the data directory holds genesis aa, not the configured genesis bb',
    });
    // restarted again and briefly running: still the mismatch, not "Running"
    const rerun = pod({ ready: false, state: { running: {} }, lastState: { terminated: { exitCode: 3 } } });
    expect(deriveObservation(sts, rerun)).toMatchObject({
      phase: 'Failed',
      message: expect.stringMatching(/^GENESIS_MISMATCH: /),
    });
    const justExited = pod({ ready: false, state: { terminated: { exitCode: 3, message: fatal } } });
    expect(deriveObservation(sts, justExited).message).toMatch(/^GENESIS_MISMATCH: the data directory holds/);
    // another exit code is a crash loop as before; a node that is ready again is fine
    expect(
      deriveObservation(
        sts,
        pod({
          ready: false,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode: 1 } },
        }),
      ).message,
    ).toMatch(/^CrashLoopBackOff/);
    const recovered = { ...pod({ ready: true, state: { running: {} }, lastState: { terminated: { exitCode: 3 } } }) };
    recovered.status!.conditions = [{ type: 'Ready', status: 'True' }];
    expect(deriveObservation(sts, recovered)).toMatchObject({ phase: 'Running', ready: true });
  });
});
