import type { Command } from 'commander';
import {
  KEY_BACKENDS,
  createAwsKmsKey,
  generatePkcs11Key,
  openAwsKmsSigner,
  parseKeyRef,
  pkcs11Pin,
  type KeyRef,
} from '../../lib/custody/index.js';
import { toHex } from '../chain-port.js';
import { usage } from '../errors.js';
import type { CliIo } from '../io.js';
import { createOrgKey, listOrgKeys, loadOrgKey, writeKeyRef } from '../key-file.js';
import { printObject, printTable } from '../output.js';
import type { Ctx } from '../context.js';
import { action } from './action.js';

export interface CreateOpts {
  org: string;
  force?: boolean;
  backend: string;
  module?: string;
  tokenLabel?: string;
  keyLabel?: string;
  pinEnv?: string;
  pinFile?: string;
  keyId?: string;
  region?: string;
  endpoint?: string;
}

/** The reference the flags describe; parseKeyRef reports what is missing or malformed. */
function refOf(o: CreateOpts): KeyRef {
  if (!(KEY_BACKENDS as readonly string[]).includes(o.backend))
    throw usage(`--backend must be one of ${KEY_BACKENDS.join(', ')}`);
  if (o.backend === 'pkcs11') {
    return parseKeyRef({
      backend: 'pkcs11',
      module: o.module,
      tokenLabel: o.tokenLabel,
      keyLabel: o.keyLabel ?? o.org,
      pinEnv: o.pinEnv,
      pinFile: o.pinFile,
    });
  }
  // Without --key-id a key is created in KMS and its id replaces this placeholder before anything is stored.
  if (o.backend === 'aws-kms')
    return parseKeyRef({
      backend: 'aws-kms',
      keyId: o.keyId ?? 'to-be-created',
      region: o.region,
      endpoint: o.endpoint,
    });
  return { backend: 'file' };
}

/** What `keys create` made: the key's public half and where its file or reference is. */
export interface CreatedKey {
  org: string;
  backend: KeyRef['backend'];
  publicKey: string;
  file: string;
}

/** Creates a local key file, or a key inside the token or KMS with a local reference to it. */
export async function createKey(ctx: Ctx, o: CreateOpts): Promise<CreatedKey> {
  const ref = refOf(o);
  if (ref.backend === 'file') {
    const k = createOrgKey(ctx.home, o.org, Boolean(o.force));
    return { org: o.org, backend: 'file', publicKey: toHex(k.publicKey), file: k.file };
  }
  let stored: KeyRef = ref;
  let publicKey: Uint8Array;
  if (ref.backend === 'pkcs11') {
    const s = generatePkcs11Key(ref, pkcs11Pin(ref, ctx.io.env));
    publicKey = s.publicKey;
    s.close();
  } else {
    const keyId = o.keyId ?? (await createAwsKmsKey(ref, `consortia admin key of ${o.org}`));
    stored = { ...ref, keyId };
    const s = await openAwsKmsSigner(stored);
    publicKey = s.publicKey;
    s.close();
  }
  const file = writeKeyRef(ctx.home, o.org, publicKey, stored, Boolean(o.force));
  return { org: o.org, backend: stored.backend, publicKey: toHex(publicKey), file };
}

/** The backend flags of `keys create`, shared by the commands that create a key (keys rotate, member recover-key). */
export function backendOptions(c: Command): Command {
  return c
    .option('--backend <backend>', `where the key lives: ${KEY_BACKENDS.join(' | ')}`, 'file')
    .option('--module <path>', 'pkcs11: absolute path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so)')
    .option('--token-label <label>', 'pkcs11: label of the token')
    .option('--key-label <label>', 'pkcs11: label of the new key pair (default: the local key name)')
    .option('--pin-env <VAR>', 'pkcs11: environment variable holding the user PIN (read at each use, never stored)')
    .option('--pin-file <path>', 'pkcs11: file holding the user PIN (read at each use, never stored)')
    .option(
      '--key-id <id>',
      'aws-kms: use this existing ECC_NIST_EDWARDS25519 key (id, ARN or alias) instead of creating one',
    )
    .option('--region <region>', 'aws-kms: AWS region')
    .option('--endpoint <url>', "aws-kms: KMS-compatible endpoint instead of AWS's");
}

export function registerKeys(program: Command, io: CliIo): void {
  const keys = program
    .command('keys')
    .description('organization admin Ed25519 keys: a local file (mode 0600), a PKCS#11 token or AWS KMS');
  keys
    .command('create')
    .description(
      'generate an admin key for an organization (inside the token or KMS for those backends); prints the public key to register with `org create`',
    )
    .requiredOption('--org <name>', 'local name of the key (usually the organization name)')
    .option('--backend <backend>', `where the key lives: ${KEY_BACKENDS.join(' | ')}`, 'file')
    .option('--module <path>', 'pkcs11: absolute path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so)')
    .option('--token-label <label>', 'pkcs11: label of the token')
    .option('--key-label <label>', 'pkcs11: label of the new key pair (default: --org)')
    .option('--pin-env <VAR>', 'pkcs11: environment variable holding the user PIN (read at each use, never stored)')
    .option('--pin-file <path>', 'pkcs11: file holding the user PIN (read at each use, never stored)')
    .option(
      '--key-id <id>',
      'aws-kms: use this existing ECC_NIST_EDWARDS25519 key (id, ARN or alias) instead of creating one',
    )
    .option('--region <region>', 'aws-kms: AWS region')
    .option('--endpoint <url>', "aws-kms: KMS-compatible endpoint instead of AWS's")
    .option('--force', 'replace an existing local key file or key reference (never a key inside a token or KMS)')
    .action(
      action<CreateOpts>(io, async (ctx, o) => {
        printObject(io, ctx.json, await createKey(ctx, o));
      }),
    );
  keys
    .command('show')
    .description('print the public key of a local key or key reference')
    .requiredOption('--org <name>')
    .action(
      action<{ org: string }>(io, (ctx, o) => {
        const k = loadOrgKey(ctx.home, o.org, ctx.io.env);
        printObject(io, ctx.json, { org: o.org, backend: k.backend, publicKey: toHex(k.publicKey), file: k.file });
      }),
    );
  keys
    .command('list')
    .description('list local keys and key references (public halves only)')
    .action(
      action(io, (ctx) =>
        printTable(io, ctx.json, listOrgKeys(ctx.home), [
          ['ORG', (r) => r.org],
          ['BACKEND', (r) => r.backend],
          ['PUBLIC KEY', (r) => r.publicKey],
          ['FILE', (r) => r.file],
        ]),
      ),
    );
}
