import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBootstrap } from '../../../src/control-plane/api/bootstrap.js';
import { ChangeBus } from '../../../src/control-plane/domain/events.js';
import type { NodeRecord } from '../../../src/control-plane/domain/types.js';
import { Reconciler, RuntimeResolver } from '../../../src/control-plane/reconciler/index.js';
import type { NodeObservation, NodeSpec } from '../../../src/control-plane/runtimes/runtime.js';
import { LevelStore, queries, repositories } from '../../../src/control-plane/store/index.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';

/** Like a real runtime, a spec change restarts the node: it is not ready for the next `downFor` observations. */
class RestartingRuntime extends FakeRuntime {
  readonly down = new Map<string, number>();
  /** Nodes kept down for good (crashed hosts). */
  readonly broken = new Set<string>();
  maxValidatorsDown = 0;
  constructor(
    world: FakeWorld,
    private readonly downFor = 2,
  ) {
    super(world);
  }

  override async apply(spec: NodeSpec): Promise<void> {
    const existed = this.world.nodes.has(spec.nodeId);
    await super.apply(spec);
    if (existed) this.down.set(spec.nodeId, this.downFor);
    const validatorsDown = [...this.world.nodes.values()].filter(
      (n) => n.spec.role === 'validator' && (this.down.has(n.spec.nodeId) || this.broken.has(n.spec.nodeId)),
    ).length;
    this.maxValidatorsDown = Math.max(this.maxValidatorsDown, validatorsDown);
  }

  override async observe(ref: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<NodeObservation> {
    const obs = await super.observe(ref);
    if (obs.phase === 'Absent') return obs;
    const left = this.down.get(ref.nodeId);
    if (left !== undefined) {
      if (left <= 1) this.down.delete(ref.nodeId);
      else this.down.set(ref.nodeId, left - 1);
      return { ...obs, ready: false };
    }
    return { ...obs, ready: !this.broken.has(ref.nodeId) };
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function setup(validators: number) {
  const dir = mkdtempSync(join(tmpdir(), 'roll-'));
  dirs.push(dir);
  const store = new LevelStore(join(dir, 'store'));
  await store.open();
  await ensureBootstrap(store, { now: Date.now }); // creates the 'local' cluster
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
      status: 'ACTIVE',
      createdAt: at,
      updatedAt: at,
      version: 0,
    });
    const roles: NodeRecord['role'][] = [...Array<NodeRecord['role']>(validators).fill('validator'), 'ordinary'];
    for (const [i, role] of roles.entries()) {
      await repo.nodes.put({
        id: `node_${i}`,
        consortiumId: 'cons_1',
        orgId: 'org_a',
        role,
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
  const runtime = new RestartingRuntime(new FakeWorld());
  const rec = new Reconciler({
    store,
    bus: new ChangeBus(),
    runtimes: new RuntimeResolver({ local: runtime, loadCluster: (id) => queries(store).cluster(id) }),
    nodeImage: 'img:1',
  });
  const passes = async (n: number) => {
    for (let i = 0; i < n; i++) await rec.pass();
  };
  const setImage = (image: string) =>
    store.transact(async (uow) => {
      const repo = repositories(uow);
      const c = (await repo.consortia.get('cons_1'))!;
      await repo.consortia.put({ ...c, nodeImage: image });
    });
  return { store, runtime, passes, setImage };
}

describe('rolling a spec change through a consortium', () => {
  it('restarts validators one at a time, never two down, and every node ends on the new image', async () => {
    const { store, runtime, passes, setImage } = await setup(4);
    await passes(3);
    expect((await queries(store).allNodes()).every((n) => n.status.ready)).toBe(true);
    runtime.maxValidatorsDown = 0;
    await setImage('img:2');
    await passes(30);
    expect(runtime.maxValidatorsDown).toBe(1);
    expect([...runtime.world.nodes.values()].map((n) => n.spec.image)).toEqual(Array(5).fill('img:2'));
    expect((await queries(store).allNodes()).every((n) => n.status.ready)).toBe(true);
    await store.close();
  });

  it('holds a ready validator while the others lack a quorum, and goes on once they are back', async () => {
    const { store, runtime, passes, setImage } = await setup(4);
    await passes(3);
    runtime.broken.add('node_0'); // one validator down for good: the other three are exactly a quorum
    await passes(1);
    runtime.maxValidatorsDown = 0;
    await setImage('img:2');
    await passes(10);
    const nodes = await queries(store).allNodes();
    const held = nodes.filter((n) => n.role === 'validator' && n.id !== 'node_0');
    expect(held.every((n) => runtime.world.nodes.get(n.id)!.spec.image === 'img:1')).toBe(true);
    expect(held.every((n) => n.status.message?.includes('quorum'))).toBe(true);
    expect(runtime.world.nodes.get('node_4')!.spec.image).toBe('img:2'); // the ordinary node is not held
    expect(runtime.world.nodes.get('node_0')!.spec.image).toBe('img:2'); // a down validator costs no quorum
    runtime.broken.delete('node_0');
    await passes(30);
    expect([...runtime.world.nodes.values()].map((n) => n.spec.image)).toEqual(Array(5).fill('img:2'));
    expect(runtime.maxValidatorsDown).toBe(1);
    await store.close();
  });
});
