import { describe, expect, it } from 'vitest';
import {
  buildServiceMonitor,
  KubernetesCodes,
  MANAGED_BY,
  LABEL,
  resolveOptions,
} from '../../../../src/control-plane/runtimes/kubernetes/index.js';
import { ctx, spec } from './fixtures.js';

// kubernetesRuntime.serviceMonitorLabels: extra labels on every ServiceMonitor the runtime creates,
// so that a Prometheus' serviceMonitorSelector (e.g. kube-prometheus-stack's release label) selects
// chain nodes. The Helm chart fills it from serviceMonitor.labels.
describe('kubernetes runtime: ServiceMonitor labels', () => {
  it("puts the configured labels on every node ServiceMonitor; the runtime's own labels win", () => {
    const opts = resolveOptions({
      ...ctx.opts,
      serviceMonitorLabels: { release: 'kube-prometheus-stack', [LABEL.managedBy]: 'someone-else' },
    });
    const sm = buildServiceMonitor(spec(), { ...ctx, opts })!;
    expect(sm.metadata.labels).toMatchObject({
      release: 'kube-prometheus-stack',
      [LABEL.managedBy]: MANAGED_BY,
      [LABEL.role]: 'validator',
    });
  });

  it('defaults to none', () => {
    expect(resolveOptions({}).serviceMonitorLabels).toEqual({});
    expect(buildServiceMonitor(spec(), ctx)!.metadata.labels).not.toHaveProperty('release');
  });

  it.each([
    [{ 'bad key!': 'x' }],
    [{ release: 'not a value' }],
    [{ release: 'x'.repeat(64) }],
    [{ release: 1 }],
    [['release']],
  ])('refuses %j naming the option', (labels) => {
    expect(() => resolveOptions({ serviceMonitorLabels: labels as never })).toThrow(
      expect.objectContaining({
        code: KubernetesCodes.K8S_INVALID_OPTIONS,
        details: { key: expect.stringMatching(/^serviceMonitorLabels/) },
      }),
    );
  });
});
