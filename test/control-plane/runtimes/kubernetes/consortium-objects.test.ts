import { describe, expect, it } from 'vitest';
import {
  buildNamespace,
  buildNetworkPolicy,
  buildValidatorPdb,
  faultTolerance,
  resolveOptions,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import { opts } from './fixtures.js';

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('consortium manifest builders', () => {
  it('match the snapshot', () => {
    expect([
      buildNamespace('consortia-c1', 'c1'),
      buildNetworkPolicy('consortia-c1', 'c1', opts),
      buildValidatorPdb('consortia-c1', 'c1', 4),
    ]).toMatchSnapshot();
  });

  it.each([
    [1, 0],
    [3, 0],
    [4, 1],
    [6, 1],
    [7, 2],
    [10, 3],
  ])('%i validators -> PDB maxUnavailable %i (quorum kept)', (n, f) => {
    expect(faultTolerance(n)).toBe(f);
    const pdb = buildValidatorPdb('ns', 'c1', n) as Any;
    expect(pdb.spec.maxUnavailable).toBe(f);
    expect(pdb.spec.selector.matchLabels).toEqual({
      'consortia.io/consortium': 'c1',
      'consortia.io/role': 'validator',
    });
  });

  it('no validators -> no PDB', () => {
    expect(buildValidatorPdb('ns', 'c1', 0)).toBeUndefined();
  });

  it("network policy: only this consortium's node pods (plus listed CIDRs) reach P2P; API open", () => {
    const np = buildNetworkPolicy('consortia-c1', 'c1', opts) as Any;
    expect(np.spec.podSelector.matchLabels).toEqual({
      'consortia.io/consortium': 'c1',
      'app.kubernetes.io/name': 'consortia-node',
    });
    const [p2p, api] = np.spec.ingress;
    expect(p2p.ports).toEqual([{ protocol: 'TCP', port: 26656 }]);
    expect(p2p.from).toEqual([
      { podSelector: { matchLabels: { 'consortia.io/consortium': 'c1', 'app.kubernetes.io/name': 'consortia-node' } } },
    ]);
    expect(api).toEqual({ ports: [{ protocol: 'TCP', port: 26657 }] });
    const multi = buildNetworkPolicy(
      'ns',
      'c1',
      resolveOptions({ image: 'x:1', p2pAllowedCidrs: ['203.0.113.0/24'] }),
    ) as Any;
    expect(multi.spec.ingress[0].from).toContainEqual({ ipBlock: { cidr: '203.0.113.0/24' } });
    expect(buildNetworkPolicy('ns', 'c2', opts).spec).not.toEqual(np.spec);
  });

  it('namespace enforces the restricted pod security standard', () => {
    expect(buildNamespace('consortia-c1', 'c1').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe(
      'restricted',
    );
  });
});
