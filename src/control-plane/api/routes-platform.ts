/** Facts about this control plane that clients need: the node CA their calls to chain nodes trust. */
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ConsortiaError } from '../../lib/errors.js';
import { CpCodes } from '../domain/errors.js';
import * as S from './schemas.js';

export interface PlatformInfo {
  /** The node CA (main.ts, <dataDir>/tls/node-ca.crt); absent when this control plane has none (tests). */
  nodeCa?: { certificate: string; fingerprint: string };
}

export function platformRoutes(app: FastifyInstance, info: PlatformInfo): void {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  // Any valid token: the CA certificate is public, but who asks is still known.
  r.get(
    '/v1/platform/node-ca',
    {
      schema: {
        tags: ['platform'],
        summary: "The CA that signs the chain nodes' HTTPS certificates (Kubernetes runtime)",
        response: { 200: S.NodeCa, ...S.Errors },
      },
    },
    async () => {
      if (!info.nodeCa) throw new ConsortiaError(CpCodes.NOT_FOUND, 'this control plane has no node CA');
      return { caCertificate: info.nodeCa.certificate, fingerprint: info.nodeCa.fingerprint };
    },
  );
}
