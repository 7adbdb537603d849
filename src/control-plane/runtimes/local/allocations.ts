import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { ConsortiaError } from '../../../lib/errors.js';
import { LocalRuntimeCodes } from './errors.js';

/** Where one node listens. Persisted so that a restart (of the node or of the control plane) keeps its addresses. */
export interface Allocation {
  host: string;
  apiPort: number;
  p2pPort: number;
}

/** Last octets of 127.0.0.x that the runtime may hand out (inclusive). */
export interface HostRange {
  first: number;
  last: number;
}

export const DEFAULT_HOST_RANGE: HostRange = { first: 2, last: 254 };

export function validateHostRange(r: HostRange): void {
  const ok =
    Number.isInteger(r.first) && Number.isInteger(r.last) && r.first >= 1 && r.last <= 254 && r.first <= r.last;
  if (!ok) {
    throw new ConsortiaError(
      LocalRuntimeCodes.LOCAL_INVALID_HOST_RANGE,
      `hostRange must be 1 <= first <= last <= 254, got ${r.first}..${r.last}`,
    );
  }
}

/** Asks the OS for a free TCP port on host (listen on port 0, read it back, close). */
export function probeFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error(`could not probe a port on ${host}`))));
    });
  });
}

/**
 * Deterministic host per node key: start at sha256(key) mod range, then probe linearly past
 * hosts already given to other nodes. The table lives in one JSON file (atomic rename).
 */
export class AllocationTable {
  private table: Record<string, Allocation>;

  constructor(
    private readonly file: string,
    private readonly range: HostRange,
  ) {
    validateHostRange(range);
    this.table = AllocationTable.load(file);
  }

  private static load(file: string): Record<string, Allocation> {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, Allocation>) : {};
    } catch {
      return {};
    }
  }

  get(key: string): Allocation | undefined {
    return this.table[key];
  }

  /** Returns the persisted allocation, or allocates (host + two probed ports) and persists one. */
  async ensure(key: string): Promise<Allocation> {
    const existing = this.table[key];
    if (existing) return existing;
    const host = this.pickHost(key);
    const apiPort = await probeFreePort(host);
    let p2pPort = await probeFreePort(host);
    for (let i = 0; i < 5 && p2pPort === apiPort; i++) p2pPort = await probeFreePort(host);
    const alloc: Allocation = { host, apiPort, p2pPort };
    this.table[key] = alloc;
    this.save();
    return alloc;
  }

  release(key: string): void {
    if (!(key in this.table)) return;
    delete this.table[key];
    this.save();
  }

  hostFor(key: string): string {
    return this.pickHost(key);
  }

  private pickHost(key: string): string {
    const size = this.range.last - this.range.first + 1;
    const used = new Set(
      Object.entries(this.table)
        .filter(([k]) => k !== key)
        .map(([, a]) => a.host),
    );
    const start = createHash('sha256').update(key).digest().readUInt32BE(0) % size;
    for (let i = 0; i < size; i++) {
      const host = `127.0.0.${this.range.first + ((start + i) % size)}`;
      if (!used.has(host)) return host;
    }
    throw new ConsortiaError(
      LocalRuntimeCodes.LOCAL_NO_HOST_AVAILABLE,
      `all ${size} loopback hosts in 127.0.0.${this.range.first}-${this.range.last} are allocated`,
    );
  }

  private save(): void {
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.table, null, 2));
    renameSync(tmp, this.file);
  }
}
