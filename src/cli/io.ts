import { homedir } from 'node:os';
import { createInterface } from 'node:readline/promises';

/** Everything the CLI touches outside itself, so tests can run it in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Raw stderr write without a newline (redrawn progress bars). */
  errRaw(text: string): void;
  /** Progress bars only when stderr is a terminal; plain lines otherwise. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  homedir: string;
  /** Asks a yes/no question (approve a genesis hash); non-interactive callers pass --yes. */
  confirm(question: string): Promise<boolean>;
}

export function processIo(): CliIo {
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    errRaw: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    homedir: homedir(),
    confirm: async (q) => {
      if (!process.stdin.isTTY) return false;
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return /^y(es)?$/i.test((await rl.question(`${q} [y/N] `)).trim());
      } finally {
        rl.close();
      }
    },
  };
}
