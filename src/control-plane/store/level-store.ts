/**
 * Embedded store on `level`. Records are JSON values with a `version` the store maintains.
 * Writes go through a UnitOfWork: reads remember the version they saw, writes are staged,
 * and commit() checks every written key still has the version that was read and writes
 * everything in ONE level batch (one request = one atomic batch). Commits are serialized,
 * so a stale writer gets VERSION_CONFLICT instead of silently overwriting (no lost writes).
 */
import { Level } from 'level';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import { K } from './keys.js';
import { Mutex } from './mutex.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ListOptions {
  limit?: number;
  cursor?: string | null;
}

type Json = Record<string, unknown> & { version?: number };

/**
 * Resources whose changes enter the change log (K.change): those of consortia, the only ones webhook
 * subscriptions deliver (delivery/events.ts changeMatches). Others (organizations, tokens, refused
 * requests, whose audit records api/auth-failures.ts prunes) would only grow it.
 */
const CHANGE_LOGGED_RESOURCE_PREFIX = 'consortia/';

export class LevelStore {
  private readonly db: Level<string, Json>;
  private readonly commitLock = new Mutex();
  private listeners: ((keys: string[]) => void)[] = [];
  /** Last sequence of the change log (K.change): assigned under the commit lock, so in commit order. */
  private changeSeq = 0;

  constructor(path: string) {
    this.db = new Level<string, Json>(path, { valueEncoding: 'json' });
  }

  async open(): Promise<void> {
    await this.db.open();
    for await (const k of this.db.keys({ gte: K.changes(), lt: K.changes() + '\xff', reverse: true, limit: 1 }))
      this.changeSeq = Number(k.slice(K.changes().length));
  }

  /** Sequence of the newest change-log entry (0: none yet). */
  lastChangeSeq(): number {
    return this.changeSeq;
  }

  /** Up to `limit` values under `prefix` with keys after `afterKey`, in key order (internal readers that keep their own position). */
  async after<T>(prefix: string, afterKey: string | undefined, limit: number): Promise<T[]> {
    const out: T[] = [];
    const lower = afterKey !== undefined && afterKey >= prefix ? { gt: afterKey } : { gte: prefix };
    for await (const v of this.db.values({ ...lower, lt: prefix + '\xff', limit })) out.push(v as unknown as T);
    return out;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async get<T>(key: string): Promise<T | undefined> {
    const v = await this.db.get(key);
    return (v ?? undefined) as T | undefined;
  }

  /** Lists values under `prefix` in key order; the cursor is the last key returned (opaque to clients). */
  async list<T>(prefix: string, opts: ListOptions = {}): Promise<Page<T>> {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
    const after = opts.cursor ? decodeCursor(opts.cursor) : undefined;
    const gt = after !== undefined && after.startsWith(prefix) ? after : undefined;
    const it = this.db.iterator({
      ...(gt !== undefined ? { gt } : { gte: prefix }),
      lt: prefix + '\xff',
      limit: limit + 1,
    });
    const rows: [string, Json][] = [];
    for await (const [k, v] of it) rows.push([k, v]);
    const more = rows.length > limit;
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page.map(([, v]) => v as unknown as T), nextCursor: more && last ? encodeCursor(last[0]) : null };
  }

  /** All values under a prefix (internal use: bounded collections such as one consortium's nodes). */
  async all<T>(prefix: string): Promise<T[]> {
    const out: T[] = [];
    for await (const v of this.db.values({ gte: prefix, lt: prefix + '\xff' })) out.push(v as unknown as T);
    return out;
  }

  begin(): UnitOfWork {
    return new UnitOfWork(this);
  }

  /**
   * Runs fn in a fresh unit of work and commits; on a commit-time VERSION_CONFLICT it re-runs
   * fn against fresh reads (up to `retries` times). Used for internal read-modify-write.
   */
  async transact<T>(fn: (uow: UnitOfWork) => Promise<T>, retries = 5): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const uow = this.begin();
      const result = await fn(uow);
      try {
        await uow.commit();
        return result;
      } catch (err) {
        if (
          err instanceof ConsortiaError &&
          err.code === CpCodes.VERSION_CONFLICT &&
          err.details?.['commitTime'] === true &&
          attempt < retries
        )
          continue;
        throw err;
      }
    }
  }

  onCommit(fn: (keys: string[]) => void): void {
    this.listeners.push(fn);
  }

  /** @internal */
  async commitBatch(reads: Map<string, number>, writes: Map<string, Json | null>): Promise<void> {
    if (writes.size === 0) return;
    await this.commitLock.run(async () => {
      for (const key of writes.keys()) {
        const expected = reads.get(key);
        if (expected === undefined) throw new ConsortiaError(CpCodes.INTERNAL, `write of ${key} without a prior read`);
        const current = await this.db.get(key);
        const currentVersion = current ? Number(current.version ?? 0) : 0;
        if (currentVersion !== expected) {
          throw new ConsortiaError(
            CpCodes.VERSION_CONFLICT,
            `${key} changed concurrently (version ${currentVersion}, expected ${expected})`,
            {
              key,
              commitTime: true,
            },
          );
        }
      }
      const ops: ({ type: 'del'; key: string } | { type: 'put'; key: string; value: Json })[] = [
        ...writes.entries(),
      ].map(([key, value]) =>
        value === null ? ({ type: 'del', key } as const) : ({ type: 'put', key, value } as const),
      );
      // Every audit record of a consortium resource gets the next change-log sequence in the same batch.
      let seq = this.changeSeq;
      for (const [key, value] of writes) {
        if (
          value !== null &&
          key.startsWith(K.audits()) &&
          String(value['resource'] ?? '').startsWith(CHANGE_LOGGED_RESOURCE_PREFIX)
        ) {
          seq++;
          ops.push({ type: 'put', key: K.change(seq), value: { version: 1, seq, auditKey: key } });
        }
      }
      await this.db.batch(ops);
      this.changeSeq = seq;
    });
    const keys = [...writes.keys()];
    for (const l of this.listeners) l(keys);
  }
}

export class UnitOfWork {
  private readonly reads = new Map<string, number>();
  private readonly writes = new Map<string, Json | null>();
  private committed = false;
  readonly afterCommit: (() => void)[] = [];

  constructor(private readonly store: LevelStore) {}

  /** Reads through staged writes; remembers the version seen for the commit-time check. */
  async get<T>(key: string): Promise<T | undefined> {
    if (this.writes.has(key)) return (this.writes.get(key) ?? undefined) as T | undefined;
    const v = await this.store.get<Json>(key);
    if (!this.reads.has(key)) this.reads.set(key, v ? Number(v.version ?? 0) : 0);
    return v as T | undefined;
  }

  /** Stages a write. The stored version becomes (version read)+1; a never-read key is read first. */
  async put<T extends { version: number }>(key: string, value: T): Promise<T> {
    if (!this.reads.has(key) && !this.writes.has(key)) await this.get(key);
    const base = this.reads.get(key) ?? 0;
    const stored = { ...value, version: base + 1 } as T;
    this.writes.set(key, stored as unknown as Json);
    return stored;
  }

  /** Stages a create: fails ALREADY_EXISTS if the key holds a value. */
  async create<T extends { version: number }>(key: string, value: T): Promise<T> {
    const existing = await this.get(key);
    if (existing !== undefined) throw new ConsortiaError(CpCodes.ALREADY_EXISTS, `${key} already exists`);
    return this.put(key, value);
  }

  /** Appends an immutable record (audit events): no version semantics beyond "must not exist". */
  async append(key: string, value: Record<string, unknown>): Promise<void> {
    this.reads.set(key, 0);
    this.writes.set(key, { ...value, version: 1 });
  }

  async del(key: string): Promise<void> {
    if (!this.reads.has(key)) await this.get(key);
    this.writes.set(key, null);
  }

  async commit(): Promise<void> {
    if (this.committed) throw new ConsortiaError(CpCodes.INTERNAL, 'unit of work committed twice');
    this.committed = true;
    await this.store.commitBatch(this.reads, this.writes);
    for (const fn of this.afterCommit) fn();
  }
}

function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}
function decodeCursor(c: string): string {
  return Buffer.from(c, 'base64url').toString('utf8');
}
