import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBootstrap } from '../../../src/control-plane/api/bootstrap.js';
import { ChangeBus } from '../../../src/control-plane/domain/events.js';
import type { NodeRecord } from '../../../src/control-plane/domain/types.js';
import { Reconciler, RuntimeResolver } from '../../../src/control-plane/reconciler/index.js';
import { LevelStore, queries, repositories } from '../../../src/control-plane/store/index.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openStore(dir: string) {
  const store = new LevelStore(join(dir, 'store'));
  await store.open();
  return store;
}

async function seed(store: LevelStore, n: number): Promise<string[]> {
  await ensureBootstrap(store, { now: Date.now });
  const ids: string[] = [];
  await store.transact(async (uow) => {
    const repo = repositories(uow);
    const at = new Date().toISOString();
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
    for (let i = 0; i < n; i++) {
      const id = `node_${i}`;
      ids.push(id);
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
  return ids;
}

function reconciler(store: LevelStore, world: FakeWorld) {
  const runtimes = new RuntimeResolver({
    local: new FakeRuntime(world),
    loadCluster: (id) => queries(store).cluster(id),
  });
  return new Reconciler({ store, bus: new ChangeBus(), runtimes, intervalMs: 20 });
}

describe('reconciler', () => {
  it('provisions every node, reports identity/endpoints, and a second pass changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    dirs.push(dir);
    const store = await openStore(dir);
    await seed(store, 3);
    const world = new FakeWorld();
    const r = reconciler(store, world);
    await r.pass();
    const nodes = await queries(store).allNodes();
    expect(nodes.map((n) => n.status.phase)).toEqual(['Running', 'Running', 'Running']);
    expect(nodes.every((n) => n.status.identity?.verified && n.status.endpoints?.api)).toBe(true);
    const applies = world.applies;
    await r.pass();
    expect(world.applies).toBe(applies); // steady state: observe only
    expect(world.creates).toBe(3);
    await store.close();
  });

  it('resumes after being killed mid-provisioning without creating duplicate nodes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    dirs.push(dir);
    const world = new FakeWorld();
    world.hangAfterCreate = true;
    let store = await openStore(dir);
    await seed(store, 3);
    const first = reconciler(store, world);
    void first.pass(); // never completes: apply hangs after creating, like a SIGKILL mid-call
    for (let i = 0; i < 200 && world.creates < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(world.creates).toBe(3);
    expect((await queries(store).allNodes()).every((n) => n.status.phase === 'Pending')).toBe(true);
    await store.close();

    world.hangAfterCreate = false;
    store = await openStore(dir);
    const second = reconciler(store, world);
    second.start();
    for (let i = 0; i < 200; i++) {
      const nodes = await queries(store).allNodes();
      if (nodes.every((n) => n.status.phase === 'Running')) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await second.stop();
    const nodes = await queries(store).allNodes();
    expect(nodes.every((n) => n.status.phase === 'Running')).toBe(true);
    expect(world.creates).toBe(3);
    expect(world.nodes.size).toBe(3);
    await store.close();
  });

  it('retries failures with backoff and records the error in status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    dirs.push(dir);
    const store = await openStore(dir);
    await seed(store, 1);
    const world = new FakeWorld();
    world.failApplies = 2;
    const r = reconciler(store, world);
    await r.pass();
    let n = (await queries(store).allNodes())[0]!;
    expect(n.status.message).toMatch(/transient runtime failure/);
    await r.pass(); // still backing off: no new attempt
    expect(world.applies).toBe(1);
    r.start();
    for (let i = 0; i < 300 && n.status.phase !== 'Running'; i++) {
      await new Promise((res) => setTimeout(res, 10));
      n = (await queries(store).allNodes())[0]!;
    }
    await r.stop();
    expect(n.status.phase).toBe('Running');
    expect(world.applies).toBe(3);
    expect(world.creates).toBe(1);
    await store.close();
  });

  it('deletes nodes whose desired state is deleted, once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rec-'));
    dirs.push(dir);
    const store = await openStore(dir);
    await seed(store, 2);
    const world = new FakeWorld();
    const r = reconciler(store, world);
    await r.pass();
    await store.transact(async (uow) => {
      const repo = repositories(uow);
      const n = (await repo.nodes.get('cons_1', 'node_0'))!;
      await repo.nodes.put({ ...n, desired: 'deleted', status: { ...n.status, phase: 'Terminating' } });
    });
    await r.pass();
    await r.pass();
    expect(world.nodes.has('node_0')).toBe(false);
    expect(world.deletes).toBe(1);
    expect((await queries(store).node('cons_1', 'node_0'))!.status.phase).toBe('Deleted');
    expect(world.nodes.has('node_1')).toBe(true);
    await store.close();
  });
});
