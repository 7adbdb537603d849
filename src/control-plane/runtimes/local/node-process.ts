import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ConsortiaError } from '../../../lib/errors.js';
import { CHAIN_NODE_V8_FLAGS } from '../../../lib/node-flags.js';
import type { Logger } from '../../../lib/logging.js';
import { LocalRuntimeCodes } from './errors.js';
import type { NodePaths } from './node-config.js';
import { findNodeProcesses, isNodeProcess, isPidAlive, isZombie } from './process-info.js';

export interface SupervisorOptions {
  nodeEntrypoint: string;
  execPath: string;
  logger: Logger;
  /** First restart delay; doubles per consecutive crash up to maxBackoffMs. */
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** How often liveness of an adopted (not our child) process is checked. */
  pollMs: number;
  /** A run longer than this resets the crash counter. */
  stableAfterMs: number;
}

interface PidFile {
  pid: number;
  configFile: string;
  startedAt: number;
}

export function readPidFile(file: string): PidFile | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidFile>;
    if (typeof parsed.pid === 'number' && typeof parsed.configFile === 'string') {
      return { pid: parsed.pid, configFile: parsed.configFile, startedAt: parsed.startedAt ?? 0 };
    }
  } catch {
    /* absent or torn: treated as no process */
  }
  return undefined;
}

/**
 * Keeps one node process running: spawns it detached (so it outlives a control-plane crash),
 * records its pid, restarts it with exponential backoff when it dies, and adopts an already
 * running instance (pid file + command line check) instead of starting a duplicate.
 */
export class NodeProcess {
  pid: number | undefined;
  restarts = 0;
  consecutiveCrashes = 0;
  lastExit: string | undefined;
  /** Exit code of the last exit of a process this supervisor started (undefined: signal, or unknown for an adopted one). */
  lastExitCode: number | undefined;
  private child: ChildProcess | undefined;
  private wanted = false;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly paths: NodePaths,
    private readonly opts: SupervisorOptions,
  ) {}

  get running(): boolean {
    return this.pid !== undefined && isPidAlive(this.pid) && !isZombie(this.pid);
  }

  get restartPending(): boolean {
    return this.restartTimer !== undefined;
  }

  /**
   * Adopts the process named by the pid file when it is really this node, else a live process started
   * for this node's config without a pid file (the control plane died between spawning it and writing
   * the file: starting another would run the node twice); returns whether it did.
   */
  adopt(): boolean {
    const rec = readPidFile(this.paths.pidFile);
    if (rec && rec.configFile === this.paths.configFile && isNodeProcess(rec.pid, this.paths.configFile)) {
      this.pid = rec.pid;
      this.startedAt = rec.startedAt;
    } else {
      const orphan = findNodeProcesses(this.paths.configFile)[0];
      if (orphan === undefined) return false;
      this.pid = orphan;
      this.startedAt = Date.now();
      writeFileSync(
        this.paths.pidFile,
        JSON.stringify({ pid: orphan, configFile: this.paths.configFile, startedAt: this.startedAt } satisfies PidFile),
      );
      this.opts.logger.warn('adopted a node process that had no pid file', { pid: orphan, dir: this.paths.dir });
    }
    this.wanted = true;
    this.startPolling();
    this.opts.logger.info('adopted running node process', { pid: this.pid, dir: this.paths.dir });
    return true;
  }

  /** Ensures the node runs: adopt if possible, else spawn. */
  ensureRunning(): void {
    this.wanted = true;
    if (this.running || this.restartPending) return;
    if (this.adopt()) return;
    this.spawnNow();
  }

  private spawnNow(): void {
    mkdirSync(this.paths.dir, { recursive: true });
    const logFd = openSync(this.paths.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(
        this.opts.execPath,
        [...CHAIN_NODE_V8_FLAGS, this.opts.nodeEntrypoint, '--config', this.paths.configFile],
        {
          cwd: this.paths.dir,
          detached: true,
          stdio: ['ignore', logFd, logFd],
          env: process.env,
        },
      );
    } catch (err) {
      throw new ConsortiaError(
        LocalRuntimeCodes.LOCAL_SPAWN_FAILED,
        `cannot start node in ${this.paths.dir}: ${(err as Error).message}`,
      );
    } finally {
      closeSync(logFd);
    }
    if (child.pid === undefined) {
      throw new ConsortiaError(LocalRuntimeCodes.LOCAL_SPAWN_FAILED, `cannot start node in ${this.paths.dir}`);
    }
    child.unref();
    const pid = child.pid;
    this.child = child;
    this.pid = pid;
    this.startedAt = Date.now();
    const rec: PidFile = { pid, configFile: this.paths.configFile, startedAt: this.startedAt };
    writeFileSync(this.paths.pidFile, JSON.stringify(rec));
    child.once('exit', (code, signal) =>
      this.onExit(pid, code === null ? `signal ${signal}` : `exit code ${code}`, code ?? undefined),
    );
    child.once('error', (err) =>
      this.opts.logger.warn('node process error', { dir: this.paths.dir, error: err.message }),
    );
    this.startPolling();
    this.opts.logger.info('started node process', { pid, dir: this.paths.dir });
  }

  private startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => {
      // Our own child reports its exit (with its exit code) through the 'exit' event; polling is for adopted ones.
      if (this.pid !== undefined && this.child === undefined && !this.running)
        this.onExit(this.pid, 'process disappeared');
    }, this.opts.pollMs);
    this.pollTimer.unref();
  }

  private onExit(pid: number, why: string, code?: number): void {
    if (pid !== this.pid) return; // a stale notification about an older process
    this.pid = undefined;
    this.child = undefined;
    this.lastExit = why;
    this.lastExitCode = code;
    if (!this.wanted) return;
    const ranMs = Date.now() - this.startedAt;
    this.consecutiveCrashes = ranMs >= this.opts.stableAfterMs ? 1 : this.consecutiveCrashes + 1;
    const delay = Math.min(this.opts.maxBackoffMs, this.opts.baseBackoffMs * 2 ** (this.consecutiveCrashes - 1));
    this.opts.logger.warn('node process exited; restarting', { pid, why, delayMs: delay, dir: this.paths.dir });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.wanted || this.running) return;
      this.restarts++;
      try {
        this.spawnNow();
      } catch (err) {
        this.opts.logger.error('restart failed', { dir: this.paths.dir, error: (err as Error).message });
        this.onExitAfterFailedSpawn();
      }
    }, delay);
    this.restartTimer.unref();
  }

  private onExitAfterFailedSpawn(): void {
    this.startedAt = Date.now();
    this.pid = -1;
    this.onExit(-1, 'spawn failed');
  }

  /** Stops the process (SIGTERM to its group, SIGKILL after graceMs) and forgets it. */
  async stop(graceMs = 5000): Promise<void> {
    this.wanted = false;
    this.clearTimers();
    const pid = this.pid ?? this.pidFromFile();
    if (pid !== undefined && pid > 0) {
      signalGroup(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && isPidAlive(pid) && !isZombie(pid)) await sleep(50);
      if (isPidAlive(pid) && !isZombie(pid)) {
        signalGroup(pid, 'SIGKILL');
        const killDeadline = Date.now() + 2000;
        while (Date.now() < killDeadline && isPidAlive(pid) && !isZombie(pid)) await sleep(25);
      }
    }
    this.pid = undefined;
    this.child = undefined;
    rmSync(this.paths.pidFile, { force: true });
  }

  private pidFromFile(): number | undefined {
    const rec = readPidFile(this.paths.pidFile);
    return rec && isNodeProcess(rec.pid, this.paths.configFile) ? rec.pid : undefined;
  }

  /** Stops supervising but leaves the process running (it will be adopted later). */
  release(): void {
    this.wanted = false;
    this.clearTimers();
  }

  private clearTimers(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.restartTimer = undefined;
    this.pollTimer = undefined;
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // detached => the node leads its own process group
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
