/**
 * Per-node admin credential. A node refuses every state change but signed tx submission unless the
 * request carries `Authorization: Bearer <its admin token>` (src/node/rpc/admin-auth.ts). The control
 * plane generates one token per node, keeps it only sealed (AES-256-GCM, secret-box.ts, the record
 * bound as additional data so a sealed token cannot be moved to another node) in its store, and
 * hands the plaintext to the node's runtime in the NodeSpec, which delivers it to that node alone:
 * local runtime: a 0600 file beside the node's config; kubernetes: a per-node Secret mounted
 * read-only into the pod. It is never returned by the API, logged, or written into a ConfigMap.
 */
import { randomBytes } from 'node:crypto';
import { openSecret, sealSecret } from './secret-box.js';

export const NODE_ADMIN_TOKEN_PREFIX = 'cna_';
/** Random bytes per token (base64url: 43 characters after the prefix); the node accepts 32 characters or more. */
export const NODE_ADMIN_TOKEN_BYTES = 32;

/** Stored record (store key nodesecret/<cid>/<nodeId>), deleted with the node. */
export interface NodeSecretRecord {
  version: number;
  consortiumId: string;
  nodeId: string;
  /** sealSecret(key, token, nodeSecretAad(cid, nodeId)). */
  adminTokenSealed: string;
  createdAt: string;
}

export function generateNodeAdminToken(): string {
  return NODE_ADMIN_TOKEN_PREFIX + randomBytes(NODE_ADMIN_TOKEN_BYTES).toString('base64url');
}

export function nodeSecretAad(consortiumId: string, nodeId: string): string {
  return `node-admin-token/${consortiumId}/${nodeId}`;
}

export function sealNodeAdminToken(key: Buffer, token: string, consortiumId: string, nodeId: string): string {
  return sealSecret(key, token, nodeSecretAad(consortiumId, nodeId));
}

/** Throws (INTERNAL) when the key is not the one it was sealed with, or the record was moved or altered. */
export function openNodeAdminToken(
  key: Buffer,
  rec: Pick<NodeSecretRecord, 'consortiumId' | 'nodeId' | 'adminTokenSealed'>,
): string {
  return openSecret(key, rec.adminTokenSealed, nodeSecretAad(rec.consortiumId, rec.nodeId));
}
