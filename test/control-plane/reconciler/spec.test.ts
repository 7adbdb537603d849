import { describe, expect, it } from 'vitest';
import type { Ceremony, NodeRecord } from '../../../src/control-plane/domain/types.js';
import { peersFor, specHash, syncSourcesFor } from '../../../src/control-plane/reconciler/spec.js';

function node(
  id: string,
  role: NodeRecord['role'],
  createdAt: string,
  over: { peerApi?: string; mode?: NodeRecord['mode'] } = {},
): NodeRecord {
  return {
    id,
    consortiumId: 'c1',
    orgId: 'org_a',
    role,
    clusterId: 'local',
    tier: {},
    resources: { cpu: '100m', memory: '64Mi' },
    desired: 'present',
    mode: over.mode ?? 'run',
    generation: 1,
    createdAt,
    version: 0,
    status: {
      phase: 'Running',
      ready: true,
      identity: { publicKey: `pk-${id}`, proofOfPossession: 'pop', verified: true },
      endpoints: {
        api: `http://api-${id}`,
        p2p: `p2p-${id}:1`,
        metrics: `http://api-${id}/metrics`,
        ...(over.peerApi ? { peerApi: over.peerApi } : {}),
      },
    },
  };
}
const ceremony = { nodeIds: ['v1', 'v2', 'v3', 'v4', 'o0'] } as Ceremony;
const vals = ['v1', 'v2', 'v3', 'v4'].map((id) => node(id, 'validator', '2026-01-01T00:00:00Z'));

describe('sync sources and peers of a node spec', () => {
  it('genesis nodes get peers but no sync sources (they replay from genesis)', () => {
    const genesisOrdinary = node('o0', 'ordinary', '2026-01-01T00:00:00Z');
    expect(syncSourcesFor(vals[0]!, [...vals, genesisOrdinary], ceremony)).toEqual([]);
    expect(syncSourcesFor(genesisOrdinary, [...vals, genesisOrdinary], ceremony)).toEqual([]);
    expect(peersFor(vals[0]!, vals, ceremony).map((p) => p.address)).toEqual(['p2p-v2:1', 'p2p-v3:1', 'p2p-v4:1']);
  });

  it('a late light or ordinary node syncs from the full nodes admitted before it, never from light or later nodes', () => {
    const superNode = node('s1', 'super', '2026-01-02T00:00:00Z', { peerApi: 'http://svc-s1.ns.svc:26657' });
    const light = node('l1', 'light', '2026-01-03T00:00:00Z');
    const ordinary = node('o1', 'ordinary', '2026-01-04T00:00:00Z');
    const later = node('s2', 'super', '2026-01-05T00:00:00Z');
    const keygen = node('s0', 'super', '2026-01-01T12:00:00Z', { mode: 'keygen' }); // not admitted yet
    const all = [...vals, superNode, light, ordinary, later, keygen];
    expect(syncSourcesFor(light, all, ceremony)).toEqual([
      'http://svc-s1.ns.svc:26657',
      'http://api-v1',
      'http://api-v2',
      'http://api-v3',
      'http://api-v4',
    ]);
    expect(syncSourcesFor(ordinary, all, ceremony)).toEqual([
      'http://svc-s1.ns.svc:26657',
      'http://api-v1',
      'http://api-v2',
      'http://api-v3',
      'http://api-v4',
    ]);
    expect(syncSourcesFor(later, all, ceremony)).toEqual([]); // a super keeps all history: it block-syncs
    // Light nodes have no P2P listener: nobody dials them.
    expect(peersFor(ordinary, all, ceremony).map((p) => p.publicKey)).not.toContain('pk-l1');
    expect(peersFor(later, all, ceremony).map((p) => p.publicKey)).toEqual([
      'pk-o1',
      'pk-s1',
      'pk-v1',
      'pk-v2',
      'pk-v3',
      'pk-v4',
    ]);
  });
});

describe('specHash and a PKCS#11 PIN', () => {
  const base = {
    nodeId: 'n1',
    consortiumId: 'c1',
    chainId: 'chain-c1',
    orgId: 'o1',
    role: 'validator' as const,
    tier: {},
    resources: { cpu: '1', memory: '1Gi' },
    mode: 'keygen' as const,
    peers: [],
    key: {
      backend: 'pkcs11' as const,
      provider: 'hsm',
      module: '/usr/lib/x.so',
      tokenLabel: 't',
      keyLabel: 'k',
    },
  };
  const secret = Buffer.alloc(32, 7);

  it('changes with the PIN only through a keyed tag: the stored hash cannot be used to guess a short PIN', () => {
    const a = specHash({ ...base, keyPin: '1234' }, secret);
    expect(specHash({ ...base, keyPin: '1234' }, secret)).toBe(a);
    expect(specHash({ ...base, keyPin: '1235' }, secret)).not.toBe(a);
    // without the node-secrets key the PIN does not enter the hash at all
    expect(specHash({ ...base, keyPin: '1234' })).toBe(specHash(base));
    expect(specHash({ ...base, keyPin: '1234' }, Buffer.alloc(32, 8))).not.toBe(a);
    // a spec without a PIN hashes as before (nodes are not re-applied on upgrade)
    expect(specHash(base, secret)).toBe(specHash(base));
  });
});
