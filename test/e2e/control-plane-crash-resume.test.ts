/**
 * The control plane is killed with SIGKILL while four validators are being provisioned; after a
 * restart the reconciler resumes, the local runtime adopts the node processes that survived
 * (pid file + command line) and provisioning finishes with exactly one process per node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtArtifactsPresent, startControlPlane, type ControlPlane } from '../harness/cp-harness.js';
import { client, createOrg, nodeProcessesUnder, waitFor } from '../harness/cp-api.js';

describe.skipIf(!builtArtifactsPresent())('control plane e2e: SIGKILL while provisioning', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane({ hostRange: { first: 150, last: 199 } });
  });
  afterAll(async () => {
    await cp?.shutdown();
  });

  it('resumes and finishes with no duplicate node processes', async () => {
    const admin = client(cp.url, cp.token);
    const a = await createOrg(admin, cp.url, 'acme');
    const b = await createOrg(admin, cp.url, 'globex');
    const created = await a.call('POST', '/v1/consortia', {
      name: 'crashy',
      founders: [a.id, b.id],
      params: { blockIntervalMs: 200, maxBlockBytes: 1 << 20 },
      votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
    });
    expect(created.status).toBe(201);
    const cid = created.body.id;
    const ids: string[] = [];
    for (const org of [a, a, b, b]) {
      const r = await org.call(
        'POST',
        `/v1/consortia/${cid}/nodes`,
        { orgId: org.id, role: 'validator', clusterId: 'local' },
        { 'idempotency-key': `crash-${ids.length}` },
      );
      expect(r.status).toBe(202);
      ids.push(r.body.id);
    }
    // Let provisioning get under way (some processes started, some not), then pull the plug.
    await waitFor(
      'first node process',
      async () => (await nodeProcessesUnder(cp.nodesDir)).size > 0 || undefined,
      20_000,
      50,
    );
    await cp.kill9();
    const survivors = await nodeProcessesUnder(cp.nodesDir);
    await cp.restart();
    const nodes = await waitFor(
      'all four nodes provisioned after restart',
      async () => {
        const r = await a.call('GET', `/v1/consortia/${cid}/nodes`);
        const items = r.body.items as any[];
        return items.length === 4 && items.every((n) => n.status.phase === 'Running' && n.status.identity)
          ? items
          : undefined;
      },
      90_000,
      500,
    );
    expect(nodes.map((n) => n.id).sort()).toEqual([...ids].sort());
    // give a duplicate (if any were started) time to show up, then count processes per node config
    await new Promise((r) => setTimeout(r, 1500));
    const procs = await nodeProcessesUnder(cp.nodesDir);
    expect(procs.size).toBe(4);
    for (const [config, pids] of procs) expect(pids, config).toHaveLength(1);
    // processes that survived the crash were adopted, not replaced
    for (const [config, pids] of survivors) expect(procs.get(config), config).toEqual(pids);
    // node keys are stable: each reported identity is distinct
    expect(new Set(nodes.map((n) => n.status.identity.publicKey)).size).toBe(4);
  });
});
