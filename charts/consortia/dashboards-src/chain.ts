/**
 * "Consortia / Chain": one consortium's chain as its nodes report it (job consortia-node). Node
 * series carry the target labels consortium, organization, role and tier (the PVC's storage class)
 * from the runtime's ServiceMonitors; per-validator series add validator and validator_organization.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  Scope,
  baseDashboard,
  datasourceVariable,
  finalize,
  queryVariable,
  row,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from './common.js';

const s = new Scope([
  'job=~"$job"',
  'instance=~"$instance"',
  'cluster=~"$cluster"',
  'namespace=~"$namespace"',
  'consortium=~"$consortium"',
]);
const H = 'consortia_chain_height';
const q = (expr: string, legend?: string) => ({ expr, ...(legend !== undefined ? { legend } : {}) });
const quantiles = (metric: string, by: string, legendBy: string) =>
  [0.5, 0.95, 0.99].map((p) =>
    q(
      `histogram_quantile(${p}, sum by (${by}, le) (rate(${s.sel(`${metric}_bucket`)}[$__rate_interval])))`,
      `p${p * 100} ${legendBy}`,
    ),
  );
/** Blocks since each validator's precommit was last in a commit, from the node that saw it sign last. */
const blocksSinceSigned = `min by (validator_organization, validator) (${s.sel(H)} - on (job, instance) group_right ${s.sel('consortia_validator_last_signed_height')})`;

export function chainDashboard(): dashboard.Dashboard {
  const vars = [
    datasourceVariable(),
    queryVariable(
      'cluster',
      'Cluster',
      `label_values(${H}, cluster)`,
      '.*',
      'Kubernetes cluster (the cluster label, where Prometheus adds one)',
    ),
    queryVariable(
      'namespace',
      'Namespace',
      `label_values(${H}{cluster=~"$cluster"}, namespace)`,
      '.*',
      'Namespace of the consortium (one per consortium)',
    ),
    queryVariable(
      'consortium',
      'Consortium',
      `label_values(${H}{cluster=~"$cluster", namespace=~"$namespace"}, consortium)`,
      '.*',
      'Consortium id (target label from the node pods)',
    ),
    queryVariable(
      'job',
      'Job',
      `label_values(${H}{cluster=~"$cluster", namespace=~"$namespace", consortium=~"$consortium"}, job)`,
      '.+',
      'Scrape job of the chain nodes (consortia-node)',
    ),
    queryVariable(
      'instance',
      'Instance',
      `label_values(${H}{cluster=~"$cluster", namespace=~"$namespace", consortium=~"$consortium", job=~"$job"}, instance)`,
      '.+',
      'Chain node targets',
    ),
  ];
  const d = baseDashboard(
    'consortia-chain',
    'Consortia / Chain',
    "One consortium's chain: finality, validator liveness, throughput per node, mempool, network, storage per tier, light clients.",
    ['chain'],
  );
  for (const v of vars) d.withVariable(v);

  d.withRow(
    row('Overview')
      .withPanel(
        statPanel({
          title: 'Height',
          unit: 'none',
          span: 4,
          description: 'Height of the latest finalized block (highest node).',
          queries: [q(`max by (consortium) (${s.sel(H)})`, '{{consortium}}')],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Throughput',
          unit: 'ops',
          span: 4,
          description:
            "Committed transactions per second of the consortium (the highest node's count: every full node commits every block).",
          queries: [
            q(
              `max by (consortium) (rate(${s.sel('consortia_chain_txs_committed_total')}[$__rate_interval]))`,
              '{{consortium}}',
            ),
          ],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Commit latency p99',
          unit: 's',
          span: 4,
          thresholds: [[1.5, 'red']],
          description: 'Admission to finality, 99th percentile over all nodes. The SLO: 99% within 1.5 s.',
          queries: [
            q(
              `histogram_quantile(0.99, sum by (consortium, le) (rate(${s.sel('consortia_chain_commit_latency_seconds_bucket')}[$__rate_interval])))`,
              '{{consortium}}',
            ),
          ],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Peers (min over nodes)',
          unit: 'none',
          span: 4,
          description: 'Fewest connected peers of any node: 0 means a node is isolated.',
          queries: [q(`min by (consortium) (${s.sel('consortia_p2p_peers')})`, '{{consortium}}')],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Validators signing',
          unit: 'none',
          span: 4,
          description:
            'Validators whose precommit is in one of the last 10 commits, and the set size. At or below the quorum (2f+1) the chain has no fault tolerance left.',
          queries: [
            q(`max by (consortium) (${s.sel('consortia_validator_set_signing')})`, 'signing'),
            q(`max by (consortium) (${s.sel('consortia_validator_set_size')})`, 'of'),
          ],
        }),
      )
      .withPanel(
        statPanel({
          title: 'Nodes up',
          unit: 'none',
          span: 4,
          description: 'Node targets Prometheus scrapes successfully, of all node targets.',
          queries: [
            q(`sum by (consortium) (${s.sel('up')})`, 'up'),
            q(`count by (consortium) (${s.sel('up')})`, 'targets'),
          ],
        }),
      ),
  );

  d.withRow(
    row('Validator liveness')
      .withPanel(
        tablePanel({
          title: 'Validator liveness',
          unit: 'none',
          height: 8,
          sortBy: 'Blocks since signed',
          description:
            "Per validator of the current set: blocks since its precommit was last in a commit, precommits and proposals it missed over the dashboard's time range, and its voting power. Commits carry every precommit that arrived in time, so a live validator misses almost none.",
          queries: [
            q(blocksSinceSigned),
            q(
              `max by (validator_organization, validator) (increase(${s.sel('consortia_validator_missed_precommits_total')}[$__range]))`,
            ),
            q(
              `max by (validator_organization, validator) (increase(${s.sel('consortia_validator_missed_proposals_total')}[$__range]))`,
            ),
            q(`max by (validator_organization, validator) (${s.sel('consortia_validator_voting_power')})`),
          ],
          rename: {
            validator_organization: 'Organization',
            validator: 'Validator key',
            'Value #A': 'Blocks since signed',
            'Value #B': 'Missed precommits',
            'Value #C': 'Missed proposals',
            'Value #D': 'Voting power',
          },
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Blocks since each validator signed',
          unit: 'none',
          span: 12,
          thresholds: [[20, 'red']],
          showThresholds: true,
          description:
            "Heights since the validator's precommit was last in a commit (1 is normal: a block's commit is recorded in the next block). Above 20 the validator is missing (alert ConsortiaValidatorMissingBlocks).",
          queries: [q(blocksSinceSigned, '{{validator_organization}} {{validator}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Missed precommits by validator',
          unit: 'none',
          span: 12,
          stack: true,
          description:
            "Committed blocks whose commit lacks the validator's precommit, per interval (highest node's count).",
          queries: [
            q(
              `max by (validator_organization, validator) (increase(${s.sel('consortia_validator_missed_precommits_total')}[$__rate_interval]))`,
              '{{validator_organization}} {{validator}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Missed proposals by validator',
          unit: 'none',
          span: 12,
          stack: true,
          description:
            'Rounds in which the validator was the proposer and its block was not committed (a round timed out), per interval.',
          queries: [
            q(
              `max by (validator_organization, validator) (increase(${s.sel('consortia_validator_missed_proposals_total')}[$__rate_interval]))`,
              '{{validator_organization}} {{validator}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Validators signing vs quorum',
          unit: 'none',
          span: 12,
          min: 0,
          description:
            'Validators signing recent blocks, the quorum floor(2n/3)+1 (2f+1 for n = 3f+1) and the set size. Signing at or below the quorum: one more failure halts the chain (alert ConsortiaQuorumAtRisk).',
          queries: [
            q(`max by (consortium) (${s.sel('consortia_validator_set_signing')})`, 'signing {{consortium}}'),
            q(
              `min by (consortium) (floor(2 * ${s.sel('consortia_validator_set_size')} / 3) + 1)`,
              'quorum {{consortium}}',
            ),
            q(`max by (consortium) (${s.sel('consortia_validator_set_size')})`, 'validators {{consortium}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Voting power signing',
          unit: 'percentunit',
          span: 12,
          min: 0,
          max: 1,
          thresholds: [[0.6667, 'green']],
          description:
            'Share of the total voting power held by validators signing recent blocks; a quorum needs more than 2/3.',
          queries: [
            q(
              `max by (consortium) (${s.sel('consortia_validator_set_signing_power')}) / max by (consortium) (${s.sel('consortia_validator_set_power')})`,
              '{{consortium}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Voting power by validator',
          unit: 'none',
          span: 12,
          stack: true,
          description: 'Voting power of each validator of the current set.',
          queries: [
            q(
              `max by (validator_organization, validator) (${s.sel('consortia_validator_voting_power')})`,
              '{{validator_organization}} {{validator}}',
            ),
          ],
        }),
      ),
  );

  d.withRow(
    row('Throughput and finality')
      .withPanel(
        timeseriesPanel({
          title: 'Throughput (tx/s)',
          unit: 'ops',
          span: 12,
          description: 'Committed transactions per second of the consortium (highest node).',
          queries: [
            q(
              `max by (consortium) (rate(${s.sel('consortia_chain_txs_committed_total')}[$__rate_interval]))`,
              '{{consortium}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Committed tx/s by node',
          unit: 'ops',
          span: 12,
          description:
            'Transactions each node committed per second: a node below the others is behind (syncing) or stalled.',
          queries: [
            q(
              `sum by (pod, role, organization) (rate(${s.sel('consortia_chain_txs_committed_total')}[$__rate_interval]))`,
              '{{pod}} {{role}} {{organization}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Height by node',
          unit: 'none',
          span: 12,
          description: 'Latest committed height of each node.',
          queries: [q(`max by (pod, role) (${s.sel(H)})`, '{{pod}} {{role}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Commit latency (admission to finality)',
          unit: 's',
          span: 12,
          thresholds: [[1.5, 'red']],
          showThresholds: true,
          description:
            'Seconds from mempool admission to finality, over all nodes (a tx counts on the node that admitted it).',
          queries: quantiles('consortia_chain_commit_latency_seconds', 'consortium', '{{consortium}}'),
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Commit latency p99 by node',
          unit: 's',
          span: 12,
          description: 'Admission to finality at the 99th percentile, per admitting node.',
          queries: [
            q(
              `histogram_quantile(0.99, sum by (pod, le) (rate(${s.sel('consortia_chain_commit_latency_seconds_bucket')}[$__rate_interval])))`,
              '{{pod}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Finality SLO: share slower than 1.5 s',
          unit: 'percentunit',
          span: 12,
          min: 0,
          thresholds: [[0.01, 'red']],
          showThresholds: true,
          description:
            'Share of committed transactions that took longer than 1.5 s to finalize. The objective allows 1% over 30 days; ConsortiaFinalitySLOBurn alerts on 14.4x (1h/5m) and 6x (6h/30m) that rate.',
          queries: [
            q(
              `1 - sum by (consortium) (rate(${s.sel('consortia_chain_commit_latency_seconds_bucket', 'le="1.5"')}[$__rate_interval])) / sum by (consortium) (rate(${s.sel('consortia_chain_commit_latency_seconds_count')}[$__rate_interval]))`,
              '{{consortium}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Block interval',
          unit: 's',
          span: 8,
          description: 'Seconds between consecutive committed blocks (header times).',
          queries: [
            ...quantiles('consortia_chain_block_interval_seconds', 'consortium', '{{consortium}}').slice(0, 2),
            q(
              `sum by (consortium) (rate(${s.sel('consortia_chain_block_interval_seconds_sum')}[$__rate_interval])) / sum by (consortium) (rate(${s.sel('consortia_chain_block_interval_seconds_count')}[$__rate_interval]))`,
              'mean {{consortium}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Rounds per height',
          unit: 'none',
          span: 8,
          description: 'Consensus rounds needed to commit a height (1 = first round).',
          queries: quantiles('consortia_consensus_rounds_per_height', 'consortium', '{{consortium}}'),
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Current round and evidence',
          unit: 'none',
          span: 8,
          description:
            'Consensus round at the current height per node (above 0: rounds time out), and equivocation evidence recorded.',
          queries: [
            q(`max by (pod) (${s.sel('consortia_consensus_round')})`, 'round {{pod}}'),
            q(
              `sum by (consortium) (increase(${s.sel('consortia_consensus_evidence_total')}[$__rate_interval]))`,
              'evidence {{consortium}}',
            ),
          ],
        }),
      ),
  );

  d.withRow(
    row('Mempool')
      .withPanel(
        timeseriesPanel({
          title: 'Mempool size',
          unit: 'none',
          span: 8,
          description:
            "Pending transactions in each node's mempool; executable ones (not waiting for a missing nonce) against the bound past which the node sheds load (MEMPOOL_BUSY), and gossip waiting for admission.",
          queries: [
            q(`max by (pod) (${s.sel('consortia_mempool_size_txs')})`, 'txs {{pod}}'),
            q(`max by (pod) (${s.sel('consortia_mempool_executable_txs')})`, 'executable {{pod}}'),
            q(`max by (pod) (${s.sel('consortia_mempool_admission_bound_txs')})`, 'shedding bound {{pod}}'),
            q(`max by (pod) (${s.sel('consortia_mempool_ingest_queue_txs')})`, 'gossip queue {{pod}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Mempool bytes',
          unit: 'bytes',
          span: 8,
          description: "Bytes of pending transactions in each node's mempool.",
          queries: [q(`max by (pod) (${s.sel('consortia_mempool_size_bytes')})`, '{{pod}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Rejections by reason',
          unit: 'ops',
          span: 8,
          stack: true,
          description:
            'Transactions refused at admission per second, by reason (MEMPOOL_BUSY, load shedding, and MEMPOOL_FULL: the chain is offered more than it commits).',
          queries: [
            q(`sum by (reason) (rate(${s.sel('consortia_mempool_rejections_total')}[$__rate_interval]))`, '{{reason}}'),
          ],
        }),
      ),
  );

  d.withRow(
    row('Network')
      .withPanel(
        timeseriesPanel({
          title: 'Peers',
          unit: 'none',
          span: 8,
          description: 'Connected, authenticated peers of each node.',
          queries: [q(`max by (pod) (${s.sel('consortia_p2p_peers')})`, '{{pod}}')],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Sent bytes by channel',
          unit: 'Bps',
          span: 8,
          stack: true,
          description: 'Bytes per second sent to peers, by channel.',
          queries: [
            q(`sum by (channel) (rate(${s.sel('consortia_p2p_sent_bytes_total')}[$__rate_interval]))`, '{{channel}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Received bytes by channel',
          unit: 'Bps',
          span: 8,
          stack: true,
          description: 'Bytes per second received from peers, by channel.',
          queries: [
            q(
              `sum by (channel) (rate(${s.sel('consortia_p2p_received_bytes_total')}[$__rate_interval]))`,
              '{{channel}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Rejected peer messages by channel',
          unit: 'ops',
          span: 8,
          description: 'Malformed or invalid messages from peers dropped per second, by channel.',
          queries: [
            q(
              `sum by (channel) (rate(${s.sel('consortia_p2p_rejected_messages_total')}[$__rate_interval]))`,
              '{{channel}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Peer connections lost by reason',
          unit: 'ops',
          span: 8,
          stack: true,
          description:
            'Established peer connections that ended, per reason: timeout = nothing (not even a ping) arrived within the deadline, i.e. a silently cut link or a hung peer; closed / error = closed or reset by the peer or the OS; banned / removed = by this node; replaced = by a newer connection to the same peer (simultaneous dials). Each is redialed.',
          queries: [
            q(`sum by (reason) (rate(${s.sel('consortia_p2p_peer_lost_total')}[$__rate_interval]))`, '{{reason}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Quorum of validators visible',
          unit: 'none',
          span: 8,
          min: 0,
          max: 1,
          description:
            '1 when a node is connected to validators holding more than 2/3 of the voting power (itself included); 0 = it is cut off from a quorum and cannot finalize (alert ConsortiaQuorumNotVisible).',
          queries: [q(`min by (pod) (${s.sel('consortia_p2p_quorum_visible')})`, '{{pod}}')],
        }),
      ),
  );

  // kubelet volume stats have their own job and instance (the kubelet): joined to the node targets'
  // tier through the PVC name data-<pod> (lint exclusion: test/charts/dashboard-lint.ts).
  const kube = (metric: string) =>
    `${metric}{${s.only(['cluster', 'namespace'], 'persistentvolumeclaim=~"data-node-.+"')}}`;
  const tierOfPvc = `on (namespace, persistentvolumeclaim) group_left (tier) label_replace(group by (namespace, pod, tier) (${s.sel('up')}), "persistentvolumeclaim", "data-$1", "pod", "(.+)")`;
  d.withRow(
    row('Storage by tier')
      .withPanel(
        timeseriesPanel({
          title: 'Storage by tier and kind',
          unit: 'bytes',
          span: 12,
          stack: true,
          description:
            "Bytes on disk per storage tier (the PVC's storage class) and kind (blocks, state, index, headers), summed over the tier's nodes.",
          queries: [
            q(`sum by (tier, kind) (${s.sel('consortia_storage_bytes', 'kind!="total"')})`, '{{tier}} {{kind}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Storage growth by tier (per day)',
          unit: 'bytes',
          span: 12,
          description:
            "How fast each tier's data grows, projected to a day from the last 30 minutes: the figure to size PVCs with (ordinary nodes level off at their retention window).",
          queries: [
            q(`sum by (tier) (deriv(${s.sel('consortia_storage_bytes', 'kind="total"')}[30m])) * 86400`, '{{tier}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Storage by node',
          unit: 'bytes',
          span: 12,
          description: 'Total bytes on disk of each node, with its tier and role.',
          queries: [
            q(
              `sum by (pod, tier, role) (${s.sel('consortia_storage_bytes', 'kind="total"')})`,
              '{{pod}} {{tier}} {{role}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'PVC fill by tier',
          unit: 'percentunit',
          span: 12,
          min: 0,
          max: 1,
          thresholds: [
            [0.85, 'orange'],
            [0.9, 'red'],
          ],
          showThresholds: true,
          description:
            'Used share of each node PVC (kubelet volume stats), labelled with its tier. Above 85% with a growing trend: ConsortiaVolumeFillingUp.',
          queries: [
            q(
              `max by (namespace, persistentvolumeclaim, tier) (${kube('kubelet_volume_stats_used_bytes')} / ${kube('kubelet_volume_stats_capacity_bytes')} * ${tierOfPvc})`,
              '{{tier}} {{persistentvolumeclaim}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'PVC free space forecast (4 days ahead)',
          unit: 'bytes',
          span: 8,
          description:
            'Free bytes of each node PVC in 4 days at the growth of the last 6 hours (predict_linear); below 0 the volume fills up within 4 days.',
          queries: [
            q(
              `max by (namespace, persistentvolumeclaim, tier) (predict_linear(${kube('kubelet_volume_stats_available_bytes')}[6h], 4 * 86400) * ${tierOfPvc})`,
              '{{tier}} {{persistentvolumeclaim}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Pruned blocks',
          unit: 'ops',
          span: 8,
          description: 'Blocks pruned per second by the retention policy (ordinary nodes).',
          queries: [
            q(`sum by (pod) (rate(${s.sel('consortia_storage_pruned_blocks_total')}[$__rate_interval]))`, '{{pod}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Lowest retained height',
          unit: 'none',
          span: 8,
          description: 'Lowest height whose full block each node still keeps.',
          queries: [q(`max by (pod) (${s.sel('consortia_storage_retained_lowest_height')})`, '{{pod}}')],
        }),
      ),
  );

  d.withRow(
    row('Light clients and process')
      .withPanel(
        timeseriesPanel({
          title: 'Verified headers',
          unit: 'ops',
          span: 8,
          description: 'Headers per second light nodes verified against the validator set.',
          queries: [
            q(`sum by (pod) (rate(${s.sel('consortia_light_verified_headers_total')}[$__rate_interval]))`, '{{pod}}'),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Rejected proofs',
          unit: 'none',
          span: 8,
          description: 'Headers or proofs light nodes rejected (a source served forged data).',
          queries: [
            q(
              `sum by (pod) (increase(${s.sel('consortia_light_rejected_proofs_total')}[$__rate_interval]))`,
              '{{pod}}',
            ),
          ],
        }),
      )
      .withPanel(
        timeseriesPanel({
          title: 'Event-loop lag',
          unit: 's',
          span: 8,
          description:
            'Longest event-loop stall of each node since the previous scrape (a request or a block holding the loop delays votes).',
          queries: [
            q(`max by (pod) (${s.sel('consortia_process_event_loop_lag_seconds', 'stat="max"')})`, 'max {{pod}}'),
          ],
        }),
      ),
  );

  return finalize(d);
}
