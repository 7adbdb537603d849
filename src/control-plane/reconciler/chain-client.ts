/**
 * What the reconciler needs from a chain node: submit a tx and read an account. Its own file so that
 * governance-worker.ts, governance-submit.ts and node-registrar.ts share it without importing each other.
 */
export interface SubmitResult {
  ok: boolean;
  /** chain result or error code */
  code: string;
  hash?: string;
  height?: number;
  /** true when retrying later may succeed (no node, nonce race, timeout). */
  retry: boolean;
  message?: string;
}

/** Submits txs to a node API (POST /v1/txs?wait=commit) and reads the submitter account. */
export interface ChainClient {
  accountNonce(apiUrl: string, publicKeyHex: string): Promise<number | null>;
  submit(apiUrl: string, txHex: string): Promise<SubmitResult>;
}
