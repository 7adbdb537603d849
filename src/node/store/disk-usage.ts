import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes on disk under `dir` (recursive; missing entries count 0: LevelDB renames files as it compacts). */
export function diskUsage(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      const st = statSync(p);
      total += st.isDirectory() ? diskUsage(p) : st.size;
    } catch {
      /* vanished between readdir and stat */
    }
  }
  return total;
}
