import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's softhsm2 package puts the module here (.ci/tools/softhsm.sh installs it). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  dir: string;
  conf: string;
  tokenLabel: string;
  pin: string;
  remove(): void;
}

/**
 * A fresh SoftHSM2 token in its own temp dir. SOFTHSM2_CONF is read by the module when it is
 * first initialised in a process, so it is set here, before any test loads the module; every
 * token of one test process therefore lives in the first token's tokendir.
 */
export function createSoftHsmToken(tokenLabel: string, pin = '123456'): SoftHsmToken {
  if (!existsSync(SOFTHSM_MODULE)) throw new Error(`${SOFTHSM_MODULE} is missing: run .ci/tools/softhsm.sh`);
  let conf = process.env.SOFTHSM2_CONF;
  let dir: string;
  if (conf === undefined || !conf.includes('consortia-softhsm-')) {
    dir = mkdtempSync(join(tmpdir(), 'consortia-softhsm-'));
    mkdirSync(join(dir, 'tokens'));
    conf = join(dir, 'softhsm2.conf');
    writeFileSync(
      conf,
      `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    process.env.SOFTHSM2_CONF = conf;
  } else {
    dir = join(conf, '..');
  }
  execFileSync(
    'softhsm2-util',
    ['--init-token', '--free', '--label', tokenLabel, '--pin', pin, '--so-pin', `${pin}-so`],
    {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: 'pipe',
    },
  );
  const remove = (): void => {
    rmSync(dir, { recursive: true, force: true });
    if (process.env.SOFTHSM2_CONF === conf) delete process.env.SOFTHSM2_CONF;
  };
  return { dir, conf, tokenLabel, pin, remove };
}
