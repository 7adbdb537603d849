import type { KubernetesObject } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  ANNOTATION,
  requestForEvent,
  requestForObject,
  requestKey,
  type EventMappingView,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import { writeMarker } from '../../../../src/control-plane/runtimes/kubernetes/object-writer.js';

const obj = (
  annotations: Record<string, string>,
  extra: Partial<KubernetesObject['metadata']> = {},
): KubernetesObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'n', namespace: 'ns', annotations, resourceVersion: '7', ...extra },
});
const nodeObj = obj({ [ANNOTATION.consortiumId]: 'c1', [ANNOTATION.nodeId]: 'n1' });
const consObj = obj({ [ANNOTATION.consortiumId]: 'c1' });
const view = (over: Partial<EventMappingView> = {}): EventMappingView => ({
  hasNodes: () => true,
  isOwnWrite: () => false,
  ...over,
});

describe('watch events to reconcile requests', () => {
  it("maps a node's objects to its node and shared objects to their consortium", () => {
    expect(requestForObject('Service', nodeObj, view())).toEqual({ kind: 'node', consortiumId: 'c1', nodeId: 'n1' });
    expect(requestForObject('NetworkPolicy', consObj, view())).toEqual({ kind: 'consortium', consortiumId: 'c1' });
    expect(requestForObject('PodDisruptionBudget', consObj, view())).toEqual({
      kind: 'consortium',
      consortiumId: 'c1',
    });
    // a consortium this runtime runs no node of is not ours to reconcile
    expect(requestForObject('NetworkPolicy', consObj, view({ hasNodes: () => false }))).toBeUndefined();
    // only the shared kinds belong to a consortium; unannotated objects to nobody
    expect(requestForObject('Service', consObj, view())).toBeUndefined();
    expect(requestForObject('Service', obj({}), view())).toBeUndefined();
  });

  it('ignores pods and our own writes, never a deletion', () => {
    expect(requestForEvent('Pod', 'update', nodeObj, view())).toBeUndefined();
    expect(requestForEvent('Service', 'update', nodeObj, view({ isOwnWrite: () => true }))).toBeUndefined();
    expect(requestForEvent('Service', 'update', nodeObj, view())).toEqual({
      kind: 'node',
      consortiumId: 'c1',
      nodeId: 'n1',
    });
    expect(requestForEvent('Service', 'delete', nodeObj, view({ isOwnWrite: () => true }))).toEqual({
      kind: 'node',
      consortiumId: 'c1',
      nodeId: 'n1',
    });
  });

  it('keys node and consortium requests apart, even for look-alike ids', () => {
    const keys = new Set([
      requestKey({ kind: 'node', consortiumId: 'a', nodeId: 'b' }),
      requestKey({ kind: 'node', consortiumId: 'a:b', nodeId: '' }),
      requestKey({ kind: 'consortium', consortiumId: 'a' }),
      requestKey({ kind: 'consortium', consortiumId: 'a:b' }),
    ]);
    expect(keys.size).toBe(4);
  });

  it('tells our own last write from a later change by generation (StatefulSet) or resourceVersion', () => {
    expect(writeMarker({ kind: 'StatefulSet', metadata: { generation: 3, resourceVersion: '9' } })).toBe('g3');
    expect(writeMarker({ kind: 'Service', metadata: { generation: 3, resourceVersion: '9' } })).toBe('rv9');
  });
});
