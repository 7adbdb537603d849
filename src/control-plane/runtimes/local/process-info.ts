import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

/** True when a process with this pid exists (signal 0 probes without delivering). */
export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Command line of a live process ('' if unknown): /proc on Linux, `ps` elsewhere. */
export function processCommandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    try {
      return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8', timeout: 2000 }).trim();
    } catch {
      return '';
    }
  }
}

/** Zombie processes (exited, not yet reaped) are dead for our purposes. */
export function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/**
 * A pid is "our node" only if it is alive AND its command line names this node's config file:
 * pids get reused, so liveness alone could adopt a stranger.
 */
export function isNodeProcess(pid: number, configFile: string): boolean {
  return isPidAlive(pid) && !isZombie(pid) && processCommandLine(pid).includes(configFile);
}

/**
 * Live processes (Linux /proc; elsewhere none) whose arguments are `... --config <configFile> ...`
 * exactly: node processes started for that config, including one whose pid file was never written
 * (the control plane was killed between spawning it and recording its pid).
 */
export function findNodeProcesses(configFile: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const e of entries) {
    const pid = Number(e);
    if (pid === process.pid) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const i = argv.indexOf('--config');
    if (i >= 0 && argv[i + 1] === configFile && isPidAlive(pid) && !isZombie(pid)) out.push(pid);
  }
  return out;
}
