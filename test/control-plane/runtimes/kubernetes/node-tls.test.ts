import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCa } from '../../../../src/lib/tls-ca.js';
import {
  NodeCertificates,
  nodeCertNames,
  nodePodServerName,
} from '../../../../src/control-plane/runtimes/kubernetes/node-tls.js';
import { opts } from './fixtures.js';

describe('node certificates of the kubernetes runtime (node-tls.ts)', () => {
  const ref = { nodeId: 'n1', consortiumId: 'c1' };

  it('names the client Service in every resolvable form and the pod behind the headless Service', () => {
    expect(nodeCertNames('n1', 'consortia-c1', opts)).toEqual([
      'node-n1.consortia-c1.svc.cluster.local',
      'node-n1',
      'node-n1.consortia-c1',
      'node-n1.consortia-c1.svc',
      'node-n1-0.node-n1-p2p.consortia-c1.svc.cluster.local',
      'node-n1-0.node-n1-p2p.consortia-c1.svc',
    ]);
    expect(nodeCertNames('n1', 'consortia-c1', opts)).toContain(nodePodServerName('n1', 'consortia-c1', opts));
  });

  it('issues one certificate per node from the CA, keeps it, and issues anew for a new CA or after forget', async () => {
    let ca = await createCa('ca-1');
    const certs = new NodeCertificates(async () => ca);
    const first = await certs.forNode(ref, 'consortia-c1', opts);
    const leaf = new X509Certificate(first.cert);
    expect(leaf.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(leaf.subjectAltName).toContain('DNS:node-n1.consortia-c1.svc.cluster.local');
    expect(first.ca).toBe(ca.cert);
    expect(await certs.forNode(ref, 'consortia-c1', opts)).toBe(first);
    const other = await certs.forNode({ nodeId: 'n2', consortiumId: 'c1' }, 'consortia-c1', opts);
    expect(other.key).not.toBe(first.key);
    expect(other.digest).not.toBe(first.digest);
    certs.forget(ref);
    const reissued = await certs.forNode(ref, 'consortia-c1', opts);
    expect(reissued.cert).not.toBe(first.cert);
    // same CA and names: same digest, so the pod is not restarted for a re-issue
    expect(reissued.digest).toBe(first.digest);
    ca = await createCa('ca-2');
    const rotated = await certs.forNode(ref, 'consortia-c1', opts);
    expect(rotated.digest).not.toBe(first.digest);
    expect(new X509Certificate(rotated.cert).checkIssued(new X509Certificate(ca.cert))).toBe(true);
  });
});
