import type { Command } from 'commander';
import { makeCtx, type Ctx } from '../context.js';
import type { CliIo } from '../io.js';

/** Wraps a handler so it receives the context, its options and positional args. */
export function action<O = Record<string, string | undefined>>(
  io: CliIo,
  fn: (ctx: Ctx, opts: O, args: string[]) => Promise<void> | void,
) {
  return async (...raw: unknown[]): Promise<void> => {
    const cmd = raw[raw.length - 1] as Command;
    const opts = cmd.opts<O & object>();
    const args = cmd.args;
    await fn(makeCtx(io, cmd), opts, args);
  };
}
