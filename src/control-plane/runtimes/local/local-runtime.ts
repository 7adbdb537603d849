import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, type Logger } from '../../../lib/logging.js';
import { NodeExitCodes, genesisMismatchStatus } from '../../../lib/node-exit.js';
import type { NodeObservation, NodeSpec, Runtime } from '../runtime.js';
import { AllocationTable, DEFAULT_HOST_RANGE, type HostRange } from './allocations.js';
import { probe } from './http-probe.js';
import { buildNodeConfig, endpointsOf, nodePaths, type NodePaths } from './node-config.js';
import { NodeProcess, readPidFile } from './node-process.js';
import { isNodeProcess } from './process-info.js';

export interface LocalRuntimeOptions {
  /** Root of all node directories: baseDir/<consortiumId>/<nodeId>. */
  baseDir: string;
  /** Script run with `node <entrypoint> --config <file>`; default dist/node/main.js. */
  nodeEntrypoint?: string;
  logger?: Logger;
  /** Last octets of 127.0.0.x to allocate from; default 2..254. */
  hostRange?: HostRange;
  /** Node log level written into each config; default 'info'. */
  nodeLogLevel?: string;
  /** Restart backoff (ms): first delay and cap. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per-request timeout of observe() probes. */
  probeTimeoutMs?: number;
  /** close() stops the node processes too (tests, benches); by default they keep running and are adopted later. */
  stopNodesOnClose?: boolean;
  /** Interpreter for the node; default the current one. */
  execPath?: string;
  /** Adopt live node processes found under baseDir when constructed; default true. */
  adoptOnStart?: boolean;
}

/** dist/node/main.js next to this compiled module (dist/control-plane/runtimes/local/), else relative to cwd. */
function defaultEntrypoint(): string {
  const beside = fileURLToPath(new URL('../../../node/main.js', import.meta.url));
  return existsSync(beside) ? beside : 'dist/node/main.js';
}

/** Consecutive quick crashes after which observe() reports Failed (restarts continue with backoff). */
const FAILED_AFTER_CRASHES = 5;

/**
 * Runtime that runs each chain node as a child process on its own loopback address.
 * State that must survive a control-plane restart lives on disk: the address table
 * (baseDir/allocations.json), each node's config, genesis, pid file and log.
 */
export class LocalRuntime implements Runtime {
  readonly kind = 'local' as const;
  private readonly baseDir: string;
  private readonly entrypoint: string;
  private readonly logger: Logger;
  private readonly allocations: AllocationTable;
  private readonly procs = new Map<string, NodeProcess>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed = false;

  constructor(private readonly opts: LocalRuntimeOptions) {
    this.baseDir = resolve(opts.baseDir);
    this.entrypoint = resolve(opts.nodeEntrypoint ?? defaultEntrypoint());
    this.logger = opts.logger ?? createLogger('info', { component: 'local-runtime' });
    mkdirSync(this.baseDir, { recursive: true });
    this.allocations = new AllocationTable(
      join(this.baseDir, 'allocations.json'),
      opts.hostRange ?? DEFAULT_HOST_RANGE,
    );
    // Resume supervision of nodes that outlived a previous control plane right away, so a
    // crash of one of them is restarted even before the reconciler gets to it.
    if (opts.adoptOnStart !== false) this.adoptExisting();
  }

  /** Resumes supervision of every node that has a live pid file (after a control-plane restart). */
  adoptExisting(): number {
    let adopted = 0;
    for (const cid of safeReaddir(this.baseDir)) {
      for (const nid of safeReaddir(join(this.baseDir, cid))) {
        const paths = nodePaths(this.baseDir, cid, nid);
        if (!existsSync(paths.pidFile)) continue;
        if (this.processFor(cid, nid).adopt()) adopted++;
      }
    }
    return adopted;
  }

  apply(spec: NodeSpec): Promise<void> {
    return this.serialized(key(spec), async () => {
      const paths = nodePaths(this.baseDir, spec.consortiumId, spec.nodeId);
      const alloc = await this.allocations.ensure(key(spec));
      const config = JSON.stringify(buildNodeConfig(spec, paths, alloc, this.opts.nodeLogLevel ?? 'info'), null, 2);
      const genesis = spec.mode === 'run' ? JSON.stringify(spec.genesis, null, 2) : undefined;
      mkdirSync(paths.dataDir, { recursive: true });
      // Genesis first: a node restarted for the new config must find the genesis it names.
      const genesisChanged = genesis !== undefined && writeIfChanged(paths.genesisFile, genesis);
      // The node reads its admin credential per request: a new one needs no restart.
      writeSecretFile(paths.adminTokenFile, spec.adminToken);
      writeSecretFile(paths.keyPinFile, spec.keyPin);
      const configChanged = writeIfChanged(paths.configFile, config);
      const changed = genesisChanged || configChanged;
      const proc = this.processFor(spec.consortiumId, spec.nodeId);
      if (changed && (proc.running || proc.adopt())) {
        this.logger.info('node config changed; restarting', { nodeId: spec.nodeId, generation: spec.generation });
        await proc.stop();
      }
      proc.ensureRunning();
    });
  }

  delete(spec: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<void> {
    return this.serialized(key(spec), async () => {
      const paths = nodePaths(this.baseDir, spec.consortiumId, spec.nodeId);
      await this.processFor(spec.consortiumId, spec.nodeId).stop();
      this.procs.delete(key(spec));
      rmSync(paths.dir, { recursive: true, force: true });
      this.allocations.release(key(spec));
    });
  }

  async observe(spec: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): Promise<NodeObservation> {
    const paths = nodePaths(this.baseDir, spec.consortiumId, spec.nodeId);
    const alloc = this.allocations.get(key(spec));
    if (!alloc || !existsSync(paths.configFile)) return { phase: 'Absent', ready: false };
    const proc = this.procs.get(key(spec));
    const endpoints = endpointsOf(alloc);
    const restarts = proc?.restarts ?? 0;
    const alive = proc ? proc.running : isLiveFromPidFile(paths);
    // A node that refused its data directory's genesis stays Failed (GENESIS_MISMATCH) through its restarts
    // until one of them serves its API again (the data directory was fixed).
    const genesisMismatch = proc?.lastExitCode === NodeExitCodes.GENESIS_MISMATCH;
    const mismatch = (): NodeObservation => ({
      phase: 'Failed',
      ready: false,
      endpoints,
      restarts,
      message: genesisMismatchMessage(paths.logFile),
    });
    if (!alive) {
      if (genesisMismatch) return mismatch();
      const crashes = proc?.consecutiveCrashes ?? 0;
      const failed = crashes >= FAILED_AFTER_CRASHES;
      const message = proc?.lastExit
        ? `node exited (${proc.lastExit}); ${failed ? 'crash-looping, ' : ''}restart pending`
        : 'node not running';
      return { phase: failed ? 'Failed' : 'Pending', ready: false, endpoints, restarts, message };
    }
    const timeout = this.opts.probeTimeoutMs ?? 1500;
    const identity = await probe(`${endpoints.api}/v1/identity`, timeout);
    if (!identity || identity.status !== 200) {
      if (genesisMismatch) return mismatch();
      return { phase: 'Pending', ready: false, endpoints, restarts, message: 'process running; API not answering yet' };
    }
    const id = identity.body as { publicKey?: string; proofOfPossession?: string };
    const obs: NodeObservation = { phase: 'Running', ready: false, endpoints, restarts };
    if (typeof id.publicKey === 'string' && typeof id.proofOfPossession === 'string') {
      obs.identity = { publicKey: id.publicKey, proofOfPossession: id.proofOfPossession };
    }
    const readyz = await probe(`${endpoints.api}/readyz`, timeout);
    obs.ready = readyz?.status === 200;
    if (obs.ready) {
      const status = await probe(`${endpoints.api}/v1/status`, timeout);
      const height = (status?.body as { height?: unknown } | undefined)?.height;
      obs.message = typeof height === 'number' ? `height ${height}` : 'ready';
    } else {
      obs.message = existsSync(paths.genesisFile) ? 'starting / syncing' : 'awaiting genesis';
    }
    return obs;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.locks.values()]);
    if (this.opts.stopNodesOnClose) await Promise.all([...this.procs.values()].map((p) => p.stop()));
    else for (const p of this.procs.values()) p.release();
    this.procs.clear();
  }

  /** Paths of a node (tests and tooling read logs and pid files through this). */
  pathsOf(consortiumId: string, nodeId: string): NodePaths {
    return nodePaths(this.baseDir, consortiumId, nodeId);
  }

  private processFor(consortiumId: string, nodeId: string): NodeProcess {
    const k = `${consortiumId}/${nodeId}`;
    let p = this.procs.get(k);
    if (!p) {
      p = new NodeProcess(nodePaths(this.baseDir, consortiumId, nodeId), {
        nodeEntrypoint: this.entrypoint,
        execPath: this.opts.execPath ?? process.execPath,
        logger: this.logger.child({ nodeId }),
        baseBackoffMs: this.opts.baseBackoffMs ?? 250,
        maxBackoffMs: this.opts.maxBackoffMs ?? 10_000,
        pollMs: 500,
        stableAfterMs: 30_000,
      });
      this.procs.set(k, p);
    }
    return p;
  }

  /** One operation at a time per node: apply/delete of the same nodeId never interleave. */
  private serialized<T>(k: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(k) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(k, next);
    void next
      .finally(() => {
        if (this.locks.get(k) === next) this.locks.delete(k);
      })
      .catch(() => undefined);
    return next;
  }
}

function key(spec: Pick<NodeSpec, 'nodeId' | 'consortiumId'>): string {
  return `${spec.consortiumId}/${spec.nodeId}`;
}

function writeIfChanged(file: string, content: string): boolean {
  try {
    if (readFileSync(file, 'utf8') === content) return false;
  } catch {
    /* absent */
  }
  writeFileSync(file, content);
  return true;
}

/** Writes a secret of the node (admin credential, key PIN; 0600, atomically), or removes it when the spec carries none. */
function writeSecretFile(file: string, token: string | undefined): void {
  if (token === undefined) {
    rmSync(file, { force: true });
    return;
  }
  try {
    if (readFileSync(file, 'utf8') === token && (statSync(file).mode & 0o077) === 0) return;
  } catch {
    /* absent */
  }
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writeFileSync(tmp, token, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
}

/** How much of the end of node.log is searched for the node's fatal line. */
const FATAL_LOG_TAIL_BYTES = 64 * 1024;
/** "GENESIS_MISMATCH: <the node's own explanation from its last fatal log line>". */
function genesisMismatchMessage(logFile: string): string {
  let tail: string | undefined;
  try {
    const size = statSync(logFile).size;
    const len = Math.min(size, FATAL_LOG_TAIL_BYTES);
    const buf = Buffer.alloc(len);
    const fd = openSync(logFile, 'r');
    try {
      readSync(fd, buf, 0, len, size - len);
    } finally {
      closeSync(fd);
    }
    tail = buf.toString('utf8');
  } catch {
    /* no log */
  }
  return genesisMismatchStatus(tail);
}

function isLiveFromPidFile(paths: NodePaths): boolean {
  const rec = readPidFile(paths.pidFile);
  return rec !== undefined && isNodeProcess(rec.pid, paths.configFile);
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

export function createLocalRuntime(opts: LocalRuntimeOptions): LocalRuntime {
  return new LocalRuntime(opts);
}

/** Stops every node process recorded under baseDir (test/bench cleanup; never touches other pids). */
export async function stopAllLocalNodes(baseDir: string): Promise<number> {
  const rt = new LocalRuntime({ baseDir, logger: createLogger('silent'), stopNodesOnClose: true, adoptOnStart: false });
  const n = rt.adoptExisting();
  await rt.close();
  return n;
}
