import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBootstrap } from '../../../src/control-plane/api/bootstrap.js';
import { ChangeBus } from '../../../src/control-plane/domain/events.js';
import type { Ceremony, ChangeEvent, NodeRecord } from '../../../src/control-plane/domain/types.js';
import { createControlPlaneMetrics } from '../../../src/control-plane/metrics.js';
import { ReconcileBacklog } from '../../../src/control-plane/reconciler/backlog.js';
import { Reconciler, RuntimeResolver } from '../../../src/control-plane/reconciler/index.js';
import { observeLifecycle } from '../../../src/control-plane/reconciler/lifecycle-metrics.js';
import { LevelStore, queries, repositories } from '../../../src/control-plane/store/index.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function gauge(registry: Registry, name: string): Promise<number | undefined> {
  return (await registry.getMetricsAsJSON()).find((m) => m.name === name)?.values[0]?.value;
}

describe('reconcile backlog', () => {
  it('keeps when each item became pending and reports the oldest', () => {
    const b = new ReconcileBacklog();
    b.update(['a', 'b'], 1_000);
    b.update(['a', 'b', 'c'], 5_000);
    expect(b.depth()).toBe(3);
    expect(b.oldestAgeSeconds(11_000)).toBe(10);
    b.update(['c'], 12_000);
    expect(b.depth()).toBe(1);
    expect(b.oldestAgeSeconds(12_000)).toBe(7);
    b.update([], 13_000);
    expect(b.depth()).toBe(0);
    expect(b.oldestAgeSeconds(99_000)).toBe(0);
  });

  it('the reconciler reports new nodes as backlog until they run, with their age read at scrape time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-obs-'));
    dirs.push(dir);
    const store = new LevelStore(join(dir, 'store'));
    await store.open();
    await ensureBootstrap(store, { now: Date.now }); // registers the local cluster
    const at = new Date().toISOString();
    await store.transact(async (uow) => {
      const repo = repositories(uow);
      await repo.consortia.put({
        id: 'cons_1',
        name: 'c',
        chainId: 'consortia-1',
        founders: ['org_a'],
        params: { blockIntervalMs: 500, maxBlockBytes: 1 << 20, maxTxBytes: 65536, maxBlockTxs: 1000 },
        votingPolicy: { thresholdPercentage: 50, thresholdComparator: 'GREATER_THAN', proposalDurationSeconds: 60 },
        status: 'FORMING',
        createdAt: at,
        updatedAt: at,
        version: 0,
      });
      for (const id of ['node_0', 'node_1']) {
        await repo.nodes.put({
          id,
          consortiumId: 'cons_1',
          orgId: 'org_a',
          role: 'validator',
          clusterId: 'local',
          tier: {},
          resources: { cpu: '100m', memory: '64Mi' },
          desired: 'present',
          mode: 'keygen',
          generation: 1,
          status: { phase: 'Pending', ready: false },
          createdAt: at,
          version: 0,
        } satisfies NodeRecord);
      }
    });
    const registry = new Registry();
    const metrics = createControlPlaneMetrics(registry);
    let now = 1_000_000;
    const runtimes = new RuntimeResolver({
      local: new FakeRuntime(new FakeWorld()),
      loadCluster: (id) => queries(store).cluster(id),
    });
    const r = new Reconciler({ store, bus: new ChangeBus(), runtimes, metrics, now: () => now });
    await r.pass(); // sees two new nodes, applies them
    now += 42_000;
    expect(await gauge(registry, 'consortia_reconcile_queue_depth')).toBe(2);
    expect(await gauge(registry, 'consortia_reconcile_queue_oldest_age_seconds')).toBe(42);
    const nodes = (await registry.getMetricsAsJSON()).find((m) => m.name === 'consortia_nodes')!.values;
    expect(nodes).toContainEqual({ labels: { consortium: 'cons_1', role: 'validator', status: 'Pending' }, value: 2 });
    await r.pass(); // both run their spec now
    expect(await gauge(registry, 'consortia_reconcile_queue_depth')).toBe(0);
    expect(await gauge(registry, 'consortia_reconcile_queue_oldest_age_seconds')).toBe(0);
    await store.close();
  });
});

describe('ceremony and proposal durations', () => {
  const ev = (type: string, resource: string, at: string, data: unknown): ChangeEvent => ({
    id: 'e',
    type,
    resource,
    at,
    orgIds: [],
    data,
  });

  it('observes a proposal outcome from its creation time, and ignores other events', async () => {
    const registry = new Registry();
    const m = createControlPlaneMetrics(registry);
    const none = async (): Promise<undefined> => undefined;
    await observeLifecycle(
      ev('proposal.approved', 'consortia/c/proposals/p', '2030-01-01T00:10:00.000Z', {
        createdAt: '2030-01-01T00:00:00.000Z',
      }),
      m,
      none,
    );
    await observeLifecycle(
      ev('proposal.voted', 'consortia/c/proposals/p', '2030-01-01T00:05:00.000Z', {
        createdAt: '2030-01-01T00:00:00.000Z',
      }),
      m,
      none,
    );
    const text = await registry.metrics();
    expect(text).toContain('consortia_proposal_duration_seconds_sum{outcome="approved"} 600');
    expect(text).toContain('consortia_proposal_duration_seconds_count{outcome="approved"} 1');
    expect(text).not.toContain('outcome="voted"');
  });

  it('observes the phases of a sealed ceremony from its record', async () => {
    const registry = new Registry();
    const m = createControlPlaneMetrics(registry);
    const cer = {
      consortiumId: 'c1',
      status: 'SEALED',
      nodeIds: [],
      approvals: [],
      startedAt: '2030-01-01T00:00:00.000Z',
      sealedAt: '2030-01-01T01:00:00.000Z',
      transcript: [
        { seq: 1, type: 'genesis.assembled', at: '2030-01-01T00:15:00.000Z', data: {}, prevHash: '', hash: '' },
      ],
      version: 1,
    } as unknown as Ceremony;
    await observeLifecycle(ev('ceremony.sealed', 'consortia/c1/ceremony', cer.sealedAt!, {}), m, async (cid) =>
      cid === 'c1' ? cer : undefined,
    );
    const text = await registry.metrics();
    expect(text).toContain('consortia_ceremony_duration_seconds_sum{phase="collecting_keys"} 900');
    expect(text).toContain('consortia_ceremony_duration_seconds_sum{phase="awaiting_approvals"} 2700');
    expect(text).toContain('consortia_ceremony_duration_seconds_sum{phase="total"} 3600');
  });
});
