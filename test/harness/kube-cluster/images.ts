import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../kube-env/binaries.js';

export interface BuiltImage {
  image: string;
  archive: string;
  bytes: number;
}
export interface BuiltImages {
  node: BuiltImage;
  controlPlane: BuiltImage;
}

/** Builds (or reuses) both images with `npm run images` (.ci/tools/images.sh); its last stdout line is JSON. */
export function buildImages(tag = 'dev'): BuiltImages {
  const out = execFileSync('bash', [join(REPO_ROOT, '.ci', 'tools', 'images.sh'), '--tag', tag], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 40 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = out.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as BuiltImages;
}
