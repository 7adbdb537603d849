/**
 * What the load-generating benches share (bench/chain-throughput.ts, bench/signing-chain.ts):
 * posting txs to a node's binary batch endpoint over a keep-alive agent,
 * and the CPU the node processes used.
 */
import { readFileSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { encodeLengthPrefixed } from '../../src/node/rpc/index.js';

export interface BatchAnswer {
  /** Per tx; a load-shedding refusal says when to come back (error.retryAfterSeconds). */
  results?: { status: string; error?: { code: string; retryAfterSeconds?: number } }[];
  /** The whole request refused (e.g. BUSY). */
  error?: { code: string };
  /** The Retry-After header, seconds. */
  retryAfterS?: number;
}

/** POST /v1/txs/batch with node:http and keep-alive rather than fetch: the load generator shares the cores with the nodes. */
export function postTxBatch(agent: Agent, url: string, txs: readonly Uint8Array[]): Promise<BatchAnswer> {
  const body = encodeLengthPrefixed(txs);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const a = JSON.parse(Buffer.concat(chunks).toString('utf8')) as BatchAnswer;
            const ra = Number(res.headers['retry-after']);
            resolve(Number.isFinite(ra) && ra > 0 ? { ...a, retryAfterS: ra } : a);
          } catch (e) {
            reject(e as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** CPU seconds (user + system, all threads) the processes used so far, from /proc/PID/stat; NaN off Linux. */
export function processCpuSeconds(pids: readonly (number | undefined)[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      sum += (Number(f[11]) + Number(f[12])) / 100; // utime, stime (fields 14, 15) in clock ticks of 10 ms
    } catch {
      return Number.NaN;
    }
  }
  return sum;
}
