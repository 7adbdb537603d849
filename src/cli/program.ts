import { Command, CommanderError } from 'commander';
import { isConsortiaError } from '../lib/errors.js';
import { registerCeremony } from './commands/ceremony.js';
import { registerClusters } from './commands/clusters.js';
import { registerConsortia } from './commands/consortia.js';
import { registerKeyRotation } from './commands/key-rotation.js';
import { registerKeys } from './commands/keys.js';
import { registerNodes } from './commands/nodes.js';
import { registerOrgs } from './commands/orgs.js';
import { registerProposals } from './commands/proposals.js';
import { registerSession } from './commands/session.js';
import { registerTokens } from './commands/tokens.js';
import { registerTx } from './commands/tx.js';
import { registerAccounts } from './commands/accounts.js';
import { registerAnchors } from './commands/anchors.js';
import { registerAssets } from './commands/assets.js';
import { exitCodeFor } from './errors.js';
import type { CliIo } from './io.js';

export function buildProgram(io: CliIo): Command {
  const program = new Command('consortia')
    .description('Consortia: consortium blockchains as a service (org keys stay on this machine)')
    .version('0.1.0')
    .option('--home <dir>', 'config home (default $CONSORTIA_HOME or ~/.config/consortia)')
    .option('--api-url <url>', 'control-plane URL (overrides config)')
    .option('--token <token>', 'API token (overrides config)')
    .option('--profile <name>', 'per-organization settings to use (see `consortia use`)')
    .option('--ca <file>', 'PEM CA bundle that signed the API certificate (instead of the system CAs)')
    .option(
      '--tls-fingerprint <sha256>',
      "pin the API certificate's SHA-256 fingerprint (self-signed servers print it at start-up)",
    )
    .option('--json', 'print JSON instead of tables')
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();
  registerSession(program, io);
  registerKeys(program, io);
  registerOrgs(program, io);
  registerTokens(program, io);
  registerClusters(program, io);
  registerConsortia(program, io);
  registerKeyRotation(program, io); // under `keys` and `member`, registered above
  registerProposals(program, io);
  registerNodes(program, io);
  registerCeremony(program, io);
  registerTx(program, io);
  registerAccounts(program, io);
  registerAssets(program, io);
  registerAnchors(program, io);
  for (const c of allCommands(program))
    c.exitOverride().configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  return program;
}

function allCommands(c: Command): Command[] {
  return c.commands.flatMap((s) => [s, ...allCommands(s)]);
}

/** Runs the CLI; returns the process exit code (0 ok, 1 failure, 2 usage, 3 auth). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help/version exit with 0; parse errors were already printed by commander
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isConsortiaError(err)) {
      io.err(`error: ${err.code}: ${err.message}`);
      return exitCodeFor(err);
    }
    io.err(`error: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}
