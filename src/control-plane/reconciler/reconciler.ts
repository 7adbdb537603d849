/**
 * Drives every node record towards its desired state through its cluster's Runtime.
 * - Desired state lives in the store, so after a restart (even SIGKILL mid-apply) the
 *   first pass re-reconciles everything; runtimes key their resources by nodeId, so a
 *   repeated apply() never creates a second node.
 * - One reconcile at a time per node (the shared WorkQueue, workqueue/); failures back off
 *   exponentially per node: each pass is the retry, skipping nodes still in their backoff.
 * - Status (phase, identity, endpoints, height, ready) is written back with a fresh
 *   read-modify-write so it never overwrites a concurrent API change (e.g. a DELETE).
 */
import { hasQuorum, maxFaulty } from '../../consensus/index.js';
import type { Logger } from '../../lib/logging.js';
import type { ChangeBus } from '../domain/events.js';
import { verifyProofOfPossession } from '../domain/genesis.js';
import { generateNodeAdminToken, openNodeAdminToken, sealNodeAdminToken } from '../domain/node-credentials.js';
import { withIdentity } from '../domain/node-registration.js';
import type { NodeRecord, NodeStatus } from '../domain/types.js';
import type { ControlPlaneMetrics } from '../metrics.js';
import type { NodeObservation, Runtime } from '../runtimes/runtime.js';
import { queries, recordChange, repositories, type LevelStore } from '../store/index.js';
import { Backoff, WorkQueue, type ReconcileResult } from '../workqueue/index.js';
import { ReconcileBacklog, isPending } from './backlog.js';
import { advanceCeremony } from './ceremony-driver.js';
import { PeriodicTask } from './periodic.js';
import type { RuntimeResolver } from './runtime-registry.js';
import type { NodeChainStatus } from './node-status.js';
import { buildSpec, specHash, type FounderKeys } from './spec.js';
import { nodeKeySpec, type KeyProvider } from '../domain/key-providers.js';

export interface ReconcilerDeps {
  store: LevelStore;
  bus: ChangeBus;
  runtimes: RuntimeResolver;
  metrics?: ControlPlaneMetrics;
  logger?: Logger;
  now?: () => number;
  intervalMs?: number;
  maxBackoffMs?: number;
  nodeImage?: string;
  /** Reads height and storage of a running node (GET {api}/v1/status, see node-status.ts); injectable for tests. */
  fetchStatus?: (apiUrl: string) => Promise<NodeChainStatus | undefined>;
  /**
   * AES-256-GCM key that seals each node's admin credential in the store (domain/node-credentials.ts).
   * Without it nodes get no admin credential: their admin endpoints (PUT /v1/genesis) refuse everything.
   */
  nodeSecretsKey?: Buffer;
  /** Key providers of the config (domain/key-providers.ts): where nodes requested with a `key` keep it. */
  keyProviders?: ReadonlyMap<string, KeyProvider>;
}

/** Pause between passes over all nodes (ReconcilerDeps.intervalMs overrides it). */
export const RECONCILE_INTERVAL_MS = 1_000;
/** Retry delay after a node's first failed reconcile; it doubles per failure up to the maximum. */
export const RECONCILE_BACKOFF_BASE_MS = 250;
export const RECONCILE_BACKOFF_MAX_MS = 30_000;

interface NodeRef {
  consortiumId: string;
  nodeId: string;
}

export class Reconciler {
  private readonly q;
  private readonly queue: WorkQueue<NodeRef>;
  private readonly backoff: Backoff;
  private readonly loop: PeriodicTask;
  private readonly now: () => number;
  /** The validator being restarted for a new spec, per consortium (cid -> nodeId): one at a time. */
  private readonly restarting = new Map<string, string>();
  /** Nodes not yet in their desired state (consortia_reconcile_queue_*), and validators whose update is held back. */
  private readonly backlog = new ReconcileBacklog();
  private readonly held = new Set<string>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.q = queries(deps.store);
    this.now = deps.now ?? Date.now;
    this.backoff = new Backoff(RECONCILE_BACKOFF_BASE_MS, deps.maxBackoffMs ?? RECONCILE_BACKOFF_MAX_MS);
    // Failures are handled by reconcileNode (status message, this.backoff); the next pass retries.
    const reconcile = async (r: NodeRef): Promise<ReconcileResult> => {
      await this.reconcileNode(r.consortiumId, r.nodeId);
      return {};
    };
    this.queue = new WorkQueue<NodeRef>(
      { reconcile },
      {
        keyOf: (r) => r.nodeId,
        concurrency: Infinity,
        baseMs: RECONCILE_BACKOFF_BASE_MS,
        maxMs: deps.maxBackoffMs ?? RECONCILE_BACKOFF_MAX_MS,
        retryFailed: false,
      },
    );
    const onPassError = (err: unknown): void =>
      this.deps.logger?.error('reconcile pass failed', { error: (err as Error).message });
    this.loop = new PeriodicTask(() => this.pass(), deps.intervalMs ?? RECONCILE_INTERVAL_MS, onPassError);
    if (deps.metrics)
      deps.metrics.backlog.source = {
        depth: () => this.backlog.depth(),
        oldestAgeSeconds: () => this.backlog.oldestAgeSeconds(this.now()),
      };
  }

  start(): void {
    this.loop.start();
  }

  /** Asks for a prompt pass (after an API change). */
  kick(): void {
    this.loop.kick();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }

  /** One pass over all nodes; waits for the reconciles it started. */
  async pass(): Promise<void> {
    const nodes = await this.q.allNodes();
    this.updateNodeGauge(nodes);
    const now = this.now();
    this.backlog.update(
      nodes.filter((n) => isPending(n, this.backoff.failures(n.id) > 0, this.held.has(n.id))).map((n) => n.id),
      now,
    );
    const work: Promise<void>[] = [];
    for (const n of nodes) {
      if (n.desired === 'deleted' && n.status.phase === 'Deleted') continue;
      if (this.queue.busy(n.id) || !this.backoff.ready(n.id, now)) continue;
      work.push(this.queue.addAndWait({ consortiumId: n.consortiumId, nodeId: n.id }).catch(() => undefined));
    }
    await Promise.all(work);
    await this.finalizeDeletedConsortia();
  }

  /**
   * A DELETING consortium whose nodes are all gone: each runtime it used drops what it keeps per
   * consortium (kubernetes: the namespace and shared objects), then the record becomes DELETED.
   */
  private async finalizeDeletedConsortia(): Promise<void> {
    for (const c of await this.q.allConsortia()) {
      if (c.status !== 'DELETING') continue;
      const nodes = await this.q.consortiumNodes(c.id);
      if (nodes.some((n) => n.status.phase !== 'Deleted')) continue;
      try {
        for (const clusterId of new Set(nodes.map((n) => n.clusterId))) {
          await (await this.deps.runtimes.forCluster(clusterId)).deleteConsortium?.(c.id);
        }
      } catch (err) {
        this.deps.logger?.warn('consortium cleanup failed; retrying next pass', {
          consortiumId: c.id,
          error: (err as Error).message,
        });
        continue;
      }
      await this.deps.store.transact(async (uow) => {
        const repo = repositories(uow);
        const fresh = await repo.consortia.get(c.id);
        if (fresh?.status !== 'DELETING') return;
        const saved = await repo.consortia.put({
          ...fresh,
          status: 'DELETED',
          updatedAt: new Date(this.now()).toISOString(),
        });
        await recordChange(uow, this.deps.bus, this.now(), {
          actor: 'reconciler',
          type: 'consortium.deleted',
          resource: `consortia/${c.id}`,
          orgIds: (await this.q.members(c.id)).map((m) => m.orgId),
          data: saved,
        });
      });
    }
  }

  async reconcileNode(cid: string, nodeId: string): Promise<void> {
    const node = await this.q.node(cid, nodeId);
    if (!node) return;
    let runtime: Runtime | undefined;
    const started = process.hrtime.bigint();
    try {
      runtime = await this.deps.runtimes.forCluster(node.clusterId);
      if (node.desired === 'deleted') {
        await runtime.delete({ nodeId: node.id, consortiumId: cid });
        await this.writeStatus(node, () => ({ phase: 'Deleted', ready: false, message: 'deleted' }), 'node.deleted');
        await this.dropNodeSecret(node);
      } else {
        await this.reconcilePresent(node, runtime);
      }
      this.backoff.success(node.id);
    } catch (err) {
      const delay = this.backoff.failure(node.id, this.now());
      this.deps.metrics?.reconcileErrors.inc({ runtime: runtime?.kind ?? 'unknown' });
      const message = `reconcile failed (attempt ${this.backoff.failures(node.id)}, retry in ${Math.round(delay)} ms): ${(err as Error).message}`;
      this.deps.logger?.warn('reconcile failed', { nodeId, consortiumId: cid, error: (err as Error).message });
      await this.writeStatus(node, (s) => ({
        ...s,
        message,
        ...(this.backoff.failures(node.id) >= 5 ? { phase: 'Failed' as const, ready: false } : {}),
      })).catch(() => undefined);
    } finally {
      this.deps.metrics?.reconcileDuration.observe(
        { runtime: runtime?.kind ?? 'unknown' },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
    }
  }

  private async reconcilePresent(node: NodeRecord, runtime: Runtime): Promise<void> {
    const cid = node.consortiumId;
    const cons = await this.q.consortium(cid);
    if (!cons) return;
    const ceremony = await this.q.ceremony(cid);
    const all = await this.q.consortiumNodes(cid);
    const founders = ceremony?.status === 'SEALED' ? [] : await this.founders(cid);
    const adminToken = await this.nodeAdminToken(node);
    const key = node.key !== undefined ? nodeKeySpec(node.key, this.deps.keyProviders ?? new Map()) : undefined;
    const base = buildSpec(node, cons, ceremony, all, cons.nodeImage ?? this.deps.nodeImage, {
      founders,
      ...(adminToken !== undefined ? { adminToken } : {}),
      ...(key !== undefined ? { key: key.key } : {}),
      ...(key?.pin !== undefined ? { keyPin: key.pin } : {}),
    });
    const hash = specHash(base, this.deps.nodeSecretsKey);
    const needsApply = hash !== node.specHash || node.status.observedGeneration !== node.generation;
    if (needsApply && this.mustHoldRestart(node, all)) {
      this.held.add(node.id);
      await this.writeStatus(node, (s) => ({
        ...s,
        message: 'update waiting: restarting this validator now would leave the others without a quorum',
      }));
      return;
    }
    this.held.delete(node.id);
    // Claimed synchronously after the check: concurrent reconciles of one pass see it.
    if (needsApply && node.role === 'validator' && node.status.ready) this.restarting.set(cid, node.id);
    let generation = node.generation;
    if (hash !== node.specHash) {
      // Record the new generation BEFORE applying: a crash in between just re-applies it.
      const saved = await this.deps.store.transact(async (uow) => {
        const repo = repositories(uow);
        const fresh = await repo.nodes.get(cid, node.id);
        if (!fresh || fresh.desired === 'deleted') return undefined;
        const nextGen = fresh.specHash === undefined ? fresh.generation : fresh.generation + 1;
        return repo.nodes.put({ ...fresh, specHash: hash, generation: nextGen });
      });
      if (!saved) return;
      generation = saved.generation;
    }
    const spec = { ...base, generation };
    let obs: NodeObservation | undefined;
    if (node.status.observedGeneration !== generation) {
      await runtime.apply(spec);
    } else {
      obs = await runtime.observe({ nodeId: node.id, consortiumId: cid });
      if (obs.phase === 'Absent') {
        await runtime.apply(spec); // it vanished (e.g. runtime state lost): recreate under the same nodeId
        obs = undefined;
      }
    }
    const applied = obs === undefined;
    obs ??= await runtime.observe({ nodeId: node.id, consortiumId: cid });
    // Restarted and ready again on the new spec (seen on a later pass than the apply): the next validator may go.
    if (!applied && obs.ready && this.restarting.get(cid) === node.id) this.restarting.delete(cid);
    const identity = obs.identity
      ? {
          ...obs.identity,
          verified: verifyProofOfPossession(cons.chainId, obs.identity.publicKey, obs.identity.proofOfPossession),
        }
      : node.status.identity;
    let height = node.status.height;
    let storage = node.status.storage;
    let inValidatorSet = node.status.inValidatorSet;
    if (obs.ready && obs.endpoints && spec.mode === 'run' && this.deps.fetchStatus) {
      const chain = await this.deps.fetchStatus(obs.endpoints.api).catch(() => undefined);
      if (chain) {
        height = chain.height;
        storage = chain.storage ?? storage;
        inValidatorSet = chain.inValidatorSet ?? inValidatorSet;
      }
    }
    const message = validatorSetMessage(node, inValidatorSet) ?? obs.message;
    const phase: NodeStatus['phase'] =
      obs.phase === 'Running' ? 'Running' : obs.phase === 'Failed' ? 'Failed' : 'Provisioning';
    const hadIdentity = node.status.identity?.verified === true;
    await this.writeStatus(
      node,
      () => ({
        phase,
        ready: obs.ready,
        ...(identity ? { identity } : {}),
        ...(obs.endpoints
          ? { endpoints: obs.endpoints }
          : node.status.endpoints
            ? { endpoints: node.status.endpoints }
            : {}),
        ...(height !== undefined ? { height } : {}),
        ...(storage ? { storage } : {}),
        ...(inValidatorSet !== undefined ? { inValidatorSet } : {}),
        ...(message ? { message } : {}),
        ...(obs.restarts !== undefined ? { restarts: obs.restarts } : {}),
        observedGeneration: generation,
      }),
      phase !== node.status.phase || obs.ready !== node.status.ready ? 'node.status' : undefined,
    );
    if (identity?.verified && node.registration?.status === 'AWAITING_IDENTITY')
      await this.awaitRegistrationSignature(node, identity.publicKey);
    if (!hadIdentity && identity?.verified && ceremony?.status === 'COLLECTING_KEYS') {
      await advanceCeremony({ store: this.deps.store, bus: this.deps.bus, now: this.now }, cid);
    }
  }

  /** The consortium's active members with their organizations' admin keys: who must seal its genesis. */
  private async founders(cid: string): Promise<FounderKeys[]> {
    const out: FounderKeys[] = [];
    for (const m of await this.q.members(cid)) {
      if (m.status !== 'ACTIVE') continue;
      const org = await this.q.org(m.orgId);
      if (org) out.push({ memberId: m.memberId, adminKeys: org.adminPublicKeys });
    }
    return out;
  }

  /**
   * The node's admin credential: generated once, kept sealed in the store, opened for each spec
   * (the runtime delivers it to the node). One that cannot be opened (another encryption key) is
   * replaced: the new one reaches the node with its next spec.
   */
  private async nodeAdminToken(node: NodeRecord): Promise<string | undefined> {
    const key = this.deps.nodeSecretsKey;
    if (!key) return undefined;
    const rec = await this.q.nodeSecret(node.consortiumId, node.id);
    if (rec) {
      try {
        return openNodeAdminToken(key, rec);
      } catch {
        this.deps.logger?.warn('node admin credential cannot be opened with the current key; issuing a new one', {
          nodeId: node.id,
          consortiumId: node.consortiumId,
        });
      }
    }
    const token = generateNodeAdminToken();
    await this.deps.store.transact(async (uow) => {
      const repo = repositories(uow);
      const fresh = await repo.nodeSecrets.get(node.consortiumId, node.id);
      await repo.nodeSecrets.put({
        consortiumId: node.consortiumId,
        nodeId: node.id,
        adminTokenSealed: sealNodeAdminToken(key, token, node.consortiumId, node.id),
        createdAt: new Date(this.now()).toISOString(),
        version: fresh?.version ?? 0,
      });
    });
    return token;
  }

  private async dropNodeSecret(node: NodeRecord): Promise<void> {
    await this.deps.store.transact(async (uow) => {
      const repo = repositories(uow);
      if (await repo.nodeSecrets.get(node.consortiumId, node.id))
        await repo.nodeSecrets.del(node.consortiumId, node.id);
    });
  }

  /** The node reported its key: its organization can now sign the on-chain registration. */
  private async awaitRegistrationSignature(node: NodeRecord, publicKey: string): Promise<void> {
    await this.deps.store.transact(async (uow) => {
      const repo = repositories(uow);
      const fresh = await repo.nodes.get(node.consortiumId, node.id);
      if (!fresh || fresh.desired === 'deleted' || fresh.registration?.status !== 'AWAITING_IDENTITY') return;
      const saved = await repo.nodes.put({ ...fresh, registration: withIdentity(fresh, publicKey) });
      await recordChange(uow, this.deps.bus, this.now(), {
        actor: 'reconciler',
        type: 'node.registration_awaiting_signature',
        resource: `consortia/${node.consortiumId}/nodes/${node.id}`,
        orgIds: [node.orgId],
        data: saved,
      });
    });
  }

  /**
   * Any spec change (image, params, peers) restarts a node. A ready validator restarts only while
   * the other ready validators keep a quorum, one at a time per consortium, so rolling a change
   * through a consortium never stops its chain. (With f = 0 any restart pauses the chain: allowed.)
   */
  private mustHoldRestart(node: NodeRecord, all: NodeRecord[]): boolean {
    if (node.role !== 'validator' || !node.status.ready) return false;
    const validators = all.filter((n) => n.role === 'validator' && n.desired === 'present');
    const holder = this.restarting.get(node.consortiumId);
    if (holder !== undefined && holder !== node.id && validators.some((n) => n.id === holder)) return true;
    const othersReady = validators.filter((n) => n.id !== node.id && n.status.ready).length;
    return maxFaulty(validators.length) > 0 && !hasQuorum(othersReady, validators.length);
  }

  /** Fresh read-modify-write of status only; skipped if the node was deleted meanwhile (unless writing Deleted). */
  private async writeStatus(node: NodeRecord, f: (s: NodeStatus) => NodeStatus, eventType?: string): Promise<void> {
    await this.deps.store.transact(async (uow) => {
      const repo = repositories(uow);
      const fresh = await repo.nodes.get(node.consortiumId, node.id);
      if (!fresh) return;
      const next = f(fresh.status);
      if (fresh.desired === 'deleted' && next.phase !== 'Deleted') return;
      const saved = await repo.nodes.put({
        ...fresh,
        status: { ...next, lastReconciledAt: new Date(this.now()).toISOString() },
      });
      if (eventType) {
        await recordChange(uow, this.deps.bus, this.now(), {
          actor: 'reconciler',
          type: eventType,
          resource: `consortia/${node.consortiumId}/nodes/${node.id}`,
          orgIds: [node.orgId],
          data: saved,
        });
      }
    });
  }

  private updateNodeGauge(nodes: NodeRecord[]): void {
    const g = this.deps.metrics?.nodes;
    if (!g) return;
    g.reset();
    for (const n of nodes) g.inc({ consortium: n.consortiumId, role: n.role, status: n.status.phase });
  }
}

/** How a validator's status message begins when its key is not in the validator set. */
export const VALIDATOR_PENDING = 'not yet a validator';
export const VALIDATOR_REMOVED = 'removed from the validator set';

/**
 * A node requested as a validator votes only once its key is in the chain's validator set (an
 * add_validator proposal executed), and stops when a remove_validator executes: its status says so
 * rather than suggesting it signs blocks.
 */
export function validatorSetMessage(node: NodeRecord, inValidatorSet: boolean | undefined): string | undefined {
  if (node.role !== 'validator' || inValidatorSet !== false) return undefined;
  return node.status.inValidatorSet === true || node.status.message?.startsWith(VALIDATOR_REMOVED)
    ? `${VALIDATOR_REMOVED}: it follows the chain as a full node and no longer signs blocks`
    : `${VALIDATOR_PENDING}: its key is not in the validator set until an add_validator proposal executes`;
}
