/** The chart's dashboards by file name, and how a dashboard is written (stable JSON, 2-space indent). */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { chainDashboard } from './chain.js';
import { controlPlaneDashboard } from './control-plane.js';

export const DASHBOARDS: Record<string, () => dashboard.Dashboard> = {
  'chain.json': chainDashboard,
  'control-plane.json': controlPlaneDashboard,
};

export function renderDashboard(d: dashboard.Dashboard): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
