import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { proposerFor } from '../../src/consensus/index.js';
import {
  createValidatorMetrics,
  RECENT_BLOCKS,
  ValidatorLiveness,
  type LivenessValidator,
} from '../../src/node/validator-liveness.js';

const V = (key: string, organization: string, power = 1): LivenessValidator => ({ key, organization, power });
const SET = [V('aa', 'acme'), V('bb', 'acme'), V('cc', 'globex'), V('dd', 'initech')];
const ALL = SET.map((v) => v.key);

async function values(registry: Registry, name: string): Promise<Record<string, number>> {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name);
  const out: Record<string, number> = {};
  for (const v of (m?.values ?? []) as { labels: Record<string, string>; value: number }[])
    out[v.labels['validator'] ?? ''] = v.value;
  return out;
}

function tracker(): { registry: Registry; t: ValidatorLiveness } {
  const registry = new Registry();
  const t = new ValidatorLiveness(createValidatorMetrics(registry));
  t.seed({ height: 0, proposer: '', validators: SET }, SET, []);
  return { registry, t };
}

/** Commits heights 1..n; `signersOf(h)` are the keys in block h+1's lastCommit for h, committed in round `roundOf(h)`. */
function run(
  t: ValidatorLiveness,
  n: number,
  signersOf: (h: number) => string[],
  roundOf: (h: number) => number = () => 0,
): void {
  for (let h = 1; h <= n; h++) {
    const proposer = proposerFor(
      SET.map((v) => ({ id: v.key, power: v.power })),
      h,
      roundOf(h),
    );
    t.onBlock(
      h,
      proposer,
      h === 1 ? null : { height: h - 1, round: roundOf(h - 1), signers: signersOf(h - 1) },
      SET,
      SET,
    );
  }
}

describe('validator liveness from commit signatures', () => {
  it('counts every commit a validator is missing from, and keeps its last signed height', async () => {
    const { registry, t } = tracker();
    run(t, 30, (h) => (h > 10 ? ALL.filter((k) => k !== 'dd') : ALL)); // dd stops signing after height 10
    const missed = await values(registry, 'consortia_validator_missed_precommits_total');
    expect(missed).toEqual({ aa: 0, bb: 0, cc: 0, dd: 19 }); // heights 11..29 (30's commit is in block 31)
    const last = await values(registry, 'consortia_validator_last_signed_height');
    expect(last).toEqual({ aa: 29, bb: 29, cc: 29, dd: 10 });
    const m = Object.fromEntries((await registry.getMetricsAsJSON()).map((x) => [x.name, x.values[0]?.value]));
    expect(m['consortia_validator_set_size']).toBe(4);
    expect(m['consortia_validator_set_power']).toBe(4);
    expect(m['consortia_validator_set_signing']).toBe(3); // dd last signed more than RECENT_BLOCKS ago
    expect(m['consortia_validator_set_signing_power']).toBe(3);
    const text = await registry.metrics();
    expect(text).toContain(
      'consortia_validator_missed_precommits_total{validator="dd",validator_organization="initech"} 19',
    );
  });

  it('counts a validator as signing while it is in one of the last RECENT_BLOCKS commits', async () => {
    const { registry, t } = tracker();
    const stop = 30 - RECENT_BLOCKS + 1; // dd's last commit is height 21: among the last RECENT_BLOCKS commits (20..29) at head 30
    run(t, 30, (h) => (h > stop ? ALL.filter((k) => k !== 'dd') : ALL));
    const m = Object.fromEntries((await registry.getMetricsAsJSON()).map((x) => [x.name, x.values[0]?.value]));
    expect(m['consortia_validator_set_signing']).toBe(4);
  });

  it('counts the proposers of the rounds before the committed one as missed proposals', async () => {
    const { registry, t } = tracker();
    run(
      t,
      10,
      () => ALL,
      (h) => (h === 5 ? 2 : 0),
    ); // height 5 committed in round 2
    const missed = await values(registry, 'consortia_validator_missed_proposals_total');
    const vs = SET.map((v) => ({ id: v.key, power: v.power }));
    const expected: Record<string, number> = { aa: 0, bb: 0, cc: 0, dd: 0 };
    for (const r of [0, 1]) expected[proposerFor(vs, 5, r)]! += 1;
    expect(missed).toEqual(expected);
    expect(Object.values(missed).reduce((a, b) => a + b, 0)).toBe(2);
  });

  it('drops the series of a validator that leaves the set (cardinality = set size)', async () => {
    const { registry, t } = tracker();
    run(t, 5, () => ALL);
    const without = SET.filter((v) => v.key !== 'cc');
    t.onBlock(6, 'aa', { height: 5, round: 0, signers: ALL }, SET, without);
    expect(Object.keys(await values(registry, 'consortia_validator_voting_power')).sort()).toEqual(['aa', 'bb', 'dd']);
    expect(Object.keys(await values(registry, 'consortia_validator_missed_precommits_total')).sort()).toEqual([
      'aa',
      'bb',
      'dd',
    ]);
    expect(
      (await registry.getMetricsAsJSON()).find((x) => x.name === 'consortia_validator_set_size')?.values[0]?.value,
    ).toBe(3);
  });

  it('seeds last signed heights from stored commits; a validator in none of them gets the height below them', async () => {
    const registry = new Registry();
    const t = new ValidatorLiveness(createValidatorMetrics(registry));
    const recent = [100, 99, 98].map((h) => ({
      height: h,
      round: 0,
      signers: h === 98 ? ['aa', 'bb', 'cc'] : ['aa', 'bb'],
    }));
    t.seed({ height: 100, proposer: 'aa', validators: SET }, SET, recent);
    expect(await values(registry, 'consortia_validator_last_signed_height')).toEqual({
      aa: 100,
      bb: 100,
      cc: 98,
      dd: 97,
    });
    expect(await values(registry, 'consortia_validator_missed_precommits_total')).toEqual({
      aa: 0,
      bb: 0,
      cc: 0,
      dd: 0,
    });
  });
});
