import { stringify } from 'yaml';

/**
 * Kubeconfig for the EKS cluster using `aws eks get-token` (AWS CLI v2) as the credential
 * plugin, so that it holds no secret itself; access comes from the caller's AWS identity
 * (the cluster creator is admin via EKS access entries).
 */
export function eksKubeconfig(args: { clusterName: string; endpoint: string; caData: string; region: string }): string {
  const ctx = `consortia-${args.clusterName}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: ctx, cluster: { server: args.endpoint, 'certificate-authority-data': args.caData } }],
    users: [
      {
        name: ctx,
        user: {
          exec: {
            apiVersion: 'client.authentication.k8s.io/v1beta1',
            command: 'aws',
            args: ['eks', 'get-token', '--cluster-name', args.clusterName, '--region', args.region, '--output', 'json'],
            interactiveMode: 'Never',
          },
        },
      },
    ],
    contexts: [{ name: ctx, context: { cluster: ctx, user: ctx } }],
    'current-context': ctx,
  });
}
