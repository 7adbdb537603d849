/**
 * Key layout of the embedded store. Hierarchical keys make "children of X" a prefix scan,
 * and the separator '/' never appears in generated ids.
 */
export const K = {
  org: (orgId: string) => `org/${orgId}`,
  orgs: () => 'org/',
  token: (ownerId: string, tokenId: string) => `token/${ownerId}/${tokenId}`,
  tokens: (ownerId: string) => `token/${ownerId}/`,
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
  meta: (name: string) => `meta/${name}`,
};
