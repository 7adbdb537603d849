/**
 * Test harness: builds a sealed genesis for N validators (+ extra registered nodes), writes
 * one config per node and runs each as a REAL process (`node dist/node/main.js --config F`)
 * on 127.0.0.x. Every process is killed in stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHAIN_NODE_V8_FLAGS } from '../../src/lib/node-flags.js';
import {
  DEFAULT_PARAMS,
  generateKeyPair,
  sealedGenesisToJSON,
  signGenesisApproval,
  signProofOfPossession,
  toHex,
  type ChainParams,
  type Genesis,
  type KeyPair,
} from '../../src/chain/index.js';

export const MAIN = fileURLToPath(new URL('../../dist/node/main.js', import.meta.url));
/** Extra node flags for every spawned node (e.g. CHAIN_NODE_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof'); unset in tests. */
const NODE_FLAGS = (process.env.CHAIN_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
/** Profiles are written on a clean exit only, so profiled nodes are stopped with SIGTERM. */
const STOP_SIGNAL: NodeJS.Signals = NODE_FLAGS.length > 0 ? 'SIGTERM' : 'SIGKILL';

const handedOut = new Set<number>();
/** A free port on `host`, never the same one twice in this process. */
export async function freePort(host: string): Promise<number> {
  for (;;) {
    const p = await probePort(host);
    if (!handedOut.has(p)) {
      handedOut.add(p);
      return p;
    }
  }
}
function probePort(host: string): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface NodeHandle {
  index: number;
  key: KeyPair;
  host: string;
  p2pPort: number;
  apiPort: number;
  api: string;
  dataDir: string;
  configFile: string;
  proc: ChildProcess | null;
  log: string[];
}

export interface NetOptions {
  validators: number;
  /** Registered non-validator nodes (not started by default). */
  extraNodes?: number;
  params?: Partial<ChainParams>;
  accounts?: { publicKey: Uint8Array; balances: { asset: string; amount: bigint }[] }[];
  consensus?: Record<string, number>;
  /** Validator indexes that are in genesis but not run as processes (e.g. used by a test harness). */
  external?: number[];
  logLevel?: string;
  mempool?: { maxTxs?: number; maxBytes?: number; backlogTargetMs?: number; backlogFloorTxs?: number };
  /** Per-node config overlay (e.g. role, retentionBlocks, syncFrom, followAccounts); merged last. */
  nodeConfig?: (n: NodeHandle) => Record<string, unknown>;
  /** Extra environment of a node's process (e.g. SOFTHSM2_CONF of its own token). */
  nodeEnv?: (n: NodeHandle) => Record<string, string>;
  /**
   * A node whose key is made outside the harness (e.g. inside a PKCS#11 token by `main.js keygen`):
   * its public key and proof of possession. No key file is written; its key.secretKey is empty.
   */
  externalKey?: (
    index: number,
    chainId: string,
    dataDir: string,
  ) => { publicKey: Uint8Array; proofOfPossession: Uint8Array } | undefined;
}

export class ChainNet {
  readonly root = mkdtempSync(join(tmpdir(), 'chain-e2e-'));
  nodes: NodeHandle[] = [];
  chainId = 'e2e-' + Math.random().toString(36).slice(2, 8);
  genesisFile = join(this.root, 'genesis.json');
  genesis!: Genesis;
  /** The admin key of the one member, org1 (signs governance votes in tests that change the chain). */
  adminKey!: KeyPair;

  constructor(readonly opts: NetOptions) {}

  async init(): Promise<void> {
    const total = this.opts.validators + (this.opts.extraNodes ?? 0);
    const admin = generateKeyPair();
    this.adminKey = admin;
    const pops = new Map<number, Uint8Array>();
    for (let i = 0; i < total; i++) {
      const host = `127.0.0.${2 + i}`;
      const dataDir = join(this.root, `node${i}`);
      mkdirSync(dataDir, { recursive: true });
      const ext = this.opts.externalKey?.(i, this.chainId, dataDir);
      const key = ext ? { publicKey: ext.publicKey, secretKey: new Uint8Array(0) } : generateKeyPair();
      if (ext) pops.set(i, ext.proofOfPossession);
      else
        writeFileSync(
          join(dataDir, 'node-key.json'),
          JSON.stringify({ type: 'ed25519', publicKey: toHex(key.publicKey), secretKey: toHex(key.secretKey) }),
          { mode: 0o600 },
        );
      const p2pPort = await freePort(host);
      const apiPort = await freePort(host);
      this.nodes.push({
        index: i,
        key,
        host,
        p2pPort,
        apiPort,
        api: `http://${host}:${apiPort}`,
        dataDir,
        configFile: join(this.root, `node${i}.json`),
        proc: null,
        log: [],
      });
    }
    const validators = this.nodes.slice(0, this.opts.validators);
    this.genesis = {
      chainId: this.chainId,
      genesisTime: Date.now(),
      params: { ...DEFAULT_PARAMS, blockIntervalMs: 300, ...this.opts.params },
      members: [{ memberId: 'org1', name: 'Org One', adminKeys: [admin.publicKey] }],
      validators: validators.map((n) => ({
        memberId: 'org1',
        publicKey: n.key.publicKey,
        power: 1,
        proofOfPossession: pops.get(n.index) ?? signProofOfPossession(this.chainId, n.key.secretKey, n.key.publicKey),
      })),
      nodes: this.nodes.map((n) => ({
        memberId: 'org1',
        publicKey: n.key.publicKey,
        role: n.index < this.opts.validators ? ('validator' as const) : ('super' as const),
      })),
      accounts: this.opts.accounts ?? [],
    };
    const sealed = {
      genesis: this.genesis,
      approvals: [signGenesisApproval(this.genesis, 'org1', admin.secretKey, admin.publicKey)],
    };
    writeFileSync(this.genesisFile, JSON.stringify(sealedGenesisToJSON(sealed)));
    // Every node gets the sealed genesis (it is configuration); a late joiner starts from an empty data dir.
    for (const n of this.nodes) this.writeConfig(n);
  }

  writeConfig(n: NodeHandle): void {
    const peers = this.nodes
      .filter((p) => p !== n && !(this.opts.external ?? []).includes(p.index))
      .map((p) => ({ publicKey: toHex(p.key.publicKey), address: `${p.host}:${p.p2pPort}` }));
    writeFileSync(
      n.configFile,
      JSON.stringify({
        role: n.index < this.opts.validators ? 'validator' : 'super',
        chainId: this.chainId,
        dataDir: n.dataDir,
        keyFile: join(n.dataDir, 'node-key.json'),
        genesisFile: this.genesisFile,
        p2pListen: `${n.host}:${n.p2pPort}`,
        apiListen: `${n.host}:${n.apiPort}`,
        // Plain HTTP, asked for explicitly (allowed on loopback only); test/node/rpc-main-process.test.ts covers HTTPS.
        tls: { mode: 'off' },
        peers,
        logLevel: this.opts.logLevel ?? 'warn',
        consensus: {
          timeoutProposeMs: 1500,
          timeoutPrevoteMs: 500,
          timeoutPrecommitMs: 500,
          timeoutDeltaMs: 250,
          ...this.opts.consensus,
        },
        ...(this.opts.mempool ? { mempool: this.opts.mempool } : {}),
        ...(this.opts.nodeConfig?.(n) ?? {}),
      }),
    );
  }

  start(i: number): NodeHandle {
    const n = this.nodes[i]!;
    const proc = spawn(process.execPath, [...CHAIN_NODE_V8_FLAGS, ...NODE_FLAGS, MAIN, '--config', n.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(this.opts.nodeEnv ? { env: { ...process.env, ...this.opts.nodeEnv(n) } } : {}),
    });
    n.proc = proc;
    const keep = (d: Buffer): void => {
      n.log.push(d.toString());
      if (n.log.length > 400) n.log.splice(0, 200);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    proc.once('exit', () => {
      if (n.proc === proc) n.proc = null;
    });
    return n;
  }

  async startAll(): Promise<void> {
    for (let i = 0; i < this.opts.validators; i++) if (!(this.opts.external ?? []).includes(i)) this.start(i);
    await Promise.all(this.running().map((n) => this.waitReady(n)));
  }

  running(): NodeHandle[] {
    return this.nodes.filter((n) => n.proc !== null);
  }

  async waitReady(n: NodeHandle, ms = 30_000): Promise<void> {
    await waitUntil(async () => (await this.status(n)) !== null, ms, `node${n.index} API up`);
  }

  kill(i: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.nodes[i]!.proc;
    if (!p) return Promise.resolve();
    return new Promise((r) => {
      p.once('exit', () => r());
      p.kill(signal);
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.index, STOP_SIGNAL)));
    rmSync(this.root, { recursive: true, force: true });
  }

  async status(n: NodeHandle): Promise<NodeStatusJson | null> {
    try {
      const r = await fetch(`${n.api}/v1/status`, { signal: AbortSignal.timeout(2_000) });
      return r.ok ? ((await r.json()) as NodeStatusJson) : null;
    } catch {
      return null;
    }
  }

  /** GET `path` on a node's API: status code and parsed JSON body. */
  async get(n: NodeHandle, path: string): Promise<{ status: number; body: any }> {
    const r = await fetch(`${n.api}${path}`, { signal: AbortSignal.timeout(10_000) });
    return { status: r.status, body: await r.json().catch(() => null) };
  }

  /** Value of a (label-less or first-labelled) metric from a node's /metrics, or NaN. */
  async metric(n: NodeHandle, name: string, labels = ''): Promise<number> {
    const text = await (await fetch(`${n.api}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
    const line = text.split('\n').find((l) => l.startsWith(name + (labels ? `{${labels}}` : '')) && !l.startsWith('#'));
    return line ? Number(line.split(' ').pop()) : NaN;
  }

  async height(n: NodeHandle): Promise<number> {
    return (await this.status(n))?.height ?? -1;
  }

  async blockHash(n: NodeHandle, h: number): Promise<string | null> {
    const r = await fetch(`${n.api}/v1/blocks/${h}`, { signal: AbortSignal.timeout(5_000) });
    if (!r.ok) return null;
    return ((await r.json()) as { hash: string }).hash;
  }

  async block(n: NodeHandle, h: number): Promise<Record<string, unknown> | null> {
    const r = await fetch(`${n.api}/v1/blocks/${h}`, { signal: AbortSignal.timeout(5_000) });
    return r.ok ? ((await r.json()) as Record<string, unknown>) : null;
  }

  async waitHeight(nodes: NodeHandle[], h: number, ms = 60_000): Promise<void> {
    await waitUntil(
      async () => (await Promise.all(nodes.map((n) => this.height(n)))).every((x) => x >= h),
      ms,
      `height ${h} on nodes ${nodes.map((n) => n.index)}`,
    );
  }

  /** Asserts every node has identical hashes for heights 1..h; returns them. */
  async agreedHashes(nodes: NodeHandle[], h: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 1; i <= h; i++) {
      const hs = await Promise.all(nodes.map((n) => this.blockHash(n, i)));
      if (hs.some((x) => x === null || x !== hs[0])) throw new Error(`fork or gap at height ${i}: ${hs.join(',')}`);
      out.push(hs[0]!);
    }
    return out;
  }

  dumpLogs(i: number): string {
    return this.nodes[i]!.log.join('').slice(-4000);
  }
}

export interface NodeStatusJson {
  height: number;
  latestBlockHash: string | null;
  syncing: boolean;
  peers: unknown[];
  role?: string;
  lowestHeight?: number;
  storage?: { lowestHeight: number; highestHeight: number; bytes: number };
  mempool?: { txs: number; bytes: number };
}

export async function waitUntil(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
