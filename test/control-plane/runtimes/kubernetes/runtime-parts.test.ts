import { describe, expect, it } from 'vitest';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import {
  canTakeDown,
  deriveObservation,
  dnsLabel,
  labelValue,
  namespaceName,
  podReadyWithImage,
  quorumSize,
  resolveOptions,
  upgradeOrder,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import { conflictManagers } from '../../../../src/control-plane/runtimes/kubernetes/client.js';

const pod = (phase: string, ready: boolean, extra: Partial<V1Pod['status']> = {}, image = 'img:1'): V1Pod => ({
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'node', image }] },
  status: { phase, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }], ...extra },
});
const sts = { metadata: { name: 's' } } as V1StatefulSet;

describe('names', () => {
  it('sanitizes ids into DNS labels, hash-suffixed when changed, never colliding', () => {
    expect(dnsLabel('abc-1')).toBe('abc-1');
    expect(dnsLabel('Node_1')).toMatch(/^node-1-[0-9a-f]{6}$/);
    expect(dnsLabel('Node_1')).not.toBe(dnsLabel('node-1'));
    expect(dnsLabel('x'.repeat(100)).length).toBeLessThanOrEqual(63);
    expect(namespaceName('consortia-', 'cns_ABC')).toMatch(/^consortia-cns-abc-[0-9a-f]{6}$/);
    expect(labelValue('a/b')).toBe('a-b');
    expect(labelValue('y'.repeat(80)).length).toBeLessThanOrEqual(63);
  });
});

describe('options', () => {
  it('fills defaults and rejects invalid values', () => {
    const o = resolveOptions({ image: 'x:1', storageClasses: { validator: 'gp3' } });
    expect(o.storage.validator).toEqual({ storageClass: 'gp3', size: '50Gi' });
    expect(o.fieldManager).toBe('consortia');
    expect(() => resolveOptions({ storage: { light: { size: 'lots' } } })).toThrow(/storage.light.size/);
    expect(() => resolveOptions({ namespacePrefix: 'Bad_' })).toThrow(/namespacePrefix/);
    expect(() => resolveOptions({ kubeconfig: 'x', inCluster: true })).toThrow(/either/);
  });
});

describe('status from the API', () => {
  it('maps StatefulSet/Pod state to the node phase', () => {
    expect(deriveObservation(undefined, undefined).phase).toBe('Absent');
    expect(deriveObservation(sts, undefined)).toMatchObject({ phase: 'Pending', ready: false });
    expect(deriveObservation(sts, pod('Running', false))).toMatchObject({ phase: 'Running', ready: false });
    expect(deriveObservation(sts, pod('Running', true))).toMatchObject({ phase: 'Running', ready: true, restarts: 0 });
    const crash = pod('Running', false, {
      containerStatuses: [
        {
          name: 'node',
          image: 'i',
          imageID: '',
          ready: false,
          restartCount: 5,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
        },
      ],
    });
    expect(deriveObservation(sts, crash)).toMatchObject({ phase: 'Failed', restarts: 5 });
    expect(deriveObservation(sts, pod('Failed', false)).phase).toBe('Failed');
    // A Ready pod made from an older template (config hash or image) is not ready for the current spec.
    const rolled = {
      metadata: { name: 's' },
      spec: {
        template: {
          metadata: { annotations: { 'consortia.io/config-hash': 'h2' } },
          spec: { containers: [{ name: 'node', image: 'img:2' }] },
        },
      },
    } as unknown as V1StatefulSet;
    const stale = {
      ...pod('Running', true, {}, 'img:2'),
      metadata: { annotations: { 'consortia.io/config-hash': 'h1' } },
    } as V1Pod;
    expect(deriveObservation(rolled, stale)).toMatchObject({
      phase: 'Running',
      ready: false,
      message: expect.stringContaining('rolling'),
    });
    const oldImage = {
      ...pod('Running', true, {}, 'img:1'),
      metadata: { annotations: { 'consortia.io/config-hash': 'h2' } },
    } as V1Pod;
    expect(deriveObservation(rolled, oldImage).ready).toBe(false);
    const fresh = {
      ...pod('Running', true, {}, 'img:2'),
      metadata: { annotations: { 'consortia.io/config-hash': 'h2' } },
    } as V1Pod;
    expect(deriveObservation(rolled, fresh)).toMatchObject({ phase: 'Running', ready: true });
  });

  it('adds what the node reports', () => {
    const o = deriveObservation(sts, pod('Running', true), {
      identity: { publicKey: 'aa', proofOfPossession: 'bb' },
      status: { height: 12, peers: [1, 2, 3] },
    });
    expect(o.identity).toEqual({ publicKey: 'aa', proofOfPossession: 'bb' });
    expect(o.message).toBe('height 12, 3 peers');
  });

  it('upgrade step is done only when the pod runs the new image and is ready', () => {
    expect(podReadyWithImage(pod('Running', true, {}, 'img:2'), 'img:2')).toBe(true);
    expect(podReadyWithImage(pod('Running', true, {}, 'img:1'), 'img:2')).toBe(false);
    expect(podReadyWithImage(pod('Running', false, {}, 'img:2'), 'img:2')).toBe(false);
  });
});

describe('rolling upgrade plan', () => {
  it('keeps quorum', () => {
    expect(quorumSize(4)).toBe(3);
    expect(quorumSize(7)).toBe(5);
    expect(canTakeDown(3, 4)).toBe(true); // the 3 others are ready
    expect(canTakeDown(2, 4)).toBe(false); // one other is already down
    expect(canTakeDown(0, 1)).toBe(false); // a single validator can never go down safely
  });

  it('upgrades non-validators first, then validators in id order', () => {
    const order = upgradeOrder([
      { nodeId: 'v2', role: 'validator' as const },
      { nodeId: 'o1', role: 'ordinary' as const },
      { nodeId: 'v1', role: 'validator' as const },
    ]);
    expect(order.map((n) => n.nodeId)).toEqual(['o1', 'v1', 'v2']);
  });
});

describe('conflict parsing', () => {
  it('extracts the managers named in a 409', () => {
    expect(
      conflictManagers({
        causes: [
          { message: 'conflict with "kubectl-edit" using apps/v1: .spec.replicas' },
          { message: 'conflict with "hpa" with subresource "scale"' },
        ],
      }),
    ).toEqual(['kubectl-edit', 'hpa']);
  });
});
