import { CustodyCodes, openAwsKmsSigner, openPkcs11Signer, pkcs11Pin, type KeyRef } from '../lib/custody/index.js';
import { ConsortiaError } from '../lib/errors.js';
import { portable, toHex, type Signer } from './chain-port.js';

interface Opened extends Signer {
  close(): void;
}

async function open(ref: Exclude<KeyRef, { backend: 'file' }>, env: NodeJS.ProcessEnv): Promise<Opened> {
  return ref.backend === 'pkcs11' ? openPkcs11Signer(ref, pkcs11Pin(ref, env)) : openAwsKmsSigner(ref);
}

/**
 * A Signer over a key held by a PKCS#11 token or AWS KMS, opened on its first signature (so
 * commands that only need the public key never touch the backend). The backend's key must be the
 * one recorded when the reference was made, and each signature is checked before it is used: a
 * token or KMS key swapped behind the reference fails here, not at the control plane or node.
 */
export function custodySigner(ref: KeyRef, publicKey: Uint8Array, env: NodeJS.ProcessEnv): Signer {
  if (ref.backend === 'file')
    throw new ConsortiaError(
      CustodyCodes.KEY_REF_INVALID,
      'a file key is read from its key file, not through a reference',
    );
  let opened: Promise<Opened> | undefined;
  const backend = async (): Promise<Opened> => {
    opened ??= open(ref, env).then((s) => {
      if (toHex(s.publicKey) !== toHex(publicKey)) {
        s.close();
        throw new ConsortiaError(
          CustodyCodes.KEY_UNSUITABLE,
          `the ${ref.backend} key now has public key ${toHex(s.publicKey)}, not the recorded ${toHex(publicKey)}`,
        );
      }
      return s;
    });
    return opened;
  };
  return {
    publicKey,
    sign: async (message) => {
      const sig = await (await backend()).sign(message);
      if (!portable.verify(publicKey, message, sig))
        throw new ConsortiaError(
          CustodyCodes.KEY_UNSUITABLE,
          `the ${ref.backend} key returned a signature that does not verify`,
        );
      return sig;
    },
  };
}
