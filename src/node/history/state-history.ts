import { WorldState, bytesEqual, decodeBlock, toHex, type Hash } from '../../chain/index.js';
import { ConsortiaError } from '../../lib/errors.js';
import { StoreKeys, type ChainStore } from '../store/index.js';

/**
 * Archive state queries of a super node. Every state write is kept under its height
 * (v/<key>\0<h12>, genesis at height 0), so a value at height H is one reverse seek. A proof at
 * H needs the tree at H: it is rebuilt from the history (O(history) scan), checked against the
 * state root in header H, and cached. Storing every SMT node per block instead would multiply
 * the archive's writes by the tree depth on the hot commit path; the rebuild is paid only by
 * the (rare) historical proof query.
 */
export class StateHistory {
  private cache = new Map<number, WorldState>();

  constructor(private readonly store: ChainStore) {}

  /** Value of `key` after block `height` (undefined = absent). */
  async valueAt(key: string, height: number): Promise<Uint8Array | undefined> {
    const rows = await this.store.scan(`v/${key}\0`, StoreKeys.history(key, height + 1), 1, true);
    const v = rows[0]?.[1];
    if (v === undefined || v[0] === 0) return undefined;
    return v.subarray(1);
  }

  /** The full state after block `height`, verified against that header's state root. */
  async stateAt(height: number): Promise<{ state: WorldState; stateRoot: Hash }> {
    const hit = this.cache.get(height);
    const bytes = await this.store.getBlockBytes(height);
    if (!bytes) throw new ConsortiaError('NOT_FOUND', `block ${height} not found`);
    const root = decodeBlock(bytes).header.stateRoot;
    if (hit) return { state: hit, stateRoot: root };
    const latest = new Map<string, Uint8Array | null>();
    for (const [k, v] of await this.store.scan('v/', 'v0')) {
      const sep = k.lastIndexOf('\0');
      if (Number(k.slice(sep + 1)) > height) continue;
      latest.set(k.slice(2, sep), v[0] === 0 ? null : v.subarray(1)); // rows are height-ordered per key
    }
    const entries: [string, Uint8Array][] = [];
    for (const [k, v] of latest) if (v !== null) entries.push([k, v]);
    const state = WorldState.fromEntries(entries);
    if (!bytesEqual(state.root(), root)) {
      throw new ConsortiaError('INTERNAL', `state history does not rebuild the root of block ${height}`, {
        expected: toHex(root),
      });
    }
    if (this.cache.size >= 4) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(height, state);
    return { state, stateRoot: root };
  }
}
