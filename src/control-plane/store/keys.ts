/**
 * Key layout of the embedded store. Hierarchical keys make "children of X" a prefix scan,
 * and the separator '/' never appears in generated ids.
 */
export const K = {
  org: (orgId: string) => `org/${orgId}`,
  orgs: () => 'org/',
  token: (ownerId: string, tokenId: string) => `token/${ownerId}/${tokenId}`,
  tokens: (ownerId: string) => `token/${ownerId}/`,
  allTokens: 'token/',
  tokenByHash: (hash: string) => `tokenhash/${hash}`,
  cluster: (id: string) => `cluster/${id}`,
  clusters: () => 'cluster/',
  consortium: (cid: string) => `cons/${cid}`,
  consortia: () => 'cons/',
  member: (cid: string, memberId: string) => `member/${cid}/${memberId}`,
  members: (cid: string) => `member/${cid}/`,
  /** Reverse index: which consortia an org belongs to (visibility checks, event filtering). */
  orgConsortium: (orgId: string, cid: string) => `orgcons/${orgId}/${cid}`,
  orgConsortia: (orgId: string) => `orgcons/${orgId}/`,
  proposal: (cid: string, pid: string) => `prop/${cid}/${pid}`,
  proposals: (cid: string) => `prop/${cid}/`,
  node: (cid: string, nodeId: string) => `node/${cid}/${nodeId}`,
  nodes: (cid: string) => `node/${cid}/`,
  allNodes: () => 'node/',
  /** A node's sealed admin credential (domain/node-credentials.ts); never part of the node record the API returns. */
  nodeSecret: (cid: string, nodeId: string) => `nodesecret/${cid}/${nodeId}`,
  ceremony: (cid: string) => `ceremony/${cid}`,
  idempotency: (principal: string, key: string) => `idem/${principal}/${key}`,
  audit: (id: string) => `audit/${id}`,
  audits: () => 'audit/',
  /** Index of the `auth.denied` audit records (api/auth-failures.ts keeps at most AUTH_AUDIT_RETAINED_MAX). */
  authFailure: (id: string) => `authfail/${id}`,
  authFailures: () => 'authfail/',
  /** Hashes of configured bootstrap tokens already added: a revoked or rotated one is never re-added at start. */
  bootstrapHash: (hash: string) => `meta/bootstrap-hash/${hash}`,
  meta: (name: string) => `meta/${name}`,
  /**
   * Commit-ordered log of audit records (level-store.ts writes one entry per audit record in the
   * same batch): delivery/ resumes control-plane events from a sequence, so none is skipped.
   */
  change: (seq: number) => `chg/${seq.toString().padStart(15, '0')}`,
  changes: () => 'chg/',
  /** Webhook subscriptions (delivery/): the record, its signing secret, its cursor, its dead letters. */
  subscription: (cid: string, sid: string) => `sub/${cid}/${sid}`,
  subscriptions: (cid: string) => `sub/${cid}/`,
  allSubscriptions: () => 'sub/',
  subscriptionSecret: (cid: string, sid: string) => `subsecret/${cid}/${sid}`,
  subscriptionCursor: (cid: string, sid: string) => `subcursor/${cid}/${sid}`,
  deadLetter: (cid: string, sid: string, position: string) => `subdead/${cid}/${sid}/${position}`,
  deadLetters: (cid: string, sid: string) => `subdead/${cid}/${sid}/`,
  /** Dead letters an operator asked to redeliver (index, so the worker never scans the whole list). */
  redelivery: (cid: string, sid: string, position: string) => `subredeliver/${cid}/${sid}/${position}`,
  redeliveries: (cid: string, sid: string) => `subredeliver/${cid}/${sid}/`,
};
