/**
 * Typed repositories over a UnitOfWork: the rest of the control plane never sees level
 * keys. Every write joins the unit of work's single atomic batch.
 */
import type {
  ApiToken,
  AuditEvent,
  Ceremony,
  Cluster,
  Consortium,
  Member,
  NodeRecord,
  Organization,
  Proposal,
} from '../domain/types.js';
import type { NodeSecretRecord } from '../domain/node-credentials.js';
import type { ListOptions, LevelStore, Page, UnitOfWork } from './level-store.js';
import { K } from './keys.js';

export interface Repo<T extends { version: number }, Id extends unknown[]> {
  get(...id: Id): Promise<T | undefined>;
  put(value: T): Promise<T>;
  create(value: T): Promise<T>;
  del(...id: Id): Promise<void>;
}

function repo<T extends { version: number }, Id extends unknown[]>(
  uow: UnitOfWork,
  keyOf: (...id: Id) => string,
  idOf: (v: T) => Id,
): Repo<T, Id> {
  return {
    get: (...id) => uow.get<T>(keyOf(...id)),
    put: (v) => uow.put(keyOf(...idOf(v)), v),
    create: (v) => uow.create(keyOf(...idOf(v)), v),
    del: (...id) => uow.del(keyOf(...id)),
  };
}

export interface TokenIndexEntry {
  version: number;
  tokenId: string;
  ownerId: string;
}

export function repositories(uow: UnitOfWork) {
  return {
    uow,
    orgs: repo<Organization, [string]>(uow, K.org, (o) => [o.id]),
    tokens: repo<ApiToken, [string, string]>(uow, K.token, (t) => [t.orgId ?? '_platform', t.id]),
    tokenIndex: repo<TokenIndexEntry & { hash: string }, [string]>(uow, K.tokenByHash, (t) => [t.hash]),
    clusters: repo<Cluster, [string]>(uow, K.cluster, (c) => [c.id]),
    consortia: repo<Consortium, [string]>(uow, K.consortium, (c) => [c.id]),
    members: repo<Member, [string, string]>(uow, K.member, (m) => [m.consortiumId, m.memberId]),
    orgConsortia: repo<{ version: number; orgId: string; consortiumId: string }, [string, string]>(
      uow,
      K.orgConsortium,
      (x) => [x.orgId, x.consortiumId],
    ),
    proposals: repo<Proposal, [string, string]>(uow, K.proposal, (p) => [p.consortiumId, p.id]),
    nodes: repo<NodeRecord, [string, string]>(uow, K.node, (n) => [n.consortiumId, n.id]),
    nodeSecrets: repo<NodeSecretRecord, [string, string]>(uow, K.nodeSecret, (r) => [r.consortiumId, r.nodeId]),
    ceremonies: repo<Ceremony, [string]>(uow, K.ceremony, (c) => [c.consortiumId]),
    audit: { append: (e: AuditEvent) => uow.append(K.audit(e.id), e as unknown as Record<string, unknown>) },
  };
}
export type Repositories = ReturnType<typeof repositories>;

/** Read-side queries (lists) that need no unit of work. */
export function queries(store: LevelStore) {
  return {
    orgs: (o: ListOptions): Promise<Page<Organization>> => store.list(K.orgs(), o),
    tokens: (ownerId: string, o: ListOptions): Promise<Page<ApiToken>> => store.list(K.tokens(ownerId), o),
    clusters: (o: ListOptions): Promise<Page<Cluster>> => store.list(K.clusters(), o),
    consortia: (o: ListOptions): Promise<Page<Consortium>> => store.list(K.consortia(), o),
    orgConsortiumIds: async (orgId: string): Promise<string[]> =>
      (await store.all<{ consortiumId: string }>(K.orgConsortia(orgId))).map((x) => x.consortiumId),
    members: (cid: string): Promise<Member[]> => store.all(K.members(cid)),
    proposals: (cid: string, o: ListOptions): Promise<Page<Proposal>> => store.list(K.proposals(cid), o),
    allProposals: (cid: string): Promise<Proposal[]> => store.all(K.proposals(cid)),
    nodes: (cid: string, o: ListOptions): Promise<Page<NodeRecord>> => store.list(K.nodes(cid), o),
    consortiumNodes: (cid: string): Promise<NodeRecord[]> => store.all(K.nodes(cid)),
    allNodes: (): Promise<NodeRecord[]> => store.all(K.allNodes()),
    allConsortia: (): Promise<Consortium[]> => store.all(K.consortia()),
    audit: (o: ListOptions): Promise<Page<AuditEvent>> => store.list(K.audits(), o),
    token: (ownerId: string, id: string) => store.get<ApiToken>(K.token(ownerId, id)),
    tokenByHash: (hash: string) => store.get<TokenIndexEntry>(K.tokenByHash(hash)),
    org: (id: string) => store.get<Organization>(K.org(id)),
    consortium: (id: string) => store.get<Consortium>(K.consortium(id)),
    ceremony: (cid: string) => store.get<Ceremony>(K.ceremony(cid)),
    node: (cid: string, id: string) => store.get<NodeRecord>(K.node(cid, id)),
    nodeSecret: (cid: string, id: string) => store.get<NodeSecretRecord>(K.nodeSecret(cid, id)),
    proposal: (cid: string, id: string) => store.get<Proposal>(K.proposal(cid, id)),
    cluster: (id: string) => store.get<Cluster>(K.cluster(id)),
  };
}
export type Queries = ReturnType<typeof queries>;
