import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { K, LevelStore } from '../../../src/control-plane/store/index.js';

describe('change log (commit-ordered sequence of consortium audit records)', () => {
  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'cp-chg-'));
    dirs.push(d);
    return join(d, 'store');
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('numbers records in commit order (not id order), skips other resources, and continues after reopening', async () => {
    const path = fresh();
    let store = new LevelStore(path);
    await store.open();
    expect(store.lastChangeSeq()).toBe(0);
    // staged first with the smaller id, committed second
    const early = store.begin();
    await early.append(K.audit('000001'), { resource: 'consortia/c1/proposals/p1' });
    const late = store.begin();
    await late.append(K.audit('000002'), { resource: 'consortia/c1/nodes/n1' });
    await late.commit();
    await early.commit();
    const other = store.begin();
    await other.append(K.audit('000003'), { resource: '/v1/organizations' });
    await other.commit();
    const log = await store.after<{ seq: number; auditKey: string }>(K.changes(), undefined, 10);
    expect(log.map((e) => [e.seq, e.auditKey])).toEqual([
      [1, K.audit('000002')],
      [2, K.audit('000001')],
    ]);
    expect(store.lastChangeSeq()).toBe(2);
    expect((await store.after<{ seq: number }>(K.changes(), K.change(1), 10)).map((e) => e.seq)).toEqual([2]);
    await store.close();
    store = new LevelStore(path);
    await store.open();
    expect(store.lastChangeSeq()).toBe(2);
    const again = store.begin();
    await again.append(K.audit('000004'), { resource: 'consortia/c1' });
    await again.commit();
    expect((await store.after<{ seq: number }>(K.changes(), K.change(2), 10)).map((e) => e.seq)).toEqual([3]);
    await store.close();
  });
});
