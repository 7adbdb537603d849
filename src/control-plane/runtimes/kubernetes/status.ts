import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { NodeExitCodes, genesisMismatchStatus } from '../../../lib/node-exit.js';
import type { NodeObservation, ObservedPhase } from '../runtime.js';
import { ANNOTATION } from './names.js';

/** What the node itself reports, when the control plane can reach its API. */
export interface NodeReport {
  identity?: { publicKey: string; proofOfPossession: string };
  status?: { height?: number; peers?: unknown[]; syncing?: boolean };
}

const FAILING_WAIT_REASONS = new Set([
  'CrashLoopBackOff',
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'InvalidImageName',
]);

/**
 * Node observation from the StatefulSet and its pod as the API reports them (pure: no I/O),
 * enriched with what the node answered at /v1/identity and /v1/status.
 */
export function deriveObservation(
  sts: V1StatefulSet | undefined,
  pod: V1Pod | undefined,
  report: NodeReport = {},
): NodeObservation {
  if (!sts) return { phase: 'Absent', ready: false };
  const containers = pod?.status?.containerStatuses ?? [];
  const restarts = containers.reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const waiting = containers.map((c) => c.state?.waiting).find((w) => w?.reason !== undefined);
  let phase: ObservedPhase;
  let message: string | undefined;
  if (!pod) {
    phase = 'Pending';
    message = 'waiting for the pod to be created';
  } else if (pod.metadata?.deletionTimestamp) {
    phase = 'Pending';
    message = 'pod terminating';
  } else if (pod.status?.phase === 'Failed' || (waiting?.reason && FAILING_WAIT_REASONS.has(waiting.reason))) {
    phase = 'Failed';
    message = waiting?.reason
      ? `${waiting.reason}: ${waiting.message ?? ''}`.trim()
      : (pod.status?.message ?? 'pod failed');
  } else if (pod.status?.phase === 'Running') {
    phase = 'Running';
  } else {
    phase = 'Pending';
    const sched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    message = sched?.message ?? waiting?.reason ?? `pod ${pod.status?.phase ?? 'Pending'}`;
  }
  const podReady = pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  const current = pod !== undefined && podIsCurrent(sts, pod);
  // A Ready pod made from an older template is about to be replaced: not ready for the new spec.
  const ready = phase === 'Running' && podReady && current;
  if (phase === 'Running' && podReady && !current) message = 'rolling: the pod predates the current spec';
  if (report.status?.height !== undefined) {
    const peers = report.status.peers?.length ?? 0;
    message = `height ${report.status.height}, ${peers} peers${report.status.syncing ? ', syncing' : ''}`;
  }
  // The node stopped itself on a genesis it was not provisioned for (exit code 3): say so, not "CrashLoopBackOff" / "Running".
  const mismatch = pod && !pod.metadata?.deletionTimestamp ? genesisMismatchOf(containers) : undefined;
  if (mismatch !== undefined) {
    phase = 'Failed';
    message = mismatch;
  }
  const obs: NodeObservation = { phase, ready: mismatch !== undefined ? false : ready, restarts };
  if (message !== undefined) obs.message = message;
  if (report.identity) obs.identity = report.identity;
  return obs;
}

type ContainerStatus = NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number];

/**
 * "GENESIS_MISMATCH: <why>" when the node container last stopped with the node's GENESIS_MISMATCH exit
 * code and has not been ready since (it keeps failing while restarted), else undefined. <why> comes
 * from the node's fatal log line (terminationMessagePolicy FallbackToLogsOnError).
 */
export function genesisMismatchOf(containers: ContainerStatus[]): string | undefined {
  const node = containers.find((c) => c.name === 'node') ?? containers[0];
  if (!node || node.ready) return undefined;
  const term =
    node.state?.terminated?.exitCode === NodeExitCodes.GENESIS_MISMATCH
      ? node.state.terminated
      : node.lastState?.terminated?.exitCode === NodeExitCodes.GENESIS_MISMATCH
        ? node.lastState.terminated
        : undefined;
  return term ? genesisMismatchStatus(term.message) : undefined;
}

/** Whether the pod was made from the StatefulSet's current template (its config hash and image). */
export function podIsCurrent(sts: V1StatefulSet, pod: V1Pod): boolean {
  const tpl = sts.spec?.template;
  const node = (p: { containers: { name: string; image?: string }[] } | undefined) =>
    p?.containers.find((c) => c.name === 'node')?.image;
  const wantHash = tpl?.metadata?.annotations?.[ANNOTATION.configHash];
  const wantImage = node(tpl?.spec);
  return (
    (wantHash === undefined || wantHash === pod.metadata?.annotations?.[ANNOTATION.configHash]) &&
    (wantImage === undefined || wantImage === node(pod.spec))
  );
}

/** Whether the pod runs `image` and is Ready (rolling upgrade step done). */
export function podReadyWithImage(pod: V1Pod | undefined, image: string): boolean {
  if (!pod || pod.metadata?.deletionTimestamp) return false;
  const img = pod.spec?.containers.find((c) => c.name === 'node')?.image;
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  return img === image && ready && pod.status?.phase === 'Running';
}
