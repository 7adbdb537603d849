/**
 * A verify-pool worker thread (src/node/verify-pool/pool.ts): verifies the signatures of each
 * packed job it is sent with the chain's own verifyDomain (src/chain/keys.ts), and answers with
 * one byte per item (1 = valid), transferred back.
 */
import { parentPort } from 'node:worker_threads';
import { verifyDomain } from '../../chain/index.js';
import { unpackItems } from './pack.js';

export interface VerifyJobMsg {
  id: number;
  buf: ArrayBuffer;
}
export interface VerifyResultMsg {
  id: number;
  results: ArrayBuffer;
}
/** Sent once, when the worker is listening. */
export interface VerifyReadyMsg {
  ready: true;
}

const port = parentPort;
if (port) {
  port.on('message', (m: VerifyJobMsg) => {
    const items = unpackItems(m.buf);
    const results = new Uint8Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      results[i] = verifyDomain(it.tag, it.publicKey, it.payload, it.signature) ? 1 : 0;
    }
    const reply: VerifyResultMsg = { id: m.id, results: results.buffer };
    port.postMessage(reply, [results.buffer]);
  });
  const ready: VerifyReadyMsg = { ready: true };
  port.postMessage(ready);
}
