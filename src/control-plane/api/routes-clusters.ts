/** Deployment targets. `local` always exists; kubernetes clusters are checked by a registered validator. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { getClusterValidator } from '../domain/cluster-connector.js';
import { CpCodes } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { sealSecret } from '../domain/secret-box.js';
import { actorOf } from '../domain/tokens.js';
import type { Cluster } from '../domain/types.js';
import { recordChange } from '../store/index.js';
import { principalOf, requirePlatformAdmin } from './auth.js';
import type { ApiContext } from './context.js';
import { mutate } from './mutate.js';
import * as S from './schemas.js';

export function clusterView(c: Cluster) {
  return { ...c, hasKubeconfig: c.kubeconfigSealed !== undefined };
}

export function clusterRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();

  r.post(
    '/v1/clusters',
    {
      schema: {
        tags: ['clusters'],
        summary: 'Register a kubernetes cluster (platform-admin)',
        headers: S.IdempotencyHeaders,
        body: S.ClusterCreate,
        response: { 201: S.Cluster, ...S.Errors },
      },
    },
    async (req, reply) => {
      const p = principalOf(req);
      requirePlatformAdmin(p);
      const { name, kind, kubeconfig, runtimeOptions } = req.body;
      const inCluster = req.body.inCluster ?? false;
      if (!kubeconfig && !inCluster)
        throw new ConsortiaError(CpCodes.VALIDATION_FAILED, 'either kubeconfig or inCluster: true is required', {
          field: 'kubeconfig',
        });
      if (kubeconfig && !ctx.encryptionKey) {
        throw new ConsortiaError(
          CpCodes.ENCRYPTION_NOT_CONFIGURED,
          'storing a kubeconfig requires encryptionKey (CONSORTIA_ENCRYPTION_KEY)',
          { field: 'kubeconfig' },
        );
      }
      // Reachability / version check before anything is stored (outside the batch: it does I/O).
      const validator = getClusterValidator(kind);
      let serverVersion: string | undefined;
      let status: Cluster['status'] = 'Unverified';
      if (validator) {
        try {
          serverVersion = (
            await validator({
              name,
              kind,
              inCluster,
              ...(kubeconfig ? { kubeconfig } : {}),
              ...(runtimeOptions ? { runtimeOptions } : {}),
            })
          ).serverVersion;
          status = 'Ready';
        } catch (err) {
          if (err instanceof ConsortiaError && err.code === CpCodes.VALIDATION_FAILED) throw err;
          throw new ConsortiaError(CpCodes.CLUSTER_UNREACHABLE, `cluster check failed: ${(err as Error).message}`);
        }
      }
      return clusterView(
        await mutate(
          ctx,
          req,
          reply,
          201,
          async (repo) => {
            const id = newId('cls');
            const c: Cluster = {
              id,
              name,
              kind,
              inCluster,
              status,
              version: 0,
              createdAt: new Date(ctx.now()).toISOString(),
              ...(serverVersion ? { serverVersion } : {}),
              ...(runtimeOptions ? { runtimeOptions } : {}),
              ...(kubeconfig && ctx.encryptionKey
                ? { kubeconfigSealed: sealSecret(ctx.encryptionKey, kubeconfig, `cluster/${id}`) }
                : {}),
            };
            const saved = await repo.clusters.create(c);
            await recordChange(repo.uow, ctx.bus, ctx.now(), {
              actor: actorOf(p),
              type: 'cluster.created',
              resource: `clusters/${id}`,
              orgIds: [],
              data: clusterView(saved),
            });
            return saved;
          },
          { idempotent: true },
        ),
      );
    },
  );

  r.get(
    '/v1/clusters',
    {
      schema: { tags: ['clusters'], querystring: S.PageQuery, response: { 200: S.PageOf(S.Cluster), ...S.Errors } },
    },
    async (req) => {
      const page = await ctx.q.clusters(req.query);
      return { items: page.items.map(clusterView), nextCursor: page.nextCursor };
    },
  );

  r.get(
    '/v1/clusters/:clusterId',
    {
      schema: {
        tags: ['clusters'],
        params: Type.Object({ clusterId: Type.String() }),
        response: { 200: S.Cluster, ...S.Errors },
      },
    },
    async (req) => {
      const c = await ctx.q.cluster(req.params.clusterId);
      if (!c) throw new ConsortiaError(CpCodes.NOT_FOUND, `cluster ${req.params.clusterId} not found`);
      return clusterView(c);
    },
  );
}
