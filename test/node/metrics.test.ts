import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createNodeMetrics, NODE_METRIC_NAMES } from '../../src/node/metrics.js';

describe('node metrics', () => {
  it('registers exactly the contracted names with _total only on counters', async () => {
    const registry = new Registry();
    const m = createNodeMetrics(registry);
    const json = await registry.getMetricsAsJSON();
    const registered = json.map((x) => x.name).sort();
    expect(registered).toEqual([...NODE_METRIC_NAMES].sort());
    for (const metric of json) {
      expect(metric.name).toMatch(/^consortia_(chain|consensus|mempool|p2p|storage|light|validator)_[a-z_]+$/);
      // prom-client types `type` as a numeric enum; at run time it is the exposition name ('counter').
      if (String(metric.type) === 'counter') expect(metric.name).toMatch(/_total$/);
      else expect(metric.name).not.toMatch(/_total$/);
    }
    const types = Object.fromEntries(json.map((x) => [x.name, x.type]));
    expect(types['consortia_chain_block_interval_seconds']).toBe('histogram');
    expect(types['consortia_chain_commit_latency_seconds']).toBe('histogram');
    expect(types['consortia_consensus_rounds_per_height']).toBe('histogram');
    expect(m).toBeTruthy();
  });

  it('contains exactly the names the dashboards and alerts are built on', () => {
    const contract =
      'consortia_chain_height consortia_chain_txs_committed_total consortia_chain_block_interval_seconds consortia_chain_commit_latency_seconds consortia_consensus_rounds_per_height consortia_consensus_round consortia_consensus_evidence_total consortia_mempool_size_txs consortia_mempool_size_bytes consortia_mempool_executable_txs consortia_mempool_ingest_queue_txs consortia_mempool_admission_bound_txs consortia_mempool_rejections_total consortia_p2p_peers consortia_p2p_sent_bytes_total consortia_p2p_received_bytes_total consortia_p2p_rejected_messages_total consortia_p2p_peer_lost_total consortia_p2p_quorum_visible consortia_storage_bytes consortia_storage_pruned_blocks_total consortia_storage_retained_lowest_height consortia_light_verified_headers_total consortia_light_rejected_proofs_total consortia_validator_last_signed_height consortia_validator_missed_precommits_total consortia_validator_missed_proposals_total consortia_validator_voting_power consortia_validator_set_size consortia_validator_set_power consortia_validator_set_signing consortia_validator_set_signing_power'.split(
        ' ',
      );
    expect([...NODE_METRIC_NAMES].sort()).toEqual(contract.sort());
  });

  it('exposes labelled handles that render in the text format', async () => {
    const registry = new Registry();
    const m = createNodeMetrics(registry);
    m.chainHeight.set(7);
    m.txsCommitted.inc(3);
    m.mempoolRejections.inc({ reason: 'BAD_NONCE' });
    m.p2pSentBytes.inc({ channel: 'consensus' }, 120);
    m.storageBytes.set({ kind: 'blocks' }, 4096);
    m.p2pPeerLost.inc({ reason: 'timeout' });
    m.p2pQuorumVisible.set(1);
    m.commitLatency.observe(0.4);
    const text = await registry.metrics();
    expect(text).toContain('consortia_chain_height 7');
    expect(text).toContain('consortia_chain_txs_committed_total 3');
    expect(text).toContain('consortia_mempool_rejections_total{reason="BAD_NONCE"} 1');
    expect(text).toContain('consortia_p2p_sent_bytes_total{channel="consensus"} 120');
    expect(text).toContain('consortia_storage_bytes{kind="blocks"} 4096');
    expect(text).toContain('consortia_p2p_peer_lost_total{reason="timeout"} 1');
    expect(text).toContain('consortia_p2p_quorum_visible 1');
    expect(text).toContain('consortia_chain_commit_latency_seconds_bucket{le="0.5"} 1');
  });

  it('reads the mempool gauges from their source at scrape time', async () => {
    const registry = new Registry();
    const m = createNodeMetrics(registry);
    let size = { txs: 3, bytes: 450 };
    m.mempoolSource = { size: () => size };
    expect(await registry.metrics()).toContain('consortia_mempool_size_txs 3');
    size = { txs: 0, bytes: 0 };
    const text = await registry.metrics();
    expect(text).toContain('consortia_mempool_size_txs 0');
    expect(text).toContain('consortia_mempool_size_bytes 0');
  });
});
