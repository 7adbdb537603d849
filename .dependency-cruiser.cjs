/**
 * Layering of the code base, written down once and checked by `npm run lint:layers`
 * (part of `npm run lint`, run by .ci/run). docs/architecture.md#checking-the-layering explains it.
 *
 *   src/lib  <-  src/chain  <-  src/consensus  <-  src/node | src/control-plane | src/cli
 *                                              <-  src/sdk  <-  (the edges, if they need it)
 *
 * `A <- B`: B may import A and everything left of A. The three edges never import each other:
 * what two of them share is pure and belongs in src/lib or src/chain. src/chain and
 * src/consensus are pure (no I/O, no timers): the only node: built-in they may import is
 * node:crypto (hashing and Ed25519 signing are computations; src/chain/bytes.ts, keys.ts and
 * merkle.ts use it). Timers and the clock are globals, not imports: biome.jsonc forbids them there.
 *
 * test/ and bench/ may import src/; src never imports test/ or bench/. Benches share only the
 * test harness in test/harness/ (processes, networks and load generators), never test code.
 */

/** A path regex for one src/ folder and everything under it. */
const src = (dir) => `^src/${dir}/`;
const EDGES = ['node', 'control-plane', 'cli'];
const LAYERS = ['lib', 'chain', 'consensus', 'sdk', ...EDGES];

/** Forbids `from` to import any of the given src/ folders. */
const mayNotImport = (name, comment, from, dirs) => ({
  name,
  comment,
  severity: 'error',
  from: { path: src(from) },
  to: { path: `^src/(${dirs.join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: split the shared part (often types) into a file both sides import.',
      severity: 'error',
      from: { path: '^(src|test|bench|infra)/' },
      to: { circular: true },
    },
    mayNotImport('lib-is-the-base', 'src/lib imports no other src/ folder.', 'lib', [
      'chain',
      'consensus',
      'sdk',
      ...EDGES,
    ]),
    mayNotImport('chain-imports-only-lib', 'src/chain imports only src/lib.', 'chain', ['consensus', 'sdk', ...EDGES]),
    mayNotImport(
      'consensus-imports-only-chain-and-lib',
      'src/consensus imports only src/chain and src/lib.',
      'consensus',
      ['sdk', ...EDGES],
    ),
    mayNotImport(
      'sdk-imports-only-core',
      'src/sdk (the client library) imports only src/lib, src/chain, src/consensus.',
      'sdk',
      EDGES,
    ),
    ...EDGES.map((edge) =>
      mayNotImport(
        `edge-${edge}-imports-no-other-edge`,
        `src/${edge} is an edge: it imports no other edge. Move what is shared (and pure) to src/chain or src/lib.`,
        edge,
        EDGES.filter((e) => e !== edge),
      ),
    ),
    {
      name: 'every-src-folder-has-a-layer',
      comment: 'A new top-level folder of src/ gets its place in the layering here (LAYERS) first.',
      severity: 'error',
      from: { path: '^src/', pathNot: `^src/(${LAYERS.join('|')})/` },
      to: {},
    },
    {
      name: 'core-is-pure',
      comment:
        'src/chain and src/consensus do no I/O: of the node: built-ins only node:crypto (hashing, signing) is allowed.',
      severity: 'error',
      from: { path: '^src/(chain|consensus)/' },
      to: { dependencyTypes: ['core'], pathNot: '^(node:)?crypto$' },
    },
    {
      name: 'core-imports-no-io-package',
      comment:
        'src/chain and src/consensus import no npm package but @noble/* (pure cryptography): no storage, HTTP, metrics.',
      severity: 'error',
      from: { path: '^src/(chain|consensus)/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: '^node_modules/@noble/',
      },
    },
    {
      name: 'src-imports-no-test-or-bench',
      comment: 'Product code never depends on tests or benchmarks.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'bench-imports-only-the-harness',
      comment: 'bench/ may import src/ and the shared harness in test/harness/, never test code.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^test/', pathNot: '^test/harness/' },
    },
    {
      name: 'bench-uses-public-surfaces',
      comment: "bench/ imports a src/ folder through its index.ts (the folder's public surface), not its internals.",
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: '^src/', pathNot: '^src/[^/]+/index\\.ts$' },
    },
    {
      name: 'harness-is-self-contained',
      comment: 'test/harness/ imports src/ and itself only, so a bench that uses it pulls in no test code.',
      severity: 'error',
      from: { path: '^test/harness/' },
      to: { path: '^test/', pathNot: '^test/harness/' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing (a typo, or a file that moved).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    // Type-only imports count: a cycle through types is still a cycle to untangle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.check.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
