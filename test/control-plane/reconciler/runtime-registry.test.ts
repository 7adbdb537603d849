import { describe, expect, it } from 'vitest';
import { registerRuntimeFactory, RuntimeResolver } from '../../../src/control-plane/reconciler/index.js';
import type { Cluster } from '../../../src/control-plane/domain/types.js';
import { FakeRuntime, FakeWorld } from '../fake-runtime.js';

describe('RuntimeResolver', () => {
  it('builds one runtime per cluster even when many reconciles ask at once', async () => {
    let built = 0;
    registerRuntimeFactory('kubernetes', () => {
      built++;
      return new FakeRuntime(new FakeWorld());
    });
    const cluster = {
      id: 'cls_1',
      name: 'k',
      kind: 'kubernetes',
      inCluster: true,
      status: 'Ready',
      version: 0,
      createdAt: '',
    } as unknown as Cluster;
    // The store read is asynchronous: every concurrent first call is in flight before any returns.
    const resolver = new RuntimeResolver({
      loadCluster: async (id) => {
        await new Promise((r) => setTimeout(r, 20));
        return id === 'cls_1' ? cluster : undefined;
      },
    });
    const got = await Promise.all(Array.from({ length: 8 }, () => resolver.forCluster('cls_1')));
    expect(built).toBe(1);
    expect(new Set(got).size).toBe(1);
    await expect(resolver.forCluster('cls_missing')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await resolver.closeAll();
  });
});
