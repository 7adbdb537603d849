import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LevelStore } from '../../../src/control-plane/store/index.js';

describe('LevelStore', () => {
  let dir: string;
  let store: LevelStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'store-'));
    store = new LevelStore(join(dir, 'db'));
    await store.open();
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a unit of work commits all writes or none', async () => {
    await store.transact(async (uow) => {
      await uow.create('x/1', { version: 0, v: 1 });
    });
    const uow = store.begin();
    await uow.put('x/2', { version: 0, v: 2 });
    await uow.create('x/1', { version: 0, v: 9 }).catch(() => undefined); // fails: exists
    // a conflicting write makes the whole batch fail
    const other = store.begin();
    const cur = await other.get<{ version: number; v: number }>('x/1');
    await other.put('x/1', { ...cur!, v: 3 });
    await other.commit();
    const uow2 = store.begin();
    await uow2.get('x/1');
    await uow2.put('x/3', { version: 0, v: 3 });
    await uow2.put('x/1', { version: 0, v: 4 });
    await store.transact(async (u) => {
      const r = await u.get<{ version: number; v: number }>('x/1');
      await u.put('x/1', { ...r!, v: 5 });
    });
    await expect(uow2.commit()).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(await store.get('x/3')).toBeUndefined();
    expect((await store.get<{ v: number; version: number }>('x/1'))!).toMatchObject({ v: 5, version: 3 });
  });

  it('concurrent read-modify-write through transact never loses an update', async () => {
    await store.transact(async (uow) => {
      await uow.create('counter', { version: 0, n: 0 });
    });
    await Promise.all(
      Array.from({ length: 25 }, () =>
        store.transact(async (uow) => {
          const c = await uow.get<{ version: number; n: number }>('counter');
          await new Promise((r) => setTimeout(r, Math.random() * 3));
          await uow.put('counter', { ...c!, n: c!.n + 1 });
        }, 100),
      ),
    );
    expect((await store.get<{ n: number }>('counter'))!.n).toBe(25);
  });

  it('lists by prefix with cursor pagination', async () => {
    await store.transact(async (uow) => {
      for (let i = 0; i < 5; i++) await uow.create(`p/${i}`, { version: 0, i });
      await uow.create('q/0', { version: 0, i: 99 });
    });
    const p1 = await store.list<{ i: number }>('p/', { limit: 2 });
    expect(p1.items.map((x) => x.i)).toEqual([0, 1]);
    const p2 = await store.list<{ i: number }>('p/', { limit: 2, cursor: p1.nextCursor });
    expect(p2.items.map((x) => x.i)).toEqual([2, 3]);
    const p3 = await store.list<{ i: number }>('p/', { limit: 2, cursor: p2.nextCursor });
    expect(p3.items.map((x) => x.i)).toEqual([4]);
    expect(p3.nextCursor).toBeNull();
  });
});
